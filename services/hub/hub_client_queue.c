/* SPDX-License-Identifier: MIT */
/* hub_client_queue.c: what waits for each socket, and writing it. Control replies (snapshots,
 * errors, heartbeats) wait in a short per-client queue; events are never copied per client,
 * only a cursor into the department's ring moves, and only up to d->checked_top (the session
 * gate, hub_sessions.c). Several lws_writes per WRITEABLE while the socket takes them whole
 * (lws_send_pipe_choked). Backpressure: a cursor too far behind is replaced by a snapshot; a
 * socket that takes nothing for stall_s while data waits is closed with 4408. Also the
 * protocol layer's answer to department changes (hub_department_changed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hub_client.h"
#include "log.h"
#include "record.h"

#define HUB_WRITES_PER_CALLBACK 16 /* frames per WRITEABLE at most: no client hogs the loop */

struct hub_client *hub_client_find(struct hub *hub, unsigned long long id)
{
    for (struct hub_client *c = hub->clients; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

bool hub_client_is_wall(const struct hub_client *c)
{
    return c->who && (c->who->roles & ROLE_DISPLAY);
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
    return hub_client_queue_json(c, json_pack("{s:s,s:s,s:o,s:s}", "type", "error", "code",
                                              err->code, "field",
                                              err->field[0] ? json_string(err->field) : json_null(),
                                              "message", err->message));
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
    for (int i = 0; i < HUB_MAX_SUBS; i++) {
        if (c->subs[i].fhir)
            json_decref(c->subs[i].fhir->row);
        free(c->subs[i].fhir);
        c->subs[i].fhir = NULL;
    }
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

static bool has_pending(const struct hub_client *c)
{
    if (c->control_head)
        return true;
    for (int i = 0; i < HUB_MAX_SUBS; i++) {
        const struct hub_sub *s = &c->subs[i];
        if (running(s) && s->next_seq <= s->dept->checked_top)
            return true;
    }
    return false;
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
    c->last_write = lws_now_usecs();
    return 1;
}

/* Writes one frame, a queued reply before any event: 1 written, 0 nothing to write, -1 error. */
static int write_one(struct hub *hub, struct hub_client *c)
{
    if (c->control_head)
        return write_control(c);
    for (int k = 0; k < HUB_MAX_SUBS; k++) {
        struct hub_sub *s = &c->subs[(c->next_sub + k) % HUB_MAX_SUBS];
        struct hub_frame *f;
        if (!running(s) || !(f = next_event(hub, c, s)))
            continue;
        if (s->kind == SUB_FHIR) {
            int n = hub_fhir_write(c, s, f);
            if (n < 0)
                return -1;
            c->last_write = lws_now_usecs();
            s->next_seq = f->seq + 1;
            c->next_sub = (c->next_sub + k + 1) % HUB_MAX_SUBS;
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
        if (lws_write(c->wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT) < 0)
            return -1;
        c->last_write = lws_now_usecs();
        s->next_seq = f->seq + 1;
        c->next_sub = (c->next_sub + k + 1) % HUB_MAX_SUBS;
        return 1;
    }
    return 0;
}

int hub_client_writeable(struct hub *hub, struct hub_client *c)
{
    int written = 0, n;

    if (c->session_ended) {
        lws_close_reason(c->wsi, HUB_CLOSE_SESSION_ENDED, (unsigned char *)"session ended", 13);
        return -1;
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

/* ---- heartbeats and stalled sockets ---- */

static void queue_heartbeat(struct hub_client *c)
{
    json_t *tops = json_object();
    char name[48];
    bool any = false;

    for (int i = 0; i < HUB_MAX_SUBS; i++) {
        const struct hub_sub *s = &c->subs[i];
        if (!running(s))
            continue;
        snprintf(name, sizeof name, "%s:%lld", s->kind == SUB_BOARD ? "board" : "chart",
                 s->topic_id);
        json_object_set_new(tops, name, json_integer(s->dept->checked_top));
        any = true;
    }
    if (!any) {
        json_decref(tops);
        return;
    }
    /* A client too far behind to take a heartbeat gets none; its own timer notices. */
    hub_client_queue_json(c, json_pack("{s:s,s:o}", "type", "heartbeat", "tops", tops));
}

/* A socket that has taken nothing for stall_s seconds while data waits for it (a frozen
 * tablet, a dead network path) is closed with a reason; it reconnects and resumes. Its
 * backlog costs the hub nothing meanwhile (it is only a cursor), but the socket does. */
static bool close_if_stalled(struct hub *hub, struct hub_client *c, lws_usec_t now)
{
    if (!has_pending(c) || !lws_send_pipe_choked(c->wsi) ||
        now - c->last_write < (lws_usec_t)hub->stall_s * LWS_US_PER_SEC)
        return false;
    log_info("closing a connection that took no data for %d s (4408)", hub->stall_s);
    lws_close_reason(c->wsi, HUB_CLOSE_TOO_SLOW, (unsigned char *)"too slow", 8);
    /* lws would wait to flush its buffered output before closing, and this reader takes
     * none: end the TCP connection now (the client sees it closed and reconnects). */
    shutdown((int)lws_get_socket_fd(c->wsi), SHUT_RDWR);
    hub_client_cut(c);
    return true;
}

void hub_clients_heartbeat(struct hub *hub)
{
    lws_usec_t now = lws_now_usecs();

    for (struct hub_client *c = hub->clients; c; c = c->next)
        if (!close_if_stalled(hub, c, now)) {
            if (c->fhir_channel)
                hub_fhir_heartbeat(c, now);
            else
                queue_heartbeat(c);
        }
}

/* ---- department changes: whom they concern ---- */

void hub_clients_wake(struct hub *hub, const struct hub_department *d)
{
    for (struct hub_client *c = hub->clients; c; c = c->next)
        for (int i = 0; i < HUB_MAX_SUBS; i++)
            if (running(&c->subs[i]) && c->subs[i].dept == d) {
                lws_callback_on_writable(c->wsi);
                break;
            }
}

/* Walls showing d's board get it again under its new wall setting: marks that were switched
 * off must leave the screen now, not at the patient's next event. */
static void walls_resnapshot(struct hub *hub, struct hub_department *d)
{
    for (struct hub_client *c = hub->clients; c; c = c->next) {
        if (!hub_client_is_wall(c) || c->session_ended)
            continue;
        for (int i = 0; i < HUB_MAX_SUBS; i++) {
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
