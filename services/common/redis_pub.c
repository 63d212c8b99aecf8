/* SPDX-License-Identifier: MIT */
#include "redis_pub.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct redis_pub {
    char host[256];
    int port;
    redisContext *ctx; /* NULL while disconnected; reconnected on the next publish */
    bool unreachable;  /* the last connect failed: say so once, not on every retry */
};

struct redis_pub *redis_pub_new(const char *host, int port)
{
    struct redis_pub *rp = calloc(1, sizeof *rp);

    if (!rp)
        return NULL;
    snprintf(rp->host, sizeof rp->host, "%s", host);
    rp->port = port;
    return rp;
}

void redis_pub_free(struct redis_pub *rp)
{
    if (!rp)
        return;
    if (rp->ctx)
        redisFree(rp->ctx);
    free(rp);
}

static bool connect_redis(struct redis_pub *rp)
{
    struct timeval timeout = {0, 500 * 1000};

    if (rp->ctx)
        return true;
    rp->ctx = redisConnectWithTimeout(rp->host, rp->port, timeout);
    if (!rp->ctx || rp->ctx->err) {
        if (!rp->unreachable)
            log_warn("redis %s:%d unreachable: %s (retrying quietly)", rp->host, rp->port,
                     rp->ctx ? rp->ctx->errstr : "out of memory");
        rp->unreachable = true;
        if (rp->ctx)
            redisFree(rp->ctx);
        rp->ctx = NULL;
        return false;
    }
    redisSetTimeout(rp->ctx, timeout);
    if (rp->unreachable)
        log_info("redis %s:%d reachable again", rp->host, rp->port);
    rp->unreachable = false;
    return true;
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
        reply = redisCommand(rp->ctx, "XADD %s MAXLEN ~ %s %s seq %s enc %s frame %s", key,
                             REDIS_STREAM_MAXLEN, id, seqtext, enctext, frame);
        if (reply) {
            /* "equal or smaller than the target stream top item": already published. */
            ok = reply->type != REDIS_REPLY_ERROR || strstr(reply->str, "equal or smaller");
            if (!ok)
                log_warn("XADD dept %lld seq %lld refused: %s", department_id, seq, reply->str);
            freeReplyObject(reply);
            return ok;
        }
        log_warn("redis connection lost (%s); reconnecting", rp->ctx->errstr);
        redisFree(rp->ctx);
        rp->ctx = NULL;
    }
    return false;
}

/* One command with no arguments but the key (GET or SET); NULL when Redis is unreachable. */
static redisReply *key_command(struct redis_pub *rp, const char *fmt)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *reply;
        if (!connect_redis(rp))
            return NULL;
        reply = redisCommand(rp->ctx, fmt, REDIS_EPOCH_KEY);
        if (reply)
            return reply;
        log_warn("redis connection lost (%s); reconnecting", rp->ctx->errstr);
        redisFree(rp->ctx);
        rp->ctx = NULL;
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
