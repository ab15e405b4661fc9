/* Explore schedules (model/explore.c): drawing is a function of the seed
 * alone; one rule's firings do not move when another rule is added; the
 * firing counts follow the declared rate and chance (expectations derived
 * from the definitions: a Poisson process of mean H / m firings in [0, H),
 * capped; a Bernoulli trial per period); every drawn schedule and every
 * shrink candidate is drawable, and candidates are strictly simpler. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw/registry.h"
#include "orrery/explore.h"
#include "orrery/scenario.h"
#include "testutil.h"

/* Four hosts on one star fabric (a switch with ports p0..p3), with an
 * explore section given as text. */
static const char base[] =
    "name: t\n"
    "seed: 1\n"
    "stop: {duration: 10ms, workloads_done: false}\n"
    "cluster:\n"
    "  nodes: 4\n"
    "  node:\n"
    "    components:\n"
    "      rnic: {type: rnic}\n"
    "      ar: {type: allreduce, algorithm: ring, size: 16KiB, chunk: 4KiB}\n"
    "    links:\n"
    "      - {from: ar.rnic, to: rnic.host, latency: 300ns}\n"
    "    net: rnic.net\n"
    "  fabric: {topology: star}\n";

static void open_with(struct orr_scenario *sc, const char *name, const char *explore)
{
    char path[512];
    tmpdir_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%sexplore:\n%s", base, explore);
    fclose(f);
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_scenario_open(sc, strdup(path), NULL, 0, NULL, orr_builtin_types, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    assert_non_null(sc->explore);
    orr_diag_free(&d);
}

static void close_sc(struct orr_scenario *sc)
{
    char *p = (char *)sc->path;
    orr_scenario_close(sc);
    free(p);
}

static const char rule_loss[] =
    "  faults:\n"
    "    - {component: \"fabric.*\", fault: loss, mean_interval: 1ms, max: 64,\n"
    "       duration: \"1us..5us\", params: {probability: \"0.1..0.2\"}}\n";
static const char rule_die[] =
    "    - {component: \"node*.rnic\", fault: die, probability: \"0.25\", period: 1ms, max: 64}\n";

static bool same_firing(const struct orr_firing *a, const struct orr_firing *b)
{
    return a->at == b->at && a->duration == b->duration && a->comp == b->comp &&
           memcmp(a->val, b->val, sizeof a->val) == 0;
}

/* The same seed draws the same schedule; other seeds draw other ones. */
static void test_draw_is_a_function_of_the_seed(void **state)
{
    (void)state;
    struct orr_scenario sc;
    open_with(&sc, "a.yaml", rule_loss);
    struct orr_schedule a, b, c;
    orr_explore_draw(sc.explore, sc.sim, 7, &a);
    orr_explore_draw(sc.explore, sc.sim, 7, &b);
    orr_explore_draw(sc.explore, sc.sim, 8, &c);
    assert_true(a.n > 0);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_true(same_firing(&a.a[i], &b.a[i]));
    bool differ = a.n != c.n;
    for (size_t i = 0; !differ && i < a.n; i++)
        differ = !same_firing(&a.a[i], &c.a[i]);
    assert_true(differ);
    orr_schedule_free(&a);
    orr_schedule_free(&b);
    orr_schedule_free(&c);
    close_sc(&sc);
}

/* Adding a rule for other components, before it, leaves a rule's firings
 * exactly as they were (each (component, fault) has its own stream). */
static void test_rules_do_not_shift_each_other(void **state)
{
    (void)state;
    struct orr_scenario one, two;
    char both[512];
    /* the die rule first: rule 0 in two, the loss rule rule 1 */
    snprintf(both, sizeof both, "  faults:\n%s%s", rule_die, strchr(rule_loss, '-') - 4);
    open_with(&one, "one.yaml", rule_loss);
    open_with(&two, "two.yaml", both);
    size_t nDie = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct orr_schedule a, b;
        orr_explore_draw(one.explore, one.sim, seed, &a);
        orr_explore_draw(two.explore, two.sim, seed, &b);
        size_t j = 0;
        for (size_t i = 0; i < b.n; i++) {
            if (b.a[i].rule == 0) {
                nDie++;
                continue;
            }
            assert_true(j < a.n);
            assert_true(same_firing(&a.a[j], &b.a[i]));
            j++;
        }
        assert_int_equal(j, a.n);
        orr_schedule_free(&a);
        orr_schedule_free(&b);
    }
    assert_true(nDie > 0);
    close_sc(&one);
    close_sc(&two);
}

/* Firing counts: a rate of one per 1 ms over a 10 ms horizon fires 10
 * times per seed on average (Poisson; max 64 is never near); a chance of
 * 0.25 at each of the 9 opportunities 1ms..9ms fires 2.25 times. Over
 * 2000 seeds the means are within 3 % (the standard errors are 0.07 and
 * 0.029). */
static void test_counts_follow_rate_and_chance(void **state)
{
    (void)state;
    struct orr_scenario sc;
    char both[512];
    snprintf(both, sizeof both, "%s%s", rule_loss, rule_die);
    open_with(&sc, "rates.yaml", both);
    const unsigned seeds = 2000;
    uint64_t nLoss = 0, nDie = 0, nNodes = 4;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        struct orr_schedule s;
        orr_explore_draw(sc.explore, sc.sim, seed, &s);
        for (size_t i = 0; i < s.n; i++) {
            const struct orr_firing *f = &s.a[i];
            if (f->rule == 0) {
                nLoss++;
                assert_true(f->at < 10 * ORR_MS);
                assert_true(f->duration >= ORR_US && f->duration <= 5 * ORR_US);
                assert_true(f->val[1] >= 100000 && f->val[1] <= 200000); /* ppm */
            } else {
                nDie++;
                assert_int_equal(f->at % ORR_MS, 0);
                assert_int_equal(f->duration, 0);
            }
        }
        assert_true(orr_explore_drawable(sc.explore, sc.sim, &s));
        orr_schedule_free(&s);
    }
    double loss = (double)nLoss / seeds, die = (double)nDie / seeds / (double)nNodes;
    assert_true(loss > 10 * 0.97 && loss < 10 * 1.03);
    assert_true(die > 2.25 * 0.97 && die < 2.25 * 1.03);
    close_sc(&sc);
}

/* Every shrink candidate is drawable, differs from its schedule, and is
 * simpler: fewer firings, or the same firings with no time earlier, no
 * duration longer, no drawn value larger. */
static void test_shrink_candidates_are_drawable_and_simpler(void **state)
{
    (void)state;
    struct orr_scenario sc;
    char both[512];
    snprintf(both, sizeof both, "%s%s", rule_loss, rule_die);
    open_with(&sc, "shrink.yaml", both);
    size_t total = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct orr_schedule s, c;
        orr_explore_draw(sc.explore, sc.sim, seed, &s);
        size_t k = 0;
        while (orr_explore_shrink_step(sc.explore, sc.sim, &s, k, &c)) {
            assert_true(orr_explore_drawable(sc.explore, sc.sim, &c));
            if (c.n == s.n) {
                uint64_t sum_s = 0, sum_c = 0; /* a time, duration or value moved one way */
                bool changed = false;
                for (size_t i = 0; i < s.n; i++)
                    changed |= !same_firing(&s.a[i], &c.a[i]);
                assert_true(changed);
                for (size_t i = 0; i < s.n; i++) {
                    sum_s += s.a[i].duration + s.a[i].val[0] + s.a[i].val[1];
                    sum_c += c.a[i].duration + c.a[i].val[0] + c.a[i].val[1];
                }
                uint64_t at_s = 0, at_c = 0;
                for (size_t i = 0; i < s.n; i++)
                    at_s += s.a[i].at, at_c += c.a[i].at;
                assert_true(sum_c < sum_s || (sum_c == sum_s && at_c > at_s));
            } else {
                assert_int_equal(c.n, s.n - 1);
            }
            orr_schedule_free(&c);
            k++;
        }
        assert_true(k >= s.n); /* at least every deletion */
        total += k;
        orr_schedule_free(&s);
    }
    assert_true(total > 0);
    close_sc(&sc);
}

/* A schedule the generator could not draw is refused. */
static void test_drawable_refuses_out_of_bounds(void **state)
{
    (void)state;
    struct orr_scenario sc;
    open_with(&sc, "bounds.yaml", rule_loss);
    struct orr_schedule s;
    uint64_t seed = 1;
    do
        orr_explore_draw(sc.explore, sc.sim, seed++, &s);
    while (s.n == 0 && (orr_schedule_free(&s), true));
    assert_true(orr_explore_drawable(sc.explore, sc.sim, &s));
    struct orr_firing keep = s.a[0];
    s.a[0].duration = 6 * ORR_US; /* above "1us..5us" */
    assert_false(orr_explore_drawable(sc.explore, sc.sim, &s));
    s.a[0] = keep;
    s.a[0].val[1] = 300000; /* probability 0.3, above 0.2 */
    assert_false(orr_explore_drawable(sc.explore, sc.sim, &s));
    s.a[0] = keep;
    s.a[0].val[0] = 5; /* the star switch has ports 0..3 */
    assert_false(orr_explore_drawable(sc.explore, sc.sim, &s));
    s.a[0] = keep;
    s.a[0].at = 10 * ORR_MS; /* the horizon itself */
    assert_false(orr_explore_drawable(sc.explore, sc.sim, &s));
    orr_schedule_free(&s);
    close_sc(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draw_is_a_function_of_the_seed),
        cmocka_unit_test(test_rules_do_not_shift_each_other),
        cmocka_unit_test(test_counts_follow_rate_and_chance),
        cmocka_unit_test(test_shrink_candidates_are_drawable_and_simpler),
        cmocka_unit_test(test_drawable_refuses_out_of_bounds),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
