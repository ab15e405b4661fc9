/* Cache arrays (replacement policies, vetoes, geometry) and the shape of
 * the shipped coherence protocol tables. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/array.h"
#include "hw/pcache.h"
#include "hw/protocol.h"

#define L(n) ((uint64_t)(n) * 64 * 4) /* line n of set 0 in a 4-set array */

static void fill_set(struct cache_array *a, unsigned ways)
{
    for (unsigned w = 0; w < ways; w++) {
        int64_t f = cache_array_victim(a, L(w), NULL, NULL, NULL);
        assert_true(f >= 0);
        assert_false(a->aValid[f]); /* a free frame comes first */
        cache_array_fill(a, (uint32_t)f, L(w));
    }
}

static uint32_t frame(struct cache_array *a, unsigned n)
{
    int64_t f = cache_array_find(a, L(n));
    assert_true(f >= 0);
    return (uint32_t)f;
}

static void test_lru(void **state)
{
    (void)state;
    struct cache_array a;
    assert_int_equal(cache_array_init(&a, 4, 4, REPL_LRU), 0);
    fill_set(&a, 4);
    cache_array_touch(&a, frame(&a, 0));
    cache_array_touch(&a, frame(&a, 1));
    cache_array_touch(&a, frame(&a, 3));
    assert_int_equal(a.aTag[cache_array_victim(&a, L(9), NULL, NULL, NULL)], L(2));
    cache_array_touch(&a, frame(&a, 2));
    assert_int_equal(a.aTag[cache_array_victim(&a, L(9), NULL, NULL, NULL)], L(0));
    /* other sets are untouched */
    assert_int_equal(cache_array_find(&a, 64), -1);
    cache_array_free(&a);
}

/* Tree-PLRU on 4 ways: after touching 0, 1, 2, 3 in order, the tree points
 * at way 0's half and then way 0; touching 0 moves the victim to way 2. */
static void test_plru(void **state)
{
    (void)state;
    struct cache_array a;
    assert_int_equal(cache_array_init(&a, 4, 4, REPL_PLRU), 0);
    fill_set(&a, 4);
    int64_t v = cache_array_victim(&a, L(9), NULL, NULL, NULL);
    assert_int_equal(a.aTag[v], L(0));
    cache_array_touch(&a, frame(&a, 0));
    v = cache_array_victim(&a, L(9), NULL, NULL, NULL);
    assert_int_equal(a.aTag[v], L(2));
    /* PLRU needs a power-of-two number of ways */
    struct cache_array b;
    assert_int_not_equal(cache_array_init(&b, 4, 3, REPL_PLRU), 0);
    cache_array_free(&a);
}

static bool not_way(void *arg, uint32_t f) { return f != *(uint32_t *)arg; }
static bool none(void *arg, uint32_t f) { (void)arg, (void)f; return false; }

static void test_veto_and_random(void **state)
{
    (void)state;
    struct cache_array a;
    assert_int_equal(cache_array_init(&a, 4, 4, REPL_LRU), 0);
    fill_set(&a, 4);
    uint32_t lru = (uint32_t)cache_array_victim(&a, L(9), NULL, NULL, NULL);
    int64_t v = cache_array_victim(&a, L(9), NULL, not_way, &lru);
    assert_true(v >= 0 && (uint32_t)v != lru);
    assert_int_equal(cache_array_victim(&a, L(9), NULL, none, NULL), -1);
    cache_array_free(&a);

    /* random: seeded, so reproducible, and spread over the ways */
    unsigned hits[4] = {0};
    for (int run = 0; run < 2; run++) {
        struct orr_rng r;
        orr_rng_seed(&r, 7, "cache");
        assert_int_equal(cache_array_init(&a, 4, 4, REPL_RANDOM), 0);
        fill_set(&a, 4);
        for (int i = 0; i < 400; i++) {
            int64_t f = cache_array_victim(&a, L(9), &r, NULL, NULL);
            if (run == 0)
                hits[f % 4]++;
            else
                assert_true(f >= 0);
        }
        cache_array_free(&a);
    }
    for (int w = 0; w < 4; w++)
        assert_in_range(hits[w], 60, 140);
}

static void test_geometry(void **state)
{
    (void)state;
    uint32_t sets = 0;
    assert_true(pcache_geometry_ok(48 * 1024, 12, &sets));
    assert_int_equal(sets, 64);
    assert_true(pcache_geometry_ok(1280 * 1024, 20, &sets));
    assert_int_equal(sets, 1024);
    assert_false(pcache_geometry_ok(40 * 1024, 8, NULL));  /* 80 sets */
    assert_false(pcache_geometry_ok(1000, 2, NULL));       /* not whole lines */
    assert_false(pcache_geometry_ok(64, 0, NULL));
}

/* Every protocol: stable states answer both probes (a probe may find any
 * line), grants only land in request states, nothing uses E in MSI, O only
 * in MOESI, and every non-stall cell names a next state whose permission
 * the action allows (a hit needs read or write permission). */
static void test_protocol_shape(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; coh_protocols[i]; i++, n++) {
        const struct coh_protocol *p = coh_protocols[i];
        assert_ptr_equal(coh_protocol_find(p->name), p);
        for (int s = 0; s < CS_NSTATE; s++) {
            bool used = p->has_e || s != CS_E;
            used = used && (p->has_o || (s != CS_O && s != CS_OM_D));
            for (int e = 0; e < CE_NEVENT; e++) {
                const struct coh_cell *c = &p->cache[s][e];
                if (!used) {
                    assert_true(c->actions == 0 || (c->actions & CA_ERROR));
                    continue;
                }
                if (coh_states[s].stable && (e == CE_PROBE_S || e == CE_PROBE_M))
                    assert_true(c->actions & (CA_ACK | CA_ACK_DATA));
                if (c->actions & CA_HIT_W)
                    assert_int_equal(coh_states[c->next].perm, 2);
                if ((c->actions & CA_HIT_R) && !(c->actions & CA_STALL))
                    assert_true(coh_states[c->next].perm >= 1);
                if (e >= CE_DATA_S && e <= CE_DATA_M && c->actions && !(c->actions & CA_ERROR))
                    assert_true(s == CS_IS_D || s == CS_IM_D || s == CS_SM_D || s == CS_OM_D);
                if (!p->has_e && c->actions && !(c->actions & CA_STALL))
                    assert_int_not_equal(c->next, CS_E);
            }
        }
        /* the dump names every defined cell */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        coh_protocol_dump(p, f);
        fclose(f);
        assert_non_null(strstr(buf, "M PROBE_M -> ACK_DATA|DEALLOC I"));
        assert_true((strstr(buf, "M PROBE_S -> ACK_DATA O") != NULL) == p->has_o);
        free(buf);
    }
    assert_int_equal(n, 6);
    assert_null(coh_protocol_find("mosi"));
}

static void test_mutation(void **state)
{
    (void)state;
    const struct coh_protocol *p = coh_protocol_find("mesi-dir");
    const struct coh_mutation *m = coh_mutation_find("ignore-inv");
    assert_non_null(m);
    struct coh_protocol *q = coh_protocol_mutate(p, m);
    assert_int_equal(q->cache[CS_S][CE_PROBE_M].next, CS_S);
    assert_int_equal(p->cache[CS_S][CE_PROBE_M].next, CS_I); /* the original is untouched */
    free(q);
    m = coh_mutation_find("skip-sharers");
    q = coh_protocol_mutate(p, m);
    assert_int_equal(q->home[HD_S][HR_GETM].probe, HP_NONE);
    free(q);
    assert_null(coh_mutation_find("nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_plru),
        cmocka_unit_test(test_veto_and_random),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_protocol_shape),
        cmocka_unit_test(test_mutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
