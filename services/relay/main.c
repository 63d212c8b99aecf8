/* SPDX-License-Identifier: MIT */
/* ed-relay: the event log in PostgreSQL to Redis Streams (relay.h). Settings from the
 * environment: the table below (`ed-relay --help`, README.md Settings). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "relay.h"
#include "reload.h"

static volatile sig_atomic_t interrupted;

enum relay_setting {
    RELAY_PG,
    RELAY_REDIS,
    RELAY_REDIS_SENTINELS,
    RELAY_REDIS_MASTER,
    RELAY_LISTEN,
    RELAY_OPS_PORT,
    RELAY_POLL_MS,
    RELAY_REBUILD,
    RELAY_ENV_FILES,
    RELAY_SETTING_COUNT
};

static const struct config_setting relay_settings[RELAY_SETTING_COUNT] = {
    [RELAY_PG] = CONFIG_SHARED("EDLIVE_PG"),
    [RELAY_REDIS] = CONFIG_SHARED("EDLIVE_REDIS"),
    [RELAY_REDIS_SENTINELS] = CONFIG_SHARED("EDLIVE_REDIS_SENTINELS"),
    [RELAY_REDIS_MASTER] = CONFIG_SHARED("EDLIVE_REDIS_MASTER"),
    [RELAY_LISTEN] = CONFIG_SHARED("EDLIVE_LISTEN"),
    [RELAY_OPS_PORT] = {"EDLIVE_RELAY_OPS_PORT", CONFIG_INT, "8488", 0, 65535,
                        "ed-relay's operations port (on `EDLIVE_LISTEN`): `/healthz`, `/readyz`, "
                        "`/metrics`; `0`: none",
                        false},
    [RELAY_POLL_MS] = {"EDLIVE_RELAY_POLL_MS", CONFIG_INT, "1000", 10, 60000,
                       "how often (ms) it looks for events when no NOTIFY woke it", false},
    [RELAY_REBUILD] = {"EDLIVE_RELAY_REBUILD", CONFIG_INT, "1000", 0, 10000,
                       "events per department put back on a Redis that lost its data", false},
    [RELAY_ENV_FILES] = CONFIG_SHARED("EDLIVE_ENV_FILES"),
};

static struct config_value relay_values[RELAY_SETTING_COUNT];
static struct config relay_config = {"ed-relay", "the event log (outbox) to Redis Streams",
                                     relay_settings, RELAY_SETTING_COUNT, relay_values};

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int main(int argc, char **argv)
{
    struct relay relay = {0};
    const char *redis_host;
    int redis_port, poll_ms;
    bool failing = false;

    log_init("ed-relay");
    config_load(&relay_config, argc, argv, NULL);
    reload_init(config_text(&relay_config, RELAY_ENV_FILES));
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    relay.conninfo = config_text(&relay_config, RELAY_PG);
    poll_ms = (int)config_number(&relay_config, RELAY_POLL_MS);
    relay.rebuild_len = (int)config_number(&relay_config, RELAY_REBUILD);
    redis_host = config_host(&relay_config, RELAY_REDIS);
    redis_port = (int)config_number(&relay_config, RELAY_REDIS);
    relay.redis =
        redis_pub_new(redis_host, redis_port, config_text(&relay_config, RELAY_REDIS_SENTINELS),
                      config_text(&relay_config, RELAY_REDIS_MASTER));
    if (!relay.redis)
        return 1;
    if (!relay_ops_start(&relay, redis_host, redis_port,
                         config_text(&relay_config, RELAY_REDIS_SENTINELS),
                         config_text(&relay_config, RELAY_REDIS_MASTER),
                         config_text(&relay_config, RELAY_LISTEN),
                         (int)config_number(&relay_config, RELAY_OPS_PORT)))
        return 1;
    log_info("relaying the event log to Redis %s", redis_pub_target_name(relay.redis));

    while (!interrupted) {
        /* A SIGHUP is seen here, after at most one wait (EDLIVE_RELAY_POLL_MS). */
        if (reload_requested())
            reload_apply(&relay_config, config_text(&relay_config, RELAY_ENV_FILES), NULL);
        if (!relay_prepare(&relay)) {
            if (!failing && !relay.standby)
                log_warn("PostgreSQL unreachable; retrying every second");
            failing = !relay.standby;
            sleep(1);
            continue;
        }
        if (relay_round(&relay)) {
            if (failing)
                log_info("relaying again");
            failing = false;
            /* A NOTIFY wakes us at once; the poll covers one sent while we were not listening. */
            relay_wait(&relay, poll_ms);
        } else {
            failing = true;
            relay_wait(&relay, 200); /* Redis or PostgreSQL failed: retry soon, not in a spin */
        }
    }
    ops_stop();
    PQfinish(relay.pg);
    redis_pub_free(relay.redis);
    log_info("stopped");
    return 0;
}
