/* SPDX-License-Identifier: MIT */
/* ed-relay: the event log in PostgreSQL to Redis Streams (relay.h). Settings from the
 * environment (README.md): EDLIVE_PG, EDLIVE_REDIS, EDLIVE_RELAY_POLL_MS (the fallback poll
 * when no NOTIFY arrives, default 1000), EDLIVE_RELAY_REBUILD (events per department put back
 * after Redis lost its data, default 1000). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "relay.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int main(void)
{
    struct relay relay = {0};
    char redis_host[256];
    int redis_port, poll_ms;
    bool failing = false;

    log_init("ed-relay");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    relay.conninfo = config_str("EDLIVE_PG", "dbname=edlive");
    poll_ms = config_int("EDLIVE_RELAY_POLL_MS", 1000, 10, 60000);
    relay.rebuild_len = config_int("EDLIVE_RELAY_REBUILD", 1000, 0, 10000);
    config_redis(redis_host, &redis_port);
    relay.redis = redis_pub_new(redis_host, redis_port);
    if (!relay.redis)
        return 1;
    log_info("relaying the event log to Redis %s:%d", redis_host, redis_port);

    while (!interrupted) {
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
    PQfinish(relay.pg);
    redis_pub_free(relay.redis);
    log_info("stopped");
    return 0;
}
