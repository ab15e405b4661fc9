/* Host cost of a line transaction through a tlm_target (docs/systemc.md):
 * a requester keeps `window` line requests in flight (random lines, one in
 * four a write) against a memory, through a 1 ns link, until `count` have
 * been answered. The memory is a tlm_target loading the example TLM memory
 * (DMI on or off) or, for reference, flatmem. Prints
 *   TLM_TXN memory=M txns=N wall_s=.. ns_per_txn=..
 * Each transaction is four events (request, the memory's response timer,
 * the response, and the requester's next request goes out in that handler)
 * plus the TLM access. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/registry.h"
#include "orrery/config.h"
#include "orrery/mem.h"
#include "orrery/sim.h"
#include "orrery/systemc.h"

extern const struct orr_component_type orr_flatmem_type; /* hw/mem/flatmem.c */

struct req {
    struct orr_port *out;
    uint64_t left, sent;
};

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc req_ports[] = {{"out", "line requests"}, {NULL}};
static uint64_t g_count = 1000000, g_window = 16; /* set once by main, before the sim */

static void issue(struct orr_component *c, struct req *r)
{
    uint64_t line = orr_rng_below(&c->rng, 1u << 20) * ORR_LINE_BYTES;
    struct orr_msg m = {.size = ORR_MEM_HDR_BYTES};
    if (r->sent++ % 4 == 3) {
        void *p;
        m.size += ORR_LINE_BYTES;
        m.data[0] = orr_mem_pack(line, ORR_MEM_WR, 0);
        m.data[1] = orr_blob_new(c->sim, ORR_LINE_BYTES, &p);
        memset(p, (int)r->sent, ORR_LINE_BYTES);
    } else {
        m.data[0] = orr_mem_pack(line, ORR_MEM_RD, 0);
    }
    orr_port_send(r->out, &m, 0);
}

static int req_create(struct orr_component *c, const struct orr_params *p, struct orr_diag *d)
{
    (void)p, (void)d;
    struct req *r = c->state;
    r->out = orr_port_add(c, "out");
    r->left = g_count;
    return 0;
}

static int req_start(struct orr_component *c, struct orr_diag *d)
{
    (void)d;
    for (uint64_t i = 0; i < g_window; i++)
        issue(c, c->state);
    return 0;
}

static void req_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct req *r = c->state;
    if (orr_mem_cmd(ev->data[0]) == ORR_MEM_RD_RESP)
        orr_blob_free(c->sim, ev->data[1]);
    if (--r->left >= g_window)
        issue(c, r);
}

static const struct orr_component_type req_type = {
    .name = "bench_requester", .summary = "line requests (benchmark only)", .params = no_params,
    .ports = req_ports, .state_size = sizeof(struct req), .create = req_create,
    .start = req_start, .handle = req_handle,
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *memory = "tlm", *library = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--memory"))
            memory = argv[i + 1];
        else if (!strcmp(argv[i], "--library"))
            library = argv[i + 1];
        else if (!strcmp(argv[i], "--count"))
            g_count = strtoull(argv[i + 1], NULL, 10);
    }
    char yaml[1024];
    bool flat = !strcmp(memory, "flat");
    if (flat)
        snprintf(yaml, sizeof yaml, "latency: 50ns\nsize: 1GiB\n");
    else
        snprintf(yaml, sizeof yaml, "library: %s\nsize: 1GiB\ndmi: %s\nconfig: {latency: 50ns, size: 1GiB}\n",
                 library ? library : "libtlm_memory.so", !strcmp(memory, "tlm-nodmi") ? "false" : "true");
    struct orr_diag d;
    struct orr_config cfg;
    struct orr_sim *s;
    struct orr_sim_options opt = {.seed = 1};
    orr_diag_init(&d);
    orr_systemc_cli_init();
    if (orr_config_load_string(&cfg, "bench", yaml, strlen(yaml), NULL, &d) ||
        orr_sim_create(&s, &opt) ||
        orr_sim_add_component(s, &req_type, "req", NULL, "req", &d, NULL) ||
        orr_sim_add_component(s, flat ? &orr_flatmem_type : &orr_tlm_target_type, "mem", cfg.root,
                              "mem", &d, NULL) ||
        orr_sim_link(s, "req.out", "mem.in0", ORR_NS, 0, NULL, &d) || orr_sim_start(s, &d)) {
        orr_diag_print(&d, stderr);
        return 2;
    }
    double t0 = now_s();
    orr_sim_run(s, NULL);
    double wall = now_s() - t0;
    printf("TLM_TXN memory=%s txns=%llu wall_s=%.3f ns_per_txn=%.1f\n", memory,
           (unsigned long long)g_count, wall, wall * 1e9 / (double)g_count);
    orr_sim_destroy(s);
    orr_config_free(&cfg);
    orr_diag_free(&d);
    return 0;
}
