/* SPDX-License-Identifier: MIT */
/* ops.c: /healthz, /readyz and /metrics of every service (ops.h). One checker thread keeps
 * the readiness answer fresh (its own PostgreSQL and Redis connections, never the service's);
 * ops_serve adds a minimal HTTP/1.1 responder for the services without an HTTP server. */
#define _GNU_SOURCE /* pipe2 */
#include "ops.h"
#include "redis_target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <ifaddrs.h>
#include <libpq-fe.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "pg.h"

#ifndef EDLIVE_MIGRATIONS
#define EDLIVE_MIGRATIONS "" /* set by CMake: every sql/migrations file this build knows */
#endif

const double ops_bucket_bounds[OPS_BUCKET_COUNT] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1,    2.5,   5};

uint64_t ops_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t ops_wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ops_observe_us(struct ops_histogram *h, uint64_t us)
{
    int i = 0;

    while (i < OPS_BUCKET_COUNT && (double)us > ops_bucket_bounds[i] * 1e6)
        i++;
    if (i < OPS_BUCKET_COUNT)
        atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

/* ---- text ---- */

void ops_printf(struct ops_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->buf ? t->buf + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

void ops_family(struct ops_text *t, const char *name, const char *type, const char *help)
{
    ops_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void ops_sample(struct ops_text *t, const char *name, const char *labels, double value)
{
    if (labels && labels[0])
        ops_printf(t, "%s{%s} %.17g\n", name, labels, value);
    else
        ops_printf(t, "%s %.17g\n", name, value);
}

void ops_histogram_lines(struct ops_text *t, const char *name, const char *labels,
                         const struct ops_histogram *h)
{
    const char *sep = labels && labels[0] ? "," : "";
    uint64_t cumulative = 0, count = atomic_load_explicit(&h->count, memory_order_relaxed);

    if (!labels)
        labels = "";
    for (int i = 0; i < OPS_BUCKET_COUNT; i++) {
        cumulative += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        ops_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, ops_bucket_bounds[i],
                   (unsigned long long)cumulative);
    }
    /* Read apart from the buckets: +Inf must not be below the last bucket. */
    if (count < cumulative)
        count = cumulative;
    ops_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
               (unsigned long long)count);
    ops_printf(t, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
               (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
    ops_printf(t, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
               (unsigned long long)count);
}

void ops_label(char *out, size_t cap, const char *key, const char *value)
{
    size_t n = 0;
    int k = snprintf(out, cap, "%s=\"", key);

    if (k < 0 || (size_t)k >= cap) {
        if (cap)
            out[0] = '\0';
        return;
    }
    n = (size_t)k;
    for (const char *p = value; *p && n + 4 < cap; p++) {
        if (*p == '\\' || *p == '"') {
            out[n++] = '\\';
            out[n++] = *p;
        } else if (*p == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *p;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
}

/* ---- readiness ---- */

enum ops_check { CHECK_POSTGRESQL, CHECK_MIGRATIONS, CHECK_REDIS, CHECK_COUNT };
static const char *const check_names[CHECK_COUNT] = {"postgresql", "migrations", "redis"};

static struct {
    struct ops_service service;
    bool started;
    pthread_t checker, server;
    bool server_running;
    int stop_pipe[2];
    pthread_mutex_t lock; /* guards ready_body, ready, check_ok */
    pthread_cond_t wake;
    bool stopping;
    char *ready_body;
    bool ready;
    bool check_ok[CHECK_COUNT];
    uint64_t checked_us; /* when the last round ended (ops_now_us) */
    int64_t start_wall_us;
    int listen_fd;
} ops = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .listen_fd = -1};

/* The service's name; "unknown" before ops_start (a unit test). */
static const char *service_name(void)
{
    return ops.service.name ? ops.service.name : "unknown";
}

struct check_state {
    PGconn *pg;
    redisContext *redis;
    struct redis_target *target; /* EDLIVE_REDIS, or the primary the Sentinels name */
};

static json_t *check_result(bool ok, const char *error)
{
    json_t *o = json_pack("{s:b}", "ok", ok);

    if (!ok && error)
        json_object_set_new(o, "error", json_string(error));
    return o;
}

/* The last line of a libpq message, without its newline (no patient data: connection text). */
static void pg_error_text(PGconn *conn, char *out, size_t cap)
{
    const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
    size_t n;

    snprintf(out, cap, "%s", msg && msg[0] ? msg : "unreachable");
    n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
}

static void check_postgresql(struct check_state *st, json_t *checks, bool *ok)
{
    char error[256] = "";
    PGresult *res;
    const char *params[1] = {EDLIVE_MIGRATIONS};

    if (!st->pg || PQstatus(st->pg) != CONNECTION_OK || !pg_idle_alive(st->pg)) {
        /* Bounded, so that a PostgreSQL that does not answer reads as down within seconds:
         * connect_timeout and statement_timeout after the service's own connection string. */
        static const char *const keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *values[] = {ops.service.pg, "2", "-c statement_timeout=2000", NULL};
        if (st->pg)
            PQfinish(st->pg);
        st->pg = PQconnectdbParams(keys, values, 1);
        if (st->pg)
            PQsetNoticeProcessor(st->pg, pg_log_notice, NULL);
    }
    if (!st->pg || PQstatus(st->pg) != CONNECTION_OK) {
        pg_error_text(st->pg, error, sizeof error);
        json_object_set_new(checks, "postgresql", check_result(false, error));
        json_object_set_new(checks, "migrations", check_result(false, "PostgreSQL unreachable"));
        ok[CHECK_POSTGRESQL] = ok[CHECK_MIGRATIONS] = false;
        return;
    }
    ok[CHECK_POSTGRESQL] = true;
    json_object_set_new(checks, "postgresql", check_result(true, NULL));
    /* The migrations this build knows that the schema lacks, and the newest it has. */
    res = PQexecParams(st->pg,
                       "SELECT (SELECT max(name) FROM schema_migrations),"
                       " (SELECT coalesce(string_agg(m, ',' ORDER BY m), '')"
                       "  FROM unnest(string_to_array($1, ',')) m"
                       "  WHERE m NOT IN (SELECT name FROM schema_migrations))",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_error_text(st->pg, error, sizeof error);
        json_object_set_new(checks, "migrations", check_result(false, error));
        ok[CHECK_MIGRATIONS] = false;
    } else {
        const char *missing = PQgetvalue(res, 0, 1);
        json_t *o = check_result(!missing[0], NULL);
        json_object_set_new(o, "applied", json_string(PQgetvalue(res, 0, 0)));
        if (missing[0]) {
            json_t *list = json_array();
            char *copy = strdup(missing), *save = NULL;
            for (char *m = copy ? strtok_r(copy, ",", &save) : NULL; m;
                 m = strtok_r(NULL, ",", &save))
                json_array_append_new(list, json_string(m));
            free(copy);
            json_object_set_new(o, "missing", list);
            json_object_set_new(o, "error",
                                json_string("migrations not applied: run edlivectl migrate"));
        }
        json_object_set_new(checks, "migrations", o);
        ok[CHECK_MIGRATIONS] = !missing[0];
    }
    PQclear(res);
    if (PQstatus(st->pg) != CONNECTION_OK) {
        PQfinish(st->pg);
        st->pg = NULL;
    }
}

static void check_redis(struct check_state *st, json_t *checks, bool *ok)
{
    const struct timeval timeout = {1, 0};
    redisReply *reply = NULL;
    char error[256] = "";

    if (!st->target)
        st->target = redis_target_new(ops.service.redis_host, ops.service.redis_port,
                                      ops.service.redis_sentinels, ops.service.redis_master);
    /* After a failover the check follows the new primary, as the service itself does. */
    if (st->redis && st->target && !redis_target_still_primary(st->target)) {
        redisFree(st->redis);
        st->redis = NULL;
    }
    if (!st->redis && st->target) {
        st->redis = redis_target_connect(st->target, timeout, error, sizeof error);
        if (!st->redis && !error[0])
            snprintf(error, sizeof error, "no connection");
    }
    if (st->redis && !st->redis->err)
        reply = redisCommand(st->redis, "PING");
    ok[CHECK_REDIS] = reply && reply->type == REDIS_REPLY_STATUS;
    if (!ok[CHECK_REDIS]) {
        if (st->redis) /* else error says why the connect failed */
            snprintf(error, sizeof error, "%s",
                     st->redis->err        ? st->redis->errstr
                     : reply && reply->str ? reply->str
                                           : "no answer to PING");
        else if (!st->target)
            snprintf(error, sizeof error, "out of memory");
        redisFree(st->redis);
        st->redis = NULL;
    }
    if (reply)
        freeReplyObject(reply);
    json_object_set_new(checks, "redis", check_result(ok[CHECK_REDIS], error));
}

static void check_once(struct check_state *st)
{
    bool ok[CHECK_COUNT] = {true, true, true}, ready = true;
    json_t *checks = json_object(), *failed = json_array(), *doc;
    char *body;

    if (ops.service.pg)
        check_postgresql(st, checks, ok);
    if (ops.service.redis_host)
        check_redis(st, checks, ok);
    if (ops.service.probe)
        ops.service.probe(ok[CHECK_POSTGRESQL] ? st->pg : NULL,
                          ops.service.redis_host && ok[CHECK_REDIS] ? st->redis : NULL,
                          ops.service.user);
    for (int i = 0; i < CHECK_COUNT; i++)
        if (!ok[i]) {
            ready = false;
            json_array_append_new(failed, json_string(check_names[i]));
        }
    doc = json_pack("{s:s,s:b,s:o,s:o}", "service", service_name(), "ready", ready, "failed",
                    failed, "checks", checks);
    body = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    pthread_mutex_lock(&ops.lock);
    if (body) {
        free(ops.ready_body);
        ops.ready_body = body;
        ops.ready = ready;
        ops.checked_us = ops_now_us();
        memcpy(ops.check_ok, ok, sizeof ok);
    }
    pthread_mutex_unlock(&ops.lock);
}

static void *checker_main(void *arg)
{
    struct check_state st = {0};
    struct timespec until;

    (void)arg;
    pthread_mutex_lock(&ops.lock);
    while (!ops.stopping) {
        pthread_mutex_unlock(&ops.lock);
        check_once(&st);
        pthread_mutex_lock(&ops.lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += OPS_CHECK_INTERVAL_MS / 1000;
        until.tv_nsec += (OPS_CHECK_INTERVAL_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!ops.stopping)
            pthread_cond_timedwait(&ops.wake, &ops.lock, &until);
    }
    pthread_mutex_unlock(&ops.lock);
    if (st.pg)
        PQfinish(st.pg);
    if (st.redis)
        redisFree(st.redis);
    redis_target_free(st.target);
    return NULL;
}

bool ops_start(const struct ops_service *service)
{
    ops.service = *service;
    ops.start_wall_us = ops_wall_us();
    ops.ready_body = NULL;
    if (pthread_create(&ops.checker, NULL, checker_main, NULL) != 0) {
        log_error("cannot start the readiness checker thread");
        return false;
    }
    ops.started = true;
    return true;
}

/* ---- answers ---- */

static bool path_is(const char *path, const char *want)
{
    size_t n = strlen(want);

    return !strncmp(path, want, n) && (path[n] == '\0' || path[n] == '?');
}

bool ops_is_ops_path(const char *path)
{
    return path_is(path, "/healthz") || path_is(path, "/readyz") || path_is(path, "/metrics");
}

static void common_metrics(struct ops_text *t)
{
    char labels[160];
    bool ok[CHECK_COUNT];
    bool checked;

    pthread_mutex_lock(&ops.lock);
    memcpy(ok, ops.check_ok, sizeof ok);
    checked = ops.ready_body != NULL;
    pthread_mutex_unlock(&ops.lock);
    ops_label(labels, sizeof labels, "service", service_name());
    ops_family(t, "edlive_build_info", "gauge",
               "the service and the newest migration it was built for (always 1)");
    ops_printf(t, "edlive_build_info{%s,schema=\"%s\"} 1\n", labels,
               strrchr("," EDLIVE_MIGRATIONS, ',') + 1);
    ops_family(t, "edlive_start_time_seconds", "gauge",
               "when the process started (Unix time, seconds)");
    ops_sample(t, "edlive_start_time_seconds", NULL, (double)(ops.start_wall_us / 1000000));
    ops_family(t, "edlive_ready", "gauge",
               "1 when the readiness check passes (last checked within a second or two), by check");
    for (int i = 0; i < CHECK_COUNT; i++) {
        if ((i == CHECK_REDIS && !ops.service.redis_host) || (i != CHECK_REDIS && !ops.service.pg))
            continue;
        ops_printf(t, "edlive_ready{check=\"%s\"} %d\n", check_names[i], checked && ok[i]);
    }
}

bool ops_answer(const char *path, struct ops_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    reply->content_type = "application/json";
    if (path_is(path, "/healthz")) {
        reply->status = 200;
        reply->content_type = "text/plain; charset=utf-8";
        reply->body = strdup("ok\n");
    } else if (path_is(path, "/readyz")) {
        bool stale;
        pthread_mutex_lock(&ops.lock);
        /* A round that has not ended for this long hangs on a connection: not ready. */
        stale = ops.ready_body && ops_now_us() - ops.checked_us > OPS_STALE_US;
        reply->status = ops.ready_body && ops.ready && !stale ? 200 : 503;
        reply->body = ops.ready_body && !stale ? strdup(ops.ready_body) : NULL;
        pthread_mutex_unlock(&ops.lock);
        if (!reply->body && reply->status == 503) {
            json_t *doc = json_pack("{s:s,s:b,s:[s],s:{}}", "service", service_name(), "ready",
                                    false, "failed", stale ? "stalled" : "starting", "checks");
            reply->body = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            json_decref(doc);
        }
    } else if (path_is(path, "/metrics")) {
        struct ops_text t = {0};
        common_metrics(&t);
        if (ops.service.metrics)
            ops.service.metrics(&t, ops.service.user);
        reply->status = t.failed ? 500 : 200;
        reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
        reply->body = t.failed ? NULL : t.buf;
        if (t.failed)
            free(t.buf);
    } else {
        return false;
    }
    if (!reply->body) {
        reply->status = 500;
        reply->content_type = "text/plain; charset=utf-8";
        reply->body = strdup("out of memory\n");
    }
    reply->len = reply->body ? strlen(reply->body) : 0;
    return true;
}

/* ---- the responder of ed-relay and ed-mllp ---- */

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void send_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* One request per connection (Connection: close): enough for a probe or a scrape. */
static void serve_one(int fd)
{
    const struct timeval timeout = {2, 0};
    char req[2048], path[256], head[256];
    size_t got = 0;
    struct ops_reply reply = {0};
    bool get;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    while (got < sizeof req - 1) {
        ssize_t n = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';
    get = !strncmp(req, "GET ", 4);
    if (sscanf(req, "%*s %255s", path) != 1)
        return;
    if (!get || !ops_answer(path, &reply)) {
        reply.status = get ? 404 : 405;
        reply.content_type = "text/plain; charset=utf-8";
        reply.body = strdup(get ? "not found: /healthz, /readyz, /metrics\n" : "GET only\n");
        reply.len = reply.body ? strlen(reply.body) : 0;
    }
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
                     reply.status, reason_of(reply.status), reply.content_type, reply.len,
                     reply.status == 405 ? "Allow: GET\r\n" : "");
    send_all(fd, head, (size_t)n);
    if (reply.body && strncmp(req, "HEAD ", 5))
        send_all(fd, reply.body, reply.len);
    free(reply.body);
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd fds[2] = {{ops.listen_fd, POLLIN, 0}, {ops.stop_pipe[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        if (fds[0].revents & POLLIN) {
            int fd = accept(ops.listen_fd, NULL, NULL);
            if (fd >= 0) {
                serve_one(fd);
                close(fd);
            }
        }
    }
    return NULL;
}

/* iface as a socket address: an address literal, or the first address of an interface. */
static bool listen_address(const char *iface, int port, struct sockaddr_storage *out,
                           socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    struct ifaddrs *list, *a;
    bool found = false;

    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, iface, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return true;
    }
    if (inet_pton(AF_INET6, iface, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return true;
    }
    if (getifaddrs(&list) != 0)
        return false;
    for (a = list; a && !found; a = a->ifa_next) {
        if (!a->ifa_addr || strcmp(a->ifa_name, iface))
            continue;
        if (a->ifa_addr->sa_family == AF_INET) {
            memcpy(v4, a->ifa_addr, sizeof *v4);
            v4->sin_port = htons((uint16_t)port);
            *len = sizeof *v4;
            found = true;
        } else if (a->ifa_addr->sa_family == AF_INET6) {
            memcpy(v6, a->ifa_addr, sizeof *v6);
            v6->sin6_port = htons((uint16_t)port);
            *len = sizeof *v6;
            found = true;
        }
    }
    freeifaddrs(list);
    return found;
}

bool ops_serve(const char *iface, int port)
{
    struct sockaddr_storage addr;
    socklen_t len;
    int one = 1;

    if (!listen_address(iface, port, &addr, &len)) {
        log_error("operations port: %s is neither an address nor an interface with one", iface);
        return false;
    }
    ops.listen_fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ops.listen_fd < 0 ||
        setsockopt(ops.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(ops.listen_fd, (struct sockaddr *)&addr, len) != 0 || listen(ops.listen_fd, 16) != 0 ||
        pipe2(ops.stop_pipe, O_CLOEXEC) != 0) {
        log_error("cannot listen on %s:%d for /healthz, /readyz, /metrics: %s (port in use?)",
                  iface, port, strerror(errno));
        if (ops.listen_fd >= 0)
            close(ops.listen_fd);
        ops.listen_fd = -1;
        return false;
    }
    if (pthread_create(&ops.server, NULL, server_main, NULL) != 0) {
        log_error("cannot start the operations thread");
        return false;
    }
    ops.server_running = true;
    log_info("operations: http://%s:%d/healthz, /readyz, /metrics", iface, port);
    return true;
}

void ops_stop(void)
{
    if (ops.server_running) {
        if (write(ops.stop_pipe[1], "x", 1) < 0)
            log_warn("cannot wake the operations thread");
        pthread_join(ops.server, NULL);
        close(ops.listen_fd);
        close(ops.stop_pipe[0]);
        close(ops.stop_pipe[1]);
        ops.server_running = false;
    }
    if (ops.started) {
        pthread_mutex_lock(&ops.lock);
        ops.stopping = true;
        pthread_cond_signal(&ops.wake);
        pthread_mutex_unlock(&ops.lock);
        pthread_join(ops.checker, NULL);
        ops.started = false;
    }
    pthread_mutex_lock(&ops.lock);
    free(ops.ready_body);
    ops.ready_body = NULL;
    pthread_mutex_unlock(&ops.lock);
}
