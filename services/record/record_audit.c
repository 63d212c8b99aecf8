/* SPDX-License-Identifier: MIT */
/* record_audit.c: the audit trail. record_audit() appends one row to audit_log, whose
 * trigger (sql/migrations/0002_access_audit.sql) links it into the hash chain under the
 * audit_chain lock; record_audit_report() reads a time range for an admin (itself audited);
 * record_audit_verify() walks the chain and recomputes every hash. The bottom of the record
 * with record_tx.c: it calls nothing else in it. */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "pg.h"

static const char audit_sql[] =
    "INSERT INTO audit_log (account_id, username, role, action, patient_id, encounter_id, "
    "category, source_addr, outcome, severity, detail, request_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/* The request this thread is serving (ed-api's workers set it per request), written into each
 * audit row it causes; NULL outside a request. */
static _Thread_local const char *current_request_id;

void record_request_id_set(const char *request_id)
{
    current_request_id = request_id;
}

/* audit_sql's parameters; bufs hold the numbers. */
static void audit_params(const char *params[12], char bufs[3][24], const struct principal *p,
                         const char *username_tried, const char *action, long long patient_id,
                         long long encounter_id, const char *category, const char *outcome,
                         bool high_severity, const char *detail, const char *source_addr)
{
    params[0] = p && p->account_id ? pg_int_param(bufs[0], p->account_id) : NULL;
    params[1] = p && p->account_id ? p->username : username_tried;
    params[2] = p && p->account_id ? p->role : NULL;
    params[3] = action;
    params[4] = patient_id ? pg_int_param(bufs[1], patient_id) : NULL;
    params[5] = encounter_id ? pg_int_param(bufs[2], encounter_id) : NULL;
    params[6] = category;
    params[7] = source_addr;
    params[8] = outcome;
    params[9] = high_severity ? "high" : "normal";
    params[10] = detail;
    params[11] = current_request_id;
}

bool record_audit(PGconn *conn, const struct principal *p, const char *username_tried,
                  const char *action, long long patient_id, long long encounter_id,
                  const char *category, const char *outcome, bool high_severity, const char *detail,
                  const char *source_addr)
{
    char bufs[3][24];
    const char *params[12];
    PGresult *res;
    bool ok;

    audit_params(params, bufs, p, username_tried, action, patient_id, encounter_id, category,
                 outcome, high_severity, detail, source_addr);
    res = pg_query(conn, audit_sql, 12, params);
    ok = pg_ok(conn, res, "audit");
    PQclear(res);
    return ok;
}

bool record_audit_many(PGconn *conn, const json_t *rows)
{
    /* One statement for the whole batch: the chain trigger (80_audit.sql) links each row in
     * turn, in the array's order, under the audit_chain lock. */
    static const char sql[] =
        "INSERT INTO audit_log (account_id, username, role, action, patient_id, encounter_id, "
        "category, source_addr, outcome, severity, detail, request_id) "
        "SELECT (r->>'account_id')::bigint, r->>'username', r->>'role', r->>'action', "
        "(r->>'patient_id')::bigint, (r->>'encounter_id')::bigint, r->>'category', "
        "r->>'source_addr', r->>'outcome', 'normal', r->>'detail', r->>'request_id' "
        "FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(r, n) ORDER BY n";
    char *text;
    const char *params[1];
    PGresult *res;
    bool ok;

    if (!json_array_size(rows))
        return true;
    text = json_dumps(rows, JSON_COMPACT);
    if (!text)
        return false;
    params[0] = text;
    res = pg_query(conn, sql, 1, params);
    ok = pg_ok(conn, res, "audit batch");
    PQclear(res);
    free(text);
    return ok;
}

bool record_audit_and_commit(PGconn *conn, const struct principal *who, const char *action,
                             long long patient_id, long long encounter_id, const char *category,
                             bool high_severity)
{
    char bufs[3][24];
    const char *params[12];
    PGresult *audited, *committed;
    bool ok;

    audit_params(params, bufs, who, who ? NULL : "system", action, patient_id, encounter_id,
                 category, "success", high_severity, NULL, who ? who->source_addr : "local");
    ok = pg_query_pair(conn, audit_sql, 12, params, record_tx_commit_sql(conn), 0, NULL, &audited,
                       &committed) &&
         pg_ok(conn, audited, "audit") && pg_ok(conn, committed, "commit");
    PQclear(audited);
    PQclear(committed);
    return ok;
}

/* ---- the audit report (GET /api/v1/audit) ---- */

static const char *const audit_sortable[] = {
    "seq",          "at",       "username",    "role",    "action",   "patient_id",
    "encounter_id", "category", "source_addr", "outcome", "severity", NULL,
};

json_t *record_audit_report(PGconn *conn, const struct principal *who,
                            const struct record_audit_query *q, struct ed_error *err)
{
    const char *column = NULL, *order = q->descending ? "desc" : "asc";
    char sql[1024], patientbuf[24], limitbuf[24];
    const char *params[5];
    PGresult *res;
    json_t *rows;

    for (int i = 0; audit_sortable[i]; i++)
        if (q->sort && !strcmp(q->sort, audit_sortable[i]))
            column = audit_sortable[i];
    if (!column) {
        ed_error_set(err, ED_ERR_INVALID_PARAMETER, "sort",
                     "must be one of: seq, at, username, role, action, patient_id, "
                     "encounter_id, category, source_addr, outcome, severity");
        return NULL;
    }
    if (q->limit < 1 || q->limit > RECORD_AUDIT_REPORT_MAX_ROWS) {
        ed_error_set(err, ED_ERR_INVALID_PARAMETER, "limit", "must be between 1 and %d",
                     RECORD_AUDIT_REPORT_MAX_ROWS);
        return NULL;
    }
    /* column and order are constants chosen above; every value is a parameter. */
    snprintf(
        sql, sizeof sql,
        "SELECT coalesce(jsonb_agg(r ORDER BY r.%s %s, r.seq), '[]'::jsonb)::text FROM ("
        "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, "
        "username, role, action, patient_id, encounter_id, category, source_addr, outcome, "
        "severity, detail, request_id FROM audit_log "
        "WHERE at >= coalesce($1::timestamptz, now() - interval '1 day') "
        "AND at <= coalesce($2::timestamptz, now()) "
        "AND ($3::text IS NULL OR username = $3) AND ($4::bigint IS NULL OR patient_id = $4) "
        "ORDER BY %s %s, seq LIMIT $5) r",
        column, order, column, order);
    params[0] = q->from;
    params[1] = q->to;
    params[2] = q->user;
    params[3] = q->patient_id ? pg_int_param(patientbuf, q->patient_id) : NULL;
    params[4] = pg_int_param(limitbuf, q->limit);
    if (!pg_ensure(conn) || !record_tx_begin(conn)) {
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        return NULL;
    }
    res = pg_query(conn, sql, 5, params);
    rows = pg_ok(conn, res, "audit report") ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    /* Reading the audit log is itself audited, in the same transaction. */
    if (!rows ||
        !record_audit(conn, who, NULL, "audit.read", q->patient_id, 0, "audit", "success", false,
                      NULL, who ? who->source_addr : "local") ||
        !record_tx_commit(conn)) {
        json_decref(rows);
        record_tx_rollback(conn);
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        return NULL;
    }
    return rows;
}

/* ---- the chain check (edlivectl audit verify) ---- */

#define AUDIT_VERIFY_BATCH "5000"

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "\x0a1b..." (bytea hex output) -> 32 bytes. */
static bool unhex32(const char *text, unsigned char out[32])
{
    if (strncmp(text, "\\x", 2) != 0 || strlen(text) != 66)
        return false;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(text[2 + 2 * i]), lo = hexval(text[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return true;
}

static enum record_audit_verdict broken(struct record_audit_check *c, long long row,
                                        const char *why)
{
    c->failed_at = row;
    snprintf(c->why, sizeof c->why, "%s", why);
    return AUDIT_BROKEN;
}

/* Checks one row against the chain so far (c->last, expected_prev). */
static enum record_audit_verdict check_row(struct record_audit_check *c, const PGresult *res, int i,
                                           unsigned char expected_prev[32])
{
    long long seq = atoll(PQgetvalue(res, i, 0));
    const char *canonical = PQgetvalue(res, i, 1);
    size_t clen = strlen(canonical);
    unsigned char prev[32], hash[32], computed[32], *buf;
    char why[96];

    if (seq != c->last + 1) {
        snprintf(why, sizeof why, "row(s) %lld..%lld are missing", c->last + 1, seq - 1);
        return broken(c, c->last + 1, why);
    }
    if (!unhex32(PQgetvalue(res, i, 2), prev) || !unhex32(PQgetvalue(res, i, 3), hash))
        return broken(c, seq, "unreadable hash");
    buf = malloc(32 + clen);
    if (!buf)
        return AUDIT_DB_ERROR;
    memcpy(buf, prev, 32);
    memcpy(buf + 32, canonical, clen);
    auth_sha256(buf, 32 + clen, computed);
    free(buf);
    if (memcmp(prev, expected_prev, 32) != 0) {
        snprintf(why, sizeof why, "its link to row %lld is broken", seq - 1);
        return broken(c, seq, why);
    }
    if (memcmp(computed, hash, 32) != 0)
        return broken(c, seq, "its content was altered");
    memcpy(expected_prev, hash, 32);
    c->last = seq;
    c->rows++;
    return AUDIT_INTACT;
}

enum record_audit_verdict record_audit_verify(PGconn *conn, struct record_audit_check *c)
{
    static const char sql[] =
        "SELECT a.seq, audit_canonical(a), a.prev_hash, a.hash FROM audit_log a "
        "WHERE a.seq > $1 ORDER BY a.seq LIMIT " AUDIT_VERIFY_BATCH;
    static const char head_sql[] = "SELECT last_seq FROM audit_chain WHERE id = 1";
    unsigned char expected_prev[32] = {0};
    enum record_audit_verdict v = AUDIT_INTACT;
    char lastbuf[24];
    PGresult *res;
    long long head;
    int n;

    memset(c, 0, sizeof *c);
    res = PQexec(conn, head_sql);
    if (!pg_ok(conn, res, "audit head") || PQntuples(res) != 1) {
        PQclear(res);
        return AUDIT_DB_ERROR;
    }
    head = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    do {
        const char *params[] = {pg_int_param(lastbuf, c->last)};

        res = pg_query(conn, sql, 1, params);
        if (!pg_ok(conn, res, "audit rows")) {
            PQclear(res);
            return AUDIT_DB_ERROR;
        }
        n = PQntuples(res);
        for (int i = 0; v == AUDIT_INTACT && i < n; i++)
            v = check_row(c, res, i, expected_prev);
        PQclear(res);
    } while (v == AUDIT_INTACT && n == atoi(AUDIT_VERIFY_BATCH));
    if (v == AUDIT_INTACT && c->last != head) {
        char why[96];
        snprintf(why, sizeof why, "the chain head says %lld rows, found %lld", head, c->last);
        v = broken(c, c->last + 1, why);
    }
    return v;
}
