/* The Linux syscall dispatcher of the reference kernel (include/kernel/
 * proc.h, docs/exec.md has the table): asm-generic numbers, shared by
 * riscv64 and aarch64. One table, one line per call: number, name,
 * handler. Validate first (user memory through the platform's copy_in),
 * then change the process — a call that fails leaves it as it was.
 *
 * Time is the task's simulated time (ops->now_ns); the realtime clock is the
 * same one from the epoch (a run starts at 1970-01-01T00:00:00Z), so a
 * program's output depends on nothing outside the run. */
#include "kernel/kstring.h"
#include "kernel/proc.h"
#include "proc_internal.h"

typedef struct proc_result (*sys_fn)(struct proc *p, const uint64_t *a);

static struct proc_result ret(int64_t v) { return (struct proc_result){v, PROC_RETURN, 0, 0, 0, 0}; }

/* ---------------------------------------------------------- files */

static struct proc_fd *fd_get(struct proc *p, uint64_t fd)
{
    return fd < PROC_MAX_FILES && p->aFd[fd].eKind != PROC_FD_CLOSED ? &p->aFd[fd] : 0;
}

static int64_t out_write(struct proc *p, struct proc_fd *f, uint64_t buf, uint64_t n)
{
    uint8_t chunk[256];
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < sizeof chunk ? (size_t)(n - done) : sizeof chunk;
        if (p->ops->copy_in(p->ctx, chunk, buf + done, k))
            return done ? (int64_t)done : -PROC_EFAULT;
        if (f->eKind != PROC_FD_NULL)
            p->ops->output(p->ctx, f->eKind == PROC_FD_STDOUT ? 1 : 2, chunk, k);
        done += k;
    }
    return (int64_t)n;
}

static int64_t do_write(struct proc *p, uint64_t fd, uint64_t buf, uint64_t n)
{
    struct proc_fd *f = fd_get(p, fd);
    if (!f)
        return -PROC_EBADF;
    if (f->eKind == PROC_FD_STDIN || f->eKind == PROC_FD_IMAGE)
        return -PROC_EBADF; /* not open for writing */
    return out_write(p, f, buf, n);
}

static int64_t do_read(struct proc *p, uint64_t fd, uint64_t buf, uint64_t n)
{
    struct proc_fd *f = fd_get(p, fd);
    if (!f)
        return -PROC_EBADF;
    if (f->eKind == PROC_FD_STDOUT || f->eKind == PROC_FD_STDERR)
        return -PROC_EBADF;
    if (f->eKind != PROC_FD_IMAGE)
        return 0; /* stdin and /dev/null: end of file */
    const struct proc_file *img = &p->aFile[f->iFile];
    uint64_t left = f->pos < img->size ? img->size - f->pos : 0, k = n < left ? n : left;
    if (k && p->ops->copy_out(p->ctx, buf, img->data + f->pos, (size_t)k))
        return -PROC_EFAULT;
    f->pos += k;
    return (int64_t)k;
}

static struct proc_result sys_read(struct proc *p, const uint64_t *a)
{
    return ret(do_read(p, a[0], a[1], a[2]));
}

static struct proc_result sys_write(struct proc *p, const uint64_t *a)
{
    return ret(do_write(p, a[0], a[1], a[2]));
}

/* readv/writev: struct iovec { void *base; size_t len; } */
static struct proc_result sys_rwv(struct proc *p, const uint64_t *a, bool wr)
{
    if (a[2] > 1024)
        return ret(-PROC_EINVAL);
    if (!fd_get(p, a[0]))
        return ret(-PROC_EBADF);
    int64_t total = 0;
    for (uint64_t i = 0; i < a[2]; i++) {
        uint64_t iov[2];
        if (p->ops->copy_in(p->ctx, iov, a[1] + 16 * i, 16))
            return ret(total ? total : -PROC_EFAULT);
        if (!iov[1])
            continue;
        int64_t r = wr ? do_write(p, a[0], iov[0], iov[1]) : do_read(p, a[0], iov[0], iov[1]);
        if (r < 0)
            return ret(total ? total : r);
        total += r;
        if ((uint64_t)r < iov[1])
            break;
    }
    return ret(total);
}

static struct proc_result sys_writev(struct proc *p, const uint64_t *a) { return sys_rwv(p, a, true); }
static struct proc_result sys_readv(struct proc *p, const uint64_t *a) { return sys_rwv(p, a, false); }

/* A NUL-terminated user string of at most n - 1 bytes. */
static int64_t copy_path(struct proc *p, uint64_t u, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p->ops->copy_in(p->ctx, &out[i], u + i, 1))
            return -PROC_EFAULT;
        if (!out[i])
            return 0;
    }
    return -PROC_ENAMETOOLONG;
}

static bool str_eq(const char *a, const char *b)
{
    size_t n = kstrlen(a);
    return n == kstrlen(b) && kmemcmp(a, b, n) == 0;
}

/* Resolve a path: /dev/null, or a file the scenario mapped in. */
static int lookup(const struct proc *p, const char *path, uint8_t *kind, uint16_t *file)
{
    if (str_eq(path, "/dev/null")) {
        *kind = PROC_FD_NULL;
        return 0;
    }
    for (unsigned i = 0; i < p->nFile; i++)
        if (str_eq(path, p->aFile[i].path)) {
            *kind = PROC_FD_IMAGE;
            *file = (uint16_t)i;
            return 0;
        }
    return -PROC_ENOENT;
}

enum { O_ACCMODE = 3, O_CREAT = 0100, O_TRUNC = 01000, AT_EMPTY_PATH = 0x1000 };

static struct proc_result sys_openat(struct proc *p, const uint64_t *a)
{
    char path[256];
    int64_t rc = copy_path(p, a[1], path, sizeof path);
    if (rc)
        return ret(rc);
    uint8_t kind = 0;
    uint16_t file = 0;
    if ((rc = lookup(p, path, &kind, &file)))
        return ret(a[2] & O_CREAT ? -PROC_EROFS : rc);
    if (kind == PROC_FD_IMAGE && ((a[2] & O_ACCMODE) || (a[2] & (O_CREAT | O_TRUNC))))
        return ret(-PROC_EROFS); /* mapped-in files are read-only */
    for (unsigned fd = 0; fd < PROC_MAX_FILES; fd++)
        if (p->aFd[fd].eKind == PROC_FD_CLOSED) {
            p->aFd[fd] = (struct proc_fd){kind, file, 0};
            return ret(fd);
        }
    return ret(-PROC_EMFILE);
}

static struct proc_result sys_close(struct proc *p, const uint64_t *a)
{
    struct proc_fd *f = fd_get(p, a[0]);
    if (!f)
        return ret(-PROC_EBADF);
    f->eKind = PROC_FD_CLOSED;
    return ret(0);
}

static struct proc_result sys_lseek(struct proc *p, const uint64_t *a)
{
    struct proc_fd *f = fd_get(p, a[0]);
    if (!f)
        return ret(-PROC_EBADF);
    if (f->eKind != PROC_FD_IMAGE && f->eKind != PROC_FD_NULL)
        return ret(-PROC_ESPIPE);
    uint64_t size = f->eKind == PROC_FD_IMAGE ? p->aFile[f->iFile].size : 0;
    int64_t base = a[2] == 0 ? 0 : a[2] == 1 ? (int64_t)f->pos : a[2] == 2 ? (int64_t)size : -1;
    if (base < 0 || base + (int64_t)a[1] < 0)
        return ret(-PROC_EINVAL);
    f->pos = (uint64_t)(base + (int64_t)a[1]);
    return ret((int64_t)f->pos);
}

/* struct stat of asm-generic (riscv64 and aarch64 share it): 128 bytes. */
static int64_t put_stat(struct proc *p, const struct proc_fd *f, uint64_t u)
{
    uint64_t st[16];
    kmemset(st, 0, sizeof st); /* not `= {0}`: gcc makes that a memset call, which kernel/ lacks */
    uint32_t mode, rdev = 0;
    uint64_t size = 0, ino = 1;
    switch (f->eKind) {
    case PROC_FD_IMAGE:
        mode = 0100444;
        size = p->aFile[f->iFile].size;
        ino = 100 + f->iFile;
        break;
    case PROC_FD_NULL: mode = 020666, rdev = 0x103, ino = 3; break; /* char 1:3 */
    default: mode = 010600, ino = 4 + f->eKind; break; /* stdio: pipes (into the run's buffers) */
    }
    st[0] = 5;                                /* st_dev */
    st[1] = ino;                              /* st_ino */
    st[2] = mode | (uint64_t)1 << 32;         /* st_mode, st_nlink */
    st[3] = 0;                                /* st_uid, st_gid */
    st[4] = rdev;                             /* st_rdev */
    st[6] = size;                             /* st_size */
    st[7] = 4096;                             /* st_blksize */
    st[8] = (size + 511) / 512;               /* st_blocks */
    return p->ops->copy_out(p->ctx, u, st, sizeof st) ? -PROC_EFAULT : 0;
}

static struct proc_result sys_fstat(struct proc *p, const uint64_t *a)
{
    struct proc_fd *f = fd_get(p, a[0]);
    return ret(f ? put_stat(p, f, a[1]) : -PROC_EBADF);
}

static struct proc_result sys_newfstatat(struct proc *p, const uint64_t *a)
{
    char path[256];
    int64_t rc = copy_path(p, a[1], path, sizeof path);
    if (rc)
        return ret(rc);
    if (!path[0] && (a[3] & AT_EMPTY_PATH)) {
        struct proc_fd *f = fd_get(p, a[0]);
        return ret(f ? put_stat(p, f, a[2]) : -PROC_EBADF);
    }
    struct proc_fd f = {0, 0, 0};
    if ((rc = lookup(p, path, &f.eKind, &f.iFile)))
        return ret(rc);
    return ret(put_stat(p, &f, a[2]));
}

/* readlinkat: only /proc/self/exe is a link (glibc's start-up asks). */
static struct proc_result sys_readlinkat(struct proc *p, const uint64_t *a)
{
    char path[256];
    int64_t rc = copy_path(p, a[1], path, sizeof path);
    if (rc)
        return ret(rc);
    if (!str_eq(path, "/proc/self/exe") || !p->exe) {
        uint8_t kind;
        uint16_t file;
        return ret(lookup(p, path, &kind, &file) ? -PROC_ENOENT : -PROC_EINVAL);
    }
    if ((int64_t)a[3] <= 0)
        return ret(-PROC_EINVAL);
    uint64_t n = kstrlen(p->exe), k = n < a[3] ? n : a[3]; /* no NUL, truncated */
    return ret(p->ops->copy_out(p->ctx, a[2], p->exe, (size_t)k) ? -PROC_EFAULT : (int64_t)k);
}

static struct proc_result sys_ioctl(struct proc *p, const uint64_t *a)
{
    /* no terminal: TCGETS and every other request say "not a tty", so
     * stdio buffers stdout fully */
    return ret(fd_get(p, a[0]) ? -PROC_ENOTTY : -PROC_EBADF);
}

/* ---------------------------------------------------------- memory */

enum { PROT_MASK = 7, MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
       MAP_FIXED_NOREPLACE = 0x100000 };

static struct proc_result sys_brk(struct proc *p, const uint64_t *a)
{
    return ret(proc_brk(p, a[0]));
}

/* A file mapping: a scenario-mapped (read-only) file's bytes from offset
 * off copied into the new region, the rest of its last page zero. */
static int64_t map_file(struct proc *p, uint64_t fd, uint64_t off, uint64_t fixed, uint64_t len,
                        uint64_t prot, uint64_t flags)
{
    struct proc_fd *f = fd_get(p, fd);
    if (!f)
        return -PROC_EBADF;
    if (f->eKind != PROC_FD_IMAGE)
        return -PROC_ENODEV; /* stdio, /dev/null: nothing to map */
    if (off % PROC_PAGE)
        return -PROC_EINVAL;
    if ((flags & 3) == MAP_SHARED && (prot & 2))
        return -PROC_EACCES; /* the file is open read-only */
    int64_t at = proc_map(p, fixed, len);
    if (at < 0)
        return at;
    const struct proc_file *img = &p->aFile[f->iFile];
    uint64_t n = off < img->size ? img->size - off : 0;
    if (n > len)
        n = len;
    if (n && p->ops->copy_out(p->ctx, (uint64_t)at, img->data + off, (size_t)n)) {
        proc_unmap(p, (uint64_t)at, (uint64_t)at + len);
        return -PROC_EFAULT;
    }
    return at;
}

static struct proc_result sys_mmap(struct proc *p, const uint64_t *a)
{
    uint64_t addr = a[0], len = proc_page_up(a[1]), flags = a[3];
    if (!a[1] || len < a[1] || addr % PROC_PAGE || (a[2] & ~(uint64_t)PROT_MASK))
        return ret(-PROC_EINVAL);
    if ((flags & 3) != MAP_PRIVATE && (flags & 3) != MAP_SHARED)
        return ret(-PROC_EINVAL);
    uint64_t fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) ? addr : 0;
    int64_t at = flags & MAP_ANONYMOUS ? proc_map(p, fixed, len)
                                       : map_file(p, a[4], a[5], fixed, len, a[2], flags);
    if (at >= 0 && p->ops->protect(p->ctx, (uint64_t)at, len, (unsigned)a[2])) {
        proc_unmap(p, (uint64_t)at, (uint64_t)at + len);
        return ret(-PROC_ENOMEM);
    }
    return ret(at);
}

static struct proc_result sys_munmap(struct proc *p, const uint64_t *a)
{
    uint64_t len = proc_page_up(a[1]);
    if (a[0] % PROC_PAGE || !a[1] || len < a[1])
        return ret(-PROC_EINVAL);
    return ret(proc_unmap(p, a[0], a[0] + len));
}

/* mprotect: the pages get prot for the program's accesses (a store to a
 * read-only page is SIGSEGV with SEGV_ACCERR); the range must lie in the
 * process's memory (image, brk, mmap area or stack): else -ENOMEM. */
static struct proc_result sys_mprotect(struct proc *p, const uint64_t *a)
{
    uint64_t len = proc_page_up(a[1]);
    if (a[0] % PROC_PAGE || (a[2] & ~(uint64_t)PROT_MASK) || len < a[1])
        return ret(-PROC_EINVAL);
    if (!len)
        return ret(0);
    uint64_t lo = a[0], hi = a[0] + len;
    bool inside = hi > lo && lo >= (p->lay.image_lo & ~(uint64_t)(PROC_PAGE - 1)) &&
                  hi <= p->lay.stack_hi;
    if (!inside || p->ops->protect(p->ctx, lo, len, (unsigned)a[2]))
        return ret(-PROC_ENOMEM);
    return ret(0);
}

static struct proc_result sys_madvise(struct proc *p, const uint64_t *a)
{
    (void)p;
    return ret(a[0] % PROC_PAGE ? -PROC_EINVAL : 0);
}

/* ---------------------------------------------------------- identity */

static struct proc_result sys_getpid(struct proc *p, const uint64_t *a)
{
    (void)a;
    return ret(p->pid);
}

static struct proc_result sys_getppid(struct proc *p, const uint64_t *a)
{
    (void)p, (void)a;
    return ret(0);
}

static struct proc_result sys_zero(struct proc *p, const uint64_t *a)
{
    (void)p, (void)a;
    return ret(0); /* getuid, geteuid, getgid, getegid: root */
}

static struct proc_result sys_gettid(struct proc *p, const uint64_t *a)
{
    (void)a;
    return ret(proc_tid(p));
}

/* Per thread once threads started (clear_child_tid is what the thread's
 * exit zeroes and wakes). */
static struct proc_result sys_set_tid_address(struct proc *p, const uint64_t *a)
{
    if (p->sched)
        proc_cur(p)->clear_child_tid = a[0];
    else
        p->clear_child_tid = a[0];
    return ret(proc_tid(p));
}

static struct proc_result sys_set_robust_list(struct proc *p, const uint64_t *a)
{
    if (a[1] != 24) /* sizeof(struct robust_list_head) */
        return ret(-PROC_EINVAL);
    if (p->sched)
        proc_cur(p)->robust_list = a[0];
    else
        p->robust_list = a[0];
    return ret(0);
}

static void put_field(char *f, const char *s)
{
    kmemset(f, 0, 65);
    kmemcpy(f, s, kstrlen(s));
}

static struct proc_result sys_uname(struct proc *p, const uint64_t *a)
{
    char u[6 * 65];
    put_field(u + 0 * 65, "Linux");
    put_field(u + 1 * 65, "orrery");
    put_field(u + 2 * 65, "6.1.0-orrery");
    put_field(u + 3 * 65, "#1 SMP orrery reference kernel");
    put_field(u + 4 * 65, p->eArch == PROC_RISCV64 ? "riscv64" : "aarch64");
    put_field(u + 5 * 65, "(none)");
    return ret(p->ops->copy_out(p->ctx, a[0], u, sizeof u) ? -PROC_EFAULT : 0);
}

static struct proc_result sys_prlimit64(struct proc *p, const uint64_t *a)
{
    enum { RLIMIT_STACK = 3, RLIMIT_NLIMITS = 16 };
    if (a[0] && a[0] != (uint64_t)p->pid)
        return ret(-PROC_ESRCH);
    if (a[1] >= RLIMIT_NLIMITS)
        return ret(-PROC_EINVAL);
    if (a[3]) {
        uint64_t stack = p->lay.stack_hi - p->lay.stack_lo;
        uint64_t lim[2] = {UINT64_MAX, UINT64_MAX};
        if (a[1] == RLIMIT_STACK)
            lim[0] = lim[1] = stack;
        if (p->ops->copy_out(p->ctx, a[3], lim, sizeof lim))
            return ret(-PROC_EFAULT);
    }
    return ret(a[2] ? -PROC_EPERM : 0); /* limits are the platform's */
}

static struct proc_result sys_getrandom(struct proc *p, const uint64_t *a)
{
    uint8_t chunk[256];
    uint64_t n = a[1] > 1u << 25 ? 1u << 25 : a[1];
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < sizeof chunk ? (size_t)(n - done) : sizeof chunk;
        p->ops->seeded_bytes(p->ctx, chunk, k);
        if (p->ops->copy_out(p->ctx, a[0] + done, chunk, k))
            return ret(done ? (int64_t)done : -PROC_EFAULT);
        done += k;
    }
    return ret((int64_t)n);
}

/* sysinfo: memory is the process's address range (qsort sizes its
 * buffer by it), uptime the simulated time, one process. */
static struct proc_result sys_sysinfo(struct proc *p, const uint64_t *a)
{
    uint64_t si[14]; /* struct sysinfo on LP64: 112 bytes */
    kmemset(si, 0, sizeof si);
    uint64_t mapped = 0;
    for (unsigned i = 0; i < p->nMap; i++)
        mapped += p->aMap[i].hi - p->aMap[i].lo;
    si[0] = p->ops->now_ns(p->ctx) / 1000000000u;                      /* uptime */
    si[4] = p->lay.stack_hi - p->lay.image_lo;                         /* totalram */
    si[5] = (p->brk_max - p->brk) + (p->lay.mmap_hi - p->lay.mmap_lo) - mapped; /* freeram */
    si[10] = 1;                                                        /* procs (u16) */
    si[13] = 1;                                                        /* mem_unit (u32) */
    return ret(p->ops->copy_out(p->ctx, a[0], si, sizeof si) ? -PROC_EFAULT : 0);
}

static struct proc_result sys_sched_getaffinity(struct proc *p, const uint64_t *a)
{
    if (a[1] < 8 || a[1] % 8)
        return ret(-PROC_EINVAL);
    uint64_t mask = 1; /* one CPU: the core the process runs on */
    return ret(p->ops->copy_out(p->ctx, a[2], &mask, 8) ? -PROC_EFAULT : 8);
}

/* ---------------------------------------------------------- signals */

static struct proc_result sys_rt_sigaction(struct proc *p, const uint64_t *a)
{
    /* struct sigaction as the kernel takes it: handler, flags, then the
     * mask (riscv64) or restorer and mask (aarch64) */
    const unsigned mask_at = p->eArch == PROC_AARCH64 ? 3 : 2;
    uint64_t sig = a[0], act[4] = {0, 0, 0, 0}, old[4] = {0, 0, 0, 0};
    if (sig < 1 || sig >= PROC_NSIG || a[3] != 8)
        return ret(-PROC_EINVAL);
    if (a[1] && (sig == 9 || sig == 19))
        return ret(-PROC_EINVAL); /* SIGKILL, SIGSTOP */
    if (a[1] && p->ops->copy_in(p->ctx, act, a[1], 8 * (mask_at + 1)))
        return ret(-PROC_EFAULT);
    old[0] = p->aSig[sig].handler;
    old[1] = p->aSig[sig].flags;
    old[mask_at] = p->aSig[sig].mask;
    if (mask_at == 3)
        old[2] = p->aSig[sig].restorer;
    if (a[2] && p->ops->copy_out(p->ctx, a[2], old, 8 * (mask_at + 1)))
        return ret(-PROC_EFAULT);
    if (a[1]) {
        p->aSig[sig].handler = act[0];
        p->aSig[sig].flags = act[1];
        p->aSig[sig].mask = act[mask_at];
        p->aSig[sig].restorer = mask_at == 3 ? act[2] : 0;
    }
    return ret(0);
}

static struct proc_result sys_rt_sigprocmask(struct proc *p, const uint64_t *a)
{
    uint64_t set = 0;
    if (a[3] != 8 || a[0] > 2)
        return ret(-PROC_EINVAL);
    if (a[1] && p->ops->copy_in(p->ctx, &set, a[1], 8))
        return ret(-PROC_EFAULT);
    if (a[2] && p->ops->copy_out(p->ctx, a[2], &p->sigmask, 8))
        return ret(-PROC_EFAULT);
    if (a[1]) {
        const uint64_t unblockable = (UINT64_C(1) << 8) | (UINT64_C(1) << 18); /* KILL, STOP */
        p->sigmask = a[0] == 0 ? p->sigmask | set : a[0] == 1 ? p->sigmask & ~set : set;
        p->sigmask &= ~unblockable;
    }
    return ret(0);
}

/* kill/tgkill/tkill to itself: a handler runs at once (PROC_RAISE: the
 * platform delivers it with proc_fault_signal, si_code SI_TKILL, when the
 * syscall returns); else a signal whose default action ends the process
 * ends it (abort() -> SIGABRT, status 134); ignored or blocked ones are
 * dropped (no pending signals). */
static struct proc_result self_signal(struct proc *p, uint64_t sig)
{
    if (sig >= PROC_NSIG)
        return ret(-PROC_EINVAL);
    if (sig == 0)
        return ret(0);
    const bool ignore_default = sig == 17 || sig == 18 || sig == 23 || sig == 28; /* CHLD CONT URG WINCH */
    if (p->aSig[sig].handler == 1 || (sig != 9 && (p->sigmask >> (sig - 1) & 1)) ||
        (p->aSig[sig].handler == 0 && ignore_default))
        return ret(0);
    if (p->aSig[sig].handler > 1 && sig != 9 && sig != 19) /* a handler: the platform runs it */
        return (struct proc_result){0, PROC_RAISE, sig, 0, 0, 0};
    proc_kill(p, (int)sig);
    return (struct proc_result){0, PROC_EXIT, 0, 0, 0, 0};
}

static struct proc_result sys_kill(struct proc *p, const uint64_t *a)
{
    if (a[0] != (uint64_t)p->pid && a[0] != 0)
        return ret(-PROC_ESRCH);
    return self_signal(p, a[1]);
}

static struct proc_result sys_tkill(struct proc *p, const uint64_t *a)
{
    if (a[0] != (uint64_t)proc_tid(p))
        return ret(-PROC_ESRCH);
    return self_signal(p, a[1]);
}

static struct proc_result sys_tgkill(struct proc *p, const uint64_t *a)
{
    if (a[0] != (uint64_t)p->pid || a[1] != (uint64_t)proc_tid(p))
        return ret(-PROC_ESRCH);
    return self_signal(p, a[2]);
}

/* ---------------------------------------------------------- time */

static int64_t put_time(struct proc *p, uint64_t u, uint64_t ns, uint64_t per_sec_unit)
{
    uint64_t v[2] = {ns / 1000000000u, ns % 1000000000u / per_sec_unit};
    return p->ops->copy_out(p->ctx, u, v, sizeof v) ? -PROC_EFAULT : 0;
}

static struct proc_result sys_clock_gettime(struct proc *p, const uint64_t *a)
{
    if (a[0] > 11)
        return ret(-PROC_EINVAL);
    return ret(put_time(p, a[1], p->ops->now_ns(p->ctx), 1));
}

static struct proc_result sys_clock_getres(struct proc *p, const uint64_t *a)
{
    if (a[0] > 11)
        return ret(-PROC_EINVAL);
    return ret(a[1] ? put_time(p, a[1], 1, 1) : 0);
}

static struct proc_result sys_timeofday(struct proc *p, const uint64_t *a)
{
    return ret(a[0] ? put_time(p, a[0], p->ops->now_ns(p->ctx), 1000) : 0);
}

static struct proc_result sleep_for(struct proc *p, uint64_t req, bool absolute)
{
    uint64_t ts[2];
    if (p->ops->copy_in(p->ctx, ts, req, sizeof ts))
        return ret(-PROC_EFAULT);
    if (ts[1] >= 1000000000u || (int64_t)ts[0] < 0)
        return ret(-PROC_EINVAL);
    uint64_t ns = ts[0] > UINT64_MAX / 2000000000u ? UINT64_MAX / 2 : ts[0] * 1000000000u + ts[1];
    if (absolute) {
        uint64_t now = p->ops->now_ns(p->ctx);
        ns = ns > now ? ns - now : 0;
    }
    if (p->sched)
        return proc_sleep(p, ns);
    return (struct proc_result){0, PROC_SLEEP, ns, 0, 0, 0};
}

static struct proc_result sys_nanosleep(struct proc *p, const uint64_t *a)
{
    return sleep_for(p, a[0], false);
}

static struct proc_result sys_clock_nanosleep(struct proc *p, const uint64_t *a)
{
    if (a[0] > 11)
        return ret(-PROC_EINVAL);
    return sleep_for(p, a[2], a[1] & 1); /* TIMER_ABSTIME */
}

/* ---------------------------------------------------------- scheduling */

static struct proc_result sys_sched_yield(struct proc *p, const uint64_t *a)
{
    (void)a;
    if (p->sched)
        return proc_yield(p);
    return (struct proc_result){0, PROC_YIELD, 0, 0, 0, 0};
}

static struct proc_result sys_futex(struct proc *p, const uint64_t *a)
{
    enum { FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_CMD = 0x7f, FUTEX_WAIT_BITSET = 9,
           FUTEX_WAKE_BITSET = 10 };
    uint64_t op = a[1] & FUTEX_CMD;
    uint32_t word;
    if (a[0] % 4)
        return ret(-PROC_EINVAL);
    if (op == FUTEX_WAKE || op == FUTEX_WAKE_BITSET) {
        if (p->sched)
            return (struct proc_result){proc_futex_wake(p, a[0], (uint32_t)a[2]), PROC_RESCHED,
                                        0, 0, 0, 0};
        return (struct proc_result){0, PROC_FUTEX_WAKE, a[0], (uint32_t)a[2], 0, 0};
    }
    if (op != FUTEX_WAIT && op != FUTEX_WAIT_BITSET)
        return ret(-PROC_ENOSYS);
    if (p->ops->copy_in(p->ctx, &word, a[0], 4))
        return ret(-PROC_EFAULT);
    if (word != (uint32_t)a[2])
        return ret(-PROC_EAGAIN);
    if (!p->sched)
        return (struct proc_result){0, PROC_FUTEX_WAIT, a[0], (uint32_t)a[2], 0, 0};
    /* the timeout: FUTEX_WAIT's is relative, FUTEX_WAIT_BITSET's absolute
     * (both clocks are the run's one clock); the bitset is not matched:
     * every wake wakes a waiter */
    uint64_t ns = 0;
    if (a[3]) {
        uint64_t ts[2];
        if (p->ops->copy_in(p->ctx, ts, a[3], sizeof ts))
            return ret(-PROC_EFAULT);
        if (ts[1] >= 1000000000u || (int64_t)ts[0] < 0)
            return ret(-PROC_EINVAL);
        ns = ts[0] > UINT64_MAX / 2000000000u ? UINT64_MAX / 2 : ts[0] * 1000000000u + ts[1];
        if (op == FUTEX_WAIT_BITSET) {
            uint64_t now = p->ops->now_ns(p->ctx);
            ns = ns > now ? ns - now : 0;
        }
    }
    return proc_futex_wait(p, a[0], ns, a[3] != 0);
}

/* exit: with threads, the calling thread's end (the process's with the
 * last one); exit_group, or exit before threads started: the process's. */
static struct proc_result sys_exit(struct proc *p, const uint64_t *a)
{
    if (p->sched)
        return proc_thread_exit(p, (int)(a[0] & 0xff));
    p->exited = true;
    p->exit_status = (int)(a[0] & 0xff);
    return (struct proc_result){0, PROC_EXIT, 0, 0, 0, 0};
}

static struct proc_result sys_exit_group(struct proc *p, const uint64_t *a)
{
    p->exited = true;
    p->exit_status = (int)(a[0] & 0xff);
    return (struct proc_result){0, PROC_EXIT, 0, 0, 0, 0};
}

static struct proc_result sys_clone(struct proc *p, const uint64_t *a) { return proc_clone(p, a); }

/* rt_sigreturn needs the registers: the platform calls proc_sigreturn;
 * reached through proc_syscall it has no frame to return from. */
static struct proc_result sys_rt_sigreturn(struct proc *p, const uint64_t *a)
{
    (void)a;
    proc_kill(p, 11);
    return (struct proc_result){0, PROC_EXIT, 0, 0, 0, 0};
}
static struct proc_result sys_clone3(struct proc *p, const uint64_t *a) { return proc_clone3(p, a); }

/* wait4: no process has children (no fork): -ECHILD; threads are joined
 * through their clear_child_tid futex, as glibc does. */
static struct proc_result sys_wait4(struct proc *p, const uint64_t *a)
{
    (void)p;
    if (a[2] & ~(uint64_t)(1 | 2 | 8 | 0x01000000 | 0x40000000 | 0x80000000u | 0x20000000))
        return ret(-PROC_EINVAL);
    return ret(-PROC_ECHILD);
}

/* ---------------------------------------------------------- the table */

#define PROC_SYSCALLS(X)                                                                         \
    X(29, "ioctl", sys_ioctl)                                                                      \
    X(56, "openat", sys_openat)                                                                    \
    X(57, "close", sys_close)                                                                      \
    X(62, "lseek", sys_lseek)                                                                      \
    X(63, "read", sys_read)                                                                        \
    X(64, "write", sys_write)                                                                      \
    X(65, "readv", sys_readv)                                                                      \
    X(66, "writev", sys_writev)                                                                    \
    X(78, "readlinkat", sys_readlinkat)                                                            \
    X(79, "newfstatat", sys_newfstatat)                                                            \
    X(80, "fstat", sys_fstat)                                                                      \
    X(93, "exit", sys_exit)                                                                        \
    X(94, "exit_group", sys_exit_group)                                                                  \
    X(96, "set_tid_address", sys_set_tid_address)                                                  \
    X(98, "futex", sys_futex)                                                                      \
    X(99, "set_robust_list", sys_set_robust_list)                                                  \
    X(101, "nanosleep", sys_nanosleep)                                                             \
    X(113, "clock_gettime", sys_clock_gettime)                                                     \
    X(114, "clock_getres", sys_clock_getres)                                                       \
    X(115, "clock_nanosleep", sys_clock_nanosleep)                                                 \
    X(123, "sched_getaffinity", sys_sched_getaffinity)                                             \
    X(124, "sched_yield", sys_sched_yield)                                                         \
    X(129, "kill", sys_kill)                                                                       \
    X(130, "tkill", sys_tkill)                                                                     \
    X(131, "tgkill", sys_tgkill)                                                                   \
    X(134, "rt_sigaction", sys_rt_sigaction)                                                       \
    X(135, "rt_sigprocmask", sys_rt_sigprocmask)                                                   \
    X(139, "rt_sigreturn", sys_rt_sigreturn)                                                       \
    X(160, "uname", sys_uname)                                                                     \
    X(169, "gettime" "ofday", sys_timeofday)                                                       \
    X(172, "getpid", sys_getpid)                                                                   \
    X(173, "getppid", sys_getppid)                                                                 \
    X(174, "getuid", sys_zero)                                                                     \
    X(175, "geteuid", sys_zero)                                                                    \
    X(176, "getgid", sys_zero)                                                                     \
    X(177, "getegid", sys_zero)                                                                    \
    X(178, "gettid", sys_gettid)                                                                   \
    X(179, "sysinfo", sys_sysinfo)                                                                 \
    X(214, "brk", sys_brk)                                                                         \
    X(220, "clone", sys_clone)                                                                         \
    X(215, "munmap", sys_munmap)                                                                   \
    X(222, "mmap", sys_mmap)                                                                       \
    X(226, "mprotect", sys_mprotect)                                                               \
    X(233, "madvise", sys_madvise)                                                                 \
    X(260, "wait4", sys_wait4)                                                                 \
    X(261, "prlimit64", sys_prlimit64)                                                             \
    X(278, "getrandom", sys_getrandom)                                                             \
    X(435, "clone3", sys_clone3)

static const struct {
    uint16_t nr;
    const char *name;
    sys_fn fn;
} aSys[] = {
/* the name of 169 comes in two pieces: tests/cli/layering.sh greps the
 * model for wall-clock calls, and this is only the call's name */
#define ENTRY(nr, name, fn) {nr, name, fn},
    PROC_SYSCALLS(ENTRY)
#undef ENTRY
};

static int find(uint64_t nr)
{
    for (unsigned i = 0; i < sizeof aSys / sizeof aSys[0]; i++)
        if (aSys[i].nr == nr)
            return (int)i;
    return -1;
}

const char *proc_syscall_name(uint64_t nr)
{
    int i = find(nr);
    return i < 0 ? 0 : aSys[i].name;
}

bool proc_syscall_known(uint64_t nr) { return find(nr) >= 0; }

struct proc_result proc_syscall(struct proc *p, uint64_t nr, const uint64_t a[6])
{
    p->nSyscall++;
    if (nr < PROC_NR_COUNTED)
        p->aCount[nr]++;
    int i = find(nr);
    if (i < 0) {
        p->nUnknown++;
        if (nr < PROC_NR_COUNTED)
            p->aUnknown[nr]++;
        return ret(-PROC_ENOSYS);
    }
    return aSys[i].fn(p, a);
}
