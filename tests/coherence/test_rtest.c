/* The coherence random tester and the mutation check.
 *
 * For every shipped protocol, rtest-snoop.yaml (one socket: snooping and
 * directory variants) or rtest-dir.yaml (two sockets: directory variants)
 * runs across many seeds. Each run must finish its workloads (no hang, no
 * deadlock report) with the coherence monitor silent: every load saw the
 * latest store and no line ever had a writer beside another holder.
 *
 * Then every injected bug (coh_mutations[]) must be caught, for every
 * protocol it applies to, within MUTATION_SEEDS seeds: proof that the
 * checks above can fail. Prefetchers (the scenarios' prefetch lists) are on
 * for half the seeds: prefetches are ordinary coherence requests and must
 * keep every check silent too. ORRERY_RTEST_SEEDS sets the seed count (default
 * 200 per protocol). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/protocol.h"
#include "hw/registry.h"
#include "orrery/scenario.h"

#define MUTATION_SEEDS 40

struct outcome {
    enum orr_stop_reason why;
    char failure[160];
};

static const char *src(void)
{
    const char *s = getenv("ORRERY_SOURCE_DIR");
    return s ? s : ".";
}

static struct outcome run_one(const char *protocol, const char *mutation, uint64_t seed)
{
    bool snoop = strstr(protocol, "snoop") != NULL;
    /* directory variants alternate between the one- and two-socket setups */
    char path[1024], set_p[64], set_m[64], set_f[64];
    snprintf(path, sizeof path, "%s/tests/coherence/%s", src(),
             snoop || seed % 2 ? "rtest-snoop.yaml" : "rtest-dir.yaml");
    snprintf(set_p, sizeof set_p, "machine.protocol=%s", protocol);
    snprintf(set_m, sizeof set_m, "machine.mutation=%s", mutation ? mutation : "");
    snprintf(set_f, sizeof set_f, "machine.prefetchers=%s", seed / 2 % 2 ? "true" : "false");
    const char *sets[] = {set_p, set_m, set_f};
    struct orr_scenario sc;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_scenario_open(&sc, path, sets, 3, &seed, orr_builtin_types, &d);
    if (rc) {
        orr_diag_print(&d, stderr);
        fail_msg("%s does not load", path);
    }
    struct orr_run_hooks hooks = {0};
    struct outcome o = {orr_sim_run(sc.sim, &hooks), ""};
    const char *f = orr_sim_failure(sc.sim);
    if (f)
        snprintf(o.failure, sizeof o.failure, "%s", f);
    orr_scenario_close(&sc);
    orr_diag_free(&d);
    return o;
}

static unsigned seeds(void)
{
    const char *s = getenv("ORRERY_RTEST_SEEDS");
    return s && atoi(s) > 0 ? (unsigned)atoi(s) : 200;
}

static void test_protocols_hold(void **state)
{
    (void)state;
    unsigned n = seeds();
    for (size_t i = 0; coh_protocols[i]; i++) {
        const char *p = coh_protocols[i]->name;
        for (uint64_t seed = 1; seed <= n; seed++) {
            struct outcome o = run_one(p, NULL, seed);
            if (o.why != ORR_STOP_WORKLOADS) {
                fprintf(stderr, "%s seed %llu: stopped by %s: %s\n", p, (unsigned long long)seed,
                        orr_stop_reason_name(o.why), o.failure);
                fail();
            }
        }
        printf("  %-12s %u seeds: every run finished, no violation\n", p, n);
    }
}

static void test_mutations_caught(void **state)
{
    (void)state;
    for (size_t m = 0; coh_mutations[m].name; m++) {
        const struct coh_mutation *mu = &coh_mutations[m];
        for (size_t i = 0; coh_protocols[i]; i++) {
            const struct coh_protocol *p = coh_protocols[i];
            if (mu->dir_only && p->variant != COH_DIR)
                continue;
            uint64_t seed;
            struct outcome o = {0};
            for (seed = 1; seed <= MUTATION_SEEDS; seed++) {
                o = run_one(p->name, mu->name, seed);
                if (o.why == ORR_STOP_FAILED)
                    break;
            }
            if (seed > MUTATION_SEEDS) {
                fprintf(stderr, "mutation %s on %s survived %d seeds\n", mu->name, p->name,
                        MUTATION_SEEDS);
                fail();
            }
            char what[48];
            snprintf(what, sizeof what, "%s", strstr(o.failure, "deadlock") ? "deadlock"
                                              : strstr(o.failure, "writer") ? "single writer"
                                              : strstr(o.failure, "loaded") ? "data value"
                                                                            : "protocol check");
            printf("  %-15s %-12s caught at seed %2llu by the %s check\n", mu->name, p->name,
                   (unsigned long long)seed, what);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocols_hold),
        cmocka_unit_test(test_mutations_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
