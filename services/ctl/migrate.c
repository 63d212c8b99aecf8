/* SPDX-License-Identifier: MIT */
/* migrate.c: forward-only migrations. An advisory lock keeps two runs from racing. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "pg.h"

#define MIGRATE_LOCK_KEY "7250001"
#define MAX_MIGRATIONS   512

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

static bool is_applied(PGconn *conn, const char *name)
{
    const char *params[] = {name};
    PGresult *res = pg_query(conn, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, params);
    bool applied = pg_ok(conn, res, "read schema_migrations") && PQntuples(res) == 1;

    PQclear(res);
    return applied;
}

static bool apply(PGconn *conn, const char *dir, const char *name)
{
    char path[2048];
    char *sql;
    const char *params[] = {name};
    PGresult *res;
    bool ok;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    sql = read_file(path);
    if (!sql) {
        log_error("cannot read %s", path);
        return false;
    }
    if (!pg_command(conn, "BEGIN")) {
        free(sql);
        return false;
    }
    /* A migration file is trusted DDL from the source tree, run as one script. */
    res = PQexec(conn, sql);
    free(sql);
    ok = pg_ok(conn, res, name);
    if (!ok)
        log_error("%s: %s", name, PQresultErrorMessage(res));
    PQclear(res);
    if (ok) {
        res = pg_query(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, params);
        ok = pg_ok(conn, res, "record migration");
        PQclear(res);
    }
    if (!ok || !pg_command(conn, "COMMIT")) {
        pg_command(conn, "ROLLBACK");
        return false;
    }
    log_info("applied %s", name);
    return true;
}

int ctl_migrate(PGconn *conn, const char *sql_dir)
{
    char dir[1024];
    char *names[MAX_MIGRATIONS];
    size_t count = 0, applied = 0;
    struct dirent *de;
    DIR *d;
    int rc = 0;

    snprintf(dir, sizeof dir, "%s/migrations", sql_dir);
    d = opendir(dir);
    if (!d) {
        log_error("cannot open %s (set EDLIVE_SQL_DIR)", dir);
        return 1;
    }
    while ((de = readdir(d)) && count < MAX_MIGRATIONS) {
        size_t n = strlen(de->d_name);
        if (n > 9 && !strcmp(de->d_name + n - 4, ".sql") && de->d_name[4] == '_')
            names[count++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof names[0], by_name);

    if (!pg_command(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")") ||
        !pg_command(conn, "SET client_min_messages = warning") ||
        !pg_command(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
        rc = 1;
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (is_applied(conn, names[i]))
            continue;
        if (!apply(conn, dir, names[i]))
            rc = 1;
        else
            applied++;
    }
    pg_command(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    if (rc == 0)
        log_info("migrations: %zu applied now, %zu in total", applied, count);
    return rc;
}
