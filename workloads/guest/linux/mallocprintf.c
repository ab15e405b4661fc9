/* malloc, realloc, free and printf formatting (integers, strings, floats),
 * a large allocation (glibc takes it from mmap) and the arguments and
 * environment it was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
    const char *who = getenv("WHO");
    printf("WHO=%s\n", who ? who : "(unset)");
    char *s = NULL;
    size_t n = 0;
    for (int i = 0; i < 50; i++) {
        char part[32];
        int k = snprintf(part, sizeof part, "%d,", i * i);
        s = realloc(s, n + (size_t)k + 1);
        memcpy(s + n, part, (size_t)k + 1);
        n += (size_t)k;
    }
    printf("%zu bytes: %.40s...\n", n, s);
    free(s);
    size_t big = 4u << 20;
    unsigned char *m = malloc(big);
    if (!m) { puts("malloc failed"); return 1; }
    for (size_t i = 0; i < big; i += 4096) m[i] = (unsigned char)(i >> 12);
    unsigned long t = 0;
    for (size_t i = 0; i < big; i += 4096) t += m[i];
    free(m);
    printf("big block %zu KiB sum %lu, pi ~ %.6f, %e\n", big >> 10, t, 355.0 / 113.0, 1.0 / 3e10);
    return t == 130560 ? 0 : 1;
}
