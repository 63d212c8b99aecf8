/* SPDX-License-Identifier: MIT */
/* test_ed_error.c: the one error shape, {"error":{"status","code","field"|null,"message"}}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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
        ed_error_set(&err, 422, "out_of_range", "heart_rate", "must be between %d and %d", 0, 300));
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
    ed_error_set(&err, 400, "malformed_json", NULL, "the body is not valid JSON");
    assert_string_equal(err.field, "");
    doc = ed_error_json(&err);
    e = inner(doc);
    assert_true(json_is_null(json_object_get(e, "field")));
    json_decref(doc);

    ed_error_set(&err, 404, "not_found", "", "no such encounter");
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
    ed_error_set(&err, 422, "invalid_value", "patient.birth_date", "must be a calendar date");
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
    ed_error_set(&err, 422, "a_code_that_is_longer_than_thirty_one_chars", longer, "%s", longer);
    assert_int_equal(strlen(err.code), sizeof err.code - 1);
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
    ed_error_set(&err, 422, "unknown_field", longer, "is not a known field");
    doc = ed_error_json(&err);
    assert_non_null(doc); /* the field was cut on a character boundary */
    inner(doc);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_with_field),      cmocka_unit_test(test_field_null_when_empty),
        cmocka_unit_test(test_dotted_field),    cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_utf8),
    };

    return cmocka_run_group_tests_name("ed_error", tests, NULL, NULL);
}
