/* Reading ELF BPF objects (bpf_load.h): libbpf opens the object (programs
 * by section, maps from the BTF-described .maps section); libelf reads the
 * symbol table and the programs' relocation sections, so each LD_IMM64
 * that names a map becomes a map reference (src=BPF_PSEUDO_MAP_FD, imm =
 * the map's index) and one that names global data a map value address
 * (BPF_PSEUDO_MAP_VALUE), as libbpf's loader does before it hands a
 * program to a kernel. Nothing is loaded into the host kernel. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bpf_load.h"

static char libbpf_msg[512];
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG)
        return 0;
    vsnprintf(libbpf_msg, sizeof libbpf_msg, fmt, ap);
    size_t n = strlen(libbpf_msg);
    while (n && libbpf_msg[n - 1] == '\n')
        libbpf_msg[--n] = 0;
    return 0;
}

static int errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int map_index(const struct bpfload *l, const char *name)
{
    for (uint32_t i = 0; i < l->nmaps; i++)
        if (strcmp(l->maps[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* libbpf names a global-data map "<object prefix><section>" */
static int data_map_index(const struct bpfload *l, const char *sec)
{
    size_t ls = strlen(sec);
    for (uint32_t i = 0; i < l->nmaps; i++) {
        size_t ln = strlen(l->maps[i].name);
        if (ln >= ls && strcmp(l->maps[i].name + ln - ls, sec) == 0)
            return (int)i;
    }
    return -1;
}

static int relocate(struct bpfload *l, const char *path, char *err, size_t nerr)
{
    int rc = -1;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errf(err, nerr, "%s", strerror(errno));
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    size_t shstrndx;
    Elf_Scn *symscn = NULL;
    GElf_Shdr symsh;
    if (!e || elf_getshdrstrndx(e, &shstrndx) != 0) {
        errf(err, nerr, "not an ELF object: %s", elf_errmsg(-1));
        goto out;
    }
    for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
        GElf_Shdr sh;
        if (gelf_getshdr(s, &sh) && sh.sh_type == SHT_SYMTAB) {
            symscn = s;
            symsh = sh;
        }
    }
    if (!symscn) {
        errf(err, nerr, "no symbol table");
        goto out;
    }
    Elf_Data *syms = elf_getdata(symscn, NULL);
    size_t nsyms = symsh.sh_entsize ? symsh.sh_size / symsh.sh_entsize : 0;
    for (uint32_t pi = 0; pi < l->nprogs; pi++) {
        struct bpfload_prog *p = &l->progs[pi];
        struct bpf_insn *insns = (struct bpf_insn *)p->insns;
        size_t secidx = 0;
        uint64_t first = 0;
        bool found = false;
        for (size_t k = 0; k < nsyms && !found; k++) {
            GElf_Sym sym;
            GElf_Shdr psh;
            if (!gelf_getsym(syms, (int)k, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
                continue;
            const char *nm = elf_strptr(e, symsh.sh_link, sym.st_name);
            Elf_Scn *ps = elf_getscn(e, sym.st_shndx);
            if (!nm || strcmp(nm, p->name) != 0 || !ps || !gelf_getshdr(ps, &psh))
                continue;
            const char *sn = elf_strptr(e, shstrndx, psh.sh_name);
            if (sn && strcmp(sn, p->section) == 0) {
                secidx = sym.st_shndx;
                first = sym.st_value / sizeof(struct bpf_insn);
                found = true;
            }
        }
        if (!found) {
            errf(err, nerr, "program '%s': no symbol in section '%s'", p->name, p->section);
            goto out;
        }
        for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
            GElf_Shdr sh;
            if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_REL || sh.sh_info != secidx)
                continue;
            Elf_Data *rd = elf_getdata(s, NULL);
            size_t nrel = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t r = 0; r < nrel; r++) {
                GElf_Rel rel;
                GElf_Sym sym;
                GElf_Shdr tsh;
                if (!gelf_getrel(rd, (int)r, &rel) || !gelf_getsym(syms, (int)GELF_R_SYM(rel.r_info), &sym))
                    continue;
                uint64_t at = rel.r_offset / sizeof(struct bpf_insn);
                if (at < first || at >= first + p->len)
                    continue;
                struct bpf_insn *in = &insns[at - first];
                const char *nm = elf_strptr(e, symsh.sh_link, sym.st_name);
                Elf_Scn *ts = elf_getscn(e, sym.st_shndx);
                const char *tsec = ts && gelf_getshdr(ts, &tsh) ? elf_strptr(e, shstrndx, tsh.sh_name) : NULL;
                if (in->code == (BPF_JMP | BPF_CALL))
                    continue; /* a call to a BPF function: the verifier refuses it */
                if (in->code != (BPF_LD | BPF_IMM | BPF_DW) || !tsec || at - first + 1 >= p->len) {
                    errf(err, nerr, "section %s insn %llu: unsupported relocation", p->section,
                         (unsigned long long)(at - first));
                    goto out;
                }
                int mi;
                if (strcmp(tsec, ".maps") == 0) {
                    mi = nm ? map_index(l, nm) : -1;
                    if (mi < 0) {
                        errf(err, nerr, "section %s insn %llu: relocation against unknown map '%s'", p->section,
                             (unsigned long long)(at - first), nm ? nm : "?");
                        goto out;
                    }
                    in->src_reg = BPF_PSEUDO_MAP_FD;
                    in->imm = mi;
                } else {
                    mi = data_map_index(l, tsec);
                    if (mi < 0) {
                        errf(err, nerr, "section %s insn %llu: relocation against section '%s' with no map",
                             p->section, (unsigned long long)(at - first), tsec);
                        goto out;
                    }
                    uint64_t off = (uint64_t)(uint32_t)in->imm +
                                   (GELF_ST_TYPE(sym.st_info) == STT_SECTION ? 0 : sym.st_value);
                    in->src_reg = BPF_PSEUDO_MAP_VALUE;
                    in->imm = mi;
                    in[1].imm = (int32_t)off;
                }
            }
        }
    }
    rc = 0;
out:
    if (e)
        elf_end(e);
    close(fd);
    return rc;
}

int bpfload_open(struct bpfload *l, const char *path, char *err, size_t nerr)
{
    memset(l, 0, sizeof *l);
    if (access(path, R_OK) != 0)
        return errf(err, nerr, "%s", strerror(errno));
    libbpf_set_print(libbpf_print);
    libbpf_msg[0] = 0;
    struct bpf_object *bo = bpf_object__open_file(path, NULL);
    if (!bo) {
        int e = errno;
        char why[128];
        libbpf_strerror(e, why, sizeof why);
        return errf(err, nerr, "not a BPF object (%s%s%s)", why, libbpf_msg[0] ? "; " : "", libbpf_msg);
    }
    l->bo = bo;
    struct bpf_map *m;
    bpf_object__for_each_map(m, bo) {
        if (l->nmaps == BPFLOAD_MAX_MAPS)
            return errf(err, nerr, "more than %d maps", BPFLOAD_MAX_MAPS);
        struct bpfload_map *d = &l->maps[l->nmaps++];
        d->name = bpf_map__name(m);
        d->type = bpf_map__type(m);
        d->key_size = bpf_map__key_size(m);
        d->value_size = bpf_map__value_size(m);
        d->max_entries = bpf_map__max_entries(m);
        d->init = bpf_map__initial_value(m, &d->init_size);
    }
    struct bpf_program *bp;
    bpf_object__for_each_program(bp, bo) l->nprogs++;
    if (l->nprogs == 0)
        return errf(err, nerr, "no programs in the object");
    l->progs = calloc(l->nprogs, sizeof *l->progs);
    uint32_t k = 0;
    bpf_object__for_each_program(bp, bo) {
        struct bpfload_prog *p = &l->progs[k++];
        p->name = strdup(bpf_program__name(bp));
        p->section = strdup(bpf_program__section_name(bp));
        p->len = (uint32_t)bpf_program__insn_cnt(bp);
        p->insns = malloc((p->len ? p->len : 1) * sizeof *p->insns);
        memcpy(p->insns, bpf_program__insns(bp), p->len * sizeof *p->insns);
    }
    return relocate(l, path, err, nerr);
}

void bpfload_close(struct bpfload *l)
{
    for (uint32_t i = 0; i < l->nprogs; i++) {
        free(l->progs[i].name);
        free(l->progs[i].section);
        free(l->progs[i].insns);
    }
    free(l->progs);
    if (l->bo)
        bpf_object__close(l->bo);
    memset(l, 0, sizeof *l);
}
