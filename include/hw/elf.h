/* A loader for static ELF64 little-endian executables (the guest programs
 * of ISA mode, docs/isa.md): checks the file and copies its PT_LOAD
 * segments into guest RAM. Guest physical address = the segment's p_paddr
 * (static, non-PIE executables link with paddr = vaddr); bytes past
 * p_filesz up to p_memsz are zeroed (.bss).
 *
 * A library inside isacore, not a component type. */
#ifndef HW_ISA_ELF_H
#define HW_ISA_ELF_H

#include <stddef.h>
#include <stdint.h>

enum isa_arch { ISA_RISCV64, ISA_AARCH64 };
extern const char *const isa_arch_names[]; /* NULL-terminated, enum order */

struct isa_elf_info {
    uint64_t entry;
    uint64_t lo, hi;  /* the lowest and highest (exclusive) loaded address */
    uint64_t hash;    /* XXH3 of the file's bytes, recorded as a knob */
    uint32_t flags;   /* e_flags (EF_RISCV_RVC, ...) */
    uint64_t phdr;    /* where the program headers lie in memory (AT_PHDR), 0 if not loaded */
    uint16_t phnum, phent;
};

/* Load path for arch into ram[0, ram_size). With ram NULL the file is only
 * checked. Returns 0, or ORR_ENOENT/ORR_EIO (cannot open or read),
 * ORR_EPARSE (not an ELF, not a static ELF64 little-endian executable,
 * truncated), ORR_EINVAL (an ELF for another architecture) or ORR_ERANGE
 * (a segment outside RAM), with one sentence naming the file in err. */
int isa_elf_load(const char *path, enum isa_arch arch, uint8_t *ram, uint64_t ram_size,
                 struct isa_elf_info *info, char *err, size_t n);

#endif
