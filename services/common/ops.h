/* SPDX-License-Identifier: MIT */
/* ops.h: what an operator's tools ask of every service (services/README.md "Operations").
 *   GET /healthz  200 "ok": the process answers.
 *   GET /readyz   200 or 503 with {"service","ready","failed":[...],"checks":{...}}: PostgreSQL
 *                 reachable, every migration this build knows applied, Redis reachable (for the
 *                 services that use it). A checker thread refreshes the answer every
 *                 OPS_CHECK_INTERVAL_MS, so answering it never waits on a network.
 *   GET /metrics  Prometheus text format 0.0.4: the service's counters (its callback) and the
 *                 readiness of each check.
 * Counters are relaxed atomics: the hot path pays one uncontended add, never a lock.
 * ed-api and ed-hub answer these paths on their own lws port (ops_answer); ed-relay and
 * ed-mllp, which have no HTTP server, on a port of their own served by ops_serve's thread. */
#ifndef EDLIVE_OPS_H
#define EDLIVE_OPS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#define OPS_CHECK_INTERVAL_MS 1000
/* /readyz is 503 "stalled" when the last round of checks ended longer ago than this. */
#define OPS_STALE_US (10 * 1000000ull)
/* Latency buckets (seconds) of every histogram; +Inf is implicit. */
#define OPS_BUCKET_COUNT 12
extern const double ops_bucket_bounds[OPS_BUCKET_COUNT];

struct ops_counter {
    _Atomic uint64_t n;
};

struct ops_gauge {
    _Atomic int64_t n;
};

struct ops_histogram {
    _Atomic uint64_t bucket[OPS_BUCKET_COUNT]; /* not cumulative: the render sums them */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us;
};

static inline void ops_add(struct ops_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->n, n, memory_order_relaxed);
}

static inline void ops_inc(struct ops_counter *c)
{
    ops_add(c, 1);
}

static inline uint64_t ops_read(const struct ops_counter *c)
{
    return atomic_load_explicit(&c->n, memory_order_relaxed);
}

static inline void ops_gauge_set(struct ops_gauge *g, int64_t v)
{
    atomic_store_explicit(&g->n, v, memory_order_relaxed);
}

static inline void ops_gauge_add(struct ops_gauge *g, int64_t v)
{
    atomic_fetch_add_explicit(&g->n, v, memory_order_relaxed);
}

static inline int64_t ops_gauge_read(const struct ops_gauge *g)
{
    return atomic_load_explicit(&g->n, memory_order_relaxed);
}

/* One observation of us microseconds. */
void ops_observe_us(struct ops_histogram *h, uint64_t us);

/* Microseconds of CLOCK_MONOTONIC (for durations) and of CLOCK_REALTIME (for "now - at"). */
uint64_t ops_now_us(void);
int64_t ops_wall_us(void);

/* ---- Prometheus text ---- */
struct ops_text {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory: the render answers 500 */
};

void ops_printf(struct ops_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void ops_family(struct ops_text *t, const char *name, const char *type, const char *help);
/* A sample: name{labels} value; labels is 'a="x",b="y"' (values through ops_label) or NULL. */
void ops_sample(struct ops_text *t, const char *name, const char *labels, double value);
/* A histogram's _bucket, _sum and _count lines (after its ops_family). */
void ops_histogram_lines(struct ops_text *t, const char *name, const char *labels,
                         const struct ops_histogram *h);
/* Writes key="value" into out, the value escaped as the text format wants. */
void ops_label(char *out, size_t cap, const char *key, const char *value);

/* ---- the service's checks and answers ---- */
struct ops_service {
    const char *name;       /* "ed-api": in the readiness body and edlive_build_info */
    const char *pg;         /* EDLIVE_PG; NULL: no PostgreSQL check */
    const char *redis_host; /* NULL: the service does not use Redis */
    int redis_port;
    const char *redis_sentinels; /* EDLIVE_REDIS_SENTINELS: the primary they name is checked */
    const char *redis_master;
    /* Appends the service's own families; called by whichever thread answers /metrics (ed-api,
     * ed-hub: the lws thread; ed-relay, ed-mllp: the ops thread). */
    void (*metrics)(struct ops_text *t, void *user);
    /* Optional: after each round of checks, on the checker thread, with its connections (each
     * NULL when down), to sample what costs a round trip (ed-relay: lag, stream lengths). */
    void (*probe)(PGconn *pg, redisContext *redis, void *user);
    void *user;
};

/* Starts the checker thread. false (logged) when it cannot. */
bool ops_start(const struct ops_service *service);
/* Starts the tiny HTTP/1.1 responder (GET /healthz, /readyz, /metrics; anything else 404) on
 * iface (EDLIVE_LISTEN: an address or an interface name) and port, on a thread of its own.
 * false (logged) when it cannot listen. */
bool ops_serve(const char *iface, int port);
/* Stops the threads (at exit). */
void ops_stop(void);

struct ops_reply {
    int status;
    const char *content_type;
    char *body; /* malloc'd */
    size_t len;
};

/* True with reply filled (free reply->body) when path is /healthz, /readyz or /metrics (a
 * query string after it is ignored); false for any other path. */
bool ops_answer(const char *path, struct ops_reply *reply);

/* True for /healthz, /readyz and /metrics (with or without a query string). */
bool ops_is_ops_path(const char *path);

#endif
