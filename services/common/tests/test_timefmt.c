/* SPDX-License-Identifier: MIT */
/* test_timefmt.c: the date and date-time formats on the wire (proto/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

#include "timefmt.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct time_case {
    const char *text;
    bool ok;
};

static void check_table(const char *what, bool (*is_ok)(const char *), const struct time_case *c,
                        size_t n)
{
    int failures = 0;

    for (size_t i = 0; i < n; i++) {
        bool got = is_ok(c[i].text);
        if (got != c[i].ok) {
            print_error("%s \"%s\": expected %s, got %s\n", what, c[i].text,
                        c[i].ok ? "accepted" : "refused", got ? "accepted" : "refused");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_date(void **state)
{
    static const struct time_case cases[] = {
        {"2024-02-29", true}, /* leap year */
        {"2023-02-28", true},
        {"2023-02-29", false},
        {"2023-02-30", false},
        {"2000-02-29", true},  /* divisible by 400 */
        {"1900-02-29", false}, /* divisible by 100, not by 400 */
        {"2100-02-29", false},
        {"1961-03-02", true},
        {"2026-01-31", true},
        {"2026-04-30", true},
        {"2026-04-31", false},
        {"2026-06-31", false},
        {"2026-09-31", false},
        {"2026-11-31", false},
        {"2026-12-31", true},
        {"2026-13-01", false},
        {"2026-00-10", false},
        {"2026-01-00", false},
        {"2026-01-32", false},
        {"1850-01-01", true}, /* the range is 1850-2999 */
        {"1849-12-31", false},
        {"2999-12-31", true},
        {"3000-01-01", false},
        {"0000-01-01", false},
        {"", false},
        {"2026", false},
        {"2026-1-01", false},
        {"2026-01-1", false},
        {"26-01-01", false},
        {"2026/01/01", false},
        {"2026-01-01 ", false},
        {" 2026-01-01", false},
        {"2026-01-01T00:00:00Z", false},
        {"02/03/1961", false},
        {"2026-0a-01", false},
        {"+026-01-01", false},
        {"2026-+1-01", false},
        {"2026-01-+1", false},
        {"２０２６-01-01", false}, /* fullwidth digits */
    };

    (void)state;
    check_table("date", timefmt_is_date, cases, ARRAY_LEN(cases));
}

static void test_datetime(void **state)
{
    static const struct time_case cases[] = {
        {"2026-11-25T08:14:00Z", true},
        {"2026-11-25t08:14:00z", true}, /* RFC 3339 allows lower case */
        {"2026-11-25T08:14:00+00:00", true},
        {"2026-11-25T08:14:00-05:00", true},
        {"2026-11-25T08:14:00+14:00", true},
        {"2026-11-25T08:14:00+23:59", true},
        {"2026-11-25T08:14:00+24:00", false},
        {"2026-11-25T08:14:00+05:60", false},
        {"2026-11-25T08:14:00.5Z", true},
        {"2026-11-25T08:14:00.123Z", true},
        {"2026-11-25T08:14:00.123456789Z", true},
        {"2026-11-25T08:14:00.1234567890Z", false}, /* at most 9 digits */
        {"2026-11-25T08:14:00.123+01:00", true},
        {"2026-11-25T08:14:00.Z", false},
        {"2026-11-25T08:14:00.", false},
        {"2026-11-25T08:14:00,5Z", false},
        {"2026-11-25T00:00:00Z", true},
        {"2026-11-25T23:59:59Z", true},
        {"2026-11-25T24:00:00Z", false}, /* bad hour */
        {"2026-11-25T25:00:00Z", false},
        {"2026-11-25T08:60:00Z", false},
        {"2026-11-25T08:14:60Z", false}, /* no leap seconds */
        {"2026-11-25T08:14:00", false},  /* no offset */
        {"2026-11-25T08:14Z", false},
        {"2026-11-25 08:14:00Z", false}, /* space instead of T */
        {"2026-11-25", false},
        {"2026-02-30T08:14:00Z", false},
        {"2024-02-29T08:14:00Z", true},
        {"2026-11-25T08:14:00+0100", false},
        {"2026-11-25T08:14:00+01", false},
        {"2026-11-25T08:14:00+01:00Z", false},
        {"2026-11-25T08:14:00ZZ", false},
        {"2026-11-25T08:14:00Z ", false},
        {"2026-11-25T8:14:00Z", false},
        {"2026-11-25T08:14:0Z", false},
        {"2026-11-25T08-14-00Z", false},
        {"2026-11-25T08:14:00UTC", false},
        {"2026-11-25T-8:14:00Z", false},
        {"", false},
        {"Z", false},
    };

    (void)state;
    check_table("date-time", timefmt_is_datetime, cases, ARRAY_LEN(cases));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_datetime),
    };

    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
