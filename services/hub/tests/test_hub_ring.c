/* SPDX-License-Identifier: MIT */
/* test_hub_ring.c: a department's ring of event frames (hub_department.c): append, frame
 * lookup, first..top contiguity, wraparound past HUB_RING_SIZE, a gap resetting the ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub.h"

static struct hub hub; /* static: the rings are large */

static unsigned add(struct hub_department *d, long long seq)
{
    char json[96];

    snprintf(json, sizeof json, "{\"type\":\"event\",\"seq\":%lld,\"payload\":{}}", seq);
    return hub_department_append(d, seq, seq * 10, json, strlen(json));
}

/* Every seq first..top is held, as itself, and nothing outside. */
static void assert_contiguous(const struct hub_department *d)
{
    assert_true(d->top - d->first + 1 <= HUB_RING_SIZE);
    for (long long s = d->first; s <= d->top; s++) {
        const struct hub_frame *f = hub_department_frame(d, s);
        assert_non_null(f);
        assert_int_equal(f->seq, s);
        assert_int_equal(f->encounter_id, s * 10);
    }
    assert_null(hub_department_frame(d, d->first - 1));
    assert_null(hub_department_frame(d, d->top + 1));
}

static struct hub_department *fresh(long long pg_top)
{
    for (int i = 0; i < hub.ndepts; i++)
        hub_department_free(&hub.depts[i]);
    hub.ndepts = 0;
    return hub_department_add(&hub, 7, pg_top);
}

static void test_empty_ring_starts_below_half_a_ring(void **state)
{
    struct hub_department *d = fresh(10000);

    (void)state;
    assert_ptr_equal(hub_department_find(&hub, 7), d);
    assert_null(hub_department_find(&hub, 8));
    assert_int_equal(d->top, 10000 - HUB_RING_SIZE / 2);
    assert_true(d->first > d->top); /* empty */
    assert_int_equal(d->checked_top, d->top);
    assert_null(hub_department_frame(d, d->top));
    d = fresh(5);
    assert_int_equal(d->top, 0);
}

static void test_append_and_lookup(void **state)
{
    struct hub_department *d = fresh(0);
    const struct hub_frame *f;

    (void)state;
    assert_int_equal(add(d, 1), HUB_CHANGE_TOP);
    assert_int_equal(add(d, 2), HUB_CHANGE_TOP);
    assert_int_equal(d->first, 1);
    assert_int_equal(d->top, 2);
    f = hub_department_frame(d, 2);
    assert_non_null(f);
    assert_memory_equal(f->data + LWS_PRE, "{\"type\":\"event\",\"seq\":2", 22);
    assert_non_null(f->wall); /* the masked twin, encoded once */
    assert_null(f->wall->wall);
    assert_int_equal(add(d, 2), 0); /* a repeat changes nothing */
    assert_int_equal(add(d, 1), 0);
    assert_int_equal(d->top, 2);
    assert_contiguous(d);
}

static void test_wraparound_keeps_the_newest_ring(void **state)
{
    struct hub_department *d = fresh(0);

    (void)state;
    for (long long s = 1; s <= 3 * HUB_RING_SIZE + 5; s++)
        assert_int_equal(add(d, s), HUB_CHANGE_TOP);
    assert_int_equal(d->top, 3 * HUB_RING_SIZE + 5);
    assert_int_equal(d->first, 2 * HUB_RING_SIZE + 6);
    assert_contiguous(d);
    assert_null(hub_department_frame(d, 5));
}

static void test_gap_resets_the_ring(void **state)
{
    struct hub_department *d = fresh(0);

    (void)state;
    for (long long s = 1; s <= 10; s++)
        add(d, s);
    assert_int_equal(add(d, 15), HUB_CHANGE_TOP | HUB_CHANGE_RESET);
    assert_int_equal(d->first, 15);
    assert_int_equal(d->top, 15);
    assert_null(hub_department_frame(d, 10));
    assert_int_equal(add(d, 16), HUB_CHANGE_TOP);
    assert_contiguous(d);
}

static void test_offer_from_redis(void **state)
{
    struct hub_department *d = fresh(0);
    struct hub_event *e1 = hub_event_new(7, 1, 3, "{\"seq\":1}", 9);
    struct hub_event *e3 = hub_event_new(7, 3, 3, "{\"seq\":3}", 9);

    (void)state;
    assert_int_equal(hub_department_offer(d, e1), HUB_CHANGE_TOP);
    assert_int_equal(hub_department_offer(d, e1), 0);
    /* A later seq is not held: the missing one must be read first. */
    assert_int_equal(hub_department_offer(d, e3), HUB_CHANGE_GAP);
    assert_int_equal(d->top, 1);
    hub_events_free(e1);
    hub_events_free(e3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_ring_starts_below_half_a_ring),
        cmocka_unit_test(test_append_and_lookup),
        cmocka_unit_test(test_wraparound_keeps_the_newest_ring),
        cmocka_unit_test(test_gap_resets_the_ring),
        cmocka_unit_test(test_offer_from_redis),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    for (int i = 0; i < hub.ndepts; i++)
        hub_department_free(&hub.depts[i]);
    return failed;
}
