/* SPDX-License-Identifier: MIT */
/* setup.c: before the clock starts: signing in, the departments (created through PostgreSQL
 * when the user has fewer than asked), the load's own encounters (arrivals through the API) and
 * the beds bed moves may use. Everything here is blocking: nothing is being measured yet. */
#include "edload_run.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- a blocking keep-alive HTTP client for the set-up requests ---------------------------- */

static int api_fd = -1;

static bool api_connect(void)
{
    if (api_fd >= 0)
        return true;
    api_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (api_fd < 0)
        return false;
    int one = 1;
    setsockopt(api_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(api_fd, (struct sockaddr *)&run.api_addr, sizeof run.api_addr) != 0) {
        fprintf(stderr, "edload: cannot connect to the API at %s: %s\n", opt.api, strerror(errno));
        close(api_fd);
        api_fd = -1;
        return false;
    }
    return true;
}

static void api_close(void)
{
    if (api_fd >= 0)
        close(api_fd);
    api_fd = -1;
}

json_t *api_call(const char *method, const char *path, json_t *body, int *status)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    *status = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!api_connect())
            break;
        char head[1024];
        int hn = snprintf(head, sizeof head,
                          "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%sContent-Length: %zu\r\n%s\r\n",
                          method, path, run.api_host, run.token[0] ? "Authorization: Bearer " : "",
                          run.token, run.token[0] ? "\r\n" : "", text ? strlen(text) : 0,
                          text ? "Content-Type: application/json\r\n" : "");
        if (send(api_fd, head, (size_t)hn, MSG_NOSIGNAL) != hn ||
            (text && send(api_fd, text, strlen(text), MSG_NOSIGNAL) != (ssize_t)strlen(text))) {
            api_close();
            continue; /* a keep-alive connection the server closed: once more on a new one */
        }
        size_t cap = 64 * 1024, len = 0;
        char *buf = xmalloc(cap);
        struct http_response resp;
        int rc = 0;
        while (rc == 0) {
            if (len + 1 >= cap)
                buf = xrealloc(buf, cap *= 2);
            ssize_t n = recv(api_fd, buf + len, cap - len - 1, 0);
            if (n <= 0) {
                rc = -2;
                break;
            }
            len += (size_t)n;
            rc = http_response_parse(buf, len, &resp);
        }
        if (rc != 1) {
            free(buf);
            api_close();
            if (rc == -2 && len == 0)
                continue;
            break;
        }
        if (resp.close_after)
            api_close();
        *status = resp.status;
        json_t *out = json_loadb(buf + resp.body_off, resp.body_len, 0, NULL);
        free(buf);
        free(text);
        return out;
    }
    free(text);
    return NULL;
}

/* ---- signing in --------------------------------------------------------------------------- */

static bool sign_in(void)
{
    const char *env_token = opt.token_env ? getenv(opt.token_env) : NULL;
    int status;
    if (env_token && *env_token) {
        snprintf(run.token, sizeof run.token, "%s", env_token);
    } else {
        json_t *body = json_pack("{s:s, s:s}", "username", opt.user, "password", opt.password);
        run.token[0] = '\0';
        json_t *ans = api_call("POST", "/api/v1/session", body, &status);
        json_decref(body);
        const char *tok = json_string_value(json_object_get(ans, "token"));
        if (status != 201 || !tok) {
            fprintf(stderr, "edload: sign-in of %s failed (HTTP %d)\n", opt.user, status);
            json_decref(ans);
            return false;
        }
        snprintf(run.token, sizeof run.token, "%s", tok);
        json_decref(ans);
    }
    json_t *me = api_call("GET", "/api/v1/session", NULL, &status);
    run.staff_id = json_integer_value(json_object_get(me, "staff_id"));
    json_decref(me);
    if (status != 200 || run.staff_id <= 0) {
        fprintf(
            stderr,
            "edload: GET /api/v1/session answered %d without a staff_id: the user must be staff\n",
            status);
        return false;
    }
    return true;
}

/* ---- departments ---------------------------------------------------------------------------- */

/* The load's departments (code LOADnn) the user may see, by id; returns how many (at most max). */
static int scope_departments(long long *ids, char codes[][20], int max)
{
    int status;
    json_t *ans = api_call("GET", "/api/v1/departments", NULL, &status);
    json_t *list = json_object_get(ans, "departments");
    int n = 0;
    size_t i;
    json_t *d;
    json_array_foreach (list, i, d) {
        const char *code = json_string_value(json_object_get(d, "code"));
        if (n == max)
            break;
        /* Only the load's own departments: a run never writes into the demo ED or a real one
         * (tests that read the demo board after a load run would find its beds taken). */
        if (!code || strncmp(code, "LOAD", 4) != 0)
            continue;
        ids[n] = json_integer_value(json_object_get(d, "id"));
        snprintf(codes[n], 20, "%s", code);
        n++;
    }
    json_decref(ans);
    return status == 200 ? n : -1;
}

static PGresult *pg_exec(PGconn *pg, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fprintf(stderr, "edload: PostgreSQL: %s", PQerrorMessage(pg));
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Creates LOADnn departments (with beds) and adds the user's staff record to them until the
 * user has `want` departments. One transaction. */
static bool create_departments(int have, int want)
{
    const char *conninfo = opt.pg ? opt.pg : getenv("EDLIVE_PG_OWNER");
    if (!conninfo) {
        fprintf(stderr,
                "edload: %d department(s) asked, the user has %d; to create the others give --pg "
                "CONNINFO (the database owner's connection, or EDLIVE_PG_OWNER)\n",
                want, have);
        return false;
    }
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "edload: PostgreSQL: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return false;
    }
    bool ok = true;
    PQclear(pg_exec(pg, "BEGIN", 0, NULL));
    char staff[24];
    snprintf(staff, sizeof staff, "%lld", run.staff_id);
    for (int k = 1; have < want && ok; k++) {
        char code[20], name[64];
        snprintf(code, sizeof code, "LOAD%02d", k);
        snprintf(name, sizeof name, "edload department %d", k);
        const char *p1[] = {code, name};
        /* An existing LOADnn is reused (with its beds); a new one gets 16 beds and a waiting
         * room. Departments the user already sees are skipped. */
        PGresult *res = pg_exec(pg,
                                "WITH found AS (SELECT id FROM department WHERE code = $1), "
                                "made AS (INSERT INTO department (code, name, timezone) "
                                "  SELECT $1, $2, 'UTC' WHERE NOT EXISTS (SELECT 1 FROM found) "
                                "  RETURNING id) "
                                "SELECT id, true FROM made UNION ALL SELECT id, false FROM found",
                                2, p1);
        if (!res) {
            ok = false;
            break;
        }
        const char *dept = PQgetvalue(res, 0, 0);
        bool made = PQgetvalue(res, 0, 1)[0] == 't';
        char dept_id[24];
        snprintf(dept_id, sizeof dept_id, "%s", dept);
        PQclear(res);
        if (made) {
            const char *p2[] = {dept_id};
            res = pg_exec(pg,
                          "INSERT INTO bed (department_id, label, area, sort_order) "
                          "SELECT $1::bigint, 'L' || g, 'acute', g FROM generate_series(1, 16) g "
                          "UNION ALL SELECT $1::bigint, 'LWR', 'waiting_room', 99",
                          1, p2);
            ok = res != NULL;
            PQclear(res);
        }
        const char *p3[] = {staff, dept_id};
        res = pg_exec(pg,
                      "INSERT INTO staff_department (staff_id, department_id) VALUES ($1::bigint, "
                      "$2::bigint) "
                      "ON CONFLICT DO NOTHING RETURNING staff_id",
                      2, p3);
        if (!res) {
            ok = false;
            break;
        }
        if (PQntuples(res) == 1)
            have++; /* newly in scope (one already in scope was counted by the caller) */
        PQclear(res);
    }
    PQclear(pg_exec(pg, ok ? "COMMIT" : "ROLLBACK", 0, NULL));
    PQfinish(pg);
    return ok;
}

/* ---- the load's encounters and beds -----------------------------------------------------------
 */

static bool is_load_row(json_t *row)
{
    const char *mrn = json_string_value(json_object_get(json_object_get(row, "patient"), "mrn"));
    return mrn && strncmp(mrn, "EDLOAD-", 7) == 0;
}

static json_t *get_board(long long dept_id)
{
    char path[64];
    int status;
    snprintf(path, sizeof path, "/api/v1/departments/%lld/board", dept_id);
    json_t *board = api_call("GET", path, NULL, &status);
    if (status != 200) {
        fprintf(stderr, "edload: GET %s answered %d\n", path, status);
        json_decref(board);
        return NULL;
    }
    return board;
}

static bool prepare_department(struct dept *d, int want_encounters)
{
    json_t *board = get_board(d->id);
    if (!board)
        return false;
    int have = 0;
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get(board, "encounters"), i, row)
        have += is_load_row(row);
    json_decref(board);
    for (int k = have; k < want_encounters; k++) {
        char mrn[64], path[64];
        snprintf(mrn, sizeof mrn, "EDLOAD-%s-%lld-%d", d->code, (long long)time(NULL), k);
        for (char *p = mrn; *p; p++)
            if (*p == '_')
                *p = '-';
        /* Names no log line holds by chance: deploy/local/test fails a run whose service logs
         * contain any patient's name as a word (so not "Test" or "Load"). */
        json_t *body =
            json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s}", "patient", "mrn", mrn,
                      "family_name", "Edload", "given_name", "Loadgen", "birth_date", "1970-01-01",
                      "sex", "unknown", "arrival_mode", "walk_in", "chief_complaint", "edload");
        int status;
        snprintf(path, sizeof path, "/api/v1/departments/%lld/arrivals", d->id);
        json_t *ans = api_call("POST", path, body, &status);
        json_decref(body);
        json_decref(ans);
        if (status != 201) {
            fprintf(stderr, "edload: arrival in department %lld answered %d\n", d->id, status);
            return false;
        }
    }
    /* The board again: the load's encounters, the beds, and the seq the run starts from. */
    board = get_board(d->id);
    if (!board)
        return false;
    d->base_seq = json_integer_value(json_object_get(board, "seq"));
    d->encs = xcalloc((size_t)want_encounters, sizeof *d->encs);
    json_t *beds = json_object_get(board, "beds");
    json_array_foreach (json_object_get(board, "encounters"), i, row) {
        if (!is_load_row(row) || d->nencs == want_encounters)
            continue;
        struct enc *e = &d->encs[d->nencs++];
        e->id = json_integer_value(json_object_get(row, "encounter_id"));
        e->bed_id = json_integer_value(json_object_get(json_object_get(row, "bed"), "id"));
        e->bed_phase = e->bed_id ? BED_IN : BED_NONE;
        e->status_step = (int)(e->id % 3);
    }
    /* A bed for each encounter not in one: free or being cleaned, in a treatment area, and held
     * by no other patient. */
    json_t *bed;
    int next = 0;
    json_array_foreach (beds, i, bed) {
        const char *area = json_string_value(json_object_get(bed, "area"));
        const char *status = json_string_value(json_object_get(bed, "status"));
        if (!area || !status || !strcmp(area, "waiting_room") || !strcmp(area, "hallway") ||
            !strcmp(status, "occupied"))
            continue;
        while (next < d->nencs && d->encs[next].bed_id)
            next++;
        if (next == d->nencs)
            break;
        d->encs[next].bed_id = json_integer_value(json_object_get(bed, "id"));
        d->encs[next].bed_phase = !strcmp(status, "cleaning") ? BED_CLEANING : BED_WAITING;
    }
    json_decref(board);
    if (d->nencs < want_encounters) {
        fprintf(stderr,
                "edload: department %lld has %d of the load's encounters after the arrivals\n",
                d->id, d->nencs);
        return false;
    }
    return true;
}

bool setup_run(void)
{
    if (opt.no_api) {
        /* No sign-in; a token from --token-env is still sent at the upgrade. */
        const char *env_token = opt.token_env ? getenv(opt.token_env) : NULL;
        if (env_token)
            snprintf(run.token, sizeof run.token, "%s", env_token);
        run.ndepts = opt.departments;
        run.depts = xcalloc((size_t)run.ndepts, sizeof *run.depts);
        for (int i = 0; i < run.ndepts; i++) {
            run.depts[i].id = i + 1;
            snprintf(run.depts[i].code, sizeof run.depts[i].code, "D%d", i + 1);
        }
        return true;
    }
    if (!sign_in())
        return false;
    long long ids[HUB_DEPTS_MAX];
    char codes[HUB_DEPTS_MAX][20];
    int n = scope_departments(ids, codes, HUB_DEPTS_MAX);
    if (n < 0)
        return false;
    if (n < opt.departments) {
        if (!create_departments(n, opt.departments))
            return false;
        n = scope_departments(ids, codes, HUB_DEPTS_MAX);
        if (n < opt.departments) {
            fprintf(stderr,
                    "edload: the user sees %d department(s) after creating them, %d asked\n", n,
                    opt.departments);
            return false;
        }
    }
    run.ndepts = opt.departments;
    run.depts = xcalloc((size_t)run.ndepts, sizeof *run.depts);
    /* Encounters per department: enough for every closed-loop writer to have its own. */
    int per_dept = opt.encounters;
    if (opt.writers_closed > 0) {
        int need = (opt.writers_closed + run.ndepts - 1) / run.ndepts;
        if (need > per_dept)
            per_dept = need;
    }
    for (int i = 0; i < run.ndepts; i++) {
        struct dept *d = &run.depts[i];
        d->id = ids[i];
        memcpy(d->code, codes[i], sizeof d->code);
        d->code[sizeof d->code - 1] = '\0';
        if (!prepare_department(d, per_dept))
            return false;
    }
    api_close();
    return true;
}

/* Every figure of the run depends on these addresses: ws://HOST:PORT/PATH and http://HOST:PORT. */
static bool parse_url(const char *url, const char *scheme, char *host, size_t host_cap, int *port,
                      char *path, size_t path_cap, struct sockaddr_in *addr)
{
    size_t sl = strlen(scheme);
    if (strncmp(url, scheme, sl) != 0)
        return false;
    const char *h = url + sl;
    const char *slash = strchr(h, '/');
    const char *colon = memchr(h, ':', slash ? (size_t)(slash - h) : strlen(h));
    const char *hend = colon ? colon : slash ? slash : h + strlen(h);
    if ((size_t)(hend - h) >= host_cap || hend == h)
        return false;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    *port = colon ? atoi(colon + 1) : 80;
    snprintf(path, path_cap, "%s", slash ? slash : "/");
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return false;
    *addr = *(struct sockaddr_in *)res->ai_addr;
    addr->sin_port = htons((uint16_t)*port);
    freeaddrinfo(res);
    return true;
}

bool parse_targets(void)
{
    char path[256];
    int port;
    if (!parse_url(opt.hub, "ws://", run.hub_host, sizeof run.hub_host, &port, run.hub_path,
                   sizeof run.hub_path, &run.hub_addr)) {
        fprintf(stderr, "edload: --hub must be ws://HOST:PORT/PATH (got %s)\n", opt.hub);
        return false;
    }
    run.hub_port = port;
    if (!opt.no_api && !parse_url(opt.api, "http://", run.api_host, sizeof run.api_host, &port,
                                  path, sizeof path, &run.api_addr)) {
        fprintf(stderr, "edload: --api must be http://HOST:PORT (got %s)\n",
                opt.api ? opt.api : "nothing");
        return false;
    }
    return true;
}
