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

struct redis_pub *redis_pub_new(const char *host, int port);
void redis_pub_free(struct redis_pub *rp);

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
