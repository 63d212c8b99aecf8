/* SPDX-License-Identifier: MIT */
/* record_fhir.c: the record's reads for ed-api's FHIR R4 routes (/fhir/R4, issue 12) that the
 * REST reads do not already give: a patient, a staff member, a bed, the encounter of a vitals
 * set, and the scoped searches of encounters and patients. Each carries the principal's scope
 * (RECORD_SCOPE_CLAUSE: its departments, plus break-glass patients) and every read of patient
 * data is audited in its own transaction, one row per encounter or patient returned: no audit
 * row, no data. Staff, beds and departments are not patient data (the board shows them to
 * every role of the department) and are read within the departments only. At the top of the
 * record's DAG: calls record_tx.c and record_audit.c. */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

json_t *record_fhir_patient(PGconn *conn, const struct principal *who, long long patient_id,
                            struct ed_error *err)
{
    /* The patient is visible through any encounter in scope; the latest one is audited. */
    static const char sql[] =
        "SELECT patient_json(p)::text, p.id, e.id, e.department_id FROM patient p "
        "JOIN encounter e ON e.patient_id = p.id WHERE p.id = $1 AND " RECORD_SCOPE_CLAUSE
        " ORDER BY e.id DESC LIMIT 1";

    return record_read_audited(conn, who, sql, patient_id, "patient.read", "chart",
                               "no such patient", err);
}

/* One row of a department-scoped read of things that are not patient data. */
static json_t *department_read(PGconn *conn, const struct principal *who, const char *what,
                               const char *sql, long long id, const char *missing,
                               struct ed_error *err)
{
    char idbuf[24];
    struct record_scope scope;
    const char *params[2] = {pg_int_param(idbuf, id), record_scope_departments(who, &scope)};
    PGresult *res;
    json_t *doc = NULL;

    if (!pg_ensure(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, what, sql, 2, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    else
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "%s", missing);
    PQclear(res);
    if (!doc && !err->status)
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    return doc;
}

json_t *record_fhir_staff(PGconn *conn, const struct principal *who, long long staff_id,
                          struct ed_error *err)
{
    static const char sql[] =
        "SELECT staff_json(s.id)::text FROM staff s WHERE s.id = $1 AND EXISTS ("
        "SELECT 1 FROM staff_department sd WHERE sd.staff_id = s.id AND "
        "($2::bigint[] IS NULL OR sd.department_id = ANY($2::bigint[])))";

    return department_read(conn, who, "fhir staff", sql, staff_id, "no such practitioner", err);
}

/* A bed (b) and its department (d) as fhir_location reads them: the board's objects plus
 * retired_at, which makes the Location inactive. Retired rows stay readable: encounters'
 * location history names them. */
#define FHIR_BED_JSON "bed_json(b.id) || jsonb_build_object('retired_at', utc_text(b.retired_at))"
#define FHIR_DEPARTMENT_JSON                                                        \
    "jsonb_build_object('id', d.id, 'code', d.code, 'name', d.name, 'retired_at', " \
    "utc_text(d.retired_at))"

json_t *record_fhir_bed(PGconn *conn, const struct principal *who, long long bed_id,
                        struct ed_error *err)
{
    static const char sql[] =
        "SELECT jsonb_build_object('bed', " FHIR_BED_JSON ", 'department', " FHIR_DEPARTMENT_JSON
        ")::text FROM bed b JOIN department d ON d.id = b.department_id WHERE b.id = $1 AND "
        "($2::bigint[] IS NULL OR b.department_id = ANY($2::bigint[]))";

    return department_read(conn, who, "fhir bed", sql, bed_id, "no such location", err);
}

json_t *record_fhir_department(PGconn *conn, const struct principal *who, long long department_id,
                               struct ed_error *err)
{
    static const char sql[] =
        "SELECT " FHIR_DEPARTMENT_JSON "::text FROM department d WHERE d.id = $1 AND "
        "($2::bigint[] IS NULL OR d.id = ANY($2::bigint[]))";

    return department_read(conn, who, "fhir department", sql, department_id, "no such location",
                           err);
}

long long record_fhir_vitals_encounter(PGconn *conn, const struct principal *who,
                                       long long vitals_id)
{
    static const char sql[] = "SELECT e.id FROM vitals v JOIN encounter e ON e.id = v.encounter_id "
                              "WHERE v.id = $1 AND " RECORD_SCOPE_CLAUSE;
    char idbuf[24];
    const char *params[3];
    struct record_scope scope;
    PGresult *res;
    long long encounter;

    params[0] = pg_int_param(idbuf, vitals_id);
    record_scope_params(who, &scope);
    params[1] = scope.departments;
    params[2] = scope.patients;
    if (!pg_ensure(conn))
        return -1;
    res = record_query(conn, "fhir vitals encounter", sql, 3, params);
    if (!res)
        return -1;
    encounter = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return encounter;
}

/* Runs a scoped search whose rows are (json, patient_id, encounter_id, department_id, total)
 * and audits each row returned, all in one transaction. Returns {"total": n, "rows": [...]}. */
static json_t *search_audited(PGconn *conn, const struct principal *who, const char *what,
                              const char *action, const char *sql, int n, const char *const *params,
                              struct ed_error *err)
{
    PGresult *res;
    json_t *rows, *doc;
    long long total = 0;

    if (!pg_ensure(conn) || !record_tx_begin(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, what, sql, n, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    rows = json_array();
    for (int i = 0; rows && i < PQntuples(res); i++) {
        long long department = atoll(PQgetvalue(res, i, 3));
        json_t *row = json_loads(PQgetvalue(res, i, 0), 0, NULL);

        total = atoll(PQgetvalue(res, i, 4));
        if (!row || json_array_append_new(rows, row) ||
            !record_audit_success(conn, who, action, atoll(PQgetvalue(res, i, 1)),
                                  atoll(PQgetvalue(res, i, 2)), "chart",
                                  record_through_break_glass(who, department), NULL)) {
            json_decref(rows);
            rows = NULL;
        }
    }
    PQclear(res);
    if (!rows || !record_tx_commit(conn)) {
        json_decref(rows);
        record_db_error(conn, err);
        return NULL;
    }
    doc = json_pack("{s:I,s:o}", "total", (json_int_t)total, "rows", rows);
    if (!doc)
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    return doc;
}

/* The R4 Encounter.status of an encounter row (proto/fhir/FHIR_MAPPING.md §2). */
#define FHIR_STATUS_SQL                                                                          \
    "CASE WHEN e.status = 'waiting' AND e.triaged_at IS NULL THEN 'arrived' "                    \
    "WHEN e.status = 'waiting' THEN 'triaged' "                                                  \
    "WHEN e.status IN ('in_room', 'seen_by_provider', 'disposition_decided') "                   \
    "THEN 'in-progress' WHEN e.status IN ('departed', 'left_without_being_seen') "               \
    "THEN 'finished' WHEN e.status = 'entered_in_error' THEN 'entered-in-error' ELSE 'unknown' " \
    "END"

json_t *record_fhir_encounters(PGconn *conn, const struct principal *who,
                               const struct record_fhir_search *q, struct ed_error *err)
{
    /* Keyset paging by id ($10: after); the total counts every match, not only this page. A
     * date range is on the period [arrived_at, departed_at or now]. */
    static const char sql[] =
        "WITH m AS (SELECT e.id, e.patient_id, e.department_id FROM encounter e "
        "WHERE " RECORD_SCOPE_CLAUSE " AND ($1::bigint IS NULL OR e.id = $1) "
        "AND ($4::text[] IS NULL OR " FHIR_STATUS_SQL " = ANY($4::text[])) "
        "AND ($5::bigint IS NULL OR e.bed_id = $5 OR EXISTS (SELECT 1 FROM encounter_location l "
        "WHERE l.encounter_id = e.id AND l.bed_id = $5)) "
        "AND ($6::timestamptz IS NULL OR coalesce(e.departed_at, now()) >= $6) "
        "AND ($7::timestamptz IS NULL OR e.arrived_at <= $7) "
        "AND ($8::bigint IS NULL OR e.patient_id = $8)) "
        "SELECT encounter_row_json(m.id)::text, m.patient_id, m.id, m.department_id, "
        "(SELECT count(*) FROM m) FROM m WHERE ($9::bigint IS NULL OR m.id > $9) "
        "ORDER BY m.id LIMIT $10";
    char idbuf[24], bedbuf[24], patbuf[24], afterbuf[24], countbuf[24];
    const char *params[10];
    struct record_scope scope;

    record_scope_params(who, &scope);
    params[0] = q->id ? pg_int_param(idbuf, q->id) : NULL;
    params[1] = scope.departments;
    params[2] = scope.patients;
    params[3] = q->statuses;
    params[4] = q->bed_id ? pg_int_param(bedbuf, q->bed_id) : NULL;
    params[5] = q->date_ge;
    params[6] = q->date_le;
    params[7] = q->patient_id ? pg_int_param(patbuf, q->patient_id) : NULL;
    params[8] = q->after ? pg_int_param(afterbuf, q->after) : NULL;
    params[9] = pg_int_param(countbuf, q->count);
    return search_audited(conn, who, "fhir encounter search", "encounter.search", sql, 10, params,
                          err);
}

json_t *record_fhir_patients(PGconn *conn, const struct principal *who,
                             const struct record_fhir_search *q, struct ed_error *err)
{
    /* A patient is a match when an encounter of theirs is in scope; audited through the
     * latest such encounter. */
    static const char sql[] =
        "WITH m AS (SELECT DISTINCT ON (p.id) p.id, e.id AS encounter_id, e.department_id "
        "FROM patient p JOIN encounter e ON e.patient_id = p.id WHERE " RECORD_SCOPE_CLAUSE
        " AND ($1::bigint IS NULL OR p.id = $1) AND ($4::text IS NULL OR p.mrn = $4) "
        "ORDER BY p.id, e.id DESC) "
        "SELECT patient_json(p)::text, m.id, m.encounter_id, m.department_id, "
        "(SELECT count(*) FROM m) FROM m JOIN patient p ON p.id = m.id "
        "WHERE ($5::bigint IS NULL OR m.id > $5) ORDER BY m.id LIMIT $6";
    char idbuf[24], afterbuf[24], countbuf[24];
    const char *params[6];
    struct record_scope scope;

    record_scope_params(who, &scope);
    params[0] = q->id ? pg_int_param(idbuf, q->id) : NULL;
    params[1] = scope.departments;
    params[2] = scope.patients;
    params[3] = q->mrn;
    params[4] = q->after ? pg_int_param(afterbuf, q->after) : NULL;
    params[5] = pg_int_param(countbuf, q->count);
    return search_audited(conn, who, "fhir patient search", "patient.search", sql, 6, params, err);
}

/* A department-scoped search of what is not patient data (beds, staff): rows (json, total);
 * not audited, like the board's beds and staff. {"total": n, "rows": [...]}. */
static json_t *department_search(PGconn *conn, const char *what, const char *sql, int n,
                                 const char *const *params, struct ed_error *err)
{
    PGresult *res;
    json_t *rows, *doc;
    long long total = 0;

    if (!pg_ensure(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, what, sql, n, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    rows = json_array();
    for (int i = 0; rows && i < PQntuples(res); i++) {
        json_t *row = json_loads(PQgetvalue(res, i, 0), 0, NULL);
        total = atoll(PQgetvalue(res, i, 1));
        if (!row || json_array_append_new(rows, row)) {
            json_decref(rows);
            rows = NULL;
        }
    }
    PQclear(res);
    doc = rows ? json_pack("{s:I,s:o}", "total", (json_int_t)total, "rows", rows) : NULL;
    if (!doc)
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    return doc;
}

json_t *record_fhir_beds(PGconn *conn, const struct principal *who,
                         const struct record_fhir_search *q, struct ed_error *err)
{
    static const char sql[] =
        "WITH m AS (SELECT b.id FROM bed b JOIN department d ON d.id = b.department_id "
        "WHERE ($2::bigint[] IS NULL OR b.department_id = ANY($2::bigint[])) "
        "AND ($1::bigint IS NULL OR b.id = $1) "
        "AND ($3::text IS NULL OR starts_with(lower(b.label), lower($3))) "
        "AND ($6::boolean IS NULL OR (b.retired_at IS NULL AND d.retired_at IS NULL) = $6)) "
        "SELECT jsonb_build_object('bed', " FHIR_BED_JSON ", 'department', " FHIR_DEPARTMENT_JSON
        ")::text, (SELECT count(*) FROM m) "
        "FROM m JOIN bed b ON b.id = m.id JOIN department d ON d.id = b.department_id "
        "WHERE ($4::bigint IS NULL OR b.id > $4) ORDER BY b.id LIMIT $5";
    char idbuf[24], afterbuf[24], countbuf[24];
    struct record_scope scope;
    const char *params[6] = {q->id ? pg_int_param(idbuf, q->id) : NULL,
                             record_scope_departments(who, &scope),
                             q->name,
                             q->after ? pg_int_param(afterbuf, q->after) : NULL,
                             pg_int_param(countbuf, q->count),
                             q->active > 0   ? "true"
                             : q->active < 0 ? "false"
                                             : NULL};

    return department_search(conn, "fhir bed search", sql, 6, params, err);
}

json_t *record_fhir_staff_search(PGconn *conn, const struct principal *who,
                                 const struct record_fhir_search *q, struct ed_error *err)
{
    static const char sql[] =
        "WITH m AS (SELECT s.id FROM staff s WHERE EXISTS (SELECT 1 FROM staff_department sd "
        "WHERE sd.staff_id = s.id AND ($2::bigint[] IS NULL OR "
        "sd.department_id = ANY($2::bigint[]))) AND ($1::bigint IS NULL OR s.id = $1) "
        "AND ($3::text IS NULL OR starts_with(lower(s.display_name), lower($3)) OR "
        "position(' ' || lower($3) IN ' ' || lower(s.display_name)) > 0)) "
        "SELECT staff_json(m.id)::text, (SELECT count(*) FROM m) FROM m "
        "WHERE ($4::bigint IS NULL OR m.id > $4) ORDER BY m.id LIMIT $5";
    char idbuf[24], afterbuf[24], countbuf[24];
    struct record_scope scope;
    const char *params[5] = {
        q->id ? pg_int_param(idbuf, q->id) : NULL, record_scope_departments(who, &scope), q->name,
        q->after ? pg_int_param(afterbuf, q->after) : NULL, pg_int_param(countbuf, q->count)};

    return department_search(conn, "fhir staff search", sql, 5, params, err);
}
