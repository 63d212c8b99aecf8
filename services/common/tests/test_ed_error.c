/* SPDX-License-Identifier: MIT */
/* test_ed_error.c: the one error shape, {"error":{"status","code","field"|null,"message"}}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed_error.h"

/* Checks the shape and returns the inner object (borrowed from doc). */
static json_t *inner(json_t *doc)
{
    json_t *e;

    assert_non_null(doc);
    assert_true(json_is_object(doc));
    assert_int_equal(json_object_size(doc), 1);
    e = json_object_get(doc, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_object_size(e), 4);
    assert_true(json_is_integer(json_object_get(e, "status")));
    assert_true(json_is_string(json_object_get(e, "code")));
    assert_true(json_is_string(json_object_get(e, "message")));
    assert_non_null(json_object_get(e, "field"));
    return e;
}

static void test_with_field(void **state)
{
    struct ed_error err;
    json_t *doc, *e;

    (void)state;
    assert_false(
        ed_error_set(&err, ED_ERR_OUT_OF_RANGE, "heart_rate", "must be between %d and %d", 0, 300));
    doc = ed_error_json(&err);
    e = inner(doc);
    assert_int_equal(json_integer_value(json_object_get(e, "status")), 422);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "out_of_range");
    assert_string_equal(json_string_value(json_object_get(e, "field")), "heart_rate");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "must be between 0 and 300");
    json_decref(doc);
}

static void test_field_null_when_empty(void **state)
{
    struct ed_error err;
    json_t *doc, *e;
    char *text;

    (void)state;
    ed_error_set(&err, ED_ERR_MALFORMED_JSON, NULL, "the body is not valid JSON");
    assert_string_equal(err.field, "");
    doc = ed_error_json(&err);
    e = inner(doc);
    assert_true(json_is_null(json_object_get(e, "field")));
    json_decref(doc);

    ed_error_set(&err, ED_ERR_NOT_FOUND, "", "no such encounter");
    doc = ed_error_json(&err);
    e = inner(doc);
    assert_true(json_is_null(json_object_get(e, "field")));
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"error\":{\"code\":\"not_found\",\"field\":null,"
                              "\"message\":\"no such encounter\",\"status\":404}}");
    free(text);
    json_decref(doc);
}

static void test_dotted_field(void **state)
{
    struct ed_error err;
    json_t *doc;

    (void)state;
    ed_error_set(&err, ED_ERR_INVALID_VALUE, "patient.birth_date", "must be a calendar date");
    doc = ed_error_json(&err);
    assert_string_equal(json_string_value(json_object_get(inner(doc), "field")),
                        "patient.birth_date");
    json_decref(doc);
}

static void test_truncation(void **state)
{
    struct ed_error err;
    char longer[600];
    json_t *doc;

    (void)state;
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ed_error_set(&err, ED_ERR_UNKNOWN_FIELD, longer, "%s", longer);
    assert_int_equal(strlen(err.field), sizeof err.field - 1);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    doc = ed_error_json(&err);
    inner(doc);
    json_decref(doc);
}

/* A field longer than fits is cut; it must still be valid UTF-8 for the reply to render. */
static void test_truncation_utf8(void **state)
{
    struct ed_error err;
    char longer[201];
    json_t *doc;

    (void)state;
    for (size_t i = 0; i + 1 < sizeof longer; i += 2)
        memcpy(longer + i, "\xc3\xa9", 2); /* 100 x "é" */
    longer[sizeof longer - 1] = '\0';
    ed_error_set(&err, ED_ERR_UNKNOWN_FIELD, longer, "is not a known field");
    doc = ed_error_json(&err);
    assert_non_null(doc); /* the field was cut on a character boundary */
    inner(doc);
    json_decref(doc);
}

/* The status comes with the code: every code has exactly one. */
static void test_status_from_the_table(void **state)
{
    struct ed_error err;

    (void)state;
    ed_error_set(&err, ED_ERR_UNAVAILABLE, NULL, "try again");
    assert_int_equal(err.status, 503);
    assert_string_equal(err.code, "unavailable");
    ed_error_set(&err, ED_ERR_TOO_MANY_ATTEMPTS, NULL, "wait");
    assert_int_equal(err.status, 429);
    ed_error_set(&err, ED_ERR_TOTP_REQUIRED, "totp", "enter the code");
    assert_int_equal(err.status, 401);
    /* A code outside the table (a caller's bug) still reads as an error, never as success. */
    ed_error_set(&err, ED_OK, NULL, "bug");
    assert_int_equal(err.status, 503);
    ed_error_set(&err, ED_ERR_COUNT, NULL, "bug");
    assert_int_equal(err.status, 503);
    for (int i = 1; i < ED_ERR_COUNT; i++) {
        assert_true(ed_codes[i].status >= 400 && ed_codes[i].status < 600);
        assert_true(strlen(ed_codes[i].code) < 32);
        for (int j = 1; j < i; j++)
            assert_string_not_equal(ed_codes[i].code, ed_codes[j].code);
    }
}

/* The enum is generated from proto/README.md "Errors": every row, in order, nothing more. */
static void test_codes_are_the_contract(void **state)
{
    static char text[256 * 1024];
    FILE *f = fopen(PROTO_DIR "/README.md", "r");
    const char *at, *end;
    size_t n;

    (void)state;
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    at = strstr(text, "<!-- error-codes:begin");
    end = strstr(text, "<!-- error-codes:end");
    assert_non_null(at);
    assert_non_null(end);
    at = strstr(at, "|---|---|---|\n");
    assert_non_null(at);
    at += strlen("|---|---|---|\n");
    for (int i = 1; i < ED_ERR_COUNT; i++) {
        char row[512];
        size_t len = (size_t)snprintf(row, sizeof row, "| %d | `%s` | ", ed_codes[i].status,
                                      ed_codes[i].code);

        if (at >= end || strncmp(at, row, len) != 0)
            fail_msg("proto/README.md's error table should have, as row %d:\n%s", i, row);
        at = strchr(at, '\n') + 1;
    }
    assert_ptr_equal(at, end); /* and nothing more */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_from_the_table),
        cmocka_unit_test(test_codes_are_the_contract),
        cmocka_unit_test(test_with_field),
        cmocka_unit_test(test_field_null_when_empty),
        cmocka_unit_test(test_dotted_field),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_utf8),
    };

    return cmocka_run_group_tests_name("ed_error", tests, NULL, NULL);
}
