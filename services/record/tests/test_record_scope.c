/* SPDX-License-Identifier: MIT */
/* test_record_scope.c: the principal's scope as id arrays (issue 10, item 6): the bigint[]
 * parameters built from them, never cut short, and the department check; no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "record_internal.h"

static void test_literal(void **state)
{
    long long ids[] = {1, 22, 9007199254740993LL};
    char out[64];

    (void)state;
    assert_true(record_ids_literal(ids, 0, out, sizeof out));
    assert_string_equal(out, "{}");
    assert_true(record_ids_literal(ids, 3, out, sizeof out));
    assert_string_equal(out, "{1,22,9007199254740993}");
    /* Too small a buffer: refused and empty, never a shorter list. */
    assert_false(record_ids_literal(ids, 3, out, 10));
    assert_string_equal(out, "{}");
    assert_false(record_ids_literal(ids, 1, out, 2));
}

static void test_scope_params(void **state)
{
    struct principal p = {.account_id = 7};
    struct record_scope scope;

    (void)state;
    record_scope_params(NULL, &scope); /* the system: everything */
    assert_null(scope.departments);
    assert_null(scope.patients);

    for (int i = 0; i < RECORD_MAX_DEPARTMENTS; i++)
        p.departments[i] = 1000000000000LL + i;
    p.n_departments = RECORD_MAX_DEPARTMENTS;
    for (int i = 0; i < RECORD_MAX_GRANTS; i++)
        p.patients[i] = -9223372036854775807LL + i;
    p.n_patients = RECORD_MAX_GRANTS;
    record_scope_params(&p, &scope);
    assert_non_null(strstr(scope.departments, ",1000000000031}"));
    assert_int_equal(scope.patients[0], '{');
    assert_int_equal(scope.patients[strlen(scope.patients) - 1], '}');
    assert_non_null(strstr(scope.patients, "-9223372036854775744}"));

    p.n_departments = 0;
    p.n_patients = 0;
    assert_string_equal(record_scope_departments(&p, &scope), "{}");
    assert_string_equal(scope.patients, "{}");
}

static void test_in_department(void **state)
{
    struct principal p = {.departments = {2, 12}, .n_departments = 2};

    (void)state;
    assert_true(record_in_department(NULL, 5)); /* the system */
    assert_true(record_in_department(&p, 2));
    assert_true(record_in_department(&p, 12));
    assert_false(record_in_department(&p, 1)); /* "1" is in "{12}" as text: not an id */
    assert_false(record_in_department(&p, 21));
    assert_false(record_through_break_glass(&p, 12));
    assert_true(record_through_break_glass(&p, 1));
    assert_false(record_through_break_glass(NULL, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_scope_params),
        cmocka_unit_test(test_in_department),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
