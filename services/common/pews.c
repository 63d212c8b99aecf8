/* SPDX-License-Identifier: MIT */
/* pews.c: Bedside PEWS item sub-scores by age band (Parshuram 2009, table 1) and the total.
 * Each age-banded item is one row of six cut-offs read straight from the table, so a row can be
 * checked against the paper at a glance. */
#include "pews.h"

#include <stddef.h>

/* A value at or below low4 scores 4, at or below low2 scores 2, at or below low1 scores 1; at
 * or above high4 scores 4, high2 2, high1 1; anything between low1 and high1 scores 0. The
 * paper's strict bounds become whole-number ones: ">150" is ">= 151", "<50" is "<= 49". */
struct cutoffs {
    int low4, low2, low1, high1, high2, high4;
};

static const struct cutoffs heart_rate_rows[PEWS_AGE_BAND_COUNT] = {
    [PEWS_AGE_UNDER_3M] = {80, 90, 110, 150, 180, 190},
    [PEWS_AGE_3_TO_12M] = {70, 80, 100, 150, 170, 180},
    [PEWS_AGE_1_TO_4Y] = {60, 70, 90, 120, 150, 170},
    [PEWS_AGE_4_TO_12Y] = {50, 60, 70, 110, 130, 151},
    [PEWS_AGE_OVER_12Y] = {40, 49, 60, 100, 120, 140},
};

static const struct cutoffs systolic_bp_rows[PEWS_AGE_BAND_COUNT] = {
    [PEWS_AGE_UNDER_3M] = {45, 50, 60, 80, 100, 130},
    [PEWS_AGE_3_TO_12M] = {60, 70, 80, 100, 120, 150},
    [PEWS_AGE_1_TO_4Y] = {65, 75, 90, 110, 125, 160},
    [PEWS_AGE_4_TO_12Y] = {70, 80, 90, 120, 140, 170},
    [PEWS_AGE_OVER_12Y] = {75, 85, 100, 130, 150, 190},
};

static const struct cutoffs resp_rate_rows[PEWS_AGE_BAND_COUNT] = {
    [PEWS_AGE_UNDER_3M] = {15, 19, 29, 61, 81, 91}, [PEWS_AGE_3_TO_12M] = {15, 19, 24, 51, 71, 81},
    [PEWS_AGE_1_TO_4Y] = {12, 15, 19, 41, 61, 71},  [PEWS_AGE_4_TO_12Y] = {10, 14, 19, 31, 41, 51},
    [PEWS_AGE_OVER_12Y] = {9, 10, 11, 17, 23, 30},
};

static const char *const param_names[PEWS_PARAM_COUNT] = {
    "heart_rate", "systolic_bp", "cap_refill_s", "resp_rate", "resp_effort", "spo2", "on_oxygen",
};

static const char *const age_band_names[PEWS_AGE_BAND_COUNT] = {
    "under_3m", "3_to_12m", "1_to_4y", "4_to_12y", "over_12y",
};

static int score_by_cutoffs(const struct cutoffs *c, int v)
{
    if (v <= c->low4 || v >= c->high4)
        return 4;
    if (v <= c->low2 || v >= c->high2)
        return 2;
    if (v <= c->low1 || v >= c->high1)
        return 1;
    return 0;
}

static enum pews_age_band clamp_band(enum pews_age_band b)
{
    /* An out-of-range band scores as the youngest, whose cut-offs are the widest apart:
     * never reached from pews_age_band(), kept so a bad caller cannot read past a table. */
    return (b >= 0 && b < PEWS_AGE_BAND_COUNT) ? b : PEWS_AGE_UNDER_3M;
}

enum pews_age_band pews_age_band(int age_months)
{
    if (age_months < 3)
        return PEWS_AGE_UNDER_3M;
    if (age_months < 12)
        return PEWS_AGE_3_TO_12M;
    if (age_months < 4 * 12)
        return PEWS_AGE_1_TO_4Y;
    if (age_months < 13 * 12)
        return PEWS_AGE_4_TO_12Y;
    return PEWS_AGE_OVER_12Y;
}

const char *pews_age_band_name(enum pews_age_band b)
{
    return (b >= 0 && b < PEWS_AGE_BAND_COUNT) ? age_band_names[b] : "?";
}

const char *pews_param_name(enum pews_param p)
{
    return (p >= 0 && p < PEWS_PARAM_COUNT) ? param_names[p] : "?";
}

int pews_score_heart_rate(enum pews_age_band b, int hr)
{
    return score_by_cutoffs(&heart_rate_rows[clamp_band(b)], hr);
}

int pews_score_systolic_bp(enum pews_age_band b, int sbp)
{
    return score_by_cutoffs(&systolic_bp_rows[clamp_band(b)], sbp);
}

int pews_score_resp_rate(enum pews_age_band b, int rr)
{
    return score_by_cutoffs(&resp_rate_rows[clamp_band(b)], rr);
}

int pews_score_cap_refill(double seconds)
{
    return seconds >= 3.0 ? 4 : 0;
}

int pews_score_resp_effort(enum pews_effort e)
{
    switch (e) {
    case PEWS_EFFORT_NORMAL:
        return 0;
    case PEWS_EFFORT_MILD:
        return 1;
    case PEWS_EFFORT_MODERATE:
        return 2;
    default:
        return 4; /* severe, any apnoea */
    }
}

int pews_score_spo2(int spo2)
{
    if (spo2 <= 90)
        return 2;
    if (spo2 <= 94)
        return 1;
    return 0;
}

int pews_score_oxygen(bool on_oxygen, bool has_flow, double l_min)
{
    if (!on_oxygen)
        return 0;
    if (has_flow && l_min >= 4.0)
        return 4;
    return 2;
}

void pews_compute(const struct pews_input *in, struct pews_result *out)
{
    int *s = out->score;
    enum pews_age_band b = clamp_band(in->age_band);

    s[PEWS_HEART_RATE] = in->has_heart_rate ? pews_score_heart_rate(b, in->heart_rate) : -1;
    s[PEWS_SYSTOLIC_BP] = in->has_systolic_bp ? pews_score_systolic_bp(b, in->systolic_bp) : -1;
    s[PEWS_CAP_REFILL] = in->has_cap_refill ? pews_score_cap_refill(in->cap_refill_s) : -1;
    s[PEWS_RESP_RATE] = in->has_resp_rate ? pews_score_resp_rate(b, in->resp_rate) : -1;
    s[PEWS_RESP_EFFORT] = in->has_resp_effort ? pews_score_resp_effort(in->resp_effort) : -1;
    s[PEWS_SPO2] = in->has_spo2 ? pews_score_spo2(in->spo2) : -1;
    s[PEWS_OXYGEN] = in->has_on_oxygen
                         ? pews_score_oxygen(in->on_oxygen, in->has_oxygen_flow, in->oxygen_l_min)
                         : -1;

    out->total = 0;
    out->complete = true;
    for (int p = 0; p < PEWS_PARAM_COUNT; p++) {
        if (s[p] < 0) {
            out->complete = false;
            continue;
        }
        out->total += s[p];
    }
    /* On oxygen at an unknown flow scored the least oxygen can: the total may be 2 short. */
    if (in->has_on_oxygen && in->on_oxygen && !in->has_oxygen_flow)
        out->complete = false;
}

enum news2_band pews_band(const struct pews_result *r)
{
    if (r->total >= 8)
        return NEWS2_BAND_HIGH;
    if (r->total >= 4)
        return NEWS2_BAND_MEDIUM;
    return NEWS2_BAND_LOW;
}

int pews_reassess_minutes(const struct pews_result *r)
{
    switch (pews_band(r)) {
    case NEWS2_BAND_HIGH:
        return 0;
    case NEWS2_BAND_MEDIUM:
        return 60;
    default:
        return r->total == 0 ? 720 : 240;
    }
}
