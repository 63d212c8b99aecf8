/* SPDX-License-Identifier: MIT */
/* hub_feed.c: the Redis side of the hub. A thread blocks in XREAD on every department's
 * stream and queues what arrives; the lws thread takes the queue in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED (lws_cancel_service is lws's one thread-safe call).
 * If Redis restarts empty, reading simply resumes from the last id seen; the hub's own
 * seq check and periodic PostgreSQL comparison fill whatever Redis never had. The same holds
 * after a Sentinel failover (EDLIVE_REDIS_SENTINELS): the reader reconnects to the primary the
 * Sentinels name (redis_target.c) and goes on from the last id it read; entry ids are the seq
 * ("<seq>-0") on every server, so a new primary that lacks the last entries only leaves a seq
 * gap, read from PostgreSQL. */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "hub_ops.h"
#include "log.h"
#include "redis_pub.h"
#include "redis_target.h"

struct feed_stream {
    long long department_id;
    char key[64];
    char last_id[48]; /* last entry id read, "<seq>-0" */
};

struct hub_feed {
    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    struct lws_context *ctx;
    struct redis_target *target; /* the reader thread's only */
    bool stop;
    struct feed_stream streams[HUB_MAX_DEPARTMENTS];
    int nstreams;
    struct hub_event *head, *tail;
    /* The reader's connection while it has one (its CLIENT ID, 0: none), so that a stream
     * followed meanwhile ends the XREAD it is blocked in (hub_feed_follow). */
    long long reader_id;
    char reader_host[256];
    int reader_port;
};

/* Takes note of the reader's new connection (or of none: rc NULL). */
static void note_reader(struct hub_feed *feed, redisContext *rc)
{
    redisReply *r = rc ? redisCommand(rc, "CLIENT ID") : NULL;
    long long id = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;

    freeReplyObject(r);
    pthread_mutex_lock(&feed->lock);
    feed->reader_id = id;
    if (rc && rc->tcp.host)
        snprintf(feed->reader_host, sizeof feed->reader_host, "%s", rc->tcp.host);
    feed->reader_port = rc ? rc->tcp.port : 0;
    pthread_mutex_unlock(&feed->lock);
}

static void push(struct hub_feed *feed, long long dept, long long seq, long long enc,
                 const char *frame, size_t len)
{
    struct hub_event *e = hub_event_new(dept, seq, enc, frame, len);

    if (feed->tail)
        feed->tail->next = e;
    else
        feed->head = e;
    feed->tail = e;
}

/* One XREAD reply entry: [id, [field, value, ...]]. */
static void take_entry(struct hub_feed *feed, struct feed_stream *s, const redisReply *entry)
{
    const redisReply *fields;
    long long seq = -1, enc = 0;
    const char *frame = NULL;
    size_t frame_len = 0;

    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2)
        return;
    snprintf(s->last_id, sizeof s->last_id, "%s", entry->element[0]->str);
    fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const char *name = fields->element[i]->str;
        const redisReply *value = fields->element[i + 1];
        if (!strcmp(name, "seq"))
            seq = atoll(value->str);
        else if (!strcmp(name, "enc"))
            enc = atoll(value->str);
        else if (!strcmp(name, "frame")) {
            frame = value->str;
            frame_len = value->len;
        }
    }
    if (seq > 0 && frame)
        push(feed, s->department_id, seq, enc, frame, frame_len);
}

static void take_reply(struct hub_feed *feed, const redisReply *reply)
{
    pthread_mutex_lock(&feed->lock);
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *stream = reply->element[i];
        for (int k = 0; k < feed->nstreams; k++) {
            struct feed_stream *s = &feed->streams[k];
            if (strcmp(s->key, stream->element[0]->str) != 0)
                continue;
            for (size_t j = 0; j < stream->element[1]->elements; j++)
                take_entry(feed, s, stream->element[1]->element[j]);
        }
    }
    pthread_mutex_unlock(&feed->lock);
}

/* XREAD COUNT 500 BLOCK 1000 STREAMS k1..kn id1..idn */
static redisReply *read_streams(struct hub_feed *feed, redisContext *rc)
{
    const char *argv[4 + 2 * HUB_MAX_DEPARTMENTS + 2];
    char ids[HUB_MAX_DEPARTMENTS][48], keys[HUB_MAX_DEPARTMENTS][64];
    int argc = 0, n;

    pthread_mutex_lock(&feed->lock);
    n = feed->nstreams;
    for (int i = 0; i < n; i++) {
        memcpy(keys[i], feed->streams[i].key, sizeof keys[i]);
        memcpy(ids[i], feed->streams[i].last_id, sizeof ids[i]);
    }
    pthread_mutex_unlock(&feed->lock);
    if (n == 0) {
        usleep(200 * 1000);
        return NULL;
    }
    argv[argc++] = "XREAD";
    argv[argc++] = "COUNT";
    argv[argc++] = "500";
    argv[argc++] = "BLOCK";
    argv[argc++] = "1000";
    argv[argc++] = "STREAMS";
    for (int i = 0; i < n; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < n; i++)
        argv[argc++] = ids[i];
    return redisCommandArgv(rc, argc, argv, NULL);
}

static void *feed_main(void *arg)
{
    struct hub_feed *feed = arg;
    redisContext *rc = NULL;
    bool warned = false;         /* "unreachable" logged, "reachable again" not yet */
    bool refusal_logged = false; /* a refused read logged; again only after a good read */

    for (;;) {
        redisReply *reply;
        pthread_mutex_lock(&feed->lock);
        bool stop = feed->stop;
        pthread_mutex_unlock(&feed->lock);
        if (stop)
            break;
        if (!rc) {
            struct timeval timeout = {2, 0}; /* above BLOCK 1000, so a dead server is noticed */
            char why[512];
            rc = redis_target_connect(feed->target, timeout, why, sizeof why);
            if (!rc) {
                if (!warned)
                    log_warn("redis %s unreachable (%s); serving from PostgreSQL until it is back",
                             redis_target_name(feed->target), why);
                warned = true;
                /* With Sentinels 200 ms: the new primary is read within that of its promotion. */
                usleep((useconds_t)redis_target_retry_ms(feed->target) * 1000);
                continue;
            }
            if (warned)
                log_info("redis %s reachable again", redis_target_name(feed->target));
            warned = false;
            note_reader(feed, rc);
        }
        if (!redis_target_still_primary(feed->target)) {
            redisFree(rc); /* the Sentinels name another primary: read from that one */
            rc = NULL;
            note_reader(feed, NULL);
            continue;
        }
        reply = read_streams(feed, rc);
        if (!reply && rc->err) {
            log_warn("redis read failed: %s", rc->errstr);
            redisFree(rc);
            rc = NULL;
            note_reader(feed, NULL);
            continue;
        }
        if (reply && reply->type == REDIS_REPLY_ERROR) {
            /* e.g. -LOADING, or -UNBLOCKED when the server changed role in a failover: connect
             * afresh (to the primary the Sentinels name) after a pause, not in a spin. */
            if (!refusal_logged)
                log_warn("redis read refused: %s; reconnecting", reply->str);
            refusal_logged = true;
            freeReplyObject(reply);
            redisFree(rc);
            rc = NULL;
            note_reader(feed, NULL);
            usleep((useconds_t)redis_target_retry_ms(feed->target) * 1000);
            continue;
        }
        if (reply)
            refusal_logged = false;
        if (reply && reply->type == REDIS_REPLY_ARRAY) {
            take_reply(feed, reply);
            lws_cancel_service(feed->ctx);
        }
        freeReplyObject(reply);
    }
    if (rc)
        redisFree(rc);
    return NULL;
}

struct hub_feed *hub_feed_start(struct lws_context *ctx, const char *host, int port,
                                const char *sentinels, const char *master_name)
{
    struct hub_feed *feed = calloc(1, sizeof *feed);

    if (!feed)
        return NULL;
    feed->target = redis_target_new(host, port, sentinels, master_name);
    if (!feed->target) {
        free(feed);
        return NULL;
    }
    pthread_mutex_init(&feed->lock, NULL);
    feed->ctx = ctx;
    if (pthread_create(&feed->thread, NULL, feed_main, feed)) {
        redis_target_free(feed->target);
        free(feed);
        return NULL;
    }
    return feed;
}

/* Ends the XREAD the reader is blocked in (CLIENT UNBLOCK: it returns as if timed out), so its
 * next one names the stream just followed: otherwise a new department's first events waited for
 * the BLOCK to run out, up to a second (seen as 100–150 ms outliers in load-tests scenario 1).
 * A short connection of its own, to the server the reader is on: departments are followed
 * rarely. Best effort: if it fails, the read times out as before. */
static void wake_reader(const char *host, int port, long long id)
{
    struct timeval timeout = {0, 200 * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, timeout);
    redisReply *r = NULL;

    if (c && !c->err && redisSetTimeout(c, timeout) == REDIS_OK)
        r = redisCommand(c, "CLIENT UNBLOCK %lld", id);
    freeReplyObject(r);
    if (c)
        redisFree(c);
}

void hub_feed_follow(struct hub_feed *feed, long long department_id, long long top)
{
    char host[256];
    int port;
    long long reader = 0;

    pthread_mutex_lock(&feed->lock);
    for (int i = 0; i < feed->nstreams; i++) {
        if (feed->streams[i].department_id == department_id) {
            pthread_mutex_unlock(&feed->lock);
            return;
        }
    }
    if (feed->nstreams < HUB_MAX_DEPARTMENTS) {
        struct feed_stream *s = &feed->streams[feed->nstreams++];
        s->department_id = department_id;
        snprintf(s->key, sizeof s->key, REDIS_STREAM_KEY_FMT, department_id);
        snprintf(s->last_id, sizeof s->last_id, "%lld-0", top);
        reader = feed->reader_id;
        memcpy(host, feed->reader_host, sizeof host);
        port = feed->reader_port;
    }
    pthread_mutex_unlock(&feed->lock);
    if (reader > 0)
        wake_reader(host, port, reader);
}

void hub_feed_drain(struct hub_feed *feed, struct hub *hub)
{
    struct hub_event *list;

    pthread_mutex_lock(&feed->lock);
    list = feed->head;
    feed->head = feed->tail = NULL;
    pthread_mutex_unlock(&feed->lock);
    for (struct hub_event *e = list; e; e = e->next) {
        struct hub_department *d = hub_department_find(hub, e->department_id);
        hub_ops_arrived(e->frame, e->len);
        if (d)
            hub_department_changed(hub, d, hub_department_offer(d, e));
    }
    hub_events_free(list);
}

void hub_feed_stop(struct hub_feed *feed)
{
    if (!feed)
        return;
    pthread_mutex_lock(&feed->lock);
    feed->stop = true;
    pthread_mutex_unlock(&feed->lock);
    pthread_join(feed->thread, NULL);
    hub_events_free(feed->head);
    pthread_mutex_destroy(&feed->lock);
    redis_target_free(feed->target);
    free(feed);
}
