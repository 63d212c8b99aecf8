/* SPDX-License-Identifier: MIT */
/* test_ews.c: the score a screen shows from the latest reading of each parameter: a partial
 * set never hides a worse complete score, 7+ is continuous monitoring, due times count from the
 * oldest input, scale 2 without its oxygen flag is never scored as air, decimals round half up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ews.h"

#define T0 1700000000LL

static void set(struct ews_inputs *in, enum news2_param p, double v, long long at)
{
    in->reading[p] = (struct ews_reading){true, v, at};
    if (at > in->latest_entry_at)
        in->latest_entry_at = at;
}

/* A full set scoring 9: RR 26 (3), SpO2 90 (3), air (0), SBP 95 (2), HR 95 (1), A, 37.0. */
static struct ews_inputs full_set_scoring_9(long long at)
{
    struct ews_inputs in = {0};

    set(&in, NEWS2_RESP_RATE, 26, at);
    set(&in, NEWS2_SPO2, 90, at);
    set(&in, NEWS2_ON_OXYGEN, 0, at);
    set(&in, NEWS2_SYSTOLIC_BP, 95, at);
    set(&in, NEWS2_HEART_RATE, 95, at);
    set(&in, NEWS2_CONSCIOUSNESS, 'A', at);
    set(&in, NEWS2_TEMPERATURE, 37.0, at);
    return in;
}

static void test_complete_set(void **state)
{
    struct ews_inputs in = full_set_scoring_9(T0);
    struct ews_outcome out;

    (void)state;
    ews_news2(&in, NULL, &out);
    assert_true(out.shown.complete);
    assert_int_equal(out.shown.total, 9);
    assert_int_equal(out.shown.band, NEWS2_BAND_HIGH);
    assert_int_equal(out.shown.reassess_min, 0); /* continuous */
    assert_true(out.has_last_complete);
    assert_int_equal(out.last_complete.total, 9);
    assert_false(out.floored);
}

/* The case: a heart-rate-only set after the full set. Within the window the other six
 * readings still count: the score stays 9, high, continuous. */
static void test_partial_set_within_window_keeps_the_others(void **state)
{
    struct ews_inputs in = full_set_scoring_9(T0);
    struct ews_outcome out;

    (void)state;
    set(&in, NEWS2_HEART_RATE, 80, T0 + 600); /* 0 instead of 1 */
    ews_news2(&in, NULL, &out);
    assert_true(out.shown.complete);
    assert_int_equal(out.shown.total, 8);
    assert_int_equal(out.shown.band, NEWS2_BAND_HIGH);
    assert_int_equal(out.shown.reassess_min, 0);
    assert_int_equal(out.oldest_input_at, T0);
}

/* The others fell out of the window: only the heart rate is left, scoring 0. The shown level
 * keeps the last complete one's band and continuous monitoring. */
static void test_incomplete_never_below_last_complete(void **state)
{
    struct ews_inputs first = full_set_scoring_9(T0);
    struct ews_inputs later = {0};
    struct ews_outcome out1, out2;

    (void)state;
    ews_news2(&first, NULL, &out1);
    set(&later, NEWS2_HEART_RATE, 80, T0 + 5 * 3600);
    ews_news2(&later, &out1.last_complete, &out2);
    assert_false(out2.shown.complete);
    assert_int_equal(out2.current.total, 0);
    assert_int_equal(out2.shown.band, NEWS2_BAND_HIGH);
    assert_int_equal(out2.shown.reassess_min, 0);
    assert_true(out2.floored);
    assert_int_equal(out2.last_complete.total, 9); /* carried on until a complete one */

    /* Without a last complete score a partial one stands on its own. */
    ews_news2(&later, NULL, &out2);
    assert_int_equal(out2.shown.band, NEWS2_BAND_LOW);
    assert_int_equal(out2.shown.reassess_min, 720);
    assert_false(out2.floored);
}

/* A complete medium score (hourly), then a partial low one: the interval stays hourly and the
 * due time is the last complete one's, not one counted from the partial set. */
static void test_incomplete_never_lengthens_interval(void **state)
{
    struct ews_inputs in = {0};
    struct ews_outcome out1, out2;

    (void)state;
    set(&in, NEWS2_RESP_RATE, 22, T0);    /* 2 */
    set(&in, NEWS2_SPO2, 94, T0);         /* 1 */
    set(&in, NEWS2_ON_OXYGEN, 0, T0);     /* 0 */
    set(&in, NEWS2_SYSTOLIC_BP, 105, T0); /* 1 */
    set(&in, NEWS2_HEART_RATE, 100, T0);  /* 1 */
    set(&in, NEWS2_CONSCIOUSNESS, 'A', T0);
    set(&in, NEWS2_TEMPERATURE, 37.0, T0);
    ews_news2(&in, NULL, &out1);
    assert_int_equal(out1.shown.total, 5);
    assert_int_equal(out1.shown.band, NEWS2_BAND_MEDIUM);
    assert_int_equal(out1.shown.reassess_min, 60);
    assert_int_equal(out1.shown.base_at, T0);

    struct ews_inputs later = {0};
    set(&later, NEWS2_HEART_RATE, 70, T0 + 5 * 3600);
    ews_news2(&later, &out1.last_complete, &out2);
    assert_int_equal(out2.shown.band, NEWS2_BAND_MEDIUM);
    assert_int_equal(out2.shown.reassess_min, 60);
    assert_int_equal(out2.floor_due_at, T0 + 3600);
}

/* A complete score's clock runs from its oldest input: one value recorded later does not make
 * the rest look fresh. */
static void test_due_counts_from_oldest_input(void **state)
{
    struct ews_inputs in = full_set_scoring_9(T0);
    struct ews_outcome out;

    (void)state;
    /* make it a low score: all normal */
    set(&in, NEWS2_RESP_RATE, 16, T0);
    set(&in, NEWS2_SPO2, 98, T0);
    set(&in, NEWS2_SYSTOLIC_BP, 120, T0);
    set(&in, NEWS2_HEART_RATE, 70, T0 + 3000);
    ews_news2(&in, NULL, &out);
    assert_int_equal(out.shown.total, 0);
    assert_int_equal(out.shown.reassess_min, 720);
    assert_int_equal(out.shown.base_at, T0);
    assert_int_equal(out.oldest_input_at, T0);
}

static void test_scale2_without_flag_is_not_air(void **state)
{
    struct ews_inputs in = full_set_scoring_9(T0);
    struct ews_outcome out;

    (void)state;
    set(&in, NEWS2_SPO2, 97, T0); /* scale 2: 0 on air, 3 on oxygen */
    in.spo2_scale2 = true;
    in.spo2_flag_known = false;
    ews_news2(&in, NULL, &out);
    assert_int_equal(out.current.score[NEWS2_SPO2], 3);
    assert_false(out.shown.complete);
    assert_true(out.scale2_flag_unknown);

    in.spo2_flag_known = true;
    in.spo2_on_oxygen = false;
    ews_news2(&in, NULL, &out);
    assert_int_equal(out.current.score[NEWS2_SPO2], 0);
    assert_true(out.shown.complete);
}

static void test_rounding_half_up(void **state)
{
    struct ews_inputs in = {0};
    struct ews_outcome out;

    (void)state;
    assert_int_equal(ews_round(20.5), 21);
    assert_int_equal(ews_round(20.4), 20);
    assert_int_equal(ews_round(90.5), 91);
    set(&in, NEWS2_RESP_RATE, 20.5, T0); /* 21 -> 2 */
    ews_news2(&in, NULL, &out);
    assert_int_equal(out.current.score[NEWS2_RESP_RATE], 2);
    set(&in, NEWS2_RESP_RATE, 20.4, T0); /* 20 -> 0 */
    ews_news2(&in, NULL, &out);
    assert_int_equal(out.current.score[NEWS2_RESP_RATE], 0);
    set(&in, NEWS2_TEMPERATURE, 35.05, T0); /* 35.1 -> 1 */
    ews_news2(&in, NULL, &out);
    assert_int_equal(out.current.score[NEWS2_TEMPERATURE], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_set),
        cmocka_unit_test(test_partial_set_within_window_keeps_the_others),
        cmocka_unit_test(test_incomplete_never_below_last_complete),
        cmocka_unit_test(test_incomplete_never_lengthens_interval),
        cmocka_unit_test(test_due_counts_from_oldest_input),
        cmocka_unit_test(test_scale2_without_flag_is_not_air),
        cmocka_unit_test(test_rounding_half_up),
    };

    return cmocka_run_group_tests_name("ews", tests, NULL, NULL);
}
