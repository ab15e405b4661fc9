/* The guest ELF loader (elf.h). Everything that can fail is checked before
 * a byte of RAM is written (decode, then commit), so a bad file leaves RAM
 * as it was. */
#include "hw/elf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "orrery/error.h"

const char *const isa_arch_names[] = {"riscv64", "aarch64", NULL};

#define EM_X86_64 62
#define EM_AARCH64 183
#define EM_RISCV 243
#define ET_EXEC 2
#define ET_DYN 3
#define PT_LOAD 1
#define PT_INTERP 3
#define MAX_ELF_BYTES (256u << 20)

static const uint16_t arch_machine[] = {EM_RISCV, EM_AARCH64};

static const char *machine_name(uint16_t m, char *buf, size_t n)
{
    switch (m) {
    case EM_RISCV: return "riscv64";
    case EM_AARCH64: return "aarch64";
    case EM_X86_64: return "x86-64";
    case 3: return "i386";
    case 40: return "arm (32-bit)";
    default: snprintf(buf, n, "machine %u", m); return buf;
    }
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int fail(char *err, size_t n, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t n, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return rc;
}

static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, n, errno == ENOENT ? ORR_ENOENT : ORR_EIO, "cannot open ELF '%s': %s",
                    path, strerror(errno));
    uint8_t *buf = malloc(MAX_ELF_BYTES + 1u);
    if (!buf)
        orr_oom(); /* out of memory, not an unreadable file */
    size_t got = fread(buf, 1, MAX_ELF_BYTES + 1u, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || got > MAX_ELF_BYTES) {
        free(buf);
        return fail(err, n, ORR_EIO, "cannot read ELF '%s'%s", path,
                    got > MAX_ELF_BYTES ? ": larger than 256 MiB" : "");
    }
    *out = buf;
    *len = got;
    return 0;
}

/* The header checks: an ELF64 little-endian static executable for arch. */
static int check_header(const char *path, const uint8_t *b, size_t len, enum isa_arch arch,
                        char *err, size_t n)
{
    char mb[32];
    if (len < 4 || memcmp(b, "\177ELF", 4) != 0)
        return fail(err, n, ORR_EPARSE, "'%s' is not an ELF file (no ELF magic number)", path);
    if (len < 64 || b[4] != 2 || b[5] != 1)
        return fail(err, n, ORR_EPARSE, "'%s' is not a 64-bit little-endian ELF (class %u, "
                    "data %u)", path, len > 5 ? b[4] : 0, len > 5 ? b[5] : 0);
    uint16_t machine = rd16(b + 18);
    if (machine != arch_machine[arch])
        return fail(err, n, ORR_EINVAL, "'%s' is an ELF for %s, but the core runs %s", path,
                    machine_name(machine, mb, sizeof mb), isa_arch_names[arch]);
    uint16_t type = rd16(b + 16);
    if (type != ET_EXEC)
        return fail(err, n, ORR_EPARSE, "'%s' is not a static executable (ELF type %s); link "
                    "with -static -no-pie", path, type == ET_DYN ? "ET_DYN, position-independent"
                                                                : "not ET_EXEC");
    return 0;
}

int isa_elf_load(const char *path, enum isa_arch arch, uint8_t *ram, uint64_t ram_size,
                 struct isa_elf_info *info, char *err, size_t n)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int rc = read_file(path, &b, &len, err, n);
    if (rc)
        return rc;
    rc = check_header(path, b, len, arch, err, n);
    uint64_t phoff = rc ? 0 : rd64(b + 32);
    uint16_t phentsize = rc ? 0 : rd16(b + 54), phnum = rc ? 0 : rd16(b + 56);
    if (rc == 0 && (phentsize < 56 || phoff > len || (uint64_t)phnum * phentsize > len - phoff))
        rc = fail(err, n, ORR_EPARSE, "'%s' is truncated: its program headers lie past the end "
                  "of the file", path);
    struct isa_elf_info in = {rc ? 0 : rd64(b + 24), UINT64_MAX, 0, 0, rc ? 0 : rd32(b + 48)};
    unsigned nLoad = 0;
    /* decode: every check before any write */
    for (unsigned i = 0; rc == 0 && i < phnum; i++) {
        const uint8_t *ph = b + phoff + (uint64_t)i * phentsize;
        uint32_t type = rd32(ph);
        uint64_t off = rd64(ph + 8), pa = rd64(ph + 24), fsz = rd64(ph + 32), msz = rd64(ph + 40);
        if (type == PT_INTERP)
            rc = fail(err, n, ORR_EPARSE, "'%s' is dynamically linked (it names an interpreter); "
                      "link with -static", path);
        if (type != PT_LOAD || rc)
            continue;
        /* a segment with no file bytes (.bss alone) may name an offset
         * past the end of the file (GNU ld's 64 KiB alignment on aarch64):
         * nothing is read from it */
        if (fsz > msz || (fsz && (off > len || fsz > len - off)))
            rc = fail(err, n, ORR_EPARSE, "'%s' is truncated: segment %u's bytes lie past the "
                      "end of the file", path, i);
        else if (pa >= ram_size || msz > ram_size - pa)
            rc = fail(err, n, ORR_ERANGE, "'%s': segment %u [%#llx, %#llx) lies outside guest "
                      "RAM [0, %#llx)", path, i, (unsigned long long)pa,
                      (unsigned long long)(pa + msz), (unsigned long long)ram_size);
        if (rc)
            continue;
        if (fsz && phoff >= off && phoff - off < fsz && !in.phdr)
            in.phdr = pa + (phoff - off); /* AT_PHDR: the headers as loaded */
        nLoad++;
        if (pa < in.lo)
            in.lo = pa;
        if (pa + msz > in.hi)
            in.hi = pa + msz;
    }
    if (rc == 0 && nLoad == 0)
        rc = fail(err, n, ORR_EPARSE, "'%s' has no loadable segment", path);
    if (rc == 0 && (in.entry < in.lo || in.entry >= in.hi))
        rc = fail(err, n, ORR_EPARSE, "'%s': the entry point %#llx is outside its segments", path,
                  (unsigned long long)in.entry);
    /* commit */
    for (unsigned i = 0; rc == 0 && ram && i < phnum; i++) {
        const uint8_t *ph = b + phoff + (uint64_t)i * phentsize;
        if (rd32(ph) != PT_LOAD)
            continue;
        uint64_t off = rd64(ph + 8), pa = rd64(ph + 24), fsz = rd64(ph + 32), msz = rd64(ph + 40);
        if (fsz)
            memcpy(ram + pa, b + off, fsz);
        memset(ram + pa + fsz, 0, msz - fsz);
    }
    if (rc == 0) {
        in.hash = XXH3_64bits(b, len);
        in.phnum = phnum;
        in.phent = phentsize;
        if (info)
            *info = in;
    }
    free(b);
    return rc;
}
