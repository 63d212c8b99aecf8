/* SPDX-License-Identifier: MIT */
/* news2.c: NEWS2 sub-scores and total, boundaries exactly as RCP 2017 chart 1.
 * See ../shared/research/ed-domain.md 3.2; every boundary is unit-tested. */
#include "news2.h"

#include <limits.h>
#include <math.h>

static const char *const param_names[NEWS2_PARAM_COUNT] = {
    "resp_rate", "spo2", "on_oxygen", "systolic_bp", "heart_rate", "consciousness", "temperature_c",
};

const char *news2_param_name(enum news2_param p)
{
    return (p >= 0 && p < NEWS2_PARAM_COUNT) ? param_names[p] : "?";
}

/* One row of the chart: a value up to and including `upto` scores `points`. The rows of a
 * parameter are in rising order and the last one's upto is INT_MAX, so the tables below read
 * like the RCP chart, left to right. */
struct chart_row {
    int upto;
    int points;
};

static int chart_points(const struct chart_row *rows, int value)
{
    while (value > rows->upto)
        rows++;
    return rows->points;
}

static const struct chart_row resp_rate_chart[] = {
    {8, 3}, {11, 1}, {20, 0}, {24, 2}, {INT_MAX, 3},
};
static const struct chart_row spo2_scale1_chart[] = {
    {91, 3},
    {93, 2},
    {95, 1},
    {INT_MAX, 0},
};
/* Scale 2 (hypercapnic respiratory failure, target 88-92%): above 92% on air scores 0, above
 * 92% on oxygen scores as over-oxygenation. */
static const struct chart_row spo2_scale2_air_chart[] = {
    {83, 3},
    {85, 2},
    {87, 1},
    {INT_MAX, 0},
};
static const struct chart_row spo2_scale2_oxygen_chart[] = {
    {83, 3}, {85, 2}, {87, 1}, {92, 0}, {94, 1}, {96, 2}, {INT_MAX, 3},
};
static const struct chart_row systolic_bp_chart[] = {
    {90, 3}, {100, 2}, {110, 1}, {219, 0}, {INT_MAX, 3},
};
static const struct chart_row heart_rate_chart[] = {
    {40, 3}, {50, 1}, {90, 0}, {110, 1}, {130, 2}, {INT_MAX, 3},
};
/* In tenths of a degree, as charted: 35.0 scores 3 and 35.05 rounds to 35.1. */
static const struct chart_row temperature_tenths_chart[] = {
    {350, 3}, {360, 1}, {380, 0}, {390, 1}, {INT_MAX, 2},
};

int news2_score_resp_rate(int rr)
{
    return chart_points(resp_rate_chart, rr);
}

int news2_score_spo2_scale1(int spo2)
{
    return chart_points(spo2_scale1_chart, spo2);
}

int news2_score_spo2_scale2(int spo2, bool on_oxygen)
{
    return chart_points(on_oxygen ? spo2_scale2_oxygen_chart : spo2_scale2_air_chart, spo2);
}

int news2_score_systolic_bp(int sbp)
{
    return chart_points(systolic_bp_chart, sbp);
}

int news2_score_heart_rate(int hr)
{
    return chart_points(heart_rate_chart, hr);
}

int news2_score_consciousness(char acvpu)
{
    return acvpu == 'A' ? 0 : 3;
}

int news2_score_temperature(double temp_c)
{
    return chart_points(temperature_tenths_chart, (int)lround(temp_c * 10.0));
}

void news2_compute(const struct news2_input *in, struct news2_result *out)
{
    int *s = out->score;

    s[NEWS2_RESP_RATE] = in->has_resp_rate ? news2_score_resp_rate(in->resp_rate) : -1;
    if (!in->has_spo2)
        s[NEWS2_SPO2] = -1;
    else if (in->use_scale2)
        s[NEWS2_SPO2] = news2_score_spo2_scale2(in->spo2, in->has_on_oxygen && in->on_oxygen);
    else
        s[NEWS2_SPO2] = news2_score_spo2_scale1(in->spo2);
    s[NEWS2_ON_OXYGEN] = in->has_on_oxygen ? (in->on_oxygen ? 2 : 0) : -1;
    s[NEWS2_SYSTOLIC_BP] = in->has_systolic_bp ? news2_score_systolic_bp(in->systolic_bp) : -1;
    s[NEWS2_HEART_RATE] = in->has_heart_rate ? news2_score_heart_rate(in->heart_rate) : -1;
    s[NEWS2_CONSCIOUSNESS] =
        in->has_consciousness ? news2_score_consciousness(in->consciousness) : -1;
    s[NEWS2_TEMPERATURE] = in->has_temperature ? news2_score_temperature(in->temperature_c) : -1;

    out->total = 0;
    out->complete = true;
    out->any_single_3 = false;
    for (int p = 0; p < NEWS2_PARAM_COUNT; p++) {
        if (s[p] < 0) {
            out->complete = false;
            continue;
        }
        out->total += s[p];
        if (s[p] == 3)
            out->any_single_3 = true;
    }
}

enum news2_band news2_band(const struct news2_result *r)
{
    if (r->total >= 7)
        return NEWS2_BAND_HIGH;
    if (r->total >= 5)
        return NEWS2_BAND_MEDIUM;
    if (r->any_single_3)
        return NEWS2_BAND_LOW_MEDIUM;
    return NEWS2_BAND_LOW;
}

const char *news2_band_name(enum news2_band b)
{
    static const char *const names[] = {"low", "low_medium", "medium", "high"};

    return b >= NEWS2_BAND_LOW && b <= NEWS2_BAND_HIGH ? names[b] : "?";
}

int news2_reassess_minutes(const struct news2_result *r)
{
    switch (news2_band(r)) {
    case NEWS2_BAND_HIGH:
        return 15;
    case NEWS2_BAND_MEDIUM:
    case NEWS2_BAND_LOW_MEDIUM:
        return 60;
    default:
        return r->total == 0 ? 720 : 240;
    }
}
