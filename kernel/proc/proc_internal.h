/* Shared by the kernel/proc sources: Linux errno values (asm-generic) and the
 * address-range helpers behind brk and mmap. Not a public header. */
#ifndef KERNEL_PROC_INTERNAL_H
#define KERNEL_PROC_INTERNAL_H

#include "kernel/proc.h"

enum {
    PROC_EPERM = 1, PROC_ENOENT = 2, PROC_ESRCH = 3, PROC_EBADF = 9, PROC_EAGAIN = 11,
    PROC_ENOMEM = 12, PROC_EACCES = 13, PROC_EFAULT = 14, PROC_ENOTDIR = 20,
    PROC_EINVAL = 22, PROC_EMFILE = 24, PROC_ENOTTY = 25, PROC_ESPIPE = 29, PROC_EROFS = 30,
    PROC_ERANGE = 34, PROC_ENOSYS = 38, PROC_ENAMETOOLONG = 36, PROC_ENODEV = 19,
    PROC_E2BIG = 7, PROC_ECHILD = 10, PROC_ETIMEDOUT = 110,
};

#define PROC_MAX_ARGS 4096u /* argv entries */
#define PROC_MAX_ENV 4096u  /* envp entries */

uint64_t proc_page_up(uint64_t a);
int64_t proc_brk(struct proc *p, uint64_t want);
int64_t proc_map(struct proc *p, uint64_t fixed, uint64_t len);
int proc_unmap(struct proc *p, uint64_t lo, uint64_t hi);

/* thread.c: threads as scheduler tasks (valid once proc_cpu_add ran) */
struct proc_thread *proc_cur(struct proc *p);
int proc_tid(const struct proc *p);
int64_t proc_futex_wake(struct proc *p, uint64_t addr, uint64_t max);
struct proc_result proc_futex_wait(struct proc *p, uint64_t addr, uint64_t timeout_ns, bool timed);
struct proc_result proc_sleep(struct proc *p, uint64_t ns);
struct proc_result proc_yield(struct proc *p);
struct proc_result proc_clone(struct proc *p, const uint64_t *a);
struct proc_result proc_clone3(struct proc *p, const uint64_t *a);
struct proc_result proc_thread_exit(struct proc *p, int status);
bool proc_threads_check(const struct proc *p);

#endif
