/* SPDX-License-Identifier: MIT */
/* record_clinical.c: the clinical record under the screens (issue 5): bed moves with the
 * location history, orders, disposition and departure, board comment, isolation, NEWS2 scale
 * and reassessment interval, the patient's allergies, home medications, problems and coded
 * diagnoses; bed cleaning and alert thresholds (department events); today's metrics.
 * Same write shape as record_encounter.c, through record_tx.c (record_internal.h): lock, check,
 * change, event, audit, commit. Calls only down (record_tx.c, record_ews.c), never into
 * record_encounter.c.
 * Schema: sql/migrations/0005_clinical.sql; wire: proto/README.md "Clinical record". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "record_internal.h"

/* ---- small helpers ---- */

/* The account behind a write, or NULL: the system, or an interface without an account (HL7). */
static const char *account_param(const struct principal *who, char *buf)
{
    return who && who->account_id ? pg_int_param(buf, who->account_id) : NULL;
}

static const char *bool_field(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    return json_is_boolean(v) ? (json_is_true(v) ? "true" : "false") : NULL;
}

/* One change of one encounter field, then its event: sql takes the encounter as $1 and
 * params[1..n-1]; params[0] is filled here. If-Match is checked against that field only (its
 * event type): a colleague's change of another part of the encounter is no conflict. */
static bool encounter_change(PGconn *conn, const struct principal *who, long long encounter_id,
                             const struct record_write_opts *opts, const char *sql, int n,
                             const char **params, const char *event_type, const char *action,
                             struct record_write *out, struct ed_error *err)
{
    static const char append_sql[] = "SELECT append_event($1, $2, NULL)";
    struct locked_encounter enc;
    char encbuf[24];
    const char *append_params[2];
    char part[64];

    snprintf(part, sizeof part, "{%s}", event_type);
    if (!record_begin_on_encounter_part(conn, who, encounter_id, opts, part, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    if (!record_change(conn, action, sql, n, params, NULL, NULL, err))
        return false;
    append_params[0] = params[0];
    append_params[1] = event_type;
    return record_commit_event(
        conn,
        &(struct write_audit){who, action, "encounter", enc.patient_id, enc.department_id, opts},
        append_sql, 2, append_params, out, err);
}

/* ---- bed moves (and with them the location history, kept by SQL triggers) ---- */

bool record_bed(PGconn *conn, const struct principal *who, long long encounter_id,
                const json_t *body, const struct record_write_opts *opts, struct record_write *out,
                struct ed_error *err)
{
    /* The bed is locked: a patient leaving it at the same moment (0006 marks it for cleaning
     * before the encounter row changes) is either seen here, or has not yet started. */
    static const char bed_sql[] =
        "SELECT b.id, b.area, b.cleaning_since IS NOT NULL, b.retired_at IS NOT NULL FROM bed b "
        "WHERE b.department_id = $2 "
        "AND ($1::bigint IS NOT NULL AND b.id = $1::bigint OR $1::bigint IS NULL AND b.area = $3 "
        "AND b.cleaning_since IS NULL AND b.retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM "
        "encounter e WHERE "
        "e.bed_id = b.id AND e.status NOT IN ('departed', 'left_without_being_seen', "
        "'entered_in_error'))) "
        "ORDER BY b.sort_order, b.label LIMIT 1 FOR UPDATE OF b";
    /* A waiting patient put in a treatment space is in a room from now on. A "move" to the
     * same bed changes no location (the history stays as it is). A move at the very instant the
     * current location began (an HL7 A04's bed, at the arrival) is kept 1 us later: the trigger
     * encounter_before_change reads an unchanged location_since as "no time given" (now). */
    static const char sql[] =
        "UPDATE encounter SET bed_id = $2::bigint, location_since = CASE WHEN bed_id IS "
        "DISTINCT FROM $2::bigint THEN coalesce($4::timestamptz, now()) + CASE WHEN "
        "$4::timestamptz = location_since THEN interval '1 microsecond' ELSE interval '0' END "
        "ELSE location_since END, "
        "status = CASE WHEN status = 'waiting' AND $3 NOT IN ('', 'waiting_room') "
        "THEN 'in_room' ELSE status END, "
        "status_at = CASE WHEN status = 'waiting' AND $3 NOT IN ('', 'waiting_room') "
        "THEN coalesce($4::timestamptz, now()) ELSE status_at END WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.bed_assigned', NULL)";
    const char *want_area = record_str_field(body, "area");
    struct locked_encounter enc;
    char encbuf[24], bedbuf[24], deptbuf[24], area[32] = "", chosen[24] = "";
    const char *params[4];

    if (record_has_value(body, "bed_id") && want_area)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "area",
                            "give either a bed_id or an area, not both");
    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_event_time(conn, &enc, record_str_field(body, "at"), "at", "location_since",
                                 err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = record_int_field(body, "bed_id", bedbuf);
    /* A bed, or the first free space of an area (hallway); no area and no bed: back to the
     * waiting room without a space. */
    if (params[1] || (want_area && strcmp(want_area, "waiting_room") != 0)) {
        const char *bed_params[] = {params[1], pg_int_param(deptbuf, enc.department_id), want_area};
        PGresult *res = record_query(conn, "check bed", bed_sql, 3, bed_params);
        if (!res)
            return record_db_error(conn, err);
        if (PQntuples(res) == 0) {
            PQclear(res);
            if (params[1])
                ed_error_set(err, ED_ERR_UNKNOWN_REFERENCE, "bed_id",
                             "no bed with this id in this department");
            else
                ed_error_set(err, ED_ERR_CONFLICT, "area", "no free space in this area");
            return record_fail(conn, err);
        }
        snprintf(chosen, sizeof chosen, "%s", PQgetvalue(res, 0, 0));
        snprintf(area, sizeof area, "%s", PQgetvalue(res, 0, 1));
        if (PQgetvalue(res, 0, 3)[0] == 't') {
            PQclear(res);
            ed_error_set(err, ED_ERR_CONFLICT, "bed_id", "this bed is retired");
            return record_fail(conn, err);
        }
        if (PQgetvalue(res, 0, 2)[0] == 't') {
            PQclear(res);
            ed_error_set(err, ED_ERR_CONFLICT, "bed_id",
                         "this bed is waiting to be cleaned; mark it clean first");
            return record_fail(conn, err);
        }
        PQclear(res);
        params[1] = chosen;
    }
    params[2] = area;
    params[3] = record_str_field(body, "at");
    if (!record_change(conn, "assign bed", sql, 4, params, "bed_id",
                       "this bed is occupied by another patient", err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.bed", "encounter",
                                                     enc.patient_id, enc.department_id, opts},
                               append_sql, 1, params, out, err);
}

/* ---- orders ---- */

bool record_order_create(PGconn *conn, const struct principal *who, long long encounter_id,
                         const json_t *body, const struct record_write_opts *opts,
                         struct record_write *out, struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO clinical_order (encounter_id, kind, name, ordered_at, ordered_by) "
        "VALUES ($1, $2, $3, coalesce($4::timestamptz, now()), $5) RETURNING id";
    static const char append_sql[] =
        "SELECT append_event($1, 'order.placed', jsonb_build_object('order', order_json(o))) "
        "FROM clinical_order o WHERE o.id = $2";
    struct locked_encounter enc;
    char encbuf[24], accbuf[24];
    const char *params[5];
    PGresult *res;
    bool ok;

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_event_time(conn, &enc, record_str_field(body, "at"), "at", NULL, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = record_str_field(body, "kind");
    params[2] = record_str_field(body, "name");
    params[3] = record_str_field(body, "at");
    params[4] = account_param(who, accbuf);
    res = record_query(conn, "insert order", sql, 5, params);
    if (!res)
        return record_db_error(conn, err);
    {
        const char *append_params[] = {params[0], PQgetvalue(res, 0, 0)};
        ok = record_commit_event(conn,
                                 &(struct write_audit){who, "order.create", "order", enc.patient_id,
                                                       enc.department_id, opts},
                                 append_sql, 2, append_params, out, err);
    }
    PQclear(res);
    return ok;
}

/* Locks the encounter of an order; *status gets the order's status. */
static bool begin_on_order(PGconn *conn, const struct principal *who, long long order_id,
                           const struct record_write_opts *opts, struct locked_encounter *enc,
                           char *status, struct ed_error *err)
{
    char idbuf[24];
    const char *params[] = {pg_int_param(idbuf, order_id)};
    PGresult *res;
    long long encounter_id;

    if (!pg_ensure(conn))
        return record_db_error(conn, err);
    res = record_query(conn, "find order", "SELECT encounter_id FROM clinical_order WHERE id = $1",
                       1, params);
    if (!res)
        return record_db_error(conn, err);
    encounter_id = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    /* An order of an encounter outside who's scope is "not found", like one that is not. */
    if (!encounter_id)
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such order");
    if (!record_begin_on_encounter(conn, who, encounter_id, opts, enc, err)) {
        if (err->status == 404)
            ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such order");
        return false;
    }
    res = record_query(conn, "lock order",
                       "SELECT status FROM clinical_order WHERE id = $1 FOR UPDATE", 1, params);
    if (!res)
        return record_db_error(conn, err);
    snprintf(status, 16, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

static bool commit_order_event(PGconn *conn, const struct principal *who, long long order_id,
                               const struct locked_encounter *enc, const char *event_type,
                               const char *action, const struct record_write_opts *opts,
                               struct record_write *out, struct ed_error *err)
{
    static const char append_sql[] =
        "SELECT append_event($1, $3, jsonb_build_object('order', order_json(o))) "
        "FROM clinical_order o WHERE o.id = $2";
    char encbuf[24], orderbuf[24];
    const char *params[] = {pg_int_param(encbuf, enc->id), pg_int_param(orderbuf, order_id),
                            event_type};

    return record_commit_event(
        conn,
        &(struct write_audit){who, action, "order", enc->patient_id, enc->department_id, opts},
        append_sql, 3, params, out, err);
}

/* A JSON number as a numeric parameter (15 significant digits: what a lab reports, without
 * binary noise such as 5.2000000000000002); NULL when absent or null. buf holds 32 chars. */
static const char *num_field(const json_t *body, const char *key, char *buf)
{
    const json_t *v = json_object_get(body, key);

    if (json_is_integer(v))
        snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, 32, "%.15g", json_real_value(v));
    else
        return NULL;
    return buf;
}

/* The rules of a result a schema cannot state (proto/http/order_status.json). The abnormal
 * flag of a numeric result comes from its value and reference range, never from the sender. */
static bool check_result(const json_t *body, const char *status, struct ed_error *err)
{
    const json_t *result = json_object_get(body, "result");
    const json_t *low, *high;

    if (!result || json_is_null(result))
        return true;
    if (strcmp(status, "resulted") != 0)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "result",
                            "a result comes with the status resulted");
    if (record_has_value(body, "abnormal"))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "abnormal",
                            "with a result, the flag is result.abnormal (text) or comes from the "
                            "value and its reference range");
    if (record_has_value(result, "value") == record_has_value(result, "text"))
        return ed_error_set(
            err, record_has_value(result, "value") ? ED_ERR_INVALID_VALUE : ED_ERR_MISSING_FIELD,
            "result.value", "a result is a value (number) or a text, not both");
    if (record_has_value(result, "value") && record_has_value(result, "abnormal"))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "result.abnormal",
                            "a numeric result's flag comes from its value and reference range");
    if (record_has_value(result, "text") &&
        (record_has_value(result, "unit") || record_has_value(result, "reference_low") ||
         record_has_value(result, "reference_high")))
        return ed_error_set(err, ED_ERR_INVALID_VALUE,
                            record_has_value(result, "unit") ? "result.unit"
                                                             : "result.reference_low",
                            "a unit and a reference range come with a numeric value");
    low = json_object_get(result, "reference_low");
    high = json_object_get(result, "reference_high");
    if (json_is_number(low) && json_is_number(high) &&
        json_number_value(low) > json_number_value(high))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "result.reference_high",
                            "must not be below reference_low");
    return true;
}

bool record_order_status(PGconn *conn, const struct principal *who, long long order_id,
                         const json_t *body, const struct record_write_opts *opts,
                         struct record_write *out, struct ed_error *err)
{
    /* A later step's time is never before the earlier one's. */
    static const char time_sql[] =
        "SELECT $2::timestamptz < coalesce(collected_at, ordered_at) FROM clinical_order "
        "WHERE id = $1";
    /* $5-$9: the result's value, unit, range and text; $10 a text result's stated flag. A
     * numeric result is abnormal when its value is outside its range (SQL result_flag). */
    static const char sql[] =
        "UPDATE clinical_order SET status = $2, "
        "collected_at = CASE WHEN $2 = 'collected' THEN coalesce($3::timestamptz, now()) "
        "ELSE collected_at END, "
        "resulted_at = CASE WHEN $2 = 'resulted' THEN coalesce($3::timestamptz, now()) END, "
        "result_value = $5::numeric, result_unit = $6, result_low = $7::numeric, "
        "result_high = $8::numeric, result_text = $9, "
        "abnormal = CASE WHEN $2 <> 'resulted' THEN NULL WHEN $5::numeric IS NOT NULL THEN "
        "result_flag($5::numeric, $7::numeric, $8::numeric) <> 'normal' "
        "ELSE coalesce($10::boolean, $4::boolean) END WHERE id = $1";
    const char *status = record_str_field(body, "status");
    const char *at = record_str_field(body, "at");
    const json_t *result = json_object_get(body, "result");
    struct locked_encounter enc;
    char current[16], orderbuf[24], valbuf[32], lowbuf[32], highbuf[32];
    const char *params[10];

    if (strcmp(status, "resulted") != 0 && record_has_value(body, "abnormal"))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "abnormal",
                            "an abnormal flag comes with the result (status resulted)");
    if (!check_result(body, status, err))
        return false;
    if (!begin_on_order(conn, who, order_id, opts, &enc, current, err) ||
        !record_check_event_time(conn, &enc, at, "at", NULL, err))
        return false;
    /* ordered -> collected -> resulted; a consult or a bedside test may go straight to
     * resulted. A result is final. */
    if (!strcmp(current, "resulted") || !strcmp(current, status)) {
        ed_error_set(err, ED_ERR_CONFLICT, "status", "the order is already %s", current);
        return record_fail(conn, err);
    }
    params[0] = pg_int_param(orderbuf, order_id);
    params[1] = status;
    params[2] = at;
    params[3] = bool_field(body, "abnormal");
    params[4] = num_field(result, "value", valbuf);
    params[5] = record_str_field(result, "unit");
    params[6] = num_field(result, "reference_low", lowbuf);
    params[7] = num_field(result, "reference_high", highbuf);
    params[8] = record_str_field(result, "text");
    params[9] = bool_field(result, "abnormal");
    if (at) {
        const char *time_params[] = {params[0], at};
        PGresult *res = record_query(conn, "check order time", time_sql, 2, time_params);
        bool before;
        if (!res)
            return record_db_error(conn, err);
        before = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        if (before) {
            ed_error_set(err, ED_ERR_OUT_OF_RANGE, "at",
                         "must not be before the order's previous step");
            return record_fail(conn, err);
        }
    }
    if (!record_change(conn, "order status", sql, 10, params, NULL, NULL, err))
        return false;
    return commit_order_event(conn, who, order_id, &enc, "order.status_changed", "order.status",
                              opts, out, err);
}

bool record_order_seen(PGconn *conn, const struct principal *who, long long order_id,
                       const json_t *body, const struct record_write_opts *opts,
                       struct record_write *out, struct ed_error *err)
{
    static const char sql[] =
        "UPDATE clinical_order SET result_seen_at = now(), result_seen_by = $2 WHERE id = $1";
    struct locked_encounter enc;
    char current[16], orderbuf[24], accbuf[24];
    const char *params[2];

    (void)body;
    if (!begin_on_order(conn, who, order_id, opts, &enc, current, err))
        return false;
    if (strcmp(current, "resulted") != 0) {
        ed_error_set(err, ED_ERR_CONFLICT, "status", "the order has no result yet (%s)", current);
        return record_fail(conn, err);
    }
    params[0] = pg_int_param(orderbuf, order_id);
    params[1] = account_param(who, accbuf);
    if (!record_change(conn, "order seen", sql, 2, params, NULL, NULL, err))
        return false;
    return commit_order_event(conn, who, order_id, &enc, "order.result_seen", "order.seen", opts,
                              out, err);
}

/* ---- disposition and departure ---- */

bool record_disposition(PGconn *conn, const struct principal *who, long long encounter_id,
                        const json_t *body, const struct record_write_opts *opts,
                        struct record_write *out, struct ed_error *err)
{
    /* A decision may be revised until departure; the event log keeps each one. */
    static const char sql[] =
        "UPDATE encounter SET disposition = $2, disposition_at = coalesce($3::timestamptz, now()), "
        "disposition_destination = $4, disposition_by = $5, status = 'disposition_decided', "
        "status_at = coalesce($3::timestamptz, now()), "
        /* Boarding counts from the first decision to admit: a revised ward keeps it. */
        "admit_decided_at = CASE WHEN $2 = 'admit' THEN coalesce(admit_decided_at, "
        "coalesce($3::timestamptz, now())) END WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.disposition', NULL)";
    struct locked_encounter enc;
    char encbuf[24], staffbuf[24];
    const char *params[5];

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_event_time(conn, &enc, record_str_field(body, "decided_at"), "decided_at",
                                 NULL, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = record_str_field(body, "kind");
    params[2] = record_str_field(body, "decided_at");
    params[3] = record_str_field(body, "destination");
    params[4] = who && who->staff_id ? pg_int_param(staffbuf, who->staff_id) : NULL;
    if (!record_change(conn, "disposition", sql, 5, params, NULL, NULL, err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.disposition", "encounter",
                                                     enc.patient_id, enc.department_id, opts},
                               append_sql, 1, params, out, err);
}

bool record_departure(PGconn *conn, const struct principal *who, long long encounter_id,
                      const json_t *body, const struct record_write_opts *opts,
                      struct record_write *out, struct ed_error *err)
{
    static const char dispo_sql[] = "SELECT disposition FROM encounter WHERE id = $1";
    /* The encounter ends: it leaves the board, its bed needs cleaning from the departure
     * time (a trigger of 0006; ed-domain.md 3.3 "ED departure time": when the patient
     * physically leaves). */
    static const char sql[] =
        "UPDATE encounter SET departed_at = coalesce($2::timestamptz, now()), "
        "status = CASE WHEN disposition = 'lwbs' THEN 'left_without_being_seen' ELSE 'departed' "
        "END, status_at = coalesce($2::timestamptz, now()) WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.departed', NULL)";
    const char *at = record_str_field(body, "departed_at");
    struct locked_encounter enc;
    char encbuf[24];
    const char *params[2];
    PGresult *res;
    bool decided;

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = at;
    res = record_query(conn, "read disposition", dispo_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    decided = !PQgetisnull(res, 0, 0);
    PQclear(res);
    if (!decided) {
        ed_error_set(err, ED_ERR_CONFLICT, "disposition",
                     "record the disposition (discharge, admit, ...) before the departure");
        return record_fail(conn, err);
    }
    if (!record_check_event_time(conn, &enc, at, "departed_at", "location_since", err) ||
        !record_check_event_time(conn, &enc, at, "departed_at", "disposition_at", err))
        return false;
    if (!record_change(conn, "departure", sql, 2, params, NULL, NULL, err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.departure", "encounter",
                                                     enc.patient_id, enc.department_id, opts},
                               append_sql, 1, params, out, err);
}

/* ---- board fields ---- */

bool record_comment(PGconn *conn, const struct principal *who, long long encounter_id,
                    const json_t *body, const struct record_write_opts *opts,
                    struct record_write *out, struct ed_error *err)
{
    const char *params[2] = {NULL, record_str_field(body, "text")};

    return encounter_change(conn, who, encounter_id, opts,
                            "UPDATE encounter SET board_comment = $2 WHERE id = $1", 2, params,
                            "encounter.comment", "encounter.comment", out, err);
}

bool record_isolation(PGconn *conn, const struct principal *who, long long encounter_id,
                      const json_t *body, const struct record_write_opts *opts,
                      struct record_write *out, struct ed_error *err)
{
    const char *params[2] = {NULL, record_str_field(body, "isolation")};

    return encounter_change(conn, who, encounter_id, opts,
                            "UPDATE encounter SET isolation = $2 WHERE id = $1", 2, params,
                            "encounter.isolation", "encounter.isolation", out, err);
}

bool record_news2_scale(PGconn *conn, const struct principal *who, long long encounter_id,
                        const json_t *body, const struct record_write_opts *opts,
                        struct record_write *out, struct ed_error *err)
{
    static const char append_sql[] = "SELECT append_event($1, 'encounter.news2_scale', NULL)";
    static const char has_vitals_sql[] =
        "SELECT EXISTS (SELECT 1 FROM vitals WHERE encounter_id = $1)";
    struct locked_encounter enc;
    char encbuf[24], scalebuf[24];
    const char *params[2];
    PGresult *res;
    bool has_vitals;

    if (!record_begin_on_encounter_part(conn, who, encounter_id, opts, "{encounter.news2_scale}",
                                        &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = record_int_field(body, "scale", scalebuf);
    if (!record_change(conn, "encounter.news2_scale",
                       "UPDATE encounter SET spo2_scale = $2::smallint WHERE id = $1", 2, params,
                       NULL, NULL, err))
        return false;
    /* The shown score changes with the scale (SpO2 88% on air scores 3 on scale 1, 0 on scale
     * 2): rescore the readings already taken, so no screen keeps the other scale's score. */
    res = record_query(conn, "has vitals", has_vitals_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    has_vitals = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (has_vitals && !record_ews_refresh(conn, encounter_id, err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.news2_scale", "encounter",
                                                     enc.patient_id, enc.department_id, opts},
                               append_sql, 1, params, out, err);
}

bool record_reassessment(PGconn *conn, const struct principal *who, long long encounter_id,
                         const json_t *body, const struct record_write_opts *opts,
                         struct record_write *out, struct ed_error *err)
{
    char minbuf[24];
    const char *params[2] = {NULL, record_int_field(body, "interval_min", minbuf)};

    return encounter_change(conn, who, encounter_id, opts,
                            "UPDATE encounter SET reassess_interval_min = $2::int WHERE id = $1", 2,
                            params, "encounter.reassessment", "encounter.reassessment", out, err);
}

/* ---- the patient's record and the visit's diagnoses ---- */

static bool all_of(const char *s, size_t from, size_t to, int (*ok)(int))
{
    for (size_t i = from; i < to; i++)
        if (!ok((unsigned char)s[i]))
            return false;
    return true;
}

static int is_upper_or_digit(int c)
{
    return isupper(c) || isdigit(c);
}

/* ICD-10 (WHO and -CM) shape: letter, digit, letter or digit, then optionally a dot and 1-4
 * letters or digits: "I21.4", "J44.1", "S52.501A", "R07". */
static bool icd10_shape(const char *code)
{
    size_t n = strlen(code);

    if (n < 3 || !isupper((unsigned char)code[0]) || !isdigit((unsigned char)code[1]) ||
        !is_upper_or_digit((unsigned char)code[2]))
        return false;
    if (n == 3)
        return true;
    return code[3] == '.' && n >= 5 && n <= 8 && all_of(code, 4, n, is_upper_or_digit);
}

/* ICD-9-CM shape: 3 digits, V + 2 digits or E + 3 digits, then optionally a dot and 1-2
 * digits: "410.71", "V45.81", "E888". */
static bool icd9_shape(const char *code)
{
    size_t n = strlen(code), head = code[0] == 'E' ? 4 : 3;

    if (n < head || !all_of(code, (code[0] == 'V' || code[0] == 'E') ? 1 : 0, head, isdigit))
        return false;
    if (n == head)
        return true;
    return code[head] == '.' && n >= head + 2 && n <= head + 3 &&
           all_of(code, head + 1, n, isdigit);
}

static bool check_code(const char *system, const char *code, struct ed_error *err)
{
    bool ok = !strcmp(system, "icd10") ? icd10_shape(code)
              : !strcmp(system, "icd9")
                  ? icd9_shape(code)
                  : (strlen(code) >= 6 && all_of(code, 0, strlen(code), isdigit)); /* SNOMED */
    if (!ok)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "code", "is not a valid %s code", system);
    return true;
}

/* Inserts one record row (insert_sql: $1 encounter, $2 account, then the body's fields,
 * RETURNING the row's JSON) and appends event_type carrying it as payload[key]. */
static bool chart_entry_write(PGconn *conn, const struct principal *who, long long encounter_id,
                              const struct record_write_opts *opts, const char *insert_sql, int n,
                              const char **params, const char *event_type, const char *key,
                              struct record_write *out, struct ed_error *err)
{
    static const char append_sql[] =
        "SELECT append_event($1, $2, jsonb_build_object($3::text, $4::jsonb))";
    struct locked_encounter enc;
    char encbuf[24], accbuf[24];
    PGresult *res;
    bool ok;

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = account_param(who, accbuf);
    res = record_query(conn, event_type, insert_sql, n, params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, ED_ERR_CONFLICT, "no_known_allergies",
                     "allergies are recorded for this patient; no known allergies does not apply");
        return record_fail(conn, err);
    }
    {
        const char *append_params[] = {params[0], event_type, key, PQgetvalue(res, 0, 0)};
        ok = record_commit_event(conn,
                                 &(struct write_audit){who, event_type, "record", enc.patient_id,
                                                       enc.department_id, opts},
                                 append_sql, 4, append_params, out, err);
    }
    PQclear(res);
    return ok;
}

bool record_diagnosis(PGconn *conn, const struct principal *who, long long encounter_id,
                      const json_t *body, const struct record_write_opts *opts,
                      struct record_write *out, struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO encounter_diagnosis (encounter_id, recorded_by, system, code, display) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING jsonb_build_object('id', id, 'system', system, "
        "'code', code, 'display', display, 'recorded_at', utc_text(recorded_at))::text";
    const char *params[5] = {NULL, NULL, record_str_field(body, "system"),
                             record_str_field(body, "code"), record_str_field(body, "display")};

    /* Diagnoses are coded in ICD-10 from now on; ICD-9 stays only on older records. */
    if (strcmp(params[2], "icd10") != 0)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "system",
                            "new diagnoses are coded in ICD-10 (icd10)");
    if (!check_code(params[2], params[3], err))
        return false;
    return chart_entry_write(conn, who, encounter_id, opts, sql, 5, params, "record.diagnosis",
                             "diagnosis", out, err);
}

bool record_allergy(PGconn *conn, const struct principal *who, long long encounter_id,
                    const json_t *body, const struct record_write_opts *opts,
                    struct record_write *out, struct ed_error *err)
{
    static const char allergy_sql[] =
        "WITH a AS (INSERT INTO patient_allergy (patient_id, recorded_by, substance, reaction, "
        "severity) SELECT e.patient_id, $2, $3, $4, $5 FROM encounter e WHERE e.id = $1 "
        "RETURNING *), p AS (UPDATE patient SET allergies_recorded_at = now() WHERE id = "
        "(SELECT patient_id FROM a) AND allergies_recorded_at IS NULL) "
        "SELECT jsonb_build_object('id', a.id, 'substance', a.substance, 'reaction', a.reaction, "
        "'severity', a.severity, 'recorded_at', utc_text(a.recorded_at))::text FROM a";
    /* "No known allergies" only while none is recorded; returns no row otherwise. */
    static const char none_sql[] =
        "WITH p AS (UPDATE patient SET allergies_recorded_at = now() WHERE id = (SELECT "
        "patient_id FROM encounter WHERE id = $1) AND $2::bigint IS NOT DISTINCT FROM $2 AND NOT "
        "EXISTS (SELECT 1 FROM patient_allergy a WHERE a.patient_id = patient.id) RETURNING id) "
        "SELECT 'null' FROM p";
    bool none = json_is_true(json_object_get(body, "no_known_allergies"));
    const char *params[5] = {NULL, NULL, record_str_field(body, "substance"),
                             record_str_field(body, "reaction"),
                             record_str_field(body, "severity")};

    if (json_object_get(body, "no_known_allergies") && !none)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "no_known_allergies",
                            "is true or absent; record an allergy with substance and severity");
    if (none && (params[2] || params[3] || params[4]))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "no_known_allergies",
                            "an allergy and no known allergies cannot be recorded together");
    if (!none && !params[2])
        return ed_error_set(err, ED_ERR_MISSING_FIELD, "substance", "is required");
    if (!none && !params[4])
        return ed_error_set(err, ED_ERR_MISSING_FIELD, "severity", "is required");
    return chart_entry_write(conn, who, encounter_id, opts, none ? none_sql : allergy_sql,
                             none ? 2 : 5, params, "record.allergy", "allergy", out, err);
}

bool record_medication(PGconn *conn, const struct principal *who, long long encounter_id,
                       const json_t *body, const struct record_write_opts *opts,
                       struct record_write *out, struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO patient_medication (patient_id, reconciled_by, name, dose, route, frequency, "
        "reconciled_at) SELECT e.patient_id, $2, $3, $4, $5, $6, coalesce($7::timestamptz, "
        "now()) FROM encounter e WHERE e.id = $1 RETURNING jsonb_build_object('id', id, 'name', "
        "name, 'dose', dose, 'route', route, 'frequency', frequency, 'reconciled_at', "
        "utc_text(reconciled_at))::text";
    const char *params[7] = {NULL,
                             NULL,
                             record_str_field(body, "name"),
                             record_str_field(body, "dose"),
                             record_str_field(body, "route"),
                             record_str_field(body, "frequency"),
                             record_str_field(body, "reconciled_at")};

    if (!record_check_not_future(conn, params[6], "reconciled_at", err))
        return false;
    return chart_entry_write(conn, who, encounter_id, opts, sql, 7, params, "record.medication",
                             "medication", out, err);
}

bool record_problem(PGconn *conn, const struct principal *who, long long encounter_id,
                    const json_t *body, const struct record_write_opts *opts,
                    struct record_write *out, struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO patient_problem (patient_id, recorded_by, system, code, display, onset) "
        "SELECT e.patient_id, $2, $3, $4, $5, $6::date FROM encounter e WHERE e.id = $1 "
        "RETURNING jsonb_build_object('id', id, 'system', system, 'code', code, 'display', "
        "display, 'onset', to_char(onset, 'YYYY-MM-DD'))::text";
    const char *params[6] = {NULL,
                             NULL,
                             record_str_field(body, "system"),
                             record_str_field(body, "code"),
                             record_str_field(body, "display"),
                             record_str_field(body, "onset")};

    if (!check_code(params[2], params[3], err) ||
        !record_check_not_future(conn, params[5], "onset", err))
        return false;
    return chart_entry_write(conn, who, encounter_id, opts, sql, 6, params, "record.problem",
                             "problem", out, err);
}

/* ---- department events: bed cleaning, alert thresholds ---- */

bool record_bed_status(PGconn *conn, const struct principal *who, long long bed_id,
                       const json_t *body, const struct record_write_opts *opts,
                       struct record_write *out, struct ed_error *err)
{
    static const char lock_sql[] =
        "SELECT b.department_id, EXISTS (SELECT 1 FROM encounter e WHERE e.bed_id = b.id AND "
        "e.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')) FROM bed b "
        "WHERE b.id = $1 "
        "AND ($2::bigint[] IS NULL OR b.department_id = ANY($2::bigint[])) FOR UPDATE OF b";
    static const char sql[] =
        "UPDATE bed SET cleaning_since = CASE WHEN $2 = 'cleaning' THEN coalesce(cleaning_since, "
        "now()) END WHERE id = $1";
    static const char append_sql[] =
        "SELECT append_department_event($2, 'bed.status', jsonb_build_object('beds', "
        "jsonb_build_array(bed_json($1))))";
    const char *status = record_str_field(body, "status");
    char bedbuf[24], deptbuf[24];
    struct record_scope scope;
    const char *params[2] = {pg_int_param(bedbuf, bed_id), record_scope_departments(who, &scope)};
    PGresult *res;
    long long dept;
    bool occupied;

    (void)opts;
    if (!pg_ensure(conn) || !record_tx_begin(conn))
        return record_db_error(conn, err);
    res = record_query(conn, "lock bed", lock_sql, 2, params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such bed");
        return record_fail(conn, err);
    }
    dept = atoll(PQgetvalue(res, 0, 0));
    occupied = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (occupied && !strcmp(status, "cleaning")) {
        ed_error_set(err, ED_ERR_CONFLICT, "status",
                     "a patient is in this bed; move the patient before cleaning");
        return record_fail(conn, err);
    }
    params[1] = status;
    if (!record_change(conn, "bed status", sql, 2, params, NULL, NULL, err))
        return false;
    params[1] = pg_int_param(deptbuf, dept);
    return record_commit_event(conn,
                               &(struct write_audit){who, "bed.status", "board", 0, dept, opts},
                               append_sql, 2, params, out, err);
}

bool record_alert_thresholds_put(PGconn *conn, const struct principal *who, long long department_id,
                                 const json_t *body, const struct record_write_opts *opts,
                                 struct record_write *out, struct ed_error *err)
{
    static const char dept_sql[] = "SELECT 1 FROM department WHERE id = $1 AND "
                                   "($2::bigint[] IS NULL OR id = ANY($2::bigint[]))";
    static const char sql[] =
        "INSERT INTO department_alert_threshold (department_id, waiting_longest_min, boarder_min, "
        "esi12_unassigned, updated_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (department_id) "
        "DO UPDATE SET waiting_longest_min = $2, boarder_min = $3, esi12_unassigned = $4, "
        "updated_by = $5, updated_at = now()";
    static const char append_sql[] =
        "SELECT append_department_event($1, 'department.alert_thresholds', "
        "jsonb_build_object('alert_thresholds', alert_thresholds_json($1)))";
    char deptbuf[24], waitbuf[24], boardbuf[24], accbuf[24];
    struct record_scope scope;
    const char *params[5] = {pg_int_param(deptbuf, department_id),
                             record_scope_departments(who, &scope)};
    PGresult *res;

    (void)opts;
    if (!pg_ensure(conn) || !record_tx_begin(conn))
        return record_db_error(conn, err);
    res = record_query(conn, "lock department", dept_sql, 2, params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such department");
        return record_fail(conn, err);
    }
    PQclear(res);
    params[1] = record_int_field(body, "waiting_longest_min", waitbuf);
    params[2] = record_int_field(body, "boarder_min", boardbuf);
    params[3] = bool_field(body, "esi12_unassigned");
    params[4] = account_param(who, accbuf);
    if (!record_change(conn, "alert thresholds", sql, 5, params, NULL, NULL, err))
        return false;
    return record_commit_event(
        conn,
        &(struct write_audit){who, "department.alert_thresholds", "board", 0, department_id, opts},
        append_sql, 1, params, out, err);
}

json_t *record_alert_thresholds(PGconn *conn, const struct principal *who, long long department_id,
                                struct ed_error *err)
{
    static const char sql[] = "SELECT alert_thresholds_json(d.id)::text, 0, 0, d.id FROM "
                              "department d WHERE d.id = $1 AND ($2::bigint[] IS NULL OR "
                              "d.id = ANY($2::bigint[])) AND $3::bigint[] IS NOT DISTINCT FROM $3";

    return record_read_audited(conn, who, sql, department_id, "alert_thresholds.read", "board",
                               "no such department", err);
}

json_t *record_metrics(PGconn *conn, const struct principal *who, long long department_id,
                       const char *date, bool last_24h, struct ed_error *err)
{
    /* date NULL: today in the department's time zone; last_24h: the 24 hours before now (just
     * after local midnight "today" is nearly empty, the last 24 h are not). */
    static const char sql[] =
        "SELECT CASE WHEN $4 THEN department_metrics_range_json(d.id, now() - interval '24 hours', "
        "now(), NULL) ELSE department_metrics_json(d.id, coalesce($2::date, (now() AT TIME ZONE "
        "d.timezone)::date)) END::text FROM department d WHERE d.id = $1 AND ($3::bigint[] IS NULL "
        "OR d.id = ANY($3::bigint[]))";
    char deptbuf[24];
    struct record_scope scope;
    const char *params[] = {pg_int_param(deptbuf, department_id), date,
                            record_scope_departments(who, &scope), last_24h ? "true" : "false"};
    PGresult *res;
    json_t *doc;

    if (!pg_ensure(conn) || !record_tx_begin(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, "metrics", sql, 4, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such department");
        record_fail(conn, err);
        return NULL;
    }
    doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    /* Aggregates only, no patient: audited as a board read. */
    if (!doc || !record_audit_success(conn, who, "metrics.read", 0, 0, "board", false, NULL) ||
        !record_tx_commit(conn)) {
        json_decref(doc);
        record_db_error(conn, err);
        return NULL;
    }
    return doc;
}
