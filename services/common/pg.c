/* SPDX-License-Identifier: MIT */
#include "pg.h"

#include <libpq-events.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Prepared statements, kept per connection. Every statement of the services is a constant
 * text with $n parameters, so each connection parses and plans it once (PQprepare) and then
 * only binds and executes it: unnamed statements made PostgreSQL parse and plan every
 * statement of every write again (services/README.md, "PostgreSQL"). The cache hangs on the
 * connection as libpq "instance data" and follows its life through libpq's events: a reset
 * (PQreset: a new server session) empties it, closing the connection frees it. */
#define STATEMENT_SLOTS     1024 /* open addressing; at most half used */
#define STATEMENT_CACHE_MAX (STATEMENT_SLOTS / 2)

struct cached_statement {
    uint64_t hash;
    char *sql; /* NULL: free slot */
    unsigned id;
};

struct statement_cache {
    int used;
    unsigned next_id; /* never reused within a session: a dropped entry's name may still exist */
    struct cached_statement slots[STATEMENT_SLOTS];
};

static void statement_cache_clear(struct statement_cache *cache)
{
    for (int i = 0; i < STATEMENT_SLOTS; i++) {
        free(cache->slots[i].sql);
        cache->slots[i].sql = NULL;
    }
    cache->used = 0;
}

static int statement_cache_event(PGEventId event, void *info, void *pass_through)
{
    (void)pass_through;
    switch (event) {
    case PGEVT_REGISTER: {
        PGconn *conn = ((PGEventRegister *)info)->conn;
        struct statement_cache *cache = calloc(1, sizeof *cache);
        return cache && PQsetInstanceData(conn, statement_cache_event, cache);
    }
    case PGEVT_CONNRESET: {
        struct statement_cache *cache =
            PQinstanceData(((PGEventConnReset *)info)->conn, statement_cache_event);
        if (cache) {
            statement_cache_clear(cache); /* a new session has no prepared statements */
            cache->next_id = 0;
        }
        return 1;
    }
    case PGEVT_CONNDESTROY: {
        struct statement_cache *cache =
            PQinstanceData(((PGEventConnDestroy *)info)->conn, statement_cache_event);
        if (cache) {
            statement_cache_clear(cache);
            free(cache);
        }
        return 1;
    }
    default:
        return 1;
    }
}

static uint64_t sql_hash(const char *sql)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (const unsigned char *c = (const unsigned char *)sql; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return h;
}

static struct cached_statement *statement_slot(struct statement_cache *cache, const char *sql,
                                               uint64_t hash)
{
    unsigned i = (unsigned)hash & (STATEMENT_SLOTS - 1);

    while (cache->slots[i].sql &&
           (cache->slots[i].hash != hash || strcmp(cache->slots[i].sql, sql) != 0))
        i = (i + 1) & (STATEMENT_SLOTS - 1);
    return &cache->slots[i];
}

/* The name of sql prepared on conn, preparing it on first use; NULL to run it unnamed (a
 * connection without the cache, a full cache, or a prepare the server refused: running it
 * unnamed then gives the caller the server's error as before). name has room for 24. */
static const char *prepared_name(PGconn *conn, const char *sql, int nparams, char *name)
{
    struct statement_cache *cache = PQinstanceData(conn, statement_cache_event);
    struct cached_statement *slot;
    uint64_t hash;
    PGresult *res;

    if (!cache)
        return NULL;
    hash = sql_hash(sql);
    slot = statement_slot(cache, sql, hash);
    if (!slot->sql) {
        bool prepared;
        if (cache->used >= STATEMENT_CACHE_MAX)
            return NULL;
        snprintf(name, 24, "edlive_%u", cache->next_id);
        res = PQprepare(conn, name, sql, nparams, NULL);
        prepared = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!prepared || !(slot->sql = strdup(sql)))
            return NULL;
        slot->hash = hash;
        slot->id = cache->next_id++;
        cache->used++;
    }
    snprintf(name, 24, "edlive_%u", slot->id);
    return name;
}

/* A prepared statement the server no longer has (26000: a pooler ran DISCARD ALL) or whose
 * result shape changed under it (0A000 "cached plan must not change result type": a migration
 * added a column to a table a SELECT * reads): forget every name, so the next call prepares
 * afresh under new names. The failed statement is the caller's error, as any other. */
static void statement_cache_check(PGconn *conn, const PGresult *res)
{
    struct statement_cache *cache;
    const char *state;

    if (!res || PQresultStatus(res) != PGRES_FATAL_ERROR)
        return;
    state = pg_sqlstate(res);
    if (strcmp(state, "26000") != 0 && strcmp(state, "0A000") != 0)
        return;
    cache = PQinstanceData(conn, statement_cache_event);
    if (cache)
        statement_cache_clear(cache);
}

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
    if (conn)
        PQsetNoticeProcessor(conn, pg_log_notice, NULL);
    if (conn && !PQregisterEventProc(conn, statement_cache_event, "statement cache", NULL))
        log_warn("statements on this PostgreSQL connection will not be prepared (no memory)");
    return conn;
}

void pg_log_notice(void *unused, const char *message)
{
    size_t n = strlen(message);

    (void)unused;
    while (n && message[n - 1] == '\n')
        n--;
    log_warn("PostgreSQL: %.*s", (int)n, message);
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
    char name[24];
    const char *prepared = prepared_name(conn, sql, nparams, name);
    PGresult *res = prepared ? PQexecPrepared(conn, prepared, nparams, params, NULL, NULL, 0)
                             : PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

    statement_cache_check(conn, res);
    return res;
}

bool pg_query_pair(PGconn *conn, const char *first_sql, int first_n,
                   const char *const *first_params, const char *second_sql, int second_n,
                   const char *const *second_params, PGresult **first, PGresult **second)
{
    PGresult **slot[2] = {first, second};
    char first_buf[24], second_buf[24];
    const char *first_name, *second_name;
    PGresult *res;
    bool sent;

    *first = *second = NULL;
    /* Prepared before the pipeline (a first use costs one round trip more, once). */
    first_name = prepared_name(conn, first_sql, first_n, first_buf);
    second_name = prepared_name(conn, second_sql, second_n, second_buf);
    if (!PQenterPipelineMode(conn))
        return false;
    sent =
        (first_name
             ? PQsendQueryPrepared(conn, first_name, first_n, first_params, NULL, NULL, 0)
             : PQsendQueryParams(conn, first_sql, first_n, NULL, first_params, NULL, NULL, 0)) &&
        (second_name
             ? PQsendQueryPrepared(conn, second_name, second_n, second_params, NULL, NULL, 0)
             : PQsendQueryParams(conn, second_sql, second_n, NULL, second_params, NULL, NULL, 0)) &&
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
    statement_cache_check(conn, *first);
    statement_cache_check(conn, *second);
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
