/* Matrix multiply in double precision (uses the FPU: rv64gc F/D, aarch64
 * FP/SIMD), checked against the product computed a second way (by
 * columns, in integers: the inputs are small integers so both are exact). */
#include <stdio.h>
#include <stdlib.h>

#define N 40

int main(void)
{
    static double a[N][N], b[N][N], c[N][N];
    static long ia[N][N], ib[N][N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            ia[i][j] = (i * 7 + j * 3) % 11 - 5;
            ib[i][j] = (i * 5 + j * 13) % 17 - 8;
            a[i][j] = (double)ia[i][j];
            b[i][j] = (double)ib[i][j];
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    long trace = 0, bad = 0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++) {
            long s = 0;
            for (int k = 0; k < N; k++) s += ia[i][k] * ib[k][j];
            bad += c[i][j] != (double)s;
            if (i == j) trace += s;
        }
    printf("matrix: %dx%d trace %ld, %ld mismatches %s\n", N, N, trace, bad, bad ? "FAIL" : "ok");
    return bad != 0;
}
