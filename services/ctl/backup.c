/* SPDX-License-Identifier: MIT */
/* backup.c: `edlivectl backup <file>` and `edlivectl restore <file> [--force]`, around
 * PostgreSQL's own pg_dump and pg_restore (custom format: compressed, restorable table by table,
 * checked by `pg_restore --list`). The connection is EDLIVE_PG (the owner); it reaches the
 * tools as libpq's PG* environment variables (PQconninfoParse names each one), never on their
 * command line, where a password would show in `ps`. The tools are found on PATH (Debian's
 * pg_wrapper picks the newest installed). A restore goes into an empty database in one
 * transaction (any error: nothing restored), then checks the audit chain. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "pg.h"
#include "record.h"

extern char **environ;

/* Puts each option of conninfo into the environment variable libpq reads it from, for the
 * child processes; false (with a message) when conninfo does not parse. */
static bool export_conninfo(const char *conninfo)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why), *o;

    if (!opts) {
        fprintf(stderr, "edlivectl: EDLIVE_PG is not a libpq connection string: %s",
                why ? why : "out of memory\n");
        PQfreemem(why);
        return false;
    }
    for (o = opts; o->keyword; o++)
        if (o->val && o->envvar)
            setenv(o->envvar, o->val, 1);
    PQconninfoFree(opts);
    return true;
}

/* Runs argv (argv[0] found on PATH) and waits; its exit code, or -1 when it could not start. */
static int run_tool(char *const argv[])
{
    pid_t pid;
    int status, rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);

    if (rc != 0) {
        fprintf(stderr, "edlivectl: cannot run %s: %s (is postgresql-client installed?)\n", argv[0],
                strerror(rc));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ctl_backup(PGconn *unused, int argc, char **argv)
{
    const char *file = argv[0];
    char tmp[4096];
    struct stat st;
    int rc;

    (void)unused, (void)argc;
    if (!config_check(&ctl_config))
        return 2;
    if (stat(file, &st) == 0) {
        fprintf(stderr, "edlivectl: %s exists: a backup never overwrites a file\n", file);
        return 2;
    }
    if (snprintf(tmp, sizeof tmp, "%s.partial", file) >= (int)sizeof tmp) {
        fprintf(stderr, "edlivectl: the file name is too long\n");
        return 2;
    }
    if (!export_conninfo(config_text(&ctl_config, CTL_PG)))
        return 2;
    /* Written under another name and renamed when complete and readable: a file with the
     * backup's name is a whole backup. */
    rc = run_tool((char *[]){"pg_dump", "--format=custom", "--no-password", "--file", tmp, NULL});
    if (rc == 0) {
        int devnull = open("/dev/null", O_WRONLY), saved = dup(STDOUT_FILENO);
        fflush(stdout);
        dup2(devnull, STDOUT_FILENO); /* the table of contents is not for the operator */
        rc = run_tool((char *[]){"pg_restore", "--list", tmp, NULL});
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        close(devnull);
    }
    if (rc != 0 || rename(tmp, file) != 0) {
        unlink(tmp);
        fprintf(stderr, "edlivectl: backup failed (pg_dump or pg_restore --list above): no file "
                        "written\n");
        return 1;
    }
    stat(file, &st);
    printf("backup: %s written, %lld bytes (pg_dump custom format)\n", file, (long long)st.st_size);
    return 0;
}

/* How many tables, views and sequences the connected database holds outside PostgreSQL's own
 * schemas; -1 on error. */
static long long user_relations(PGconn *conn)
{
    PGresult *res = pg_query(conn,
                             "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                             "n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                             "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                             "AND n.nspname NOT LIKE 'pg_temp%' AND c.relkind IN ('r', 'p', "
                             "'v', 'm', 'S')",
                             0, NULL);
    long long n = pg_ok(conn, res, "count relations") ? atoll(PQgetvalue(res, 0, 0)) : -1;

    PQclear(res);
    return n;
}

int ctl_restore(PGconn *unused, int argc, char **argv)
{
    struct record_audit_check check;
    bool force = argc == 2 && !strcmp(argv[1], "--force");
    long long existing;
    PGconn *conn;
    int rc;

    (void)unused;
    if (argc < 1 || argc > 2 || (argc == 2 && !force)) {
        fprintf(stderr, "usage: edlivectl restore <file> [--force]\n");
        return 2;
    }
    if (!config_check(&ctl_config))
        return 2;
    if (access(argv[0], R_OK) != 0) {
        fprintf(stderr, "edlivectl: cannot read the backup %s: %s\n", argv[0], strerror(errno));
        return 2;
    }
    conn = pg_connect(config_text(&ctl_config, CTL_PG), 10);
    if (!conn)
        return 1;
    existing = user_relations(conn);
    if (existing < 0) {
        PQfinish(conn);
        return 1;
    }
    if (existing > 0 && !force) {
        fprintf(stderr,
                "edlivectl: the database %s is not empty (%lld tables, views or sequences): "
                "restore into an empty database (createdb), or give --force to replace them\n",
                PQdb(conn), existing);
        PQfinish(conn);
        return 1;
    }
    if (!export_conninfo(config_text(&ctl_config, CTL_PG))) {
        PQfinish(conn);
        return 2;
    }
    /* One transaction: a failure leaves the database as it was. --force drops what the backup
     * holds first (--clean --if-exists). The roles (edlive, edlive_app) are the cluster's, not
     * the backup's: create them first (services/ctl/README.md). */
    rc = force ? run_tool((char *[]){"pg_restore", "--no-password", "--single-transaction",
                                     "--exit-on-error", "--clean", "--if-exists", "--dbname",
                                     PQdb(conn), argv[0], NULL})
               : run_tool((char *[]){"pg_restore", "--no-password", "--single-transaction",
                                     "--exit-on-error", "--dbname", PQdb(conn), argv[0], NULL});
    if (rc != 0) {
        fprintf(stderr, "edlivectl: restore failed (pg_restore above): nothing was restored\n");
        PQfinish(conn);
        return 1;
    }
    printf("restore: %s restored into %s\n", argv[0], PQdb(conn));
    switch (record_audit_verify(conn, &check)) {
    case AUDIT_INTACT:
        printf("audit verify: OK, %lld rows, chain intact\n", check.rows);
        rc = 0;
        break;
    case AUDIT_BROKEN:
        printf("audit verify: FAILED at row %lld: %s\n", check.failed_at, check.why);
        rc = 3;
        break;
    case AUDIT_DB_ERROR:
        fprintf(stderr, "audit verify: cannot read the audit log\n");
        rc = 1;
        break;
    }
    PQfinish(conn);
    return rc;
}
