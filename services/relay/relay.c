/* SPDX-License-Identifier: MIT */
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg.h"

/* One active relay per database: a second one waits on this lock as a standby. */
#define RELAY_LOCK_KEY "7451065938233105"
#define RELAY_BATCH    "500"

static void lose_connection(struct relay *r)
{
    r->ready = false;
}

bool relay_prepare(struct relay *r)
{
    PGresult *res;
    bool locked;

    if (r->ready && PQstatus(r->pg) == CONNECTION_OK)
        return true;
    r->ready = false;
    if (!r->pg) {
        r->pg = PQconnectdb(r->conninfo);
    } else {
        PQreset(r->pg); /* a new session: the LISTEN and the lock went with the old one */
    }
    if (PQstatus(r->pg) != CONNECTION_OK)
        return false;
    res = PQexec(r->pg, "LISTEN edlive_events");
    if (!pg_ok(r->pg, res, "listen")) {
        PQclear(res);
        return false;
    }
    PQclear(res);
    res = PQexec(r->pg, "SELECT pg_try_advisory_lock(" RELAY_LOCK_KEY ")");
    if (!pg_ok(r->pg, res, "relay lock")) {
        PQclear(res);
        return false;
    }
    locked = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
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
    return true;
}

/* Sends events of one department after `from` (exclusive) up to `upto`, in seq order.
 * Returns the last seq Redis holds, or -1 on a database error. */
static long long send_events(struct relay *r, long long dept, long long from, long long upto)
{
    static const char sql[] =
        "SELECT seq, encounter_id, event_frame(department_id, seq) FROM event "
        "WHERE department_id = $1 AND seq > $2 AND seq <= $3 "
        "ORDER BY seq LIMIT " RELAY_BATCH;
    char deptbuf[24], frombuf[24], uptobuf[24];
    const char *params[3] = {pg_int_param(deptbuf, dept), pg_int_param(frombuf, from),
                             pg_int_param(uptobuf, upto)};
    long long done = from;

    while (done < upto) {
        PGresult *res = pg_query(r->pg, sql, 3, params);
        int n;
        if (!pg_ok(r->pg, res, "read events")) {
            PQclear(res);
            return -1;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            long long seq = atoll(PQgetvalue(res, i, 0));
            /* The log is gap-free; a hole means a row we cannot see yet: stop before it. */
            if (seq != done + 1 ||
                !redis_pub_event(r->redis, dept, seq, atoll(PQgetvalue(res, i, 1)),
                                 PQgetvalue(res, i, 2)))
                break;
            done = seq;
        }
        PQclear(res);
        if (n == 0 || done < atoll(params[1]) + n)
            break; /* Redis refused or was unreachable, or nothing more to read */
        params[1] = pg_int_param(frombuf, done);
    }
    return done;
}

static bool save_cursor(struct relay *r, long long dept, long long seq)
{
    static const char sql[] =
        "INSERT INTO relay_cursor (department_id, relayed_seq) VALUES ($1, $2) "
        "ON CONFLICT (department_id) DO UPDATE SET relayed_seq = "
        "greatest(relay_cursor.relayed_seq, "
        "excluded.relayed_seq), updated_at = now()";
    char deptbuf[24], seqbuf[24];
    const char *params[2] = {pg_int_param(deptbuf, dept), pg_int_param(seqbuf, seq)};
    PGresult *res = pg_query(r->pg, sql, 2, params);
    bool ok = pg_ok(r->pg, res, "save relay cursor");

    PQclear(res);
    return ok;
}

/* Redis restarted without its data: put back each department's recent events, so hubs that
 * resume from the stream find them, then mark Redis as rebuilt. */
static bool rebuild_streams(struct relay *r)
{
    static const char sql[] = "SELECT c.department_id, c.relayed_seq FROM relay_cursor c "
                              "ORDER BY c.department_id";
    PGresult *res = pg_query(r->pg, sql, 0, NULL);
    bool ok;

    if (!pg_ok(r->pg, res, "read relay cursors")) {
        PQclear(res);
        return false;
    }
    ok = true;
    for (int i = 0; ok && i < PQntuples(res); i++) {
        long long dept = atoll(PQgetvalue(res, i, 0));
        long long upto = atoll(PQgetvalue(res, i, 1));
        long long from = upto > r->rebuild_len ? upto - r->rebuild_len : 0;
        ok = send_events(r, dept, from, upto) == upto;
    }
    PQclear(res);
    if (ok && redis_pub_epoch_set(r->redis)) {
        log_info("Redis had lost its data; streams rebuilt from PostgreSQL");
        return true;
    }
    return false;
}

bool relay_round(struct relay *r)
{
    static const char sql[] =
        "SELECT s.department_id, s.last_seq, coalesce(c.relayed_seq, 0) FROM department_seq s "
        "LEFT JOIN relay_cursor c ON c.department_id = s.department_id "
        "WHERE s.last_seq > coalesce(c.relayed_seq, 0) ORDER BY s.department_id";
    PGresult *res;
    bool ok = true;
    int epoch = redis_pub_epoch_present(r->redis);

    if (epoch < 0)
        return false;
    if (epoch == 0 && !rebuild_streams(r))
        return false;
    res = pg_query(r->pg, sql, 0, NULL);
    if (!pg_ok(r->pg, res, "read department tops")) {
        PQclear(res);
        lose_connection(r);
        return false;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        long long dept = atoll(PQgetvalue(res, i, 0));
        long long top = atoll(PQgetvalue(res, i, 1));
        long long from = atoll(PQgetvalue(res, i, 2));
        long long done = send_events(r, dept, from, top);
        if (done < 0) {
            lose_connection(r);
            ok = false;
            break;
        }
        if (done > from && !save_cursor(r, dept, done)) {
            lose_connection(r);
            ok = false;
            break;
        }
        if (done < top)
            ok = false;
    }
    PQclear(res);
    return ok;
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
