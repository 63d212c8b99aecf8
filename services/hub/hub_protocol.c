/* SPDX-License-Identifier: MIT */
/* hub_protocol.c: the lws protocol behind /ws, one short case per callback reason. A client
 * subscribes to a department's board or one encounter's chart with the last seq it has; it
 * gets either the missed events ("recovered") or a snapshot, then every later event in seq
 * order from the department's ring. Messages in: hub_messages.c; the subscribe's reads:
 * hub_subscribe.c; writing: hub_client_queue.c; sessions: hub_sessions.c; the tops check:
 * hub_check.c. Redis entries (hub_feed.c) and database results (hub_db.c) are taken in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "hub_client.h"
#include "hub_db.h"
#include "log.h"
#include "pg.h"
#include "record.h"

static struct hub *hub_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* At the upgrade: the Origin must be ours (when a browser sends one) and the session valid;
 * otherwise the handshake is refused before any data flows. lws 4.1 must answer the upgrade
 * inside this callback (it cannot hold a handshake open), so this lookup is the one statement
 * the lws thread runs itself: one indexed read, on a connection of its own (hub->upgrade_pg)
 * that waits behind nothing; when that connection is down the upgrade is refused (the client
 * retries) while the database worker reconnects it. */
struct reset_job {
    struct hub_db_job base;
    PGconn *conn; /* the worker's while the job is under way */
};

static void reset_run(PGconn *pg, struct hub_db_job *job)
{
    (void)pg;
    pg_ensure(((struct reset_job *)job)->conn);
}

static void reset_done(struct hub *hub, struct hub_db_job *job)
{
    if (hub) {
        hub->upgrade_pg_resetting = false;
        hub->upgrade_pg_lost = PQstatus(hub->upgrade_pg) != CONNECTION_OK;
    }
    free(job);
}

/* hub->upgrade_pg lost its server: the worker reconnects it (PQreset blocks). */
static void reset_upgrade_pg(struct hub *hub)
{
    struct reset_job *j = calloc(1, sizeof *j);

    if (!j || !hub->db) {
        free(j);
        return;
    }
    j->conn = hub->upgrade_pg;
    hub->upgrade_pg_resetting = true;
    hub_db_submit(hub->db, &j->base, reset_run, reset_done);
}

/* A refused upgrade answers an HTTP status with the contract's error body (proto/README.md
 * "Errors"), so a client can tell "sign in again" (401) from "not from this page" (403) instead
 * of seeing a bare close. lws 4.1 lets FILTER_PROTOCOL_CONNECTION write on the still-HTTP
 * connection: the short response goes out at once on a fresh socket, then returning nonzero
 * closes it. */
/* A PostgreSQL restart closes upgrade_pg while it sits idle, and libpq notices only at the
 * next query: the next client's upgrade. Watched every heartbeat tick instead, a closed
 * connection is reconnected in the background before a client needs it. */
static void watch_upgrade_pg(struct hub *hub)
{
    if (hub->upgrade_pg_resetting || !hub->upgrade_pg)
        return;
    if (pg_idle_alive(hub->upgrade_pg))
        return;
    if (PQstatus(hub->upgrade_pg) == CONNECTION_OK || !hub->upgrade_pg_lost) {
        log_warn("upgrade connection to PostgreSQL lost: reconnecting");
        hub->upgrade_pg_lost = true;
    }
    reset_upgrade_pg(hub);
}

/* nginx's X-Request-Id of this upgrade, when it is a sane token (else NULL: never logged). */
static const char *upgrade_request_id(struct lws *wsi, char *buf, size_t cap)
{
    int n = lws_hdr_custom_length(wsi, "x-request-id:", 13);

    if (n <= 0 || (size_t)n >= cap ||
        lws_hdr_custom_copy(wsi, buf, (int)cap, "x-request-id:", 13) != n ||
        !log_request_id_is_sane(buf, (size_t)n))
        return NULL;
    return buf;
}

static int refuse_upgrade(struct lws *wsi, enum ed_code code, const char *message)
{
    char id[LOG_REQUEST_ID_MAX + 1], status[16];
    unsigned char buf[LWS_PRE + 640], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof buf - 1;
    struct ed_error err = {0};
    json_t *doc;
    char *body;
    size_t len;

    ed_error_set(&err, code, NULL, "%s", message);
    snprintf(status, sizeof status, LOG_NUM "%d", err.status);
    log_fields("info", "upgrade refused", "request_id",
               upgrade_request_id(wsi, id, sizeof id) ? id : LOG_NULL, "status", status, "code",
               err.code, (const char *)NULL);
    doc = ed_error_json(&err);
    body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    len = body ? strlen(body) : 0;
    if (body && len < 400 &&
        !lws_add_http_common_headers(wsi, (unsigned)err.status, "application/json", len, &p, end) &&
        !lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (unsigned char *)"close", 5, &p,
                                      end) &&
        !lws_finalize_http_header(wsi, &p, end)) {
        memcpy(p, body, len);
        p += len;
        if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0)
            log_warn("refused upgrade: the status could not be written");
    }
    free(body);
    return 1;
}

#define SESSION_ENDED_MESSAGE "the session has expired, idled out or been ended: sign in"

static int check_upgrade(struct hub *hub, struct hub_client *c, struct lws *wsi);

/* The upgrade's line: its request id, 101 and who, or nothing when refused (refuse_upgrade
 * wrote that line). */
static int on_upgrade(struct hub *hub, struct hub_client *c, struct lws *wsi)
{
    char status[16] = LOG_NUM "101", user[32], duration[32], id[LOG_REQUEST_ID_MAX + 1];
    int refused;

    c->upgrade_at = lws_now_usecs();
    refused = check_upgrade(hub, c, wsi);
    if (refused)
        return refused;
    /* Kept only when there is one (nginx always sends one): no 65 bytes in every connection. */
    if (upgrade_request_id(wsi, id, sizeof id))
        c->request_id = strdup(id); /* NULL when out of memory: the logs say null */
    if (c->who)
        snprintf(user, sizeof user, LOG_NUM "%lld", c->who->account_id);
    snprintf(duration, sizeof duration, LOG_NUM "%.3f",
             (double)(lws_now_usecs() - c->upgrade_at) / 1000.0);
    log_fields("info", "upgrade", "request_id", c->request_id ? c->request_id : LOG_NULL, "status",
               status, "user_id", c->who ? user : LOG_NULL, "duration_ms", duration,
               (const char *)NULL);
    return 0;
}

/* The client's address for its audit rows: X-Real-IP from a trusted proxy, else the peer. */
static void keep_client_address(struct hub_client *c, struct lws *wsi)
{
    char peer[64] = "", real[64] = "", addr[64];

    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (lws_hdr_copy(wsi, real, sizeof real, WSI_TOKEN_HTTP_X_REAL_IP) < 0)
        real[0] = '\0';
    record_client_address(peer, real, addr, sizeof addr);
    hub_client_set_addr(c, addr, peer);
}

static int check_upgrade(struct hub *hub, struct hub_client *c, struct lws *wsi)
{
    char origin[160] = "", authorization[256] = "", cookies[1024] = "", token[64],
         base[sizeof c->fhir_channel->base];
    bool from_cookie;
    struct principal who = {0};
    struct hub_session *held = NULL;
    enum record_session_result found;

    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) > 0 &&
        !record_origin_allowed(hub->allowed_origins, origin)) {
        log_warn("websocket refused: origin not allowed");
        return refuse_upgrade(wsi, ED_ERR_ORIGIN_NOT_ALLOWED,
                              "a WebSocket from this page is refused (EDLIVE_ALLOWED_ORIGINS)");
    }
    if (hub->draining)
        return refuse_upgrade(wsi, ED_ERR_UNAVAILABLE, "restarting: try another hub");
    if (hub_fhir_is_channel(wsi, base, sizeof base)) {
        /* The FHIR channel: the session comes with bind-with-token (hub_fhir.c). */
        c->fhir_channel = calloc(1, sizeof *c->fhir_channel);
        if (!c->fhir_channel)
            return 1;
        snprintf(c->fhir_channel->base, sizeof c->fhir_channel->base, "%s", base);
        keep_client_address(c, wsi); /* for its audit rows once bound */
        return 0;
    }
    lws_hdr_copy(wsi, authorization, sizeof authorization, WSI_TOKEN_HTTP_AUTHORIZATION);
    lws_hdr_copy(wsi, cookies, sizeof cookies, WSI_TOKEN_HTTP_COOKIE);
    if (!record_session_token(authorization, cookies, token, sizeof token, &from_cookie))
        return refuse_upgrade(wsi, ED_ERR_UNAUTHENTICATED, "no session: sign in");
    keep_client_address(c, wsi);
    /* A session the hub holds, checked by a recent round: no read at all (a reconnect storm
     * of one session's boards costs one read, for its first socket). */
    if (strlen(token) == AUTH_TOKEN_CHARS) {
        unsigned char hash[32];
        auth_sha256(token, strlen(token), hash);
        held = hub_session_find(hash);
    }
    if (held && held->ended)
        return refuse_upgrade(wsi, ED_ERR_UNAUTHENTICATED, SESSION_ENDED_MESSAGE);
    if (held && lws_now_usecs() - held->checked_at < HUB_SESSION_TRUST_MS * LWS_US_PER_MS) {
        held->refs++;
        c->session = held;
        c->who = &held->who;
        return 0;
    }
    found = hub->upgrade_pg_resetting || PQstatus(hub->upgrade_pg) != CONNECTION_OK
                ? SESSION_DB_ERROR
                : record_session(hub->upgrade_pg, token, false, &who);
    if (found == SESSION_OK)
        c->session = hub_session_take(&who);
    if (found == SESSION_NONE && held)
        hub_session_mark_ended(held);
    if (!c->session) {
        if (!hub->upgrade_pg_resetting && PQstatus(hub->upgrade_pg) != CONNECTION_OK)
            reset_upgrade_pg(hub);
        return found == SESSION_DB_ERROR
                   ? refuse_upgrade(wsi, ED_ERR_UNAVAILABLE, "try again")
                   : refuse_upgrade(wsi, ED_ERR_UNAUTHENTICATED, SESSION_ENDED_MESSAGE);
    }
    c->who = &c->session->who;
    return 0;
}

static void client_open(struct hub *hub, struct hub_client *c, struct lws *wsi)
{
    c->id = ++hub->next_client_id;
    c->wsi = wsi;
    c->next = hub->clients;
    hub->clients = c;
    hub_client_index(hub, c);
    hub_client_opened(hub, c); /* socket options, the heartbeat round */
}

static void client_close(struct hub *hub, struct hub_client *c)
{
    char code[16], connected[32];

    snprintf(code, sizeof code, LOG_NUM "%d", c->close_code);
    snprintf(connected, sizeof connected, LOG_NUM "%.3f",
             (double)(lws_now_usecs() - c->upgrade_at) / 1000.0);
    log_fields("info", "close", "request_id", c->request_id ? c->request_id : LOG_NULL, "code",
               c->close_code ? code : LOG_NULL, "connected_ms", connected, (const char *)NULL);
    hub_members_changed(hub); /* no member list may keep c */
    hub_client_closing(hub, c);
    if (c->id)
        hub_client_unindex(hub, c);
    for (struct hub_client **pp = &hub->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    hub_client_free(c);
}

static void on_heartbeat_timer(lws_sorted_usec_list_t *sul)
{
    struct hub *hub = lws_container_of(sul, struct hub, heartbeat_timer);

    hub_clients_heartbeat_slice(hub);
    watch_upgrade_pg(hub);
    /* Every 10 s, give back the heap a storm left: lws copies what a socket could not take at
     * once (a 55 KB snapshot to each of thousands of new sockets), and malloc keeps those pages
     * after they are freed, which would count as memory per idle connection. */
    if (++hub->trim_ticks * HUB_HEARTBEAT_TICK_MS >= 10000) {
        hub->trim_ticks = 0;
        malloc_trim(0);
    }
    lws_sul_schedule(hub->ctx, 0, &hub->heartbeat_timer, on_heartbeat_timer,
                     HUB_HEARTBEAT_TICK_MS * LWS_US_PER_MS);
}

static int protocol_init(struct hub *hub, struct lws_context *ctx)
{
    hub->ctx = ctx; /* called from inside lws_create_context(), before it returns */
    hub_check_init(hub);
    hub_sessions_init(hub);
    lws_sul_schedule(hub->ctx, 0, &hub->heartbeat_timer, on_heartbeat_timer,
                     HUB_HEARTBEAT_TICK_MS * LWS_US_PER_MS);
    return 0;
}

/* Redis entries and database results, handed over by their threads. */
static void take_handovers(struct hub *hub)
{
    if (hub->feed)
        hub_feed_drain(hub->feed, hub);
    if (hub->db)
        hub_db_drain(hub->db, hub);
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
        take_handovers(hub);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_upgrade(hub, c, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        client_open(hub, c, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (c->fhir_channel && !c->session_ended)
            return hub_fhir_receive(hub, c, in, len);
        if (!c->who || c->session_ended)
            return -1;
        return hub_messages_receive(hub, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return hub_client_writeable(hub, c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* The client's close code: two bytes, network order. */
        if (c && len >= 2)
            c->close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        return 0;
    case LWS_CALLBACK_CLOSED:
        client_close(hub, c);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        /* An upgrade refused or broken after FILTER never reaches CLOSED. */
        if (c) {
            hub_session_release(c->session);
            c->session = NULL;
            c->who = NULL;
            free(c->fhir_channel);
            c->fhir_channel = NULL;
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
