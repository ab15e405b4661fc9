/* Sorting: heapsort and insertion sort of the same pseudo-random array,
 * checked against each other and for order; prints a checksum. */
#include <stdio.h>
#include <stdlib.h>

static void sift(int *a, int i, int n)
{
    for (;;) {
        int m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && a[l] > a[m]) m = l;
        if (r < n && a[r] > a[m]) m = r;
        if (m == i) return;
        int t = a[i]; a[i] = a[m]; a[m] = t;
        i = m;
    }
}

int main(void)
{
    enum { N = 2000 };
    int *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    unsigned s = 7;
    for (int i = 0; i < N; i++) s = s * 1664525u + 1013904223u, a[i] = b[i] = (int)(s >> 12) - 300000;
    for (int i = N / 2 - 1; i >= 0; i--) sift(a, i, N);
    for (int n = N - 1; n > 0; n--) { int t = a[0]; a[0] = a[n]; a[n] = t; sift(a, 0, n); }
    for (int i = 1; i < N; i++) {
        int v = b[i], j = i - 1;
        while (j >= 0 && b[j] > v) b[j + 1] = b[j], j--;
        b[j + 1] = v;
    }
    long sum = 0;
    int ok = 1;
    for (int i = 0; i < N; i++) {
        ok &= a[i] == b[i] && (i == 0 || a[i - 1] <= a[i]);
        sum = sum * 3 + a[i];
    }
    printf("sort: %d ints, min %d max %d checksum %ld %s\n", N, a[0], a[N - 1], sum, ok ? "ok" : "FAIL");
    return !ok;
}
