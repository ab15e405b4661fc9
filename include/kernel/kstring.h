/* Freestanding memory and string helpers for the reference kernel, which
 * links no libc (DESIGN.md §1). Same contracts as their libc namesakes. */
#ifndef KERNEL_KSTRING_H
#define KERNEL_KSTRING_H

#include <stddef.h>

void *kmemcpy(void *dst, const void *src, size_t n);
void *kmemset(void *dst, int c, size_t n);
int kmemcmp(const void *a, const void *b, size_t n);
size_t kstrlen(const char *s);

#endif
