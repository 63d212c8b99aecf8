/* SPDX-License-Identifier: MIT */
/* test_log.c: the log's lines (log.h): each JSON line parses back to what was logged, however
 * awkward the message (quotes, backslashes, newlines, control bytes), levels below the set one
 * are dropped, and fields keep their types. Lines are read back from EDLIVE_LOG_FILE's path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char path[64];

/* The lines written since the file was (re)started, parsed; the caller json_decref()s. */
static json_t *lines(void)
{
    json_t *all = json_array();
    char buf[16384];
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    while (fgets(buf, sizeof buf, f)) {
        json_error_t error;
        json_t *line = json_loads(buf, 0, &error);
        if (!line)
            fail_msg("not JSON: %s (%s)", buf, error.text);
        json_array_append_new(all, line);
    }
    fclose(f);
    return all;
}

static int fresh_file(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/edlive-test-log-%d.log", (int)getpid());
    unlink(path);
    assert_true(log_set_file(path));
    assert_true(log_set_format("json"));
    assert_true(log_set_level("info"));
    return 0;
}

static int remove_file(void **state)
{
    (void)state;
    log_set_file(NULL);
    unlink(path);
    return 0;
}

static void awkward_messages_round_trip(void **state)
{
    static const char *const messages[] = {
        "plain",           "a \"quoted\" word", "back\\slash", "two\nlines",
        "tab\tand bell\a", "\x7f del",          "unicode é ✓",
    };
    json_t *got;

    (void)state;
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
        log_info("%s", messages[i]);
    got = lines();
    assert_int_equal(json_array_size(got), sizeof messages / sizeof messages[0]);
    for (size_t i = 0; i < json_array_size(got); i++) {
        json_t *line = json_array_get(got, i);
        assert_string_equal(json_string_value(json_object_get(line, "msg")), messages[i]);
        assert_string_equal(json_string_value(json_object_get(line, "level")), "info");
        assert_non_null(json_string_value(json_object_get(line, "time")));
        assert_non_null(json_string_value(json_object_get(line, "service")));
    }
    json_decref(got);
}

static void levels_below_the_set_one_are_dropped(void **state)
{
    json_t *got;

    (void)state;
    assert_false(log_set_level("loud"));
    assert_string_equal(log_level_name(), "info");
    log_debug("not written");
    assert_true(log_set_level("warn"));
    log_info("not written either");
    log_warn("written");
    log_error("written too");
    assert_true(log_set_level("debug"));
    log_debug("now written");
    got = lines();
    assert_int_equal(json_array_size(got), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "level")),
                        "warn");
    assert_string_equal(json_string_value(json_object_get(json_array_get(got, 2), "msg")),
                        "now written");
    json_decref(got);
}

static void fields_keep_their_types(void **state)
{
    json_t *got, *line;

    (void)state;
    log_fields("info", "request", "request_id", "ab\"c", "status", LOG_NUM "201", "user_id",
               LOG_NULL, (const char *)NULL);
    got = lines();
    line = json_array_get(got, 0);
    assert_string_equal(json_string_value(json_object_get(line, "request_id")), "ab\"c");
    assert_int_equal(json_integer_value(json_object_get(line, "status")), 201);
    assert_true(json_is_null(json_object_get(line, "user_id")));
    json_decref(got);
}

/* logrotate moves the file and sends SIGHUP (log_reopen): later lines go to a new file at the
 * same path, none is lost or written to the moved one. */
static void reopen_after_rotation(void **state)
{
    char moved[80];
    json_t *got;

    (void)state;
    snprintf(moved, sizeof moved, "%s.1", path);
    log_info("before");
    assert_int_equal(rename(path, moved), 0);
    log_info("still to the moved file");
    log_reopen();
    log_info("after");
    got = lines();
    assert_int_equal(json_array_size(got), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "msg")), "after");
    json_decref(got);
    assert_int_equal(rename(moved, path), 0);
    got = lines();
    assert_int_equal(json_array_size(got), 2);
    json_decref(got);
}

/* time: RFC 3339 in UTC with milliseconds. */
static void time_is_utc_with_milliseconds(void **state)
{
    json_t *got;
    const char *t;
    int y, mo, d, h, mi, sec, ms;
    char z = 0;

    (void)state;
    log_info("when");
    got = lines();
    t = json_string_value(json_object_get(json_array_get(got, 0), "time"));
    assert_non_null(t);
    assert_int_equal(strlen(t), 24);
    assert_int_equal(
        sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z), 8);
    assert_int_equal(z, 'Z');
    json_decref(got);
}

/* X-Request-Id: what ed-api keeps and ed-hub logs; anything else must never reach a log line. */
static void request_ids_are_kept_only_when_sane(void **state)
{
    char longest[LOG_REQUEST_ID_MAX + 2];

    (void)state;
    assert_true(log_request_id_is_sane("0f3c9a7e5b1d4c2a8e6f0b9d7c5a3e1f", 32)); /* nginx's */
    assert_true(log_request_id_is_sane("client-7.retry_2", 16));
    memset(longest, 'a', sizeof longest);
    longest[LOG_REQUEST_ID_MAX] = '\0';
    assert_true(log_request_id_is_sane(longest, LOG_REQUEST_ID_MAX));
    longest[LOG_REQUEST_ID_MAX] = 'a';
    longest[LOG_REQUEST_ID_MAX + 1] = '\0';
    assert_false(log_request_id_is_sane(longest, LOG_REQUEST_ID_MAX + 1)); /* too long */
    assert_false(log_request_id_is_sane("", 0));
    assert_false(log_request_id_is_sane("ab cd", 5));
    assert_false(log_request_id_is_sane("ab\"}", 4));       /* would break a JSON line */
    assert_false(log_request_id_is_sane("ab\ncd", 5));      /* would forge a second line */
    assert_false(log_request_id_is_sane("Smith,John", 10)); /* a comma: not an id */
    assert_false(log_request_id_is_sane("ab\0cd", 5));      /* length and text disagree */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(awkward_messages_round_trip, fresh_file, remove_file),
        cmocka_unit_test_setup_teardown(levels_below_the_set_one_are_dropped, fresh_file,
                                        remove_file),
        cmocka_unit_test_setup_teardown(fields_keep_their_types, fresh_file, remove_file),
        cmocka_unit_test_setup_teardown(reopen_after_rotation, fresh_file, remove_file),
        cmocka_unit_test_setup_teardown(time_is_utc_with_milliseconds, fresh_file, remove_file),
        cmocka_unit_test(request_ids_are_kept_only_when_sane),
    };

    log_init("test-log");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
