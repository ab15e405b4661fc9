/* The guest runtime (guest.h) and the functions a compiler may call even
 * in freestanding code (memset, memcpy). */
#include "guest.h"

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

uint64_t g_clock_ns(void)
{
    int64_t ts[2];
    guest_syscall(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)ts, 0);
    return (uint64_t)ts[0] * 1000000000u + (uint64_t)ts[1];
}

void g_puts(struct g_line *l, const char *s)
{
    while (*s && l->n < (int)sizeof l->buf)
        l->buf[l->n++] = *s++;
}

void g_putu(struct g_line *l, uint64_t v)
{
    char d[24];
    int k = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k && l->n < (int)sizeof l->buf)
        l->buf[l->n++] = d[--k];
}

void g_flush(struct g_line *l)
{
    g_write(l->buf, l->n);
    l->n = 0;
}

void g_barrier_wait(struct g_barrier *b, long ncores, long *local_sense)
{
    long s = !*local_sense;
    *local_sense = s;
    if (atomic_fetch_add(&b->count, 1) == ncores - 1) {
        atomic_store(&b->count, 0);
        atomic_store(&b->sense, s);
    } else {
        while (atomic_load(&b->sense) != s)
            ;
    }
}
