/* Every component type's keys, walked: each key is declared once. A group
 * of keys several schemas accept is one table they include (params.h), so a
 * default cannot be declared twice and drift. Two checks, each with a
 * planted duplicate that it must catch:
 *
 *   1. across all schemas (types, their groups and their faults), two
 *      distinct declarations with the same name and the same help text are
 *      one key written twice; if their defaults (or types) differ, the
 *      copies have drifted apart. (Identical copies — a macro expanded in
 *      several tables — cannot drift and are left alone.)
 *   2. a builder and each type it instantiates (its `children`): a key of
 *      the same name and type in both must be the same declaration, unless
 *      the child's has no default (the builder always computes it) or the
 *      builder's has none. Two defaults are two declarations of one key,
 *      and the report says whether they already disagree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/registry.h"
#include "orrery/params.h"
#include "orrery/scenario.h"

/* ---- collecting declarations --------------------------------------------- */

struct decl {
    const struct orr_param *p;
    char where[160]; /* "tcore: l1d.size" */
};

struct decls {
    struct decl *a;
    size_t n, cap;
    const char *owner;
    char prefix[96];
};

static void collect(void *arg, const struct orr_param *p);

static void collect_schema(struct decls *ds, const char *owner, const char *prefix,
                           const struct orr_param *schema)
{
    char saved[96];
    const char *savedOwner = ds->owner;
    snprintf(saved, sizeof saved, "%s", ds->prefix);
    ds->owner = owner;
    snprintf(ds->prefix, sizeof ds->prefix, "%s", prefix);
    orr_schema_walk(schema, collect, ds);
    ds->owner = savedOwner;
    snprintf(ds->prefix, sizeof ds->prefix, "%s", saved);
}

static void collect(void *arg, const struct orr_param *p)
{
    struct decls *ds = arg;
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? 2 * ds->cap : 256;
        ds->a = realloc(ds->a, ds->cap * sizeof *ds->a);
        assert_non_null(ds->a);
    }
    struct decl *d = &ds->a[ds->n++];
    d->p = p;
    snprintf(d->where, sizeof d->where, "%.60s: %.40s%.40s", ds->owner, ds->prefix, p->name);
    if (p->type == ORR_P_GROUP || p->type == ORR_P_GROUPS) {
        char prefix[sizeof ds->prefix];
        /* a nested key's path, cut if absurdly long (only for messages) */
        if (snprintf(prefix, sizeof prefix, "%.40s%.40s.", ds->prefix, p->name) < 0)
            prefix[0] = '\0';
        collect_schema(ds, ds->owner, prefix, p->group);
    }
}

/* Every declaration a type table holds: keys, groups, faults' keys. */
static void collect_types(struct decls *ds, const struct orr_component_type *const *types)
{
    for (size_t i = 0; types[i]; i++) {
        collect_schema(ds, types[i]->name, "", types[i]->params);
        for (const struct orr_fault_desc *f = types[i]->faults; f && f->name; f++) {
            char owner[96];
            snprintf(owner, sizeof owner, "%s fault %s", types[i]->name, f->name);
            collect_schema(ds, owner, "", f->params);
        }
    }
}

/* ---- the checks ------------------------------------------------------------ */

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Check 1; returns the number of duplicates, each printed. */
static size_t written_twice(const struct decls *ds)
{
    size_t bad = 0;
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = i + 1; j < ds->n; j++) {
            const struct orr_param *a = ds->a[i].p, *b = ds->a[j].p;
            if (a == b || strcmp(a->name, b->name) || !same_text(a->help, b->help) ||
                (a->type == b->type && same_text(a->def, b->def)))
                continue;
            /* the same declaration reached twice is fine: compare pointers of
             * earlier pairs too, so one duplicate is reported once */
            bool seen = false;
            for (size_t k = 0; k < i && !seen; k++)
                seen = ds->a[k].p == a || ds->a[k].p == b;
            if (seen)
                continue;
            print_error("declared twice with different defaults: %s (%s) and %s (%s) (\"%s\")\n",
                        ds->a[i].where, a->def ? a->def : "required", ds->a[j].where,
                        b->def ? b->def : "required", a->help ? a->help : "");
            bad++;
        }
    return bad;
}

struct key_list {
    const struct orr_param *a[512];
    size_t n;
};

static void list_key(void *arg, const struct orr_param *p)
{
    struct key_list *kl = arg;
    assert_true(kl->n < sizeof kl->a / sizeof kl->a[0]);
    kl->a[kl->n++] = p;
}

/* Check 2 for one builder and one child. */
static size_t builder_child(const struct orr_component_type *b,
                            const struct orr_component_type *c)
{
    struct key_list kb = {.n = 0}, kc = {.n = 0};
    orr_schema_walk(b->params, list_key, &kb);
    orr_schema_walk(c->params, list_key, &kc);
    size_t bad = 0;
    for (size_t i = 0; i < kb.n; i++)
        for (size_t j = 0; j < kc.n; j++) {
            const struct orr_param *pb = kb.a[i], *pc = kc.a[j];
            if (pb == pc || strcmp(pb->name, pc->name) || pb->type != pc->type || !pb->def ||
                !pc->def)
                continue;
            print_error("%s.%s and %s.%s: one key declared twice, defaults %s and %s%s\n",
                        b->name, pb->name, c->name, pc->name, pb->def, pc->def,
                        strcmp(pb->def, pc->def) ? " (they disagree)" : "");
            bad++;
        }
    return bad;
}

static size_t builders_ok(const struct orr_component_type *const *types)
{
    size_t bad = 0;
    for (size_t i = 0; types[i]; i++)
        for (size_t k = 0; types[i]->children && types[i]->children[k]; k++)
            bad += builder_child(types[i], types[i]->children[k]);
    return bad;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_builtin_keys_declared_once(void **state)
{
    (void)state;
    struct decls ds = {0};
    collect_types(&ds, orr_builtin_types);
    collect_schema(&ds, "scenario", "", orr_scenario_params);
    assert_true(ds.n > 300); /* the walk reached the types and their groups */
    assert_int_equal(written_twice(&ds), 0);
    free(ds.a);
}

static void test_builders_share_their_childrens_keys(void **state)
{
    (void)state;
    size_t nBuilder = 0;
    for (size_t i = 0; orr_builtin_types[i]; i++)
        if (orr_builtin_types[i]->expand) {
            nBuilder++;
            assert_non_null(orr_builtin_types[i]->children);
        }
    assert_int_equal(nBuilder, 3); /* machine, kernel, cluster */
    assert_int_equal(builders_ok(orr_builtin_types), 0);
}

/* Planted duplicates: a copy-pasted key, and a builder that declares its
 * child's key again with its own default. Both checks must fire. */
static const struct orr_param child_params[] = {
    {"mshrs", ORR_P_UINT, "16", 0, "lines in flight"},
    {"agent", ORR_P_UINT, NULL, 0, "agent id"},
    {NULL},
};
static const struct orr_param pasted_params[] = {
    {"mshrs", ORR_P_UINT, "32", 0, "lines in flight"}, /* written twice, drifted */
    {"agent", ORR_P_UINT, NULL, 0, "agent id"},        /* an identical copy */
    {NULL},
};
static const struct orr_param shared[] = {
    {"mshrs", ORR_P_UINT, "16", 0, "lines in flight"},
    {NULL},
};
static const struct orr_param child2_params[] = {
    {"", ORR_P_INCLUDE, .group = shared},
    {NULL},
};

static void test_planted_duplicates_are_caught(void **state)
{
    (void)state;
    static const struct orr_component_type child = {.name = "child", .params = child_params};
    static const struct orr_component_type pasted = {.name = "pasted", .params = pasted_params};
    static const struct orr_component_type *const types[] = {&child, &pasted, NULL};
    struct decls ds = {0};
    collect_types(&ds, types);
    assert_int_equal(written_twice(&ds), 1);
    free(ds.a);

    /* a builder re-declaring mshrs with another default, and agent (which
     * the child leaves to the builder) */
    static const struct orr_param builder_params[] = {
        {"mshrs", ORR_P_UINT, "8", 0, "lines in flight per core"},
        {"agent", ORR_P_UINT, "0", 0, "first agent"},
        {NULL},
    };
    static const struct orr_component_type *const kids[] = {&child, NULL};
    static const struct orr_component_type builder = {
        .name = "builder", .params = builder_params, .children = kids};
    assert_int_equal(builder_child(&builder, &child), 1);

    /* sharing the declaration is what passes */
    static const struct orr_component_type child2 = {.name = "child2", .params = child2_params};
    static const struct orr_component_type *const kids2[] = {&child2, NULL};
    static const struct orr_component_type builder2 = {
        .name = "builder2", .params = child2_params, .children = kids2};
    assert_int_equal(builder_child(&builder2, &child2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_keys_declared_once),
        cmocka_unit_test(test_builders_share_their_childrens_keys),
        cmocka_unit_test(test_planted_duplicates_are_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
