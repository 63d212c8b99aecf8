/* SPDX-License-Identifier: MIT */
/* relay.h: ed-relay moves each department's event log (the outbox, written in the same
 * transaction as the change) into that department's Redis Stream, in seq order, with the
 * entry id "<seq>-0". Its cursor lives in PostgreSQL (relay_cursor) and advances only after
 * Redis accepted the entries, so a crash replays, and Redis refuses the replayed ids. */
#ifndef EDLIVE_RELAY_H
#define EDLIVE_RELAY_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "ops.h"
#include "redis_pub.h"

struct relay {
    const char *conninfo;
    PGconn *pg;
    struct redis_pub *redis;
    bool ready;      /* connected, LISTENing and holding the relay lock */
    bool standby;    /* another relay holds the lock; logged once */
    int rebuild_len; /* events per department re-sent after Redis lost its data */
    bool round_ok;   /* during a round: every department's events reached Redis */
    /* Metrics (relay_ops.c): written here, read by the operations thread. */
    struct ops_counter relayed;       /* events Redis accepted */
    struct ops_counter rounds_failed; /* rounds PostgreSQL or Redis failed */
    struct ops_gauge active;          /* 1: holds the relay lock; 0: standby or reconnecting */
};

/* relay_ops.c: /healthz, /readyz, /metrics on EDLIVE_RELAY_OPS_PORT. */
bool relay_ops_start(struct relay *r, const char *redis_host, int redis_port,
                     const char *redis_sentinels, const char *redis_master, const char *iface,
                     int port);

/* (Re)connects, LISTENs and takes the advisory lock. False while not the active relay. */
bool relay_prepare(struct relay *r);

/* Moves every department's unrelayed events to Redis. False when PostgreSQL or Redis failed
 * (the cursor stays where Redis last accepted; the next round resumes there). */
bool relay_round(struct relay *r);

/* Waits up to timeout_ms for a NOTIFY; true when one arrived. */
bool relay_wait(struct relay *r, int timeout_ms);

#endif
