/* SPDX-License-Identifier: MIT */
/* redis_pub.h: puts committed events on the department's Redis Stream, with the entry id
 * "<seq>-0" so that a repeated publish is refused by Redis instead of delivered twice.
 * Best effort: PostgreSQL is the record; hubs fill any gap from it. */
#ifndef EDLIVE_REDIS_PUB_H
#define EDLIVE_REDIS_PUB_H

#include <stdbool.h>

/* Stream key of a department's events, e.g. "edlive:dept:1:events". */
#define REDIS_STREAM_KEY_FMT "edlive:dept:%lld:events"
/* Entries kept per stream (approximate trim); hubs fall back to PostgreSQL beyond it. */
#define REDIS_STREAM_MAXLEN "10000"

struct redis_pub;

/* host:port is EDLIVE_REDIS; with sentinels (EDLIVE_REDIS_SENTINELS, NULL or "" = none) it
 * publishes to the primary of master_name that the Sentinels name (redis_target.h), and a
 * connection lost or a write refused with -READONLY reconnects to the primary they name then. */
struct redis_pub *redis_pub_new(const char *host, int port, const char *sentinels,
                                const char *master_name);
void redis_pub_free(struct redis_pub *rp);

/* "127.0.0.1:6379" or "master edlive of 3 Sentinel(s)", for logs. */
const char *redis_pub_target_name(const struct redis_pub *rp);

/* Redis keeps no data across a restart here (no persistence): ed-relay sets this key and
 * checks it, so an empty Redis is noticed and its streams are rebuilt from PostgreSQL. */
#define REDIS_EPOCH_KEY "edlive:relay:epoch"

/* 1 when the epoch key is present, 0 when Redis has lost it, -1 when Redis is unreachable. */
int redis_pub_epoch_present(struct redis_pub *rp);
bool redis_pub_epoch_set(struct redis_pub *rp);

/* XADD of one event. False when Redis is unreachable or refused it (logged; not fatal). */
bool redis_pub_event(struct redis_pub *rp, long long department_id, long long seq,
                     long long encounter_id, const char *frame);

#endif
