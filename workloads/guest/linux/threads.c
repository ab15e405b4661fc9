/* pthreads on the reference kernel: worker threads add to a shared total
 * under a mutex (futex wait/wake when they contend), each keeps a private
 * checksum in thread-local storage, main joins them (the clear_child_tid
 * futex); then a thread spins on a flag only another thread sets, which
 * finishes only if the spinner is preempted (the scheduler's tick, or the
 * sleeper's wake-up, on one core), and one thread sleeps. Prints only after the joins, so the output
 * does not depend on how the threads interleave. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 4
#define ROUNDS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total;
static unsigned long per_thread[NTHREADS];
static __thread unsigned long tls_sum;
static atomic_int flag;

static void *worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        unsigned long t = total;
        for (volatile int k = 0; k < 20; k++) /* hold the lock a little */
            ;
        total = t + (unsigned long)(id + 1);
        pthread_mutex_unlock(&lock);
        tls_sum += (unsigned long)i * (unsigned long)(id + 1);
        if (i % 500 == 0)
            sched_yield();
    }
    per_thread[id] = tls_sum;
    return (void *)(id * 10);
}

static atomic_int started;

static void *spinner(void *arg)
{
    (void)arg;
    atomic_store(&started, 1);
    while (!atomic_load(&flag))
        ;
    return (void *)1L;
}

static void *setter(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 200000}; /* 200 µs */
    do
        nanosleep(&ts, NULL);
    while (!atomic_load(&started)); /* the spinner runs before the flag is set */
    atomic_store(&flag, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "deadlock") == 0) {
        /* a default mutex locked twice by one thread: it waits on its own
         * futex for ever (the kernel sees every thread blocked) */
        puts("locking twice");
        fflush(stdout);
        pthread_mutex_lock(&lock);
        pthread_mutex_lock(&lock);
        return 3;
    }
    pthread_t th[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)i)) {
            puts("pthread_create failed");
            return 1;
        }
    long rets = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        rets += (long)r;
    }
    unsigned long want = 0;
    for (int i = 0; i < NTHREADS; i++)
        want += (unsigned long)(i + 1) * ROUNDS;
    printf("threads: %d workers, total %lu (want %lu), joined values %ld\n", NTHREADS, total, want,
           rets);
    for (int i = 0; i < NTHREADS; i++) {
        unsigned long w = 0;
        for (int k = 0; k < ROUNDS; k++)
            w += (unsigned long)k * (unsigned long)(i + 1);
        printf("thread %d tls sum %lu %s\n", i, per_thread[i], w == per_thread[i] ? "ok" : "BAD");
    }
    int ok = total == want && rets == 60;
    pthread_t s, z;
    pthread_create(&s, NULL, spinner, NULL);
    pthread_create(&z, NULL, setter, NULL);
    void *sr;
    pthread_join(s, &sr);
    pthread_join(z, NULL);
    printf("spinner saw the flag: %s\n", (long)sr == 1 ? "yes" : "no");
    /* a futex wait nobody wakes ends at its timeout with ETIMEDOUT */
    static int never;
    struct timespec to = {0, 50000};
    long fr = syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0);
    printf("futex timeout: %s\n", fr == -1 && errno == ETIMEDOUT ? "ETIMEDOUT" : "WRONG");
    ok = ok && fr == -1 && errno == ETIMEDOUT;
    printf("threads: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
