/* SPDX-License-Identifier: MIT */
/* test_hub_department.c: what a change to a department's state reports (enum hub_change), so
 * the protocol layer can decide whom to wake: events read from PostgreSQL (in order, repeats,
 * a list starting past a gap), another department's events, and the wall setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub.h"

static struct hub hub;

/* A list of events first..last of department dept. */
static struct hub_event *events(long long dept, long long first, long long last)
{
    struct hub_event *head = NULL, **tail = &head;

    for (long long s = first; s <= last; s++) {
        char json[160];
        snprintf(json, sizeof json,
                 "{\"type\":\"event\",\"seq\":%lld,\"payload\":{\"encounter\":"
                 "{\"encounter_id\":4,\"status\":\"waiting\",\"initials\":\"A.B.\"}}}",
                 s);
        *tail = hub_event_new(dept, s, 4, json, strlen(json));
        tail = &(*tail)->next;
    }
    return head;
}

static struct hub_department *fresh(void)
{
    for (int i = 0; i < hub.ndepts; i++)
        hub_department_free(&hub.depts[i]);
    hub.ndepts = 0;
    return hub_department_add(&hub, 1, 0);
}

static void test_events_read_from_postgresql(void **state)
{
    struct hub_department *d = fresh();
    struct hub_event *list = events(1, 1, 5);

    (void)state;
    assert_int_equal(hub_department_add_events(d, list), HUB_CHANGE_TOP);
    assert_int_equal(d->top, 5);
    /* Read again (the ring moved on meanwhile): nothing changes. */
    assert_int_equal(hub_department_add_events(d, list), 0);
    hub_events_free(list);
    /* Overlapping: only the new ones are added. */
    list = events(1, 4, 8);
    assert_int_equal(hub_department_add_events(d, list), HUB_CHANGE_TOP);
    assert_int_equal(d->first, 1);
    assert_int_equal(d->top, 8);
    hub_events_free(list);
    /* The newest ring only, after a long outage: the ring restarts past the gap. */
    list = events(1, 100, 101);
    assert_int_equal(hub_department_add_events(d, list), HUB_CHANGE_TOP | HUB_CHANGE_RESET);
    assert_int_equal(d->first, 100);
    assert_int_equal(d->top, 101);
    hub_events_free(list);
}

static void test_other_departments_events_are_skipped(void **state)
{
    struct hub_department *d = fresh();
    struct hub_event *list = events(2, 1, 3);

    (void)state;
    assert_int_equal(hub_department_add_events(d, list), 0);
    assert_int_equal(d->top, 0);
    hub_events_free(list);
}

static void test_wall_setting(void **state)
{
    struct hub_department *d = fresh();
    struct hub_event *list = events(1, 1, 2);
    const struct hub_frame *f;

    (void)state;
    hub_department_add_events(d, list);
    d->board_cache = hub_shared_text_new("{}", 2);
    d->wall_cache = hub_shared_text_new("{}", 2);
    assert_int_equal(hub_department_set_wall_flags(d, false), 0); /* unchanged */
    assert_non_null(d->board_cache);
    assert_int_equal(hub_department_set_wall_flags(d, true), HUB_CHANGE_WALL_MASK);
    assert_true(d->wall_shows_flags);
    /* The snapshots encoded under the old setting are gone; the held events re-masked. */
    assert_null(d->board_cache);
    assert_null(d->wall_cache);
    f = hub_department_frame(d, 2);
    assert_non_null(f);
    assert_non_null(f->wall);
    hub_events_free(list);
}

static void test_departments_are_bounded(void **state)
{
    (void)state;
    fresh();
    for (long long id = 2; id <= HUB_MAX_DEPARTMENTS; id++)
        assert_non_null(hub_department_add(&hub, id, id));
    assert_null(hub_department_add(&hub, HUB_MAX_DEPARTMENTS + 1, 1)); /* logged, not served */
    assert_int_equal(hub.ndepts, HUB_MAX_DEPARTMENTS);
    assert_int_equal(hub_department_find(&hub, HUB_MAX_DEPARTMENTS)->id, HUB_MAX_DEPARTMENTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_read_from_postgresql),
        cmocka_unit_test(test_other_departments_events_are_skipped),
        cmocka_unit_test(test_wall_setting),
        cmocka_unit_test(test_departments_are_bounded),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    for (int i = 0; i < hub.ndepts; i++)
        hub_department_free(&hub.depts[i]);
    return failed;
}
