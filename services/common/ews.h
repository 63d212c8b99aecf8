/* SPDX-License-Identifier: MIT */
/* ews.h: the early-warning score a screen shows for a patient, from the latest reading of each
 * parameter rather than from the latest vitals set alone, and never less urgent than the last
 * complete score while the current one is incomplete (proto/EARLY_WARNING.md). Pure functions:
 * the write path reads the readings inside its transaction and stores the outcome on the
 * encounter, so the row, its event and every screen carry the same score. */
#ifndef EDLIVE_EWS_H
#define EDLIVE_EWS_H

#include <stdbool.h>

#include "news2.h"
#include "pews.h"

/* The latest value of one parameter within the window; times are Unix seconds. */
struct ews_reading {
    bool present;
    double value; /* consciousness: the ACVPU letter as a number; on_oxygen: 0 or 1 */
    long long taken_at;
};

struct ews_inputs {
    struct ews_reading reading[NEWS2_PARAM_COUNT]; /* indexed by enum news2_param */
    bool spo2_scale2;
    /* On scale 2 SpO2 is scored with the oxygen flag of its own set; unknown when that set
     * did not say (rows from before the flag was required). */
    bool spo2_flag_known;
    bool spo2_on_oxygen;
    long long latest_entry_at; /* the newest vitals set, whatever it held */
};

/* What a score asks of the staff: its band and how often to observe (0 = continuous). */
struct ews_level {
    int total;
    enum news2_band band;
    bool any_three;
    bool complete;
    int reassess_min;  /* 0: continuous monitoring */
    long long base_at; /* the due time counts from here */
};

/* Bedside PEWS for a patient under 16 (pews.h): the latest reading of each item. */
struct ews_pews_inputs {
    struct ews_reading reading[PEWS_PARAM_COUNT]; /* indexed by enum pews_param; effort as
                                                     enum pews_effort, oxygen 0 or 1 */
    bool has_oxygen_flow;                         /* the flow of the oxygen reading's own set */
    double oxygen_l_min;
    enum pews_age_band age_band;
    long long latest_entry_at;
};

struct ews_outcome {
    struct news2_result current; /* NEWS2 (ews_news2) */
    struct pews_result pews;     /* PEWS (ews_pews) */
    struct ews_level shown;      /* what every screen shows */
    struct ews_level last_complete;
    bool has_last_complete;
    bool floored;              /* the shown level was raised to the last complete one */
    long long floor_due_at;    /* when floored and not continuous: the last complete one's due */
    long long oldest_input_at; /* 0 when nothing was taken */
    bool scale2_flag_unknown;  /* SpO2 on scale 2 scored as on oxygen: the flag was missing */
};

/* Rounds a measurement to the chart's precision, half up: 20.5 -> 21, 20.4 -> 20. */
long ews_round(double value);

/* Minutes between observations for a NEWS2 result, RCP chart 4; 0 for continuous (7+). */
int ews_news2_interval(const struct news2_result *r);

/* The score to show now from the inputs, given the last complete level (NULL when none). */
void ews_news2(const struct ews_inputs *in, const struct ews_level *last_complete,
               struct ews_outcome *out);

/* The same for a child's Bedside PEWS. */
void ews_pews(const struct ews_pews_inputs *in, const struct ews_level *last_complete,
              struct ews_outcome *out);

#endif
