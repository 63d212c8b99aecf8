/* SPDX-License-Identifier: MIT */
/* doctor.c: `edlivectl doctor [cert.pem ...]` checks a deployment from the environment the
 * services read, one line per check ("ok", "warn" or "FAIL", its name, what was found), and
 * exits 1 when any check failed (0 with warnings):
 *   settings   edlivectl's own table, and each service's (`<service> --check-settings`, found
 *              next to edlivectl or on PATH; a service not installed here is a warning)
 *   postgres   EDLIVE_PG as the owner (owns the schema), EDLIVE_PG_APP as the services' role
 *              (must not be able to change the audit log)
 *   clock      this machine against PostgreSQL's now() and Redis TIME (round trip halved)
 *   redis      EDLIVE_REDIS answers PING, or with EDLIVE_REDIS_SENTINELS each Sentinel names
 *              the primary of EDLIVE_REDIS_MASTER and the primary answers
 *   migrations every sql/migrations file applied (migrate status)
 *   tls        EDLIVE_TLS_CERT and the files given: expired FAIL, within 30 days warn
 * It prints no patient data: it reads no clinical table. */
#include <hiredis/hiredis.h>
#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "pg.h"

extern char **environ;

/* Events carry the database's time and the pages compare it with their own; a clinical time
 * "in the future" is refused beyond 5 minutes. A certificate is renewed a month ahead. */
#define CLOCK_WARN_MS  1000
#define CLOCK_FAIL_MS  10000
#define CERT_WARN_DAYS 30

struct doctor {
    int fails, warns;
};

static void report(struct doctor *d, int level, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* level: 0 ok, 1 warn, 2 FAIL. */
static void report(struct doctor *d, int level, const char *check, const char *fmt, ...)
{
    static const char *const words[] = {"ok", "warn", "FAIL"};
    va_list ap;

    d->warns += level == 1;
    d->fails += level == 2;
    printf("%-4s  %-20s ", words[level], check);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static double now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/* ---- settings ---- */

/* The path of program: next to edlivectl in the build tree (build/services/<dir>/), next to it
 * when installed, or the bare name for PATH. */
static void find_program(const char *dir, const char *program, char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

    if (n > 0) {
        char *slash;
        self[n] = '\0';
        if ((slash = strrchr(self, '/'))) {
            *slash = '\0';
            snprintf(out, cap, "%s/../%s/%s", self, dir, program);
            if (access(out, X_OK) == 0)
                return;
            snprintf(out, cap, "%s/%s", self, program);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, cap, "%s", program);
}

static void check_service_settings(struct doctor *d, const char *dir, const char *program)
{
    char path[PATH_MAX + 64], check[40];
    char *argv[] = {path, "--check-settings", NULL};
    pid_t pid;
    int status;

    find_program(dir, program, path, sizeof path);
    snprintf(check, sizeof check, "settings %s", program);
    if (posix_spawnp(&pid, path, NULL, NULL, argv, environ) != 0) {
        report(d, 1, check, "%s not found here: its settings not checked", program);
        return;
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 127) {
        report(d, 1, check, "%s did not run: its settings not checked", program);
        return;
    }
    if (WEXITSTATUS(status) == 0)
        report(d, 0, check, "every setting valid");
    else
        report(d, 2, check, "a setting is invalid (%s's message above names it)", program);
}

/* ---- PostgreSQL ---- */

/* One value of a one-row query, copied into out; false on error. */
static bool query_text(PGconn *conn, const char *sql, char *out, size_t cap)
{
    PGresult *res = pg_query(conn, sql, 0, NULL);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

    if (ok)
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return ok;
}

static PGconn *connect_as(struct doctor *d, const char *check, const char *conninfo)
{
    PGconn *conn = pg_connect_once(conninfo);
    char *nl;

    if (conn && PQstatus(conn) == CONNECTION_OK)
        return conn;
    if (!conn) {
        report(d, 2, check, "out of memory");
        return NULL;
    }
    nl = strchr(PQerrorMessage(conn), '\n');
    if (nl)
        *nl = '\0';
    report(d, 2, check, "cannot connect: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return NULL;
}

/* The owner: migrate and every edlivectl command run as it; it owns schema_migrations. */
static PGconn *check_owner(struct doctor *d, const char *conninfo)
{
    PGconn *conn = connect_as(d, "postgres owner", conninfo);
    char user[128], owner[128] = "";

    if (!conn)
        return NULL;
    if (!query_text(conn, "SELECT current_user", user, sizeof user) ||
        !query_text(conn,
                    "SELECT coalesce((SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = "
                    "to_regclass('schema_migrations')), '')",
                    owner, sizeof owner)) {
        report(d, 2, "postgres owner", "connected, but cannot query: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    if (!owner[0])
        report(d, 1, "postgres owner",
               "connected as %s to %s on %s:%s; no schema yet (run edlivectl migrate)", user,
               PQdb(conn), PQhost(conn), PQport(conn));
    else if (strcmp(owner, user))
        report(d, 1, "postgres owner",
               "connected as %s, but the schema belongs to %s: EDLIVE_PG should be the owner", user,
               owner);
    else
        report(d, 0, "postgres owner", "connected as %s to %s on %s:%s", user, PQdb(conn),
               PQhost(conn), PQport(conn));
    return conn;
}

/* The services' role may append to the audit log but never change it (0011). */
static void check_app(struct doctor *d, const char *conninfo)
{
    PGconn *conn;
    char user[128], can_change[8];

    if (!conninfo) {
        report(d, 1, "postgres app role",
               "EDLIVE_PG_APP unset: the services' connection not checked");
        return;
    }
    if (!(conn = connect_as(d, "postgres app role", conninfo)))
        return;
    if (!query_text(conn, "SELECT current_user", user, sizeof user) ||
        !query_text(conn,
                    "SELECT CASE WHEN to_regclass('audit_log') IS NULL THEN 'none' WHEN "
                    "has_table_privilege('audit_log', 'UPDATE') OR "
                    "has_table_privilege('audit_log', 'DELETE') THEN 'yes' ELSE 'no' END",
                    can_change, sizeof can_change))
        report(d, 2, "postgres app role", "connected, but cannot query: %s", PQerrorMessage(conn));
    else if (!strcmp(can_change, "yes"))
        report(d, 2, "postgres app role",
               "connected as %s, which can UPDATE or DELETE the audit log: the services must "
               "run as edlive_app",
               user);
    else
        report(d, 0, "postgres app role", "connected as %s (audit log append-only for it)", user);
    PQfinish(conn);
}

/* The server's clock against this machine's, the round trip halved. */
static void check_pg_clock(struct doctor *d, PGconn *conn)
{
    char server[64];
    double before = now_ms(), after, skew;

    if (!query_text(conn, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::text", server,
                    sizeof server)) {
        report(d, 2, "clock postgres", "cannot read the server's clock");
        return;
    }
    after = now_ms();
    skew = atof(server) - (before + after) / 2;
    report(d,
           (skew > CLOCK_FAIL_MS || skew < -CLOCK_FAIL_MS)   ? 2
           : (skew > CLOCK_WARN_MS || skew < -CLOCK_WARN_MS) ? 1
                                                             : 0,
           "clock postgres", "PostgreSQL is %+.0f ms from this machine (warn beyond %d, fail %d)",
           skew, CLOCK_WARN_MS, CLOCK_FAIL_MS);
}

static void check_migrations(struct doctor *d, PGconn *conn)
{
    size_t pending, available;

    if (!ctl_migrations_pending(conn, config_text(&ctl_config, CTL_SQL_DIR), false, &pending,
                                &available))
        report(d, 2, "migrations", "cannot compare the database with %s/migrations",
               config_text(&ctl_config, CTL_SQL_DIR));
    else if (pending)
        report(d, 2, "migrations", "%zu of %zu pending: run edlivectl migrate", pending, available);
    else
        report(d, 0, "migrations", "current (%zu applied)", available);
}

/* ---- Redis ---- */

static redisContext *redis_at(const char *host, int port)
{
    struct timeval timeout = {2, 0};
    redisContext *c = redisConnectWithTimeout(host, port, timeout);

    if (c && !c->err)
        redisSetTimeout(c, timeout);
    return c;
}

/* PING and TIME on an open connection. */
static void check_redis_at(struct doctor *d, redisContext *c, const char *where)
{
    double before = now_ms(), after, skew;
    redisReply *r = redisCommand(c, "PING");
    bool pong = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");

    if (!pong) {
        report(d, 2, "redis", "Redis at %s does not answer PING: %s", where,
               r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        return;
    }
    freeReplyObject(r);
    report(d, 0, "redis", "Redis at %s answers", where);
    before = now_ms();
    r = redisCommand(c, "TIME");
    after = now_ms();
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        report(d, 2, "clock redis", "cannot read Redis TIME");
    } else {
        skew = atof(r->element[0]->str) * 1000 + atof(r->element[1]->str) / 1000 -
               (before + after) / 2;
        report(d,
               (skew > CLOCK_FAIL_MS || skew < -CLOCK_FAIL_MS)   ? 2
               : (skew > CLOCK_WARN_MS || skew < -CLOCK_WARN_MS) ? 1
                                                                 : 0,
               "clock redis", "Redis is %+.0f ms from this machine", skew);
    }
    if (r)
        freeReplyObject(r);
}

static void check_redis_direct(struct doctor *d)
{
    const char *host = config_host(&ctl_config, CTL_REDIS);
    int port = (int)config_number(&ctl_config, CTL_REDIS);
    char where[300];
    redisContext *c = redis_at(host, port);

    snprintf(where, sizeof where, "%s:%d (EDLIVE_REDIS)", host, port);
    if (!c || c->err)
        report(d, 2, "redis", "cannot connect to Redis at %s: %s", where,
               c ? c->errstr : "out of memory");
    else
        check_redis_at(d, c, where);
    if (c)
        redisFree(c);
}

/* EDLIVE_REDIS_SENTINELS (issue 14): each Sentinel is asked for the primary; the primary
 * named is then checked like EDLIVE_REDIS. Read from the environment as the services read it. */
static void check_sentinels(struct doctor *d, const char *list)
{
    const char *master = getenv("EDLIVE_REDIS_MASTER");
    char copy[1024], primary[300] = "", *save = NULL, *item;
    int answered = 0, total = 0;

    if (!master || !*master)
        master = "edlive";
    snprintf(copy, sizeof copy, "%s", list);
    for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(item, ':'), check[64];
        redisContext *c;
        redisReply *r;

        total++;
        snprintf(check, sizeof check, "redis sentinel");
        if (!colon) {
            report(d, 2, check, "%s is not host:port (EDLIVE_REDIS_SENTINELS)", item);
            continue;
        }
        *colon = '\0';
        c = redis_at(item, atoi(colon + 1));
        r = c && !c->err ? redisCommand(c, "SENTINEL get-master-addr-by-name %s", master) : NULL;
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            answered++;
            snprintf(primary, sizeof primary, "%s:%s", r->element[0]->str, r->element[1]->str);
            report(d, 0, check, "%s:%s names %s the primary of %s", item, colon + 1, primary,
                   master);
        } else {
            report(d, 1, check, "Sentinel %s:%s does not name the primary of %s", item, colon + 1,
                   master);
        }
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
    }
    if (!answered) {
        report(d, 2, "redis", "no Sentinel of %d named the primary of %s", total, master);
        return;
    }
    {
        char *colon = strrchr(primary, ':');
        redisContext *c;
        *colon = '\0';
        c = redis_at(primary, atoi(colon + 1));
        *colon = ':';
        if (!c || c->err)
            report(d, 2, "redis", "cannot connect to the primary %s: %s", primary,
                   c ? c->errstr : "out of memory");
        else
            check_redis_at(d, c, primary);
        if (c)
            redisFree(c);
    }
}

/* ---- TLS ---- */

static void check_certificate(struct doctor *d, const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    int days = 0, secs = 0;
    char check[40];

    snprintf(check, sizeof check, "tls certificate");
    if (f)
        fclose(f);
    if (!cert) {
        report(d, 2, check, "%s: %s", path, f ? "not a PEM certificate" : "cannot be read");
        return;
    }
    /* From now to notAfter: negative when it has expired. */
    if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)))
        report(d, 2, check, "%s: unreadable expiry date", path);
    else if (days < 0 || secs < 0)
        report(d, 2, check, "%s expired %d days ago", path, -days);
    else if (days < CERT_WARN_DAYS)
        report(d, 1, check, "%s expires in %d days (renew it: under %d)", path, days,
               CERT_WARN_DAYS);
    else
        report(d, 0, check, "%s valid for %d more days", path, days);
    X509_free(cert);
}

int ctl_doctor(PGconn *unused, int argc, char **argv)
{
    static const char *const services[][2] = {
        {"api", "ed-api"}, {"hub", "ed-hub"}, {"relay", "ed-relay"}, {"mllp", "ed-mllp"}};
    struct doctor d = {0};
    const char *sentinels = getenv("EDLIVE_REDIS_SENTINELS");
    PGconn *owner;

    (void)unused;
    for (int i = 0; i < argc; i++)
        if (argv[i][0] == '-') {
            fprintf(stderr, "usage: edlivectl doctor [cert.pem ...]  (not %s)\n", argv[i]);
            return 2;
        }
    if (!config_check(&ctl_config)) {
        report(&d, 2, "settings edlivectl", "a setting is invalid (the message above names it)");
        printf("doctor: %d FAIL, %d warn\n", d.fails, d.warns);
        return 1;
    }
    report(&d, 0, "settings edlivectl", "every setting valid");
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        check_service_settings(&d, services[i][0], services[i][1]);

    owner = check_owner(&d, config_text(&ctl_config, CTL_PG));
    check_app(&d, config_text(&ctl_config, CTL_PG_APP));
    if (owner) {
        check_pg_clock(&d, owner);
        check_migrations(&d, owner);
        PQfinish(owner);
    } else {
        report(&d, 2, "migrations", "not checked: no connection as the owner");
    }

    if (sentinels && *sentinels)
        check_sentinels(&d, sentinels);
    else
        check_redis_direct(&d);

    if (config_text(&ctl_config, CTL_TLS_CERT))
        check_certificate(&d, config_text(&ctl_config, CTL_TLS_CERT));
    for (int i = 0; i < argc; i++)
        check_certificate(&d, argv[i]);
    if (!config_text(&ctl_config, CTL_TLS_CERT) && argc == 0)
        report(&d, 0, "tls certificate", "none to check (EDLIVE_TLS_CERT unset, no file given)");

    printf("doctor: %d FAIL, %d warn\n", d.fails, d.warns);
    return d.fails ? 1 : 0;
}
