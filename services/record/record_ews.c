/* SPDX-License-Identifier: MIT */
/* record_ews.c: the early-warning score every screen shows (encounter.ews,
 * proto/EARLY_WARNING.md), recomputed inside a write's transaction from the latest reading of
 * each parameter: NEWS2 (news2.h, ews.h) for adults, Bedside PEWS (pews.h) under 16. Called by
 * record_vitals() and record_news2_scale(); calls only record_tx.c below it. */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ews.h"
#include "news2.h"
#include "pews.h"
#include "pg.h"

/* ---- the score every screen shows (ews.h) ---- */

/* The latest value of one vitals column within the department's window; "o2" is the oxygen flag
 * of the same set (SpO2 on scale 2 is scored with it). */
#define EWS_LATEST(col, alias)                                                                    \
    "LEFT JOIN LATERAL (SELECT v." col "::text AS v, v.on_oxygen AS o2, v.oxygen_l_min AS flow, " \
    "v.taken_at AS t "                                                                            \
    "FROM vitals v WHERE v.encounter_id = e.id AND v." col " IS NOT NULL "                        \
    "AND v.taken_at > now() - make_interval(mins => d.ews_window_min) "                           \
    "ORDER BY v.taken_at DESC, v.id DESC LIMIT 1) " alias " ON true "
#define EWS_COLS(alias) ", " alias ".v, floor(extract(epoch FROM " alias ".t))::bigint"

/* Columns in enum news2_param order. */
static const char ews_readings_sql[] =
    "SELECT e.spo2_scale, d.ews_window_min, e.ews->'last_complete', "
    "(SELECT floor(extract(epoch FROM max(taken_at)))::bigint FROM vitals WHERE encounter_id = "
    "e.id), "
    "sp.o2" EWS_COLS("rr") EWS_COLS("sp") EWS_COLS("ox") EWS_COLS("sb") EWS_COLS("hr")
        EWS_COLS("cn")
            EWS_COLS("tp") " FROM encounter e JOIN department d ON d.id = "
                           "e.department_id " EWS_LATEST("resp_rate", "rr") EWS_LATEST("spo2", "sp")
                               EWS_LATEST("on_oxygen", "ox") EWS_LATEST("systolic_bp", "sb")
                                   EWS_LATEST("heart_rate", "hr") EWS_LATEST("consciousness", "cn")
                                       EWS_LATEST("temperature_c", "tp") "WHERE e.id = $1";

/* The vitals field each NEWS2 parameter comes from, and its key in the row's "subscores"
 * (news2_detail's names, which the pages already read). */
static const char *const ews_subscore_keys[NEWS2_PARAM_COUNT] = {
    "resp_rate",  "spo2",          "air_or_oxygen", "systolic_bp",
    "heart_rate", "consciousness", "temperature",
};

static json_t *utc_json(long long t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || !gmtime_r(&tt, &tm))
        return json_null();
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static enum news2_band band_from_name(const char *name)
{
    for (int b = NEWS2_BAND_LOW; b <= NEWS2_BAND_HIGH; b++)
        if (name && !strcmp(name, news2_band_name(b)))
            return b;
    return NEWS2_BAND_LOW;
}

static json_t *level_json(const struct ews_level *l)
{
    return json_pack("{s:i,s:s,s:b,s:b,s:i,s:I,s:o}", "total", l->total, "band",
                     news2_band_name(l->band), "any_three", l->any_three, "complete", l->complete,
                     "reassess_min", l->reassess_min, "base_epoch", (json_int_t)l->base_at,
                     "base_at", utc_json(l->base_at));
}

static bool level_from_json(const char *text, struct ews_level *l)
{
    json_t *j = text && *text ? json_loads(text, 0, NULL) : NULL;

    if (!json_is_object(j)) {
        json_decref(j);
        return false;
    }
    l->total = (int)json_integer_value(json_object_get(j, "total"));
    l->band = band_from_name(json_string_value(json_object_get(j, "band")));
    l->any_three = json_is_true(json_object_get(j, "any_three"));
    l->complete = true;
    l->reassess_min = (int)json_integer_value(json_object_get(j, "reassess_min"));
    l->base_at = (long long)json_integer_value(json_object_get(j, "base_epoch"));
    json_decref(j);
    return true;
}

static json_t *reading_value_json(enum news2_param p, const char *text)
{
    if (p == NEWS2_ON_OXYGEN)
        return json_boolean(text[0] == 't');
    if (p == NEWS2_CONSCIOUSNESS)
        return json_string(text);
    if (p == NEWS2_TEMPERATURE)
        return json_real(strtod(text, NULL));
    return json_integer(strtoll(text, NULL, 10));
}

/* Stores the score on the encounter, in the caller's transaction; takes ews. */
static bool ews_store(PGconn *conn, const char *encounter_param, json_t *ews, struct ed_error *err)
{
    char *text = json_dumps(ews, JSON_COMPACT);
    const char *params[2] = {encounter_param, text};
    PGresult *res;

    json_decref(ews);
    res = record_query(conn, "store ews", "UPDATE encounter SET ews = $2::jsonb WHERE id = $1", 2,
                       params);
    free(text);
    if (!res)
        return record_db_error(conn, err);
    PQclear(res);
    return true;
}

/* The fields every shown score has, whichever system made it. */
static void ews_common_json(json_t *ews, const struct ews_outcome *out, long long latest_entry_at,
                            int window_min)
{
    json_object_set_new(ews, "total", json_integer(out->shown.total));
    json_object_set_new(ews, "band", json_string(news2_band_name(out->shown.band)));
    json_object_set_new(ews, "any_three", json_boolean(out->shown.any_three));
    json_object_set_new(ews, "complete", json_boolean(out->shown.complete));
    json_object_set_new(ews, "reassess_min", json_integer(out->shown.reassess_min));
    json_object_set_new(ews, "monitoring",
                        json_string(out->shown.reassess_min == 0 ? "continuous" : "interval"));
    json_object_set_new(ews, "oldest_input_at", utc_json(out->oldest_input_at));
    json_object_set_new(ews, "taken_at", utc_json(latest_entry_at));
    json_object_set_new(ews, "base_at", utc_json(out->shown.base_at));
    json_object_set_new(ews, "window_min", json_integer(window_min));
    json_object_set_new(ews, "floored", json_boolean(out->floored));
    json_object_set_new(ews, "floor_due_at",
                        out->floored && out->floor_due_at ? utc_json(out->floor_due_at)
                                                          : json_null());
    if (out->has_last_complete)
        json_object_set_new(ews, "last_complete", level_json(&out->last_complete));
}

/* NEWS2 for a patient of 16 or over: recomputes encounter.ews from the encounter's vitals,
 * inside the caller's transaction (after the new set is inserted, before the event is
 * appended, so the event carries it). */
static bool ews_refresh_news2(PGconn *conn, long long encounter_id, struct ed_error *err)
{
    char encbuf[24];
    const char *params[2] = {pg_int_param(encbuf, encounter_id), NULL};
    struct ews_inputs in = {0};
    struct ews_level last;
    struct ews_outcome out;
    json_t *subscores, *inputs, *missing, *ews;
    PGresult *res;
    int scale, window_min;
    bool has_last;

    res = record_query(conn, "ews readings", ews_readings_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    scale = atoi(PQgetvalue(res, 0, 0));
    window_min = atoi(PQgetvalue(res, 0, 1));
    has_last = !PQgetisnull(res, 0, 2) && level_from_json(PQgetvalue(res, 0, 2), &last);
    in.latest_entry_at = atoll(PQgetvalue(res, 0, 3));
    in.spo2_scale2 = scale == 2;
    in.spo2_flag_known = !PQgetisnull(res, 0, 4);
    in.spo2_on_oxygen = PQgetvalue(res, 0, 4)[0] == 't';
    for (int p = 0; p < NEWS2_PARAM_COUNT; p++) {
        int col = 5 + 2 * p;
        struct ews_reading *r = &in.reading[p];
        const char *v = PQgetvalue(res, 0, col);

        r->present = !PQgetisnull(res, 0, col);
        if (!r->present)
            continue;
        r->taken_at = atoll(PQgetvalue(res, 0, col + 1));
        if (p == NEWS2_ON_OXYGEN)
            r->value = v[0] == 't';
        else if (p == NEWS2_CONSCIOUSNESS)
            r->value = v[0];
        else
            r->value = strtod(v, NULL);
    }
    ews_news2(&in, has_last ? &last : NULL, &out);

    subscores = json_object();
    inputs = json_object();
    missing = json_array();
    for (int p = 0; p < NEWS2_PARAM_COUNT; p++) {
        const char *field = news2_param_name(p);
        if (!in.reading[p].present) {
            json_array_append_new(missing, json_string(field));
            continue;
        }
        json_object_set_new(subscores, ews_subscore_keys[p], json_integer(out.current.score[p]));
        json_object_set_new(inputs, field,
                            json_pack("{s:o,s:i,s:o}", "value",
                                      reading_value_json(p, PQgetvalue(res, 0, 5 + 2 * p)), "score",
                                      out.current.score[p], "taken_at",
                                      utc_json(in.reading[p].taken_at)));
    }
    PQclear(res);
    if (out.scale2_flag_unknown)
        json_array_append_new(missing, json_string("spo2_oxygen_flag"));
    ews = json_pack("{s:s,s:i,s:o,s:o,s:o}", "system", "news2", "scale", scale, "subscores",
                    subscores, "inputs", inputs, "missing", missing);
    ews_common_json(ews, &out, in.latest_entry_at, window_min);
    return ews_store(conn, params[0], ews, err);
}

/* Columns in enum pews_param order; "flow" is the oxygen flow of the oxygen reading's set. */
static const char ews_pews_readings_sql[] =
    "SELECT d.ews_window_min, e.ews->'last_complete', "
    "(SELECT floor(extract(epoch FROM max(taken_at)))::bigint FROM vitals WHERE encounter_id = "
    "e.id), "
    "ox.flow" EWS_COLS("hr") EWS_COLS("sb") EWS_COLS("cr") EWS_COLS("rr") EWS_COLS("ef")
        EWS_COLS("sp")
            EWS_COLS("ox") " FROM encounter e JOIN department d ON d.id = "
                           "e.department_id " EWS_LATEST("heart_rate", "hr")
                               EWS_LATEST("systolic_bp", "sb") EWS_LATEST("cap_refill_s", "cr")
                                   EWS_LATEST("resp_rate", "rr") EWS_LATEST("resp_effort", "ef")
                                       EWS_LATEST("spo2", "sp")
                                           EWS_LATEST("on_oxygen", "ox") "WHERE e.id = $1";

static const char *const effort_names[] = {"normal", "mild", "moderate", "severe"};

/* Bedside PEWS for a patient under 16 (pews.h), as ews_refresh_news2. */
static bool ews_refresh_pews(PGconn *conn, long long encounter_id, int age_months,
                             struct ed_error *err)
{
    char encbuf[24];
    const char *params[1] = {pg_int_param(encbuf, encounter_id)};
    struct ews_pews_inputs in = {0};
    struct ews_level last;
    struct ews_outcome out;
    json_t *subscores, *inputs, *missing, *ews;
    PGresult *res;
    int window_min;
    bool has_last;

    res = record_query(conn, "pews readings", ews_pews_readings_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    window_min = atoi(PQgetvalue(res, 0, 0));
    has_last = !PQgetisnull(res, 0, 1) && level_from_json(PQgetvalue(res, 0, 1), &last);
    in.latest_entry_at = atoll(PQgetvalue(res, 0, 2));
    in.has_oxygen_flow = !PQgetisnull(res, 0, 3);
    in.oxygen_l_min = strtod(PQgetvalue(res, 0, 3), NULL);
    in.age_band = pews_age_band(age_months);
    for (int p = 0; p < PEWS_PARAM_COUNT; p++) {
        int col = 4 + 2 * p;
        struct ews_reading *r = &in.reading[p];
        const char *v = PQgetvalue(res, 0, col);

        r->present = !PQgetisnull(res, 0, col);
        if (!r->present)
            continue;
        r->taken_at = atoll(PQgetvalue(res, 0, col + 1));
        if (p == PEWS_OXYGEN)
            r->value = v[0] == 't';
        else if (p == PEWS_RESP_EFFORT) {
            r->value = PEWS_EFFORT_SEVERE; /* the CHECK allows only the four names */
            for (int e = 0; e < 4; e++)
                if (!strcmp(v, effort_names[e]))
                    r->value = e;
        } else
            r->value = strtod(v, NULL);
    }
    ews_pews(&in, has_last ? &last : NULL, &out);

    subscores = json_object();
    inputs = json_object();
    missing = json_array();
    for (int p = 0; p < PEWS_PARAM_COUNT; p++) {
        const char *field = pews_param_name(p);
        const char *v = PQgetvalue(res, 0, 4 + 2 * p);
        json_t *value;

        if (!in.reading[p].present) {
            json_array_append_new(missing, json_string(field));
            continue;
        }
        if (p == PEWS_OXYGEN)
            value = json_boolean(v[0] == 't');
        else if (p == PEWS_RESP_EFFORT)
            value = json_string(v);
        else if (p == PEWS_CAP_REFILL)
            value = json_real(strtod(v, NULL));
        else
            value = json_integer(strtoll(v, NULL, 10));
        json_object_set_new(subscores, field, json_integer(out.pews.score[p]));
        json_object_set_new(inputs, field,
                            json_pack("{s:o,s:i,s:o}", "value", value, "score", out.pews.score[p],
                                      "taken_at", utc_json(in.reading[p].taken_at)));
    }
    if (in.reading[PEWS_OXYGEN].present && in.reading[PEWS_OXYGEN].value != 0 &&
        !in.has_oxygen_flow)
        json_array_append_new(missing, json_string("oxygen_l_min"));
    PQclear(res);
    ews = json_pack("{s:s,s:s,s:o,s:o,s:o}", "system", "pews", "age_band",
                    pews_age_band_name(in.age_band), "subscores", subscores, "inputs", inputs,
                    "missing", missing);
    ews_common_json(ews, &out, in.latest_entry_at, window_min);
    return ews_store(conn, params[0], ews, err);
}

/* Which score the patient gets (department.early_warning; 'auto': PEWS under 16, by the
 * age on the server's date), then that score's refresh. A patient without a birth date is
 * scored as an adult unless the department scores everyone with PEWS. */
bool record_ews_refresh(PGconn *conn, long long encounter_id, struct ed_error *err)
{
    static const char sql[] =
        "SELECT d.early_warning = 'pews' OR (d.early_warning = 'auto' AND "
        "coalesce(age(now()::date, p.birth_date) < interval '16 years', false)), "
        "coalesce((extract(year FROM age(now()::date, p.birth_date)) * 12 + "
        "extract(month FROM age(now()::date, p.birth_date)))::int, 192) "
        "FROM encounter e JOIN department d ON d.id = e.department_id "
        "JOIN patient p ON p.id = e.patient_id WHERE e.id = $1";
    char encbuf[24];
    const char *params[] = {pg_int_param(encbuf, encounter_id)};
    PGresult *res = record_query(conn, "early warning system", sql, 1, params);
    bool pews;
    int age_months;

    if (!res)
        return record_db_error(conn, err);
    pews = PQgetvalue(res, 0, 0)[0] == 't';
    age_months = atoi(PQgetvalue(res, 0, 1));
    PQclear(res);
    return pews ? ews_refresh_pews(conn, encounter_id, age_months, err)
                : ews_refresh_news2(conn, encounter_id, err);
}
