/* kernel/proc (include/kernel/proc.h) on a host harness: the initial
 * stack, brk, the mmap allocator, the file table, signals, exit and the
 * unimplemented-call accounting, with user memory a host buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/proc.h"

#define BASE UINT64_C(0x100000)
#define SIZE UINT64_C(0x100000)

static uint8_t mem[SIZE];
static char out[4096];
static size_t nOut;
static uint64_t now;

static bool ok(uint64_t u, size_t n) { return u >= BASE && u < BASE + SIZE && n <= BASE + SIZE - u; }
static int h_in(void *c, void *d, uint64_t u, size_t n)
{
    (void)c;
    if (!ok(u, n))
        return -1;
    memcpy(d, mem + (u - BASE), n);
    return 0;
}
static int h_out(void *c, uint64_t u, const void *s, size_t n)
{
    (void)c;
    if (!ok(u, n))
        return -1;
    memcpy(mem + (u - BASE), s, n);
    return 0;
}
static int h_zero(void *c, uint64_t u, size_t n)
{
    (void)c;
    if (!ok(u, n))
        return -1;
    memset(mem + (u - BASE), 0, n);
    return 0;
}
static uint64_t h_now(void *c) { (void)c; return now; }
static void h_output(void *c, int fd, const void *b, size_t n)
{
    (void)c;
    out[nOut++] = fd == 1 ? '1' : '2';
    memcpy(out + nOut, b, n);
    nOut += n;
}
static void h_random(void *c, void *b, size_t n) { (void)c; memset(b, 0x5a, n); }
static int h_protect(void *c, uint64_t u, uint64_t n, unsigned prot)
{
    (void)c, (void)prot;
    return ok(u, (size_t)n) && u % 4096 == 0 && n % 4096 == 0 ? 0 : -1;
}
static const struct proc_ops ops = {h_in, h_out, h_zero, h_now, h_output, h_random, h_protect};

/* image [BASE, BASE+0x2100), brk to +0x40000, mmap to +0xf0000, stack above */
static const struct proc_layout lay = {
    .image_lo = BASE, .image_hi = BASE + 0x2100, .brk_max = BASE + 0x40000,
    .mmap_lo = BASE + 0x40000, .mmap_hi = BASE + 0xf0000, .stack_lo = BASE + 0xf1000,
    .stack_hi = BASE + 0x100000, .entry = BASE + 0x120, .phdr = BASE + 0x40, .phnum = 7,
    .phent = 56, .hwcap = 0x112d};

static const struct proc_file files[] = {{"/data/f.txt", (const uint8_t *)"0123456789", 10}};

static void new_proc(struct proc *p)
{
    memset(mem, 0xEE, sizeof mem);
    nOut = 0;
    assert_int_equal(proc_init(p, 1, PROC_RISCV64, &lay, &ops, NULL, files, 1), 0);
    assert_true(proc_check(p));
}

static uint64_t rd64(uint64_t u)
{
    uint64_t v;
    assert_int_equal(h_in(NULL, &v, u, 8), 0);
    return v;
}

static int64_t sys(struct proc *p, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                   uint64_t a3)
{
    uint64_t a[6] = {a0, a1, a2, a3, 0, 0};
    struct proc_result r = proc_syscall(p, nr, a);
    assert_true(proc_check(p));
    return r.ret;
}

static void test_stack(void **state)
{
    (void)state;
    struct proc p;
    new_proc(&p);
    const char *argv[] = {"prog", "arg one"}, *envp[] = {"X=1"};
    uint64_t sp = 0;
    assert_int_equal(proc_build_stack(&p, argv, 2, envp, 1, &sp), 0);
    assert_int_equal(sp % 16, 0);
    assert_true(sp >= lay.stack_lo && sp < lay.stack_hi);
    assert_int_equal(rd64(sp), 2);
    assert_string_equal((char *)mem + (rd64(sp + 8) - BASE), "prog");
    assert_string_equal((char *)mem + (rd64(sp + 16) - BASE), "arg one");
    assert_int_equal(rd64(sp + 24), 0);
    assert_string_equal((char *)mem + (rd64(sp + 32) - BASE), "X=1");
    assert_int_equal(rd64(sp + 40), 0);
    uint64_t want[][2] = {{3, lay.phdr}, {4, 56}, {5, 7}, {6, 4096}, {9, lay.entry},
                          {16, 0x112d}, {17, 100}};
    unsigned found = 0;
    uint64_t a = sp + 48, random_at = 0;
    for (; rd64(a) != 0; a += 16) {
        for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
            if (rd64(a) == want[i][0]) {
                assert_int_equal(rd64(a + 8), want[i][1]);
                found |= 1u << i;
            }
        if (rd64(a) == 25)
            random_at = rd64(a + 8);
    }
    assert_int_equal(found, (1u << 7) - 1);
    assert_true(random_at > a && random_at + 16 <= lay.stack_hi);
    assert_int_equal(mem[random_at - BASE], 0x5a);
    /* AT_HWCAP2 and AT_PLATFORM only on aarch64, as Linux gives them (one
     * auxv entry less made glibc's start-up 4 instructions shorter than
     * under qemu-aarch64) */
    for (unsigned arch = 0; arch < 2; arch++) {
        struct proc q;
        assert_int_equal(proc_init(&q, 1, arch ? PROC_AARCH64 : PROC_RISCV64, &lay, &ops, NULL,
                                   files, 1), 0);
        assert_int_equal(proc_build_stack(&q, argv, 2, envp, 1, &sp), 0);
        unsigned hwcap2 = 0, platform = 0;
        for (a = sp + 48; rd64(a) != 0; a += 16) {
            hwcap2 += rd64(a) == 26;
            platform += rd64(a) == 15;
        }
        assert_int_equal(hwcap2, arch);
        assert_int_equal(platform, arch);
    }
    /* a quarter of the 60 KiB stack is the limit */
    static char big[20000];
    memset(big, 'x', sizeof big - 1);
    const char *bigv[] = {"prog", big};
    assert_int_equal(proc_build_stack(&p, bigv, 2, envp, 1, &sp), -7);
}

static void test_brk(void **state)
{
    (void)state;
    struct proc p;
    new_proc(&p);
    const uint64_t start = BASE + 0x3000; /* the page after image_hi */
    assert_int_equal(sys(&p, 214, 0, 0, 0, 0), start);
    assert_int_equal(sys(&p, 214, start + 0x1800, 0, 0, 0), start + 0x1800);
    for (uint64_t i = start; i < start + 0x1800; i++)
        assert_int_equal(mem[i - BASE], 0); /* new heap reads as zero */
    assert_int_equal(sys(&p, 214, lay.brk_max + 0x1000, 0, 0, 0), start + 0x1800);
    assert_int_equal(sys(&p, 214, start - 0x1000, 0, 0, 0), start + 0x1800);
    assert_int_equal(sys(&p, 214, start + 0x1000, 0, 0, 0), start + 0x1000);
}

static void test_mmap(void **state)
{
    (void)state;
    struct proc p;
    new_proc(&p);
    enum { ANON_PRIV = 0x22, FIXED = 0x10 };
    int64_t a = sys(&p, 222, 0, 0x3000, 3, ANON_PRIV);
    assert_int_equal(a, lay.mmap_hi - 0x3000); /* top-down */
    for (uint64_t i = 0; i < 0x3000; i++)
        assert_int_equal(mem[a - BASE + i], 0);
    int64_t b = sys(&p, 222, 0, 100, 3, ANON_PRIV); /* rounded up to a page */
    assert_int_equal(b, a - 0x1000);
    assert_int_equal(sys(&p, 215, a + 0x1000, 0x1000, 0, 0), 0); /* a hole in a */
    assert_int_equal(p.nMap, 3);
    int64_t c = sys(&p, 222, 0, 0x1000, 3, ANON_PRIV);
    assert_int_equal(c, a + 0x1000); /* the hole is the highest gap that fits */
    assert_int_equal(sys(&p, 222, lay.mmap_lo, 0x2000, 3, ANON_PRIV | FIXED), lay.mmap_lo);
    assert_int_equal(sys(&p, 222, 0, 0x1000000, 3, ANON_PRIV), -12); /* ENOMEM */
    assert_int_equal(sys(&p, 222, 0, 0x1000, 3, 0x2), -19);         /* a file: ENODEV */
    assert_int_equal(sys(&p, 222, 0, 0, 3, ANON_PRIV), -22);
    assert_int_equal(sys(&p, 215, lay.mmap_lo, lay.mmap_hi - lay.mmap_lo, 0, 0), 0);
    assert_int_equal(p.nMap, 0);
}

static void test_files(void **state)
{
    (void)state;
    struct proc p;
    new_proc(&p);
    const uint64_t path = BASE + 0x50000, buf = BASE + 0x51000;
    h_out(NULL, path, "/data/f.txt", 12);
    int64_t fd = sys(&p, 56, (uint64_t)-100, path, 0, 0);
    assert_int_equal(fd, 3);
    assert_int_equal(sys(&p, 63, fd, buf, 4, 0), 4);
    assert_memory_equal(mem + (buf - BASE), "0123", 4);
    assert_int_equal(sys(&p, 62, fd, 8, 0, 0), 8);
    assert_int_equal(sys(&p, 63, fd, buf, 100, 0), 2);
    assert_int_equal(sys(&p, 63, fd, buf, 100, 0), 0);
    assert_int_equal(sys(&p, 80, fd, buf, 0, 0), 0);
    assert_int_equal(rd64(buf + 48), 10);                 /* st_size */
    assert_int_equal(rd64(buf + 16) & 0170000, 0100000); /* S_IFREG */
    assert_int_equal(sys(&p, 64, fd, buf, 1, 0), -9);    /* read-only: EBADF */
    assert_int_equal(sys(&p, 56, (uint64_t)-100, path, 1, 0), -30); /* O_WRONLY: EROFS */
    assert_int_equal(sys(&p, 57, fd, 0, 0, 0), 0);
    assert_int_equal(sys(&p, 63, fd, buf, 1, 0), -9);
    h_out(NULL, path, "/nope", 6);
    assert_int_equal(sys(&p, 56, (uint64_t)-100, path, 0, 0), -2);
    h_out(NULL, path, "/dev/null", 10);
    fd = sys(&p, 56, (uint64_t)-100, path, 2, 0);
    assert_int_equal(sys(&p, 64, fd, buf, 5, 0), 5);
    assert_int_equal(nOut, 0); /* /dev/null discards */
    h_out(NULL, buf, "hi\n", 3);
    assert_int_equal(sys(&p, 64, 1, buf, 3, 0), 3);
    uint64_t iov[4] = {buf, 2, buf + 2, 1};
    h_out(NULL, buf + 0x100, iov, sizeof iov);
    assert_int_equal(sys(&p, 66, 2, buf + 0x100, 2, 0), 3);
    assert_int_equal(nOut, 9); /* one output call per iovec */
    assert_memory_equal(out, "1hi\n2hi2\n", 9);
    assert_int_equal(sys(&p, 64, 1, 0x10, 3, 0), -14); /* EFAULT */
    assert_int_equal(sys(&p, 29, 1, 0x5401, buf, 0), -25); /* TCGETS: ENOTTY */
}

static void test_signals_exit_unknown(void **state)
{
    (void)state;
    struct proc p;
    new_proc(&p);
    uint64_t a[6] = {1, 1, 6, 0, 0, 0};
    /* SIG_IGN for SIGABRT: tgkill does nothing */
    const uint64_t act = BASE + 0x52000;
    uint64_t ign[3] = {1, 0, 0};
    h_out(NULL, act, ign, sizeof ign);
    assert_int_equal(sys(&p, 134, 6, act, 0, 8), 0);
    struct proc_result r = proc_syscall(&p, 131, a);
    assert_int_equal(r.eAction, PROC_RETURN);
    assert_false(p.exited);
    ign[0] = 0; /* SIG_DFL: abort() ends the process, status 134 */
    h_out(NULL, act, ign, sizeof ign);
    assert_int_equal(sys(&p, 134, 6, act, 0, 8), 0);
    r = proc_syscall(&p, 131, a);
    assert_int_equal(r.eAction, PROC_EXIT);
    assert_int_equal(p.exit_status, 134);
    assert_int_equal(p.term_signal, 6);

    new_proc(&p);
    assert_int_equal(sys(&p, 425, 0, 0, 0, 0), -38); /* io_uring_setup: ENOSYS */
    assert_int_equal(sys(&p, 425, 0, 0, 0, 0), -38);
    assert_int_equal(p.nUnknown, 2);
    assert_int_equal(p.aUnknown[425], 2);
    assert_false(proc_syscall_known(425));
    assert_string_equal(proc_syscall_name(214), "brk");
    /* futex: a changed word is EAGAIN, an unchanged one blocks */
    const uint64_t w = BASE + 0x53000;
    uint32_t v = 7;
    h_out(NULL, w, &v, 4);
    assert_int_equal(sys(&p, 98, w, 0, 6, 0), -11);
    uint64_t fa[6] = {w, 128, 7, 0, 0, 0};
    r = proc_syscall(&p, 98, fa);
    assert_int_equal(r.eAction, PROC_FUTEX_WAIT);
    assert_int_equal(r.arg0, w);
    now = 3500000000u;
    assert_int_equal(sys(&p, 113, 1, w, 0, 0), 0);
    assert_int_equal(rd64(w), 3);
    assert_int_equal(rd64(w + 8), 500000000);
    uint64_t ex[6] = {0x1ff, 0, 0, 0, 0, 0};
    r = proc_syscall(&p, 94, ex);
    assert_int_equal(r.eAction, PROC_EXIT);
    assert_int_equal(p.exit_status, 0xff);
}

/* A fault's signal: Linux's rt_sigframe on the stack, the handler's
 * registers, rt_sigreturn with a handler-modified pc; no handler kills. */
static void test_fault_signal_frame(void **state)
{
    (void)state;
    for (unsigned arch = 0; arch < 2; arch++) {
        struct proc p;
        new_proc(&p);
        p.eArch = arch ? PROC_AARCH64 : PROC_RISCV64;
        struct proc_regs r;
        memset(&r, 0, sizeof r);
        for (unsigned i = 0; i < 32; i++)
            r.x[i] = 1000 + i;
        r.sp = lay.stack_hi - 0x100;
        if (!arch)
            r.x[2] = r.sp, r.x[0] = 0;
        r.pc = BASE + 0x500;
        struct proc_regs saved = r;
        /* no handler: killed */
        struct proc_result res = proc_fault_signal(&p, 11, 1, 0x40, &r);
        assert_int_equal(res.eAction, PROC_EXIT);
        assert_int_equal(p.exit_status, 139);
        new_proc(&p);
        p.eArch = arch ? PROC_AARCH64 : PROC_RISCV64;
        uint64_t act[4] = {BASE + 0x700, 4 | (arch ? 0x04000000 : 0), arch ? BASE + 0x780 : 0x10, 0x10};
        if (!arch)
            act[2] = 0x10; /* riscv64: handler, flags, mask */
        h_out(NULL, BASE + 0x60000, act, sizeof act);
        assert_int_equal(sys(&p, 134, 11, BASE + 0x60000, 0, 8), 0);
        r = saved;
        res = proc_fault_signal(&p, 11, 1, 0x40, &r);
        assert_int_equal(res.eAction, PROC_SIGNAL);
        assert_false(p.exited);
        uint64_t frame = r.sp, uc = frame + 128, mc = uc + 176;
        assert_int_equal(frame % 16, 0);
        assert_true(frame < saved.sp);
        assert_int_equal(r.pc, BASE + 0x700);
        assert_int_equal(r.x[arch ? 0 : 10], 11);
        assert_int_equal(r.x[arch ? 1 : 11], frame);
        assert_int_equal(r.x[arch ? 2 : 12], uc);
        assert_int_equal(rd64(frame) & 0xffffffff, 11); /* si_signo */
        assert_int_equal(rd64(frame + 8) & 0xffffffff, 1); /* si_code */
        assert_int_equal(rd64(frame + 16), 0x40);          /* si_addr */
        if (arch) {
            assert_int_equal(rd64(mc), 0x40);              /* fault_address */
            assert_int_equal(rd64(mc + 8 + 8 * 9), 1009);  /* x9 */
            assert_int_equal(rd64(mc + 8 + 8 * 31), saved.sp);
            assert_int_equal(rd64(mc + 8 + 8 * 32), saved.pc);
            assert_int_equal(r.x[30], BASE + 0x780);       /* SA_RESTORER */
        } else {
            assert_int_equal(rd64(mc), saved.pc);          /* gregs[REG_PC] */
            assert_int_equal(rd64(mc + 8 * 9), 1009);      /* x9 = s1 */
            assert_int_equal(rd64(r.x[1]), 0x0000007308b00893u); /* ra: li a7,139; ecall */
        }
        /* blocked during the handler: the signal and sa_mask */
        assert_true(p.sigmask >> 10 & 1);
        assert_true(p.sigmask >> 4 & 1);
        /* the handler skips the instruction, then returns */
        uint64_t newpc = saved.pc + 4;
        h_out(NULL, arch ? mc + 8 + 8 * 32 : mc, &newpc, 8);
        struct proc_regs back = r;
        back.sp = frame;
        back.x[2] = frame;
        res = proc_sigreturn(&p, &back);
        assert_int_equal(res.eAction, PROC_SIGRETURN);
        assert_int_equal(back.pc, saved.pc + 4);
        assert_int_equal(back.sp, saved.sp);
        assert_int_equal(back.x[9], 1009);
        assert_int_equal(back.x[arch ? 0 : 10], saved.x[arch ? 0 : 10]);
        assert_int_equal(p.sigmask, 0);
        assert_int_equal(p.aCount[139], 1);
        /* a frame that does not fit (sp at the bottom of user memory) kills */
        r = saved;
        r.sp = r.x[2] = BASE + 0x100;
        res = proc_fault_signal(&p, 11, 1, 0x40, &r);
        assert_int_equal(res.eAction, PROC_EXIT);
        assert_int_equal(p.term_signal, 11);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack),
        cmocka_unit_test(test_brk),
        cmocka_unit_test(test_mmap),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_signals_exit_unknown),
        cmocka_unit_test(test_fault_signal_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
