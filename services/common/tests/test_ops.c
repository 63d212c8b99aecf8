/* SPDX-License-Identifier: MIT */
/* test_ops.c: the Prometheus text of ops.c (histogram buckets, label escaping) and the answers
 * to /healthz, /readyz and /metrics before any check has run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ops.h"

static void test_histogram_text(void **state)
{
    static struct ops_histogram h;
    struct ops_text t = {0};

    (void)state;
    ops_observe_us(&h, 500);     /* 0.0005 s: the first bucket */
    ops_observe_us(&h, 2500);    /* exactly 0.0025: "le" is inclusive */
    ops_observe_us(&h, 7000000); /* 7 s: only +Inf */
    ops_histogram_lines(&t, "x_seconds", "route=\"/a\"", &h);
    assert_false(t.failed);
    assert_non_null(strstr(t.buf, "x_seconds_bucket{route=\"/a\",le=\"0.001\"} 1\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{route=\"/a\",le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{route=\"/a\",le=\"5\"} 2\n"));
    assert_non_null(strstr(t.buf, "x_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t.buf, "x_seconds_sum{route=\"/a\"} 7.003000\n"));
    assert_non_null(strstr(t.buf, "x_seconds_count{route=\"/a\"} 3\n"));
    free(t.buf);
}

static void test_histogram_without_labels(void **state)
{
    static struct ops_histogram h;
    struct ops_text t = {0};

    (void)state;
    ops_observe_us(&h, 20000);
    ops_histogram_lines(&t, "y_seconds", NULL, &h);
    assert_non_null(strstr(t.buf, "y_seconds_bucket{le=\"0.01\"} 0\n"));
    assert_non_null(strstr(t.buf, "y_seconds_bucket{le=\"0.025\"} 1\n"));
    assert_non_null(strstr(t.buf, "y_seconds_sum 0.020000\n"));
    assert_non_null(strstr(t.buf, "y_seconds_count 1\n"));
    free(t.buf);
}

static void test_label_escaping(void **state)
{
    char out[64];

    (void)state;
    ops_label(out, sizeof out, "route", "a\"b\\c\nd");
    assert_string_equal(out, "route=\"a\\\"b\\\\c\\nd\"");
    ops_label(out, 12, "route", "a long value cut short");
    assert_int_equal(out[strlen(out) - 1], '"'); /* still a closed label */
}

static void test_text_grows(void **state)
{
    struct ops_text t = {0};

    (void)state;
    for (int i = 0; i < 2000; i++)
        ops_sample(&t, "z_total", "k=\"v\"", i);
    assert_false(t.failed);
    assert_non_null(strstr(t.buf, "z_total{k=\"v\"} 1999\n"));
    free(t.buf);
}

static void test_answers_before_checks(void **state)
{
    struct ops_reply r;

    (void)state;
    assert_true(ops_is_ops_path("/healthz"));
    assert_true(ops_is_ops_path("/readyz?verbose=1"));
    assert_false(ops_is_ops_path("/healthzz"));
    assert_false(ops_is_ops_path("/api/v1/metrics"));

    assert_true(ops_answer("/healthz", &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    free(r.body);

    /* No check has run: not ready, and it says why. */
    assert_true(ops_answer("/readyz", &r));
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"failed\":[\"starting\"]"));
    free(r.body);

    assert_true(ops_answer("/metrics", &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE edlive_build_info gauge\n"));
    free(r.body);

    assert_false(ops_answer("/other", &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_text),
        cmocka_unit_test(test_histogram_without_labels),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_text_grows),
        cmocka_unit_test(test_answers_before_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
