/* SPDX-License-Identifier: MIT */
/* test_hub_board.c: ed-hub's board model (hub_board_apply, hub_board.h) against the shared
 * table proto/fixtures/board_events.json of (board, event) -> expected board, the table the
 * pages' web/js/board_model.js is tested with (web/tests/board_model.test.mjs). A case whose
 * expected is "stale", or marked hub "stale", must be refused (the hub then reads the board
 * afresh); cases marked only "web" are the wall's masked stream, which the hub never applies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_board.h"

#ifndef PROTO_DIR
#error "PROTO_DIR must name the proto/ folder (set by CMake)"
#endif

static json_t *cases;

static int load_cases(void **state)
{
    json_error_t error;
    json_t *table = json_load_file(PROTO_DIR "/fixtures/board_events.json", 0, &error);

    (void)state;
    if (!table) {
        fprintf(stderr, "board_events.json line %d: %s\n", error.line, error.text);
        return -1;
    }
    cases = json_incref(json_object_get(table, "cases"));
    json_decref(table);
    return json_array_size(cases) > 0 ? 0 : -1;
}

static int free_cases(void **state)
{
    (void)state;
    json_decref(cases);
    return 0;
}

static const char *str_at(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void check_case(const json_t *c)
{
    const char *name = str_at(c, "name");
    json_t *board = json_deep_copy(json_object_get(c, "board"));
    const json_t *event = json_object_get(c, "event");
    const json_t *expected = json_object_get(c, "expected");
    long long department_id = json_integer_value(json_object_get(event, "department_id"));
    bool stale = json_is_string(expected) || strcmp(str_at(c, "hub"), "stale") == 0;
    bool ok = hub_board_apply(board, department_id, event);

    if (stale) {
        if (ok)
            fail_msg("%s: applied, expected the hub to read the board afresh", name);
    } else {
        if (!ok)
            fail_msg("%s: refused (stale), expected it applied", name);
        if (!json_equal(board, (json_t *)expected)) {
            char *got = json_dumps(board, JSON_COMPACT | JSON_SORT_KEYS);
            char *want = json_dumps(expected, JSON_COMPACT | JSON_SORT_KEYS);
            print_error("%s\n got:  %s\n want: %s\n", name, got, want);
            free(got);
            free(want);
            fail_msg("%s: board differs from the expected one", name);
        }
        /* Its seq is in the board now: applying it again changes nothing. */
        assert_true(hub_board_apply(board, department_id, event));
        assert_true(json_equal(board, (json_t *)expected));
    }
    json_decref(board);
}

static void every_fixture_case(void **state)
{
    size_t i, checked = 0;
    json_t *c;

    (void)state;
    json_array_foreach (cases, i, c) {
        if (strcmp(str_at(c, "only"), "web") == 0)
            continue;
        check_case(c);
        checked++;
    }
    assert_true(checked >= 15);
}

static void event_without_seq_is_refused(void **state)
{
    json_t *board = json_pack("{s:I,s:[],s:[]}", "seq", (json_int_t)3, "encounters", "beds");
    json_t *event = json_pack("{s:I,s:{s:[]}}", "department_id", (json_int_t)1, "payload", "beds");

    (void)state;
    assert_false(hub_board_apply(board, 1, event));
    json_decref(event);
    json_decref(board);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_fixture_case),
        cmocka_unit_test(event_without_seq_is_refused),
    };

    return cmocka_run_group_tests(tests, load_cases, free_cases);
}
