/* SPDX-License-Identifier: MIT */
/* ed-hub: live WebSocket delivery of every committed change. Three threads: the lws service
 * thread (every socket, all hub state, on a libuv loop main() turns), the Redis reader
 * (hub_feed.c) and the PostgreSQL worker (hub_db.c); both hand their results over with
 * lws_cancel_service(). main() reads the settings, opens two PostgreSQL connections (the worker's,
 * and the upgrade's session lookup; and a third, the worker's too, to a streaming replica when
 * EDLIVE_PG_REPLICA is set), creates the lws context, starts the reader, reads every department
 * once (hub_start) and runs the loop. Settings from the environment: the table below (`ed-hub
 * --help`, README.md Settings; backpressure in hub.h). Flow: README.md. */
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "auth.h"
#include "config.h"
#include "hub.h"
#include "hub_client.h"
#include "hub_ops.h"
#include "log.h"
#include "pg.h"
#include "record.h"
#include "reload.h"

static volatile sig_atomic_t interrupted;

enum hub_setting {
    HUB_PG,
    HUB_PG_REPLICA,
    HUB_REDIS,
    HUB_REDIS_SENTINELS,
    HUB_REDIS_MASTER,
    HUB_LISTEN,
    HUB_PORT,
    HUB_PROTO_DIR,
    HUB_ALLOWED_ORIGINS,
    HUB_SESSION_IDLE_S,
    HUB_SESSION_MAX_S,
    HUB_TLS_CERT,
    HUB_TLS_KEY,
    HUB_MAX_LAG,
    HUB_STALL_S,
    HUB_BOARD_MAX_AGE_S,
    HUB_SNDBUF,
    HUB_ENV_FILES,
    HUB_TRUSTED_PROXIES,
    HUB_SETTING_COUNT
};

static const struct config_setting hub_settings[HUB_SETTING_COUNT] = {
    [HUB_PG] = CONFIG_SHARED("EDLIVE_PG"),
    [HUB_PG_REPLICA] = CONFIG_SHARED("EDLIVE_PG_REPLICA"),
    [HUB_REDIS] = CONFIG_SHARED("EDLIVE_REDIS"),
    [HUB_REDIS_SENTINELS] = CONFIG_SHARED("EDLIVE_REDIS_SENTINELS"),
    [HUB_REDIS_MASTER] = CONFIG_SHARED("EDLIVE_REDIS_MASTER"),
    [HUB_LISTEN] = CONFIG_SHARED("EDLIVE_LISTEN"),
    [HUB_PORT] = {"EDLIVE_HUB_PORT", CONFIG_PORT, "8482", 0, 0, "ed-hub's port", false},
    [HUB_PROTO_DIR] = CONFIG_SHARED("EDLIVE_PROTO_DIR"),
    [HUB_ALLOWED_ORIGINS] = CONFIG_SHARED("EDLIVE_ALLOWED_ORIGINS"),
    [HUB_SESSION_IDLE_S] = CONFIG_SHARED("EDLIVE_SESSION_IDLE_S"),
    [HUB_SESSION_MAX_S] = CONFIG_SHARED("EDLIVE_SESSION_MAX_S"),
    [HUB_TLS_CERT] = CONFIG_SHARED("EDLIVE_TLS_CERT"),
    [HUB_TLS_KEY] = CONFIG_SHARED("EDLIVE_TLS_KEY"),
    [HUB_MAX_LAG] = {"EDLIVE_HUB_MAX_LAG", CONFIG_INT, CONFIG_NUMBER_TEXT(HUB_DEFAULT_MAX_LAG), 1,
                     HUB_RING_SIZE - 1,
                     "a client this many events behind gets a snapshot instead of the backlog "
                     "(the test deployment: `100`)",
                     false},
    [HUB_STALL_S] = {"EDLIVE_HUB_STALL_S", CONFIG_INT, CONFIG_NUMBER_TEXT(HUB_DEFAULT_STALL_S), 1,
                     3600,
                     "a socket on which data has waited this long (seconds) is closed with 4408; "
                     "a peer that acknowledges nothing for 25 s more is ended by the kernel "
                     "(TCP_USER_TIMEOUT)",
                     false},
    [HUB_BOARD_MAX_AGE_S] = {"EDLIVE_HUB_BOARD_MAX_AGE_S", CONFIG_INT,
                             CONFIG_NUMBER_TEXT(HUB_DEFAULT_BOARD_MAX_AGE_S), 1, 86400,
                             "the board each hub keeps in memory (brought forward with events, so "
                             "snapshots cost no database read) is read afresh from PostgreSQL "
                             "when older than this (seconds)",
                             false},
    [HUB_SNDBUF] = {"EDLIVE_HUB_SNDBUF", CONFIG_INT, CONFIG_NUMBER_TEXT(HUB_DEFAULT_SNDBUF), 0,
                    16 * 1024 * 1024,
                    "the kernel send buffer of each socket (SO_SNDBUF, bytes; the kernel doubles "
                    "it), so a stalled reader's backlog shows as lag at the hub instead of hiding "
                    "in kernel memory; `0` leaves it to autotuning",
                    false},
    [HUB_ENV_FILES] = CONFIG_SHARED("EDLIVE_ENV_FILES"),
    [HUB_TRUSTED_PROXIES] = CONFIG_SHARED("EDLIVE_TRUSTED_PROXIES"),
};

static struct config_value hub_values[HUB_SETTING_COUNT];
static struct config hub_config = {"ed-hub", "live WebSocket delivery of every committed change",
                                   hub_settings, HUB_SETTING_COUNT, hub_values};

static volatile sig_atomic_t drain_requested;

static void on_signal(int sig)
{
    if (sig == SIGTERM && !drain_requested)
        drain_requested = 1;
    else
        interrupted = 1; /* SIGINT, or a second SIGTERM: stop now */
}

/* The vhost's SSL_CTX (TLS in the service), which a SIGHUP gives the renewed certificate. lws
 * 4.1.6 exports no getter: it hands the context to protocol 0 once, when it sets up the vhost. */
static SSL_CTX *vhost_ssl_ctx;

static int hub_protocol0_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                                  void *in, size_t len)
{
    if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS)
        vhost_ssl_ctx = user;
    return hub_ops_http_callback(wsi, reason, user, in, len);
}

/* From the SIGHUP thread: lws_cancel_service is lws's way to wake the loop from another thread. */
static void wake_loop(void *ctx)
{
    lws_cancel_service(ctx);
}

/* Turns the loop until nothing is left to run (lws's handles closing), at most 1,000 times. */
static void turn_until_idle(uv_loop_t *loop)
{
    for (int turns = 0; turns < 1000 && uv_run(loop, UV_RUN_NOWAIT); turns++)
        ;
}

/* SIGTERM: every socket gets the close 1012 "restarting", so its page reconnects at once and
 * resumes with its seq elsewhere instead of waiting out a silent socket; a new upgrade is
 * refused 503 (nginx passes it on to another hub). Then the hub exits. (lws 4.1.6's
 * lws_context_deprecate, which would close the listening socket, crashes: use after free.) */
static void drain_start(struct hub *hub)
{
    log_info("SIGTERM: closing every socket with 1012 (reconnect to another hub)");
    hub->draining = true;
    for (struct hub_client *c = hub->clients; c; c = c->next)
        lws_callback_on_writable(c->wsi);
}

int main(int argc, char **argv)
{
    static struct lws_protocols protocols[] = {
        {"http", hub_protocol0_callback, 0, 0, 0, NULL, 0},
        /* rx_buffer_size: lws allocates it for every connection; longer messages come in
         * pieces that hub_messages_receive gathers (up to HUB_MAX_MESSAGE). */
        /* tx_packet_size must be set: 0 would cap every send() at the 256-byte receive buffer
         * (lws's backwards compatibility), a 3 KB event frame in 12 sends (measured: the hub on
         * a full core at 7,000 deliveries/s). It allocates nothing. */
        {"edlive", hub_callback, 0, HUB_RX_BUFFER, 0, NULL, HUB_TX_PACKET},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    /* Clients send no subprotocol: make "edlive" the default. */
    static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
    static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, "edlive", ""};
    /* Liveness is the hub's heartbeats (every HUB_HEARTBEAT_S; clients send nothing) and, for
     * dead peers, TCP_USER_TIMEOUT on each socket (hub_client_opened). lws's own transport
     * pings would be per-client work every few seconds: they remain only as a 5-minute
     * backstop, since a healthy page sends nothing at all. */
    static const lws_retry_bo_t retry = {.secs_since_valid_ping = 300,
                                         .secs_since_valid_hangup = 330};
    static struct hub hub;
    struct lws_context_creation_info info;
    struct ed_error err = {0};
    struct reload_tls tls = {.on = false};
    static uv_loop_t loop;
    void *foreign_loops[1] = {&loop};

    log_init("ed-hub");
    config_load(&hub_config, argc, argv, NULL);
    if (!auth_init()) {
        log_error("OpenSSL's SHA-256 is unavailable or wrong: not starting");
        return 1;
    }
    record_set_session_limits((int)config_number(&hub_config, HUB_SESSION_IDLE_S),
                              (int)config_number(&hub_config, HUB_SESSION_MAX_S));
    record_set_trusted_proxies(config_text(&hub_config, HUB_TRUSTED_PROXIES)); /* checked */
    reload_init(config_text(&hub_config, HUB_ENV_FILES));
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    hub.schemas = schema_set_load(config_text(&hub_config, HUB_PROTO_DIR), &err);
    if (!hub.schemas) {
        log_error("proto schemas: %s", err.message);
        return 1;
    }
    hub.pg = pg_connect(config_text(&hub_config, HUB_PG), 30);
    hub.upgrade_pg = pg_connect(config_text(&hub_config, HUB_PG), 30);
    if (!hub.pg || !hub.upgrade_pg)
        return 1;
    /* Boards and missed events from a streaming replica when it has the seq (hub_replica.c). */
    hub.replica = hub_replica_open(config_text(&hub_config, HUB_PG_REPLICA));
    hub.allowed_origins = config_text(&hub_config, HUB_ALLOWED_ORIGINS);
    hub.max_lag = (int)config_number(&hub_config, HUB_MAX_LAG);
    hub.stall_s = (int)config_number(&hub_config, HUB_STALL_S);
    hub.board_max_age_s = (int)config_number(&hub_config, HUB_BOARD_MAX_AGE_S);
    hub.sndbuf = (int)config_number(&hub_config, HUB_SNDBUF);

    protocols[0].per_session_data_size = hub_ops_http_size();
    protocols[1].per_session_data_size = hub_client_size();
    /* lws runs on a libuv loop (epoll), not on its own poll(): a poll() turn walks every socket
     * (at 10,000 connections that walk was 39% of the hub's samples at steady, measured with
     * perf: sock_poll, tcp_poll, fdget), epoll returns only the ready ones. The loop is ours
     * ("foreign" to lws), so main() turns it one iteration at a time. libuv, not libev: lws
     * 4.1.6's libev glue re-arms an active timer and services its timers from an idle watcher
     * that a busy loop starves (services/hub/README.md, Event loop). */
    if (uv_loop_init(&loop)) {
        log_error("cannot create the event loop (libuv)");
        return 1;
    }
    memset(&info, 0, sizeof info);
    info.options |= LWS_SERVER_OPTION_LIBUV; /* Debian's libwebsockets-evlib-uv */
    info.foreign_loops = foreign_loops;
    info.port = (int)config_number(&hub_config, HUB_PORT);
    info.iface = config_text(&hub_config, HUB_LISTEN);
    info.protocols = protocols;
    info.pvo = &pvo;
    info.user = &hub;
    info.retry_and_idle_policy = &retry;
    info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.max_http_header_pool = 64;
    if (!config_listen_honoured(info.iface))
        return 1;
    /* Listen only on EDLIVE_LISTEN: see config_listen_is_ipv4 for why IPv6 goes off. */
    if (config_listen_is_ipv4(info.iface))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    /* TLS 1.2+ in the service itself, for deployments without a TLS proxy in front. */
    if (config_text(&hub_config, HUB_TLS_CERT)) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = config_text(&hub_config, HUB_TLS_CERT);
        info.ssl_private_key_filepath = config_text(&hub_config, HUB_TLS_KEY);
        info.ssl_options_set =
            SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
        tls.on = true;
        snprintf(tls.cert, sizeof tls.cert, "%s", info.ssl_cert_filepath);
        snprintf(tls.key, sizeof tls.key, "%s", info.ssl_private_key_filepath ?: "");
    }
    /* The listening socket opens only once the hub can serve (below): a socket accepted while
     * the first read of PostgreSQL runs would wait unanswered, and nginx would send every
     * reconnecting screen to this new, emptiest hub (least_conn). */
    info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    hub.ctx = lws_create_context(&info);
    if (!hub.ctx) {
        log_error("cannot create the lws context (its libuv plugin is Debian's "
                  "libwebsockets-evlib-uv: installed?)");
        return 1;
    }
    hub.feed = hub_feed_start(
        hub.ctx, config_host(&hub_config, HUB_REDIS), (int)config_number(&hub_config, HUB_REDIS),
        config_text(&hub_config, HUB_REDIS_SENTINELS), config_text(&hub_config, HUB_REDIS_MASTER));
    if (!hub.feed || !hub_start(&hub) ||
        !hub_ops_start(&hub, config_text(&hub_config, HUB_PG), config_host(&hub_config, HUB_REDIS),
                       (int)config_number(&hub_config, HUB_REDIS),
                       config_text(&hub_config, HUB_REDIS_SENTINELS),
                       config_text(&hub_config, HUB_REDIS_MASTER))) {
        log_error("cannot start: Redis reader or first read of PostgreSQL failed");
        return 1;
    }
    if (!lws_create_vhost(hub.ctx, &info)) {
        log_error("cannot listen on %s:%d (port in use?)", info.iface, info.port);
        return 1;
    }
    log_info("listening on ws://%s:%d/ws, %d department(s)", info.iface, info.port, hub.ndepts);
    reload_set_wake(wake_loop, hub.ctx);
    lws_usec_t drain_deadline = 0;
    while (!interrupted) {
        /* One iteration: waits for a socket, a timer (the heartbeat slice, every 500 ms, at
         * the latest) or lws_cancel_service from another thread, and runs their callbacks. */
        uv_run(&loop, UV_RUN_ONCE);
        if (reload_requested()) {
            reload_apply(&hub_config, config_text(&hub_config, HUB_ENV_FILES), &tls);
            reload_tls_load(vhost_ssl_ctx, &tls);
        }
        if (drain_requested && !drain_deadline) {
            drain_deadline = lws_now_usecs() + HUB_DRAIN_S * LWS_US_PER_SEC;
            drain_start(&hub);
        }
        /* The heartbeat timer wakes the loop every 500 ms meanwhile. */
        if (drain_deadline && (!hub.clients || lws_now_usecs() > drain_deadline))
            break;
    }

    reload_set_wake(NULL, NULL);
    ops_stop();
    hub_stop(&hub); /* the threads first: each wakes the lws context when it hands over */
    /* On a foreign libuv loop lws closes its handles through the loop: the first destroy
     * starts the close, the loop finishes it, the second destroy frees the context. */
    lws_context_destroy(hub.ctx);
    turn_until_idle(&loop);
    lws_context_destroy(hub.ctx);
    turn_until_idle(&loop);
    if (uv_loop_close(&loop))
        log_warn("the event loop still had open handles at exit");
    hub_session_clear(); /* after the sockets' CLOSED, which let go of their sessions */
    PQfinish(hub.upgrade_pg);
    schema_set_free(hub.schemas);
    log_info("stopped");
    return 0;
}
