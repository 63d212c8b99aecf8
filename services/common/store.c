/* SPDX-License-Identifier: MIT */
/* store.c: the only SQL text of the encounter record (schema: sql/migrations/).
 * Writes follow one shape: begin_on_encounter() locks the encounter row, the route's checks
 * and change run, commit_event() appends the event, reads back its frame and commits. */
#include "store.h"
#include "board_mask.h"
#include "store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_mask.h"
#include "log.h"
#include "news2.h"
#include "pg.h"

#define SQLSTATE_UNIQUE_VIOLATION "23505"

void store_write_clear(struct store_write *w)
{
    free(w->frame);
    json_decref(w->reply);
    memset(w, 0, sizeof *w);
}

/* ---- small helpers ---- */

bool db_error(PGconn *conn, struct ed_error *err)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg_command(conn, "ROLLBACK");
    return ed_error_set(err, 503, "database_unavailable", NULL,
                        "the record could not be reached; nothing was written, try again");
}

bool fail(PGconn *conn, struct ed_error *err)
{
    /* err is already set by the caller's check; undo whatever the transaction did. */
    (void)err;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg_command(conn, "ROLLBACK");
    return false;
}

/* A JSON integer (or integral real) as a text parameter; NULL when absent or null. */
const char *int_field(const json_t *body, const char *key, char *buf)
{
    const json_t *v = json_object_get(body, key);

    if (!v || json_is_null(v) || !json_is_number(v))
        return NULL;
    return pg_int_param(buf, (long long)llround(json_number_value(v)));
}

long long int_value(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    return json_is_number(v) ? (long long)llround(json_number_value(v)) : 0;
}

const char *str_field(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool has_value(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);

    return v && !json_is_null(v);
}

/* Runs a query expected to give one row; returns it or NULL (logged) on error. */
PGresult *query(PGconn *conn, const char *what, const char *sql, int n, const char *const *params)
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
void scope_params(const struct principal *who, const char **departments, const char **patients)
{
    *departments = who ? who->departments : NULL;
    *patients = who ? who->patients : NULL;
}

bool audit(PGconn *conn, const struct principal *who, const char *action, long long patient_id,
           long long encounter_id, const char *category, bool high_severity, const char *detail)
{
    return access_audit(conn, who, who ? NULL : "system", action, patient_id, encounter_id,
                        category, "success", high_severity, detail,
                        who ? who->source_addr : "local");
}

/* Whether who reaches this encounter only through a break-glass grant. */
bool through_break_glass(const struct principal *who, long long department_id)
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

json_t *store_departments(PGconn *conn, const struct principal *who, struct ed_error *err)
{
    static const char sql[] =
        "SELECT jsonb_build_object('departments', coalesce(jsonb_agg(jsonb_build_object("
        "'id', d.id, 'code', d.code, 'name', d.name) ORDER BY d.id), '[]'::jsonb))::text "
        "FROM department d WHERE $1::bigint[] IS NULL OR d.id = ANY($1::bigint[])";
    const char *params[1] = {who ? who->departments : NULL};
    PGresult *res;
    json_t *doc;

    if (!pg_ensure(conn)) {
        db_error(conn, err);
        return NULL;
    }
    res = query(conn, "departments", sql, 1, params);
    if (!res) {
        db_error(conn, err);
        return NULL;
    }
    doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!doc)
        db_error(conn, err);
    return doc;
}

/* Runs a scoped read returning (json, patient_id, encounter_id, department_id) and audits
 * it in the same transaction: no audit row, no data. */
json_t *read_audited(PGconn *conn, const struct principal *who, const char *sql, long long id,
                     const char *action, const char *category, const char *missing,
                     struct ed_error *err)
{
    char idbuf[24];
    const char *params[3];
    PGresult *res;
    json_t *doc;
    long long patient, encounter, department;

    params[0] = pg_int_param(idbuf, id);
    scope_params(who, &params[1], &params[2]);
    if (!pg_ensure(conn) || !pg_command(conn, "BEGIN")) {
        db_error(conn, err);
        return NULL;
    }
    res = query(conn, action, sql, 3, params);
    if (!res) {
        db_error(conn, err);
        return NULL;
    }
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        ed_error_set(err, 404, "not_found", NULL, "%s", missing);
        fail(conn, err);
        return NULL;
    }
    doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    patient = atoll(PQgetvalue(res, 0, 1));
    encounter = atoll(PQgetvalue(res, 0, 2));
    department = atoll(PQgetvalue(res, 0, 3));
    PQclear(res);
    if (!doc ||
        !audit(conn, who, action, patient, encounter, category,
               through_break_glass(who, department), NULL) ||
        !pg_command(conn, "COMMIT")) {
        json_decref(doc);
        db_error(conn, err);
        return NULL;
    }
    return doc;
}

json_t *store_board(PGconn *conn, const struct principal *who, long long department_id,
                    struct ed_error *err)
{
    /* A board is a department's, never reached through break-glass: $3 is unused. */
    static const char sql[] = "SELECT board_json(d.id)::text, 0, 0, d.id FROM department d "
                              "WHERE d.id = $1 AND ($2::bigint[] IS NULL OR "
                              "d.id = ANY($2::bigint[])) AND $3::bigint[] IS NOT DISTINCT FROM $3";

    return read_audited(conn, who, sql, department_id, "board.read", "board", "no such department",
                        err);
}

json_t *store_board_for(PGconn *conn, const struct principal *who, long long department_id,
                        struct ed_error *err)
{
    json_t *board = store_board(conn, who, department_id, err), *masked;
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
        db_error(conn, err);
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

json_t *store_chart(PGconn *conn, const struct principal *who, long long encounter_id,
                    struct ed_error *err)
{
    static const char sql[] = "SELECT chart_json(e.id)::text, e.patient_id, e.id, "
                              "e.department_id FROM encounter e WHERE e.id = $1 AND " SCOPE_CLAUSE;

    return read_audited(conn, who, sql, encounter_id, "chart.read", "chart", "no such encounter",
                        err);
}

long long store_encounter_department(PGconn *conn, const struct principal *who,
                                     long long encounter_id)
{
    static const char sql[] =
        "SELECT e.department_id FROM encounter e WHERE e.id = $1 AND " SCOPE_CLAUSE;
    char idbuf[24];
    const char *params[3];
    PGresult *res;
    long long dept;

    params[0] = pg_int_param(idbuf, encounter_id);
    scope_params(who, &params[1], &params[2]);
    res = query(conn, "encounter department", sql, 3, params);
    if (!res)
        return -1;
    dept = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return dept;
}

/* ---- the write shape ---- */

bool begin_on_encounter(PGconn *conn, const struct principal *who, long long encounter_id,
                        const struct store_write_opts *opts, struct locked_encounter *enc,
                        struct ed_error *err)
{
    static const char sql[] =
        "SELECT e.department_id, e.status, e.bed_id IS NOT NULL, "
        "e.patient_id, e.version FROM encounter e WHERE e.id = $1 AND " SCOPE_CLAUSE " FOR UPDATE";
    char idbuf[24];
    const char *params[3];
    PGresult *res;

    params[0] = pg_int_param(idbuf, encounter_id);
    scope_params(who, &params[1], &params[2]);
    if (!pg_ensure(conn) || !pg_command(conn, "BEGIN"))
        return db_error(conn, err);
    res = query(conn, "lock encounter", sql, 3, params);
    if (!res)
        return db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, 404, "not_found", NULL, "no such encounter");
        return fail(conn, err);
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
    if (opts && opts->if_match > 0 && opts->if_match != enc->version) {
        ed_error_set(err, 409, "version_conflict", "If-Match",
                     "the encounter changed (version %lld, the change was based on %lld); "
                     "review the current state and try again",
                     enc->version, opts->if_match);
        return fail(conn, err);
    }
    if (!strcmp(enc->status, "departed") || !strcmp(enc->status, "left_without_being_seen")) {
        ed_error_set(err, 409, "conflict", NULL,
                     "the encounter has ended (%s); it can no longer be changed", enc->status);
        return fail(conn, err);
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
    const struct store_write_opts *opts = wa->opts;
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
    res = query(conn, "remember reply", sql, 5, params);
    if (!res)
        return false;
    stored = PQntuples(res) == 1;
    PQclear(res);
    if (!stored)
        ed_error_set(err, 409, "idempotency_replay", "Idempotency-Key",
                     "this key was already used for a write");
    return stored;
}

json_t *store_idempotent_reply(PGconn *conn, const struct principal *who, const char *key,
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

json_t *store_encounter_row(PGconn *conn, const struct principal *who, long long encounter_id)
{
    static const char sql[] = "SELECT encounter_row_json(e.id)::text FROM encounter e "
                              "WHERE e.id = $1 AND " SCOPE_CLAUSE;
    char idbuf[24];
    const char *params[3];
    PGresult *res;
    json_t *row = NULL;

    params[0] = pg_int_param(idbuf, encounter_id);
    scope_params(who, &params[1], &params[2]);
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
bool commit_event(PGconn *conn, const struct write_audit *wa, const char *append_sql, int nparams,
                  const char *const *params, struct store_write *out, struct ed_error *err)
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
    res = query(conn, "event actor", "SELECT set_config('edlive.staff_id', $1, true)", 1,
                actor_params);
    if (!res)
        return db_error(conn, err);
    PQclear(res);
    res = query(conn, "append event", append_sql, nparams, params);
    if (!res)
        return db_error(conn, err);
    seq = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    read_params[0] = pg_int_param(deptbuf, wa->department_id);
    read_params[1] = pg_int_param(seqbuf, seq);
    res = query(conn, "read event", read_sql, 2, read_params);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return db_error(conn, err);
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
        store_write_clear(out);
        return err->status ? fail(conn, err) : db_error(conn, err);
    }
    if (!audit(conn, wa->who, wa->action, wa->patient_id, out->encounter_id, wa->category,
               through_break_glass(wa->who, wa->department_id), NULL) ||
        !pg_command(conn, "COMMIT")) {
        store_write_clear(out);
        return db_error(conn, err);
    }
    return true;
}

/* Runs a change statement; a unique violation becomes 409 on conflict_field. */
bool change(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
            const char *conflict_field, const char *conflict_msg, struct ed_error *err)
{
    PGresult *res = pg_query(conn, sql, n, params);
    bool ok = pg_ok(conn, res, what);

    if (!ok && !strcmp(pg_sqlstate(res), SQLSTATE_UNIQUE_VIOLATION) && conflict_field) {
        PQclear(res);
        ed_error_set(err, 409, "conflict", conflict_field, "%s", conflict_msg);
        return fail(conn, err);
    }
    PQclear(res);
    return ok ? true : db_error(conn, err);
}

/* Checks that staff_id is active staff of the department, with one of the roles given
 * (a NULL-terminated list; NULL for any role). */
bool check_staff(PGconn *conn, long long department_id, const json_t *body, const char *key,
                 const char *const *roles, struct ed_error *err)
{
    static const char sql[] =
        "SELECT st.role FROM staff st JOIN staff_department sd ON sd.staff_id = st.id "
        "WHERE st.id = $1 AND sd.department_id = $2 AND st.active";
    char idbuf[24], deptbuf[24];
    const char *params[2];
    PGresult *res;
    bool role_ok;

    params[0] = int_field(body, key, idbuf);
    if (!params[0])
        return true;
    params[1] = pg_int_param(deptbuf, department_id);
    res = query(conn, "check staff", sql, 2, params);
    if (!res)
        return db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, 422, "unknown_reference", key,
                     "no active staff member with this id works in this department");
        return fail(conn, err);
    }
    role_ok = roles == NULL;
    for (int i = 0; roles && roles[i]; i++)
        if (!strcmp(roles[i], PQgetvalue(res, 0, 0)))
            role_ok = true;
    PQclear(res);
    if (!role_ok) {
        ed_error_set(err, 422, "invalid_value", key, "this staff member cannot take this role");
        return fail(conn, err);
    }
    return true;
}

/* A time given in the body must not lie in the future (5 min of clock skew allowed). */
bool check_not_future(PGconn *conn, const char *when, const char *field, struct ed_error *err)
{
    const char *params[] = {when};
    PGresult *res;
    bool future;

    if (!when)
        return true;
    res = query(conn, "check time", "SELECT $1::timestamptz > now() + interval '5 minutes'", 1,
                params);
    if (!res)
        return db_error(conn, err);
    future = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (future) {
        ed_error_set(err, 422, "out_of_range", field, "must not be in the future");
        return fail(conn, err);
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
    const char *mrn = str_field(patient, "mrn");
    const char *params[] = {mrn, str_field(patient, "family_name"),
                            str_field(patient, "given_name"), str_field(patient, "birth_date"),
                            str_field(patient, "sex")};
    PGresult *res;

    for (const char *p = mrn; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-')) {
            ed_error_set(err, 422, "invalid_value", "patient.mrn",
                         "may contain only letters, digits and '-'");
            return fail(conn, err);
        }
    res = query(conn, "find patient", find_sql, 5, params);
    if (!res)
        return db_error(conn, err);
    if (PQntuples(res) == 1) {
        bool same = PQgetvalue(res, 0, 1)[0] == 't';
        bool active = PQgetvalue(res, 0, 2)[0] == 't';
        snprintf(patient_id, 24, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!same) {
            ed_error_set(err, 409, "conflict", "patient.mrn",
                         "this MRN belongs to a patient whose details differ; check the MRN");
            return fail(conn, err);
        }
        if (active) {
            ed_error_set(err, 409, "conflict", "patient.mrn",
                         "this patient already has an open ED encounter");
            return fail(conn, err);
        }
        return true;
    }
    PQclear(res);
    for (int i = 0; required[i]; i++) {
        if (!json_object_get(patient, required[i])) {
            char field[64];
            snprintf(field, sizeof field, "patient.%s", required[i]);
            ed_error_set(err, 422, "missing_field", field, "is required for a new patient");
            return fail(conn, err);
        }
    }
    if (!check_not_future(conn, params[3], "patient.birth_date", err))
        return false;
    res = query(conn, "insert patient", insert_sql, 5, params);
    if (!res)
        return db_error(conn, err);
    snprintf(patient_id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

bool store_arrival(PGconn *conn, const struct principal *who, long long department_id,
                   const json_t *body, const struct store_write_opts *opts, struct store_write *out,
                   struct ed_error *err)
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
    const char *arrived_at = str_field(body, "arrived_at");
    const char *params[5];
    PGresult *res;

    if (!pg_ensure(conn) || !pg_command(conn, "BEGIN"))
        return db_error(conn, err);
    res = query(conn, "check department", dept_sql, 2, dept_params);
    if (!res)
        return db_error(conn, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, 404, "not_found", NULL, "no such department");
        return fail(conn, err);
    }
    PQclear(res);
    if (!check_not_future(conn, arrived_at, "arrived_at", err) ||
        !arrival_patient(conn, json_object_get(body, "patient"), patient_id, err))
        return false;
    params[0] = dept_params[0];
    params[1] = patient_id;
    params[2] = arrived_at;
    params[3] = str_field(body, "arrival_mode");
    params[4] = str_field(body, "chief_complaint");
    res = query(conn, "insert encounter", insert_sql, 5, params);
    if (!res)
        return db_error(conn, err);
    {
        char encbuf[24];
        const char *append_params[] = {pg_int_param(encbuf, atoll(PQgetvalue(res, 0, 0)))};
        PQclear(res);
        return commit_event(conn,
                            &(struct write_audit){who, "arrival.create", "encounter",
                                                  atoll(patient_id), department_id, opts},
                            append_sql, 1, append_params, out, err);
    }
}

/* ---- triage, assignment, status (the bed move is in store_clinical.c) ---- */

bool store_triage(PGconn *conn, const struct principal *who, long long encounter_id,
                  const json_t *body, const struct store_write_opts *opts, struct store_write *out,
                  struct ed_error *err)
{
    static const char sql[] = "UPDATE encounter SET esi = $2, chief_complaint = "
                              "coalesce($3, chief_complaint), triaged_at = now() WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.triaged', NULL)";
    struct locked_encounter enc;
    char encbuf[24], esibuf[24];
    const char *params[3];

    if (!begin_on_encounter(conn, who, encounter_id, opts, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = int_field(body, "esi", esibuf);
    params[2] = str_field(body, "chief_complaint");
    if (!change(conn, "triage", sql, 3, params, NULL, NULL, err))
        return false;
    return commit_event(conn,
                        &(struct write_audit){who, "encounter.triage", "encounter", enc.patient_id,
                                              enc.department_id, opts},
                        append_sql, 1, params, out, err);
}

bool store_assignment(PGconn *conn, const struct principal *who, long long encounter_id,
                      const json_t *body, const struct store_write_opts *opts,
                      struct store_write *out, struct ed_error *err)
{
    /* $4 / $5 say whether the field was given at all: absent keeps, null clears. */
    static const char sql[] =
        "UPDATE encounter SET attending_id = CASE WHEN $4 THEN $2::bigint ELSE attending_id END, "
        "nurse_id = CASE WHEN $5 THEN $3::bigint ELSE nurse_id END WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.staff_assigned', NULL)";
    static const char *const physicians[] = {"physician", NULL};
    static const char *const nurses[] = {"nurse", "charge_nurse", NULL};
    struct locked_encounter enc;
    char encbuf[24], attbuf[24], nursebuf[24];
    const char *params[5];

    if (!begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !check_staff(conn, enc.department_id, body, "attending_id", physicians, err) ||
        !check_staff(conn, enc.department_id, body, "nurse_id", nurses, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = int_field(body, "attending_id", attbuf);
    params[2] = int_field(body, "nurse_id", nursebuf);
    params[3] = json_object_get(body, "attending_id") ? "true" : "false";
    params[4] = json_object_get(body, "nurse_id") ? "true" : "false";
    if (!change(conn, "assign staff", sql, 5, params, NULL, NULL, err))
        return false;
    return commit_event(conn,
                        &(struct write_audit){who, "encounter.assign", "encounter", enc.patient_id,
                                              enc.department_id, opts},
                        append_sql, 1, params, out, err);
}

bool store_status(PGconn *conn, const struct principal *who, long long encounter_id,
                  const json_t *body, const struct store_write_opts *opts, struct store_write *out,
                  struct ed_error *err)
{
    /* "at": when it happened, if not now (a status recorded late). */
    static const char sql[] =
        "UPDATE encounter SET status = $2, status_at = coalesce($3::timestamptz, now()), "
        "departed_at = CASE WHEN $2 IN ('departed', 'left_without_being_seen') "
        "THEN coalesce($3::timestamptz, now()) ELSE departed_at END WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.status_changed', NULL)";
    struct locked_encounter enc;
    char encbuf[24];
    const char *params[3];

    if (!begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !check_event_time(conn, &enc, str_field(body, "at"), "at", "location_since", err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = str_field(body, "status");
    params[2] = str_field(body, "at");
    if (!change(conn, "change status", sql, 3, params, NULL, NULL, err))
        return false;
    return commit_event(conn,
                        &(struct write_audit){who, "encounter.status", "encounter", enc.patient_id,
                                              enc.department_id, opts},
                        append_sql, 1, params, out, err);
}

/* ---- vitals and notes ---- */

static const char *const vitals_measurements[] = {
    "heart_rate",    "resp_rate", "systolic_bp",   "diastolic_bp", "spo2",
    "temperature_c", "on_oxygen", "consciousness", "pain",         NULL,
};

/* The checks a schema cannot state; err names the field. */
static bool check_vitals_rules(const json_t *body, struct ed_error *err)
{
    bool any = false;

    for (int i = 0; vitals_measurements[i]; i++)
        any = any || has_value(body, vitals_measurements[i]);
    if (!any)
        return ed_error_set(err, 422, "invalid_value", NULL,
                            "a vitals set needs at least one measurement");
    if (has_value(body, "systolic_bp") != has_value(body, "diastolic_bp"))
        return ed_error_set(err, 422, "missing_field",
                            has_value(body, "systolic_bp") ? "diastolic_bp" : "systolic_bp",
                            "systolic and diastolic pressure are recorded together");
    if (has_value(body, "systolic_bp") &&
        int_value(body, "diastolic_bp") >= int_value(body, "systolic_bp"))
        return ed_error_set(err, 422, "invalid_value", "diastolic_bp",
                            "must be lower than the systolic pressure");
    return true;
}

/* NEWS2 of one vitals set on the patient's SpO2 scale (1 or 2), as stored with the row: the
 * sub-scores, the chart 4 response band and the reassessment interval (news2.h). */
static json_t *news2_json(const json_t *body, int spo2_scale, char *temp_tenths_text)
{
    struct news2_input in = {0};
    struct news2_result r;
    json_t *scores = json_object();
    const char *acvpu = str_field(body, "consciousness");

    in.has_heart_rate = has_value(body, "heart_rate");
    in.heart_rate = (int)int_value(body, "heart_rate");
    in.has_resp_rate = has_value(body, "resp_rate");
    in.resp_rate = (int)int_value(body, "resp_rate");
    in.has_systolic_bp = has_value(body, "systolic_bp");
    in.systolic_bp = (int)int_value(body, "systolic_bp");
    in.has_spo2 = has_value(body, "spo2");
    in.spo2 = (int)int_value(body, "spo2");
    in.has_on_oxygen = has_value(body, "on_oxygen");
    in.on_oxygen = json_is_true(json_object_get(body, "on_oxygen"));
    in.has_consciousness = acvpu != NULL;
    in.consciousness = acvpu ? acvpu[0] : 'A';
    in.has_temperature = has_value(body, "temperature_c");
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

bool store_vitals(PGconn *conn, const struct principal *who, long long encounter_id,
                  const json_t *body, const struct store_write_opts *opts, struct store_write *out,
                  struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO vitals (encounter_id, taken_at, taken_by, heart_rate, resp_rate, "
        "systolic_bp, diastolic_bp, spo2, temperature_c, on_oxygen, consciousness, pain, news2, "
        "entered_by) VALUES ($1, coalesce($2::timestamptz, now()), $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13::jsonb, $14) RETURNING id";
    static const char append_sql[] =
        "SELECT append_event($1, 'vitals.recorded', jsonb_build_object('vitals', vitals_json(v))) "
        "FROM vitals v WHERE v.id = $2";
    struct locked_encounter enc;
    char b[14][24], temp[48];
    const char *params[14];
    json_t *news2;
    char *news2_text;
    PGresult *res;
    bool ok;

    if (!check_vitals_rules(body, err))
        return false;
    if (!begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !check_staff(conn, enc.department_id, body, "taken_by", NULL, err) ||
        !check_not_future(conn, str_field(body, "taken_at"), "taken_at", err))
        return false;
    res = query(conn, "spo2 scale", "SELECT spo2_scale FROM encounter WHERE id = $1", 1,
                (const char *[]){pg_int_param(b[0], encounter_id)});
    if (!res)
        return db_error(conn, err);
    news2 = news2_json(body, atoi(PQgetvalue(res, 0, 0)), temp);
    PQclear(res);
    news2_text = json_dumps(news2, JSON_COMPACT);
    json_decref(news2);
    params[0] = pg_int_param(b[0], encounter_id);
    params[1] = str_field(body, "taken_at");
    params[2] = int_field(body, "taken_by", b[2]);
    params[3] = int_field(body, "heart_rate", b[3]);
    params[4] = int_field(body, "resp_rate", b[4]);
    params[5] = int_field(body, "systolic_bp", b[5]);
    params[6] = int_field(body, "diastolic_bp", b[6]);
    params[7] = int_field(body, "spo2", b[7]);
    params[8] = has_value(body, "temperature_c") ? temp : NULL;
    params[9] = has_value(body, "on_oxygen")
                    ? (json_is_true(json_object_get(body, "on_oxygen")) ? "true" : "false")
                    : NULL;
    params[10] = str_field(body, "consciousness");
    params[11] = int_field(body, "pain", b[11]);
    params[12] = news2_text;
    params[13] = who ? pg_int_param(b[13], who->account_id) : NULL;
    res = query(conn, "insert vitals", sql, 14, params);
    free(news2_text);
    if (!res)
        return db_error(conn, err);
    {
        const char *append_params[] = {params[0], PQgetvalue(res, 0, 0)};
        ok = commit_event(conn,
                          &(struct write_audit){who, "vitals.create", "vitals", enc.patient_id,
                                                enc.department_id, opts},
                          append_sql, 2, append_params, out, err);
    }
    PQclear(res);
    return ok;
}

bool store_note(PGconn *conn, const struct principal *who, long long encounter_id,
                const json_t *body, const struct store_write_opts *opts, struct store_write *out,
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

    if (!begin_on_encounter(conn, who, encounter_id, opts, &enc, err) ||
        !check_staff(conn, enc.department_id, body, "author_id", NULL, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = int_field(body, "author_id", authorbuf);
    params[2] = str_field(body, "text");
    params[3] = who ? pg_int_param(enteredbuf, who->account_id) : NULL;
    res = query(conn, "insert note", sql, 4, params);
    if (!res)
        return db_error(conn, err);
    {
        const char *append_params[] = {params[0], PQgetvalue(res, 0, 0)};
        ok = commit_event(conn,
                          &(struct write_audit){who, "note.create", "note", enc.patient_id,
                                                enc.department_id, opts},
                          append_sql, 2, append_params, out, err);
    }
    PQclear(res);
    return ok;
}

bool store_break_glass_flag(PGconn *conn, const struct principal *who, long long encounter_id,
                            struct store_write *out, struct ed_error *err)
{
    static const char append_sql[] = "SELECT append_event($1, 'access.break_glass', NULL)";
    struct locked_encounter enc;
    char encbuf[24];
    const char *params[1];

    /* The grant already let who reach this encounter; lock it without scope as the system. */
    if (!begin_on_encounter(conn, NULL, encounter_id, NULL, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    return commit_event(conn,
                        &(struct write_audit){who, "break_glass.flag", "encounter", enc.patient_id,
                                              enc.department_id, NULL},
                        append_sql, 1, params, out, err);
}
