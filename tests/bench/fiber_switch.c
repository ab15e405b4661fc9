/* Host cost of a fiber switch (hw/platform/fiber.h), the mechanism kernel
 * CPUs run on: one fiber yields back to its resumer N times. A round trip
 * is two switches (resume, yield); prints
 *   BENCH kernel.fiber_switch <ns> ns   (host ns per switch, median of 5). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hw/platform/fiber.h"

static struct fiber f;
static volatile unsigned long count;

static void body(void *arg)
{
    (void)arg;
    for (;;) {
        count++;
        fiber_yield(&f);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    enum { N = 2000000, REPEAT = 5 };
    if (!fiber_init(&f, body, NULL, FIBER_STACK_DEFAULT))
        return 1;
    double ns[REPEAT];
    for (int r = 0; r < REPEAT; r++) {
        double t0 = now_s();
        for (int i = 0; i < N; i++)
            fiber_resume(&f);
        ns[r] = (now_s() - t0) * 1e9 / (2.0 * N);
    }
    fiber_free(&f);
    if (count != (unsigned long)N * REPEAT)
        return 1;
    qsort(ns, REPEAT, sizeof ns[0], cmp);
    printf("BENCH kernel.fiber_switch %.1f ns\n", ns[REPEAT / 2]);
    return 0;
}
