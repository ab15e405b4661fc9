/* The drivers' generic in-flight accounting (kernel/drivers/recovery.c):
 * tags are handed out up to the depth, a request completes exactly once
 * (a second completion is refused and counted), a reaped tag is free
 * again, and drv_tags_check notices counts that do not add up. Also the
 * driver table: names resolve, matches end with a zero mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "kernel/driver.h"

static void test_tags_depth(void **state)
{
    (void)state;
    struct drv_tags *t = calloc(1, sizeof *t);
    drv_tags_init(t, 4);
    struct drv_req rq = {0};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(drv_tags_alloc(t, &rq), DRV_OK);
        assert_int_equal(rq.tag, i);
        t->aState[rq.tag] = DRV_TAG_INFLIGHT;
    }
    assert_int_equal(drv_tags_alloc(t, &rq), DRV_EAGAIN);
    assert_int_equal(drv_tags_inflight(t), 4);
    assert_int_equal(drv_tags_check(t), 0);
    free(t);
}

static void test_complete_once(void **state)
{
    (void)state;
    struct drv_tags *t = calloc(1, sizeof *t);
    drv_tags_init(t, 8);
    struct drv_req rq = {0};
    assert_int_equal(drv_tags_alloc(t, &rq), DRV_OK);
    t->aState[rq.tag] = DRV_TAG_INFLIGHT;
    struct drv_cpl cpl = {.tag = rq.tag, .status = 0, .value = 42}, out;
    assert_int_equal(drv_tags_complete(t, &cpl), DRV_OK);
    assert_int_equal(drv_tags_complete(t, &cpl), DRV_ESTATE); /* the second is refused */
    assert_int_equal(t->nDuplicates, 1);
    assert_int_equal(t->nCompleted, 1);
    assert_int_equal(drv_tags_check(t), 0);
    assert_int_equal(drv_tags_reap(t, rq.tag, &out), DRV_OK);
    assert_int_equal(out.value, 42);
    assert_int_equal(drv_tags_reap(t, rq.tag, &out), DRV_ESTATE);
    /* after the reap, a late duplicate is still refused */
    assert_int_equal(drv_tags_complete(t, &cpl), DRV_ESTATE);
    assert_int_equal(t->nDuplicates, 2);
    assert_int_equal(drv_tags_inflight(t), 0);
    /* a failure counts as finished, not completed */
    assert_int_equal(drv_tags_alloc(t, &rq), DRV_OK);
    t->aState[rq.tag] = DRV_TAG_INFLIGHT;
    cpl = (struct drv_cpl){.tag = rq.tag, .status = DRV_EIO};
    assert_int_equal(drv_tags_complete(t, &cpl), DRV_OK);
    assert_int_equal(t->nFailed, 1);
    assert_int_equal(drv_tags_check(t), 0);
    /* a tag beyond the depth is never in flight */
    cpl.tag = 200;
    assert_int_equal(drv_tags_complete(t, &cpl), DRV_ESTATE);
    free(t);
}

static void test_check_catches(void **state)
{
    (void)state;
    struct drv_tags *t = calloc(1, sizeof *t);
    drv_tags_init(t, 8);
    struct drv_req rq = {0};
    assert_int_equal(drv_tags_alloc(t, &rq), DRV_OK);
    t->aState[rq.tag] = DRV_TAG_INFLIGHT;
    assert_int_equal(drv_tags_check(t), 0);
    t->aState[rq.tag] = DRV_TAG_FREE; /* a request dropped without a completion */
    assert_int_not_equal(drv_tags_check(t), 0);
    t->aState[rq.tag] = DRV_TAG_INFLIGHT;
    t->aState[8] = DRV_TAG_INFLIGHT; /* a tag past the depth */
    assert_int_not_equal(drv_tags_check(t), 0);
    t->aState[8] = DRV_TAG_FREE;
    t->nCompleted = 1; /* a completion nobody made */
    assert_int_not_equal(drv_tags_check(t), 0);
    free(t);
}

/* Completions come out in the order they happened, whatever the tags. */
static void test_completion_order(void **state)
{
    (void)state;
    struct drv_tags *t = calloc(1, sizeof *t);
    drv_tags_init(t, 8);
    struct drv_req rq = {0};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(drv_tags_alloc(t, &rq), DRV_OK);
        t->aState[rq.tag] = DRV_TAG_INFLIGHT;
    }
    static const uint16_t order[] = {2, 0, 3, 1};
    for (unsigned i = 0; i < 4; i++) {
        struct drv_cpl cpl = {.tag = order[i], .value = 100 + i};
        assert_int_equal(drv_tags_complete(t, &cpl), DRV_OK);
    }
    struct drv_cpl out;
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(drv_tags_next_done(t, &out), DRV_OK);
        assert_int_equal(out.tag, order[i]);
        assert_int_equal(out.value, 100 + i);
    }
    assert_int_equal(drv_tags_next_done(t, &out), DRV_EAGAIN);
    /* a tag reaped directly is skipped by the queue, not delivered twice */
    assert_int_equal(drv_tags_alloc(t, &rq), DRV_OK);
    t->aState[rq.tag] = DRV_TAG_INFLIGHT;
    struct drv_cpl cpl = {.tag = rq.tag};
    assert_int_equal(drv_tags_complete(t, &cpl), DRV_OK);
    assert_int_equal(drv_tags_reap(t, rq.tag, &out), DRV_OK);
    assert_int_equal(drv_tags_next_done(t, &out), DRV_EAGAIN);
    assert_int_equal(drv_tags_check(t), 0);
    free(t);
}

static void test_driver_table(void **state)
{
    (void)state;
    const struct drv_ops *d = drv_find("dmae");
    assert_non_null(d);
    assert_non_null(drv_find("nic"));
    assert_null(drv_find("dma"));
    assert_null(drv_find("dmae2"));
    unsigned n = 0;
    for (const struct drv_ops *const *o = drv_all(); *o; o++, n++) {
        assert_non_null((*o)->probe);
        assert_non_null((*o)->start);
        assert_non_null((*o)->submit);
        assert_non_null((*o)->quiesce);
        assert_non_null((*o)->reset);
        assert_non_null((*o)->remove);
        assert_non_null((*o)->aMatch);
        assert_int_not_equal((*o)->aMatch[0].mask, 0);
        assert_ptr_equal(drv_find((*o)->name), *o);
    }
    assert_true(n >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_depth),
        cmocka_unit_test(test_complete_once),
        cmocka_unit_test(test_check_catches),
        cmocka_unit_test(test_completion_order),
        cmocka_unit_test(test_driver_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
