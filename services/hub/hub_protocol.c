/* SPDX-License-Identifier: MIT */
/* hub_protocol.c: the lws protocol behind /ws. A client subscribes to a department's board
 * or one encounter's chart with the last seq it has; it gets either the missed events
 * ("recovered") or a snapshot, then every later event in seq order from the department's
 * ring. Control replies (snapshots, errors, heartbeats) wait in a short per-client queue;
 * events are never copied per client, only a cursor moves. Several lws_writes per
 * WRITEABLE while the socket takes them whole (lws_send_pipe_choked). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hub.h"
#include "log.h"
#include "record.h"

#define HUB_SESSION_CHECK_MS 5000 /* how soon a revoked or idle session loses its socket */
#define CLOSE_SESSION_ENDED  4401
#define CLOSE_TOO_SLOW       4408 /* took no data for stall_s while data waited */
#define HUB_WRITES_PER_CALLBACK \
    16 /* frames per WRITEABLE at most, so one client cannot hog the loop */

enum sub_kind { SUB_NONE, SUB_BOARD, SUB_CHART };

struct hub_sub {
    enum sub_kind kind;
    struct hub_department *dept;
    long long encounter_id; /* SUB_CHART only */
    long long next_seq;     /* the next department seq this client needs */
};

struct control_frame {
    struct control_frame *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE + JSON */
};

/* One per WebSocket connection (lws pss). */
struct hub_client {
    struct hub_client *next; /* in hub->clients */
    struct lws *wsi;
    struct hub_sub subs[HUB_MAX_SUBS];
    struct control_frame *control_head, *control_tail;
    int control_count;
    int next_sub; /* round-robin start, so one busy topic cannot starve another */
    char *rx;     /* a message arriving in fragments, malloc'd; NULL otherwise */
    size_t rx_len;
    struct principal *who; /* the signed-in user, checked at the upgrade; malloc'd */
    bool session_ended;    /* close with CLOSE_SESSION_ENDED at the next WRITEABLE */
    lws_usec_t last_write; /* when the socket last took a frame (or opened) */
};

static void end_session(struct hub_client *c);

/* A display session (the public wall) is sent only the masked variants of snapshots and
 * events (board_mask.h); it cannot follow a chart (the access matrix). */
static bool is_wall(const struct hub_client *c)
{
    return c->who && (c->who->roles & ROLE_DISPLAY);
}

static struct hub *hub_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- outgoing control frames ---- */

static bool queue_text(struct hub_client *c, const char *json, size_t len)
{
    struct control_frame *f;

    if (c->control_count >= HUB_MAX_CONTROL)
        return false;
    f = malloc(sizeof *f + LWS_PRE + len);
    if (!f)
        return false;
    f->next = NULL;
    f->len = len;
    memcpy(f->data + LWS_PRE, json, len);
    if (c->control_tail)
        c->control_tail->next = f;
    else
        c->control_head = f;
    c->control_tail = f;
    c->control_count++;
    lws_callback_on_writable(c->wsi);
    return true;
}

static bool queue_json(struct hub_client *c, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    bool ok = text && queue_text(c, text, strlen(text));

    free(text);
    json_decref(doc);
    return ok;
}

static bool queue_error(struct hub_client *c, const struct ed_error *err)
{
    return queue_json(c, json_pack("{s:s,s:s,s:o,s:s}", "type", "error", "code", err->code, "field",
                                   err->field[0] ? json_string(err->field) : json_null(), "message",
                                   err->message));
}

/* ---- subscriptions ---- */

static struct hub_sub *find_sub(struct hub_client *c, enum sub_kind kind, long long id)
{
    for (int i = 0; i < HUB_MAX_SUBS; i++) {
        struct hub_sub *s = &c->subs[i];
        if (s->kind == kind && ((kind == SUB_BOARD && s->dept->id == id) ||
                                (kind == SUB_CHART && s->encounter_id == id)))
            return s;
    }
    return NULL;
}

static struct hub_sub *free_sub(struct hub_client *c)
{
    for (int i = 0; i < HUB_MAX_SUBS; i++)
        if (c->subs[i].kind == SUB_NONE)
            return &c->subs[i];
    return NULL;
}

/* The board snapshot at d->top or later, from the hub's memory when it can be (hub_board.c),
 * so a reconnect storm costs no database read. */
static bool queue_board_snapshot(struct hub *hub, struct hub_client *c, struct hub_sub *s,
                                 struct ed_error *err)
{
    struct hub_department *d = s->dept;
    bool read_from_pg;

    if (!hub_board_snapshot(hub, d, c->who, &read_from_pg, err))
        return false;
    /* Served from memory, audited all the same (a read from PostgreSQL audits itself). */
    if (!read_from_pg && !record_audit(hub->pg, c->who, NULL, "board.read", 0, 0, "board",
                                       "success", false, NULL, c->who->source_addr))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the record could not be reached");
    s->next_seq = d->board_cache_seq + 1;
    if (is_wall(c))
        return queue_text(c, d->wall_cache, d->wall_cache_len) ||
               ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "too many replies queued");
    return queue_text(c, d->board_cache, d->board_cache_len) ||
           ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "too many replies queued");
}

static bool queue_chart_snapshot(struct hub *hub, struct hub_client *c, struct hub_sub *s,
                                 struct ed_error *err)
{
    json_t *chart = record_chart(hub->pg, c->who, s->encounter_id, err);
    long long seq;

    if (!chart)
        return false;
    seq = json_integer_value(json_object_get(chart, "seq"));
    if (seq > s->dept->top && !hub_department_catch_up(hub, s->dept, seq)) {
        json_decref(chart);
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the record could not be reached");
    }
    s->next_seq = seq + 1;
    return queue_json(c,
                      json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "type", "snapshot", "topic", "chart",
                                "encounter_id", (json_int_t)s->encounter_id, "department_id",
                                (json_int_t)s->dept->id, "seq", (json_int_t)seq, "chart", chart)) ||
           ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "too many replies queued");
}

/* Resumes s after since when the ring still holds every event after it; else a snapshot. */
static bool start_sub(struct hub *hub, struct hub_client *c, struct hub_sub *s, long long since,
                      struct ed_error *err)
{
    struct hub_department *d = s->dept;

    if (since > d->top)
        hub_department_catch_up(hub, d, 0); /* the client may be ahead of this hub */
    if (since > 0 && since >= d->first - 1 && since <= d->top) {
        json_t *reply = json_pack("{s:s,s:s,s:s,s:I}", "type", "subscribed", "topic",
                                  s->kind == SUB_BOARD ? "board" : "chart", "mode", "recovered",
                                  "since", (json_int_t)since);
        json_object_set_new(reply, s->kind == SUB_BOARD ? "department_id" : "encounter_id",
                            json_integer(s->kind == SUB_BOARD ? d->id : s->encounter_id));
        s->next_seq = since + 1;
        if (!record_audit(hub->pg, c->who, NULL, s->kind == SUB_BOARD ? "board.read" : "chart.read",
                          0, s->encounter_id, s->kind == SUB_BOARD ? "board" : "chart", "success",
                          false, "recovered", c->who->source_addr)) {
            json_decref(reply);
            return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the record could not be reached");
        }
        return queue_json(c, reply) ||
               ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "too many replies queued");
    }
    return s->kind == SUB_BOARD ? queue_board_snapshot(hub, c, s, err)
                                : queue_chart_snapshot(hub, c, s, err);
}

/* An id or seq from a schema-checked message: JSON Schema lets 3.0 stand for 3. */
static long long int_of(const json_t *msg, const char *key)
{
    const json_t *v = json_object_get(msg, key);

    return json_is_number(v) ? (long long)llround(json_number_value(v)) : 0;
}

static bool subscribe(struct hub *hub, struct hub_client *c, const json_t *msg,
                      struct ed_error *err)
{
    const char *topic = json_string_value(json_object_get(msg, "topic"));
    bool board = !strcmp(topic, "board");
    const char *id_field = board ? "department_id" : "encounter_id";
    const json_t *idv = json_object_get(msg, id_field);
    long long id, since = int_of(msg, "since");
    struct hub_department *d;
    struct hub_sub *s;

    if (!idv)
        return ed_error_set(err, ED_ERR_MISSING_FIELD, id_field, "is required for topic %s", topic);
    id = int_of(msg, id_field);
    /* A snapshot is chart data: the session must be valid now, not only at the last check.
     * This also re-reads the principal (a break-glass grant made since the upgrade). */
    switch (record_session_check(hub->pg, c->who)) {
    case SESSION_OK:
        break;
    case SESSION_NONE:
        end_session(c);
        return ed_error_set(err, ED_ERR_UNAUTHENTICATED, NULL, "the session has ended");
    default:
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the record could not be reached");
    }
    if (!record_allows(c->who, board ? ACT_BOARD_READ : ACT_CHART_READ)) {
        record_audit(hub->pg, c->who, NULL, board ? "board.read" : "chart.read", 0, board ? 0 : id,
                     board ? "board" : "chart", "denied", false, "forbidden", c->who->source_addr);
        return ed_error_set(err, ED_ERR_FORBIDDEN, "topic", "your role may not follow this topic");
    }
    if (board && !record_in_department(c->who, id)) {
        record_audit(hub->pg, c->who, NULL, "board.read", 0, 0, "board", "denied", false,
                     "not_found", c->who->source_addr);
        return ed_error_set(err, ED_ERR_NOT_FOUND, id_field, "no such department");
    }
    if (board) {
        d = hub_department_find(hub, id);
        if (!d && hub_departments_refresh(hub))
            d = hub_department_find(hub, id);
    } else {
        long long dept_id = record_encounter_department(hub->pg, c->who, id);
        if (dept_id < 0)
            return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the record could not be reached");
        d = dept_id ? hub_department_find(hub, dept_id) : NULL;
        if (dept_id && !d && hub_departments_refresh(hub))
            d = hub_department_find(hub, dept_id);
    }
    if (!d) {
        record_audit(hub->pg, c->who, NULL, board ? "board.read" : "chart.read", 0, board ? 0 : id,
                     board ? "board" : "chart", "denied", false, "not_found", c->who->source_addr);
        return ed_error_set(err, ED_ERR_NOT_FOUND, id_field, "no such %s",
                            board ? "department" : "encounter");
    }
    s = find_sub(c, board ? SUB_BOARD : SUB_CHART, id);
    if (!s)
        s = free_sub(c);
    if (!s)
        return ed_error_set(err, ED_ERR_TOO_MANY_SUBSCRIPTIONS, "topic",
                            "at most %d topics per connection", HUB_MAX_SUBS);
    s->kind = board ? SUB_BOARD : SUB_CHART;
    s->dept = d;
    s->encounter_id = board ? 0 : id;
    if (!start_sub(hub, c, s, since, err)) {
        s->kind = SUB_NONE;
        return false;
    }
    return true;
}

static bool unsubscribe(struct hub_client *c, const json_t *msg, struct ed_error *err)
{
    bool board = !strcmp(json_string_value(json_object_get(msg, "topic")), "board");
    const char *id_field = board ? "department_id" : "encounter_id";
    const json_t *idv = json_object_get(msg, id_field);
    struct hub_sub *s;

    if (!idv)
        return ed_error_set(err, ED_ERR_MISSING_FIELD, id_field, "is required");
    s = find_sub(c, board ? SUB_BOARD : SUB_CHART, int_of(msg, id_field));
    if (s)
        s->kind = SUB_NONE;
    return true;
}

/* ---- incoming messages ---- */

static bool handle_message(struct hub *hub, struct hub_client *c, const char *text, size_t len,
                           struct ed_error *err)
{
    json_t *msg = schema_parse_body(text, len, 4, err);
    const char *type;
    char schema_name[64];
    const json_t *schema;
    bool ok;

    if (!msg)
        return false;
    if (!json_is_object(msg)) {
        json_decref(msg);
        return ed_error_set(err, ED_ERR_WRONG_TYPE, NULL, "a message must be a JSON object");
    }
    type = json_string_value(json_object_get(msg, "type"));
    if (!type) {
        enum ed_code id = json_object_get(msg, "type") ? ED_ERR_WRONG_TYPE : ED_ERR_MISSING_FIELD;

        json_decref(msg);
        return ed_error_set(err, id, "type", "must be one of: subscribe, unsubscribe, ping");
    }
    snprintf(schema_name, sizeof schema_name, "ws/client.%s", type);
    schema = strchr(type, '/') ? NULL : schema_set_find(hub->schemas, schema_name);
    if (!schema) {
        json_decref(msg);
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "type",
                            "must be one of: subscribe, unsubscribe, ping");
    }
    ok = schema_validate(schema, msg, err);
    if (ok && !strcmp(type, "subscribe"))
        ok = subscribe(hub, c, msg, err);
    else if (ok && !strcmp(type, "unsubscribe"))
        ok = unsubscribe(c, msg, err);
    else if (ok && !strcmp(type, "ping"))
        ok = queue_text(c, "{\"type\":\"pong\"}", 15) ||
             ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "too many replies queued");
    json_decref(msg);
    return ok;
}

static int on_receive(struct hub *hub, struct hub_client *c, struct lws *wsi, const char *in,
                      size_t len)
{
    struct ed_error err = {0};
    bool whole = lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi);

    if (!whole) {
        /* Gather fragments, up to HUB_MAX_MESSAGE. */
        if (c->rx_len + len > HUB_MAX_MESSAGE) {
            free(c->rx);
            c->rx = NULL;
            c->rx_len = 0;
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             (unsigned char *)"message too large", 17);
            return -1;
        }
        char *grown = realloc(c->rx, c->rx_len + len);
        if (!grown)
            return -1;
        c->rx = grown;
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (!lws_is_final_fragment(wsi))
            return 0;
        in = c->rx;
        len = c->rx_len;
    }
    if (len > HUB_MAX_MESSAGE) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)"message too large", 17);
        return -1;
    }
    if (!handle_message(hub, c, in, len, &err)) {
        if (err.status >= 500)
            log_warn("client message refused: %d %s", err.status, err.code);
        if (!queue_error(c, &err))
            return -1; /* a client that ignores its replies is cut */
    }
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    return 0;
}

/* ---- writing ---- */

/* The next event frame for s, advancing past other encounters' events for a chart. When the
 * client has fallen out of the ring, it is given a fresh snapshot instead. */
static struct hub_frame *next_event(struct hub *hub, struct hub_client *c, struct hub_sub *s)
{
    struct hub_department *d = s->dept;

    /* Out of the ring, or further behind than the bound: the backlog is not worth sending
     * (and a frozen tablet must not make the hub hold it); a snapshot replaces it. */
    if (s->next_seq <= d->top &&
        (s->next_seq < d->first || d->top - s->next_seq + 1 > hub->max_lag)) {
        struct ed_error err = {0};
        hub->resyncs++;
        log_info("client fell %lld events behind dept %lld (bound %lld); resyncing with a "
                 "snapshot (%llu so far)",
                 d->top - s->next_seq + 1, d->id, hub->max_lag, hub->resyncs);
        if (!(s->kind == SUB_BOARD ? queue_board_snapshot(hub, c, s, &err)
                                   : queue_chart_snapshot(hub, c, s, &err)))
            s->next_seq = d->top + 1; /* nothing to resume from; the client's heartbeat check
                                         sees the gap and resubscribes */
        return NULL;
    }
    while (s->next_seq <= d->top) {
        struct hub_frame *f = hub_department_frame(d, s->next_seq);
        if (!f)
            return NULL;
        if (s->kind == SUB_BOARD || f->encounter_id == s->encounter_id)
            return f;
        s->next_seq++;
    }
    return NULL;
}

static bool has_pending(struct hub_client *c)
{
    if (c->control_head)
        return true;
    for (int i = 0; i < HUB_MAX_SUBS; i++) {
        const struct hub_sub *s = &c->subs[i];
        if (s->kind != SUB_NONE && s->next_seq <= s->dept->top)
            return true;
    }
    return false;
}

/* Writes one frame, a queued reply before any event: 1 written, 0 nothing to write, -1 error. */
static int write_one(struct hub *hub, struct hub_client *c, struct lws *wsi)
{
    if (c->control_head) {
        struct control_frame *f = c->control_head;
        int n = lws_write(wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
        c->control_head = f->next;
        if (!c->control_head)
            c->control_tail = NULL;
        c->control_count--;
        free(f);
        if (n < 0)
            return -1;
        c->last_write = lws_now_usecs();
        return 1;
    }
    for (int k = 0; k < HUB_MAX_SUBS; k++) {
        struct hub_sub *s = &c->subs[(c->next_sub + k) % HUB_MAX_SUBS];
        struct hub_frame *f;
        if (s->kind == SUB_NONE)
            continue;
        f = next_event(hub, c, s);
        if (!f)
            continue;
        if (is_wall(c)) {
            if (!f->wall) { /* never the unmasked frame: the wall's gap check resubscribes */
                s->next_seq = f->seq + 1;
                continue;
            }
            if (lws_write(wsi, f->wall->data + LWS_PRE, f->wall->len, LWS_WRITE_TEXT) < 0)
                return -1;
        } else if (lws_write(wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT) < 0)
            return -1;
        c->last_write = lws_now_usecs();
        s->next_seq = f->seq + 1;
        c->next_sub = (c->next_sub + k + 1) % HUB_MAX_SUBS;
        return 1;
    }
    return 0;
}

static int on_writeable(struct hub *hub, struct hub_client *c, struct lws *wsi)
{
    int written = 0, n;

    if (c->session_ended) {
        lws_close_reason(wsi, CLOSE_SESSION_ENDED, (unsigned char *)"session ended", 13);
        return -1;
    }
    /* A client behind by several frames takes them in one callback while its socket accepts
     * them whole (lws buffers a partial write, and then nothing more may be written): one
     * trip through the event loop per frame made lagging clients fall further behind. */
    do {
        n = write_one(hub, c, wsi);
        if (n < 0)
            return -1;
        written += n;
    } while (n > 0 && written < HUB_WRITES_PER_CALLBACK && has_pending(c) &&
             !lws_send_pipe_choked(wsi));
    if (has_pending(c))
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- heartbeat and periodic check ---- */

static void queue_heartbeat(struct hub_client *c)
{
    json_t *tops = json_object();
    char name[48];
    bool any = false;

    for (int i = 0; i < HUB_MAX_SUBS; i++) {
        const struct hub_sub *s = &c->subs[i];
        if (s->kind == SUB_NONE)
            continue;
        if (s->kind == SUB_BOARD)
            snprintf(name, sizeof name, "board:%lld", s->dept->id);
        else
            snprintf(name, sizeof name, "chart:%lld", s->encounter_id);
        json_object_set_new(tops, name, json_integer(s->dept->top));
        any = true;
    }
    if (!any) {
        json_decref(tops);
        return;
    }
    /* A client too far behind to take a heartbeat gets none; its own timer notices. */
    queue_json(c, json_pack("{s:s,s:o}", "type", "heartbeat", "tops", tops));
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
    lws_close_reason(c->wsi, CLOSE_TOO_SLOW, (unsigned char *)"too slow", 8);
    /* lws would wait to flush its buffered output before closing, and this reader takes
     * none: end the TCP connection now (the client sees it closed and reconnects). */
    shutdown((int)lws_get_socket_fd(c->wsi), SHUT_RDWR);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    return true;
}

static void on_heartbeat_timer(lws_sorted_usec_list_t *sul)
{
    struct hub *hub = lws_container_of(sul, struct hub, heartbeat_timer);
    lws_usec_t now = lws_now_usecs();

    for (struct hub_client *c = hub->clients; c; c = c->next)
        if (!close_if_stalled(hub, c, now))
            queue_heartbeat(c);
    lws_sul_schedule(hub->ctx, 0, &hub->heartbeat_timer, on_heartbeat_timer,
                     HUB_HEARTBEAT_S * LWS_US_PER_SEC);
}

static void on_check_timer(lws_sorted_usec_list_t *sul)
{
    struct hub *hub = lws_container_of(sul, struct hub, check_timer);

    /* Catches events Redis never had (it was down, or restarted empty). */
    hub_departments_refresh(hub);
    lws_sul_schedule(hub->ctx, 0, &hub->check_timer, on_check_timer, HUB_CHECK_MS * LWS_US_PER_MS);
}

/* A chart followed through emergency access stops when the grant ends. */
static void drop_lapsed_charts(struct hub *hub, struct hub_client *c)
{
    for (int i = 0; i < HUB_MAX_SUBS; i++) {
        struct hub_sub *s = &c->subs[i];
        struct ed_error err = {0};
        if (s->kind != SUB_CHART || record_in_department(c->who, s->dept->id) ||
            record_encounter_department(hub->pg, c->who, s->encounter_id) != 0)
            continue;
        s->kind = SUB_NONE;
        ed_error_set(&err, ED_ERR_ACCESS_ENDED, "encounter_id",
                     "emergency access to this chart has ended");
        queue_error(c, &err);
    }
}

/* Whether c follows a topic of department d. */
static bool follows(const struct hub_client *c, const struct hub_department *d)
{
    for (int i = 0; i < HUB_MAX_SUBS; i++)
        if (c->subs[i].kind != SUB_NONE && c->subs[i].dept == d)
            return true;
    return false;
}

/* Idle time-out, sign-out, disabled account: a socket whose session is no longer valid is
 * closed and sends nothing more. WebSocket traffic is not activity (it does not touch). */
static void end_session(struct hub_client *c)
{
    c->session_ended = true;
    lws_callback_on_writable(c->wsi);
}

/* Checks, in one query, the sessions of every socket (d NULL) or of those following d; a socket
 * whose session has ended is marked to close before it is sent anything more. With grants,
 * also ends emergency access to charts whose grant has run out. */
static void check_sessions(struct hub *hub, const struct hub_department *d, bool grants)
{
    struct hub_client **checked = NULL;
    unsigned char(*hashes)[32] = NULL;
    bool *live = NULL;
    size_t n = 0, cap = 0;

    /* PostgreSQL is away (restarting): keep delivering; the 1 s check reconnects, and the
     * sessions are checked again then. */
    if (PQstatus(hub->pg) != CONNECTION_OK)
        return;
    /* One query for every socket, not one per socket: the loop must not stall. */
    for (struct hub_client *c = hub->clients; c; c = c->next)
        cap++;
    if (cap) {
        checked = calloc(cap, sizeof *checked);
        hashes = calloc(cap, sizeof *hashes);
        live = calloc(cap, sizeof *live);
    }
    if (checked && hashes && live) {
        for (struct hub_client *c = hub->clients; c; c = c->next) {
            if (!c->who || c->session_ended || (d && !follows(c, d)))
                continue;
            checked[n] = c;
            memcpy(hashes[n++], c->who->token_hash, 32);
        }
        if (n && record_sessions_alive(hub->pg, (const unsigned char(*)[32])hashes, n, live,
                                       d == NULL)) {
            for (size_t i = 0; i < n; i++) {
                struct hub_client *c = checked[i];
                if (!live[i]) {
                    end_session(c);
                    continue;
                }
                /* Emergency access ends on its own clock: re-read those principals. */
                if (grants && c->who->n_patients > 0) {
                    if (record_session_check(hub->pg, c->who) == SESSION_NONE)
                        end_session(c);
                    else
                        drop_lapsed_charts(hub, c);
                }
            }
        }
    }
    free(checked);
    free(hashes);
    free(live);
}

static void on_session_timer(lws_sorted_usec_list_t *sul)
{
    struct hub *hub = lws_container_of(sul, struct hub, session_timer);

    check_sessions(hub, NULL, true);
    lws_sul_schedule(hub->ctx, 0, &hub->session_timer, on_session_timer,
                     HUB_SESSION_CHECK_MS * LWS_US_PER_MS);
}

/* New events for d: the sessions of its followers are checked first (one query), so an
 * event is never sent on a session that ended since the last periodic check. */
void hub_clients_wake(struct hub *hub, const struct hub_department *d)
{
    check_sessions(hub, d, false);
    for (struct hub_client *c = hub->clients; c; c = c->next)
        if (follows(c, d))
            lws_callback_on_writable(c->wsi);
}

void hub_walls_resnapshot(struct hub *hub, struct hub_department *d)
{
    for (struct hub_client *c = hub->clients; c; c = c->next) {
        struct hub_sub *s;
        struct ed_error err = {0};

        if (!is_wall(c) || c->session_ended || !(s = find_sub(c, SUB_BOARD, d->id)))
            continue;
        if (!queue_board_snapshot(hub, c, s, &err)) {
            /* Never the old masking: nothing held is sent; the wall sees the gap at its
             * next heartbeat and subscribes again. */
            log_warn("wall snapshot after a wall_shows_flags change failed: %s", err.code);
            s->next_seq = d->top + 1;
        }
    }
}

/* ---- connection life ---- */

/* At the upgrade: the Origin must be ours (when a browser sends one) and the session valid;
 * otherwise the handshake is refused before any data flows. */
static int on_upgrade(struct hub *hub, struct hub_client *c, struct lws *wsi)
{
    char origin[160] = "", authorization[256] = "", cookies[1024] = "", token[64], peer[64] = "",
         real[64] = "";
    bool from_cookie;
    struct principal *who;

    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) > 0 &&
        !record_origin_allowed(hub->allowed_origins, origin)) {
        log_warn("websocket refused: origin not allowed");
        return 1;
    }
    lws_hdr_copy(wsi, authorization, sizeof authorization, WSI_TOKEN_HTTP_AUTHORIZATION);
    lws_hdr_copy(wsi, cookies, sizeof cookies, WSI_TOKEN_HTTP_COOKIE);
    if (!record_session_token(authorization, cookies, token, sizeof token, &from_cookie))
        return 1;
    who = calloc(1, sizeof *who);
    if (!who)
        return 1;
    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (lws_hdr_copy(wsi, real, sizeof real, WSI_TOKEN_HTTP_X_REAL_IP) < 0)
        real[0] = '\0';
    record_client_address(peer, real, who->source_addr, sizeof who->source_addr);
    if (record_session(hub->pg, token, false, who) != SESSION_OK) {
        free(who);
        return 1;
    }
    c->who = who;
    return 0;
}

static void client_open(struct hub *hub, struct hub_client *c, struct lws *wsi)
{
    /* Bound what the kernel holds for this socket too: with autotuning a stalled reader can
     * park megabytes there (measured: 3.9 MB on loopback), hiding its lag from the hub. */
    if (hub->sndbuf > 0) {
        int fd = (int)lws_get_socket_fd(wsi);
        if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &hub->sndbuf, sizeof hub->sndbuf))
            log_warn("SO_SNDBUF not set on a new connection");
    }
    c->wsi = wsi;
    c->last_write = lws_now_usecs();
    c->next = hub->clients;
    hub->clients = c;
}

static void client_close(struct hub *hub, struct hub_client *c)
{
    struct hub_client **pp;

    for (pp = &hub->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    while (c->control_head) {
        struct control_frame *f = c->control_head;
        c->control_head = f->next;
        free(f);
    }
    free(c->rx);
    c->rx = NULL;
    free(c->who);
    c->who = NULL;
}

static int protocol_init(struct hub *hub, struct lws_context *ctx)
{
    hub->ctx = ctx; /* called from inside lws_create_context(), before it returns */
    lws_sul_schedule(hub->ctx, 0, &hub->check_timer, on_check_timer, HUB_CHECK_MS * LWS_US_PER_MS);
    lws_sul_schedule(hub->ctx, 0, &hub->heartbeat_timer, on_heartbeat_timer,
                     HUB_HEARTBEAT_S * LWS_US_PER_SEC);
    lws_sul_schedule(hub->ctx, 0, &hub->session_timer, on_session_timer,
                     HUB_SESSION_CHECK_MS * LWS_US_PER_MS);
    return 0;
}

int hub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct hub *hub = hub_of(wsi);
    struct hub_client *c = user;

    switch (reason) {
    case LWS_CALLBACK_PROTOCOL_INIT:
        return protocol_init(hub, lws_get_context(wsi));
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (hub->feed)
            hub_feed_drain(hub->feed, hub);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_upgrade(hub, c, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        client_open(hub, c, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c->who || c->session_ended)
            return -1;
        return on_receive(hub, c, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(hub, c, wsi);
    case LWS_CALLBACK_CLOSED:
        client_close(hub, c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        /* An upgrade refused or broken after FILTER never reaches CLOSED. */
        if (c) {
            free(c->who);
            c->who = NULL;
        }
        return 0;
    default:
        return 0;
    }
}

size_t hub_client_size(void)
{
    return sizeof(struct hub_client);
}
