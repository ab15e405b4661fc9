/* Helpers shared by the unit tests: a scratch directory per test program
 * and exact checks on diagnostics. Include after <cmocka.h>. */
#ifndef ORRERY_TESTUTIL_H
#define ORRERY_TESTUTIL_H

#include <stddef.h>

#include "orrery/diag.h"

/* cmocka group setup/teardown: create and remove a fresh directory under
 * /tmp for the whole test program. */
int tmpdir_setup(void **state);
int tmpdir_teardown(void **state);
/* The scratch directory. */
const char *tmpdir(void);
/* buf = "<scratch dir>/<name>" */
void tmpdir_path(char *buf, size_t n, const char *name);

/* Assert that message i of d renders exactly as want (file:line:col: ...). */
void assert_diag(const struct orr_diag *d, size_t i, const char *want);

#endif
