/* SPDX-License-Identifier: MIT */
/* hub_ops.c: ed-hub's metrics, and GET /healthz, /readyz, /metrics on the hub's own port.
 * The counters move on the lws thread where things happen; the gauges (clients,
 * subscriptions by topic, each department's top) are read from the hub's state when /metrics
 * is answered, on that same thread, so the hot path pays nothing for them. */
#define _GNU_SOURCE /* timegm */
#include "hub_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_client.h"

struct hub_ops_counters hub_ops;

static const char *const topic_names[3] = {"board", "chart", "fhir"};

long long hub_ops_frame_at_ms(const char *json, size_t len)
{
    /* The envelope comes first, in a fixed order (SQL event_frame()): the first "at" is the
     * event's, before any payload. */
    static const char key[] = ",\"at\":\"";
    const char *p = memmem(json, len < 300 ? len : 300, key, sizeof key - 1);
    struct tm tm = {0};
    int ms = 0;

    if (!p || (size_t)(p - json) + sizeof key - 1 + 24 > len)
        return 0;
    p += sizeof key - 1;
    if (sscanf(p, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000 + ms;
}

/* The age of an event whose "at" is at_ms (0: none, nothing observed), now, into h. */
static void observe_age(struct ops_histogram *h, long long at_ms)
{
    if (at_ms > 0) {
        long long age_ms = ops_wall_us() / 1000 - at_ms;
        /* A database clock ahead of ours reads as 0, not as a negative age. */
        ops_observe_us(h, age_ms > 0 ? (uint64_t)age_ms * 1000u : 0);
    }
}

void hub_ops_delivered(const struct hub_frame *f)
{
    ops_inc(&hub_ops.delivered);
    observe_age(&hub_ops.write_to_screen, f->at_ms);
}

void hub_ops_arrived(const char *json, size_t len)
{
    observe_age(&hub_ops.arrival, hub_ops_frame_at_ms(json, len));
}

static void metrics(struct ops_text *t, void *user)
{
    struct hub *hub = user;
    long long subs[3] = {0, 0, 0};
    char labels[64];

    for (struct hub_client *c = hub->clients; c; c = c->next)
        for (int i = 0; i < c->sub_slots; i++) {
            const struct hub_sub *s = &c->subs[i];
            if (s->kind == SUB_BOARD)
                subs[HUB_OPS_BOARD]++;
            else if (s->kind == SUB_CHART)
                subs[HUB_OPS_CHART]++;
            else if (s->kind == SUB_FHIR)
                subs[HUB_OPS_FHIR]++;
        }
    ops_family(t, "edlive_hub_clients", "gauge", "open WebSocket connections");
    ops_sample(t, "edlive_hub_clients", NULL, hub->nclients);
    ops_family(t, "edlive_hub_subscriptions", "gauge", "subscriptions, by topic");
    for (int i = 0; i < 3; i++) {
        snprintf(labels, sizeof labels, "topic=\"%s\"", topic_names[i]);
        ops_sample(t, "edlive_hub_subscriptions", labels, (double)subs[i]);
    }
    ops_family(t, "edlive_hub_events_delivered_total", "counter",
               "event frames written to sockets");
    ops_sample(t, "edlive_hub_events_delivered_total", NULL, (double)ops_read(&hub_ops.delivered));
    ops_family(t, "edlive_hub_snapshots_total", "counter",
               "subscriptions started or restarted with a snapshot, by topic");
    for (int i = 0; i < 2; i++) {
        snprintf(labels, sizeof labels, "topic=\"%s\"", topic_names[i]);
        ops_sample(t, "edlive_hub_snapshots_total", labels,
                   (double)ops_read(&hub_ops.snapshots[i]));
    }
    ops_family(t, "edlive_hub_recoveries_total", "counter",
               "subscriptions resumed from the ring (\"recovered\": only the missed events), by "
               "topic");
    for (int i = 0; i < 2; i++) {
        snprintf(labels, sizeof labels, "topic=\"%s\"", topic_names[i]);
        ops_sample(t, "edlive_hub_recoveries_total", labels,
                   (double)ops_read(&hub_ops.recoveries[i]));
    }
    ops_family(t, "edlive_hub_resyncs_total", "counter",
               "clients more than EDLIVE_HUB_MAX_LAG events behind, sent a snapshot instead");
    ops_sample(t, "edlive_hub_resyncs_total", NULL, (double)ops_read(&hub_ops.resyncs));
    ops_family(t, "edlive_hub_stall_closes_total", "counter",
               "sockets closed with 4408 (data waited EDLIVE_HUB_STALL_S)");
    ops_sample(t, "edlive_hub_stall_closes_total", NULL, (double)ops_read(&hub_ops.stall_closes));
    ops_family(t, "edlive_hub_heartbeats_total", "counter", "heartbeat frames written");
    ops_sample(t, "edlive_hub_heartbeats_total", NULL, (double)ops_read(&hub_ops.heartbeats));
    ops_family(t, "edlive_hub_write_to_screen_seconds", "histogram",
               "from an event's commit (its written_at) to its frame written to a socket, per "
               "delivery; a replay after a reconnect counts its wait");
    ops_histogram_lines(t, "edlive_hub_write_to_screen_seconds", NULL, &hub_ops.write_to_screen);
    ops_family(t, "edlive_hub_event_arrival_seconds", "histogram",
               "from an event's commit (its written_at) to the hub taking it from Redis, per "
               "event: the part of edlive_hub_write_to_screen_seconds before the hub");
    ops_histogram_lines(t, "edlive_hub_event_arrival_seconds", NULL, &hub_ops.arrival);
    ops_family(t, "edlive_hub_department_top_seq", "gauge",
               "the newest event seq this hub holds, by department");
    for (int i = 0; i < hub->ndepts; i++) {
        snprintf(labels, sizeof labels, "department_id=\"%lld\"", hub->depts[i].id);
        ops_sample(t, "edlive_hub_department_top_seq", labels, (double)hub->depts[i].top);
    }
}

bool hub_ops_start(struct hub *hub, const char *pg, const char *redis_host, int redis_port,
                   const char *redis_sentinels, const char *redis_master)
{
    const struct ops_service service = {.name = "ed-hub",
                                        .pg = pg,
                                        .redis_host = redis_host,
                                        .redis_port = redis_port,
                                        .redis_sentinels = redis_sentinels,
                                        .redis_master = redis_master,
                                        .metrics = metrics,
                                        .user = hub};

    return ops_start(&service);
}

/* ---- the "http" protocol ---- */

struct ops_http {
    unsigned char *out; /* LWS_PRE + body */
    size_t len;
};

static int answer(struct lws *wsi, struct ops_http *h, const char *uri)
{
    struct ops_reply reply;
    unsigned char headers[LWS_PRE + 512];
    unsigned char *start = &headers[LWS_PRE], *p = start, *end = &headers[sizeof headers - 1];

    ops_answer(uri, &reply);
    free(h->out);
    h->out = malloc(LWS_PRE + reply.len + 1);
    if (!h->out) {
        free(reply.body);
        return -1;
    }
    memcpy(h->out + LWS_PRE, reply.body, reply.len);
    h->len = reply.len;
    free(reply.body);
    if (lws_add_http_common_headers(wsi, (unsigned int)reply.status, reply.content_type, reply.len,
                                    &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

int hub_ops_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    struct ops_http *h = user;
    int n;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) && ops_is_ops_path(in))
            return answer(wsi, h, in);
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!h || !h->out)
            break;
        n = lws_write(wsi, h->out + LWS_PRE, h->len, LWS_WRITE_HTTP_FINAL);
        free(h->out);
        h->out = NULL;
        if (n < 0)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (h) {
            free(h->out);
            h->out = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

size_t hub_ops_http_size(void)
{
    return sizeof(struct ops_http);
}
