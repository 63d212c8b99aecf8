/* SPDX-License-Identifier: MIT */
/* hub_ops.h: ed-hub's metrics and its /healthz, /readyz, /metrics on its own port (hub_ops.c). */
#ifndef EDLIVE_HUB_OPS_H
#define EDLIVE_HUB_OPS_H

#include <libwebsockets.h>

#include "hub.h"
#include "ops.h"

/* Counted on the lws thread where they happen (relaxed atomics: no lock, no contention). */
struct hub_ops_counters {
    struct ops_counter delivered;         /* event frames written to sockets */
    struct ops_counter snapshots[3];      /* by topic (HUB_OPS_BOARD, ...) */
    struct ops_counter recoveries[3];     /* "recovered": the missed events from the ring */
    struct ops_counter resyncs;           /* a client past EDLIVE_HUB_MAX_LAG sent a snapshot */
    struct ops_counter stall_closes;      /* sockets closed with 4408 */
    struct ops_counter heartbeats;        /* heartbeat frames written */
    struct ops_histogram write_to_screen; /* frame written - its event's "at" (written_at) */
    struct ops_histogram arrival;         /* taken from Redis - its event's "at" */
};

enum { HUB_OPS_BOARD, HUB_OPS_CHART, HUB_OPS_FHIR };

extern struct hub_ops_counters hub_ops;

/* One event frame written to a socket: counted, with its age since the event was written. */
void hub_ops_delivered(const struct hub_frame *f);

/* An event taken from Redis by the loop: its age then, the part of write_to_screen spent before
 * the hub held it (ed-relay, Redis, the reader thread's hand-over). */
void hub_ops_arrived(const char *json, size_t len);

/* The "at" of an event frame (milliseconds since the epoch), or 0 when it has none. */
long long hub_ops_frame_at_ms(const char *json, size_t len);

/* The readiness checker (PostgreSQL, migrations, Redis). */
bool hub_ops_start(struct hub *hub, const char *pg, const char *redis_host, int redis_port,
                   const char *redis_sentinels, const char *redis_master);

/* The "http" protocol of the hub's lws context: GET /healthz, /readyz, /metrics; anything else
 * as lws's dummy callback answers it. */
int hub_ops_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len);
size_t hub_ops_http_size(void);

#endif
