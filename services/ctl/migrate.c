/* SPDX-License-Identifier: MIT */
/* migrate.c: the schema tool. In one transaction, under a transaction-level advisory lock (a
 * second migrate waits, then finds nothing to do): the pending sql/migrations/NNNN_*.sql in
 * name order, each recorded in schema_migrations, then every sql/functions file in name order
 * (functions, views, triggers: idempotent, re-applied on every run). Any failure rolls it all
 * back. The SQL here is trusted DDL from the source tree; it stays in ctl (sql/README.md). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "pg.h"

#define MIGRATE_LOCK_KEY "7250001"
#define MAX_SQL_FILES    512

struct sql_files {
    char dir[1024];
    char *names[MAX_SQL_FILES];
    size_t count;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        text = malloc((size_t)size + 1);
        if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
            free(text);
            text = NULL;
        } else if (text) {
            text[size] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* The *.sql files of sql_dir/sub in name order; numbered: only NNNN_*.sql. */
static bool list_sql(struct sql_files *out, const char *sql_dir, const char *sub, bool numbered)
{
    struct dirent *de;
    DIR *d;

    out->count = 0;
    snprintf(out->dir, sizeof out->dir, "%s/%s", sql_dir, sub);
    d = opendir(out->dir);
    if (!d) {
        log_error("cannot open %s (set EDLIVE_SQL_DIR)", out->dir);
        return false;
    }
    while ((de = readdir(d)) && out->count < MAX_SQL_FILES) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".sql") && de->d_name[0] != '.' &&
            (!numbered || (n > 9 && de->d_name[4] == '_')))
            out->names[out->count++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(out->names, out->count, sizeof out->names[0], by_name);
    return true;
}

static void free_sql(struct sql_files *files)
{
    for (size_t i = 0; i < files->count; i++)
        free(files->names[i]);
    files->count = 0;
}

/* Runs one file as one script inside the open transaction. */
static bool exec_file(PGconn *conn, const char *dir, const char *name)
{
    char path[2048];
    char *sql;
    PGresult *res;
    bool ok;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    sql = read_file(path);
    if (!sql) {
        log_error("cannot read %s", path);
        return false;
    }
    res = PQexec(conn, sql);
    free(sql);
    /* A file of comments only (its statements moved to sql/functions) is an empty query. */
    ok = PQresultStatus(res) == PGRES_EMPTY_QUERY || pg_ok(conn, res, name);
    if (!ok)
        log_error("%s: %s", name, PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

static bool is_applied(PGconn *conn, const char *name)
{
    const char *params[] = {name};
    PGresult *res = pg_query(conn, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, params);
    bool applied = pg_ok(conn, res, "read schema_migrations") && PQntuples(res) == 1;

    PQclear(res);
    return applied;
}

static bool apply_migration(PGconn *conn, const char *dir, const char *name)
{
    const char *params[] = {name};
    PGresult *res;
    bool ok;

    if (!exec_file(conn, dir, name))
        return false;
    res = pg_query(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, params);
    ok = pg_ok(conn, res, "record migration");
    PQclear(res);
    if (ok)
        log_info("applied %s", name);
    return ok;
}

/* Everything after BEGIN; false leaves the transaction to be rolled back. */
static bool migrate_in_transaction(PGconn *conn, const struct sql_files *migrations,
                                   const struct sql_files *functions, size_t *applied)
{
    if (!pg_command(conn, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")") ||
        !pg_command(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
        return false;
    for (size_t i = 0; i < migrations->count; i++) {
        if (is_applied(conn, migrations->names[i]))
            continue;
        if (!apply_migration(conn, migrations->dir, migrations->names[i]))
            return false;
        (*applied)++;
    }
    for (size_t i = 0; i < functions->count; i++)
        if (!exec_file(conn, functions->dir, functions->names[i]))
            return false;
    return true;
}

int ctl_migrate(PGconn *conn, const char *sql_dir)
{
    struct sql_files migrations, functions;
    size_t applied = 0;
    int rc = 1;

    if (!list_sql(&migrations, sql_dir, "migrations", true))
        return 1;
    if (!list_sql(&functions, sql_dir, "functions", false)) {
        free_sql(&migrations);
        return 1;
    }
    if (pg_command(conn, "SET client_min_messages = warning") && pg_command(conn, "BEGIN")) {
        if (migrate_in_transaction(conn, &migrations, &functions, &applied) &&
            pg_command(conn, "COMMIT"))
            rc = 0;
        else
            pg_command(conn, "ROLLBACK");
    }
    if (rc == 0)
        log_info("migrations: %zu applied now, %zu in total; %zu function files applied", applied,
                 migrations.count, functions.count);
    else
        log_error("migrate failed: nothing was changed");
    free_sql(&migrations);
    free_sql(&functions);
    return rc;
}

/* Which of sql_dir's migrations this database has applied; prints one line per migration
 * when verbose. *pending: how many are not applied; false when the database cannot say. */
bool ctl_migrations_pending(PGconn *conn, const char *sql_dir, bool verbose, size_t *pending,
                            size_t *available)
{
    struct sql_files migrations;
    PGresult *exists, *res = NULL;
    bool ok = false;

    *pending = *available = 0;
    if (!list_sql(&migrations, sql_dir, "migrations", true))
        return false;
    *available = migrations.count;
    /* A database never migrated has no schema_migrations: everything is pending. */
    exists = pg_query(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL);
    if (!pg_ok(conn, exists, "schema_migrations"))
        goto done;
    if (PQgetvalue(exists, 0, 0)[0] == 't') {
        res = pg_query(conn, "SELECT name FROM schema_migrations ORDER BY name", 0, NULL);
        if (!pg_ok(conn, res, "read schema_migrations"))
            goto done;
    }
    for (size_t i = 0; i < migrations.count; i++) {
        bool applied = false;
        for (int r = 0; res && r < PQntuples(res) && !applied; r++)
            applied = !strcmp(PQgetvalue(res, r, 0), migrations.names[i]);
        if (!applied)
            (*pending)++;
        if (verbose)
            printf("%-8s %s\n", applied ? "applied" : "PENDING", migrations.names[i]);
    }
    /* Applied by a newer release: this sql/ folder is older than the database. */
    for (int r = 0; verbose && res && r < PQntuples(res); r++) {
        bool known = false;
        for (size_t i = 0; i < migrations.count && !known; i++)
            known = !strcmp(PQgetvalue(res, r, 0), migrations.names[i]);
        if (!known)
            printf("%-8s %s (applied, not in %s/migrations: a newer release's)\n", "unknown",
                   PQgetvalue(res, r, 0), sql_dir);
    }
    ok = true;
done:
    PQclear(exists);
    PQclear(res);
    free_sql(&migrations);
    return ok;
}

int ctl_migrate_status(PGconn *conn, const char *sql_dir)
{
    size_t pending, available;

    if (!ctl_migrations_pending(conn, sql_dir, true, &pending, &available)) {
        fprintf(stderr, "migrate status: cannot read the applied migrations\n");
        return 1;
    }
    if (pending == 0) {
        printf("migrate status: current, %zu of %zu migrations applied\n", available, available);
        return 0;
    }
    printf("migrate status: %zu of %zu migrations pending: run `edlivectl migrate`\n", pending,
           available);
    return 3;
}
