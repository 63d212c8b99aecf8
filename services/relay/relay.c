/* SPDX-License-Identifier: MIT */
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg.h"
#include "record.h"

static void lose_connection(struct relay *r)
{
    r->ready = false;
    ops_gauge_set(&r->active, 0);
}

bool relay_prepare(struct relay *r)
{
    int locked;

    if (r->ready && PQstatus(r->pg) == CONNECTION_OK)
        return true;
    r->ready = false;
    ops_gauge_set(&r->active, 0);
    if (!r->pg) {
        r->pg = pg_connect_once(r->conninfo);
    } else {
        PQreset(r->pg); /* a new session: the LISTEN and the lock went with the old one */
    }
    if (PQstatus(r->pg) != CONNECTION_OK)
        return false;
    locked = record_outbox_attach(r->pg);
    if (locked < 0)
        return false;
    if (!locked) {
        if (!r->standby)
            log_info("another ed-relay is active; standing by");
        r->standby = true;
        PQfinish(r->pg); /* retry later on a fresh session */
        r->pg = NULL;
        return false;
    }
    if (r->standby)
        log_info("now the active relay");
    r->standby = false;
    r->ready = true;
    ops_gauge_set(&r->active, 1);
    return true;
}

static bool publish(void *ctx, long long dept, long long seq, long long encounter_id,
                    const char *frame)
{
    struct relay *r = ctx;
    bool ok = redis_pub_event(r->redis, dept, seq, encounter_id, frame);

    if (ok)
        ops_inc(&r->relayed);
    return ok;
}

/* Redis restarted without its data: put back each department's recent events, so hubs that
 * resume from the stream find them, then mark Redis as rebuilt. */
static bool rebuild_department(void *ctx, long long dept, long long upto, long long relayed)
{
    struct relay *r = ctx;
    long long from = upto > r->rebuild_len ? upto - r->rebuild_len : 0;

    (void)relayed;
    r->round_ok = record_outbox_send(r->pg, dept, from, upto, publish, r) == upto;
    return r->round_ok;
}

static bool rebuild_streams(struct relay *r)
{
    r->round_ok = true;
    if (record_outbox_relayed(r->pg, rebuild_department, r) < 0 || !r->round_ok)
        return false;
    if (redis_pub_epoch_set(r->redis)) {
        log_info("Redis had lost its data; streams rebuilt from PostgreSQL");
        return true;
    }
    return false;
}

/* One department's unrelayed events to Redis, then its cursor. False stops the round after a
 * database error (the connection is dropped); Redis refusing leaves the round not ok. */
static bool relay_department(void *ctx, long long dept, long long top, long long from)
{
    struct relay *r = ctx;
    long long done = record_outbox_send(r->pg, dept, from, top, publish, r);

    if (done < 0 || (done > from && !record_outbox_save_cursor(r->pg, dept, done))) {
        lose_connection(r);
        r->round_ok = false;
        return false;
    }
    if (done < top)
        r->round_ok = false;
    return true;
}

bool relay_round(struct relay *r)
{
    int epoch = redis_pub_epoch_present(r->redis);

    if (epoch < 0 || (epoch == 0 && !rebuild_streams(r))) {
        ops_inc(&r->rounds_failed);
        return false;
    }
    r->round_ok = true;
    if (record_outbox_pending(r->pg, relay_department, r) < 0) {
        lose_connection(r);
        ops_inc(&r->rounds_failed);
        return false;
    }
    if (!r->round_ok)
        ops_inc(&r->rounds_failed);
    return r->round_ok;
}

bool relay_wait(struct relay *r, int timeout_ms)
{
    struct pollfd pfd = {.fd = PQsocket(r->pg), .events = POLLIN};
    bool notified = false;
    PGnotify *note;

    if (pfd.fd < 0)
        return false;
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return false;
    if (!PQconsumeInput(r->pg)) {
        lose_connection(r);
        return false;
    }
    while ((note = PQnotifies(r->pg))) {
        notified = true;
        PQfreemem(note);
    }
    return notified;
}
