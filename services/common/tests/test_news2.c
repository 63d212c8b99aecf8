/* SPDX-License-Identifier: MIT */
/* test_news2.c: every boundary of RCP NEWS2 chart 1 (ed-domain.md 3.2), written from the table,
 * not from news2.c, and the aggregate of news2_compute with the chart 4 response bands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "news2.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct int_case {
    int value;
    int score;
};

struct temp_case {
    double value;
    int score;
};

/* Fails naming the value, so a table row that breaks is found at once. */
static void check_int_table(const char *what, int (*score)(int), const struct int_case *cases,
                            size_t n)
{
    int failures = 0;

    for (size_t i = 0; i < n; i++) {
        int got = score(cases[i].value);
        if (got != cases[i].score) {
            print_error("%s %d: expected %d, got %d\n", what, cases[i].value, cases[i].score, got);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ---- respiration rate: <=8 3 | 9-11 1 | 12-20 0 | 21-24 2 | >=25 3 ---- */

static void test_resp_rate(void **state)
{
    static const struct int_case cases[] = {
        {0, 3},  {5, 3},  {8, 3},  {9, 1},  {10, 1}, {11, 1}, {12, 0},
        {16, 0}, {20, 0}, {21, 2}, {24, 2}, {25, 3}, {40, 3}, {80, 3},
    };

    (void)state;
    check_int_table("resp_rate", news2_score_resp_rate, cases, ARRAY_LEN(cases));
}

/* ---- SpO2 scale 1: <=91 3 | 92-93 2 | 94-95 1 | >=96 0 ---- */

static void test_spo2_scale1(void **state)
{
    static const struct int_case cases[] = {
        {0, 3},  {50, 3}, {91, 3}, {92, 2}, {93, 2},  {94, 1},
        {95, 1}, {96, 0}, {97, 0}, {99, 0}, {100, 0},
    };

    (void)state;
    check_int_table("spo2 scale 1", news2_score_spo2_scale1, cases, ARRAY_LEN(cases));
}

/* ---- SpO2 scale 2: <=83 3 | 84-85 2 | 86-87 1 | 88-92 or >=93 on air 0 |
 *      93-94 on O2 1 | 95-96 on O2 2 | >=97 on O2 3 ---- */

struct spo2_scale2_case {
    int spo2;
    int on_air;
    int on_o2;
};

static void test_spo2_scale2(void **state)
{
    static const struct spo2_scale2_case cases[] = {
        {0, 3, 3},  {70, 3, 3}, {83, 3, 3}, {84, 2, 2}, {85, 2, 2}, {86, 1, 1},
        {87, 1, 1}, {88, 0, 0}, {90, 0, 0}, {92, 0, 0}, {93, 0, 1}, {94, 0, 1},
        {95, 0, 2}, {96, 0, 2}, {97, 0, 3}, {98, 0, 3}, {99, 0, 3}, {100, 0, 3},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int air = news2_score_spo2_scale2(cases[i].spo2, false);
        int o2 = news2_score_spo2_scale2(cases[i].spo2, true);
        if (air != cases[i].on_air || o2 != cases[i].on_o2) {
            print_error("spo2 scale 2 %d: expected air %d / O2 %d, got %d / %d\n", cases[i].spo2,
                        cases[i].on_air, cases[i].on_o2, air, o2);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ---- systolic BP: <=90 3 | 91-100 2 | 101-110 1 | 111-219 0 | >=220 3 ---- */

static void test_systolic_bp(void **state)
{
    static const struct int_case cases[] = {
        {0, 3},   {60, 3},  {90, 3},  {91, 2},  {100, 2}, {101, 1}, {110, 1},
        {111, 0}, {120, 0}, {219, 0}, {220, 3}, {250, 3}, {300, 3},
    };

    (void)state;
    check_int_table("systolic_bp", news2_score_systolic_bp, cases, ARRAY_LEN(cases));
}

/* ---- pulse: <=40 3 | 41-50 1 | 51-90 0 | 91-110 1 | 111-130 2 | >=131 3 ---- */

static void test_heart_rate(void **state)
{
    static const struct int_case cases[] = {
        {0, 3},  {30, 3}, {40, 3},  {41, 1},  {50, 1},  {51, 0},  {72, 0},
        {90, 0}, {91, 1}, {110, 1}, {111, 2}, {130, 2}, {131, 3}, {300, 3},
    };

    (void)state;
    check_int_table("heart_rate", news2_score_heart_rate, cases, ARRAY_LEN(cases));
}

/* ---- ACVPU: A 0 | C, V, P, U 3 ---- */

static void test_consciousness(void **state)
{
    (void)state;
    assert_int_equal(news2_score_consciousness('A'), 0);
    assert_int_equal(news2_score_consciousness('C'), 3);
    assert_int_equal(news2_score_consciousness('V'), 3);
    assert_int_equal(news2_score_consciousness('P'), 3);
    assert_int_equal(news2_score_consciousness('U'), 3);
}

/* ---- temperature: <=35.0 3 | 35.1-36.0 1 | 36.1-38.0 0 | 38.1-39.0 1 | >=39.1 2,
 *      scored at the charted precision (1 decimal, half up) ---- */

static void test_temperature(void **state)
{
    static const struct temp_case cases[] = {
        {25.0, 3},
        {34.9, 3},
        {35.0, 3},
        {35.1, 1},
        {35.5, 1},
        {36.0, 1},
        {36.1, 0},
        {37.0, 0},
        {38.0, 0},
        {38.1, 1},
        {38.5, 1},
        {39.0, 1},
        {39.1, 2},
        {40.0, 2},
        {45.0, 2},
        /* between the charted tenths: rounded to 1 decimal first */
        {35.04, 3},
        {35.049, 3},
        {35.05, 1},
        {35.06, 1},
        {34.96, 3},
        {36.04, 1},
        {36.05, 0},
        {38.04, 0},
        {38.05, 1},
        {39.04, 1},
        {39.05, 2},
        {35.0000001, 3},
        {35.0999, 1},
        {34.95, 3},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int got = news2_score_temperature(cases[i].value);
        if (got != cases[i].score) {
            print_error("temperature %.4f: expected %d, got %d\n", cases[i].value, cases[i].score,
                        got);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_param_names(void **state)
{
    (void)state;
    assert_string_equal(news2_param_name(NEWS2_RESP_RATE), "resp_rate");
    assert_string_equal(news2_param_name(NEWS2_SPO2), "spo2");
    assert_string_equal(news2_param_name(NEWS2_ON_OXYGEN), "on_oxygen");
    assert_string_equal(news2_param_name(NEWS2_SYSTOLIC_BP), "systolic_bp");
    assert_string_equal(news2_param_name(NEWS2_HEART_RATE), "heart_rate");
    assert_string_equal(news2_param_name(NEWS2_CONSCIOUSNESS), "consciousness");
    assert_string_equal(news2_param_name(NEWS2_TEMPERATURE), "temperature_c");
    assert_string_equal(news2_param_name(NEWS2_PARAM_COUNT), "?");
}

/* ---- news2_compute ---- */

/* A full set that scores 0 everywhere: RR 16, SpO2 98, air, SBP 120, HR 72, A, 37.0. */
static struct news2_input normal_set(void)
{
    struct news2_input in = {
        .has_resp_rate = true,
        .has_spo2 = true,
        .has_on_oxygen = true,
        .has_systolic_bp = true,
        .has_heart_rate = true,
        .has_consciousness = true,
        .has_temperature = true,
        .resp_rate = 16,
        .spo2 = 98,
        .on_oxygen = false,
        .systolic_bp = 120,
        .heart_rate = 72,
        .consciousness = 'A',
        .temperature_c = 37.0,
    };
    return in;
}

static void test_compute_all_normal(void **state)
{
    struct news2_input in = normal_set();
    struct news2_result r;

    (void)state;
    news2_compute(&in, &r);
    assert_int_equal(r.total, 0);
    assert_true(r.complete);
    assert_false(r.any_single_3);
    for (int p = 0; p < NEWS2_PARAM_COUNT; p++)
        assert_int_equal(r.score[p], 0);
}

static void test_compute_sub_scores(void **state)
{
    /* The README's example: RR 24 (2), SpO2 93 (2), air (0), SBP 92 (2), HR 118 (2), A (0),
     * 38.4 (1) = 9. */
    struct news2_input in = normal_set();
    struct news2_result r;

    (void)state;
    in.resp_rate = 24;
    in.spo2 = 93;
    in.systolic_bp = 92;
    in.heart_rate = 118;
    in.temperature_c = 38.4;
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_RESP_RATE], 2);
    assert_int_equal(r.score[NEWS2_SPO2], 2);
    assert_int_equal(r.score[NEWS2_ON_OXYGEN], 0);
    assert_int_equal(r.score[NEWS2_SYSTOLIC_BP], 2);
    assert_int_equal(r.score[NEWS2_HEART_RATE], 2);
    assert_int_equal(r.score[NEWS2_CONSCIOUSNESS], 0);
    assert_int_equal(r.score[NEWS2_TEMPERATURE], 1);
    assert_int_equal(r.total, 9);
    assert_true(r.complete);
    assert_false(r.any_single_3);
}

static void test_compute_maximum(void **state)
{
    /* Worst of every row: 3+3+2+3+3+3+3 = 20, the top of the 0-20 range. */
    struct news2_input in = normal_set();
    struct news2_result r;

    (void)state;
    in.resp_rate = 30;
    in.spo2 = 85;
    in.on_oxygen = true;
    in.systolic_bp = 80;
    in.heart_rate = 140;
    in.consciousness = 'U';
    in.temperature_c = 34.0;
    news2_compute(&in, &r);
    assert_int_equal(r.total, 20);
    assert_true(r.complete);
    assert_true(r.any_single_3);
}

static void test_compute_oxygen(void **state)
{
    struct news2_input in = normal_set();
    struct news2_result r;

    (void)state;
    in.on_oxygen = true;
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_ON_OXYGEN], 2);
    assert_int_equal(r.total, 2);
    assert_false(r.any_single_3);

    in.on_oxygen = false;
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_ON_OXYGEN], 0);
    assert_int_equal(r.total, 0);
}

static void test_compute_missing_parameter(void **state)
{
    struct news2_input in = normal_set();
    struct news2_result r;

    (void)state;
    in.has_temperature = false;
    in.heart_rate = 120; /* 2 */
    news2_compute(&in, &r);
    assert_false(r.complete);
    assert_int_equal(r.score[NEWS2_TEMPERATURE], -1);
    assert_int_equal(r.total, 2); /* sum of the sub-scores present */

    /* Each parameter on its own makes the set incomplete. */
    for (int p = 0; p < NEWS2_PARAM_COUNT; p++) {
        struct news2_input one = normal_set();
        bool *flags[NEWS2_PARAM_COUNT] = {
            [NEWS2_RESP_RATE] = &one.has_resp_rate,
            [NEWS2_SPO2] = &one.has_spo2,
            [NEWS2_ON_OXYGEN] = &one.has_on_oxygen,
            [NEWS2_SYSTOLIC_BP] = &one.has_systolic_bp,
            [NEWS2_HEART_RATE] = &one.has_heart_rate,
            [NEWS2_CONSCIOUSNESS] = &one.has_consciousness,
            [NEWS2_TEMPERATURE] = &one.has_temperature,
        };
        *flags[p] = false;
        news2_compute(&one, &r);
        assert_false(r.complete);
        assert_int_equal(r.score[p], -1);
        for (int q = 0; q < NEWS2_PARAM_COUNT; q++)
            if (q != p)
                assert_int_equal(r.score[q], 0);
        assert_int_equal(r.total, 0);
    }
}

static void test_compute_nothing_taken(void **state)
{
    struct news2_input in = {0};
    struct news2_result r;

    (void)state;
    news2_compute(&in, &r);
    assert_false(r.complete);
    assert_false(r.any_single_3);
    assert_int_equal(r.total, 0);
    for (int p = 0; p < NEWS2_PARAM_COUNT; p++)
        assert_int_equal(r.score[p], -1);
}

static void test_compute_scale2(void **state)
{
    struct news2_input in = normal_set();
    struct news2_result r;

    (void)state;
    in.use_scale2 = true;
    in.spo2 = 97;
    in.on_oxygen = true; /* >=97 on O2: 3, plus 2 for oxygen */
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 3);
    assert_int_equal(r.total, 5);
    assert_true(r.any_single_3);

    in.on_oxygen = false; /* >=93 on air: 0 */
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 0);
    assert_int_equal(r.total, 0);

    in.on_oxygen = true; /* air/O2 not recorded: scale 2 cannot assume oxygen */
    in.has_on_oxygen = false;
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 0);
    assert_false(r.complete);

    in = normal_set(); /* default scale 1: 90 scores 3 */
    in.spo2 = 90;
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 3);
}

/* ---- chart 4 response bands, from totals of full vitals sets ----
 * Risk (ed-domain.md 3.2): 0-4 low, a 3 in any single parameter low-medium, 5-6 medium,
 * >= 7 high. Monitoring frequency: 0 -> 12-hourly (720 min); 1-4 -> 4-6-hourly, we take the
 * shorter (240); single 3 -> hourly (60); 5-6 -> hourly (60); >= 7 -> continuous, shown as
 * 15 min. */

struct band_case {
    const char *name;
    int rr, spo2, o2, sbp, hr;
    char acvpu;
    double temp;
    int total;
    bool single_3;
    enum news2_band band;
    const char *band_name;
    int reassess_min;
};

static void test_response_bands(void **state)
{
    static const struct band_case cases[] = {
        {"all normal", 16, 98, 0, 120, 72, 'A', 37.0, 0, false, NEWS2_BAND_LOW, "low", 720},
        {"total 1 (HR 95)", 16, 98, 0, 120, 95, 'A', 37.0, 1, false, NEWS2_BAND_LOW, "low", 240},
        {"total 2 (oxygen)", 16, 98, 1, 120, 72, 'A', 37.0, 2, false, NEWS2_BAND_LOW, "low", 240},
        {"total 4 (RR 22, SpO2 93)", 22, 93, 0, 120, 72, 'A', 37.0, 4, false, NEWS2_BAND_LOW, "low",
         240},
        {"single 3 (new confusion)", 16, 98, 0, 120, 72, 'C', 37.0, 3, true, NEWS2_BAND_LOW_MEDIUM,
         "low_medium", 60},
        {"single 3 (SBP 90) + 1", 16, 98, 0, 90, 95, 'A', 37.0, 4, true, NEWS2_BAND_LOW_MEDIUM,
         "low_medium", 60},
        {"single 3 (temp 35.0)", 16, 98, 0, 120, 72, 'A', 35.0, 3, true, NEWS2_BAND_LOW_MEDIUM,
         "low_medium", 60},
        {"single 3 (RR 8)", 8, 98, 0, 120, 72, 'A', 37.0, 3, true, NEWS2_BAND_LOW_MEDIUM,
         "low_medium", 60},
        {"total 5", 22, 94, 1, 120, 72, 'A', 37.0, 5, false, NEWS2_BAND_MEDIUM, "medium", 60},
        {"total 6", 22, 93, 1, 120, 72, 'A', 37.0, 6, false, NEWS2_BAND_MEDIUM, "medium", 60},
        {"total 5 with a single 3", 25, 98, 1, 120, 72, 'A', 37.0, 5, true, NEWS2_BAND_MEDIUM,
         "medium", 60},
        {"total 7", 22, 93, 1, 105, 72, 'A', 37.0, 7, false, NEWS2_BAND_HIGH, "high", 15},
        {"total 9 (README example)", 24, 93, 0, 92, 118, 'A', 38.4, 9, false, NEWS2_BAND_HIGH,
         "high", 15},
        {"total 17", 25, 91, 1, 100, 120, 'V', 39.5, 17, true, NEWS2_BAND_HIGH, "high", 15},
        {"total 20 (maximum)", 8, 91, 1, 90, 131, 'U', 35.0, 20, true, NEWS2_BAND_HIGH, "high", 15},
    };
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct band_case *c = &cases[i];
        struct news2_input in = normal_set();
        struct news2_result r;

        in.resp_rate = c->rr;
        in.spo2 = c->spo2;
        in.on_oxygen = c->o2;
        in.systolic_bp = c->sbp;
        in.heart_rate = c->hr;
        in.consciousness = c->acvpu;
        in.temperature_c = c->temp;
        news2_compute(&in, &r);
        if (!r.complete || r.total != c->total || r.any_single_3 != c->single_3 ||
            news2_band(&r) != c->band || strcmp(news2_band_name(news2_band(&r)), c->band_name) ||
            news2_reassess_minutes(&r) != c->reassess_min) {
            print_error("%s: expected total %d single_3 %d band %s reassess %d, got %d %d %s %d\n",
                        c->name, c->total, c->single_3, c->band_name, c->reassess_min, r.total,
                        r.any_single_3, news2_band_name(news2_band(&r)),
                        news2_reassess_minutes(&r));
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Scale 2 through news2_compute: the two rows of the chart, on air and on oxygen, change the
 * band exactly as the table says (a patient prescribed 88-92% at 97% on oxygen scores 3 for
 * SpO2 plus 2 for oxygen: total 5, medium). */
static void test_compute_scale2_bands(void **state)
{
    struct news2_input in = normal_set();
    struct news2_result r;

    (void)state;
    in.use_scale2 = true;
    in.spo2 = 97;
    in.on_oxygen = true;
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 3);
    assert_int_equal(r.total, 5);
    assert_int_equal(news2_band(&r), NEWS2_BAND_MEDIUM);
    assert_int_equal(news2_reassess_minutes(&r), 60);

    in.on_oxygen = false; /* 97% on air on scale 2: 0, the whole set 0 */
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 0);
    assert_int_equal(r.total, 0);
    assert_int_equal(news2_band(&r), NEWS2_BAND_LOW);
    assert_int_equal(news2_reassess_minutes(&r), 720);

    in.spo2 = 88; /* the target range: 0 on scale 2, 3 on scale 1 */
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 0);
    in.use_scale2 = false;
    news2_compute(&in, &r);
    assert_int_equal(r.score[NEWS2_SPO2], 3);
    assert_int_equal(news2_band(&r), NEWS2_BAND_LOW_MEDIUM);
    assert_string_equal(news2_band_name(NEWS2_BAND_LOW_MEDIUM), "low_medium");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_rate),
        cmocka_unit_test(test_spo2_scale1),
        cmocka_unit_test(test_spo2_scale2),
        cmocka_unit_test(test_systolic_bp),
        cmocka_unit_test(test_heart_rate),
        cmocka_unit_test(test_consciousness),
        cmocka_unit_test(test_temperature),
        cmocka_unit_test(test_param_names),
        cmocka_unit_test(test_compute_all_normal),
        cmocka_unit_test(test_compute_sub_scores),
        cmocka_unit_test(test_compute_maximum),
        cmocka_unit_test(test_compute_oxygen),
        cmocka_unit_test(test_compute_missing_parameter),
        cmocka_unit_test(test_compute_nothing_taken),
        cmocka_unit_test(test_compute_scale2),
        cmocka_unit_test(test_response_bands),
        cmocka_unit_test(test_compute_scale2_bands),
    };

    return cmocka_run_group_tests_name("news2", tests, NULL, NULL);
}
