/* SPDX-License-Identifier: MIT */
/* ed-api: REST /api/v1 over libwebsockets. Settings from the environment: the table below
 * (`ed-api --help`, README.md Settings). */
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_ops.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "ops.h"
#include "pg.h"
#include "pool.h"
#include "record.h"
#include "reload.h"

static volatile sig_atomic_t interrupted, drain_requested;

/* SIGTERM drains: requests under way are answered, a new one is refused 503 "restarting"
 * before anything runs (nginx passes a GET on to another instance and stops sending here; a
 * page resends a write with its Idempotency-Key), then ed-api exits; after this long it exits
 * anyway (a request runs at most statement_timeout, 5 s, per statement). lws 4.1.6's
 * lws_context_deprecate, which would close the listening socket, crashes (use after free). */
#define API_DRAIN_S 10

enum api_setting {
    API_PG,
    API_LISTEN,
    API_PORT,
    API_PROTO_DIR,
    API_ALLOWED_ORIGINS,
    API_SESSION_IDLE_S,
    API_SESSION_MAX_S,
    API_TLS_CERT,
    API_TLS_KEY,
    API_FAULT_HOOKS,
    API_DB_CONNECTIONS,
    API_ENV_FILES,
    API_TRUSTED_PROXIES,
    API_SETTING_COUNT
};

static const struct config_setting api_settings[API_SETTING_COUNT] = {
    [API_PG] = CONFIG_SHARED("EDLIVE_PG"),
    [API_LISTEN] = CONFIG_SHARED("EDLIVE_LISTEN"),
    [API_PORT] = {"EDLIVE_API_PORT", CONFIG_PORT, "8481", 0, 0, "ed-api's port", false},
    [API_PROTO_DIR] = CONFIG_SHARED("EDLIVE_PROTO_DIR"),
    [API_ALLOWED_ORIGINS] = CONFIG_SHARED("EDLIVE_ALLOWED_ORIGINS"),
    [API_SESSION_IDLE_S] = CONFIG_SHARED("EDLIVE_SESSION_IDLE_S"),
    [API_SESSION_MAX_S] = CONFIG_SHARED("EDLIVE_SESSION_MAX_S"),
    [API_TLS_CERT] = CONFIG_SHARED("EDLIVE_TLS_CERT"),
    [API_TLS_KEY] = CONFIG_SHARED("EDLIVE_TLS_KEY"),
    [API_FAULT_HOOKS] = {"EDLIVE_FAULT_HOOKS", CONFIG_FLAG, "0", 0, 0,
                         "`1` only in the test deployment: honours `X-Edlive-Fault: "
                         "exit-after-commit` for the fault-injection test. Never in production",
                         false},
    [API_DB_CONNECTIONS] = {"EDLIVE_API_DB_CONNECTIONS", CONFIG_INT, "4", 1, 64,
                            "ed-api's worker threads, each with its own PostgreSQL connection: "
                            "how many requests run at once",
                            false},
    [API_ENV_FILES] = CONFIG_SHARED("EDLIVE_ENV_FILES"),
    [API_TRUSTED_PROXIES] = CONFIG_SHARED("EDLIVE_TRUSTED_PROXIES"),
};

static struct config_value api_values[API_SETTING_COUNT];
static struct config api_config = {"ed-api", "the REST API /api/v1 of the record", api_settings,
                                   API_SETTING_COUNT, api_values};

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

static int api_protocol_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                                 void *in, size_t len)
{
    if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS)
        vhost_ssl_ctx = user;
    return http_callback(wsi, reason, user, in, len);
}

/* From the SIGHUP thread: lws_cancel_service is lws's way to wake the loop from another thread. */
static void wake_loop(void *ctx)
{
    lws_cancel_service(ctx);
}

/* While draining, the loop wakes at least this often to see whether it is done. */
static lws_sorted_usec_list_t drain_tick;

static void on_drain_tick(lws_sorted_usec_list_t *sul)
{
    (void)sul;
}

static int load(struct api *app)
{
    struct ed_error err = {0};

    app->schemas = schema_set_load(config_text(&api_config, API_PROTO_DIR), &err);
    if (!app->schemas || !routes_check_schemas(app->schemas, &err)) {
        log_error("proto schemas: %s", err.message);
        return -1;
    }
    app->allowed_origins = config_text(&api_config, API_ALLOWED_ORIGINS);
    app->fault_hooks = config_number(&api_config, API_FAULT_HOOKS) == 1;
    if (app->fault_hooks)
        log_warn("EDLIVE_FAULT_HOOKS=1: fault injection enabled (never in production)");
    return 0;
}

int main(int argc, char **argv)
{
    static struct lws_protocols protocols[] = {
        {"http", api_protocol_callback, 0, 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct api app = {0};
    struct lws_context_creation_info info;
    struct lws_context *ctx;
    struct reload_tls tls = {.on = false};
    int n = 0;

    log_init("ed-api");
    config_load(&api_config, argc, argv, NULL);
    if (!auth_init()) {
        log_error("OpenSSL's SHA-256 is unavailable or wrong: not starting");
        return 1;
    }
    record_set_session_limits((int)config_number(&api_config, API_SESSION_IDLE_S),
                              (int)config_number(&api_config, API_SESSION_MAX_S));
    record_set_trusted_proxies(config_text(&api_config, API_TRUSTED_PROXIES)); /* checked */
    reload_init(config_text(&api_config, API_ENV_FILES));
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (load(&app))
        return 1;

    protocols[0].per_session_data_size = http_conn_size();
    memset(&info, 0, sizeof info);
    info.port = (int)config_number(&api_config, API_PORT);
    info.iface = config_text(&api_config, API_LISTEN);
    info.protocols = protocols;
    info.user = &app;
    info.max_http_header_pool = 64;
    /* Hold an idle keep-alive connection longer than its clients do (nginx's upstream pool:
     * 30 s; Node's fetch: 4 s), so a client never sends a POST on a connection we are just
     * closing (lws's 5 s default made that race real: "other side closed" under load). */
    info.keepalive_timeout = 65;
    if (!config_listen_honoured(info.iface))
        return 1;
    /* Listen only on EDLIVE_LISTEN: see config_listen_is_ipv4 for why IPv6 goes off. */
    if (config_listen_is_ipv4(info.iface))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    /* TLS 1.2+ in the service itself, for deployments without a TLS proxy in front. */
    if (config_text(&api_config, API_TLS_CERT)) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = config_text(&api_config, API_TLS_CERT);
        info.ssl_private_key_filepath = config_text(&api_config, API_TLS_KEY);
        info.ssl_options_set =
            SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
        tls.on = true;
        snprintf(tls.cert, sizeof tls.cert, "%s", info.ssl_cert_filepath);
        snprintf(tls.key, sizeof tls.key, "%s", info.ssl_private_key_filepath ?: "");
    }
    ctx = lws_create_context(&info);
    if (!ctx) {
        log_error("cannot listen on %s:%d (port in use?)", info.iface, info.port);
        return 1;
    }
    app.pool = api_pool_start(&app, config_text(&api_config, API_PG),
                              (int)config_number(&api_config, API_DB_CONNECTIONS), ctx);
    if (!app.pool || !api_ops_start(config_text(&api_config, API_PG))) {
        api_pool_stop(app.pool);
        lws_context_destroy(ctx);
        return 1;
    }
    log_info("listening on http://%s:%d/api/v1 (%d database connections)", info.iface, info.port,
             (int)config_number(&api_config, API_DB_CONNECTIONS));
    reload_set_wake(wake_loop, ctx);
    lws_usec_t drain_deadline = 0;
    while (n >= 0 && !interrupted) {
        n = lws_service(ctx, 0);
        if (reload_requested()) {
            reload_apply(&api_config, config_text(&api_config, API_ENV_FILES), &tls);
            reload_tls_load(vhost_ssl_ctx, &tls);
        }
        if (drain_requested && !drain_deadline) {
            log_info("SIGTERM: draining (new requests refused 503; answering what is under way)");
            drain_deadline = lws_now_usecs() + API_DRAIN_S * LWS_US_PER_SEC;
            http_drain_start();
        }
        if (drain_deadline) {
            if (http_busy() == 0 || lws_now_usecs() > drain_deadline)
                break;
            lws_sul_schedule(ctx, 0, &drain_tick, on_drain_tick, 100 * LWS_US_PER_MS);
        }
    }
    if (drain_deadline)
        log_info("drained%s", http_busy() == 0 ? "" : " (deadline: requests still under way)");

    reload_set_wake(NULL, NULL);
    api_pool_stop(app.pool);
    app.pool = NULL;
    ops_stop();
    lws_context_destroy(ctx);
    schema_set_free(app.schemas);
    log_info("stopped");
    return 0;
}
