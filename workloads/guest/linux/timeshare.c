/* A CPU-bound program that says when it made progress: `rounds` rounds of
 * integer work (argv[1], default 20), each ending with a reading of
 * CLOCK_MONOTONIC (simulated time since the run began). Alone on a core its rounds follow each other; with
 * another process on the same core the reference kernel's scheduler
 * time-slices the two, and the times show it. The final state of the
 * generator is printed so two copies can be checked to compute the same
 * thing in their own address spaces. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    const char *name = argc > 2 ? argv[2] : "timeshare";
    uint64_t x = 1, first = 0, last = 0, start = now_us();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005u + 1442695040888963407u;
        last = now_us();
        if (r == 0)
            first = last;
    }
    printf("%s: %d rounds, started at %llu us, first done at %llu us, last at %llu us, "
           "x %016llx\n", name, rounds, (unsigned long long)start, (unsigned long long)first,
           (unsigned long long)last, (unsigned long long)x);
    return 0;
}
