/* SPDX-License-Identifier: MIT */
/* pg.h: small blocking helpers over libpq. Only parameterized statements. */
#ifndef EDLIVE_PG_H
#define EDLIVE_PG_H

#include <libpq-fe.h>
#include <stdbool.h>

/* Connects, retrying for up to wait_s seconds; NULL when it never came up. */
PGconn *pg_connect(const char *conninfo, int wait_s);

/* Makes sure conn is usable (PQreset when the server went away). */
bool pg_ensure(PGconn *conn);

/* PQexecParams with text parameters (NULL entries are SQL NULL). Caller PQclear()s. */
PGresult *pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params);

/* True when res is COMMAND_OK or TUPLES_OK; logs the SQLSTATE otherwise (never the data). */
bool pg_ok(PGconn *conn, const PGresult *res, const char *what);

/* The SQLSTATE of a failed result, "" when none. */
const char *pg_sqlstate(const PGresult *res);

/* Runs a statement without results (BEGIN, COMMIT, ROLLBACK). */
bool pg_command(PGconn *conn, const char *sql);

/* Formats a 64-bit integer parameter into buf (room for 24). */
const char *pg_int_param(char *buf, long long v);

#endif
