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
#include "hub_board.h"

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
    /* The wall's snapshot encoded under the old setting is gone (the board's own stays: it
     * is the held board); the held events re-masked. */
    assert_non_null(d->board_cache);
    assert_null(d->wall_cache);
    f = hub_department_frame(d, 2);
    assert_non_null(f);
    assert_non_null(f->wall);
    hub_events_free(list);
}

/* Event seq of department 1 changing encounter 4 (a full row, as the board model needs). */
static struct hub_event *row_event(long long seq, int esi)
{
    char json[256];

    snprintf(json, sizeof json,
             "{\"type\":\"event\",\"seq\":%lld,\"payload\":{\"encounter\":{\"encounter_id\":4,"
             "\"department_id\":1,\"status\":\"waiting\",\"esi\":%d,\"similar_name\":[]}}}",
             seq, esi);
    return hub_event_new(1, seq, 4, json, strlen(json));
}

static bool cache_has(const struct hub_department *d, const char *text)
{
    char *copy = strndup((const char *)d->board_cache->data + LWS_PRE, d->board_cache->len);
    bool found = copy && strstr(copy, text);

    free(copy);
    return found;
}

/* Between snapshots a board is held only as its snapshot frame's text (no jansson tree); a
 * newer snapshot parses it back and brings it forward with the ring's events, no read. */
static void test_board_held_as_text(void **state)
{
    struct hub_department *d = fresh();
    struct hub_event *e;

    (void)state;
    hub.board_max_age_s = 3600;
    e = row_event(1, 2);
    hub_department_add_events(d, e);
    hub_events_free(e);
    hub_board_install(d, json_pack("{s:I,s:[],s:[]}", "seq", (json_int_t)0, "encounters", "beds"),
                      0);
    assert_true(hub_board_snapshot(&hub, d));
    assert_null(d->board);
    assert_int_equal(d->board_cache_seq, 1);
    assert_true(cache_has(d, "\"esi\":2"));

    e = row_event(2, 1); /* re-triaged */
    hub_department_add_events(d, e);
    hub_events_free(e);
    assert_true(hub_board_snapshot(&hub, d));
    assert_null(d->board);
    assert_int_equal(d->board_cache_seq, 2);
    assert_true(cache_has(d, "\"esi\":1"));
    assert_false(cache_has(d, "\"esi\":2"));
    assert_false(d->board_stale);

    /* The wall's twin is masked from the same held board. */
    assert_true(hub_board_wall_snapshot(&hub, d));
    assert_non_null(d->wall_cache);
    assert_null(d->board);
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
        cmocka_unit_test(test_board_held_as_text),
        cmocka_unit_test(test_departments_are_bounded),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    for (int i = 0; i < hub.ndepts; i++)
        hub_department_free(&hub.depts[i]);
    return failed;
}
