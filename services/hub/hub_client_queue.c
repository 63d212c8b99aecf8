/* SPDX-License-Identifier: MIT */
/* hub_client_queue.c: what waits for each socket, and writing it. Control replies (snapshots,
 * errors, heartbeats) wait in a short per-client queue; events are never copied per client,
 * only a cursor into the department's ring moves, and only up to d->checked_top (the session
 * gate, hub_sessions.c). Several lws_writes per WRITEABLE while the socket takes them whole
 * (lws_send_pipe_choked). Heartbeats: a timer serves a slice of the clients every
 * HUB_HEARTBEAT_TICK_MS, so each gets one per HUB_HEARTBEAT_S without a burst; a heartbeat is
 * written after the events waiting, so its top is what the client must already hold.
 * Backpressure: a cursor too far behind is replaced by a snapshot; a socket on which data has
 * waited for stall_s is closed with 4408. Also the protocol layer's answer to department
 * changes (hub_department_changed). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hub_client.h"
#include "hub_ops.h"
#include "log.h"
#include "record.h"

#define HUB_WRITES_PER_CALLBACK 16 /* frames per WRITEABLE at most: no client hogs the loop */

/* Every connection holds one: keep it in a 160-byte malloc chunk (hub_client.h). */
_Static_assert(sizeof(struct hub_client) <= 144, "struct hub_client grew past 144 bytes");
_Static_assert(HUB_MAX_CONTROL < 256 && HUB_MAX_SUBS < 256, "counted in a byte");
_Static_assert(HUB_MAX_MESSAGE < UINT32_MAX, "rx_len is 32 bits");

static bool parse_addr(struct hub_client *c, const char *text)
{
    if (text && inet_pton(AF_INET, text, c->addr) == 1)
        c->addr_family = AF_INET;
    else if (text && inet_pton(AF_INET6, text, c->addr) == 1)
        c->addr_family = AF_INET6;
    else
        c->addr_family = 0;
    return c->addr_family != 0;
}

void hub_client_set_addr(struct hub_client *c, const char *text, const char *fallback)
{
    if (!parse_addr(c, text))
        parse_addr(c, fallback);
}

void hub_client_addr(const struct hub_client *c, char *out, size_t cap)
{
    if (!cap)
        return;
    if (!c->addr_family || !inet_ntop(c->addr_family, c->addr, out, (socklen_t)cap))
        out[0] = '\0';
}

struct hub_client *hub_client_find(struct hub *hub, unsigned long long id)
{
    for (struct hub_client *c = hub->by_id[id & (HUB_CLIENT_BUCKETS - 1)]; c; c = c->next_by_id)
        if (c->id == id)
            return c;
    return NULL;
}

void hub_client_index(struct hub *hub, struct hub_client *c)
{
    struct hub_client **bucket = &hub->by_id[c->id & (HUB_CLIENT_BUCKETS - 1)];

    c->next_by_id = *bucket;
    *bucket = c;
}

void hub_client_unindex(struct hub *hub, struct hub_client *c)
{
    for (struct hub_client **pp = &hub->by_id[c->id & (HUB_CLIENT_BUCKETS - 1)]; *pp;
         pp = &(*pp)->next_by_id)
        if (*pp == c) {
            *pp = c->next_by_id;
            return;
        }
}

bool hub_client_is_wall(const struct hub_client *c)
{
    return c->who && (c->who->roles & ROLE_DISPLAY);
}

struct hub_sub *hub_client_free_slot(struct hub_client *c)
{
    struct hub_sub *grown;

    for (int i = 0; i < c->sub_slots; i++)
        if (c->subs[i].kind == SUB_NONE)
            return &c->subs[i];
    if (c->sub_slots >= HUB_MAX_SUBS)
        return NULL;
    grown = realloc(c->subs, (c->sub_slots + 1u) * sizeof *grown);
    if (!grown)
        return NULL;
    c->subs = grown;
    memset(&c->subs[c->sub_slots], 0, sizeof *grown);
    return &c->subs[c->sub_slots++];
}

/* ---- the control queue ---- */

/* Appends f to c's control queue and asks for WRITEABLE. */
static void enqueue_control(struct hub_client *c, struct control_frame *f)
{
    f->next = NULL;
    if (c->control_tail)
        c->control_tail->next = f;
    else
        c->control_head = f;
    c->control_tail = f;
    c->control_count++;
    lws_callback_on_writable(c->wsi);
}

bool hub_client_queue_text(struct hub_client *c, const char *json, size_t len)
{
    struct control_frame *f;

    if (c->control_count >= HUB_MAX_CONTROL)
        return false;
    f = malloc(sizeof *f + LWS_PRE + len);
    if (!f)
        return false;
    f->len = len;
    f->shared = NULL;
    memcpy(f->data + LWS_PRE, json, len);
    enqueue_control(c, f);
    return true;
}

bool hub_client_queue_shared(struct hub_client *c, struct hub_shared_text *t)
{
    struct control_frame *f;

    if (c->control_count >= HUB_MAX_CONTROL)
        return false;
    f = malloc(sizeof *f);
    if (!f)
        return false;
    f->len = t->len;
    f->shared = t;
    t->refs++;
    enqueue_control(c, f);
    return true;
}

bool hub_client_queue_json(struct hub_client *c, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    bool ok = text && hub_client_queue_text(c, text, strlen(text));

    free(text);
    json_decref(doc);
    return ok;
}

bool hub_client_queue_error(struct hub_client *c, const struct ed_error *err)
{
    return hub_client_queue_topic_error(c, SUB_NONE, 0, err);
}

bool hub_client_queue_topic_error(struct hub_client *c, enum sub_kind kind, long long topic_id,
                                  const struct ed_error *err)
{
    json_t *reply = json_pack("{s:s}", "type", "error");

    if (kind == SUB_BOARD || kind == SUB_CHART) {
        json_object_set_new(reply, "topic", json_string(kind == SUB_BOARD ? "board" : "chart"));
        json_object_set_new(reply, kind == SUB_BOARD ? "department_id" : "encounter_id",
                            json_integer(topic_id));
    }
    json_object_set_new(reply, "code", json_string(err->code));
    json_object_set_new(reply, "field", err->field[0] ? json_string(err->field) : json_null());
    json_object_set_new(reply, "message", json_string(err->message));
    return hub_client_queue_json(c, reply);
}

void hub_sub_begin_at(struct hub_sub *s, long long seq)
{
    s->next_seq = seq + 1;
    s->chart_top = seq;
}

void hub_client_cut(struct hub_client *c)
{
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void hub_client_free(struct hub_client *c)
{
    while (c->control_head) {
        struct control_frame *f = c->control_head;
        c->control_head = f->next;
        hub_shared_text_release(f->shared);
        free(f);
    }
    c->control_tail = NULL;
    for (int i = 0; i < c->sub_slots; i++) {
        if (c->subs[i].fhir)
            json_decref(c->subs[i].fhir->row);
        free(c->subs[i].fhir);
        c->subs[i].fhir = NULL;
    }
    free(c->subs);
    c->subs = NULL;
    free(c->request_id);
    c->request_id = NULL;
    c->sub_slots = 0;
    free(c->fhir_channel);
    c->fhir_channel = NULL;
    free(c->rx);
    c->rx = NULL;
    hub_session_release(c->session);
    c->session = NULL;
    c->who = NULL;
}

/* ---- writing ---- */

/* A subscription that can be written: running (not waiting for a read), its department known. */
static bool running(const struct hub_sub *s)
{
    return s->kind != SUB_NONE && !s->pending && s->dept;
}

/* The next event frame for s, advancing past other encounters' events for a chart. When the
 * client has fallen out of the ring or too far behind, a snapshot is read for it instead. */
static struct hub_frame *next_event(struct hub *hub, struct hub_client *c, struct hub_sub *s)
{
    struct hub_department *d = s->dept;
    long long top = d->checked_top;

    /* Out of the ring, or further behind than the bound: the backlog is not worth sending
     * (and a frozen tablet must not make the hub hold it); a snapshot replaces it, once the
     * gate has passed everything held (a snapshot shows all of it). */
    if (s->next_seq <= top && (s->next_seq < d->first || top - s->next_seq + 1 > hub->max_lag)) {
        if (top < d->top)
            return NULL;
        if (s->kind == SUB_FHIR) {
            /* No snapshot in FHIR: the client binds again and reads the gap with $events. */
            log_info("FHIR subscription fell behind dept %lld; closing its socket", d->id);
            hub_client_cut(c);
            s->kind = SUB_NONE;
            return NULL;
        }
        hub->resyncs++;
        ops_inc(&hub_ops.resyncs);
        log_info("client fell %lld events behind dept %lld (bound %lld); resyncing with a "
                 "snapshot (%llu so far)",
                 top - s->next_seq + 1, d->id, hub->max_lag, hub->resyncs);
        hub_sub_start(hub, c, s, 0, true);
        return NULL;
    }
    while (s->next_seq <= top) {
        struct hub_frame *f = hub_department_frame(d, s->next_seq);
        if (!f)
            return NULL;
        if (s->kind == SUB_FHIR ? hub_fhir_matches(s, f)
                                : s->kind == SUB_BOARD || f->encounter_id == s->topic_id)
            return f;
        s->next_seq++;
    }
    return NULL;
}

/* Events or replies wait for c (not counting a heartbeat). */
static bool events_pending(const struct hub_client *c)
{
    if (c->control_head)
        return true;
    for (int i = 0; i < c->sub_slots; i++) {
        const struct hub_sub *s = &c->subs[i];
        if (running(s) && s->next_seq <= s->dept->checked_top)
            return true;
    }
    return false;
}

static bool has_pending(const struct hub_client *c)
{
    return c->heartbeat_due || events_pending(c);
}

static int write_control(struct hub_client *c)
{
    struct control_frame *f = c->control_head;
    /* lws writes the frame header into the headroom: the same bytes for every socket of a
     * shared text, so sharing it is safe on this one thread. */
    unsigned char *text = f->shared ? f->shared->data : f->data;
    int n = lws_write(c->wsi, text + LWS_PRE, f->len, LWS_WRITE_TEXT);

    c->control_head = f->next;
    if (!c->control_head)
        c->control_tail = NULL;
    c->control_count--;
    hub_shared_text_release(f->shared);
    free(f);
    if (n < 0)
        return -1;
    c->waiting_since = 0;
    return 1;
}

/* The heartbeat of each running topic: its top is the newest event the client must already
 * hold, since the heartbeat follows every event waiting (board: the department's checked top;
 * chart: its encounter's last event written, or where the subscription started). 1 written, -1
 * error. */
static int write_heartbeat(struct hub_client *c)
{
    unsigned char buf[LWS_PRE + 160];
    char *text = (char *)buf + LWS_PRE;

    c->heartbeat_due = false;
    for (int i = 0; i < c->sub_slots; i++) {
        const struct hub_sub *s = &c->subs[i];
        bool board = s->kind == SUB_BOARD;
        long long top;
        int len;
        if (!running(s) || (s->kind != SUB_BOARD && s->kind != SUB_CHART))
            continue;
        top = board ? s->dept->checked_top : s->chart_top;
        /* "tops" repeats the top for pages loaded before issue 13 (deprecated). */
        len = snprintf(text, sizeof buf - LWS_PRE,
                       "{\"type\":\"heartbeat\",\"topic\":\"%s\",\"%s\":%lld,\"top\":%lld,"
                       "\"tops\":{\"%s:%lld\":%lld}}",
                       board ? "board" : "chart", board ? "department_id" : "encounter_id",
                       s->topic_id, top, board ? "board" : "chart", s->topic_id, top);
        if (len <= 0 || (size_t)len >= sizeof buf - LWS_PRE)
            continue;
        if (lws_write(c->wsi, (unsigned char *)text, (size_t)len, LWS_WRITE_TEXT) < 0)
            return -1;
        ops_inc(&hub_ops.heartbeats);
    }
    c->waiting_since = 0;
    return 1;
}

/* Writes event frame f for subscription s. A frame is encoded once (SQL event_frame()) with
 * "topic":"board" at a fixed offset and serves board and chart subscribers alike; a chart
 * subscriber is told "chart". Same length, so the 5 bytes are patched in the shared frame for
 * this lws_write only and put back at once: lws copies what the socket does not take, and the
 * loop is single-threaded, so nothing else ever reads the patched bytes. */
static int write_event(struct hub_client *c, const struct hub_sub *s, struct hub_frame *f)
{
    static const char board_prefix[] = "{\"type\":\"event\",\"topic\":\"board\"";
    const size_t topic_at = sizeof board_prefix - 1 - strlen("board\"");
    unsigned char *text = f->data + LWS_PRE;
    bool chart = s->kind == SUB_CHART && f->len >= sizeof board_prefix - 1 &&
                 !memcmp(text, board_prefix, sizeof board_prefix - 1);
    int n;

    if (chart)
        memcpy(text + topic_at, "chart", 5);
    n = lws_write(c->wsi, text, f->len, LWS_WRITE_TEXT);
    if (chart)
        memcpy(text + topic_at, "board", 5);
    return n;
}

/* Writes one frame, a queued reply before any event: 1 written, 0 nothing to write, -1 error. */
static int write_one(struct hub *hub, struct hub_client *c)
{
    if (c->control_head)
        return write_control(c);
    for (int k = 0; k < c->sub_slots; k++) {
        struct hub_sub *s = &c->subs[(c->next_sub + k) % c->sub_slots];
        struct hub_frame *f;
        if (!running(s) || !(f = next_event(hub, c, s)))
            continue;
        if (s->kind == SUB_FHIR) {
            int n = hub_fhir_write(c, s, f);
            if (n < 0)
                return -1;
            hub_ops_delivered(f);
            c->waiting_since = 0;
            s->next_seq = f->seq + 1;
            c->next_sub = (c->next_sub + k + 1) % c->sub_slots;
            return 1;
        }
        if (hub_client_is_wall(c)) {
            if (!f->wall) { /* never the unmasked frame: the wall's gap check resubscribes */
                s->next_seq = f->seq + 1;
                k--; /* this topic's next event, if any */
                continue;
            }
            f = f->wall;
        }
        if (write_event(c, s, f) < 0)
            return -1;
        hub_ops_delivered(f);
        c->waiting_since = 0;
        s->next_seq = f->seq + 1;
        if (s->kind == SUB_CHART)
            s->chart_top = f->seq;
        c->next_sub = (c->next_sub + k + 1) % c->sub_slots;
        return 1;
    }
    if (c->heartbeat_due && !events_pending(c))
        return write_heartbeat(c);
    return 0;
}

void hub_client_close(struct hub_client *c, int code, const char *reason)
{
    c->close_code = (uint16_t)code;
    lws_close_reason(c->wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
    lws_close_free_wsi(c->wsi, LWS_CLOSE_STATUS_NOSTATUS, "hub close");
}

int hub_client_writeable(struct hub *hub, struct hub_client *c)
{
    int written = 0, n;

    if (c->close_code) /* closing: lws writes the close frame; nothing more from us */
        return 0;
    if (c->session_ended) {
        hub_client_close(c, HUB_CLOSE_SESSION_ENDED, "session ended");
        return 0;
    }
    if (hub->draining) {
        hub_client_close(c, HUB_CLOSE_RESTARTING, "restarting");
        return 0;
    }
    if (c->too_slow) {
        /* lws writes the close frame into the room close_too_slow made, then ends the socket. */
        hub_client_close(c, HUB_CLOSE_TOO_SLOW, "too slow");
        return 0;
    }
    /* A client behind by several frames takes them in one callback while its socket accepts
     * them whole (lws buffers a partial write, and then nothing more may be written): one
     * trip through the event loop per frame made lagging clients fall further behind. */
    do {
        n = write_one(hub, c);
        if (n < 0)
            return -1;
        written += n;
    } while (n > 0 && written < HUB_WRITES_PER_CALLBACK && has_pending(c) &&
             !lws_send_pipe_choked(c->wsi));
    /* Nothing written: what waits is behind the gate or a read; their ends wake the socket. */
    if (written > 0 && has_pending(c))
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* What waits for c (events behind the gate, a heartbeat) is written on this loop turn when
 * nothing stands in the way: no close decided, no part of an earlier frame still buffered by
 * lws. Asking for WRITEABLE instead costs every such socket a poll change there and back and
 * the hub another loop turn (on lws's poll() loop, load-tests scenario 2: p50/p99 164/770 ms
 * before, 15/58 after). lws takes a write outside its callback: what the socket does not
 * take it buffers and finishes at POLLOUT (lws_issue_raw), and then this path steps aside, so
 * at most one frame is ever copied per socket, as in the callback. A write error cannot be
 * answered with -1 here (only a callback may): the socket is ended asynchronously instead. */
static void write_now_or_later(struct hub *hub, struct hub_client *c)
{
    if (c->session_ended || c->too_slow || c->close_code || hub->draining ||
        lws_partial_buffered(c->wsi)) {
        lws_callback_on_writable(c->wsi);
        return;
    }
    if (hub_client_writeable(hub, c) < 0)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* ---- heartbeats and stalled sockets ---- */

void hub_client_opened(struct hub *hub, struct hub_client *c)
{
    int fd = (int)lws_get_socket_fd(c->wsi);
    /* A vanished peer (or one that keeps its window shut) is ended by the kernel once what was
     * sent stays unacknowledged this long: no transport pings, no per-client work. It is longer
     * than the stall limit, so a live reader that stopped gets its 4408 first. */
    unsigned user_timeout_ms = (unsigned)(hub->stall_s + HUB_USER_TIMEOUT_EXTRA_S) * 1000u;

    /* Bound what the kernel holds for this socket too: with autotuning a stalled reader can
     * park megabytes there (measured: 3.9 MB on loopback), hiding its lag from the hub. */
    if (fd >= 0 && hub->sndbuf > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &hub->sndbuf, sizeof hub->sndbuf))
        log_warn("SO_SNDBUF not set on a new connection");
    if (fd >= 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms))
        log_warn("TCP_USER_TIMEOUT not set on a new connection");
    hub->nclients++;
}

void hub_client_closing(struct hub *hub, struct hub_client *c)
{
    /* lws reports CLOSED also for an upgrade refused with an HTTP status (never opened, no id):
     * it was never counted. */
    if (!c->id)
        return;
    if (hub->beat_next == c)
        hub->beat_next = c->next;
    hub->nclients--;
}

/* Data has waited on a full socket for stall_s (a frozen tablet, a hung page): the hub stops
 * writing to it and closes it with 4408. The close frame must reach the reader when it reads
 * again, behind what its buffers hold: the socket's send buffer is enlarged so lws can finish
 * the frame it was writing and add the close frame; lws then ends the connection, and the
 * kernel delivers what it holds (close frame, then FIN) when the reader drains. Kernel default
 * timeouts now bound that wait, not TCP_USER_TIMEOUT. */
static void close_too_slow(struct hub *hub, struct hub_client *c)
{
    int fd = (int)lws_get_socket_fd(c->wsi), held = 0, no_user_timeout = 0;
    socklen_t size = sizeof held;

    log_info("closing a connection on which data waited for %d s (4408)", hub->stall_s);
    ops_inc(&hub_ops.stall_closes);
    c->too_slow = true;
    /* (Only a bounded buffer is enlarged: setting one under autotuning could shrink it.) */
    if (fd >= 0 && hub->sndbuf > 0 && !getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &held, &size)) {
        int room = held + 65536; /* the kernel doubles it again: room for a frame and the close */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &room, sizeof room))
            log_warn("could not enlarge the send buffer of a stalled socket");
    }
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &no_user_timeout, sizeof no_user_timeout);
    lws_callback_on_writable(c->wsi);
    /* If even that does not let lws write, it is ended without the close frame. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 10);
}

/* Whether data waits on a socket that takes no more: from the first time seen, stall_s later
 * it is closed with 4408. */
static bool check_stall(struct hub *hub, struct hub_client *c, lws_usec_t now)
{
    if (c->too_slow)
        return true;
    if (!events_pending(c) || !lws_send_pipe_choked(c->wsi)) {
        c->waiting_since = 0;
        return false;
    }
    if (!c->waiting_since)
        c->waiting_since = now;
    else if (now - c->waiting_since >= (lws_usec_t)hub->stall_s * LWS_US_PER_SEC)
        close_too_slow(hub, c);
    return true;
}

static void beat(struct hub *hub, struct hub_client *c, lws_usec_t now)
{
    if (check_stall(hub, c, now) || c->session_ended)
        return;
    if (c->fhir_channel) {
        hub_fhir_heartbeat(c, now);
        return;
    }
    for (int i = 0; i < c->sub_slots; i++)
        if (running(&c->subs[i])) {
            c->heartbeat_due = true;
            write_now_or_later(hub, c);
            return;
        }
}

void hub_clients_heartbeat_slice(struct hub *hub)
{
    const int ticks = HUB_HEARTBEAT_S * 1000 / HUB_HEARTBEAT_TICK_MS;
    lws_usec_t now = lws_now_usecs();
    /* Recomputed every tick, so clients joining during a round stretch it only a little. */
    int quota = (hub->nclients + ticks - 1) / ticks;

    /* A round serves every client once, then waits for its HUB_HEARTBEAT_S to be over. */
    if (++hub->beat_tick >= ticks && !hub->beat_next) {
        hub->beat_tick = 0;
        hub->beat_next = hub->clients;
    }
    for (; hub->beat_next && quota > 0; quota--) {
        struct hub_client *c = hub->beat_next;
        hub->beat_next = c->next;
        beat(hub, c, now);
    }
}

/* ---- department changes: whom they concern ---- */

void hub_members_changed(struct hub *hub)
{
    hub->members_gen++;
}

static bool add_member(struct hub_department *d, struct hub_client *c)
{
    if (d->nmembers && d->members[d->nmembers - 1] == c)
        return true; /* its other subscription to d, just added */
    if (d->nmembers == d->members_cap) {
        int cap = d->members_cap ? 2 * d->members_cap : 64;
        struct hub_client **grown = realloc(d->members, (size_t)cap * sizeof *grown);
        if (!grown)
            return false;
        d->members = grown;
        d->members_cap = cap;
    }
    d->members[d->nmembers++] = c;
    return true;
}

/* One walk over every client, only after subscriptions changed: a busy hub's wakes (one per
 * department per gate opening) then cost O(subscribers) each. False when out of memory. */
static bool rebuild_members(struct hub *hub)
{
    for (int i = 0; i < hub->ndepts; i++)
        hub->depts[i].nmembers = 0;
    for (struct hub_client *c = hub->clients; c; c = c->next)
        for (int i = 0; i < c->sub_slots; i++)
            if (c->subs[i].kind != SUB_NONE && c->subs[i].dept && !add_member(c->subs[i].dept, c))
                return false;
    hub->members_built_gen = hub->members_gen;
    return true;
}

static void wake_if_following(struct hub *hub, struct hub_client *c, const struct hub_department *d)
{
    for (int i = 0; i < c->sub_slots; i++)
        if (running(&c->subs[i]) && c->subs[i].dept == d) {
            write_now_or_later(hub, c);
            return;
        }
}

void hub_clients_wake(struct hub *hub, struct hub_department *d)
{
    if (hub->members_built_gen != hub->members_gen && !rebuild_members(hub)) {
        for (struct hub_client *c = hub->clients; c; c = c->next)
            wake_if_following(hub, c, d); /* no memory for the lists: the walk over everyone */
        return;
    }
    for (int i = 0; i < d->nmembers; i++)
        wake_if_following(hub, d->members[i], d);
}

/* Walls showing d's board get it again under its new wall setting: marks that were switched
 * off must leave the screen now, not at the patient's next event. */
static void walls_resnapshot(struct hub *hub, struct hub_department *d)
{
    for (struct hub_client *c = hub->clients; c; c = c->next) {
        if (!hub_client_is_wall(c) || c->session_ended)
            continue;
        for (int i = 0; i < c->sub_slots; i++) {
            struct hub_sub *s = &c->subs[i];
            if (s->kind == SUB_BOARD && s->dept == d && !s->pending)
                hub_sub_start(hub, c, s, 0, true);
        }
    }
}

void hub_department_changed(struct hub *hub, struct hub_department *d, unsigned changes)
{
    if (changes & HUB_CHANGE_GAP)
        hub_check_soon(hub); /* read what Redis skipped; its later events wait for that */
    if (changes & (HUB_CHANGE_TOP | HUB_CHANGE_RESET)) {
        if (hub->clients)
            hub_sessions_gate(hub); /* written once a session round has passed them */
        else
            d->checked_top = d->top;
    }
    if (changes & HUB_CHANGE_WALL_MASK)
        walls_resnapshot(hub, d);
}
