/* SPDX-License-Identifier: MIT */
/* test_record_access.c: the record's access code that needs no database: the principal's
 * scope as id arrays (the bigint[] parameters built from them, never cut short; the department
 * check), the session token of a request and the client address behind the proxy. */
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

static void test_session_token(void **state)
{
    char token[64];
    bool from_cookie;

    (void)state;
    assert_true(record_session_token("Bearer abc", "__Host-edlive_session=zzz", token, sizeof token,
                                     &from_cookie));
    assert_string_equal(token, "abc");
    assert_false(from_cookie);
    assert_true(record_session_token(NULL, "a=1; __Host-edlive_session=xyz; b=2", token,
                                     sizeof token, &from_cookie));
    assert_string_equal(token, "xyz");
    assert_true(from_cookie);
    /* A cookie whose name only ends with ours is not ours. */
    assert_false(
        record_session_token("", "x__Host-edlive_session=evil", token, sizeof token, &from_cookie));
    assert_false(record_session_token(NULL, NULL, token, sizeof token, &from_cookie));
    assert_false(
        record_session_token(NULL, "__Host-edlive_session=", token, sizeof token, &from_cookie));
}

static void test_client_address(void **state)
{
    char addr[64];

    (void)state;
    record_client_address("127.0.0.1", "203.0.113.9", addr, sizeof addr);
    assert_string_equal(addr, "203.0.113.9");
    record_client_address("::ffff:127.0.0.1", "203.0.113.9", addr, sizeof addr);
    assert_string_equal(addr, "203.0.113.9");
    record_client_address("127.0.0.1", "", addr, sizeof addr); /* no header: the proxy */
    assert_string_equal(addr, "127.0.0.1");
    /* Anyone else's X-Real-IP is not believed. */
    record_client_address("198.51.100.7", "203.0.113.9", addr, sizeof addr);
    assert_string_equal(addr, "198.51.100.7");
    assert_false(record_trusted_proxy("127.0.0.2"));
    assert_true(record_trusted_proxy("::1")); /* the default: 127.0.0.1,::1 */
    assert_false(record_trusted_proxy("::2"));
    assert_false(record_trusted_proxy("not an address"));
}

/* EDLIVE_TRUSTED_PROXIES: the proxy of a Docker or Kubernetes network is another address. */
static void test_trusted_proxies(void **state)
{
    char addr[64];

    (void)state;
    assert_true(record_set_trusted_proxies("127.0.0.1, 10.42.0.0/16,fd00:ed::/64"));
    assert_true(record_trusted_proxy("10.42.7.9"));
    assert_true(record_trusted_proxy("::ffff:10.42.255.1")); /* IPv4 on an IPv6 socket */
    assert_false(record_trusted_proxy("10.43.0.1"));
    assert_true(record_trusted_proxy("fd00:ed::17"));
    assert_true(record_trusted_proxy("fd00:ed:0:0:ffff::1"));
    assert_false(record_trusted_proxy("fd00:ed:0:1::1"));
    assert_false(record_trusted_proxy("::1")); /* not in this list */
    record_client_address("10.42.0.5", "203.0.113.9", addr, sizeof addr);
    assert_string_equal(addr, "203.0.113.9");
    record_client_address("172.17.0.2", "203.0.113.9", addr, sizeof addr);
    assert_string_equal(addr, "172.17.0.2");
    /* A prefix that is not a whole byte, and host bits in an entry (cleared, as nginx does). */
    assert_true(record_set_trusted_proxies("192.168.1.77/26"));
    assert_true(record_trusted_proxy("192.168.1.64"));
    assert_true(record_trusted_proxy("192.168.1.127"));
    assert_false(record_trusted_proxy("192.168.1.128"));
    assert_false(record_trusted_proxy("192.168.1.63"));
    assert_true(record_set_trusted_proxies("0.0.0.0/0")); /* everyone (IPv4) */
    assert_true(record_trusted_proxy("198.51.100.7"));
    assert_false(record_trusted_proxy("2001:db8::1"));

    /* Malformed lists are refused and the list in force stays. */
    assert_false(record_set_trusted_proxies("10.0.0.0/33"));
    assert_false(record_set_trusted_proxies("::/129"));
    assert_false(record_set_trusted_proxies("nginx"));
    assert_false(record_set_trusted_proxies("10.0.0.0/"));
    assert_false(record_set_trusted_proxies("10.0.0.0/-1"));
    assert_false(record_set_trusted_proxies("127.0.0.1,,::1"));
    assert_false(record_set_trusted_proxies("127.0.0.1;::1"));
    assert_false(record_set_trusted_proxies("10.1"));
    assert_true(record_trusted_proxy("198.51.100.7"));

    assert_true(record_set_trusted_proxies("127.0.0.1,::1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),        cmocka_unit_test(test_scope_params),
        cmocka_unit_test(test_in_department),  cmocka_unit_test(test_session_token),
        cmocka_unit_test(test_client_address), cmocka_unit_test(test_trusted_proxies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
