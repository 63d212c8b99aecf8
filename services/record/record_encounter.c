/* SPDX-License-Identifier: MIT */
/* record_encounter.c: the writes of the encounter itself: arrival (identified or not), the
 * identification of an unidentified patient, triage, staff assignment, status, vitals (with
 * the plausibility rules and the set's NEWS2), notes, the break-glass flag. Each follows the
 * write shape of record_tx.c; the clinical record is record_clinical.c, a sibling. */
#include "record_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "news2.h"
#include "pg.h"

/* ---- arrival ---- */

/* Finds or creates the patient for an arrival; *patient_id set on success. */
static bool arrival_patient(PGconn *conn, const json_t *patient, char *patient_id,
                            struct ed_error *err)
{
    static const char find_sql[] =
        "SELECT id, family_name = coalesce($2, family_name) AND given_name = coalesce($3, "
        "given_name)"
        " AND birth_date = coalesce($4::date, birth_date) AND sex = coalesce($5, sex), "
        "EXISTS (SELECT 1 FROM encounter e WHERE e.patient_id = patient.id "
        "AND e.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')) "
        "FROM patient WHERE mrn = $1";
    static const char insert_sql[] =
        "INSERT INTO patient (mrn, family_name, given_name, birth_date, sex) "
        "VALUES ($1, $2, $3, $4::date, $5) RETURNING id";
    static const char *const required[] = {"family_name", "given_name", "birth_date", "sex", NULL};
    const char *mrn = record_str_field(patient, "mrn");
    const char *params[] = {
        mrn, record_str_field(patient, "family_name"), record_str_field(patient, "given_name"),
        record_str_field(patient, "birth_date"), record_str_field(patient, "sex")};
    PGresult *res;

    for (const char *p = mrn; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-')) {
            ed_error_set(err, ED_ERR_INVALID_VALUE, "patient.mrn",
                         "may contain only letters, digits and '-'");
            return record_fail(conn, err);
        }
    res = record_query(conn, "find patient", find_sql, 5, params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 1) {
        bool same = PQgetvalue(res, 0, 1)[0] == 't';
        bool active = PQgetvalue(res, 0, 2)[0] == 't';
        snprintf(patient_id, 24, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!same) {
            ed_error_set(err, ED_ERR_CONFLICT, "patient.mrn",
                         "this MRN belongs to a patient whose details differ; check the MRN");
            return record_fail(conn, err);
        }
        if (active) {
            ed_error_set(err, ED_ERR_CONFLICT, "patient.mrn",
                         "this patient already has an open ED encounter");
            return record_fail(conn, err);
        }
        return true;
    }
    PQclear(res);
    for (int i = 0; required[i]; i++) {
        if (!json_object_get(patient, required[i])) {
            char field[64];
            snprintf(field, sizeof field, "patient.%s", required[i]);
            ed_error_set(err, ED_ERR_MISSING_FIELD, field, "is required for a new patient");
            return record_fail(conn, err);
        }
    }
    if (!record_check_not_future(conn, params[3], "patient.birth_date", err))
        return false;
    res = record_query(conn, "insert patient", insert_sql, 5, params);
    if (!res)
        return record_db_error(conn, err);
    snprintf(patient_id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

/* A patient nobody can name yet: a server-made temporary identifier and alias ("Unknown
 * Male Trauma-0042"), no MRN, no name, no birth date. */
static bool unidentified_patient(PGconn *conn, const char *sex, char *patient_id,
                                 struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO patient (sex, temp_id, alias) SELECT s, t, 'Unknown ' || CASE s WHEN 'male' "
        "THEN 'Male ' WHEN 'female' THEN 'Female ' ELSE '' END || t FROM (SELECT coalesce($1, "
        "'unknown') AS s, 'Trauma-' || lpad(nextval('trauma_alias_seq')::text, 4, '0') AS t) x "
        "RETURNING id";
    const char *params[] = {sex};
    PGresult *res = record_query(conn, "insert unidentified patient", sql, 1, params);

    if (!res)
        return record_db_error(conn, err);
    snprintf(patient_id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

bool record_arrival(PGconn *conn, const struct principal *who, long long department_id,
                    const json_t *body, const struct record_write_opts *opts,
                    struct record_write *out, struct ed_error *err)
{
    /* A retired department takes no arrival; one retired while this runs is caught by
     * append_event, after the department_seq lock the retirement also takes (60_events.sql). */
    static const char dept_sql[] =
        "SELECT retired_at IS NOT NULL FROM department WHERE id = $1 AND "
        "($2::bigint[] IS NULL OR id = ANY($2::bigint[]))";
    static const char insert_sql[] =
        "INSERT INTO encounter (department_id, patient_id, arrived_at, arrival_mode, "
        "chief_complaint, status_at) VALUES ($1, $2, coalesce($3::timestamptz, now()), $4, $5, "
        "coalesce($3::timestamptz, now())) RETURNING id";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.arrived', NULL)";
    char deptbuf[24], patient_id[24];
    struct record_scope scope;
    const char *dept_params[] = {pg_int_param(deptbuf, department_id),
                                 record_scope_departments(who, &scope)};
    const char *arrived_at = record_str_field(body, "arrived_at");
    const char *params[5];
    PGresult *res;

    if (!pg_ensure(conn) || !record_tx_begin(conn))
        return record_db_error(conn, err);
    res = record_query(conn, "check department", dept_sql, 2, dept_params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such department");
        return record_fail(conn, err);
    }
    if (PQgetvalue(res, 0, 0)[0] == 't') {
        PQclear(res);
        ed_error_set(err, ED_ERR_CONFLICT, NULL,
                     "this department is retired: it takes no arrivals");
        return record_fail(conn, err);
    }
    PQclear(res);
    /* No patient: an unidentified arrival (POST .../arrivals/unidentified). */
    if (!record_check_not_future(conn, arrived_at, "arrived_at", err) ||
        !(json_object_get(body, "patient")
              ? arrival_patient(conn, json_object_get(body, "patient"), patient_id, err)
              : unidentified_patient(conn, record_str_field(body, "sex"), patient_id, err)))
        return false;
    params[0] = dept_params[0];
    params[1] = patient_id;
    params[2] = arrived_at;
    params[3] = record_str_field(body, "arrival_mode");
    params[4] = record_str_field(body, "chief_complaint");
    res = record_query(conn, "insert encounter", insert_sql, 5, params);
    if (!res)
        return record_db_error(conn, err);
    {
        char encbuf[24];
        const char *append_params[] = {pg_int_param(encbuf, atoll(PQgetvalue(res, 0, 0)))};
        PQclear(res);
        return record_commit_event(conn,
                                   &(struct write_audit){who, "arrival.create", "encounter",
                                                         atoll(patient_id), department_id, opts},
                                   append_sql, 1, append_params, out, err);
    }
}

/* ---- identifying an unidentified patient (a merge; HL7 A40 will reuse it) ---- */

bool record_identify(PGconn *conn, const struct principal *who, long long encounter_id,
                     const json_t *body, const struct record_write_opts *opts,
                     struct record_write *out, struct ed_error *err)
{
    static const char alias_sql[] =
        "SELECT temp_id, alias FROM patient WHERE id = $1 AND temp_id IS NOT NULL AND "
        "merged_into IS NULL FOR UPDATE";
    static const char known_sql[] = "SELECT 1 FROM patient WHERE mrn = $1";
    /* Everything of the alias moves to the real patient; the alias stays, linked. (Each
     * data-modifying WITH runs once, whether or not the main statement reads it.) */
    static const char merge_sql[] =
        "WITH enc AS (UPDATE encounter SET patient_id = $2 WHERE patient_id = $1 RETURNING id), "
        "al AS (UPDATE patient_allergy SET patient_id = $2 WHERE patient_id = $1 RETURNING id), "
        "med AS (UPDATE patient_medication SET patient_id = $2 WHERE patient_id = $1 RETURNING "
        "id), pr AS (UPDATE patient_problem SET patient_id = $2 WHERE patient_id = $1 RETURNING "
        "id), real AS (UPDATE patient r SET allergies_recorded_at = "
        "coalesce(r.allergies_recorded_at, "
        "(SELECT a.allergies_recorded_at FROM patient a WHERE a.id = $1)) WHERE r.id = $2 "
        "RETURNING r.id) UPDATE patient SET merged_into = $2, identified_at = now() WHERE id = $1";
    static const char append_sql[] =
        "SELECT append_event($1, 'encounter.identified', jsonb_build_object('identified', "
        "jsonb_build_object('temp_id', $2::text, 'alias', $3::text, 'patient_id', $4::bigint, "
        "'merged_into_existing', $5::boolean), 'timeline', jsonb_build_object('at', "
        "utc_text(now()), 'type', 'encounter.identified', 'summary', 'Identified: ' || $3::text || "
        "CASE WHEN $5::boolean THEN ' merged with the existing patient record' ELSE ' registered "
        "with the identity given' END, 'by', staff_json(nullif(current_setting('edlive.staff_id', "
        "true), '')::bigint))))";
    const json_t *patient = json_object_get(body, "patient");
    struct locked_encounter enc;
    char aliasbuf[24], real_id[24], temp_id[32], alias[112];
    const char *params[5];
    PGresult *res;
    bool existing;

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err))
        return false;
    params[0] = pg_int_param(aliasbuf, enc.patient_id);
    res = record_query(conn, "lock alias patient", alias_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, ED_ERR_CONFLICT, "patient",
                     "this encounter's patient is already identified");
        return record_fail(conn, err);
    }
    snprintf(temp_id, sizeof temp_id, "%s", PQgetvalue(res, 0, 0));
    snprintf(alias, sizeof alias, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    params[0] = record_str_field(patient, "mrn");
    res = record_query(conn, "find identity", known_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    existing = PQntuples(res) == 1;
    PQclear(res);
    /* The same rules as an arrival: an existing MRN whose details match (and who has no other
     * open encounter), or a new MRN with the whole identity. */
    if (!arrival_patient(conn, patient, real_id, err))
        return false;
    params[0] = aliasbuf;
    params[1] = real_id;
    if (!record_change(conn, "merge patient", merge_sql, 2, params, NULL, NULL, err))
        return false;
    {
        char encbuf[24];
        const char *append_params[] = {pg_int_param(encbuf, encounter_id), temp_id, alias, real_id,
                                       existing ? "true" : "false"};
        return record_commit_event(conn,
                                   &(struct write_audit){who, "patient.identify", "encounter",
                                                         atoll(real_id), enc.department_id, opts},
                                   append_sql, 5, append_params, out, err);
    }
}

/* ---- triage, assignment, status (the bed move is in record_clinical.c) ---- */

/* The end of a one-statement encounter write: the UPDATE (what names it in errors), then the
 * event (append_sql's $1 is params[0], the encounter) and the audit row of action. */
static bool change_and_commit(PGconn *conn, const struct principal *who,
                              const struct locked_encounter *enc,
                              const struct record_write_opts *opts, const char *what,
                              const char *sql, int nparams, const char **params, const char *action,
                              const char *append_sql, struct record_write *out,
                              struct ed_error *err)
{
    if (!record_change(conn, what, sql, nparams, params, NULL, NULL, err))
        return false;
    return record_commit_event(
        conn,
        &(struct write_audit){who, action, "encounter", enc->patient_id, enc->department_id, opts},
        append_sql, 1, params, out, err);
}

bool record_triage(PGconn *conn, const struct principal *who, long long encounter_id,
                   const json_t *body, const struct record_write_opts *opts,
                   struct record_write *out, struct ed_error *err)
{
    static const char sql[] =
        "UPDATE encounter SET esi = $2, chief_complaint = coalesce($3, chief_complaint), "
        "triaged_at = coalesce($4::timestamptz, now()) WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.triaged', NULL)";
    struct locked_encounter enc;
    char encbuf[24], esibuf[24];
    const char *params[4];

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_event_time(conn, &enc, record_str_field(body, "at"), "at", NULL, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = record_int_field(body, "esi", esibuf);
    params[2] = record_str_field(body, "chief_complaint");
    params[3] = record_str_field(body, "at");
    return change_and_commit(conn, who, &enc, opts, "triage", sql, 4, params, "encounter.triage",
                             append_sql, out, err);
}

bool record_assignment(PGconn *conn, const struct principal *who, long long encounter_id,
                       const json_t *body, const struct record_write_opts *opts,
                       struct record_write *out, struct ed_error *err)
{
    /* $4 / $5 say whether the field was given at all: absent keeps, null clears. */
    static const char sql[] =
        "UPDATE encounter SET attending_id = CASE WHEN $4 THEN $2::bigint ELSE attending_id END, "
        "nurse_id = CASE WHEN $5 THEN $3::bigint ELSE nurse_id END, "
        "attending_since = CASE WHEN $4 THEN CASE WHEN $2::bigint IS NULL THEN NULL "
        "ELSE coalesce($6::timestamptz, now()) END ELSE attending_since END, "
        "nurse_since = CASE WHEN $5 THEN CASE WHEN $3::bigint IS NULL THEN NULL "
        "ELSE coalesce($6::timestamptz, now()) END ELSE nurse_since END WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.staff_assigned', NULL)";
    static const char *const physicians[] = {"physician", NULL};
    static const char *const nurses[] = {"nurse", "charge_nurse", NULL};
    struct locked_encounter enc;
    char encbuf[24], attbuf[24], nursebuf[24];
    const char *params[6];

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_event_time(conn, &enc, record_str_field(body, "at"), "at", NULL, err) ||
        !record_check_staff(conn, enc.department_id, body, "attending_id", physicians, err) ||
        !record_check_staff(conn, enc.department_id, body, "nurse_id", nurses, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = record_int_field(body, "attending_id", attbuf);
    params[2] = record_int_field(body, "nurse_id", nursebuf);
    params[3] = json_object_get(body, "attending_id") ? "true" : "false";
    params[4] = json_object_get(body, "nurse_id") ? "true" : "false";
    params[5] = record_str_field(body, "at");
    return change_and_commit(conn, who, &enc, opts, "assign staff", sql, 6, params,
                             "encounter.assign", append_sql, out, err);
}

bool record_status(PGconn *conn, const struct principal *who, long long encounter_id,
                   const json_t *body, const struct record_write_opts *opts,
                   struct record_write *out, struct ed_error *err)
{
    /* "at": when it happened, if not now (a status recorded late). */
    /* A visit ended by status without a disposition records one, so every visit counts in
     * length of stay: left_without_being_seen is lwbs, departed is left_without_disposition. */
    static const char sql[] =
        "UPDATE encounter SET status = $2, status_at = coalesce($3::timestamptz, now()), "
        "departed_at = CASE WHEN $2 IN ('departed', 'left_without_being_seen') "
        "THEN coalesce($3::timestamptz, now()) ELSE departed_at END, "
        "disposition = CASE WHEN disposition IS NOT NULL THEN disposition "
        "WHEN $2 = 'departed' THEN 'left_without_disposition' "
        "WHEN $2 = 'left_without_being_seen' THEN 'lwbs' END, "
        "disposition_at = CASE WHEN disposition IS NOT NULL THEN disposition_at "
        "WHEN $2 IN ('departed', 'left_without_being_seen') "
        "THEN coalesce($3::timestamptz, now()) END WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.status_changed', NULL)";
    struct locked_encounter enc;
    char encbuf[24];
    const char *params[3];

    /* Provider contact may have happened in an earlier space than the current one: it is
     * only bounded by the arrival. Other steps happen where the patient is now. */
    const char *status = record_str_field(body, "status");
    bool contact = status && !strcmp(status, "seen_by_provider");

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_event_time(conn, &enc, record_str_field(body, "at"), "at",
                                 contact ? NULL : "location_since", err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = status;
    params[2] = record_str_field(body, "at");
    return change_and_commit(conn, who, &enc, opts, "change status", sql, 3, params,
                             "encounter.status", append_sql, out, err);
}

/* ---- vitals and notes ---- */

static const char *const vitals_measurements[] = {
    "heart_rate", "resp_rate",     "systolic_bp", "diastolic_bp", "spo2",        "temperature_c",
    "on_oxygen",  "consciousness", "pain",        "cap_refill_s", "resp_effort", "oxygen_l_min",
    NULL,
};

/* Values outside these ranges happen (profound hypothermia, extreme tachycardia) but are far
 * more often a slip of the finger: the request must name the field in "confirm" to store one
 * (proto/EARLY_WARNING.md). */
static const struct {
    const char *field;
    double low, high;
} plausible[] = {
    {"heart_rate", 25, 250},   {"resp_rate", 4, 60}, {"systolic_bp", 50, 250},
    {"diastolic_bp", 20, 150}, {"spo2", 50, 100},    {"temperature_c", 32.0, 42.0},
};

/* A JSON number as a text parameter (decimals kept); NULL when absent or null. */
static const char *num_field(const json_t *body, const char *key, char *buf)
{
    const json_t *v = json_object_get(body, key);

    if (!json_is_number(v))
        return NULL;
    snprintf(buf, 24, "%.3f", json_number_value(v));
    return buf;
}

static bool confirmed(const json_t *body, const char *field)
{
    return json_is_true(json_object_get(json_object_get(body, "confirm"), field));
}

/* The checks a schema cannot state; err names the field. */
static bool check_vitals_rules(const json_t *body, struct ed_error *err)
{
    bool any = false;

    for (int i = 0; vitals_measurements[i]; i++)
        any = any || record_has_value(body, vitals_measurements[i]);
    if (!any)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, NULL,
                            "a vitals set needs at least one measurement");
    /* A palpated systolic pressure has no diastolic; a diastolic alone means nothing. */
    if (record_has_value(body, "diastolic_bp") && !record_has_value(body, "systolic_bp"))
        return ed_error_set(err, ED_ERR_MISSING_FIELD, "systolic_bp",
                            "a diastolic pressure needs its systolic pressure");
    if (record_has_value(body, "diastolic_bp") &&
        record_int_value(body, "diastolic_bp") >= record_int_value(body, "systolic_bp"))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "diastolic_bp",
                            "must be lower than the systolic pressure");
    for (size_t i = 0; i < sizeof plausible / sizeof plausible[0]; i++) {
        const json_t *v = json_object_get(body, plausible[i].field);
        double x;

        if (!json_is_number(v))
            continue;
        x = json_number_value(v);
        if ((x < plausible[i].low || x > plausible[i].high) &&
            !confirmed(body, plausible[i].field)) {
            return ed_error_set(err, ED_ERR_IMPLAUSIBLE_VALUE, plausible[i].field,
                                "outside the plausible range %g-%g: correct it, confirm it "
                                "(\"confirm\": {\"%s\": true}) or save the set without it",
                                plausible[i].low, plausible[i].high, plausible[i].field);
        }
    }
    return true;
}

/* NEWS2 of one vitals set on the patient's SpO2 scale (1 or 2), as stored with the row: the
 * sub-scores, the chart 4 response band and the reassessment interval (news2.h). */
static json_t *news2_json(const json_t *body, int spo2_scale, char *temp_tenths_text)
{
    struct news2_input in = {0};
    struct news2_result r;
    json_t *scores = json_object();
    const char *acvpu = record_str_field(body, "consciousness");

    in.has_heart_rate = record_has_value(body, "heart_rate");
    in.heart_rate = (int)record_int_value(body, "heart_rate");
    in.has_resp_rate = record_has_value(body, "resp_rate");
    in.resp_rate = (int)record_int_value(body, "resp_rate");
    in.has_systolic_bp = record_has_value(body, "systolic_bp");
    in.systolic_bp = (int)record_int_value(body, "systolic_bp");
    in.has_spo2 = record_has_value(body, "spo2");
    in.spo2 = (int)record_int_value(body, "spo2");
    in.has_on_oxygen = record_has_value(body, "on_oxygen");
    in.on_oxygen = json_is_true(json_object_get(body, "on_oxygen"));
    in.has_consciousness = acvpu != NULL;
    in.consciousness = acvpu ? acvpu[0] : 'A';
    in.has_temperature = record_has_value(body, "temperature_c");
    if (in.has_temperature) {
        /* Charted to one decimal: the stored value and the scored value are the same. */
        long tenths = lround(json_number_value(json_object_get(body, "temperature_c")) * 10.0);
        in.temperature_c = (double)tenths / 10.0;
        snprintf(temp_tenths_text, 48, "%ld.%ld", tenths / 10, tenths % 10);
    }
    in.use_scale2 = spo2_scale == 2;
    news2_compute(&in, &r);
    for (int p = 0; p < NEWS2_PARAM_COUNT; p++)
        if (r.score[p] >= 0)
            json_object_set_new(scores, news2_param_name(p), json_integer(r.score[p]));
    return json_pack("{s:i,s:b,s:b,s:i,s:s,s:i,s:o}", "total", r.total, "complete", r.complete,
                     "any_single_3", r.any_single_3, "scale", spo2_scale, "band",
                     news2_band_name(news2_band(&r)), "reassess_min", news2_reassess_minutes(&r),
                     "scores", scores);
}

bool record_vitals(PGconn *conn, const struct principal *who, long long encounter_id,
                   const json_t *body, const struct record_write_opts *opts,
                   struct record_write *out, struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO vitals (encounter_id, taken_at, taken_by, heart_rate, resp_rate, "
        "systolic_bp, diastolic_bp, spo2, temperature_c, on_oxygen, consciousness, pain, news2, "
        "entered_by, cap_refill_s, resp_effort, oxygen_l_min) VALUES ($1, "
        "least(coalesce($2::timestamptz, now()), now()), $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13::jsonb, $14, round($15::numeric, 1), $16, round($17::numeric, 1)) RETURNING id";
    static const char append_sql[] =
        "SELECT append_event($1, 'vitals.recorded', jsonb_build_object('vitals', vitals_json(v))) "
        "FROM vitals v WHERE v.id = $2";
    struct locked_encounter enc;
    char b[17][24], temp[48];
    const char *params[17];
    json_t *news2;
    char *news2_text;
    PGresult *res;
    int scale;
    bool ok;

    if (!check_vitals_rules(body, err))
        return false;
    /* taken_at: not before the arrival, not beyond the 5 min clock-skew allowance; a time
     * within the allowance is stored as now, so it never sorts after sets taken since. */
    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_staff(conn, enc.department_id, body, "taken_by", NULL, err) ||
        !record_check_event_time(conn, &enc, record_str_field(body, "taken_at"), "taken_at", NULL,
                                 err))
        return false;
    scale = enc.spo2_scale; /* read with the lock: no round trip of its own */
    /* Scale 2 scores SpO2 93% and above differently on air and on oxygen: never guess air. */
    if (scale == 2 && record_has_value(body, "spo2") && !record_has_value(body, "on_oxygen")) {
        ed_error_set(err, ED_ERR_MISSING_FIELD, "on_oxygen",
                     "SpO2 scale 2: say whether the patient is on oxygen or on air");
        return record_fail(conn, err);
    }
    news2 = news2_json(body, scale, temp);
    news2_text = json_dumps(news2, JSON_COMPACT);
    json_decref(news2);
    params[0] = pg_int_param(b[0], encounter_id);
    params[1] = record_str_field(body, "taken_at");
    params[2] = record_int_field(body, "taken_by", b[2]);
    params[3] = record_int_field(body, "heart_rate", b[3]);
    params[4] = record_int_field(body, "resp_rate", b[4]);
    params[5] = record_int_field(body, "systolic_bp", b[5]);
    params[6] = record_int_field(body, "diastolic_bp", b[6]);
    params[7] = record_int_field(body, "spo2", b[7]);
    params[8] = record_has_value(body, "temperature_c") ? temp : NULL;
    params[9] = record_has_value(body, "on_oxygen")
                    ? (json_is_true(json_object_get(body, "on_oxygen")) ? "true" : "false")
                    : NULL;
    params[10] = record_str_field(body, "consciousness");
    params[11] = record_int_field(body, "pain", b[11]);
    params[12] = news2_text;
    /* An interface (HL7) acts without an account. */
    params[13] = who && who->account_id ? pg_int_param(b[13], who->account_id) : NULL;
    params[14] = num_field(body, "cap_refill_s", b[14]);
    params[15] = record_str_field(body, "resp_effort");
    params[16] = num_field(body, "oxygen_l_min", b[16]);
    res = record_query(conn, "insert vitals", sql, 17, params);
    free(news2_text);
    if (!res)
        return record_db_error(conn, err);
    if (!record_ews_refresh(conn, encounter_id, err)) {
        PQclear(res);
        return false;
    }
    {
        const char *append_params[] = {params[0], PQgetvalue(res, 0, 0)};
        ok = record_commit_event(conn,
                                 &(struct write_audit){who, "vitals.create", "vitals",
                                                       enc.patient_id, enc.department_id, opts},
                                 append_sql, 2, append_params, out, err);
    }
    PQclear(res);
    return ok;
}

bool record_note(PGconn *conn, const struct principal *who, long long encounter_id,
                 const json_t *body, const struct record_write_opts *opts, struct record_write *out,
                 struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO note (encounter_id, author_id, body, entered_by) VALUES ($1, $2, $3, $4) "
        "RETURNING id";
    static const char append_sql[] =
        "SELECT append_event($1, 'note.added', jsonb_build_object('note', note_json(n))) "
        "FROM note n WHERE n.id = $2";
    struct locked_encounter enc;
    char encbuf[24], authorbuf[24];
    char enteredbuf[24];
    const char *params[4];
    PGresult *res;
    bool ok;

    if (!record_begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !record_check_staff(conn, enc.department_id, body, "author_id", NULL, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = record_int_field(body, "author_id", authorbuf);
    params[2] = record_str_field(body, "text");
    params[3] = who && who->account_id ? pg_int_param(enteredbuf, who->account_id) : NULL;
    res = record_query(conn, "insert note", sql, 4, params);
    if (!res)
        return record_db_error(conn, err);
    {
        const char *append_params[] = {params[0], PQgetvalue(res, 0, 0)};
        ok = record_commit_event(conn,
                                 &(struct write_audit){who, "note.create", "note", enc.patient_id,
                                                       enc.department_id, opts},
                                 append_sql, 2, append_params, out, err);
    }
    PQclear(res);
    return ok;
}

bool record_break_glass_flag(PGconn *conn, const struct principal *who, long long encounter_id,
                             struct record_write *out, struct ed_error *err)
{
    static const char append_sql[] = "SELECT append_event($1, 'access.break_glass', NULL)";
    struct locked_encounter enc;
    char encbuf[24];
    const char *params[1];

    /* The grant already let who reach this encounter; lock it without scope as the system. */
    if (!record_begin_on_encounter(conn, NULL, encounter_id, NULL, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    return record_commit_event(conn,
                               &(struct write_audit){who, "break_glass.flag", "encounter",
                                                     enc.patient_id, enc.department_id, NULL},
                               append_sql, 1, params, out, err);
}
