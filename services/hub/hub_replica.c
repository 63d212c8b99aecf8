/* SPDX-License-Identifier: MIT */
/* hub_replica.c: the hub's reads that a PostgreSQL streaming replica can serve
 * (EDLIVE_PG_REPLICA): a board snapshot and the events between two seqs (start-up, the tops
 * check's catch-up, a `since` ahead of the ring). Each runs on the replica in one REPEATABLE
 * READ READ ONLY transaction that first reads the department's last_seq: when the replica has
 * reached the seq the hub needs (the top its ring already holds, or the end of the gap), the
 * rows read in that same transaction are exactly at that last_seq; when it has not, or the
 * replica cannot be reached, the same read runs on the primary. Session checks, audit rows,
 * access checks and the tops themselves stay on the primary: they must see the latest commit.
 * Worker thread only (hub_db.c): the replica's connection and the counts are the worker's. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_client.h"
#include "log.h"
#include "pg.h"
#include "record_hub.h"

#define REPLICA_RETRY_S   5  /* after a failed reconnect, read from the primary this long */
#define REPLICA_RECHECK_S 30 /* landed on the primary: look for a standby again this often */
#define REPLICA_SUMMARY_S 60 /* the counts are logged at most this often (and at each fallback) */

struct hub_replica {
    PGconn *conn;
    time_t retry_at; /* no reconnect attempt before this (a replica down costs no wait per read) */
    time_t recheck_at; /* connected to the primary (no standby was up): reconnect after this */
    /* Counts since start, logged: reads the replica served, reads it could not because it
     * had not reached the seq needed (read from the primary), and reads it could not serve at
     * all (down, an error; read from the primary). */
    unsigned long long reads, lagged, unavailable;
    unsigned long long logged_reads; /* reads at the last summary */
    time_t summary_at;
};

/* What EDLIVE_PG_REPLICA reached: with prefer-standby, the primary when no standby is up. */
static const char *server_kind(const PGconn *conn)
{
    const char *standby = PQparameterStatus(conn, "in_hot_standby");

    return standby && !strcmp(standby, "on") ? "a standby" : "the primary";
}

struct hub_replica *hub_replica_open(const char *conninfo)
{
    struct hub_replica *r;

    if (!conninfo || !conninfo[0])
        return NULL;
    r = calloc(1, sizeof *r);
    if (!r) {
        log_error("out of memory for the replica connection");
        abort();
    }
    /* Once, without waiting: a replica down at start is retried by the worker (pg_ensure), and
     * meanwhile every read goes to the primary. */
    r->conn = pg_connect_once(conninfo);
    if (PQstatus(r->conn) != CONNECTION_OK)
        log_warn("replica (EDLIVE_PG_REPLICA) not reachable yet: reading from the primary");
    else
        log_info("reading boards and events from %s (EDLIVE_PG_REPLICA), when it has the seq",
                 server_kind(r->conn));
    r->summary_at = time(NULL);
    return r;
}

void hub_replica_close(struct hub_replica *r)
{
    if (!r)
        return;
    PQfinish(r->conn);
    free(r);
}

/* The replica's connection when it is up, reconnected at most every REPLICA_RETRY_S (PQreset
 * blocks, but on the worker thread only); NULL: read from the primary. */
static PGconn *replica_conn(struct hub_replica *r)
{
    time_t now = time(NULL);

    if (!r || !r->conn)
        return NULL;
    /* prefer-standby took the primary while no standby was up (a restart, a promotion): once
     * in a while, a reconnect lets libpq choose a standby again if one is back. */
    if (PQstatus(r->conn) == CONNECTION_OK && now >= r->recheck_at &&
        strcmp(server_kind(r->conn), "a standby") != 0) {
        r->recheck_at = now + REPLICA_RECHECK_S;
        PQreset(r->conn);
        if (PQstatus(r->conn) == CONNECTION_OK && !strcmp(server_kind(r->conn), "a standby"))
            log_info("replica connection (EDLIVE_PG_REPLICA) back on a standby");
    }
    /* pg_idle_alive: a standby restarted or promoted closed the idle connection; reconnect
     * now rather than fail this read. */
    if (pg_idle_alive(r->conn))
        return r->conn;
    if (now < r->retry_at)
        return NULL;
    if (pg_ensure(r->conn)) {
        log_info("replica connection (EDLIVE_PG_REPLICA) back, to %s", server_kind(r->conn));
        return r->conn;
    }
    r->retry_at = now + REPLICA_RETRY_S;
    log_warn("replica (EDLIVE_PG_REPLICA) not reachable: reading from the primary, again in %d s",
             REPLICA_RETRY_S);
    return NULL;
}

/* The counts, when the replica served reads since they were last logged, once a minute. */
static void summary(struct hub_replica *r)
{
    time_t t = time(NULL);

    if (r->reads == r->logged_reads || t - r->summary_at < REPLICA_SUMMARY_S)
        return;
    r->summary_at = t;
    r->logged_reads = r->reads;
    log_info("PostgreSQL reads since start: replica reads %llu, replica lagged %llu and "
             "replica unavailable %llu (those two read from the primary)",
             r->reads, r->lagged, r->unavailable);
}

/* What one read takes and gives. */
struct read_req {
    long long department_id;
    bool board;
    long long after, upto; /* events after `after`, up to upto (0: the transaction's last_seq) */
    /* results */
    json_t *data;             /* the board, when board */
    struct hub_event *events; /* events after `after` up to the seq read at */
};

/* On conn, in one read transaction at the department's last_seq: nothing when last_seq < need
 * (0: lagging), else the board and the events after q->after up to it (1); -1 on an error.
 * need < 0 reads whatever conn has (the primary). */
static int read_at(PGconn *conn, struct read_req *q, long long need, long long *last_seq)
{
    long long seq;
    bool ok = record_hub_read_begin(conn, q->department_id, last_seq);

    if (ok && *last_seq < need) {
        record_hub_read_end(conn);
        return 0;
    }
    if (ok && q->board) {
        q->data = record_hub_board(conn, q->department_id);
        seq = json_integer_value(json_object_get(q->data, "seq"));
        ok = q->data && seq == *last_seq;
    }
    /* The events up to what this transaction shows, never past it: the board and its
     * successors stay one consistent read. */
    if (ok && *last_seq > q->after)
        ok = hub_check_read_events(conn, q->department_id, q->after,
                                   q->upto > 0 && q->upto < *last_seq ? q->upto : *last_seq,
                                   &q->events);
    ok = record_hub_read_end(conn) && ok;
    if (!ok) {
        json_decref(q->data);
        q->data = NULL;
        hub_events_free(q->events);
        q->events = NULL;
    }
    return ok ? 1 : -1;
}

/* q on the replica when it has reached need, else on the primary. */
static bool read_where(struct hub_replica *r, PGconn *primary, struct read_req *q, long long need)
{
    PGconn *replica = replica_conn(r);
    long long last_seq = -1;
    int rc = replica ? read_at(replica, q, need, &last_seq) : -1;

    if (rc == 1) {
        r->reads++;
        if (q->board)
            log_info("dept %lld: board read from the replica at seq %lld (replica reads %llu)",
                     q->department_id, last_seq, r->reads);
        summary(r);
        return true;
    }
    if (rc == 0) {
        r->lagged++;
        log_info("dept %lld: replica lagged (at seq %lld, %lld needed): %s read from primary "
                 "(replica lagged %llu)",
                 q->department_id, last_seq, need, q->board ? "board" : "events", r->lagged);
    } else {
        r->unavailable++;
        if (replica)
            log_warn("dept %lld: replica read failed: %s read from primary", q->department_id,
                     q->board ? "board" : "events");
    }
    summary(r);
    return read_at(primary, q, -1, &last_seq) == 1;
}

bool hub_replica_read_events(struct hub_replica *r, PGconn *primary, long long department_id,
                             long long after, long long upto, long long need,
                             struct hub_event **list)
{
    struct read_req q = {.department_id = department_id, .after = after, .upto = upto};
    bool ok;

    if (!r) /* no replica: as before, straight from the primary */
        return hub_check_read_events(primary, department_id, after, upto, list);
    ok = read_where(r, primary, &q, need);
    while (*list)
        list = &(*list)->next;
    *list = q.events;
    return ok;
}

json_t *hub_replica_read_board(struct hub_replica *r, PGconn *primary, long long department_id,
                               long long need, long long top, struct hub_event **list)
{
    struct read_req q = {.department_id = department_id, .board = true, .after = top};

    if (!read_where(r, primary, &q, need))
        return NULL;
    while (*list)
        list = &(*list)->next;
    *list = q.events;
    return q.data;
}
