/* Selftests for the freestanding string helpers (kernel/lib/kstring.c):
 * libc contracts, including overlap-free copies at odd offsets, the sign of
 * kmemcmp on bytes >= 0x80, and n == 0. */
#include "kernel/kstring.h"
#include "kernel/ktest.h"

static int test_memset(struct hal_cpu *c)
{
    (void)c;
    unsigned char buf[19];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = 0xAA;
    KTEST_CHECK(kmemset(buf + 1, 0x1FF, 17) == buf + 1); /* c converted to unsigned char */
    KTEST_CHECK(buf[0] == 0xAA && buf[18] == 0xAA);
    for (unsigned i = 1; i < 18; i++)
        KTEST_CHECK(buf[i] == 0xFF);
    kmemset(buf, 0, 0);
    KTEST_CHECK(buf[0] == 0xAA);
    return KTEST_OK;
}

static int test_memcpy(struct hal_cpu *c)
{
    (void)c;
    unsigned char src[33], dst[33];
    for (unsigned i = 0; i < sizeof src; i++) {
        src[i] = (unsigned char)(i * 7 + 1);
        dst[i] = 0;
    }
    KTEST_CHECK(kmemcpy(dst + 3, src + 1, 29) == dst + 3);
    for (unsigned i = 0; i < 29; i++)
        KTEST_CHECK(dst[3 + i] == src[1 + i]);
    KTEST_CHECK(dst[0] == 0 && dst[1] == 0 && dst[2] == 0 && dst[32] == 0);
    kmemcpy(dst, src, 0);
    KTEST_CHECK(dst[0] == 0);
    return KTEST_OK;
}

static int test_memcmp(struct hal_cpu *c)
{
    (void)c;
    const unsigned char a[] = {1, 2, 3, 0x80};
    const unsigned char b[] = {1, 2, 3, 0x7F};
    KTEST_CHECK(kmemcmp(a, a, sizeof a) == 0);
    KTEST_CHECK(kmemcmp(a, b, sizeof a) > 0); /* bytes compare as unsigned */
    KTEST_CHECK(kmemcmp(b, a, sizeof a) < 0);
    KTEST_CHECK(kmemcmp(a, b, 3) == 0);
    KTEST_CHECK(kmemcmp(a, b, 0) == 0);
    return KTEST_OK;
}

static int test_strlen(struct hal_cpu *c)
{
    (void)c;
    KTEST_CHECK(kstrlen("") == 0);
    KTEST_CHECK(kstrlen("orrery") == 6);
    const char s[] = {'a', 'b', 0, 'c', 0};
    KTEST_CHECK(kstrlen(s) == 2);
    return KTEST_OK;
}

const struct ktest kstring_ktests[] = {
    {"memset", test_memset},
    {"memcpy", test_memcpy},
    {"memcmp", test_memcmp},
    {"strlen", test_strlen},
    {0, 0},
};
