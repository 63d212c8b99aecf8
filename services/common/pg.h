/* SPDX-License-Identifier: MIT */
/* pg.h: small blocking helpers over libpq. Only parameterized statements. */
#ifndef EDLIVE_PG_H
#define EDLIVE_PG_H

#include <libpq-fe.h>
#include <stdbool.h>

/* Every connection the services open bounds how long one statement may run and how long it
 * may wait for a row or table lock (services/README.md, "PostgreSQL time limits"): a slow
 * statement or a lock held by a stuck transaction becomes an error the caller answers (503,
 * "try again") instead of a service thread blocked without end. Constants, not settings. */
#define PG_STATEMENT_TIMEOUT_MS 5000
#define PG_LOCK_TIMEOUT_MS      2000
/* A transaction left open between statements (a thread stuck between BEGIN and COMMIT) holds
 * its row locks; the server ends it after this long, so it cannot hold every writer up. */
#define PG_IDLE_IN_TRANSACTION_TIMEOUT_MS 10000
#define PG_STR_(x)                        #x
#define PG_STR(x)                         PG_STR_(x)
#define PG_SESSION_OPTIONS                                                              \
    "-c statement_timeout=" PG_STR(PG_STATEMENT_TIMEOUT_MS) " -c lock_timeout=" PG_STR( \
        PG_LOCK_TIMEOUT_MS) " -c idle_in_transaction_session_timeout=" PG_STR(PG_IDLE_IN_TRANSACTION_TIMEOUT_MS)
/* edlivectl migrate: no statement limit (a migration may rewrite a large table), and a lock
 * it cannot get within 30 s fails the migration (rolled back; run it again) rather than
 * queueing every service statement behind it. */
#define PG_MIGRATE_LOCK_TIMEOUT_MS 30000

/* One connection attempt with the time limits above (NULL only when out of memory; check
 * PQstatus). conninfo is a libpq connection string or URI. */
/* libpq's notice processor for every connection: a server's notice or a message it sends
 * outside a query ("terminating connection due to administrator command") becomes a log line
 * (a warning), not a raw line on stderr among the JSON ones. */
void pg_log_notice(void *unused, const char *message);
PGconn *pg_connect_once(const char *conninfo);

/* Connects, retrying for up to wait_s seconds; NULL when it never came up. */
PGconn *pg_connect(const char *conninfo, int wait_s);

/* Changes the time limits of this session (milliseconds, 0: none). */
bool pg_set_timeouts(PGconn *conn, int statement_ms, int lock_ms);

/* False when conn is broken or its server has closed it (read without blocking). */
bool pg_idle_alive(PGconn *conn);

/* Makes sure conn is usable (PQreset when the server went away, noticed even while idle). */
bool pg_ensure(PGconn *conn);

/* PQexecParams with text parameters (NULL entries are SQL NULL). Caller PQclear()s. */
PGresult *pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params);

/* Two statements in one round trip (libpq pipeline mode: both sent, then one sync), each with
 * its parameters (n 0: none). *first and *second get their results as pg_query would give them
 * (check each with pg_ok); when first fails, second is not run (PGRES_PIPELINE_ABORTED). False
 * with both NULL when nothing could be sent. For a write's BEGIN and first statement, or its
 * last statement and COMMIT. */
bool pg_query_pair(PGconn *conn, const char *first_sql, int first_n,
                   const char *const *first_params, const char *second_sql, int second_n,
                   const char *const *second_params, PGresult **first, PGresult **second);

/* True when res is COMMAND_OK or TUPLES_OK; logs the SQLSTATE otherwise (never the data). */
bool pg_ok(PGconn *conn, const PGresult *res, const char *what);

/* The SQLSTATE of a failed result, "" when none. */
const char *pg_sqlstate(const PGresult *res);
/* Whether the last statement pg_ok refused on this thread lost a lock conflict (deadlock,
 * lock timeout, serialization failure): its transaction was rolled back whole, and running the
 * same work again is safe and will likely succeed. pg_clear_lock_conflict before the work. */
bool pg_lost_lock_conflict(void);
void pg_clear_lock_conflict(void);

/* Runs a statement without results (BEGIN, COMMIT, ROLLBACK). */
bool pg_command(PGconn *conn, const char *sql);

/* Formats a 64-bit integer parameter into buf (room for 24). */
const char *pg_int_param(char *buf, long long v);

#endif
