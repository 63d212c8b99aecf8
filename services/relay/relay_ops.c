/* SPDX-License-Identifier: MIT */
/* relay_ops.c: ed-relay's /healthz, /readyz and /metrics (common/ops.h) on a port of its own.
 * The lag and the stream lengths are sampled once a second on the checker thread, with its
 * own connections, so they are right even while this relay is a standby or cannot relay. */
#include <stdio.h>

#include "record.h"
#include "redis_pub.h"
#include "relay.h"

/* Departments sampled; more are summed into the total but get no series of their own. */
#define RELAY_OPS_DEPARTMENTS 64

static struct {
    _Atomic int count;
    struct {
        _Atomic long long department_id;
        struct ops_gauge lag;        /* last_seq - relayed_seq */
        struct ops_gauge stream_len; /* XLEN of its stream; -1 when Redis was not reachable */
    } dept[RELAY_OPS_DEPARTMENTS];
    struct ops_gauge lag_total;
    struct ops_gauge sampled; /* 1 when the last sample reached PostgreSQL */
} sample;

struct probe_walk {
    redisContext *redis;
    int n;
    long long total;
};

static bool probe_department(void *ctx, long long dept, long long top, long long relayed)
{
    struct probe_walk *w = ctx;
    long long lag = top > relayed ? top - relayed : 0;
    long long len = -1;

    w->total += lag;
    if (w->n >= RELAY_OPS_DEPARTMENTS)
        return true;
    if (w->redis) {
        char key[64];
        redisReply *reply;
        snprintf(key, sizeof key, REDIS_STREAM_KEY_FMT, dept);
        reply = redisCommand(w->redis, "XLEN %s", key);
        if (reply && reply->type == REDIS_REPLY_INTEGER)
            len = reply->integer;
        if (reply)
            freeReplyObject(reply);
    }
    atomic_store_explicit(&sample.dept[w->n].department_id, dept, memory_order_relaxed);
    ops_gauge_set(&sample.dept[w->n].lag, lag);
    ops_gauge_set(&sample.dept[w->n].stream_len, len);
    w->n++;
    return true;
}

static void probe(PGconn *pg, redisContext *redis, void *user)
{
    struct probe_walk w = {redis, 0, 0};

    (void)user;
    if (!pg || record_outbox_lag(pg, probe_department, &w) < 0) {
        ops_gauge_set(&sample.sampled, 0);
        return;
    }
    atomic_store_explicit(&sample.count, w.n, memory_order_relaxed);
    ops_gauge_set(&sample.lag_total, w.total);
    ops_gauge_set(&sample.sampled, 1);
}

static void metrics(struct ops_text *t, void *user)
{
    struct relay *r = user;
    int n = atomic_load_explicit(&sample.count, memory_order_relaxed);
    char labels[64];

    ops_family(t, "edlive_relay_events_relayed_total", "counter",
               "events this relay put on the Redis streams");
    ops_sample(t, "edlive_relay_events_relayed_total", NULL, (double)ops_read(&r->relayed));
    ops_family(t, "edlive_relay_rounds_failed_total", "counter",
               "relay rounds that failed on PostgreSQL or Redis (retried)");
    ops_sample(t, "edlive_relay_rounds_failed_total", NULL, (double)ops_read(&r->rounds_failed));
    ops_family(t, "edlive_relay_active", "gauge",
               "1 when this relay holds the relay lock (active), 0 on a standby");
    ops_sample(t, "edlive_relay_active", NULL, (double)ops_gauge_read(&r->active));
    ops_family(t, "edlive_relay_lag_sampled", "gauge",
               "1 when the last lag sample (every second) reached PostgreSQL");
    ops_sample(t, "edlive_relay_lag_sampled", NULL, (double)ops_gauge_read(&sample.sampled));
    ops_family(t, "edlive_relay_lag_events_all_departments", "gauge",
               "events committed but not yet on Redis, every department summed");
    ops_sample(t, "edlive_relay_lag_events_all_departments", NULL,
               (double)ops_gauge_read(&sample.lag_total));
    ops_family(t, "edlive_relay_lag_events", "gauge",
               "events committed but not yet on Redis (last_seq - relayed seq), by department");
    for (int i = 0; i < n; i++) {
        snprintf(labels, sizeof labels, "department_id=\"%lld\"",
                 atomic_load_explicit(&sample.dept[i].department_id, memory_order_relaxed));
        ops_sample(t, "edlive_relay_lag_events", labels,
                   (double)ops_gauge_read(&sample.dept[i].lag));
    }
    ops_family(t, "edlive_relay_stream_length", "gauge",
               "entries in the department's Redis stream (-1: Redis unreachable at the sample)");
    for (int i = 0; i < n; i++) {
        snprintf(labels, sizeof labels, "department_id=\"%lld\"",
                 atomic_load_explicit(&sample.dept[i].department_id, memory_order_relaxed));
        ops_sample(t, "edlive_relay_stream_length", labels,
                   (double)ops_gauge_read(&sample.dept[i].stream_len));
    }
}

bool relay_ops_start(struct relay *r, const char *redis_host, int redis_port,
                     const char *redis_sentinels, const char *redis_master, const char *iface,
                     int port)
{
    const struct ops_service service = {
        .name = "ed-relay",
        .pg = r->conninfo,
        .redis_host = redis_host,
        .redis_port = redis_port,
        .redis_sentinels = redis_sentinels,
        .redis_master = redis_master,
        .metrics = metrics,
        .probe = probe,
        .user = r,
    };

    if (!ops_start(&service))
        return false;
    return port == 0 || ops_serve(iface, port);
}
