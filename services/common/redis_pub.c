/* SPDX-License-Identifier: MIT */
#include "redis_pub.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_target.h"

struct redis_pub {
    struct redis_target *target;
    redisContext *ctx; /* NULL while disconnected; reconnected on the next publish */
    bool unreachable;  /* the last connect failed: say so once, not on every retry */
};

struct redis_pub *redis_pub_new(const char *host, int port, const char *sentinels,
                                const char *master_name)
{
    struct redis_pub *rp = calloc(1, sizeof *rp);

    if (!rp)
        return NULL;
    rp->target = redis_target_new(host, port, sentinels, master_name);
    if (!rp->target) {
        free(rp);
        return NULL;
    }
    return rp;
}

void redis_pub_free(struct redis_pub *rp)
{
    if (!rp)
        return;
    if (rp->ctx)
        redisFree(rp->ctx);
    redis_target_free(rp->target);
    free(rp);
}

const char *redis_pub_target_name(const struct redis_pub *rp)
{
    return redis_target_name(rp->target);
}

static bool connect_redis(struct redis_pub *rp)
{
    struct timeval timeout = {0, 500 * 1000};
    char why[512];

    if (rp->ctx && redis_target_still_primary(rp->target))
        return true;
    if (rp->ctx) { /* the Sentinels name another primary: this one is (being) demoted */
        redisFree(rp->ctx);
        rp->ctx = NULL;
    }
    rp->ctx = redis_target_connect(rp->target, timeout, why, sizeof why);
    if (!rp->ctx) {
        if (!rp->unreachable)
            log_warn("redis %s unreachable: %s (retrying quietly)", redis_target_name(rp->target),
                     why);
        rp->unreachable = true;
        return false;
    }
    if (rp->unreachable)
        log_info("redis %s reachable again", redis_target_name(rp->target));
    rp->unreachable = false;
    return true;
}

/* After a command: a reply to use, or NULL when the connection is lost, which includes a
 * -READONLY refusal (the server was demoted to a replica in a Sentinel failover): either way
 * the connection is dropped, and the next connect asks the Sentinels for the primary. */
static redisReply *reply_or_drop(struct redis_pub *rp, redisReply *reply)
{
    if (reply && !redis_reply_is_readonly(reply))
        return reply;
    if (reply) {
        log_warn("redis server is now a replica (%s); reconnecting to the primary", reply->str);
        freeReplyObject(reply);
    } else {
        log_warn("redis connection lost (%s); reconnecting", rp->ctx->errstr);
    }
    redisFree(rp->ctx);
    rp->ctx = NULL;
    return NULL;
}

bool redis_pub_event(struct redis_pub *rp, long long department_id, long long seq,
                     long long encounter_id, const char *frame)
{
    char key[64], id[32], seqtext[24], enctext[24];
    redisReply *reply;
    bool ok;

    snprintf(key, sizeof key, REDIS_STREAM_KEY_FMT, department_id);
    snprintf(id, sizeof id, "%lld-0", seq);
    snprintf(seqtext, sizeof seqtext, "%lld", seq);
    snprintf(enctext, sizeof enctext, "%lld", encounter_id);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!connect_redis(rp))
            return false;
        reply =
            reply_or_drop(rp, redisCommand(rp->ctx, "XADD %s MAXLEN ~ %s %s seq %s enc %s frame %s",
                                           key, REDIS_STREAM_MAXLEN, id, seqtext, enctext, frame));
        if (reply) {
            /* "equal or smaller than the target stream top item": already published. */
            ok = reply->type != REDIS_REPLY_ERROR || strstr(reply->str, "equal or smaller");
            if (!ok)
                log_warn("XADD dept %lld seq %lld refused: %s", department_id, seq, reply->str);
            freeReplyObject(reply);
            return ok;
        }
    }
    return false;
}

/* One command with no arguments but the key (EXISTS or SET); NULL when Redis is unreachable. */
static redisReply *key_command(struct redis_pub *rp, const char *fmt)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *reply;
        if (!connect_redis(rp))
            return NULL;
        reply = reply_or_drop(rp, redisCommand(rp->ctx, fmt, REDIS_EPOCH_KEY));
        if (reply)
            return reply;
    }
    return NULL;
}

int redis_pub_epoch_present(struct redis_pub *rp)
{
    redisReply *reply = key_command(rp, "EXISTS %s");
    int present;

    if (!reply)
        return -1;
    present = reply->type == REDIS_REPLY_INTEGER ? reply->integer > 0 : -1;
    freeReplyObject(reply);
    return present;
}

bool redis_pub_epoch_set(struct redis_pub *rp)
{
    redisReply *reply = key_command(rp, "SET %s 1");
    bool ok = reply && reply->type != REDIS_REPLY_ERROR;

    if (reply)
        freeReplyObject(reply);
    return ok;
}
