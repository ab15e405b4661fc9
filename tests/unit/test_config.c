/* Unit tests for the config tree (include/orrery/config.h): YAML loading with
 * marks, the rejected YAML features, extends presets and their merge rules,
 * --set overrides, the canonical hash and dump, and diagnostics (diag.h). */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "orrery/config.h"
#include "orrery/diag.h"
#include "orrery/error.h"
#include "orrery/limits.h"

/* ---- helpers --------------------------------------------------------------- */

static int load(struct orr_config *c, struct orr_diag *d, const char *text)
{
    orr_diag_init(d);
    return orr_config_load_string(c, "s.yaml", text, strlen(text), NULL, d);
}

/* Assert some message of d contains each of the given substrings. */
static void assert_diag_has(const struct orr_diag *d, const char *a, const char *b)
{
    char buf[2048];
    for (size_t i = 0; i < d->nMsg; i++) {
        orr_diag_format(&d->aMsg[i], buf, sizeof buf);
        if (strstr(buf, a) && (!b || strstr(buf, b)))
            return;
    }
    for (size_t i = 0; i < d->nMsg; i++) {
        orr_diag_format(&d->aMsg[i], buf, sizeof buf);
        print_error("  have: %s\n", buf);
    }
    fail_msg("no message contains '%s'%s%s", a, b ? " and " : "", b ? b : "");
}

static void assert_mark(const struct orr_mark *m, const char *file, unsigned line, unsigned col)
{
    assert_non_null(m->file);
    assert_string_equal(m->file, file);
    assert_int_equal(m->line, line);
    assert_int_equal(m->col, col);
}

static const struct orr_node *at(const struct orr_node *n, const char *key)
{
    const struct orr_node *v = orr_node_get(n, key);
    if (!v)
        fail_msg("no key '%s'", key);
    return v;
}

static void assert_scalar(const struct orr_node *n, const char *want)
{
    assert_non_null(n);
    assert_int_equal(n->kind, ORR_NODE_SCALAR);
    assert_string_equal(n->scalar, want);
}

static void assert_empty_config(const struct orr_config *c)
{
    assert_null(c->root);
    assert_null(c->arena);
    assert_null(c->path);
}

/* A scratch directory for extends tests, removed afterwards. */
struct scratch {
    char dir[64];
};

static int scratch_setup(void **state)
{
    struct scratch *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    strcpy(s->dir, "/tmp/orrery-test-config-XXXXXX");
    if (!mkdtemp(s->dir)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int scratch_teardown(void **state)
{
    struct scratch *s = *state;
    int rc = nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(s);
    return rc;
}

/* Write dir/name (creating no directories) and return the full path in buf. */
static const char *write_file(const struct scratch *s, const char *name, const char *text,
                              char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", s->dir, name);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void make_subdir(const struct scratch *s, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
}

/* ---- loading ------------------------------------------------------------- */

static void test_load_tree_and_marks(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    const char *text = "name: demo\n"
                       "machine:\n"
                       "  cores: 4\n"
                       "  freq: \"3.2GHz\"\n"
                       "list: [a, 'b', {x: 1}]\n"
                       "empty:\n"
                       "tilde: ~\n"
                       "null_word: null\n"
                       "block:\n"
                       "  - one\n"
                       "  - two\n";
    assert_int_equal(load(&c, &d, text), 0);
    assert_int_equal(orr_diag_count(&d), 0);
    assert_string_equal(c.path, "s.yaml");
    const struct orr_node *r = c.root;
    assert_int_equal(r->kind, ORR_NODE_MAP);
    assert_int_equal(r->n, 7);
    const char *order[] = {"name", "machine", "list", "empty", "tilde", "null_word", "block"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(r->aKey[i], order[i]);
    assert_scalar(at(r, "name"), "demo");
    assert_false(at(r, "name")->quoted);
    assert_mark(&at(r, "name")->mark, "s.yaml", 1, 7);
    assert_mark(&r->aKeyMark[1], "s.yaml", 2, 1);
    const struct orr_node *m = at(r, "machine");
    assert_int_equal(m->kind, ORR_NODE_MAP);
    assert_mark(&m->mark, "s.yaml", 3, 3);
    assert_scalar(at(m, "cores"), "4");
    assert_scalar(at(m, "freq"), "3.2GHz");
    assert_true(at(m, "freq")->quoted);
    assert_mark(&at(m, "freq")->mark, "s.yaml", 4, 9);
    const struct orr_node *l = at(r, "list");
    assert_int_equal(l->kind, ORR_NODE_SEQ);
    assert_int_equal(l->n, 3);
    assert_scalar(l->aItem[1], "b");
    assert_true(l->aItem[1]->quoted);
    assert_int_equal(l->aItem[2]->kind, ORR_NODE_MAP);
    assert_scalar(at(l->aItem[2], "x"), "1");
    assert_mark(&l->aItem[2]->mark, "s.yaml", 5, 16);
    assert_scalar(at(r, "empty"), "");
    assert_scalar(at(r, "tilde"), "~");
    assert_scalar(at(r, "null_word"), "null");
    assert_int_equal(at(r, "block")->n, 2);
    assert_mark(&at(r, "block")->aItem[1]->mark, "s.yaml", 11, 5);
    assert_int_equal(orr_node_index(r, "list"), 2);
    assert_int_equal(orr_node_index(r, "nope"), -1);
    assert_null(orr_node_get(r, "nope"));
    assert_null(orr_node_get(at(r, "name"), "x"));
    assert_null(orr_node_get(NULL, "x"));
    orr_config_free(&c);
    assert_empty_config(&c);
    orr_config_free(&c); /* twice is fine */
    orr_diag_free(&d);
}

static void test_syntax_error(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, "a: 1\nb:\n  c: x: y\n"), ORR_EPARSE);
    assert_int_equal(orr_diag_count(&d), 1);
    assert_diag(&d, 0,
                "s.yaml:3:7: error: malformed YAML: mapping values are not allowed in this "
                "context");
    assert_empty_config(&c);
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "a: [1, 2\n"), ORR_EPARSE);
    assert_diag_has(&d, "s.yaml:2:1: error: malformed YAML: did not find expected ',' or ']'",
                    NULL);
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "a: 1\nb: \xff\n"), ORR_EPARSE);
    assert_diag(&d, 0, "s.yaml:2:4: error: malformed YAML: invalid leading UTF-8 octet");
    orr_diag_free(&d);
}

static void test_top_level_must_be_map(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, "- a\n- b\n"), ORR_ESCHEMA);
    assert_diag(&d, 0, "s.yaml:1:1: error: the top level must be a mapping of keys to values, "
                       "got a sequence");
    assert_empty_config(&c);
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "just text\n"), ORR_ESCHEMA);
    assert_diag_has(&d, "s.yaml:1:1: error:", "got a scalar");
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "# only a comment\n"), ORR_ESCHEMA);
    assert_diag(&d, 0, "s.yaml: error: the top level must be a mapping of keys to values, "
                       "got an empty document");
    orr_diag_free(&d);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, "a: 1\nm:\n  x: 1\n  y: 2\n  x: 3\na: 2\n"), ORR_EPARSE);
    assert_int_equal(orr_diag_count(&d), 2);
    assert_diag(&d, 0, "s.yaml:5:3: error: m.x: duplicate key 'x' (first defined at line 3, "
                       "column 3)");
    assert_diag(&d, 1, "s.yaml:6:1: error: a: duplicate key 'a' (first defined at line 1, "
                       "column 1)");
    assert_empty_config(&c);
    orr_diag_free(&d);
}

static void test_rejected_features(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, "base: &b {x: 1}\nother: *b\n"), ORR_EPARSE);
    assert_int_equal(orr_diag_count(&d), 2);
    assert_diag(&d, 0, "s.yaml:1:7: error: base: anchors and aliases are not supported");
    assert_diag(&d, 1, "s.yaml:2:8: error: other: anchors and aliases are not supported");
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "a:\n  b: !!str 5\n"), ORR_EPARSE);
    assert_diag(&d, 0, "s.yaml:2:6: error: a.b: tags are not supported (found "
                       "'tag:yaml.org,2002:str')");
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "a: !custom [1]\n"), ORR_EPARSE);
    assert_diag_has(&d, "s.yaml:1:4: error: a: tags are not supported", "!custom");
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "a: 1\n---\nb: 2\n"), ORR_EPARSE);
    assert_diag(&d, 0, "s.yaml:2:1: error: multiple YAML documents in one input are not "
                       "supported");
    assert_empty_config(&c);
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "? [a, b]\n: 1\n"), ORR_EPARSE);
    assert_diag_has(&d, "s.yaml:1:3: error:", "mapping keys must be scalars, got a sequence");
    orr_diag_free(&d);

    assert_int_equal(load(&c, &d, "a: \"x\\0y\"\n"), ORR_EPARSE);
    assert_diag_has(&d, "s.yaml:1:4: error: a: NUL characters", NULL);
    orr_diag_free(&d);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    char text[512] = "a: ";
    for (int i = 0; i < 100; i++)
        strcat(text, "[");
    assert_int_equal(load(&c, &d, text), ORR_EPARSE);
    assert_diag_has(&d, "nested deeper than 64 levels", NULL);
    orr_diag_free(&d);
}

static void test_missing_file(void **state)
{
    struct scratch *s = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/nope.yaml", s->dir);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), ORR_ENOENT);
    char want[512];
    snprintf(want, sizeof want, "error: cannot open '%s': No such file or directory", path);
    assert_diag(&d, 0, want);
    assert_empty_config(&c);
    orr_diag_free(&d);

    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, s->dir, &d), ORR_EIO); /* a directory */
    assert_diag_has(&d, "cannot read", "it is a directory, not a regular file");
    orr_diag_free(&d);
}

static void test_load_file(void **state)
{
    struct scratch *s = *state;
    char path[256];
    write_file(s, "plain.yaml", "# a comment\nk: v\n", path, sizeof path);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), 0);
    assert_string_equal(c.path, path);
    assert_scalar(at(c.root, "k"), "v");
    assert_mark(&at(c.root, "k")->mark, path, 2, 4);
    orr_config_free(&c);
    orr_diag_free(&d);
}

/* Messages keep their own copy of the file name: the tree (and its names) is
 * gone once a failed load returns. ASan checks the copy is really used. */
static void test_diag_outlives_config(void **state)
{
    struct scratch *s = *state;
    char path[256];
    write_file(s, "broken.yaml", "a: [\n", path, sizeof path);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), ORR_EPARSE);
    assert_string_equal(d.aMsg[0].mark.file, path);
    char want[512];
    snprintf(want, sizeof want, "%s:2:1: error: malformed YAML:", path);
    assert_diag_has(&d, want, NULL);
    orr_diag_free(&d);
}

/* ---- extends ------------------------------------------------------------- */

static void test_extends_merge(void **state)
{
    struct scratch *s = *state;
    char base[256], mid[256], other[256], child[256];
    make_subdir(s, "presets");
    write_file(s, "presets/base.yaml",
               "name: base\n"
               "machine:\n"
               "  cores: 4\n"
               "  freq: 2GHz\n"
               "  caches: {l1: 32KiB, l2: 1MiB}\n"
               "list: [1, 2, 3]\n"
               "only_base: yes\n",
               base, sizeof base);
    write_file(s, "presets/mid.yaml",
               "extends: base.yaml\n"
               "machine:\n"
               "  cores: 8\n"
               "  caches: {l2: 2MiB}\n",
               mid, sizeof mid);
    write_file(s, "other.yaml", "name: other\nfrom_other: 1\n", other, sizeof other);
    write_file(s, "child.yaml",
               "extends: [presets/mid.yaml, other.yaml]\n"
               "list: [9]\n"
               "machine:\n"
               "  freq: 3GHz\n"
               "extra: x\n",
               child, sizeof child);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    int rc = orr_config_load(&c, child, &d);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    const struct orr_node *r = c.root;
    /* key order: first appearance, base first; extends removed */
    const char *order[] = {"name", "machine", "list", "only_base", "from_other", "extra"};
    assert_int_equal(r->n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(r->aKey[i], order[i]);
    assert_null(orr_node_get(r, "extends"));
    assert_scalar(at(r, "name"), "other");         /* later base wins */
    assert_mark(&at(r, "name")->mark, other, 1, 7);
    const struct orr_node *m = at(r, "machine");  /* maps merge recursively */
    assert_scalar(at(m, "cores"), "8");
    assert_mark(&at(m, "cores")->mark, mid, 3, 10);
    assert_scalar(at(m, "freq"), "3GHz");
    assert_mark(&at(m, "freq")->mark, child, 4, 9);
    assert_scalar(at(at(m, "caches"), "l1"), "32KiB");
    assert_mark(&at(at(m, "caches"), "l1")->mark, base, 5, 16);
    assert_scalar(at(at(m, "caches"), "l2"), "2MiB");
    assert_mark(&m->mark, child, 4, 3);           /* the map is the child's */
    assert_mark(&m->aKeyMark[0], mid, 3, 3);      /* key marks follow the value */
    assert_mark(&r->aKeyMark[0], other, 1, 1);
    assert_mark(&r->aKeyMark[3], base, 7, 1);
    const struct orr_node *l = at(r, "list");     /* sequences replace */
    assert_int_equal(l->n, 1);
    assert_scalar(l->aItem[0], "9");
    assert_scalar(at(r, "only_base"), "yes");
    assert_mark(&at(r, "only_base")->mark, base, 7, 12);
    orr_config_free(&c);
    orr_diag_free(&d);
}

static void test_extends_replace_kinds(void **state)
{
    struct scratch *s = *state;
    char path[256];
    write_file(s, "kb.yaml", "a: {x: 1}\nb: [1]\nc: text\n", path, sizeof path);
    write_file(s, "kc.yaml", "extends: kb.yaml\na: flat\nb: {y: 2}\nc: [z]\n", path,
               sizeof path);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), 0);
    assert_scalar(at(c.root, "a"), "flat");
    assert_int_equal(at(c.root, "b")->kind, ORR_NODE_MAP);
    assert_int_equal(at(c.root, "c")->kind, ORR_NODE_SEQ);
    orr_config_free(&c);
    orr_diag_free(&d);
}

static void test_extends_cycle(void **state)
{
    struct scratch *s = *state;
    char a[256], b[256], self[256];
    write_file(s, "cyc_a.yaml", "extends: cyc_b.yaml\nx: 1\n", a, sizeof a);
    write_file(s, "cyc_b.yaml", "y: 2\nextends:\n  - cyc_a.yaml\n", b, sizeof b);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, a, &d), ORR_ESCHEMA);
    assert_int_equal(orr_diag_count(&d), 1);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:3:5: error: extends.0: extends cycle: %s -> %s/cyc_b.yaml -> %s/cyc_a.yaml", b,
             a, s->dir, s->dir);
    assert_diag(&d, 0, want);
    assert_empty_config(&c);
    orr_diag_free(&d);

    write_file(s, "cyc_self.yaml", "extends: ./cyc_self.yaml\n", self, sizeof self);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, self, &d), ORR_ESCHEMA);
    snprintf(want, sizeof want, "%s:1:10: error: extends: extends cycle:", self);
    assert_diag_has(&d, want, NULL);
    orr_diag_free(&d);
}

/* A diamond (two bases sharing a base) is not a cycle. */
static void test_extends_diamond(void **state)
{
    struct scratch *s = *state;
    char path[256];
    write_file(s, "dia_root.yaml", "r: 1\n", path, sizeof path);
    write_file(s, "dia_l.yaml", "extends: dia_root.yaml\nl: 1\n", path, sizeof path);
    write_file(s, "dia_r.yaml", "extends: dia_root.yaml\nr: 2\n", path, sizeof path);
    write_file(s, "dia_top.yaml", "extends: [dia_l.yaml, dia_r.yaml]\n", path, sizeof path);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), 0);
    assert_scalar(at(c.root, "r"), "2");
    assert_scalar(at(c.root, "l"), "1");
    orr_config_free(&c);
    orr_diag_free(&d);
}

/* Anything but a regular file is refused before a byte is read: a FIFO with
 * no writer does not hang, /dev/zero is not read until memory runs out. */
static void test_non_regular_files(void **state)
{
    struct scratch *s = *state;
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo.yaml", s->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, "/dev/zero"};
    const char *kinds[] = {"it is a FIFO, not a regular file",
                           "it is a character device, not a regular file"};
    for (size_t i = 0; i < 2; i++) {
        struct orr_config c;
        struct orr_diag d;
        orr_diag_init(&d);
        assert_int_equal(orr_config_load(&c, paths[i], &d), ORR_EIO);
        assert_int_equal(orr_diag_count(&d), 1);
        assert_diag_has(&d, "cannot read", kinds[i]);
        assert_empty_config(&c);
        orr_diag_free(&d);
    }
    /* named by extends: the message points at the entry */
    char top[256], want[512];
    write_file(s, "nr_top.yaml", "a: 1\nextends: /dev/zero\n", top, sizeof top);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, top, &d), ORR_EIO);
    snprintf(want, sizeof want, "%s:2:10: error: extends: cannot read '/dev/zero': it is a "
                                "character device", top);
    assert_diag_has(&d, want, NULL);
    orr_diag_free(&d);
}

/* A file over scenario_bytes is refused from its size, top level or preset. */
static void test_scenario_size_budget(void **state)
{
    struct scratch *s = *state;
    struct orr_limits saved = *orr_limits(), l = saved;
    char big[256], top[256], want[512];
    write_file(s, "big.yaml", "a: 12345678901234567890123456\n", big, sizeof big); /* 30 B */
    write_file(s, "sz_top.yaml", "extends: big.yaml\n", top, sizeof top);
    struct orr_config c;
    struct orr_diag d;
    l.scenario_bytes = 30; /* exactly the size: fine */
    orr_limits_set(&l);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, top, &d), 0);
    orr_config_free(&c);
    orr_diag_free(&d);
    l.scenario_bytes = 29;
    orr_limits_set(&l);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, big, &d), ORR_ERANGE);
    snprintf(want, sizeof want, "error: '%s' is 30 bytes, more than the 29 a scenario file may "
                                "have (raise the budget with --max-scenario-size)", big);
    assert_diag(&d, 0, want);
    assert_empty_config(&c);
    orr_diag_free(&d);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, top, &d), ORR_ERANGE);
    snprintf(want, sizeof want, "%s:1:10: error: extends: '%s/big.yaml' is 30 bytes", top,
             s->dir);
    assert_diag_has(&d, want, NULL);
    orr_diag_free(&d);
    orr_limits_set(&saved);
}

/* A diamond of presets, 12 levels of two files each naming both files of the
 * level below (4096 paths to the bottom), reads each of its 26 files once
 * and merges to what a chain would. */
static void test_extends_diamond_read_once(void **state)
{
    struct scratch *s = *state;
    char path[256], name[64], text[256];
    for (int lv = 0; lv < 12; lv++)
        for (int side = 0; side < 2; side++) {
            snprintf(name, sizeof name, "dm%d%c.yaml", lv, "ab"[side]);
            snprintf(text, sizeof text,
                     "extends: [dm%da.yaml, dm%db.yaml]\nlevel%d: {%c: %d}\nlast: %d%c\n",
                     lv + 1, lv + 1, lv, "ab"[side], lv, lv, "ab"[side]);
            write_file(s, name, text, path, sizeof path);
        }
    write_file(s, "dm12a.yaml", "bottom: a\n", path, sizeof path);
    write_file(s, "dm12b.yaml", "bottom: b\nlast: bottom\n", path, sizeof path);
    write_file(s, "dm_top.yaml", "extends: [dm0a.yaml, dm0b.yaml]\n", path, sizeof path);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), 0);
    assert_int_equal(c.nFiles, 1 + 2 * 12 + 2);
    assert_scalar(at(c.root, "bottom"), "b");
    assert_scalar(at(c.root, "last"), "0b");
    const struct orr_node *l5 = at(c.root, "level5"); /* both sides' maps merged */
    assert_scalar(at(l5, "a"), "5");
    assert_scalar(at(l5, "b"), "5");
    assert_int_equal(c.root->n, 2 + 12);
    orr_config_free(&c);
    orr_diag_free(&d);
}

/* "Billion laughs" through extends: 4 files, each naming the next 1000
 * times. Each file is read once, but merging the presets as named is 10^9
 * merges of the bottom file: refused at the entry that crosses the budget. */
static void test_extends_fanout_budget(void **state)
{
    struct scratch *s = *state;
    char path[256], want[512];
    size_t cap = 1000 * 16 + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int lv = 0; lv < 4; lv++) {
        char name[32];
        snprintf(name, sizeof name, "lol%d.yaml", lv);
        size_t n = (size_t)snprintf(text, cap, "v%d: 1\nextends:\n", lv);
        for (int i = 0; i < 1000; i++)
            n += (size_t)snprintf(text + n, cap - n, "  - lol%d.yaml\n", lv + 1);
        write_file(s, name, text, path, sizeof path);
    }
    write_file(s, "lol4.yaml", "bottom: {a: 1, b: 2}\n", path, sizeof path);
    free(text);
    snprintf(path, sizeof path, "%s/lol0.yaml", s->dir);
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), ORR_ERANGE);
    assert_int_equal(orr_diag_count(&d), 1);
    /* nodes per file: lol4 the root map, bottom, its map, a, 1, b, 2 = 7; the
     * others their map, v, 1, extends, the list and its 1000 names = 1005,
     * plus 1000 times the next. lol3 = 1005 + 7000 fits; lol2 crosses 4 Mi
     * at the first entry k with 1005 + (k + 1) * lol3 > 4 Mi, on line k + 3 */
    const uint64_t n3 = 1005 + 1000 * 7, budget = UINT64_C(4) << 20;
    uint64_t k = 0;
    while (1005 + (k + 1) * n3 <= budget)
        k++;
    snprintf(want, sizeof want, "%s/lol2.yaml:%llu:5: error: extends.%llu: the presets expand "
                                "to more than 4194304 config nodes", s->dir,
             (unsigned long long)(k + 3), (unsigned long long)k);
    assert_diag_has(&d, want, "--max-config-nodes");
    assert_empty_config(&c);
    orr_diag_free(&d);

    /* with the budget out of the way it loads, reading each file once */
    struct orr_limits saved = *orr_limits(), l = saved;
    l.config_nodes = UINT64_MAX / 2;
    orr_limits_set(&l);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), 0);
    assert_int_equal(c.nFiles, 5);
    assert_scalar(at(at(c.root, "bottom"), "b"), "2");
    assert_scalar(at(c.root, "v0"), "1");
    orr_config_free(&c);
    orr_diag_free(&d);
    orr_limits_set(&saved);
}

/* The node budget also holds inside one file, at the node that crosses it. */
static void test_config_nodes_budget(void **state)
{
    (void)state;
    struct orr_limits saved = *orr_limits(), l = saved;
    l.config_nodes = 7;
    orr_limits_set(&l);
    struct orr_config c;
    struct orr_diag d;
    /* the root map, a, 1, b, the sequence, x, y: 7; z at 2:11 is one more */
    assert_int_equal(load(&c, &d, "a: 1\nb: [x, y, z]\n"), ORR_ERANGE);
    assert_diag(&d, 0, "s.yaml:2:11: error: b.2: the scenario has more than 7 values, keys "
                       "and collections (the budget of config nodes; raise it with "
                       "--max-config-nodes)");
    orr_diag_free(&d);
    l.config_nodes = 8;
    orr_limits_set(&l);
    assert_int_equal(load(&c, &d, "a: 1\nb: [x, y, z]\n"), 0);
    orr_config_free(&c);
    orr_diag_free(&d);
    orr_limits_set(&saved);
}

static void test_extends_depth_limit(void **state)
{
    struct scratch *s = *state;
    char path[256], name[64], text[128];
    for (int i = 0; i <= 17; i++) {
        snprintf(name, sizeof name, "deep%d.yaml", i);
        if (i < 17)
            snprintf(text, sizeof text, "extends: deep%d.yaml\nv%d: 1\n", i + 1, i);
        else
            snprintf(text, sizeof text, "bottom: 1\n");
        write_file(s, name, text, path, sizeof path);
    }
    struct orr_config c;
    struct orr_diag d;
    char top[256];
    snprintf(top, sizeof top, "%s/deep1.yaml", s->dir); /* 16 bases below: fine */
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, top, &d), 0);
    assert_scalar(at(c.root, "bottom"), "1");
    orr_config_free(&c);
    orr_diag_free(&d);

    snprintf(top, sizeof top, "%s/deep0.yaml", s->dir); /* 17: too deep */
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, top, &d), ORR_ESCHEMA);
    char want[512];
    snprintf(want, sizeof want, "%s/deep16.yaml:1:10: error: extends: extends nested deeper "
                                "than 16 files", s->dir);
    assert_diag(&d, 0, want);
    orr_diag_free(&d);
}

static void test_extends_errors(void **state)
{
    struct scratch *s = *state;
    char path[256], want[512];
    struct orr_config c;
    struct orr_diag d;

    write_file(s, "e_missing.yaml", "a: 1\nextends: [gone.yaml]\n", path, sizeof path);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), ORR_ENOENT);
    snprintf(want, sizeof want, "%s:2:11: error: extends.0: cannot open '%s/gone.yaml': No such "
                                "file or directory", path, s->dir);
    assert_diag(&d, 0, want);
    orr_diag_free(&d);

    write_file(s, "e_map.yaml", "extends: {a: b}\n", path, sizeof path);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), ORR_ESCHEMA);
    snprintf(want, sizeof want, "%s:1:10: error: extends: expected a file name or a list of "
                                "file names, got a mapping", path);
    assert_diag(&d, 0, want);
    orr_diag_free(&d);

    write_file(s, "e_item.yaml", "extends: [ok.yaml, [x]]\n", path, sizeof path);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), ORR_ESCHEMA);
    snprintf(want, sizeof want, "%s:1:20: error: extends.1: expected a file name, got a "
                                "sequence", path);
    assert_diag(&d, 0, want);
    orr_diag_free(&d);

    write_file(s, "e_base_bad.yaml", "- not a map\n", path, sizeof path);
    write_file(s, "e_uses_bad.yaml", "extends: e_base_bad.yaml\n", path, sizeof path);
    orr_diag_init(&d);
    assert_int_equal(orr_config_load(&c, path, &d), ORR_ESCHEMA);
    snprintf(want, sizeof want, "%s/e_base_bad.yaml:1:1: error: the top level must be a mapping",
             s->dir);
    assert_diag_has(&d, want, NULL);
    orr_diag_free(&d);

    /* in-memory text: extends needs a base directory */
    assert_int_equal(load(&c, &d, "extends: base.yaml\n"), ORR_ESCHEMA);
    assert_diag(&d, 0, "s.yaml:1:10: error: extends: extends is not supported here (no "
                       "directory to resolve it in)");
    orr_diag_free(&d);
}

static void test_extends_from_string(void **state)
{
    struct scratch *s = *state;
    char path[256];
    write_file(s, "sbase.yaml", "a: 1\nb: 2\n", path, sizeof path);
    const char *text = "extends: sbase.yaml\nb: 3\n";
    struct orr_config c;
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_load_string(&c, "mem", text, strlen(text), s->dir, &d), 0);
    assert_scalar(at(c.root, "a"), "1");
    assert_scalar(at(c.root, "b"), "3");
    assert_mark(&at(c.root, "b")->mark, "mem", 2, 4);
    orr_config_free(&c);
    orr_diag_free(&d);
}

/* ---- --set ----------------------------------------------------------------- */

static void test_set_values(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, "a:\n  b: 1\nlist: [x, {k: v}]\n"), 0);
    assert_int_equal(orr_config_set(&c, "a.b=2", &d), 0);
    assert_scalar(at(at(c.root, "a"), "b"), "2");
    assert_mark(&at(at(c.root, "a"), "b")->mark, "<--set>", 0, 5);
    assert_int_equal(orr_config_set(&c, "a.c.d=10ns", &d), 0); /* creates c */
    const struct orr_node *cc = at(at(c.root, "a"), "c");
    assert_int_equal(cc->kind, ORR_NODE_MAP);
    assert_mark(&cc->mark, "<--set>", 0, 3);
    assert_scalar(at(cc, "d"), "10ns");
    assert_mark(&at(c.root, "a")->aKeyMark[1], "<--set>", 0, 3);
    assert_int_equal(orr_config_set(&c, "list.0=y", &d), 0);
    assert_scalar(at(c.root, "list")->aItem[0], "y");
    assert_int_equal(orr_config_set(&c, "list.1.k=w", &d), 0);
    assert_scalar(at(at(c.root, "list")->aItem[1], "k"), "w");
    assert_int_equal(orr_config_set(&c, "new=[p, q]", &d), 0);
    const struct orr_node *nw = at(c.root, "new");
    assert_int_equal(nw->kind, ORR_NODE_SEQ);
    assert_scalar(nw->aItem[1], "q");
    assert_mark(&nw->aItem[1]->mark, "<--set>", 0, 9);
    assert_int_equal(orr_config_set(&c, "m={x: 1, y: [2]}", &d), 0);
    assert_scalar(at(at(c.root, "m"), "x"), "1");
    assert_int_equal(orr_config_set(&c, "e=", &d), 0);
    assert_scalar(at(c.root, "e"), "");
    assert_int_equal(orr_config_set(&c, "q='a: b'", &d), 0);
    assert_scalar(at(c.root, "q"), "a: b");
    assert_true(at(c.root, "q")->quoted);
    assert_int_equal(orr_config_set(&c, "url=http://x:80/a=b", &d), 0);
    assert_scalar(at(c.root, "url"), "http://x:80/a=b");
    assert_int_equal(orr_config_set(&c, "a=replaced", &d), 0); /* a map becomes a scalar */
    assert_scalar(at(c.root, "a"), "replaced");
    assert_int_equal(orr_diag_count(&d), 0);
    orr_config_free(&c);
    orr_diag_free(&d);
}

/* A --set value counts its depth from the root, so a dump always reloads. */
static void test_set_depth_limit(void **state)
{
    (void)state;
    char arg[512] = "";
    for (int i = 0; i < 62; i++)
        strcat(arg, i ? ".k" : "k");
    size_t n = strlen(arg);
    struct orr_config c, c2;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, "a: 1\n"), 0);
    strcpy(arg + n, ".a=[1]"); /* 63 keys deep: the list is at depth 63, allowed */
    assert_int_equal(orr_config_set(&c, arg, &d), 0);
    strcpy(arg + n, ".b.k={x: 1}"); /* a mapping at depth 64: too deep */
    assert_int_equal(orr_config_set(&c, arg, &d), ORR_EPARSE);
    assert_diag_has(&d, "nested deeper than 64 levels", NULL);
    orr_diag_free(&d);
    strcpy(arg + n, ".b.k=deep"); /* a scalar at depth 64 is fine */
    assert_int_equal(orr_config_set(&c, arg, &d), 0);
    strcpy(arg + n, ".b.k.x.y=1"); /* more than 64 keys */
    assert_int_equal(orr_config_set(&c, arg, &d), ORR_EINVAL);
    assert_diag_has(&d, "path has more than 64 keys", NULL);
    orr_diag_free(&d);
    char *dump = orr_config_dump(c.root);
    assert_int_equal(load(&c2, &d, dump), 0);
    assert_int_equal(orr_config_hash(c2.root), orr_config_hash(c.root));
    free(dump);
    orr_config_free(&c);
    orr_config_free(&c2);
    orr_diag_free(&d);
}

static void test_set_on_empty_config(void **state)
{
    (void)state;
    struct orr_config c = {0};
    struct orr_diag d;
    orr_diag_init(&d);
    assert_int_equal(orr_config_set(&c, "x.y=1", &d), 0);
    assert_scalar(at(at(c.root, "x"), "y"), "1");
    orr_config_free(&c);
    orr_diag_free(&d);
}

struct set_bad {
    const char *arg;
    int rc;
    const char *msg;
};

static void test_set_errors(void **state)
{
    (void)state;
    static const struct set_bad cases[] = {
        {"novalue", ORR_EINVAL,
         "<--set>: error: missing '=' in 'novalue'; expected key.path=value"},
        {"a..b=1", ORR_EINVAL,
         "<--set>:3: error: empty key in path 'a..b'; expected key.path=value"},
        {"=1", ORR_EINVAL, "<--set>:1: error: empty key in path ''; expected key.path=value"},
        {"a.=1", ORR_EINVAL, "<--set>:3: error: empty key in path 'a.'"},
        {"list.5=1", ORR_ESCHEMA,
         "<--set>:6: error: list.5: index 5 is out of range: 'list' has 2 items"},
        {"list.x=1", ORR_ESCHEMA,
         "<--set>:6: error: list.x: expected an index into the sequence 'list', got 'x'"},
        {"list.-1=1", ORR_ESCHEMA, "<--set>:6: error: list.-1: expected an index"},
        {"name.x=1", ORR_ESCHEMA,
         "<--set>:6: error: name.x: cannot set a key inside 'name': it is a scalar"},
        {"name.x.y=1", ORR_ESCHEMA, "<--set>:6: error: name.x: cannot set a key inside 'name'"},
        {"a=b: c", ORR_EPARSE,
         "<--set>:3: error: a: a --set value must be a scalar or a flow collection"},
        {"a=[1", ORR_EPARSE, "<--set>:5: error: malformed YAML: did not find expected"},
        {"a=*x", ORR_EPARSE, "<--set>:3: error: a: anchors and aliases are not supported"},
        {"a=1\n---\n2", ORR_EPARSE, "<--set>:5: error: multiple YAML documents"},
        {"k\x01=1", ORR_EINVAL, "<--set>:1: error: key 'k\x01' is not printable UTF-8"},
        {"k\xff=1", ORR_EINVAL, "is not printable UTF-8"},
        {"extends=base.yaml", ORR_EINVAL,
         "<--set>:1: error: extends: extends cannot be changed with --set"},
        {"extends.0=x", ORR_EINVAL, "<--set>:1: error: extends: extends cannot be changed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct orr_config c;
        struct orr_diag d;
        assert_int_equal(load(&c, &d, "name: n\nlist: [1, 2]\n"), 0);
        uint64_t before = orr_config_hash(c.root);
        int rc = orr_config_set(&c, cases[i].arg, &d);
        if (rc != cases[i].rc)
            print_error("case '%s': rc %d\n", cases[i].arg, rc);
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(orr_diag_count(&d), 1);
        assert_diag_has(&d, cases[i].msg, NULL);
        assert_int_equal(orr_config_hash(c.root), before); /* nothing changed */
        orr_config_free(&c);
        orr_diag_free(&d);
    }
}

/* ---- hash and dump ----------------------------------------------------------- */

static uint64_t hash_of(const char *text)
{
    struct orr_config c;
    struct orr_diag d;
    int rc = load(&c, &d, text);
    if (rc)
        orr_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    uint64_t h = orr_config_hash(c.root);
    orr_config_free(&c);
    orr_diag_free(&d);
    return h;
}

static void test_hash(void **state)
{
    (void)state;
    uint64_t h = hash_of("a: 1\nm:\n  x: [p, q]\n  y: {z: \"s\"}\n");
    /* same content, different formatting and comments */
    assert_int_equal(hash_of("# header\na:    1   # one\nm: {x: [p, q], y: {z: s}}\n"), h);
    assert_int_equal(hash_of("a: '1'\nm:\n    x:\n      - p\n      - \"q\"\n    y:\n"
                             "      z: s\n"),
                     h);
    /* different values, structure or order */
    assert_int_not_equal(hash_of("a: 2\nm:\n  x: [p, q]\n  y: {z: s}\n"), h);
    assert_int_not_equal(hash_of("a: 1\nm:\n  x: [p, q, r]\n  y: {z: s}\n"), h);
    assert_int_not_equal(hash_of("a: 1\nm:\n  x: [pq]\n  y: {z: s}\n"), h);
    assert_int_not_equal(hash_of("m:\n  x: [p, q]\n  y: {z: s}\na: 1\n"), h);
    assert_int_not_equal(hash_of("a: [1]\nm:\n  x: [p, q]\n  y: {z: s}\n"), h);
    assert_int_not_equal(hash_of("a: {}\n"), hash_of("a: []\n"));
    assert_int_not_equal(hash_of("a: ''\n"), hash_of("a: {}\n"));
    assert_int_not_equal(hash_of("ab: c\n"), hash_of("a: bc\n"));
    assert_int_equal(orr_config_hash(NULL), orr_config_hash(NULL));
    assert_int_not_equal(orr_config_hash(NULL), hash_of("a: 1\n"));
}

static void test_dump_roundtrip(void **state)
{
    (void)state;
    char longkey[400];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    char text[4096];
    snprintf(text, sizeof text,
             "plain: value\n"
             "empty: \"\"\n"
             "colon: 'a: b'\n"
             "dash: '- x'\n"
             "hash: '#c'\n"
             "lead: '  spaced  '\n"
             "multi: \"line1\\nline2\"\n"
             "ctrl: \"tab\\there \\x01 \\u0085 \\u2028\"\n"
             "unicode: \"\xc3\xbc \xe2\x82\xac\"\n"
             "words: [true, null, ~, '123', '0x10', '*', '&', '!', '%%', '@', '`', '|', '>']\n"
             "quote: \"it's \\\"q\\\"\"\n"
             "'key: with colon': 1\n"
             "'': empty key\n"
             "%s: long key\n"
             "nested:\n  - [a, [b, {c: d}]]\n  - {}\n  - []\n  - {e: {}}\n",
             longkey);
    struct orr_config c, c2;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, text), 0);
    assert_int_equal(orr_config_set(&c, "set.from.cli=[1, 2]", &d), 0);
    char *dump = orr_config_dump(c.root);
    assert_non_null(dump);
    int rc = load(&c2, &d, dump);
    if (rc) {
        orr_diag_print(&d, stderr);
        print_error("%s", dump);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(orr_config_hash(c2.root), orr_config_hash(c.root));
    assert_scalar(at(c2.root, "ctrl"), "tab\there \x01 \xc2\x85 \xe2\x80\xa8");
    assert_scalar(at(c2.root, "empty"), "");
    assert_scalar(at(c2.root, longkey), "long key");
    /* block style for a simple tree */
    char *again = orr_config_dump(c2.root);
    assert_string_equal(again, dump); /* canonical: dumping is a fixed point */
    free(again);
    free(dump);
    orr_config_free(&c);
    orr_config_free(&c2);
    orr_diag_free(&d);
}

static void test_dump_block_style(void **state)
{
    (void)state;
    struct orr_config c;
    struct orr_diag d;
    assert_int_equal(load(&c, &d, "a: {b: 1, c: [x, y]}\nd: {}\n"), 0);
    char *dump = orr_config_dump(c.root);
    assert_string_equal(dump, "a:\n  b: 1\n  c:\n  - x\n  - y\nd: {}\n");
    free(dump);
    orr_config_free(&c);
    orr_diag_free(&d);
    dump = orr_config_dump(NULL);
    assert_string_equal(dump, "{}\n");
    free(dump);
}

/* ---- small helpers and diagnostics ------------------------------------------ */

static void test_keypath_join(void **state)
{
    (void)state;
    char *s = orr_keypath_join("components.gen0", "interval");
    assert_string_equal(s, "components.gen0.interval");
    free(s);
    s = orr_keypath_join(NULL, "a");
    assert_string_equal(s, "a");
    free(s);
    s = orr_keypath_join("", "a");
    assert_string_equal(s, "a");
    free(s);
    s = orr_keypath_join("a", NULL);
    assert_string_equal(s, "a");
    free(s);
}

static void test_diag_format(void **state)
{
    (void)state;
    struct orr_diag d;
    orr_diag_init(&d);
    struct orr_mark full = {"f.yaml", 3, 5}, set = {"<--set>", 0, 7}, file = {"f.yaml", 0, 0};
    orr_diag_error(&d, &full, "a.b", "bad %s", "thing");
    orr_diag_error(&d, &set, "x", "text");
    orr_diag_error(&d, &file, NULL, "whole file");
    orr_diag_error(&d, NULL, NULL, "nowhere");
    orr_diag_error(&d, NULL, "", "empty path");
    assert_int_equal(orr_diag_count(&d), 5);
    assert_diag(&d, 0, "f.yaml:3:5: error: a.b: bad thing");
    assert_diag(&d, 1, "<--set>:7: error: x: text");
    assert_diag(&d, 2, "f.yaml: error: whole file");
    assert_diag(&d, 3, "error: nowhere");
    assert_diag(&d, 4, "error: empty path");
    char small[12];
    orr_diag_format(&d.aMsg[0], small, sizeof small);
    assert_string_equal(small, "f.yaml:3:5:");
    orr_diag_free(&d);
    assert_int_equal(orr_diag_count(&d), 0);
}

static void test_diag_limit_and_print(void **state)
{
    (void)state;
    struct orr_diag d;
    orr_diag_init(&d);
    struct orr_mark m = {"f.yaml", 1, 1};
    for (int i = 0; i < ORR_DIAG_MAX + 3; i++)
        orr_diag_error(&d, &m, "k", "error %d", i);
    assert_int_equal(d.nMsg, ORR_DIAG_MAX);
    assert_int_equal(d.nDropped, 3);
    assert_int_equal(orr_diag_count(&d), ORR_DIAG_MAX + 3);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    assert_non_null(f);
    orr_diag_print(&d, f);
    fclose(f);
    assert_non_null(strstr(out, "f.yaml:1:1: error: k: error 0\n"));
    assert_non_null(strstr(out, "f.yaml:1:1: error: k: error 49\n"));
    assert_null(strstr(out, "error 50"));
    const char *tail = "(3 more errors not shown)\n";
    assert_string_equal(out + strlen(out) - strlen(tail), tail);
    free(out);

    orr_diag_error(&d, &m, NULL, "x"); /* 4 dropped now; then exactly one */
    orr_diag_free(&d);
    for (int i = 0; i < ORR_DIAG_MAX + 1; i++)
        orr_diag_error(&d, NULL, NULL, "e");
    f = open_memstream(&out, &n);
    assert_non_null(f);
    orr_diag_print(&d, f);
    fclose(f);
    assert_non_null(strstr(out, "error: e\n(1 more error not shown)\n"));
    free(out);
    orr_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_tree_and_marks),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_top_level_must_be_map),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_rejected_features),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test_setup_teardown(test_missing_file, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_load_file, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_diag_outlives_config, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_merge, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_replace_kinds, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_cycle, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_diamond, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_non_regular_files, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_scenario_size_budget, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_diamond_read_once, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_fanout_budget, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test(test_config_nodes_budget),
        cmocka_unit_test_setup_teardown(test_extends_depth_limit, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_errors, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_extends_from_string, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test(test_set_values),
        cmocka_unit_test(test_set_depth_limit),
        cmocka_unit_test(test_set_on_empty_config),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_dump_roundtrip),
        cmocka_unit_test(test_dump_block_style),
        cmocka_unit_test(test_keypath_join),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_diag_limit_and_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
