/* A process of the reference kernel (include/kernel/proc.h): its setup,
 * the initial stack execve builds, and the address-range bookkeeping behind
 * brk and anonymous mmap (kernel/proc/syscall.c calls these).
 *
 * The mmap area is a sorted array of [lo, hi) regions, allocated top-down
 * first-fit (like Linux's legacy layout below the stack). O(nMap) per call;
 * PROC_MAX_MAPS bounds it — a tree would be the fix for programs with
 * thousands of mappings. */
#include "kernel/proc.h"

#include "kernel/kstring.h"
#include "proc_internal.h"

static bool page_aligned(uint64_t a) { return a % PROC_PAGE == 0; }

int proc_init(struct proc *p, int pid, enum proc_arch arch, const struct proc_layout *lay,
              const struct proc_ops *ops, void *ctx, const struct proc_file *files,
              unsigned nFile)
{
    uint64_t brk0 = proc_page_up(lay->image_hi);
    if (!page_aligned(lay->brk_max) || !page_aligned(lay->mmap_lo) ||
        !page_aligned(lay->mmap_hi) || brk0 > lay->brk_max || lay->brk_max > lay->mmap_lo ||
        lay->mmap_lo > lay->mmap_hi || lay->mmap_hi > lay->stack_lo ||
        lay->stack_lo >= lay->stack_hi)
        return -PROC_EINVAL;
    kmemset(p, 0, sizeof *p);
    p->pid = pid;
    p->eArch = arch;
    p->ops = ops;
    p->ctx = ctx;
    p->lay = *lay;
    p->brk_start = p->brk = brk0;
    p->brk_max = lay->brk_max;
    p->aFd[0].eKind = PROC_FD_STDIN;
    p->aFd[1].eKind = PROC_FD_STDOUT;
    p->aFd[2].eKind = PROC_FD_STDERR;
    p->aFile = files;
    p->nFile = nFile;
    return 0;
}

void proc_kill(struct proc *p, int sig)
{
    p->exited = true;
    p->term_signal = sig;
    p->exit_status = 128 + sig;
}

void proc_restore_bytes(struct proc *p, const void *saved)
{
    const struct proc_ops *ops = p->ops;
    void *ctx = p->ctx;
    const struct proc_file *aFile = p->aFile;
    unsigned nFile = p->nFile;
    const char *exe = p->exe;
    struct sched *s = p->sched;
    struct hal_cpu *cpu = p->cpu;
    struct proc_cpu *pcpu = p->pcpu;
    void *uctx[PROC_MAX_THREADS];
    for (unsigned i = 0; i < PROC_MAX_THREADS; i++)
        uctx[i] = p->aThread[i].uctx;
    kmemcpy(p, saved, sizeof *p);
    p->ops = ops;
    p->ctx = ctx;
    p->aFile = aFile;
    p->nFile = nFile;
    p->exe = exe;
    p->sched = s;
    p->cpu = cpu;
    p->pcpu = pcpu;
    for (unsigned i = 0; i < PROC_MAX_THREADS; i++)
        p->aThread[i].uctx = uctx[i];
}

bool proc_check(const struct proc *p)
{
    if (p->brk_start > p->brk || p->brk > p->brk_max || p->brk_max > p->lay.mmap_lo)
        return false;
    for (unsigned i = 0; i < p->nMap; i++) {
        if (!page_aligned(p->aMap[i].lo) || !page_aligned(p->aMap[i].hi) ||
            p->aMap[i].lo >= p->aMap[i].hi || p->aMap[i].lo < p->lay.mmap_lo ||
            p->aMap[i].hi > p->lay.mmap_hi)
            return false;
        if (i && p->aMap[i - 1].hi > p->aMap[i].lo)
            return false;
    }
    for (unsigned i = 0; i < PROC_MAX_FILES; i++)
        if (p->aFd[i].eKind > PROC_FD_IMAGE ||
            (p->aFd[i].eKind == PROC_FD_IMAGE && p->aFd[i].iFile >= p->nFile))
            return false;
    return proc_threads_check(p);
}

/* ------------------------------------------------------------ the stack */

enum {
    AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
    AT_FLAGS = 8, AT_ENTRY = 9, AT_PLATFORM = 15, AT_EXECFN = 31,
    AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_HWCAP = 16, AT_CLKTCK = 17,
    AT_SECURE = 23, AT_RANDOM = 25, AT_HWCAP2 = 26,
};

/* Push n bytes below *top; false if they would leave [lo, ...). */
static bool push(struct proc *p, uint64_t *top, uint64_t lo, const void *src, size_t n)
{
    if (*top - lo < n)
        return false;
    *top -= n;
    return p->ops->copy_out(p->ctx, *top, src, n) == 0;
}

int proc_build_stack(struct proc *p, const char *const *argv, unsigned argc,
                     const char *const *envp, unsigned envc, uint64_t *sp)
{
    /* Linux allows strings and pointers up to a quarter of the stack limit */
    uint64_t lo = p->lay.stack_hi - (p->lay.stack_hi - p->lay.stack_lo) / 4;
    uint64_t need = 16 + 8 * (uint64_t)(argc + envc + 3 + 2 * 20) + (argc ? kstrlen(argv[0]) + 1 : 0);
    for (unsigned i = 0; i < argc; i++)
        need += kstrlen(argv[i]) + 1;
    for (unsigned i = 0; i < envc; i++)
        need += kstrlen(envp[i]) + 1;
    if (argc > PROC_MAX_ARGS || envc > PROC_MAX_ENV || need + 32 > p->lay.stack_hi - lo)
        return -PROC_E2BIG;
    /* Laid out as Linux's execve (and qemu-user's loader) do, so that a
     * program's start-up sees the same string alignments: below one
     * pointer at the very top, the strings in ascending order argv[],
     * envp[], then the file name (AT_EXECFN: argv[0], what a shell
     * passes, else the platform's path); below them the AT_PLATFORM
     * string (arm64 names itself; riscv64 Linux gives none) in 8-byte
     * units, then the 16 AT_RANDOM bytes. */
    uint64_t top = p->lay.stack_hi - 8;
    const char *execfn = argc ? argv[0] : p->exe ? p->exe : "";
    uint64_t nStr = kstrlen(execfn) + 1;
    for (unsigned i = 0; i < argc; i++)
        nStr += kstrlen(argv[i]) + 1;
    for (unsigned i = 0; i < envc; i++)
        nStr += kstrlen(envp[i]) + 1;
    if (top - lo < nStr)
        return -PROC_E2BIG;
    top -= nStr;
    const uint64_t str_lo = top;
    uint64_t at = str_lo;
    for (unsigned i = 0; i <= argc + envc; i++) {
        const char *s = i < argc ? argv[i] : i < argc + envc ? envp[i - argc] : execfn;
        uint64_t n = kstrlen(s) + 1;
        if (p->ops->copy_out(p->ctx, at, s, n))
            return -PROC_EFAULT;
        at += n;
    }
    const uint64_t at_execfn = at - (kstrlen(execfn) + 1);
    uint64_t at_platform = 0;
    if (p->eArch == PROC_AARCH64) {
        if (!push(p, &top, lo, "aarch64", 8))
            return -PROC_E2BIG;
        at_platform = top;
    }
    uint8_t rnd[16];
    p->ops->seeded_bytes(p->ctx, rnd, sizeof rnd);
    if (!push(p, &top, lo, rnd, sizeof rnd))
        return -PROC_EFAULT;
    uint64_t at_random = top;
    const uint64_t all[][2] = {
        {AT_PHDR, p->lay.phdr},   {AT_PHENT, p->lay.phent}, {AT_PHNUM, p->lay.phnum},
        {AT_PAGESZ, PROC_PAGE},   {AT_BASE, 0},             {AT_FLAGS, 0},
        {AT_ENTRY, p->lay.entry}, {AT_UID, 0},              {AT_EUID, 0},
        {AT_GID, 0},              {AT_EGID, 0},             {AT_SECURE, 0},
        {AT_RANDOM, at_random},   {AT_HWCAP, p->lay.hwcap}, {AT_CLKTCK, 100},
        {AT_HWCAP2, p->lay.hwcap2}, {AT_EXECFN, at_execfn}, {AT_PLATFORM, at_platform},
        {AT_NULL, 0},
    };
    uint64_t aux[sizeof all / sizeof all[0]][2], nAux = 0;
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        /* no platform string: no entry; AT_HWCAP2 only where Linux gives
         * it (arm64 always; riscv64 does not) */
        if ((all[i][0] != AT_PLATFORM || at_platform) &&
            (all[i][0] != AT_HWCAP2 || p->eArch == PROC_AARCH64)) {
            aux[nAux][0] = all[i][0];
            aux[nAux++][1] = all[i][1];
        }
    /* argc, argv[], NULL, envp[], NULL, auxv: sp must end 16-byte aligned */
    uint64_t words = 1 + argc + 1 + envc + 1 + 2 * nAux;
    if (top - lo < words * 8 + 15)
        return -PROC_E2BIG;
    top = (top - words * 8) & ~UINT64_C(15);
    uint64_t w = argc, str = str_lo;
    at = top;
    int bad = p->ops->copy_out(p->ctx, at, &w, 8);
    at += 8;
    for (unsigned i = 0; i < argc + envc + 1; i++, at += 8) {
        if (i == argc) { /* argv's NULL, then envp */
            w = 0;
            bad |= p->ops->copy_out(p->ctx, at, &w, 8);
            at += 8;
        }
        if (i == argc + envc) {
            w = 0;
        } else {
            w = str;
            str += kstrlen(i < argc ? argv[i] : envp[i - argc]) + 1;
        }
        bad |= p->ops->copy_out(p->ctx, at, &w, 8);
    }
    for (uint64_t i = 0; i < nAux; i++, at += 16)
        bad |= p->ops->copy_out(p->ctx, at, aux[i], 16);
    if (bad)
        return -PROC_EFAULT;
    *sp = top;
    return 0;
}

/* ------------------------------------------------------ address ranges */

uint64_t proc_page_up(uint64_t a) { return (a + PROC_PAGE - 1) & ~(uint64_t)(PROC_PAGE - 1); }

int64_t proc_brk(struct proc *p, uint64_t want)
{
    if (want < p->brk_start || want > p->brk_max)
        return (int64_t)p->brk; /* Linux: the unchanged break means failure */
    if (want > p->brk && p->ops->zero(p->ctx, p->brk, want - p->brk))
        return (int64_t)p->brk;
    p->brk = want;
    return (int64_t)p->brk;
}

static void map_insert(struct proc *p, unsigned at, uint64_t lo, uint64_t hi)
{
    for (unsigned i = p->nMap; i > at; i--)
        p->aMap[i] = p->aMap[i - 1];
    p->aMap[at].lo = lo;
    p->aMap[at].hi = hi;
    p->nMap++;
}

/* Take [lo, hi) out of every region (munmap, and MAP_FIXED before it maps).
 * Splitting a region may need one more slot: -ENOMEM when there is none. */
int proc_unmap(struct proc *p, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < p->nMap;) {
        uint64_t a = p->aMap[i].lo, b = p->aMap[i].hi;
        if (b <= lo || a >= hi) {
            i++;
            continue;
        }
        if (a < lo && b > hi) { /* a hole in the middle */
            if (p->nMap == PROC_MAX_MAPS)
                return -PROC_ENOMEM;
            p->aMap[i].hi = lo;
            map_insert(p, i + 1, hi, b);
            return 0;
        }
        if (a < lo) {
            p->aMap[i++].hi = lo;
        } else if (b > hi) {
            p->aMap[i++].lo = hi;
        } else {
            for (unsigned j = i; j + 1 < p->nMap; j++)
                p->aMap[j] = p->aMap[j + 1];
            p->nMap--;
        }
    }
    return 0;
}

/* An anonymous mapping of len bytes (page-aligned): at fixed if nonzero
 * (MAP_FIXED), else the highest gap that fits. Zero-filled. Returns the
 * address, or a negative errno. */
int64_t proc_map(struct proc *p, uint64_t fixed, uint64_t len)
{
    const uint64_t lo = p->lay.mmap_lo, hi = p->lay.mmap_hi;
    uint64_t at = 0;
    if (len == 0 || len > hi - lo)
        return -PROC_ENOMEM;
    if (fixed) {
        if (fixed < lo || fixed > hi - len)
            return -PROC_ENOMEM;
        int rc = proc_unmap(p, fixed, fixed + len);
        if (rc)
            return rc;
        at = fixed;
    } else {
        bool found = false;
        for (unsigned i = p->nMap + 1; i-- > 0 && !found;) {
            uint64_t gap_hi = i == p->nMap ? hi : p->aMap[i].lo;
            uint64_t gap_lo = i == 0 ? lo : p->aMap[i - 1].hi;
            if (gap_hi - gap_lo >= len) {
                at = gap_hi - len;
                found = true;
            }
        }
        if (!found)
            return -PROC_ENOMEM;
    }
    if (p->nMap == PROC_MAX_MAPS)
        return -PROC_ENOMEM;
    unsigned i = 0;
    while (i < p->nMap && p->aMap[i].lo < at)
        i++;
    if (p->ops->zero(p->ctx, at, len))
        return -PROC_EFAULT;
    map_insert(p, i, at, at + len);
    return (int64_t)at;
}
