/* matmul: C = A × B for 24×24 integer matrices, rows split across the
 * cores; core 0 prints a checksum. */
#include "guest.h"

#define N 24

static long A[N][N], B[N][N], C[N][N];
static struct g_barrier bar;

int main(long core, long ncores)
{
    long sense = 0;
    if (core == 0)
        for (long i = 0; i < N; i++)
            for (long j = 0; j < N; j++) {
                A[i][j] = i + j;
                B[i][j] = i - j + N;
            }
    g_barrier_wait(&bar, ncores, &sense);
    for (long i = core; i < N; i += ncores)
        for (long j = 0; j < N; j++) {
            long s = 0;
            for (long k = 0; k < N; k++)
                s += A[i][k] * B[k][j];
            C[i][j] = s;
        }
    g_barrier_wait(&bar, ncores, &sense);
    if (core)
        return 0;
    uint64_t sum = 0;
    for (long i = 0; i < N; i++)
        for (long j = 0; j < N; j++)
            sum = sum * 31 + (uint64_t)C[i][j];
    struct g_line l = {0};
    g_puts(&l, "matmul: checksum ");
    g_putu(&l, sum);
    g_puts(&l, "\n");
    g_flush(&l);
    return 0;
}
