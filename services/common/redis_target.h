/* SPDX-License-Identifier: MIT */
/* redis_target.h: which Redis server is the primary, and a connection to it, for ed-relay
 * (redis_pub.c) and ed-hub's reader (hub/hub_feed.c). Without Sentinels it is EDLIVE_REDIS.
 * With Sentinels (EDLIVE_REDIS_SENTINELS) every connect asks them in turn for the address of
 * the master EDLIVE_REDIS_MASTER, connects there and checks with ROLE that the server is the
 * master: during a failover a Sentinel may still name the dead or just-demoted server, or the
 * replica before its promotion is done; that connect is refused, and the caller retries. */
#ifndef EDLIVE_REDIS_TARGET_H
#define EDLIVE_REDIS_TARGET_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/time.h>

#include "config.h"

/* Pause between connect attempts: with Sentinels short, so that the new primary is found
 * within this of the failover (Sentinel's down-after-milliseconds + election). */
#define REDIS_RETRY_MS          500
#define REDIS_SENTINEL_RETRY_MS 200

struct redis_target;

/* host:port is EDLIVE_REDIS; sentinels is EDLIVE_REDIS_SENTINELS (NULL or "" = none, otherwise
 * already checked by config_load) and master_name EDLIVE_REDIS_MASTER. NULL when out of memory
 * or sentinels does not parse. */
struct redis_target *redis_target_new(const char *host, int port, const char *sentinels,
                                      const char *master_name);
void redis_target_free(struct redis_target *t);

/* True when the primary is found through Sentinels. */
bool redis_target_uses_sentinels(const struct redis_target *t);

/* What it connects to, for logs: "127.0.0.1:6379" or "master edlive of 3 Sentinels". */
const char *redis_target_name(const struct redis_target *t);

/* A connection to the primary, with io_timeout on its commands; NULL when none could be made
 * (why says why, for the caller's log). Logs (info) the primary's address when it differs from
 * the one of the last connect (Sentinels only). */
redisContext *redis_target_connect(struct redis_target *t, struct timeval io_timeout, char *why,
                                   size_t why_size);

/* With Sentinels, how often a connection checks that the Sentinels still name its server. A
 * failover with the old primary alive (SENTINEL FAILOVER, or a partition) leaves it a master
 * taking writes until Sentinel turns it into a replica some 10 s later; this check moves over
 * as soon as the Sentinels name the new one. */
#define REDIS_SENTINEL_CHECK_MS 1000

/* False when the Sentinels now name another primary than the one of the last connect (then
 * the caller drops its connection and connects again). Asks one Sentinel at most every
 * REDIS_SENTINEL_CHECK_MS: the one that named the primary, or when it did not answer the next
 * one. True without Sentinels, between checks, and when the Sentinel does not answer (the
 * connection itself tells when it is lost). */
bool redis_target_still_primary(struct redis_target *t);

/* The pause (ms) before the next connect attempt after one failed. */
int redis_target_retry_ms(const struct redis_target *t);

/* A "-READONLY You can't write against a read only replica" reply: the server we are on was
 * demoted. The callers treat it as a lost connection (reconnect through the Sentinels). */
bool redis_reply_is_readonly(const redisReply *reply);

#endif
