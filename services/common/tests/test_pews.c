/* SPDX-License-Identifier: MIT */
/* test_pews.c: every cut-off of Bedside PEWS table 1 (Parshuram 2009), on both sides, in each
 * age band, written from the paper's table (its wording is quoted above each row), not from
 * pews.c; the age-band edges; the total, completeness and edlive's response bands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pews.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct int_case {
    int value;
    int score;
};

static void check_band(const char *what, enum pews_age_band band,
                       int (*score)(enum pews_age_band, int), const struct int_case *cases,
                       size_t n)
{
    int failures = 0;

    for (size_t i = 0; i < n; i++) {
        int got = score(band, cases[i].value);
        if (got != cases[i].score) {
            print_error("%s (%s) %d: expected %d, got %d\n", what, pews_age_band_name(band),
                        cases[i].value, cases[i].score, got);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

#define CHECK(what, band, fn, ...)                             \
    do {                                                       \
        static const struct int_case cases_[] = {__VA_ARGS__}; \
        check_band(what, band, fn, cases_, ARRAY_LEN(cases_)); \
    } while (0)

/* ---- heart rate ---- */
static void test_heart_rate(void **state)
{
    (void)state;
    /* 0-3 months: 0 ">110 and <150" | 1 ">=150 or <=110" | 2 ">=180 or <=90" | 4 ">=190 or <=80" */
    CHECK("heart_rate", PEWS_AGE_UNDER_3M, pews_score_heart_rate, {80, 4}, {81, 2}, {90, 2},
          {91, 1}, {110, 1}, {111, 0}, {149, 0}, {150, 1}, {179, 1}, {180, 2}, {189, 2}, {190, 4});
    /* 3-12 months: 0 ">100 and <150" | 1 ">=150 or <=100" | 2 ">=170 or <=80" | 4 ">=180 or <=70"
     */
    CHECK("heart_rate", PEWS_AGE_3_TO_12M, pews_score_heart_rate, {70, 4}, {71, 2}, {80, 2},
          {81, 1}, {100, 1}, {101, 0}, {149, 0}, {150, 1}, {169, 1}, {170, 2}, {179, 2}, {180, 4});
    /* 1-4 years: 0 ">90 and <120" | 1 ">=120 or <=90" | 2 ">=150 or <=70" | 4 ">=170 or <=60" */
    CHECK("heart_rate", PEWS_AGE_1_TO_4Y, pews_score_heart_rate, {60, 4}, {61, 2}, {70, 2}, {71, 1},
          {90, 1}, {91, 0}, {119, 0}, {120, 1}, {149, 1}, {150, 2}, {169, 2}, {170, 4});
    /* 4-12 years: 0 ">70 and <110" | 1 ">=110 or <=70" | 2 ">=130 or <=60" | 4 ">150 or <=50" */
    CHECK("heart_rate", PEWS_AGE_4_TO_12Y, pews_score_heart_rate, {50, 4}, {51, 2}, {60, 2},
          {61, 1}, {70, 1}, {71, 0}, {109, 0}, {110, 1}, {129, 1}, {130, 2}, {150, 2}, {151, 4});
    /* >12 years: 0 ">60 and <100" | 1 ">=100 or <=60" | 2 ">=120 or <50" | 4 ">=140 or <=40" */
    CHECK("heart_rate", PEWS_AGE_OVER_12Y, pews_score_heart_rate, {40, 4}, {41, 2}, {49, 2},
          {50, 1}, {60, 1}, {61, 0}, {99, 0}, {100, 1}, {119, 1}, {120, 2}, {139, 2}, {140, 4});
}

/* ---- systolic blood pressure ---- */
static void test_systolic_bp(void **state)
{
    (void)state;
    /* 0-3 months: 0 ">60 and <80" | 1 ">=80 or <=60" | 2 ">=100 or <=50" | 4 ">=130 or <=45" */
    CHECK("systolic_bp", PEWS_AGE_UNDER_3M, pews_score_systolic_bp, {45, 4}, {46, 2}, {50, 2},
          {51, 1}, {60, 1}, {61, 0}, {79, 0}, {80, 1}, {99, 1}, {100, 2}, {129, 2}, {130, 4});
    /* 3-12 months: 0 ">80 and <100" | 1 ">=100 or <=80" | 2 ">=120 or <=70" | 4 ">=150 or <=60" */
    CHECK("systolic_bp", PEWS_AGE_3_TO_12M, pews_score_systolic_bp, {60, 4}, {61, 2}, {70, 2},
          {71, 1}, {80, 1}, {81, 0}, {99, 0}, {100, 1}, {119, 1}, {120, 2}, {149, 2}, {150, 4});
    /* 1-4 years: 0 ">90 and <110" | 1 ">=110 or <=90" | 2 ">=125 or <=75" | 4 ">=160 or <=65" */
    CHECK("systolic_bp", PEWS_AGE_1_TO_4Y, pews_score_systolic_bp, {65, 4}, {66, 2}, {75, 2},
          {76, 1}, {90, 1}, {91, 0}, {109, 0}, {110, 1}, {124, 1}, {125, 2}, {159, 2}, {160, 4});
    /* 4-12 years: 0 ">90 and <120" | 1 ">=120 or <=90" | 2 ">=140 or <=80" | 4 ">=170 or <=70" */
    CHECK("systolic_bp", PEWS_AGE_4_TO_12Y, pews_score_systolic_bp, {70, 4}, {71, 2}, {80, 2},
          {81, 1}, {90, 1}, {91, 0}, {119, 0}, {120, 1}, {139, 1}, {140, 2}, {169, 2}, {170, 4});
    /* >12 years: 0 ">100 and <130" | 1 ">=130 or <=100" | 2 ">=150 or <=85" | 4 ">=190 or <=75" */
    CHECK("systolic_bp", PEWS_AGE_OVER_12Y, pews_score_systolic_bp, {75, 4}, {76, 2}, {85, 2},
          {86, 1}, {100, 1}, {101, 0}, {129, 0}, {130, 1}, {149, 1}, {150, 2}, {189, 2}, {190, 4});
}

/* ---- respiratory rate ---- */
static void test_resp_rate(void **state)
{
    (void)state;
    /* 0-3 months: 0 ">29 and <61" | 1 ">=61 or <=29" | 2 ">=81 or <=19" | 4 ">=91 or <=15" */
    CHECK("resp_rate", PEWS_AGE_UNDER_3M, pews_score_resp_rate, {15, 4}, {16, 2}, {19, 2}, {20, 1},
          {29, 1}, {30, 0}, {60, 0}, {61, 1}, {80, 1}, {81, 2}, {90, 2}, {91, 4});
    /* 3-12 months: 0 ">24 and <51" | 1 ">=51 or <=24" | 2 ">=71 or <=19" | 4 ">=81 or <=15" */
    CHECK("resp_rate", PEWS_AGE_3_TO_12M, pews_score_resp_rate, {15, 4}, {16, 2}, {19, 2}, {20, 1},
          {24, 1}, {25, 0}, {50, 0}, {51, 1}, {70, 1}, {71, 2}, {80, 2}, {81, 4});
    /* 1-4 years: 0 ">19 and <41" | 1 ">=41 or <=19" | 2 ">=61 or <=15" | 4 ">=71 or <=12" */
    CHECK("resp_rate", PEWS_AGE_1_TO_4Y, pews_score_resp_rate, {12, 4}, {13, 2}, {15, 2}, {16, 1},
          {19, 1}, {20, 0}, {40, 0}, {41, 1}, {60, 1}, {61, 2}, {70, 2}, {71, 4});
    /* 4-12 years: 0 ">19 and <31" | 1 ">=31 or <=19" | 2 ">=41 or <=14" | 4 ">=51 or <=10" */
    CHECK("resp_rate", PEWS_AGE_4_TO_12Y, pews_score_resp_rate, {10, 4}, {11, 2}, {14, 2}, {15, 1},
          {19, 1}, {20, 0}, {30, 0}, {31, 1}, {40, 1}, {41, 2}, {50, 2}, {51, 4});
    /* >12 years: 0 ">11 and <17" | 1 ">=17 or <=11" | 2 ">=23 or <=10" | 4 ">=30 or <=9" */
    CHECK("resp_rate", PEWS_AGE_OVER_12Y, pews_score_resp_rate, {9, 4}, {10, 2}, {11, 1}, {12, 0},
          {16, 0}, {17, 1}, {22, 1}, {23, 2}, {29, 2}, {30, 4});
}

/* ---- items without age bands ---- */
static void test_other_items(void **state)
{
    (void)state;
    /* capillary refill: 0 "<3 sec" | 4 ">=3 sec" */
    assert_int_equal(pews_score_cap_refill(1.0), 0);
    assert_int_equal(pews_score_cap_refill(2.9), 0);
    assert_int_equal(pews_score_cap_refill(3.0), 4);
    assert_int_equal(pews_score_cap_refill(6.0), 4);
    /* respiratory effort: normal 0 | mild increase 1 | moderate 2 | severe or any apnoea 4 */
    assert_int_equal(pews_score_resp_effort(PEWS_EFFORT_NORMAL), 0);
    assert_int_equal(pews_score_resp_effort(PEWS_EFFORT_MILD), 1);
    assert_int_equal(pews_score_resp_effort(PEWS_EFFORT_MODERATE), 2);
    assert_int_equal(pews_score_resp_effort(PEWS_EFFORT_SEVERE), 4);
    /* saturation: 0 ">94" | 1 "91-94" | 2 "<=90" */
    assert_int_equal(pews_score_spo2(100), 0);
    assert_int_equal(pews_score_spo2(95), 0);
    assert_int_equal(pews_score_spo2(94), 1);
    assert_int_equal(pews_score_spo2(91), 1);
    assert_int_equal(pews_score_spo2(90), 2);
    assert_int_equal(pews_score_spo2(70), 2);
    /* oxygen therapy: room air 0 | "any - <4 L/min or <50%" 2 | ">=4 L/min or >=50%" 4 */
    assert_int_equal(pews_score_oxygen(false, false, 0), 0);
    assert_int_equal(pews_score_oxygen(true, true, 0.5), 2);
    assert_int_equal(pews_score_oxygen(true, true, 3.9), 2);
    assert_int_equal(pews_score_oxygen(true, true, 4.0), 4);
    assert_int_equal(pews_score_oxygen(true, true, 15.0), 4);
    assert_int_equal(pews_score_oxygen(true, false, 0), 2); /* flow unknown: the least */
}

/* ---- age bands by completed months ---- */
static void test_age_bands(void **state)
{
    (void)state;
    assert_int_equal(pews_age_band(0), PEWS_AGE_UNDER_3M);
    assert_int_equal(pews_age_band(2), PEWS_AGE_UNDER_3M);
    assert_int_equal(pews_age_band(3), PEWS_AGE_3_TO_12M);
    assert_int_equal(pews_age_band(11), PEWS_AGE_3_TO_12M);
    assert_int_equal(pews_age_band(12), PEWS_AGE_1_TO_4Y);
    assert_int_equal(pews_age_band(47), PEWS_AGE_1_TO_4Y);
    assert_int_equal(pews_age_band(48), PEWS_AGE_4_TO_12Y);
    assert_int_equal(pews_age_band(155), PEWS_AGE_4_TO_12Y); /* 12 years 11 months */
    assert_int_equal(pews_age_band(156), PEWS_AGE_OVER_12Y); /* 13th birthday */
    assert_int_equal(pews_age_band(191), PEWS_AGE_OVER_12Y); /* 15 years 11 months */
    assert_int_equal(pews_age_band(-1), PEWS_AGE_UNDER_3M);
    assert_string_equal(pews_age_band_name(PEWS_AGE_4_TO_12Y), "4_to_12y");
    assert_string_equal(pews_param_name(PEWS_CAP_REFILL), "cap_refill_s");
    assert_string_equal(pews_param_name(PEWS_OXYGEN), "on_oxygen");
}

/* The same heart rate scores differently across an age-band edge. */
static void test_same_value_across_bands(void **state)
{
    (void)state;
    assert_int_equal(pews_score_heart_rate(pews_age_band(155), 105), 0); /* 4-12 y */
    assert_int_equal(pews_score_heart_rate(pews_age_band(156), 105), 1); /* >12 y */
    assert_int_equal(pews_score_resp_rate(pews_age_band(11), 50), 0);    /* 3-12 m */
    assert_int_equal(pews_score_resp_rate(pews_age_band(12), 50), 1);    /* 1-4 y */
}

static struct pews_input normal_four_year_old(void)
{
    struct pews_input in = {
        .has_heart_rate = true,
        .has_systolic_bp = true,
        .has_cap_refill = true,
        .has_resp_rate = true,
        .has_resp_effort = true,
        .has_spo2 = true,
        .has_on_oxygen = true,
        .heart_rate = 100,
        .systolic_bp = 100,
        .cap_refill_s = 2,
        .resp_rate = 24,
        .resp_effort = PEWS_EFFORT_NORMAL,
        .spo2 = 98,
        .on_oxygen = false,
        .age_band = PEWS_AGE_4_TO_12Y,
    };
    return in;
}

static void test_compute_and_bands(void **state)
{
    struct pews_input in = normal_four_year_old();
    struct pews_result r;

    (void)state;
    pews_compute(&in, &r);
    assert_true(r.complete);
    assert_int_equal(r.total, 0);
    assert_int_equal(pews_band(&r), NEWS2_BAND_LOW);
    assert_int_equal(pews_reassess_minutes(&r), 720);

    in.heart_rate = 115; /* 1 */
    in.resp_rate = 35;   /* 1 */
    in.spo2 = 93;        /* 1 */
    pews_compute(&in, &r);
    assert_int_equal(r.total, 3);
    assert_int_equal(pews_band(&r), NEWS2_BAND_LOW);
    assert_int_equal(pews_reassess_minutes(&r), 240);

    in.resp_effort = PEWS_EFFORT_MILD; /* 4 */
    pews_compute(&in, &r);
    assert_int_equal(r.total, 4);
    assert_int_equal(pews_band(&r), NEWS2_BAND_MEDIUM);
    assert_int_equal(pews_reassess_minutes(&r), 60);

    in.cap_refill_s = 3.5; /* +4 = 8: the paper's alert threshold */
    pews_compute(&in, &r);
    assert_int_equal(r.score[PEWS_CAP_REFILL], 4);
    assert_int_equal(r.total, 8);
    assert_int_equal(pews_band(&r), NEWS2_BAND_HIGH);
    assert_int_equal(pews_reassess_minutes(&r), 0);
}

static void test_compute_maximum_and_missing(void **state)
{
    struct pews_input in = {
        .has_heart_rate = true,
        .has_systolic_bp = true,
        .has_cap_refill = true,
        .has_resp_rate = true,
        .has_resp_effort = true,
        .has_spo2 = true,
        .has_on_oxygen = true,
        .has_oxygen_flow = true,
        .heart_rate = 30,
        .systolic_bp = 30,
        .cap_refill_s = 5,
        .resp_rate = 5,
        .resp_effort = PEWS_EFFORT_SEVERE,
        .spo2 = 80,
        .on_oxygen = true,
        .oxygen_l_min = 10,
        .age_band = PEWS_AGE_1_TO_4Y,
    };
    struct pews_result r;

    (void)state;
    pews_compute(&in, &r);
    assert_true(r.complete);
    assert_int_equal(r.total, 26); /* the paper's range is 0-26 */

    in.has_cap_refill = false;
    in.has_resp_effort = false;
    pews_compute(&in, &r);
    assert_false(r.complete);
    assert_int_equal(r.score[PEWS_CAP_REFILL], -1);
    assert_int_equal(r.score[PEWS_RESP_EFFORT], -1);
    assert_int_equal(r.total, 18);

    /* On oxygen at an unknown flow: scored 2 and marked incomplete. */
    struct pews_input o2 = normal_four_year_old();
    o2.on_oxygen = true;
    pews_compute(&o2, &r);
    assert_int_equal(r.score[PEWS_OXYGEN], 2);
    assert_false(r.complete);
    o2.has_oxygen_flow = true;
    o2.oxygen_l_min = 2;
    pews_compute(&o2, &r);
    assert_true(r.complete);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heart_rate),
        cmocka_unit_test(test_systolic_bp),
        cmocka_unit_test(test_resp_rate),
        cmocka_unit_test(test_other_items),
        cmocka_unit_test(test_age_bands),
        cmocka_unit_test(test_same_value_across_bands),
        cmocka_unit_test(test_compute_and_bands),
        cmocka_unit_test(test_compute_maximum_and_missing),
    };

    return cmocka_run_group_tests_name("pews", tests, NULL, NULL);
}
