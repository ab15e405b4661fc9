/* The SB and MP litmus shapes in real code, ITER iterations in one run,
 * cores 0 and 1 separated by a barrier per iteration. Built four ways:
 * -DSHAPE_SB / -DSHAPE_MP, with -DFENCE=1 or 0. Core 0 prints the outcome
 * histogram (r0 r1) and exits 1 if it saw an outcome the architecture
 * forbids for that shape (RVWMO and Arm agree on these four):
 *   SB (x=1; r0=y || y=1; r1=x): with full fences 00 is forbidden.
 *   MP (data=1; flag=1 || r0=flag; r1=data): with fences (release /
 *   acquire sides) r0=1, r1=0 is forbidden. Without fences every outcome
 *   is allowed. */
#include "guest.h"

#define ITER 200

static volatile long x, y;
static long r[2];
static long hist[4];
static struct g_barrier bar;

#if FENCE
#define FENCE_FULL() atomic_thread_fence(memory_order_seq_cst)
#define FENCE_W() atomic_thread_fence(memory_order_release)
#define FENCE_R() atomic_thread_fence(memory_order_acquire)
#else
#define FENCE_FULL() atomic_signal_fence(memory_order_seq_cst)
#define FENCE_W() atomic_signal_fence(memory_order_seq_cst)
#define FENCE_R() atomic_signal_fence(memory_order_seq_cst)
#endif

static void thread(long core)
{
#if defined(SHAPE_SB)
    if (core == 0) {
        x = 1;
        FENCE_FULL();
        r[0] = y;
    } else if (core == 1) {
        y = 1;
        FENCE_FULL();
        r[1] = x;
    }
#else /* MP: x is the data, y the flag */
    if (core == 0) {
        x = 1;
        FENCE_W();
        y = 1;
    } else if (core == 1) {
        r[0] = y;
        FENCE_R();
        r[1] = x;
    }
#endif
}

int main(long core, long ncores)
{
    long sense = 0;
    for (long i = 0; i < ITER; i++) {
        g_barrier_wait(&bar, ncores, &sense);
        thread(core);
        g_barrier_wait(&bar, ncores, &sense);
        if (core == 0) {
            hist[r[0] * 2 + r[1]]++;
            x = y = 0;
            r[0] = r[1] = 0;
        }
    }
    if (core)
        return 0;
#if defined(SHAPE_SB)
    const char *name = FENCE ? "SB+fences" : "SB";
    int forbidden = FENCE ? 0 : -1;
#else
    const char *name = FENCE ? "MP+fences" : "MP";
    int forbidden = FENCE ? 2 : -1;
#endif
    struct g_line l = {0};
    g_puts(&l, name);
    static const char *const out[4] = {" 00=", " 01=", " 10=", " 11="};
    for (int k = 0; k < 4; k++) {
        g_puts(&l, out[k]);
        g_putu(&l, (uint64_t)hist[k]);
    }
    g_puts(&l, "\n");
    g_flush(&l);
    return forbidden >= 0 && hist[forbidden] ? 1 : 0;
}
