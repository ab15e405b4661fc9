/* libFuzzer target for `extends:` graphs: the input is split at NUL bytes
 * into up to 8 files, f0.yaml ... f7.yaml, in a scratch folder, and f0.yaml
 * is loaded; the files may name each other (and themselves) any number of
 * times, in diamonds, cycles and fan-outs. Nothing may crash, leak or hang,
 * and the budgets must hold: with config_nodes set to 20000 a load either
 * fails or gives a tree of at most that many nodes. Seeds:
 * tests/fuzz/corpus/extends/. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/limits.h"

enum { MAX_FILES = 8, MAX_NODES = 20000 };

static char g_dir[64];

static size_t count_nodes(const struct orr_node *n)
{
    size_t c = 1;
    for (size_t i = 0; n->kind != ORR_NODE_SCALAR && i < n->n; i++)
        c += (n->kind == ORR_NODE_MAP) + count_nodes(n->aItem[i]);
    return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    strcpy(g_dir, "/tmp/orrery-fuzz-extends-XXXXXX");
    if (!mkdtemp(g_dir))
        abort();
    struct orr_limits l = *orr_limits();
    l.config_nodes = MAX_NODES;
    l.scenario_bytes = 1 << 20;
    orr_limits_set(&l);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    size_t start = 0;
    int nFile = 0;
    for (; nFile < MAX_FILES; nFile++) {
        const uint8_t *nul = start < size ? memchr(data + start, 0, size - start) : NULL;
        size_t end = nFile == MAX_FILES - 1 || !nul ? size : (size_t)(nul - data);
        snprintf(path, sizeof path, "%s/f%d.yaml", g_dir, nFile);
        FILE *f = fopen(path, "wb");
        if (!f)
            abort();
        if (end > start)
            fwrite(data + start, 1, end - start, f);
        fclose(f);
        start = end + 1;
        if (end >= size)
            break;
    }
    for (int i = nFile + 1; i < MAX_FILES; i++) { /* no file left from an earlier input */
        snprintf(path, sizeof path, "%s/f%d.yaml", g_dir, i);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/f0.yaml", g_dir);
    struct orr_config cfg;
    struct orr_diag d;
    orr_diag_init(&d);
    if (orr_config_load(&cfg, path, &d) == 0) {
        /* every map key counts as a node too, so this is at most the budget */
        if (count_nodes(cfg.root) > MAX_NODES)
            abort();
        char *dump = orr_config_dump(cfg.root);
        free(dump);
        orr_config_free(&cfg);
    }
    orr_diag_free(&d);
    return 0;
}
