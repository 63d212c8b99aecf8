/* SPDX-License-Identifier: MIT */
/* record_read.c: the record's reads for the screens: departments, a board (masked for a
 * wall), a chart, the encounter row sent with a 409, the reply kept for an Idempotency-Key.
 * Each patient-scoped read carries the principal's scope and is audited in the same
 * transaction (record_read_audited): no audit row, no data. */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_mask.h"
#include "pg.h"

/* ---- reads ---- */

json_t *record_departments(PGconn *conn, const struct principal *who, struct ed_error *err)
{
    static const char sql[] =
        "SELECT jsonb_build_object('departments', coalesce(jsonb_agg(jsonb_build_object("
        "'id', d.id, 'code', d.code, 'name', d.name) ORDER BY d.id), '[]'::jsonb))::text "
        "FROM department d WHERE d.retired_at IS NULL AND ($1::bigint[] IS NULL OR "
        "d.id = ANY($1::bigint[]))";
    struct record_scope scope;
    const char *params[1] = {record_scope_departments(who, &scope)};
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
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
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
    struct record_scope scope;
    PGresult *res;
    long long dept;

    params[0] = pg_int_param(idbuf, encounter_id);
    record_scope_params(who, &scope);
    params[1] = scope.departments;
    params[2] = scope.patients;
    res = record_query(conn, "encounter department", sql, 3, params);
    if (!res)
        return -1;
    dept = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return dept;
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
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        return NULL;
    }
    res = pg_query(conn, sql, 3, params);
    if (!pg_ok(conn, res, "read idempotency")) {
        PQclear(res);
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
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
    struct record_scope scope;
    PGresult *res;
    json_t *row = NULL;

    params[0] = pg_int_param(idbuf, encounter_id);
    record_scope_params(who, &scope);
    params[1] = scope.departments;
    params[2] = scope.patients;
    if (!pg_ensure(conn))
        return NULL;
    res = pg_query(conn, sql, 3, params);
    if (pg_ok(conn, res, "read encounter row") && PQntuples(res) == 1)
        row = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return row;
}
