/* SPDX-License-Identifier: MIT */
#include "redis_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

/* A Sentinel answers from memory: one that takes longer than this is down or cut off, and the
 * next one is asked. */
static const struct timeval sentinel_timeout = {0, 300 * 1000};
/* Connecting to the primary and its ROLE check. */
static const struct timeval primary_connect_timeout = {0, 500 * 1000};

struct redis_target {
    struct config_host_port single; /* EDLIVE_REDIS */
    struct config_host_port sentinels[CONFIG_MAX_HOST_PORTS];
    int nsentinels;
    int first_sentinel; /* the one that named the primary last: asked first next time */
    char master_name[128];
    char name[200];                  /* for logs */
    struct config_host_port primary; /* the last primary connected to ("" before the first) */
    long long checked_ms;            /* when redis_target_still_primary last asked */
};

static long long monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

struct redis_target *redis_target_new(const char *host, int port, const char *sentinels,
                                      const char *master_name)
{
    struct redis_target *t = calloc(1, sizeof *t);
    char bad[256];

    if (!t)
        return NULL;
    snprintf(t->single.host, sizeof t->single.host, "%s", host);
    t->single.port = port;
    t->nsentinels = config_parse_host_port_list(sentinels, t->sentinels, CONFIG_MAX_HOST_PORTS, bad,
                                                sizeof bad);
    if (t->nsentinels < 0) {
        log_error("EDLIVE_REDIS_SENTINELS: %s", bad);
        free(t);
        return NULL;
    }
    snprintf(t->master_name, sizeof t->master_name, "%s",
             master_name && master_name[0] ? master_name : "edlive");
    if (t->nsentinels)
        snprintf(t->name, sizeof t->name, "master %s of %d Sentinel(s)", t->master_name,
                 t->nsentinels);
    else
        snprintf(t->name, sizeof t->name, "%s:%d", host, port);
    return t;
}

void redis_target_free(struct redis_target *t)
{
    free(t);
}

bool redis_target_uses_sentinels(const struct redis_target *t)
{
    return t->nsentinels > 0;
}

const char *redis_target_name(const struct redis_target *t)
{
    return t->name;
}

int redis_target_retry_ms(const struct redis_target *t)
{
    return t->nsentinels ? REDIS_SENTINEL_RETRY_MS : REDIS_RETRY_MS;
}

bool redis_reply_is_readonly(const redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR && !strncmp(reply->str, "READONLY", 8);
}

/* Connects with a connect timeout, then sets the command timeout; NULL with why filled. */
static redisContext *connect_to(const struct config_host_port *at, struct timeval connect_timeout,
                                struct timeval io_timeout, char *why, size_t why_size)
{
    redisContext *rc = redisConnectWithTimeout(at->host, at->port, connect_timeout);

    if (!rc || rc->err) {
        snprintf(why, why_size, "%s:%d: %s", at->host, at->port, rc ? rc->errstr : "out of memory");
        if (rc)
            redisFree(rc);
        return NULL;
    }
    redisSetTimeout(rc, io_timeout);
    return rc;
}

/* SENTINEL get-master-addr-by-name: the primary that Sentinel names, false when it cannot. */
static bool ask_sentinel(const struct redis_target *t, const struct config_host_port *sentinel,
                         struct config_host_port *primary, char *why, size_t why_size)
{
    char reason[512];
    redisContext *rc =
        connect_to(sentinel, sentinel_timeout, sentinel_timeout, reason, sizeof reason);
    redisReply *reply;
    bool ok = false;

    if (!rc) {
        snprintf(why, why_size, "Sentinel %s", reason);
        return false;
    }
    reply = redisCommand(rc, "SENTINEL get-master-addr-by-name %s", t->master_name);
    if (!reply)
        snprintf(why, why_size, "Sentinel %s:%d: %s", sentinel->host, sentinel->port, rc->errstr);
    else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             reply->element[0]->type == REDIS_REPLY_STRING &&
             reply->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(primary->host, sizeof primary->host, "%s", reply->element[0]->str);
        primary->port = atoi(reply->element[1]->str);
        ok = primary->port > 0;
    }
    if (reply && reply->type == REDIS_REPLY_ERROR)
        snprintf(why, why_size, "Sentinel %s:%d: %s", sentinel->host, sentinel->port, reply->str);
    else if (reply && !ok)
        snprintf(why, why_size, "Sentinel %s:%d does not know master %s", sentinel->host,
                 sentinel->port, t->master_name);
    if (reply)
        freeReplyObject(reply);
    redisFree(rc);
    return ok;
}

/* ROLE's first element is "master" on a primary, "slave" on a replica (also one promoted by
 * a Sentinel whose REPLICAOF NO ONE has not run yet, or a demoted one). */
static bool is_master(redisContext *rc, char *why, size_t why_size)
{
    redisReply *reply = redisCommand(rc, "ROLE");
    bool master = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                  reply->element[0]->type == REDIS_REPLY_STRING &&
                  !strcmp(reply->element[0]->str, "master");

    if (!master)
        snprintf(why, why_size, "not the master (ROLE: %s)",
                 !reply                             ? rc->errstr
                 : reply->type == REDIS_REPLY_ERROR ? reply->str
                 : reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                         reply->element[0]->type == REDIS_REPLY_STRING
                     ? reply->element[0]->str
                     : "unexpected reply");
    if (reply)
        freeReplyObject(reply);
    return master;
}

/* Appends one reason to why ("; " between them), so that the log says what each Sentinel did. */
static void add_reason(char *why, size_t why_size, const char *reason)
{
    size_t used = strlen(why);

    if (used + 3 < why_size)
        snprintf(why + used, why_size - used, "%s%s", used ? "; " : "", reason);
}

static redisContext *connect_through_sentinels(struct redis_target *t, struct timeval io_timeout,
                                               char *why, size_t why_size)
{
    struct config_host_port tried[CONFIG_MAX_HOST_PORTS];
    int ntried = 0;

    why[0] = '\0';
    for (int i = 0; i < t->nsentinels; i++) {
        int k = (t->first_sentinel + i) % t->nsentinels;
        struct config_host_port primary;
        char reason[1024], role[300];
        bool seen = false;
        redisContext *rc;

        if (!ask_sentinel(t, &t->sentinels[k], &primary, reason, sizeof reason)) {
            add_reason(why, why_size, reason);
            continue;
        }
        for (int j = 0; j < ntried; j++)
            seen |= !strcmp(tried[j].host, primary.host) && tried[j].port == primary.port;
        if (seen) /* this Sentinel names what another did: no use trying it twice */
            continue;
        tried[ntried++] = primary;
        rc = connect_to(&primary, primary_connect_timeout, primary_connect_timeout, reason,
                        sizeof reason);
        if (rc && !is_master(rc, role, sizeof role)) {
            snprintf(reason, sizeof reason, "%s:%d, %s", primary.host, primary.port, role);
            redisFree(rc);
            rc = NULL;
        }
        if (!rc) {
            char named[1536];
            snprintf(named, sizeof named, "Sentinel %s:%d names %s", t->sentinels[k].host,
                     t->sentinels[k].port, reason);
            add_reason(why, why_size, named);
            continue;
        }
        redisSetTimeout(rc, io_timeout);
        t->first_sentinel = k;
        t->checked_ms = monotonic_ms();
        if (strcmp(t->primary.host, primary.host) || t->primary.port != primary.port) {
            log_info("redis primary (master %s) is %s:%d, named by Sentinel %s:%d", t->master_name,
                     primary.host, primary.port, t->sentinels[k].host, t->sentinels[k].port);
            t->primary = primary;
        }
        return rc;
    }
    return NULL;
}

bool redis_target_still_primary(struct redis_target *t)
{
    long long now = monotonic_ms();
    const struct config_host_port *sentinel;
    struct config_host_port named;
    char why[1024];

    if (!t->nsentinels || now - t->checked_ms < REDIS_SENTINEL_CHECK_MS)
        return true;
    t->checked_ms = now;
    /* One Sentinel a check, so that one cut off costs its timeout once, not on every check:
     * when it does not answer, the next one is asked next time. */
    sentinel = &t->sentinels[t->first_sentinel];
    if (!ask_sentinel(t, sentinel, &named, why, sizeof why)) {
        t->first_sentinel = (t->first_sentinel + 1) % t->nsentinels;
        return true;
    }
    if (!strcmp(named.host, t->primary.host) && named.port == t->primary.port)
        return true;
    log_warn("Sentinel %s:%d names %s:%d as the primary now; leaving %s:%d", sentinel->host,
             sentinel->port, named.host, named.port, t->primary.host, t->primary.port);
    return false;
}

redisContext *redis_target_connect(struct redis_target *t, struct timeval io_timeout, char *why,
                                   size_t why_size)
{
    if (t->nsentinels)
        return connect_through_sentinels(t, io_timeout, why, why_size);
    return connect_to(&t->single, io_timeout, io_timeout, why, why_size); /* as before Sentinels */
}
