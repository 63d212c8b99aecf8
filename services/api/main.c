/* SPDX-License-Identifier: MIT */
/* ed-api: REST /api/v1 over libwebsockets. Settings from the environment (README.md):
 * EDLIVE_PG, EDLIVE_REDIS, EDLIVE_LISTEN, EDLIVE_API_PORT, EDLIVE_PROTO_DIR. */
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "pg.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int load(struct api *app)
{
    struct ed_error err = {0};

    app->schemas = schema_set_load(config_str("EDLIVE_PROTO_DIR", EDLIVE_DEFAULT_PROTO_DIR), &err);
    if (!app->schemas || !routes_check_schemas(app->schemas, &err)) {
        log_error("proto schemas: %s", err.message);
        return -1;
    }
    app->pg = pg_connect(config_str("EDLIVE_PG", "dbname=edlive"), 30);
    if (!app->pg)
        return -1;
    app->allowed_origins = config_str("EDLIVE_ALLOWED_ORIGINS", "");
    app->fault_hooks = !strcmp(config_str("EDLIVE_FAULT_HOOKS", "0"), "1");
    if (app->fault_hooks)
        log_warn("EDLIVE_FAULT_HOOKS=1: fault injection enabled (never in production)");
    return 0;
}

int main(void)
{
    static struct lws_protocols protocols[] = {
        {"http", http_callback, 0, 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct api app = {0};
    struct lws_context_creation_info info;
    struct lws_context *ctx;
    int n = 0;

    log_init("ed-api");
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (load(&app))
        return 1;

    protocols[0].per_session_data_size = http_conn_size();
    memset(&info, 0, sizeof info);
    info.port = config_port("EDLIVE_API_PORT", 8481);
    info.iface = config_listen();
    info.protocols = protocols;
    info.user = &app;
    info.max_http_header_pool = 64;
    /* Hold an idle keep-alive connection longer than its clients do (nginx's upstream pool:
     * 30 s; Node's fetch: 4 s), so a client never sends a POST on a connection we are just
     * closing (lws's 5 s default made that race real: "other side closed" under load). */
    info.keepalive_timeout = 65;
    /* Listen only on EDLIVE_LISTEN: see config_listen_is_ipv4 for why IPv6 goes off. */
    if (config_listen_is_ipv4(info.iface))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    /* TLS 1.2+ in the service itself, for deployments without a TLS proxy in front. */
    if (config_str("EDLIVE_TLS_CERT", NULL)) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = config_str("EDLIVE_TLS_CERT", NULL);
        info.ssl_private_key_filepath = config_str("EDLIVE_TLS_KEY", NULL);
        info.ssl_options_set =
            SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    }
    ctx = lws_create_context(&info);
    if (!ctx) {
        log_error("cannot listen on %s:%d (port in use?)", info.iface, info.port);
        return 1;
    }
    log_info("listening on http://%s:%d/api/v1", info.iface, info.port);
    while (n >= 0 && !interrupted)
        n = lws_service(ctx, 0);

    lws_context_destroy(ctx);
    PQfinish(app.pg);
    schema_set_free(app.schemas);
    log_info("stopped");
    return 0;
}
