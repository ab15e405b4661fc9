/* PHOLD on the Orrery engine: N logical processes; each event schedules
 * exactly one new event at a uniformly random LP after 1 + (r % 1024) ns,
 * so the pending population stays at its initial size P. Prints
 *   PHOLD_ORRERY lps=N pending=P events=E wall_s=.. events_per_s=.. bytes_per_pending=..
 * bytes_per_pending is the event queue's allocated bytes (capacity x event
 * size) divided by P, measured while the population is steady. The trace
 * digest is computed as in every run (it cannot be switched off). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orrery/sim.h"

struct lp {
    uint32_t nLp;
    uint32_t initial; /* events this LP seeds at start */
};

static int lp_start(struct orr_component *c, struct orr_diag *d)
{
    struct lp *l = c->state;
    (void)d;
    for (uint32_t i = 0; i < l->initial; i++)
        orr_sim_post(c, c->id, ORR_NS * (1 + (orr_rng_next(&c->rng) % 1024)), 0, 0, 0);
    return 0;
}

static void lp_handle(struct orr_component *c, const struct orr_event *ev)
{
    struct lp *l = c->state;
    (void)ev;
    uint32_t dst = (uint32_t)orr_rng_below(&c->rng, l->nLp);
    orr_sim_post(c, dst, ORR_NS * (1 + (orr_rng_next(&c->rng) % 1024)), 0, 0, 0);
}

static const struct orr_param no_params[] = {{NULL}};
static const struct orr_port_doc no_ports[] = {{NULL}};

static const struct orr_component_type phold_lp = {
    .name = "phold_lp",
    .summary = "PHOLD logical process (benchmark only)",
    .params = no_params,
    .ports = no_ports,
    .state_size = sizeof(struct lp),
    .start = lp_start,
    .handle = lp_handle,
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t arg_u64(const char *s, const char *name)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0) {
        fprintf(stderr, "phold_orrery: %s expects a positive integer, got '%s'\n", name, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    uint64_t nLp = 0, pending = 0, events = 0, seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--lps"))
            nLp = arg_u64(argv[i + 1], "--lps");
        else if (!strcmp(argv[i], "--pending"))
            pending = arg_u64(argv[i + 1], "--pending");
        else if (!strcmp(argv[i], "--events"))
            events = arg_u64(argv[i + 1], "--events");
        else if (!strcmp(argv[i], "--seed"))
            seed = arg_u64(argv[i + 1], "--seed");
        else
            break;
    }
    if (!nLp || !pending || !events || nLp > pending) {
        fprintf(stderr, "usage: phold_orrery --lps N --pending P --events E [--seed S] "
                        "(N <= P)\n");
        return 2;
    }
    struct orr_sim *s;
    struct orr_sim_options opt = {.seed = seed, .stop_events = events};
    struct orr_diag d;
    orr_diag_init(&d);
    if (orr_sim_create(&s, &opt))
        return 1;
    for (uint64_t i = 0; i < nLp; i++) {
        char path[32];
        struct orr_component *c;
        snprintf(path, sizeof path, "lp%" PRIu64, i);
        if (orr_sim_add_component(s, &phold_lp, path, NULL, path, &d, &c)) {
            orr_diag_print(&d, stderr);
            return 1;
        }
        struct lp *l = c->state;
        l->nLp = (uint32_t)nLp;
        l->initial = (uint32_t)(pending / nLp + (i < pending % nLp));
    }
    if (orr_sim_start(s, &d))
        return 1;
    double t0 = now_s();
    orr_sim_run(s, NULL);
    double wall = now_s() - t0;
    if (orr_sim_events(s) != events || orr_sim_pending(s) != pending) {
        fprintf(stderr, "phold_orrery: ran %" PRIu64 " events with %" PRIu64 " pending\n",
                orr_sim_events(s), orr_sim_pending(s));
        return 1;
    }
    size_t qbytes = orr_sim_queue_bytes(s);
    printf("PHOLD_ORRERY lps=%" PRIu64 " pending=%" PRIu64 " events=%" PRIu64
           " wall_s=%.4f events_per_s=%.0f bytes_per_pending=%.1f\n",
           nLp, pending, events, wall, (double)events / wall, (double)qbytes / (double)pending);
    fprintf(stderr, "phold_orrery: sim time %" PRIu64 " ps, digest %016" PRIx64 "\n", orr_now(s),
            orr_sim_digest(s));
    orr_sim_destroy(s);
    orr_diag_free(&d);
    return 0;
}
