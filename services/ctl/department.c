/* SPDX-License-Identifier: MIT */
/* department.c: `edlivectl department set <department-id> <key> <value>`, the per-department
 * settings of issue 9 (services/ctl/README.md). Each key is a column of `department` added by
 * the migration of the feature that reads it; a key whose column is not in this database yet
 * is refused with a message saying so. Every change is audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pg.h"

struct setting {
    const char *key;    /* also the column name */
    const char *column; /* when the column's name differs from the key: an alias */
    const char *cast;   /* the value's SQL type */
    const char *help;
    bool (*valid)(PGconn *conn, const char *value);
};

static bool valid_window(PGconn *conn, const char *value)
{
    char *end;
    long v = strtol(value, &end, 10);

    (void)conn;
    return *value && !*end && v >= 15 && v <= 1440;
}

static bool valid_early_warning(PGconn *conn, const char *value)
{
    (void)conn;
    return !strcmp(value, "auto") || !strcmp(value, "news2") || !strcmp(value, "pews");
}

static bool valid_bool(PGconn *conn, const char *value)
{
    (void)conn;
    return !strcmp(value, "true") || !strcmp(value, "false");
}

/* An IANA zone PostgreSQL knows (the one that converts the department's local day). */
static bool valid_time_zone(PGconn *conn, const char *value)
{
    PGresult *res = pg_query(conn, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1,
                             (const char *[]){value});
    bool ok = pg_ok(conn, res, "time zones") && PQntuples(res) == 1;

    PQclear(res);
    return ok;
}

static const struct setting settings[] = {
    {"ews_window_min", NULL, "int", "minutes, 15 to 1440", valid_window},
    {"early_warning", NULL, "text", "auto, news2 or pews", valid_early_warning},
    {"timezone", NULL, "text", "an IANA time zone such as Europe/London", valid_time_zone},
    /* The spelling of the same setting (the column was named timezone earlier). */
    {"time_zone", "timezone", "text", "an IANA time zone (another name for timezone)",
     valid_time_zone},
    {"wall_shows_flags", NULL, "boolean", "true or false", valid_bool},
};

static int usage(void)
{
    fprintf(stderr, "usage: edlivectl department set <department-id> <key> <value>\n"
                    "keys:\n");
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        fprintf(stderr, "  %-17s %s\n", settings[i].key, settings[i].help);
    return 2;
}

/* True when department has the column (its migration has run). */
static bool has_column(PGconn *conn, const char *column, bool *exists)
{
    PGresult *res = pg_query(conn,
                             "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                             "current_schema() AND table_name = 'department' AND column_name = $1",
                             1, (const char *[]){column});
    bool ok = pg_ok(conn, res, "department columns");

    *exists = ok && PQntuples(res) == 1;
    PQclear(res);
    return ok;
}

int ctl_department(PGconn *conn, int argc, char **argv)
{
    const struct setting *s = NULL;
    const char *column;
    char sql[256], detail[160];
    PGresult *res;
    bool exists, ok;
    char *end;
    long long id;

    if (argc != 4 || strcmp(argv[0], "set"))
        return usage();
    id = strtoll(argv[1], &end, 10);
    if (!*argv[1] || *end || id <= 0) {
        fprintf(stderr, "edlivectl: department id must be a positive integer, not %s\n", argv[1]);
        return 2;
    }
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (!strcmp(argv[2], settings[i].key))
            s = &settings[i];
    if (!s) {
        fprintf(stderr, "edlivectl: unknown department setting %s\n", argv[2]);
        return usage();
    }
    column = s->column ? s->column : s->key;
    if (!has_column(conn, column, &exists))
        return 1;
    if (!exists) {
        fprintf(stderr,
                "edlivectl: department setting %s is not available in this database yet (no "
                "column department.%s: run `edlivectl migrate` with the release that adds it)\n",
                s->key, column);
        return 1;
    }
    if (!s->valid(conn, argv[3])) {
        fprintf(stderr, "edlivectl: invalid value for %s: %s (expected %s)\n", s->key, argv[3],
                s->help);
        return 2;
    }
    /* The column name comes from the table above, never from the command line. */
    snprintf(sql, sizeof sql, "UPDATE department SET %s = $2::%s WHERE id = $1", column, s->cast);
    snprintf(detail, sizeof detail, "department %lld: %s = %s", id, column, argv[3]);
    if (!pg_command(conn, "BEGIN"))
        return 1;
    res = pg_query(conn, sql, 2, (const char *[]){argv[1], argv[3]});
    ok = pg_ok(conn, res, "department set");
    if (ok && strcmp(PQcmdTuples(res), "1")) {
        fprintf(stderr, "edlivectl: no department %lld\n", id);
        ok = false;
    }
    PQclear(res);
    if (ok) {
        res = pg_query(conn,
                       "INSERT INTO audit_log (username, action, category, outcome, detail, "
                       "source_addr) VALUES ('system', 'department.set', 'department', "
                       "'success', $1, 'edlivectl')",
                       1, (const char *[]){detail});
        ok = pg_ok(conn, res, "audit department change");
        PQclear(res);
    }
    if (!ok || !pg_command(conn, "COMMIT")) {
        pg_command(conn, "ROLLBACK");
        return 1;
    }
    printf("%s\n", detail);
    return 0;
}
