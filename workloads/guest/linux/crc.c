/* CRC-32 (IEEE, reflected) of a generated buffer, by table and bit by bit;
 * also checks the standard check value of "123456789" (0xcbf43926). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t table[256];

static uint32_t crc_bits(const uint8_t *p, size_t n)
{
    uint32_t c = ~0u;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static uint32_t crc_table(const uint8_t *p, size_t n)
{
    uint32_t c = ~0u;
    while (n--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

int main(void)
{
    static uint8_t buf[32768];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
        table[i] = c;
    }
    uint32_t x = 1;
    for (size_t i = 0; i < sizeof buf; i++) x ^= x << 13, x ^= x >> 17, x ^= x << 5, buf[i] = (uint8_t)x;
    uint32_t a = crc_table(buf, sizeof buf), b = crc_bits(buf, sizeof buf);
    uint32_t check = crc_table((const uint8_t *)"123456789", 9);
    int ok = a == b && check == 0xcbf43926u;
    printf("crc: %08x %08x check %08x %s\n", a, b, check, ok ? "ok" : "FAIL");
    return !ok;
}
