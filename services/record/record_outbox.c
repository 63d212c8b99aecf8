/* SPDX-License-Identifier: MIT */
/* record_outbox.c: the event log read as an outbox, for ed-relay (services/relay): the relay's
 * session (LISTEN edlive_events and the advisory lock that makes one relay active), each
 * department's unrelayed range, the events of a range in seq order, and the relay cursor.
 * Reads and the cursor only: events are appended by the writes (record_tx.c). */
#include "record.h"

#include <stdlib.h>

#include "pg.h"

/* One active relay per database: a second one waits on this lock as a standby. */
#define OUTBOX_LOCK_KEY "7451065938233105"
#define OUTBOX_BATCH    "500"

int record_outbox_attach(PGconn *conn)
{
    PGresult *res = PQexec(conn, "LISTEN edlive_events");
    int locked;

    if (!pg_ok(conn, res, "listen")) {
        PQclear(res);
        return -1;
    }
    PQclear(res);
    /* The cursor is a bookmark, not the record: after a crash that lost its last saves the
     * relay publishes those events again, which Redis answers as already there (redis_pub.c).
     * So its saves need not wait for the WAL flush: waiting made each round cost one flush
     * per department, and at 100 writes/s over 20 departments events reached Redis ~100 ms
     * after their commit (measured with MONITOR against each frame's "at"). */
    res = PQexec(conn, "SET synchronous_commit = off");
    if (!pg_ok(conn, res, "relay session")) {
        PQclear(res);
        return -1;
    }
    PQclear(res);
    res = PQexec(conn, "SELECT pg_try_advisory_lock(" OUTBOX_LOCK_KEY ")");
    if (!pg_ok(conn, res, "relay lock")) {
        PQclear(res);
        return -1;
    }
    locked = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return locked;
}

long long record_outbox_send(PGconn *conn, long long department_id, long long after, long long upto,
                             record_outbox_send_fn *send, void *ctx)
{
    static const char sql[] =
        "SELECT seq, encounter_id, event_frame(department_id, seq) FROM event "
        "WHERE department_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT " OUTBOX_BATCH;
    char deptbuf[24], frombuf[24], uptobuf[24];
    const char *params[3] = {pg_int_param(deptbuf, department_id), pg_int_param(frombuf, after),
                             pg_int_param(uptobuf, upto)};
    long long done = after;

    while (done < upto) {
        PGresult *res = pg_query(conn, sql, 3, params);
        long long batch_from = done;
        int n;

        if (!pg_ok(conn, res, "read events")) {
            PQclear(res);
            return -1;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            long long seq = atoll(PQgetvalue(res, i, 0));
            /* The log is gap-free; a hole means a row we cannot see yet: stop before it. */
            if (seq != done + 1 ||
                !send(ctx, department_id, seq, atoll(PQgetvalue(res, i, 1)), PQgetvalue(res, i, 2)))
                break;
            done = seq;
        }
        PQclear(res);
        if (n == 0 || done < batch_from + n)
            break; /* the consumer refused, a hole, or nothing more to read */
        params[1] = pg_int_param(frombuf, done);
    }
    return done;
}

bool record_outbox_save_cursor(PGconn *conn, long long department_id, long long seq)
{
    static const char sql[] =
        "INSERT INTO relay_cursor (department_id, relayed_seq) VALUES ($1, $2) "
        "ON CONFLICT (department_id) DO UPDATE SET relayed_seq = "
        "greatest(relay_cursor.relayed_seq, excluded.relayed_seq), updated_at = now()";
    char deptbuf[24], seqbuf[24];
    const char *params[2] = {pg_int_param(deptbuf, department_id), pg_int_param(seqbuf, seq)};
    PGresult *res = pg_query(conn, sql, 2, params);
    bool ok = pg_ok(conn, res, "save relay cursor");

    PQclear(res);
    return ok;
}

/* Runs sql (rows of department, top, relayed) and hands each row to each; -1 on a database
 * error, else how many rows each accepted before it returned false (all of them: n). */
static int each_department(PGconn *conn, const char *sql, const char *what,
                           record_outbox_range_fn *each, void *ctx)
{
    PGresult *res = pg_query(conn, sql, 0, NULL);
    int i;

    if (!pg_ok(conn, res, what)) {
        PQclear(res);
        return -1;
    }
    for (i = 0; i < PQntuples(res); i++)
        if (!each(ctx, atoll(PQgetvalue(res, i, 0)), atoll(PQgetvalue(res, i, 1)),
                  atoll(PQgetvalue(res, i, 2))))
            break;
    PQclear(res);
    return i;
}

int record_outbox_pending(PGconn *conn, record_outbox_range_fn *each, void *ctx)
{
    static const char sql[] =
        "SELECT s.department_id, s.last_seq, coalesce(c.relayed_seq, 0) FROM department_seq s "
        "LEFT JOIN relay_cursor c ON c.department_id = s.department_id "
        "WHERE s.last_seq > coalesce(c.relayed_seq, 0) ORDER BY s.department_id";

    return each_department(conn, sql, "read department tops", each, ctx);
}

int record_outbox_relayed(PGconn *conn, record_outbox_range_fn *each, void *ctx)
{
    static const char sql[] = "SELECT c.department_id, c.relayed_seq, c.relayed_seq "
                              "FROM relay_cursor c ORDER BY c.department_id";

    return each_department(conn, sql, "read relay cursors", each, ctx);
}

int record_outbox_lag(PGconn *conn, record_outbox_range_fn *each, void *ctx)
{
    static const char sql[] =
        "SELECT s.department_id, s.last_seq, coalesce(c.relayed_seq, 0) FROM department_seq s "
        "LEFT JOIN relay_cursor c ON c.department_id = s.department_id ORDER BY s.department_id";

    return each_department(conn, sql, "read relay lag", each, ctx);
}
