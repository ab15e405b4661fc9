/* Reading ELF BPF objects for `orrery bpf` (cmd_bpf.c) with libbpf and
 * libelf. Kept apart from kernel/bpf.h, whose names are Linux's and so
 * collide with <linux/bpf.h> that libbpf brings in. */
#ifndef ORRERY_CLI_BPF_LOAD_H
#define ORRERY_CLI_BPF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#define BPFLOAD_MAX_MAPS 64

struct bpfload_map {
    const char *name;
    uint32_t type, key_size, value_size, max_entries;
    const void *init; /* global-data maps: initial bytes */
    size_t init_size;
};

struct bpfload_prog {
    char *name, *section;
    uint64_t *insns; /* 8-byte eBPF instructions, relocated: map references
                        are LD_IMM64 src=1 imm=map index, global data
                        src=2 imm=map index, next imm=offset */
    uint32_t len;
};

struct bpfload {
    void *bo; /* struct bpf_object */
    uint32_t nmaps, nprogs;
    struct bpfload_map maps[BPFLOAD_MAX_MAPS];
    struct bpfload_prog *progs;
};

/* 0, or -1 with a one-line reason in err (not a BPF object, no programs,
 * too many maps, an unsupported relocation). */
int bpfload_open(struct bpfload *l, const char *path, char *err, size_t nerr);
void bpfload_close(struct bpfload *l);

#endif
