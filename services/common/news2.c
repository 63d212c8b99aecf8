/* SPDX-License-Identifier: MIT */
/* news2.c: NEWS2 sub-scores and total, boundaries exactly as RCP 2017 chart 1.
 * See ../shared/research/ed-domain.md 3.2; every boundary is unit-tested. */
#include "news2.h"

#include <math.h>

static const char *const param_names[NEWS2_PARAM_COUNT] = {
    "resp_rate", "spo2", "on_oxygen", "systolic_bp", "heart_rate", "consciousness", "temperature_c",
};

const char *news2_param_name(enum news2_param p)
{
    return (p >= 0 && p < NEWS2_PARAM_COUNT) ? param_names[p] : "?";
}

int news2_score_resp_rate(int rr)
{
    if (rr <= 8)
        return 3;
    if (rr <= 11)
        return 1;
    if (rr <= 20)
        return 0;
    if (rr <= 24)
        return 2;
    return 3;
}

int news2_score_spo2_scale1(int spo2)
{
    if (spo2 <= 91)
        return 3;
    if (spo2 <= 93)
        return 2;
    if (spo2 <= 95)
        return 1;
    return 0;
}

int news2_score_spo2_scale2(int spo2, bool on_oxygen)
{
    if (spo2 <= 83)
        return 3;
    if (spo2 <= 85)
        return 2;
    if (spo2 <= 87)
        return 1;
    if (spo2 <= 92 || !on_oxygen)
        return 0; /* 88-92, or >= 93 on air */
    if (spo2 <= 94)
        return 1;
    if (spo2 <= 96)
        return 2;
    return 3;
}

int news2_score_systolic_bp(int sbp)
{
    if (sbp <= 90)
        return 3;
    if (sbp <= 100)
        return 2;
    if (sbp <= 110)
        return 1;
    if (sbp <= 219)
        return 0;
    return 3;
}

int news2_score_heart_rate(int hr)
{
    if (hr <= 40)
        return 3;
    if (hr <= 50)
        return 1;
    if (hr <= 90)
        return 0;
    if (hr <= 110)
        return 1;
    if (hr <= 130)
        return 2;
    return 3;
}

int news2_score_consciousness(char acvpu)
{
    return acvpu == 'A' ? 0 : 3;
}

int news2_score_temperature(double temp_c)
{
    /* Score in tenths of a degree, as charted: 35.0 scores 3 and 35.05 rounds to 35.1. */
    long tenths = lround(temp_c * 10.0);

    if (tenths <= 350)
        return 3;
    if (tenths <= 360)
        return 1;
    if (tenths <= 380)
        return 0;
    if (tenths <= 390)
        return 1;
    return 2;
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
