/* SPDX-License-Identifier: MIT */
/* pews.h: the Bedside Paediatric Early Warning System score (Bedside PEWS) for patients under 16.
 * Source: Parshuram CS, Hutchison J, Middaugh K. "Development and initial validation of the
 * Bedside Paediatric Early Warning System score". Crit Care 2009;13(4):R135, table 1 (item
 * sub-scores by age group) and the seven items kept in the final score. Pure functions, no I/O;
 * every age-band boundary is unit-tested (tests/test_pews.c). proto/EARLY_WARNING.md documents
 * the chart as implemented and edlive's response bands. */
#ifndef EDLIVE_PEWS_H
#define EDLIVE_PEWS_H

#include <stdbool.h>

#include "news2.h" /* enum news2_band: PEWS uses the same band names on every screen */

/* The paper's age groups. Its bands overlap at their edges ("0-3 months", "3-12 months",
 * "1-4 years", "4-12 years", ">12 years"); edlive reads them as completed age: under 3 months,
 * 3 to 11 months, 1 to 3 years, 4 to 12 years (up to the 13th birthday), 13 years and over. */
enum pews_age_band {
    PEWS_AGE_UNDER_3M,
    PEWS_AGE_3_TO_12M,
    PEWS_AGE_1_TO_4Y,
    PEWS_AGE_4_TO_12Y,
    PEWS_AGE_OVER_12Y,
    PEWS_AGE_BAND_COUNT
};

enum pews_param {
    PEWS_HEART_RATE,
    PEWS_SYSTOLIC_BP,
    PEWS_CAP_REFILL,
    PEWS_RESP_RATE,
    PEWS_RESP_EFFORT,
    PEWS_SPO2,
    PEWS_OXYGEN,
    PEWS_PARAM_COUNT
};

enum pews_effort { PEWS_EFFORT_NORMAL, PEWS_EFFORT_MILD, PEWS_EFFORT_MODERATE, PEWS_EFFORT_SEVERE };

/* One patient's latest inputs; a parameter counts only when its has_ flag is set. */
struct pews_input {
    bool has_heart_rate, has_systolic_bp, has_cap_refill, has_resp_rate;
    bool has_resp_effort, has_spo2, has_on_oxygen, has_oxygen_flow;
    int heart_rate;  /* beats/min, whole (round before) */
    int systolic_bp; /* mmHg, whole */
    int resp_rate;   /* breaths/min, whole */
    int spo2;        /* %, whole */
    double cap_refill_s;
    enum pews_effort resp_effort; /* severe includes any apnoea */
    bool on_oxygen;
    double oxygen_l_min; /* flow when on oxygen */
    enum pews_age_band age_band;
};

struct pews_result {
    int score[PEWS_PARAM_COUNT]; /* 0, 1, 2 or 4; -1 when the item was not taken */
    int total;                   /* 0-26, sum of the items present */
    bool complete;               /* all seven items present (oxygen with its flow when on it) */
};

/* The age band for an age in completed months (negative counts as under 3 months). */
enum pews_age_band pews_age_band(int age_months);

/* "under_3m", "3_to_12m", "1_to_4y", "4_to_12y", "over_12y". */
const char *pews_age_band_name(enum pews_age_band b);

/* JSON names of the items, as the vitals fields that feed them: "heart_rate", "systolic_bp",
 * "cap_refill_s", "resp_rate", "resp_effort", "spo2", "on_oxygen". */
const char *pews_param_name(enum pews_param p);

int pews_score_heart_rate(enum pews_age_band b, int hr);
int pews_score_systolic_bp(enum pews_age_band b, int sbp);
int pews_score_resp_rate(enum pews_age_band b, int rr);
int pews_score_cap_refill(double seconds);
int pews_score_resp_effort(enum pews_effort e);
int pews_score_spo2(int spo2);
/* Room air 0; oxygen below 4 L/min 2; 4 L/min or more 4. On oxygen with the flow unknown
 * scores 2, the least oxygen can score, and leaves the result incomplete. */
int pews_score_oxygen(bool on_oxygen, bool has_flow, double l_min);

void pews_compute(const struct pews_input *in, struct pews_result *out);

/* edlive's response bands (the paper validates one alert threshold, 8: sensitivity 82%,
 * specificity 93%); the names are NEWS2's so every screen treats them alike:
 * 0-3 low, 4-7 medium, 8 or more high. */
enum news2_band pews_band(const struct pews_result *r);

/* Minutes until the next observations are due: 0 -> 720, 1-3 -> 240, 4-7 -> 60,
 * 8 or more -> 0, meaning continuous monitoring. */
int pews_reassess_minutes(const struct pews_result *r);

#endif
