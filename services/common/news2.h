/* SPDX-License-Identifier: MIT */
/* news2.h: the National Early Warning Score 2 (RCP 2017, chart 1) from one vitals set.
 * Pure functions, no I/O: the write path stores the result with the vitals row. */
#ifndef EDLIVE_NEWS2_H
#define EDLIVE_NEWS2_H

#include <stdbool.h>

enum news2_param {
    NEWS2_RESP_RATE,
    NEWS2_SPO2,
    NEWS2_ON_OXYGEN,
    NEWS2_SYSTOLIC_BP,
    NEWS2_HEART_RATE,
    NEWS2_CONSCIOUSNESS,
    NEWS2_TEMPERATURE,
    NEWS2_PARAM_COUNT
};

/* One vitals set; a parameter counts only when its has_ flag is set. */
struct news2_input {
    bool has_resp_rate, has_spo2, has_on_oxygen, has_systolic_bp;
    bool has_heart_rate, has_consciousness, has_temperature;
    int resp_rate;        /* breaths/min */
    int spo2;             /* % */
    bool on_oxygen;       /* supplemental oxygen */
    int systolic_bp;      /* mmHg */
    int heart_rate;       /* beats/min */
    char consciousness;   /* ACVPU letter: 'A', 'C', 'V', 'P' or 'U' */
    double temperature_c; /* scored at the charted precision, 1 decimal */
    bool use_scale2;      /* SpO2 scale 2: only when a clinician prescribed target 88-92% */
};

struct news2_result {
    int score[NEWS2_PARAM_COUNT]; /* sub-score, or -1 when the parameter was not taken */
    int total;                    /* sum of the sub-scores present */
    bool complete;                /* all seven parameters present */
    bool any_single_3;            /* some parameter scored 3: urgent review even if total is low */
};

/* Chart 4 clinical risk (ed-domain.md 3.2): aggregate 0-4 low, a 3 in any single parameter
 * low-medium, 5-6 medium, 7 or more high. */
enum news2_band { NEWS2_BAND_LOW, NEWS2_BAND_LOW_MEDIUM, NEWS2_BAND_MEDIUM, NEWS2_BAND_HIGH };

enum news2_band news2_band(const struct news2_result *r);

/* "low", "low_medium", "medium", "high" (proto/README.md). */
const char *news2_band_name(enum news2_band b);

/* Minutes until the next observations are due, from the chart 4 monitoring frequency:
 * score 0 -> 12-hourly (720); 1-4 -> 4-6-hourly, the shorter (240); a 3 in any single
 * parameter -> hourly (60); 5-6 -> hourly (60); 7 or more -> continuous monitoring, shown
 * as 15 min so the board flags it at once. */
int news2_reassess_minutes(const struct news2_result *r);

/* The JSON name of each parameter ("resp_rate", "spo2", ...), as in proto/README.md. */
const char *news2_param_name(enum news2_param p);

void news2_compute(const struct news2_input *in, struct news2_result *out);

int news2_score_resp_rate(int rr);
int news2_score_spo2_scale1(int spo2);
int news2_score_spo2_scale2(int spo2, bool on_oxygen);
int news2_score_systolic_bp(int sbp);
int news2_score_heart_rate(int hr);
int news2_score_consciousness(char acvpu);
int news2_score_temperature(double temp_c);

#endif
