/* Helpers shared by the unit tests (see testutil.h). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char g_dir[64];

int tmpdir_setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/orr_test_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *tmpdir(void) { return g_dir; }

void tmpdir_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

void assert_diag(const struct orr_diag *d, size_t i, const char *want)
{
    char buf[1024];
    assert_true(i < d->nMsg);
    orr_diag_format(&d->aMsg[i], buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        print_error("message %zu:\n  got  %s\n  want %s\n", i, buf, want);
    assert_string_equal(buf, want);
}
