/* SPDX-License-Identifier: MIT */
#include "pg.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

PGconn *pg_connect_once(const char *conninfo)
{
    /* As a startup option, not a SET: PQreset() (pg_ensure) keeps it on the new session. The
     * options the connection string or PGOPTIONS already give (a search_path, say) are kept
     * ahead of the limits, since an "options" keyword replaces them. */
    static const char *const keys[] = {"dbname", "options", NULL};
    PQconninfoOption *parsed = PQconninfoParse(conninfo, NULL);
    const char *given = getenv("PGOPTIONS");
    const char *values[] = {conninfo, NULL, NULL};
    char *options;
    size_t cap;
    PGconn *conn;

    for (PQconninfoOption *o = parsed; o && o->keyword; o++)
        if (!strcmp(o->keyword, "options") && o->val && o->val[0])
            given = o->val;
    given = given ? given : "";
    cap = strlen(given) + sizeof " " PG_SESSION_OPTIONS;
    options = malloc(cap);
    if (options)
        snprintf(options, cap, "%s%s" PG_SESSION_OPTIONS, given, given[0] ? " " : "");
    values[1] = options;
    conn = options ? PQconnectdbParams(keys, values, 1) : NULL;
    free(options);
    PQconninfoFree(parsed);
    return conn;
}

PGconn *pg_connect(const char *conninfo, int wait_s)
{
    for (int attempt = 0;; attempt++) {
        PGconn *conn = pg_connect_once(conninfo);
        if (PQstatus(conn) == CONNECTION_OK)
            return conn;
        if (attempt >= wait_s * 4) {
            log_error("cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
            PQfinish(conn);
            return NULL;
        }
        PQfinish(conn);
        usleep(250 * 1000);
    }
}

bool pg_set_timeouts(PGconn *conn, int statement_ms, int lock_ms)
{
    char statement[24], lock[24];
    const char *params[] = {pg_int_param(statement, statement_ms), pg_int_param(lock, lock_ms)};
    PGresult *res = pg_query(conn,
                             "SELECT set_config('statement_timeout', $1 || 'ms', false), "
                             "set_config('lock_timeout', $2 || 'ms', false)",
                             2, params);
    bool ok = pg_ok(conn, res, "set timeouts");

    PQclear(res);
    return ok;
}

bool pg_idle_alive(PGconn *conn)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};

    if (PQstatus(conn) != CONNECTION_OK || pfd.fd < 0)
        return false;
    /* libpq learns of a closed session only when it next reads. An idle connection has
     * nothing to read but a NOTIFY (kept for PQnotifies) or the server's goodbye: read it now,
     * so that a PostgreSQL restart costs a reconnect here, not the next request's 503. */
    if (poll(&pfd, 1, 0) > 0 && !PQisBusy(conn) && !PQconsumeInput(conn))
        return false;
    return PQstatus(conn) == CONNECTION_OK;
}

bool pg_ensure(PGconn *conn)
{
    if (pg_idle_alive(conn))
        return true;
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK) {
        log_warn("reconnected to PostgreSQL");
        return true;
    }
    return false;
}

PGresult *pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

bool pg_query_pair(PGconn *conn, const char *first_sql, int first_n,
                   const char *const *first_params, const char *second_sql, int second_n,
                   const char *const *second_params, PGresult **first, PGresult **second)
{
    PGresult **slot[2] = {first, second};
    PGresult *res;
    bool sent;

    *first = *second = NULL;
    if (!PQenterPipelineMode(conn))
        return false;
    sent = PQsendQueryParams(conn, first_sql, first_n, NULL, first_params, NULL, NULL, 0) &&
           PQsendQueryParams(conn, second_sql, second_n, NULL, second_params, NULL, NULL, 0) &&
           PQpipelineSync(conn);
    /* Each statement's results end with a NULL; the sync's result ends the pipeline. Read to
     * the sync even when sending failed part way, so the connection is usable after. */
    for (int i = 0; sent && i < 2; i++) {
        while ((res = PQgetResult(conn)) != NULL) {
            if (*slot[i])
                PQclear(res); /* only the first result of a statement is kept */
            else
                *slot[i] = res;
        }
    }
    while (sent && (res = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC || st == PGRES_FATAL_ERROR)
            break;
    }
    if (!PQexitPipelineMode(conn)) {
        /* Something is still pending: the connection cannot be trusted for the next
         * statement; reset it (the transaction, if any, is lost as on a dropped connection). */
        log_error("pipeline: %s", "results left unread; resetting the connection");
        PQreset(conn);
        PQclear(*first);
        PQclear(*second);
        *first = *second = NULL;
        return false;
    }
    return sent;
}

const char *pg_sqlstate(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return state ? state : "";
}

/* Per thread: each of ed-api's workers owns its connection. */
static _Thread_local bool lost_lock_conflict;

bool pg_lost_lock_conflict(void)
{
    return lost_lock_conflict;
}

void pg_clear_lock_conflict(void)
{
    lost_lock_conflict = false;
}

bool pg_ok(PGconn *conn, const PGresult *res, const char *what)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    const char *state;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return true;
    /* 40P01 deadlock_detected, 55P03 lock_not_available (lock_timeout), 40001
     * serialization_failure. */
    state = pg_sqlstate(res);
    if (!strcmp(state, "40P01") || !strcmp(state, "55P03") || !strcmp(state, "40001"))
        lost_lock_conflict = true;
    /* The primary message can quote values; log only the SQLSTATE and the statement's name. */
    log_error("%s failed: SQLSTATE %s%s", what, pg_sqlstate(res),
              PQstatus(conn) == CONNECTION_OK ? "" : " (connection lost)");
    return false;
}

bool pg_command(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = pg_ok(conn, res, sql);

    PQclear(res);
    return ok;
}

const char *pg_int_param(char *buf, long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}
