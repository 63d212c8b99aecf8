/* SPDX-License-Identifier: MIT */
/* record_hub.c: the SQL of ed-hub (record_hub.h). */
#include "record_hub.h"

#include <stdio.h>
#include <stdlib.h>

#include "pg.h"

int record_hub_tops(PGconn *conn, struct record_hub_top **out)
{
    static const char sql[] =
        "SELECT s.department_id, s.last_seq, d.wall_shows_flags FROM department_seq s "
        "JOIN department d ON d.id = s.department_id ORDER BY 1";
    PGresult *res;
    int rows;

    *out = NULL;
    if (!pg_ensure(conn))
        return -1;
    res = pg_query(conn, sql, 0, NULL);
    if (!pg_ok(conn, res, "department tops")) {
        PQclear(res);
        return -1;
    }
    rows = PQntuples(res);
    *out = calloc(rows ? (size_t)rows : 1, sizeof **out);
    if (!*out) {
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        (*out)[i].department_id = atoll(PQgetvalue(res, i, 0));
        (*out)[i].last_seq = atoll(PQgetvalue(res, i, 1));
        (*out)[i].wall_shows_flags = PQgetvalue(res, i, 2)[0] == 't';
    }
    PQclear(res);
    return rows;
}

int record_hub_events(PGconn *conn, long long department_id, long long after, long long upto,
                      int limit, record_hub_event_fn *fn, void *arg)
{
    static const char sql[] =
        "SELECT seq, encounter_id, event_frame(department_id, seq) FROM event "
        "WHERE department_id = $1 AND seq > $2 AND ($3 = 0 OR seq <= $3) ORDER BY seq LIMIT $4";
    char deptbuf[24], afterbuf[24], uptobuf[24], limitbuf[24];
    const char *params[] = {pg_int_param(deptbuf, department_id), pg_int_param(afterbuf, after),
                            pg_int_param(uptobuf, upto), pg_int_param(limitbuf, limit)};
    PGresult *res;
    int rows;

    if (!pg_ensure(conn))
        return -1;
    res = pg_query(conn, sql, 4, params);
    if (!pg_ok(conn, res, "read events")) {
        PQclear(res);
        return -1;
    }
    rows = PQntuples(res);
    for (int i = 0; i < rows; i++)
        fn(arg, atoll(PQgetvalue(res, i, 0)), atoll(PQgetvalue(res, i, 1)), PQgetvalue(res, i, 2),
           (size_t)PQgetlength(res, i, 2));
    PQclear(res);
    return rows;
}

bool record_hub_read_begin(PGconn *conn, long long department_id, long long *last_seq)
{
    /* Not SERIALIZABLE: a hot standby refuses it; REPEATABLE READ is one snapshot for the
     * whole transaction, which is what makes the board and its seq agree. */
    static const char begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    static const char sql[] = "SELECT last_seq FROM department_seq WHERE department_id = $1";
    char deptbuf[24];
    const char *params[] = {pg_int_param(deptbuf, department_id)};
    PGresult *began, *res;
    bool ok;

    if (!pg_ensure(conn))
        return false;
    ok = pg_query_pair(conn, begin, 0, NULL, sql, 1, params, &began, &res) &&
         pg_ok(conn, began, "read transaction") && pg_ok(conn, res, "department seq");
    /* No row yet: a department this copy has not received (a replica behind its creation). */
    *last_seq = ok && PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : -1;
    PQclear(began);
    PQclear(res);
    return ok;
}

json_t *record_hub_board(PGconn *conn, long long department_id)
{
    static const char sql[] = "SELECT board_json($1)::text";
    char deptbuf[24];
    const char *params[] = {pg_int_param(deptbuf, department_id)};
    PGresult *res = pg_query(conn, sql, 1, params);
    json_t *board = NULL;

    if (pg_ok(conn, res, "board") && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        board = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return board;
}

bool record_hub_read_end(PGconn *conn)
{
    PGresult *res = pg_query(conn, "COMMIT", 0, NULL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    PQclear(res);
    return ok;
}
