/* SPDX-License-Identifier: MIT */
/* ews.c: NEWS2 from the latest reading of each parameter, with the floor of the last complete
 * score. The arithmetic is news2.c's; this file only decides which readings count and how
 * urgent the result may be shown. */
#include "ews.h"

#include <math.h>

long ews_round(double value)
{
    return (long)floor(value + 0.5);
}

int ews_news2_interval(const struct news2_result *r)
{
    return news2_band(r) == NEWS2_BAND_HIGH ? 0 : news2_reassess_minutes(r);
}

/* The more urgent of two intervals: 0 (continuous) beats any number of minutes. */
static int more_urgent_interval(int a, int b)
{
    if (a == 0 || b == 0)
        return 0;
    return a < b ? a : b;
}

/* The level every screen shows: a complete score as it is; an incomplete one never below the
 * last complete level, in band, interval or due time. */
static void apply_floor(const struct ews_level *cur, const struct ews_level *last_complete,
                        struct ews_outcome *out)
{
    out->shown = *cur;
    if (cur->complete) {
        out->last_complete = *cur;
        out->has_last_complete = true;
        return;
    }
    if (!last_complete)
        return;
    out->last_complete = *last_complete;
    out->has_last_complete = true;
    if (last_complete->band > out->shown.band) {
        out->shown.band = last_complete->band;
        out->floored = true;
    }
    if (last_complete->any_three && !out->shown.any_three) {
        out->shown.any_three = true;
        out->floored = true;
    }
    {
        int urgent = more_urgent_interval(cur->reassess_min, last_complete->reassess_min);
        if (urgent != cur->reassess_min)
            out->floored = true;
        out->shown.reassess_min = urgent;
    }
    if (last_complete->reassess_min > 0) {
        out->floor_due_at = last_complete->base_at + 60LL * last_complete->reassess_min;
        if (cur->reassess_min > 0 && out->floor_due_at < cur->base_at + 60LL * cur->reassess_min)
            out->floored = true;
    }
}

/* What both scores do once their level is known: the oldest input, the time the due time
 * counts from, and the floor of the last complete level. */
static void show_level(struct ews_level *cur, const struct ews_reading *r, int n,
                       long long latest_entry_at, const struct ews_level *last_complete,
                       struct ews_outcome *out)
{
    for (int p = 0; p < n; p++)
        if (r[p].present && (out->oldest_input_at == 0 || r[p].taken_at < out->oldest_input_at))
            out->oldest_input_at = r[p].taken_at;
    /* A complete score is due again when its oldest input is that old: recording one value
     * later does not restart the clock for the others. */
    cur->base_at = cur->complete ? out->oldest_input_at : latest_entry_at;
    apply_floor(cur, last_complete, out);
}

void ews_news2(const struct ews_inputs *in, const struct ews_level *last_complete,
               struct ews_outcome *out)
{
    const struct ews_reading *r = in->reading;
    struct news2_input ni = {0};
    struct ews_level cur;

    *out = (struct ews_outcome){0};
    ni.has_resp_rate = r[NEWS2_RESP_RATE].present;
    ni.resp_rate = (int)ews_round(r[NEWS2_RESP_RATE].value);
    ni.has_spo2 = r[NEWS2_SPO2].present;
    ni.spo2 = (int)ews_round(r[NEWS2_SPO2].value);
    ni.has_on_oxygen = r[NEWS2_ON_OXYGEN].present;
    ni.on_oxygen = r[NEWS2_ON_OXYGEN].value != 0;
    ni.has_systolic_bp = r[NEWS2_SYSTOLIC_BP].present;
    ni.systolic_bp = (int)ews_round(r[NEWS2_SYSTOLIC_BP].value);
    ni.has_heart_rate = r[NEWS2_HEART_RATE].present;
    ni.heart_rate = (int)ews_round(r[NEWS2_HEART_RATE].value);
    ni.has_consciousness = r[NEWS2_CONSCIOUSNESS].present;
    ni.consciousness = (char)r[NEWS2_CONSCIOUSNESS].value;
    ni.has_temperature = r[NEWS2_TEMPERATURE].present;
    ni.temperature_c = ews_round(r[NEWS2_TEMPERATURE].value * 10.0) / 10.0;
    ni.use_scale2 = in->spo2_scale2;
    news2_compute(&ni, &out->current);

    if (in->spo2_scale2 && ni.has_spo2) {
        /* Scale 2 scores SpO2 with its own set's flag. Unknown: score it as on oxygen, which
         * is never lower than air, and call the result incomplete. */
        bool on_o2 = in->spo2_flag_known ? in->spo2_on_oxygen : true;
        int s = news2_score_spo2_scale2(ni.spo2, on_o2);
        out->current.total += s - out->current.score[NEWS2_SPO2];
        out->current.score[NEWS2_SPO2] = s;
        out->current.any_single_3 = false;
        for (int p = 0; p < NEWS2_PARAM_COUNT; p++)
            if (out->current.score[p] == 3)
                out->current.any_single_3 = true;
        if (!in->spo2_flag_known) {
            out->current.complete = false;
            out->scale2_flag_unknown = true;
        }
    }

    cur.total = out->current.total;
    cur.band = news2_band(&out->current);
    cur.any_three = out->current.any_single_3;
    cur.complete = out->current.complete;
    cur.reassess_min = ews_news2_interval(&out->current);
    show_level(&cur, r, NEWS2_PARAM_COUNT, in->latest_entry_at, last_complete, out);
}

void ews_pews(const struct ews_pews_inputs *in, const struct ews_level *last_complete,
              struct ews_outcome *out)
{
    const struct ews_reading *r = in->reading;
    struct pews_input pi = {0};
    struct ews_level cur;

    *out = (struct ews_outcome){0};
    pi.age_band = in->age_band;
    pi.has_heart_rate = r[PEWS_HEART_RATE].present;
    pi.heart_rate = (int)ews_round(r[PEWS_HEART_RATE].value);
    pi.has_systolic_bp = r[PEWS_SYSTOLIC_BP].present;
    pi.systolic_bp = (int)ews_round(r[PEWS_SYSTOLIC_BP].value);
    pi.has_cap_refill = r[PEWS_CAP_REFILL].present;
    pi.cap_refill_s = r[PEWS_CAP_REFILL].value;
    pi.has_resp_rate = r[PEWS_RESP_RATE].present;
    pi.resp_rate = (int)ews_round(r[PEWS_RESP_RATE].value);
    pi.has_resp_effort = r[PEWS_RESP_EFFORT].present;
    pi.resp_effort = (enum pews_effort)(int)r[PEWS_RESP_EFFORT].value;
    pi.has_spo2 = r[PEWS_SPO2].present;
    pi.spo2 = (int)ews_round(r[PEWS_SPO2].value);
    pi.has_on_oxygen = r[PEWS_OXYGEN].present;
    pi.on_oxygen = r[PEWS_OXYGEN].value != 0;
    pi.has_oxygen_flow = in->has_oxygen_flow;
    pi.oxygen_l_min = in->oxygen_l_min;
    pews_compute(&pi, &out->pews);

    cur.total = out->pews.total;
    cur.band = pews_band(&out->pews);
    cur.any_three = false;
    cur.complete = out->pews.complete;
    cur.reassess_min = pews_reassess_minutes(&out->pews);
    show_level(&cur, r, PEWS_PARAM_COUNT, in->latest_entry_at, last_complete, out);
}
