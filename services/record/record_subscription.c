/* SPDX-License-Identifier: MIT */
/* record_subscription.c: FHIR R4 Subscriptions Backport in the record (issue 12,
 * proto/fhir/FHIR_MAPPING.md §11): the subscriptions an account makes (one department each,
 * followed from start_seq), the websocket binding tokens, and $events: the subscription's
 * matching events from the department's event log, numbered 1, 2, ... from its start. A
 * subscription is its maker's alone and within the maker's departments now (a user moved to
 * another department no longer reads it); every event returned is audited in the read's
 * transaction, like every read of patient data. At the top of the record's DAG. */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "pg.h"

_Static_assert(RECORD_WS_TOKEN_CHARS == AUTH_TOKEN_CHARS,
               "the binding token is a session-like token");

/* The subscription row as libedfhir's fhir_subscription takes it. */
#define SUB_JSON_SQL                                                                            \
    "jsonb_build_object('id', s.id, 'status', CASE WHEN s.ended_at IS NULL THEN 'active' ELSE " \
    "'off' END, 'topic', s.topic, 'department_id', s.department_id, 'encounter_id', "           \
    "s.encounter_id, 'patient_id', s.patient_id, 'payload', s.payload, 'heartbeat_period', "    \
    "s.heartbeat_period, 'start_seq', s.start_seq, 'end', utc_text(s.ended_at))"

/* Whether event ev (of encounter e) is one of subscription s's. */
#define SUB_MATCH_SQL                                                                         \
    "CASE s.topic WHEN 'vital-signs' THEN ev.type = 'vitals.recorded' ELSE ev.type LIKE "     \
    "'encounter.%' END AND (s.encounter_id IS NULL OR ev.encounter_id = s.encounter_id) AND " \
    "(s.patient_id IS NULL OR e.patient_id = s.patient_id)"

/* The events of subscription s (a row of fhir_subscription) with their number n. */
#define SUB_EVENTS_SQL                                                                           \
    "SELECT row_number() OVER (ORDER BY ev.seq) AS n, ev.seq, ev.encounter_id, e.patient_id, "   \
    "ev.type, ev.payload, ev.at FROM s JOIN event ev ON ev.department_id = s.department_id AND " \
    "ev.seq > s.start_seq JOIN encounter e ON e.id = ev.encounter_id WHERE " SUB_MATCH_SQL

/* $1 id, $2 account, $3 departments: the caller's own subscription, in scope. */
#define SUB_MINE_SQL                                                                          \
    "SELECT * FROM fhir_subscription WHERE id = $1 AND account_id = $2 AND ($3::bigint[] IS " \
    "NULL OR department_id = ANY($3::bigint[]))"

static json_t *one_json(PGconn *conn, const char *what, const char *sql, int n,
                        const char *const *params, const char *missing, struct ed_error *err)
{
    PGresult *res;
    json_t *doc = NULL;

    if (!pg_ensure(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, what, sql, n, params);
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

json_t *record_fhir_subscription_create(PGconn *conn, const struct principal *who,
                                        const struct record_fhir_subscription_new *s,
                                        struct ed_error *err)
{
    /* The department comes from the filter: a department in scope, or the department of an
     * encounter in scope, or of the patient's latest encounter in scope. */
    static const char sql[] =
        "WITH t AS (SELECT CASE WHEN $4::bigint IS NOT NULL THEN (SELECT e.department_id FROM "
        "encounter e WHERE e.id = $4 AND " RECORD_SCOPE_CLAUSE ") WHEN $5::bigint IS NOT NULL "
        "THEN (SELECT e.department_id FROM encounter e WHERE e.patient_id = $5 "
        "AND " RECORD_SCOPE_CLAUSE
        " ORDER BY e.id DESC LIMIT 1) ELSE (SELECT d.id FROM department d "
        "WHERE d.id = $1 AND ($2::bigint[] IS NULL OR d.id = ANY($2::bigint[]))) END AS dept), "
        "s AS (INSERT INTO fhir_subscription (account_id, department_id, topic, encounter_id, "
        "patient_id, payload, heartbeat_period, start_seq) SELECT $6, t.dept, $7, $4, $5, $8, "
        "$9, coalesce((SELECT last_seq FROM department_seq WHERE department_id = t.dept), 0) "
        "FROM t WHERE t.dept IS NOT NULL RETURNING *) SELECT " SUB_JSON_SQL "::text FROM s";
    char b1[24], b4[24], b5[24], b6[24], b9[24];
    struct record_scope scope;
    const char *params[9];
    json_t *doc;

    if (!who || !who->account_id) {
        ed_error_set(err, ED_ERR_FORBIDDEN, NULL, "a subscription belongs to an account");
        return NULL;
    }
    record_scope_params(who, &scope);
    params[0] = s->department_id > 0 ? pg_int_param(b1, s->department_id) : NULL;
    params[1] = scope.departments;
    params[2] = scope.patients;
    params[3] = s->encounter_id > 0 ? pg_int_param(b4, s->encounter_id) : NULL;
    params[4] = s->patient_id > 0 ? pg_int_param(b5, s->patient_id) : NULL;
    params[5] = pg_int_param(b6, who->account_id);
    params[6] = s->topic;
    params[7] = s->payload;
    params[8] = pg_int_param(b9, s->heartbeat_period);
    if (!pg_ensure(conn) || !record_tx_begin(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    doc = one_json(conn, "fhir subscription create", sql, 9, params,
                   "the filter names no department, encounter or patient you may read", err);
    if (!doc) {
        record_fail(conn, err); /* 404 or 503: nothing stays open */
        return NULL;
    }
    if (!record_audit_success(conn, who, "subscription.create", s->patient_id, s->encounter_id,
                              "chart", false, NULL) ||
        !record_tx_commit(conn)) {
        json_decref(doc);
        record_db_error(conn, err);
        return NULL;
    }
    return doc;
}

json_t *record_fhir_subscription(PGconn *conn, const struct principal *who, long long id,
                                 struct ed_error *err)
{
    static const char sql[] = "SELECT " SUB_JSON_SQL "::text FROM (" SUB_MINE_SQL ") s";
    char b1[24], b2[24];
    struct record_scope scope;
    const char *params[3] = {pg_int_param(b1, id), pg_int_param(b2, who ? who->account_id : 0),
                             record_scope_departments(who, &scope)};

    return one_json(conn, "fhir subscription", sql, 3, params, "no such subscription", err);
}

json_t *record_fhir_subscription_end(PGconn *conn, const struct principal *who, long long id,
                                     struct ed_error *err)
{
    static const char sql[] =
        "WITH m AS (" SUB_MINE_SQL "), s AS (UPDATE fhir_subscription f SET ended_at = "
        "coalesce(f.ended_at, now()) FROM m WHERE f.id = m.id RETURNING f.*) SELECT " SUB_JSON_SQL
        "::text FROM s";
    char b1[24], b2[24];
    struct record_scope scope;
    const char *params[3] = {pg_int_param(b1, id), pg_int_param(b2, who ? who->account_id : 0),
                             record_scope_departments(who, &scope)};

    return one_json(conn, "fhir subscription end", sql, 3, params, "no such subscription", err);
}

json_t *record_fhir_ws_token(PGconn *conn, const struct principal *who, long long id, int ttl_s,
                             char token[RECORD_WS_TOKEN_CHARS + 1], struct ed_error *err)
{
    /* Every active subscription of the caller (or the one named), in scope. */
    static const char sql[] =
        "WITH g AS (DELETE FROM fhir_ws_token WHERE expires_at < now() - interval '1 hour'), "
        "t AS (INSERT INTO fhir_ws_token (token_hash, session_hash, account_id, subscriptions, "
        "expires_at) SELECT $1::bytea, $2::bytea, $3, array_agg(s.id ORDER BY s.id), now() + "
        "make_interval(secs => $4::int) FROM fhir_subscription s WHERE s.account_id = $3 AND "
        "s.ended_at IS NULL AND ($5::bigint IS NULL OR s.id = $5) AND ($6::bigint[] IS NULL OR "
        "s.department_id = ANY($6::bigint[])) HAVING count(*) > 0 RETURNING *) "
        "SELECT jsonb_build_object('expires', utc_text(t.expires_at), 'subscriptions', "
        "to_jsonb(t.subscriptions))::text FROM t";
    unsigned char hash[32];
    char hash_hex[2 + 64 + 1] = "\\x", session_hex[2 + 64 + 1] = "\\x", b3[24], b4[24], b5[24];
    struct record_scope scope;
    const char *params[6];

    if (!who || !who->account_id || !auth_token_new(token, hash)) {
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        return NULL;
    }
    auth_hex(hash, 32, hash_hex + 2);
    auth_hex(who->token_hash, 32, session_hex + 2);
    params[0] = hash_hex;
    params[1] = session_hex;
    params[2] = pg_int_param(b3, who->account_id);
    params[3] = pg_int_param(b4, ttl_s);
    params[4] = id > 0 ? pg_int_param(b5, id) : NULL;
    params[5] = record_scope_departments(who, &scope);
    return one_json(conn, "fhir ws token", sql, 6, params, "no active subscription to bind", err);
}

json_t *record_fhir_subscription_events(PGconn *conn, const struct principal *who, long long id,
                                        long long since, long long until, int limit,
                                        struct ed_error *err)
{
    static const char sub_sql[] =
        "WITH s AS (" SUB_MINE_SQL "), m AS (" SUB_EVENTS_SQL ") SELECT " SUB_JSON_SQL
        "::text, (SELECT count(*) FROM m) FROM s";
    static const char ev_sql[] =
        "WITH s AS (" SUB_MINE_SQL "), m AS (" SUB_EVENTS_SQL ") SELECT m.n, m.seq, "
        "m.encounter_id, m.patient_id, m.type, m.payload::text, utc_text(m.at) FROM m WHERE m.n "
        ">= $4 AND m.n <= $5 ORDER BY m.n LIMIT $6";
    char b1[24], b2[24], b4[24], b5[24], b6[24];
    struct record_scope scope;
    const char *params[6] = {pg_int_param(b1, id),
                             pg_int_param(b2, who ? who->account_id : 0),
                             record_scope_departments(who, &scope),
                             pg_int_param(b4, since),
                             pg_int_param(b5, until),
                             pg_int_param(b6, limit)};
    PGresult *res;
    json_t *sub = NULL, *events, *doc;
    long long total;

    if (!pg_ensure(conn) || !record_tx_begin(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, "fhir subscription events", sub_sql, 3, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    if (PQntuples(res) == 1)
        sub = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    total = sub ? atoll(PQgetvalue(res, 0, 1)) : 0;
    PQclear(res);
    if (!sub) {
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such subscription");
        return record_fail(conn, err), NULL;
    }
    res = record_query(conn, "fhir subscription events", ev_sql, 6, params);
    if (!res) {
        json_decref(sub);
        record_db_error(conn, err);
        return NULL;
    }
    events = json_array();
    for (int i = 0; events && i < PQntuples(res); i++) {
        json_t *payload = json_loads(PQgetvalue(res, i, 5), 0, NULL);
        json_t *ev = json_pack(
            "{s:I, s:I, s:s, s:o*, s:s}", "number", (json_int_t)atoll(PQgetvalue(res, i, 0)), "seq",
            (json_int_t)atoll(PQgetvalue(res, i, 1)), "type", PQgetvalue(res, i, 4), "payload",
            payload, "at", PQgetvalue(res, i, 6));
        if (!ev || json_array_append_new(events, ev) ||
            !record_audit_success(conn, who, "subscription.events", atoll(PQgetvalue(res, i, 3)),
                                  atoll(PQgetvalue(res, i, 2)), "chart", false, NULL)) {
            json_decref(events);
            events = NULL;
        }
    }
    PQclear(res);
    if (!events || !record_tx_commit(conn)) {
        json_decref(events);
        json_decref(sub);
        record_db_error(conn, err);
        return NULL;
    }
    doc = json_pack("{s:o, s:I, s:o}", "subscription", sub, "total", (json_int_t)total, "events",
                    events);
    if (!doc)
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    return doc;
}

json_t *record_fhir_ws_bind(PGconn *conn, const char *token, struct principal *who,
                            struct ed_error *err)
{
    /* The token is used once: taken out of the table whatever it is followed by. */
    static const char take_sql[] =
        "DELETE FROM fhir_ws_token WHERE token_hash = $1::bytea RETURNING "
        "encode(session_hash, 'hex'), subscriptions::text, expires_at > now()";
    /* Each subscription with the department's last seq now and how many of its events that
     * seq includes: the hub numbers the events after it from there. */
    static const char subs_sql[] =
        "WITH s AS (SELECT * FROM fhir_subscription WHERE id = ANY($1::bigint[]) AND account_id "
        "= $2 AND ended_at IS NULL AND ($3::bigint[] IS NULL OR department_id = "
        "ANY($3::bigint[]))) "
        "SELECT (" SUB_JSON_SQL " || jsonb_build_object('at_seq', t.top, 'count', (SELECT "
        "count(*) FROM event ev JOIN encounter e ON e.id = ev.encounter_id WHERE "
        "ev.department_id = s.department_id AND ev.seq > s.start_seq AND ev.seq <= t.top "
        "AND " SUB_MATCH_SQL
        ")))::text, s.id FROM s, LATERAL (SELECT coalesce((SELECT last_seq FROM "
        "department_seq WHERE department_id = s.department_id), 0) AS top) t ORDER BY s.id";
    unsigned char hash[32];
    char hex[2 + 65] = "\\x", ids[1024], b2[24];
    const char *params[3];
    struct record_scope scope;
    PGresult *res;
    json_t *subs;
    bool alive;

    memset(who->token_hash, 0, sizeof who->token_hash);
    who->account_id = 0;
    if (!token || strlen(token) != AUTH_TOKEN_CHARS) {
        ed_error_set(err, ED_ERR_UNAUTHENTICATED, NULL, "unknown or expired binding token");
        return NULL;
    }
    auth_sha256(token, strlen(token), hash);
    auth_hex(hash, 32, hex + 2);
    params[0] = hex;
    if (!pg_ensure(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, "fhir ws token take", take_sql, 1, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    alive = PQntuples(res) == 1 && PQgetvalue(res, 0, 2)[0] == 't' &&
            strlen(PQgetvalue(res, 0, 0)) == 64 && strlen(PQgetvalue(res, 0, 1)) < sizeof ids;
    if (alive) {
        const char *h = PQgetvalue(res, 0, 0);
        for (int i = 0; i < 32; i++) {
            unsigned v;
            sscanf(h + 2 * i, "%2x", &v);
            who->token_hash[i] = (unsigned char)v;
        }
        snprintf(ids, sizeof ids, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    if (!alive) {
        ed_error_set(err, ED_ERR_UNAUTHENTICATED, NULL, "unknown or expired binding token");
        return NULL;
    }
    switch (record_session_check(conn, who)) {
    case SESSION_OK:
        break;
    case SESSION_NONE:
        ed_error_set(err, ED_ERR_UNAUTHENTICATED, NULL, "the session of the token has ended");
        return NULL;
    default:
        record_db_error(conn, err);
        return NULL;
    }
    if (!record_allows(who, ACT_CHART_READ)) {
        ed_error_set(err, ED_ERR_FORBIDDEN, NULL, "your role may not read charts");
        return NULL;
    }
    params[0] = ids;
    params[1] = pg_int_param(b2, who->account_id);
    params[2] = record_scope_departments(who, &scope);
    if (!record_tx_begin(conn)) {
        record_db_error(conn, err);
        return NULL;
    }
    res = record_query(conn, "fhir ws bind", subs_sql, 3, params);
    if (!res) {
        record_db_error(conn, err);
        return NULL;
    }
    subs = json_array();
    for (int i = 0; subs && i < PQntuples(res); i++) {
        json_t *row = json_loads(PQgetvalue(res, i, 0), 0, NULL);
        if (!row || json_array_append_new(subs, row) ||
            !record_audit_success(conn, who, "subscription.bind",
                                  json_integer_value(json_object_get(row, "patient_id")),
                                  json_integer_value(json_object_get(row, "encounter_id")), "chart",
                                  false, NULL)) {
            json_decref(subs);
            subs = NULL;
        }
    }
    PQclear(res);
    if (!subs || !record_tx_commit(conn)) {
        json_decref(subs);
        record_db_error(conn, err);
        return NULL;
    }
    if (json_array_size(subs) == 0) {
        json_decref(subs);
        ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no active subscription to bind");
        return NULL;
    }
    return subs;
}
