/* libFuzzer target for the scenario config layer: any bytes, loaded as YAML,
 * validated against a small schema, hashed and dumped. The dump must load
 * again and hash the same; nothing may crash, leak or hang. The same bytes
 * are also applied as one --set assignment to an empty config.
 * Seeds: tests/fuzz/corpus/scenario/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/params.h"

static const char *const kChoices[] = {"fifo", "rr", "cfs", NULL};

static const struct orr_param kSchema[] = {
    {"name", ORR_P_STRING, "x", ORR_PF_NONEMPTY, "name", NULL, 0, 0},
    {"enabled", ORR_P_BOOL, "false", 0, "flag", NULL, 0, 0},
    {"count", ORR_P_UINT, "1", 0, "count", NULL, 1, 1000},
    {"offset", ORR_P_INT, "0", 0, "offset", NULL, 0, 0},
    {"interval", ORR_P_TIME, "10ns", ORR_PF_POSITIVE, "interval", NULL, 0, 0},
    {"latency", ORR_P_CYCLES, "5cy", 0, "latency", NULL, 0, 0},
    {"freq", ORR_P_FREQ, "3.2GHz", 0, "freq", NULL, 1000, 10000000000ull},
    {"size", ORR_P_SIZE, "48KiB", 0, "size", NULL, 0, 0},
    {"bw", ORR_P_BW, "200Gbps", 0, "bw", NULL, 0, 0},
    {"policy", ORR_P_ENUM, "cfs", 0, "policy", kChoices, 0, 0},
    {"tags", ORR_P_LIST, "[a, b]", 0, "tags", NULL, 0, 0},
    {"opts", ORR_P_MAP, "{}", 0, "opts", NULL, 0, 0},
    {"items", ORR_P_SEQ, "[]", 0, "items", NULL, 0, 0},
    {NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

/* Validate root and each mapping directly under it. */
static void validate(const struct orr_node *root, struct orr_diag *d)
{
    static const char *const skip[] = {"type", NULL};
    struct orr_params p;
    orr_params_parse(kSchema, root, "", skip, &p, d);
    orr_params_free(&p);
    for (size_t i = 0; i < root->n; i++) {
        orr_params_parse(kSchema, root->aItem[i], root->aKey[i], skip, &p, d);
        orr_params_free(&p);
    }
}

static void render(const struct orr_diag *d)
{
    char buf[256];
    for (size_t i = 0; i < d->nMsg; i++)
        orr_diag_format(&d->aMsg[i], buf, sizeof buf);
}

static void check_dump(const struct orr_node *root)
{
    uint64_t h = orr_config_hash(root);
    char *dump = orr_config_dump(root);
    if (!dump)
        abort(); /* every loaded tree must be dumpable */
    struct orr_config again;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_config_load_string(&again, "dump", dump, strlen(dump), NULL, &d);
    if (rc != 0 || orr_config_hash(again.root) != h) {
        fprintf(stderr, "dump does not round-trip (rc %d):\n%s\n", rc, dump);
        orr_diag_print(&d, stderr);
        abort();
    }
    orr_config_free(&again);
    orr_diag_free(&d);
    free(dump);
}

/* The bytes as "key.path=value" on an empty config. */
static void check_set(const uint8_t *data, size_t size)
{
    char *arg = malloc(size + 1);
    if (!arg)
        return;
    memcpy(arg, data, size);
    arg[size] = '\0';
    struct orr_config cfg = {0};
    struct orr_diag d;
    orr_diag_init(&d);
    if (orr_config_set(&cfg, arg, &d) == 0) {
        validate(cfg.root, &d);
        check_dump(cfg.root);
    } else if (orr_diag_count(&d) == 0) {
        abort();
    }
    render(&d);
    orr_config_free(&cfg);
    orr_diag_free(&d);
    free(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct orr_config cfg;
    struct orr_diag d;
    orr_diag_init(&d);
    if (orr_config_load_string(&cfg, "fuzz.yaml", (const char *)data, size, NULL, &d) == 0) {
        validate(cfg.root, &d);
        check_dump(cfg.root);
    } else if (cfg.root || cfg.arena || orr_diag_count(&d) == 0) {
        abort(); /* a failed load says why and leaves cfg empty */
    }
    render(&d);
    orr_config_free(&cfg);
    orr_diag_free(&d);
    check_set(data, size);
    return 0;
}
