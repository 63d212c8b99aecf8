/* SPDX-License-Identifier: MIT */
/* record_tx.c: the bottom of the record (record_internal.h, layering): the write shape every
 * write file calls down to. record_begin_on_encounter() locks the encounter row within the
 * principal's scope and checks If-Match; record_commit_event() appends the event, keeps the
 * reply for an Idempotency-Key, writes the audit row and commits. Also the error exits
 * (record_db_error, record_fail), the body field helpers and the checks of staff and times
 * shared by record_encounter.c and record_clinical.c. Calls nothing above it. */
#include "record_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg.h"

#define SQLSTATE_UNIQUE_VIOLATION "23505"

void record_write_clear(struct record_write *w)
{
    json_decref(w->reply);
    memset(w, 0, sizeof *w);
}

/* ---- small helpers ---- */

static const char *record_actor_param(const struct principal *who, char *buf)
{
    return who && who->staff_id ? pg_int_param(buf, who->staff_id) : "";
}

bool record_db_error(PGconn *conn, struct ed_error *err)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        record_tx_rollback(conn);
    return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL,
                        "the record could not be reached; nothing was written, try again");
}

bool record_fail(PGconn *conn, struct ed_error *err)
{
    /* err is already set by the caller's check; undo whatever the transaction did. */
    (void)err;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        record_tx_rollback(conn);
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

bool record_ids_literal(const long long *ids, int n, char *out, size_t cap)
{
    size_t len = 1;

    if (cap < 3)
        return false;
    out[0] = '{';
    for (int i = 0; i < n; i++) {
        int w = snprintf(out + len, cap - len, "%s%lld", i ? "," : "", ids[i]);
        if (w < 0 || (size_t)w >= cap - len - 1) {
            snprintf(out, cap, "{}");
            return false;
        }
        len += (size_t)w;
    }
    out[len++] = '}';
    out[len] = '\0';
    return true;
}

void record_scope_params(const struct principal *who, struct record_scope *scope)
{
    scope->departments = scope->patients = NULL;
    if (!who)
        return;
    /* The buffers hold the most ids a principal can carry, so this never fails; if it did,
     * the scope would be empty (nothing visible), never a wider one. */
    if (!record_ids_literal(who->departments, who->n_departments, scope->departments_buf,
                            sizeof scope->departments_buf) ||
        !record_ids_literal(who->patients, who->n_patients, scope->patients_buf,
                            sizeof scope->patients_buf))
        log_error("account %lld: scope does not fit its parameters", who->account_id);
    scope->departments = scope->departments_buf;
    scope->patients = scope->patients_buf;
}

const char *record_scope_departments(const struct principal *who, struct record_scope *scope)
{
    record_scope_params(who, scope);
    return scope->departments;
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
    return who && !record_in_department(who, department_id);
}

bool record_in_department(const struct principal *p, long long department_id)
{
    if (!p)
        return true; /* the system */
    for (int i = 0; i < p->n_departments; i++)
        if (p->departments[i] == department_id)
            return true;
    return false;
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

bool record_status_ended(const char *status)
{
    return !strcmp(status, "departed") || !strcmp(status, "left_without_being_seen") ||
           !strcmp(status, "entered_in_error");
}

bool record_begin_on_encounter_part(PGconn *conn, const struct principal *who,
                                    long long encounter_id, const struct record_write_opts *opts,
                                    const char *part_events, struct locked_encounter *enc,
                                    struct ed_error *err)
{
    if (!record_begin_on_any_encounter(conn, who, encounter_id, opts, part_events, enc, err))
        return false;
    if (record_status_ended(enc->status)) {
        ed_error_set(err, ED_ERR_CONFLICT, NULL,
                     "the encounter has ended (%s); it can no longer be changed", enc->status);
        return record_fail(conn, err);
    }
    return true;
}

bool record_begin_on_any_encounter(PGconn *conn, const struct principal *who,
                                   long long encounter_id, const struct record_write_opts *opts,
                                   const char *part_events, struct locked_encounter *enc,
                                   struct ed_error *err)
{
    /* Lock order: the department's seq row first, then the encounter. Every write ends in
     * append_event, which takes the seq row and may bump other rows of the department (an
     * arrival's encounter.similar_name events): a write holding its encounter while waiting
     * for the seq row would deadlock with it. So a department's encounter writes queue on the
     * seq row from their start (they were serial from their event to COMMIT anyway). */
    static const char sql[] =
        "WITH seq AS (SELECT ds.department_id FROM department_seq ds "
        "  WHERE ds.department_id = (SELECT department_id FROM encounter WHERE id = $1) "
        "  FOR UPDATE) "
        "SELECT e.department_id, e.status, e.bed_id IS NOT NULL, e.patient_id, e.version, "
        "e.spo2_scale FROM encounter e JOIN seq ON seq.department_id = e.department_id "
        "WHERE e.id = $1 AND " RECORD_SCOPE_CLAUSE " FOR UPDATE OF e";
    char idbuf[24];
    const char *params[3];
    struct record_scope scope;
    PGresult *begun, *res;
    bool ok;
    bool stale;

    params[0] = pg_int_param(idbuf, encounter_id);
    record_scope_params(who, &scope);
    params[1] = scope.departments;
    params[2] = scope.patients;
    if (!pg_ensure(conn))
        return record_db_error(conn, err);
    /* BEGIN and the lock in one round trip. */
    ok = pg_query_pair(conn, record_tx_begin_sql(conn), 0, NULL, sql, 3, params, &begun, &res) &&
         pg_ok(conn, begun, "begin") && pg_ok(conn, res, "lock encounter");
    PQclear(begun);
    if (!ok) {
        PQclear(res);
        return record_db_error(conn, err);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such encounter");
        return record_fail(conn, err);
    }
    enc->id = encounter_id;
    enc->department_id = atoll(PQgetvalue(res, 0, 0));
    snprintf(enc->status, sizeof enc->status, "%s", PQgetvalue(res, 0, 1));
    enc->has_bed = PQgetvalue(res, 0, 2)[0] == 't';
    enc->patient_id = atoll(PQgetvalue(res, 0, 3));
    enc->version = atoll(PQgetvalue(res, 0, 4));
    enc->spo2_scale = atoi(PQgetvalue(res, 0, 5));
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
        ed_error_set(err, ED_ERR_VERSION_CONFLICT, "If-Match",
                     "the encounter changed (version %lld, the change was based on %lld); "
                     "review the current state and try again",
                     enc->version, opts->if_match);
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
        ed_error_set(err, ED_ERR_IDEMPOTENCY_REPLAY, "Idempotency-Key",
                     "this key was already used for a write");
    return stored;
}

/* Appends the event with append_sql (which must return the new seq and take the encounter id
 * as $1), writes the audit row, reads back the reply, and commits. */
bool record_commit_event(PGconn *conn, const struct write_audit *wa, const char *append_sql,
                         int nparams, const char *const *params, struct record_write *out,
                         struct ed_error *err)
{
    static const char read_sql[] =
        "SELECT (payload || jsonb_build_object('seq', seq))::text, encounter_id FROM event "
        "WHERE department_id = $1 AND seq = $2";
    static const char actor_sql[] = "SELECT set_config('edlive.staff_id', $1, true)";
    char deptbuf[24], seqbuf[24], staffbuf[24];
    const char *read_params[2];
    const char *actor_params[] = {record_actor_param(wa->who, staffbuf)};
    PGresult *actor, *res;
    bool remembered, ok;
    long long seq;

    /* Who made the change, for the event's timeline line (SQL event_timeline): set with the
     * append, in one round trip. */
    ok = pg_query_pair(conn, actor_sql, 1, actor_params, append_sql, nparams, params, &actor,
                       &res) &&
         pg_ok(conn, actor, "event actor") && pg_ok(conn, res, "append event");
    PQclear(actor);
    if (!ok) {
        PQclear(res);
        return record_db_error(conn, err);
    }
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
    out->encounter_id = atoll(PQgetvalue(res, 0, 1));
    out->reply = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    /* The reply as PostgreSQL wrote it is what a retry gets back: no re-encoding. */
    remembered = out->reply && remember_reply(conn, wa, PQgetvalue(res, 0, 0), err);
    PQclear(res);
    if (!remembered) {
        record_write_clear(out);
        return err->status ? record_fail(conn, err) : record_db_error(conn, err);
    }
    /* The audit row and COMMIT in one round trip. */
    if (!record_audit_and_commit(conn, wa->who, wa->action, wa->patient_id, out->encounter_id,
                                 wa->category,
                                 record_through_break_glass(wa->who, wa->department_id))) {
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
        ed_error_set(err, ED_ERR_CONFLICT, conflict_field, "%s", conflict_msg);
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
        ed_error_set(err, ED_ERR_UNKNOWN_REFERENCE, key,
                     "no active staff member with this id works in this department");
        return record_fail(conn, err);
    }
    role_ok = roles == NULL;
    for (int i = 0; roles && roles[i]; i++)
        if (!strcmp(roles[i], PQgetvalue(res, 0, 0)))
            role_ok = true;
    PQclear(res);
    if (!role_ok) {
        ed_error_set(err, ED_ERR_INVALID_VALUE, key, "this staff member cannot take this role");
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
        ed_error_set(err, ED_ERR_OUT_OF_RANGE, field, "must not be in the future");
        return record_fail(conn, err);
    }
    return true;
}

/* ---- times given in bodies ---- */

bool record_check_event_time(PGconn *conn, const struct locked_encounter *enc, const char *when,
                             const char *field, const char *not_before_column, struct ed_error *err)
{
    /* The column is chosen in SQL from a fixed list, never spliced into the text. Compared at
     * whole seconds: clients send whole seconds (the bedside's "now" included) while the server
     * stores its own times to the microsecond, so a set saved within the second of the arrival
     * was refused as "before the patient's arrival". */
    static const char sql[] =
        "SELECT $2::timestamptz > now() + interval '5 minutes', "
        "$2::timestamptz < date_trunc('second', e.arrived_at), "
        "$2::timestamptz < date_trunc('second', CASE $3 WHEN 'location_since' THEN "
        "e.location_since WHEN 'disposition_at' THEN coalesce(e.disposition_at, e.arrived_at) "
        "ELSE e.arrived_at END) FROM encounter e WHERE e.id = $1";
    char encbuf[24];
    const char *params[] = {pg_int_param(encbuf, enc->id), when,
                            not_before_column ? not_before_column : ""};
    PGresult *res;
    bool future, before_arrival, before_column;

    if (!when)
        return true;
    res = record_query(conn, "check event time", sql, 3, params);
    if (!res)
        return record_db_error(conn, err);
    future = PQgetvalue(res, 0, 0)[0] == 't';
    before_arrival = PQgetvalue(res, 0, 1)[0] == 't';
    before_column = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (future)
        ed_error_set(err, ED_ERR_OUT_OF_RANGE, field, "must not be in the future");
    else if (before_arrival)
        ed_error_set(err, ED_ERR_OUT_OF_RANGE, field, "must not be before the patient's arrival");
    else if (before_column)
        ed_error_set(err, ED_ERR_OUT_OF_RANGE, field,
                     !strcmp(not_before_column, "disposition_at")
                         ? "must not be before the disposition decision"
                         : "must not be before the patient's current location began");
    else
        return true;
    return record_fail(conn, err);
}

/* Runs a scoped read returning (json, patient_id, encounter_id, department_id) and audits
 * it in the same transaction: no audit row, no data. */
json_t *record_read_audited(PGconn *conn, const struct principal *who, const char *sql,
                            long long id, const char *action, const char *category,
                            const char *missing, struct ed_error *err)
{
    char idbuf[24];
    const char *params[3];
    struct record_scope scope;
    PGresult *res;
    json_t *doc;
    long long patient, encounter, department;

    params[0] = pg_int_param(idbuf, id);
    record_scope_params(who, &scope);
    params[1] = scope.departments;
    params[2] = scope.patients;
    if (!pg_ensure(conn) || !record_tx_begin(conn)) {
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
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "%s", missing);
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
        !record_tx_commit(conn)) {
        json_decref(doc);
        record_db_error(conn, err);
        return NULL;
    }
    return doc;
}
