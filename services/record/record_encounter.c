/* SPDX-License-Identifier: MIT */
/* store.c: the only SQL text of the encounter record (schema: sql/migrations/).
 * Writes follow one shape: record_begin_on_encounter() locks the encounter row, the route's checks
 * and change run, record_commit_event() appends the event, reads back its frame and commits. */
#include "board_mask.h"
#include "record.h"
#include "record_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board_mask.h"
#include "ews.h"
#include "log.h"
#include "news2.h"
#include "pg.h"

#define SQLSTATE_UNIQUE_VIOLATION "23505"

void record_write_clear(struct record_write *w)
{
    free(w->frame);
    json_decref(w->reply);
    memset(w, 0, sizeof *w);
}

/* ---- small helpers ---- */

bool record_db_error(PGconn *conn, struct ed_error *err)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg_command(conn, "ROLLBACK");
    return ed_error_set(err, 503, "database_unavailable", NULL,
                        "the record could not be reached; nothing was written, try again");
}

bool record_fail(PGconn *conn, struct ed_error *err)
{
    /* err is already set by the caller's check; undo whatever the transaction did. */
    (void)err;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg_command(conn, "ROLLBACK");
    return false;
}

/* A JSON integer (or integral real) as a text parameter; NULL when absent or null. */
const char *record_int_field(const json_t *body, const char *key, char *buf)
{
    const json_t *v = json_object_get(body, key);

    if (!v || json_is_null(v) || !json_is_number(v))
        return NULL;
    return pg_int_param(buf, (long long)llround(json_number_value(v)));
}

long long record_int_value(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    return json_is_number(v) ? (long long)llround(json_number_value(v)) : 0;
}

const char *record_str_field(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool record_has_value(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    return v && !json_is_null(v);
}

/* Runs a query expected to give one row; returns it or NULL (logged) on error. */
PGresult *record_query(PGconn *conn, const char *what, const char *sql, int n,
                       const char *const *params)
{
    PGresult *res = pg_query(conn, sql, n, params);

    if (!pg_ok(conn, res, what)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* ---- scope and audit ---- */

/* The two scope parameters of a principal: its departments and its break-glass patients;
 * both NULL for the system, which the scope clause reads as "everything". */
void record_scope_params(const struct principal *who, const char **departments,
                         const char **patients)
{
    *departments = who ? who->departments : NULL;
    *patients = who ? who->patients : NULL;
}

bool record_audit_success(PGconn *conn, const struct principal *who, const char *action,
                          long long patient_id, long long encounter_id, const char *category,
                          bool high_severity, const char *detail)
{
    return record_audit(conn, who, who ? NULL : "system", action, patient_id, encounter_id,
                        category, "success", high_severity, detail,
                        who ? who->source_addr : "local");
}

/* Whether who reaches this encounter only through a break-glass grant. */
bool record_through_break_glass(const struct principal *who, long long department_id)
{
    char id[32];
    const char *p;

    if (!who)
        return false;
    snprintf(id, sizeof id, "%lld", department_id);
    for (p = strstr(who->departments, id); p; p = strstr(p + 1, id)) {
        size_t n = strlen(id);
        if ((p[-1] == '{' || p[-1] == ',') && (p[n] == '}' || p[n] == ','))
            return false;
    }
    return true;
}

/* ---- reads ---- */

json_t *record_departments(PGconn *conn, const struct principal *who, struct ed_error *err)
{
    static const char sql[] =
        "SELECT jsonb_build_object('departments', coalesce(jsonb_agg(jsonb_build_object("
        "'id', d.id, 'code', d.code, 'name', d.name) ORDER BY d.id), '[]'::jsonb))::text "
        "FROM department d WHERE $1::bigint[] IS NULL OR d.id = ANY($1::bigint[])";
    const char *params[1] = {who ? who->departments : NULL};
    PGresult *res;
    json_t *doc;

    if (!pg_ensure(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, "departments", sql, 1, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!doc)
        record_db_error(conn, err);
    return doc;
}

/* Runs a scoped read returning (json, patient_id, encounter_id, department_id) and audits
 * it in the same transaction: no audit row, no data. */
json_t *record_read_audited(PGconn *conn, const struct principal *who, const char *sql,
                            long long id, const char *action, const char *category,
                            const char *missing, struct ed_error *err)
{
    char idbuf[24];
    const char *params[3];
    PGresult *res;
    json_t *doc;
    long long patient, encounter, department;

    params[0] = pg_int_param(idbuf, id);
    record_scope_params(who, &params[1], &params[2]);
    if (!pg_ensure(conn) || !pg_command(conn, "BEGIN")) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, action, sql, 3, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        ed_error_set(err, 404, "not_found", NULL, "%s", missing);
        record_fail(conn, err);
        return NULL;
    }
    doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    patient = atoll(PQgetvalue(res, 0, 1));
    encounter = atoll(PQgetvalue(res, 0, 2));
    department = atoll(PQgetvalue(res, 0, 3));
    PQclear(res);
    if (!doc ||
        !record_audit_success(conn, who, action, patient, encounter, category,
                              record_through_break_glass(who, department), NULL) ||
        !pg_command(conn, "COMMIT")) {
        json_decref(doc);
        record_db_error(conn, err);
        return NULL;
    }
    return doc;
}

json_t *record_board(PGconn *conn, const struct principal *who, long long department_id,
                     struct ed_error *err)
{
    /* A board is a department's, never reached through break-glass: $3 is unused. */
    static const char sql[] = "SELECT board_json(d.id)::text, 0, 0, d.id FROM department d "
                              "WHERE d.id = $1 AND ($2::bigint[] IS NULL OR "
                              "d.id = ANY($2::bigint[])) AND $3::bigint[] IS NOT DISTINCT FROM $3";

    return record_read_audited(conn, who, sql, department_id, "board.read", "board",
                               "no such department", err);
}

json_t *record_board_for(PGconn *conn, const struct principal *who, long long department_id,
                         struct ed_error *err)
{
    json_t *board = record_board(conn, who, department_id, err), *masked;
    char idbuf[24];
    const char *params[1];
    PGresult *res;
    bool shows_flags;

    if (!board || !who || !(who->roles & ROLE_DISPLAY))
        return board;
    params[0] = pg_int_param(idbuf, department_id);
    res = pg_query(conn, "SELECT wall_shows_flags FROM department WHERE id = $1", 1, params);
    if (!pg_ok(conn, res, "wall_shows_flags") || PQntuples(res) != 1) {
        PQclear(res);
        json_decref(board);
        record_db_error(conn, err);
        return NULL;
    }
    shows_flags = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    masked = board_mask_board(board, shows_flags);
    json_decref(board);
    if (!masked)
        ed_error_set(err, 503, "unavailable", NULL, "out of memory");
    return masked;
}

json_t *record_chart(PGconn *conn, const struct principal *who, long long encounter_id,
                     struct ed_error *err)
{
    static const char sql[] =
        "SELECT chart_json(e.id)::text, e.patient_id, e.id, "
        "e.department_id FROM encounter e WHERE e.id = $1 AND " RECORD_SCOPE_CLAUSE;

    return record_read_audited(conn, who, sql, encounter_id, "chart.read", "chart",
                               "no such encounter", err);
}

long long record_encounter_department(PGconn *conn, const struct principal *who,
                                      long long encounter_id)
{
    static const char sql[] =
        "SELECT e.department_id FROM encounter e WHERE e.id = $1 AND " RECORD_SCOPE_CLAUSE;
    char idbuf[24];
    const char *params[3];
    PGresult *res;
    long long dept;

    params[0] = pg_int_param(idbuf, encounter_id);
    record_scope_params(who, &params[1], &params[2]);
    res = record_query(conn, "encounter department", sql, 3, params);
    if (!res)
        return -1;
    dept = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return dept;
}

/* ---- the write shape ---- */

/* Was the part (its event types) changed after the version the client saw? */
static bool part_changed_since(PGconn *conn, long long encounter_id, long long seen_version,
                               const char *part_events, bool *changed)
{
    static const char sql[] = "SELECT EXISTS (SELECT 1 FROM event WHERE encounter_id = $1 AND "
                              "encounter_version > $2 AND type = ANY($3::text[]))";
    char idbuf[24], verbuf[24];
    const char *params[] = {pg_int_param(idbuf, encounter_id), pg_int_param(verbuf, seen_version),
                            part_events};
    PGresult *res = record_query(conn, "part changed", sql, 3, params);

    if (!res)
        return false;
    *changed = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return true;
}

bool record_begin_on_encounter(PGconn *conn, const struct principal *who, long long encounter_id,
                               const struct record_write_opts *opts, struct locked_encounter *enc,
                               struct ed_error *err)
{
    return record_begin_on_encounter_part(conn, who, encounter_id, opts, NULL, enc, err);
}

bool record_begin_on_encounter_part(PGconn *conn, const struct principal *who,
                                    long long encounter_id, const struct record_write_opts *opts,
                                    const char *part_events, struct locked_encounter *enc,
                                    struct ed_error *err)
{
    static const char sql[] =
        "SELECT e.department_id, e.status, e.bed_id IS NOT NULL, "
        "e.patient_id, e.version FROM encounter e WHERE e.id = $1 AND " RECORD_SCOPE_CLAUSE
        " FOR UPDATE";
    char idbuf[24];
    const char *params[3];
    PGresult *res;
    bool stale;

    params[0] = pg_int_param(idbuf, encounter_id);
    record_scope_params(who, &params[1], &params[2]);
    if (!pg_ensure(conn) || !pg_command(conn, "BEGIN"))
        return record_db_error(conn, err);
    res = record_query(conn, "lock encounter", sql, 3, params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, 404, "not_found", NULL, "no such encounter");
        return record_fail(conn, err);
    }
    enc->id = encounter_id;
    enc->department_id = atoll(PQgetvalue(res, 0, 0));
    snprintf(enc->status, sizeof enc->status, "%s", PQgetvalue(res, 0, 1));
    enc->has_bed = PQgetvalue(res, 0, 2)[0] == 't';
    enc->patient_id = atoll(PQgetvalue(res, 0, 3));
    enc->version = atoll(PQgetvalue(res, 0, 4));
    PQclear(res);
    /* Optimistic concurrency: a change based on an older version would overwrite a
     * colleague's change that the sender has not seen. */
    stale = opts && opts->if_match > 0 && opts->if_match != enc->version;
    /* A single-field edit conflicts only with a change of that field. A version the server
     * never had (ahead of it) always conflicts. */
    if (stale && part_events && opts->if_match < enc->version &&
        !part_changed_since(conn, encounter_id, opts->if_match, part_events, &stale))
        return record_db_error(conn, err);
    if (stale) {
        ed_error_set(err, 409, "version_conflict", "If-Match",
                     "the encounter changed (version %lld, the change was based on %lld); "
                     "review the current state and try again",
                     enc->version, opts->if_match);
        return record_fail(conn, err);
    }
    if (!strcmp(enc->status, "departed") || !strcmp(enc->status, "left_without_being_seen")) {
        ed_error_set(err, 409, "conflict", NULL,
                     "the encounter has ended (%s); it can no longer be changed", enc->status);
        return record_fail(conn, err);
    }
    return true;
}

/* Keeps the reply for a retry with the same Idempotency-Key, in the write's transaction.
 * A key used in the last 24 hours makes this 409 idempotency_replay: the caller answers with
 * that first reply instead (two copies of one request raced, or it was retried). */
static bool remember_reply(PGconn *conn, const struct write_audit *wa, const char *reply,
                           struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO idempotency (account_id, key, request_sha256, status, reply) "
        "VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (account_id, key) DO UPDATE SET "
        "request_sha256 = excluded.request_sha256, status = excluded.status, "
        "reply = excluded.reply, created_at = now() "
        "WHERE idempotency.created_at < now() - interval '24 hours' RETURNING 1";
    const struct record_write_opts *opts = wa->opts;
    char accbuf[24], statusbuf[24];
    const char *params[5];
    PGresult *res;
    bool stored;

    if (!opts || !opts->idempotency_key || !wa->who)
        return true;
    params[0] = pg_int_param(accbuf, wa->who->account_id);
    params[1] = opts->idempotency_key;
    params[2] = opts->request_sha256 ? opts->request_sha256 : "";
    params[3] = pg_int_param(statusbuf, opts->status);
    params[4] = reply;
    res = record_query(conn, "remember reply", sql, 5, params);
    if (!res)
        return false;
    stored = PQntuples(res) == 1;
    PQclear(res);
    if (!stored)
        ed_error_set(err, 409, "idempotency_replay", "Idempotency-Key",
                     "this key was already used for a write");
    return stored;
}

json_t *record_idempotent_reply(PGconn *conn, const struct principal *who, const char *key,
                                const char *request_sha256, int *status, bool *same_request,
                                struct ed_error *err)
{
    static const char sql[] =
        "SELECT status, reply::text, request_sha256 = $3 FROM idempotency "
        "WHERE account_id = $1 AND key = $2 AND created_at >= now() - interval '24 hours'";
    char accbuf[24];
    const char *params[3] = {pg_int_param(accbuf, who->account_id), key, request_sha256};
    PGresult *res;
    json_t *reply = NULL;

    if (!pg_ensure(conn)) {
        ed_error_set(err, 503, "database_unavailable", NULL, "try again");
        return NULL;
    }
    res = pg_query(conn, sql, 3, params);
    if (!pg_ok(conn, res, "read idempotency")) {
        PQclear(res);
        ed_error_set(err, 503, "database_unavailable", NULL, "try again");
        return NULL;
    }
    if (PQntuples(res) == 1) {
        *status = atoi(PQgetvalue(res, 0, 0));
        reply = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
        *same_request = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    return reply;
}

json_t *record_encounter_row(PGconn *conn, const struct principal *who, long long encounter_id)
{
    static const char sql[] = "SELECT encounter_row_json(e.id)::text FROM encounter e "
                              "WHERE e.id = $1 AND " RECORD_SCOPE_CLAUSE;
    char idbuf[24];
    const char *params[3];
    PGresult *res;
    json_t *row = NULL;

    params[0] = pg_int_param(idbuf, encounter_id);
    record_scope_params(who, &params[1], &params[2]);
    if (!pg_ensure(conn))
        return NULL;
    res = pg_query(conn, sql, 3, params);
    if (pg_ok(conn, res, "read encounter row") && PQntuples(res) == 1)
        row = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return row;
}

/* Appends the event with append_sql (which must return the new seq and take the encounter id
 * as $1), writes the audit row, reads back the reply and the frame, and commits. */
bool record_commit_event(PGconn *conn, const struct write_audit *wa, const char *append_sql,
                         int nparams, const char *const *params, struct record_write *out,
                         struct ed_error *err)
{
    static const char read_sql[] =
        "SELECT (payload || jsonb_build_object('seq', seq))::text, event_frame($1, $2), "
        "encounter_id FROM event WHERE department_id = $1 AND seq = $2";
    char deptbuf[24], seqbuf[24], staffbuf[24];
    const char *read_params[2];
    const char *actor_params[] = {
        wa->who && wa->who->staff_id ? pg_int_param(staffbuf, wa->who->staff_id) : ""};
    PGresult *res;
    bool remembered;
    long long seq;

    /* Who made the change, for the event's timeline line (SQL event_timeline). */
    res = record_query(conn, "event actor", "SELECT set_config('edlive.staff_id', $1, true)", 1,
                       actor_params);
    if (!res)
        return record_db_error(conn, err);
    PQclear(res);
    res = record_query(conn, "append event", append_sql, nparams, params);
    if (!res)
        return record_db_error(conn, err);
    seq = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    read_params[0] = pg_int_param(deptbuf, wa->department_id);
    read_params[1] = pg_int_param(seqbuf, seq);
    res = record_query(conn, "read event", read_sql, 2, read_params);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return record_db_error(conn, err);
    }
    out->department_id = wa->department_id;
    out->seq = seq;
    out->encounter_id = atoll(PQgetvalue(res, 0, 2));
    out->reply = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    out->frame = strdup(PQgetvalue(res, 0, 1));
    /* The reply as PostgreSQL wrote it is what a retry gets back: no re-encoding. */
    remembered = out->reply && out->frame && remember_reply(conn, wa, PQgetvalue(res, 0, 0), err);
    PQclear(res);
    if (!remembered) {
        record_write_clear(out);
        return err->status ? record_fail(conn, err) : record_db_error(conn, err);
    }
    if (!record_audit_success(conn, wa->who, wa->action, wa->patient_id, out->encounter_id,
                              wa->category, record_through_break_glass(wa->who, wa->department_id),
                              NULL) ||
        !pg_command(conn, "COMMIT")) {
        record_write_clear(out);
        return record_db_error(conn, err);
    }
    return true;
}

/* Runs a change statement; a unique violation becomes 409 on conflict_field. */
bool record_change(PGconn *conn, const char *what, const char *sql, int n,
                   const char *const *params, const char *conflict_field, const char *conflict_msg,
                   struct ed_error *err)
{
    PGresult *res = pg_query(conn, sql, n, params);
    bool ok = pg_ok(conn, res, what);

    if (!ok && !strcmp(pg_sqlstate(res), SQLSTATE_UNIQUE_VIOLATION) && conflict_field) {
        PQclear(res);
        ed_error_set(err, 409, "conflict", conflict_field, "%s", conflict_msg);
        return record_fail(conn, err);
    }
    PQclear(res);
    return ok ? true : record_db_error(conn, err);
}

/* Checks that staff_id is active staff of the department, with one of the roles given
 * (a NULL-terminated list; NULL for any role). */
bool record_check_staff(PGconn *conn, long long department_id, const json_t *body, const char *key,
                        const char *const *roles, struct ed_error *err)
{
    static const char sql[] =
        "SELECT st.role FROM staff st JOIN staff_department sd ON sd.staff_id = st.id "
        "WHERE st.id = $1 AND sd.department_id = $2 AND st.active";
    char idbuf[24], deptbuf[24];
    const char *params[2];
    PGresult *res;
    bool role_ok;

    params[0] = record_int_field(body, key, idbuf);
    if (!params[0])
        return true;
    params[1] = pg_int_param(deptbuf, department_id);
    res = record_query(conn, "check staff", sql, 2, params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, 422, "unknown_reference", key,
                     "no active staff member with this id works in this department");
        return record_fail(conn, err);
    }
    role_ok = roles == NULL;
    for (int i = 0; roles && roles[i]; i++)
        if (!strcmp(roles[i], PQgetvalue(res, 0, 0)))
            role_ok = true;
    PQclear(res);
    if (!role_ok) {
        ed_error_set(err, 422, "invalid_value", key, "this staff member cannot take this role");
        return record_fail(conn, err);
    }
    return true;
}

/* A time given in the body must not lie in the future (5 min of clock skew allowed). */
bool record_check_not_future(PGconn *conn, const char *when, const char *field,
                             struct ed_error *err)
{
    const char *params[] = {when};
    PGresult *res;
    bool future;

    if (!when)
        return true;
    res = record_query(conn, "check time", "SELECT $1::timestamptz > now() + interval '5 minutes'",
                       1, params);
    if (!res)
        return record_db_error(conn, err);
    future = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (future) {
        ed_error_set(err, 422, "out_of_range", field, "must not be in the future");
        return record_fail(conn, err);
    }
    return true;
}

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
        "AND e.status NOT IN ('departed', 'left_without_being_seen')) "
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
            ed_error_set(err, 422, "invalid_value", "patient.mrn",
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
            ed_error_set(err, 409, "conflict", "patient.mrn",
                         "this MRN belongs to a patient whose details differ; check the MRN");
            return record_fail(conn, err);
        }
        if (active) {
            ed_error_set(err, 409, "conflict", "patient.mrn",
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
            ed_error_set(err, 422, "missing_field", field, "is required for a new patient");
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
    static const char dept_sql[] = "SELECT 1 FROM department WHERE id = $1 AND "
                                   "($2::bigint[] IS NULL OR id = ANY($2::bigint[]))";
    static const char insert_sql[] =
        "INSERT INTO encounter (department_id, patient_id, arrived_at, arrival_mode, "
        "chief_complaint, status_at) VALUES ($1, $2, coalesce($3::timestamptz, now()), $4, $5, "
        "coalesce($3::timestamptz, now())) RETURNING id";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.arrived', NULL)";
    char deptbuf[24], patient_id[24];
    const char *dept_params[] = {pg_int_param(deptbuf, department_id),
                                 who ? who->departments : NULL};
    const char *arrived_at = record_str_field(body, "arrived_at");
    const char *params[5];
    PGresult *res;

    if (!pg_ensure(conn) || !pg_command(conn, "BEGIN"))
        return record_db_error(conn, err);
    res = record_query(conn, "check department", dept_sql, 2, dept_params);
    if (!res)
        return record_db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, 404, "not_found", NULL, "no such department");
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
        ed_error_set(err, 409, "conflict", "patient",
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

/* ---- triage, assignment, status (the bed move is in store_clinical.c) ---- */

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
    if (!record_change(conn, "triage", sql, 4, params, NULL, NULL, err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.triage", "encounter",
                                                     enc.patient_id, enc.department_id, opts},
                               append_sql, 1, params, out, err);
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
    if (!record_change(conn, "assign staff", sql, 6, params, NULL, NULL, err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.assign", "encounter",
                                                     enc.patient_id, enc.department_id, opts},
                               append_sql, 1, params, out, err);
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
    if (!record_change(conn, "change status", sql, 3, params, NULL, NULL, err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.status", "encounter",
                                                     enc.patient_id, enc.department_id, opts},
                               append_sql, 1, params, out, err);
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
        return ed_error_set(err, 422, "invalid_value", NULL,
                            "a vitals set needs at least one measurement");
    /* A palpated systolic pressure has no diastolic; a diastolic alone means nothing. */
    if (record_has_value(body, "diastolic_bp") && !record_has_value(body, "systolic_bp"))
        return ed_error_set(err, 422, "missing_field", "systolic_bp",
                            "a diastolic pressure needs its systolic pressure");
    if (record_has_value(body, "diastolic_bp") &&
        record_int_value(body, "diastolic_bp") >= record_int_value(body, "systolic_bp"))
        return ed_error_set(err, 422, "invalid_value", "diastolic_bp",
                            "must be lower than the systolic pressure");
    for (size_t i = 0; i < sizeof plausible / sizeof plausible[0]; i++) {
        const json_t *v = json_object_get(body, plausible[i].field);
        double x;

        if (!json_is_number(v))
            continue;
        x = json_number_value(v);
        if ((x < plausible[i].low || x > plausible[i].high) &&
            !confirmed(body, plausible[i].field)) {
            return ed_error_set(err, 422, "implausible_value", plausible[i].field,
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
    res = record_query(conn, "spo2 scale", "SELECT spo2_scale FROM encounter WHERE id = $1", 1,
                       (const char *[]){pg_int_param(b[0], encounter_id)});
    if (!res)
        return record_db_error(conn, err);
    scale = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    /* Scale 2 scores SpO2 93% and above differently on air and on oxygen: never guess air. */
    if (scale == 2 && record_has_value(body, "spo2") && !record_has_value(body, "on_oxygen")) {
        ed_error_set(err, 422, "missing_field", "on_oxygen",
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
    params[13] = who ? pg_int_param(b[13], who->account_id) : NULL;
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
    params[3] = who ? pg_int_param(enteredbuf, who->account_id) : NULL;
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
