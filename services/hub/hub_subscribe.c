/* SPDX-License-Identifier: MIT */
/* hub_subscribe.c: the database part of a subscription. A subscribe (or a running subscription
 * that needs a snapshot) becomes one job for the worker: the session check (which also re-reads
 * the principal: a break-glass grant made since the upgrade), the access checks, the audit
 * row, and the read it needs; the result is applied on the lws thread:
 *   - "recovered": the ring still holds every event after since (an audit row only);
 *   - a board snapshot from the hub's memory (hub_board.c; an audit row only), or read from
 *     PostgreSQL (record_board, audited as the reader's) when memory cannot give it;
 *   - a chart snapshot (record_chart, audited).
 * Events a read shows that the ring does not hold yet are read with it, so the snapshot's
 * successors are there to follow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_client.h"
#include "hub_db.h"
#include "hub_ops.h"
#include "log.h"
#include "record.h"

enum sub_outcome {
    SUB_FAILED,    /* err says why */
    SUB_ENDED,     /* the session has ended */
    SUB_NEW_DEPT,  /* a department the hub does not hold yet: again after a tops check */
    SUB_RECOVERED, /* resume after since */
    SUB_MEMORY,    /* audited: serve the board from memory */
    SUB_SNAPSHOT,  /* data read at seq */
};

struct sub_job {
    struct hub_db_job base;
    unsigned long long client_id;
    int index;
    unsigned gen;
    bool resync;
    bool who_read;        /* the worker read the principal again (a worker job, not a batch item) */
    bool retried;         /* started again after a tops check (SUB_NEW_DEPT once already) */
    struct principal who; /* a copy; re-read by the session check */
    /* the socket's upgrade (X-Request-Id) for its audit rows; "": none */
    char request_id[LOG_REQUEST_ID_MAX + 1];
    struct hub_replica *replica; /* hub->replica: a board and events may be read there */
    bool board;
    long long topic_id, since;
    bool board_in_memory; /* memory can serve the board (or will, after a read queued earlier) */
    bool reads_board;     /* this job set d->board_read_queued */
    int nheld;
    struct {
        long long id, first, top;
    } held[HUB_MAX_DEPARTMENTS];
    /* results */
    enum sub_outcome outcome;
    struct ed_error err;
    long long department_id, seq;
    json_t *data;
    struct hub_event *events;
};

static bool unavailable(struct sub_job *j)
{
    j->outcome = SUB_FAILED;
    return ed_error_set(&j->err, ED_ERR_UNAVAILABLE, NULL, "the record could not be reached");
}

static const char *topic_of(const struct sub_job *j)
{
    return j->board ? "board" : "chart";
}

static bool audit(PGconn *pg, struct sub_job *j, const char *outcome, const char *detail)
{
    return record_audit(pg, &j->who, NULL, j->board ? "board.read" : "chart.read", 0,
                        j->board ? 0 : j->topic_id, topic_of(j), outcome, false, detail,
                        j->who.source_addr);
}

static bool refuse(PGconn *pg, struct sub_job *j, enum ed_code code, const char *field,
                   const char *message)
{
    audit(pg, j, "denied", code == ED_ERR_FORBIDDEN ? "forbidden" : "not_found");
    j->outcome = SUB_FAILED;
    return ed_error_set(&j->err, code, field, "%s", message);
}

/* Session, role and scope; sets j->department_id. False when refused (j says why). */
static bool authorize(PGconn *pg, struct sub_job *j)
{
    const char *id_field = j->board ? "department_id" : "encounter_id";

    /* A snapshot is chart data: the session must be valid now, not only at the last check. */
    switch (record_session_check(pg, &j->who)) {
    case SESSION_OK:
        break;
    case SESSION_NONE:
        j->outcome = SUB_ENDED;
        return false;
    default:
        return !unavailable(j);
    }
    if (!record_allows(&j->who, j->board ? ACT_BOARD_READ : ACT_CHART_READ))
        return refuse(pg, j, ED_ERR_FORBIDDEN, "topic", "your role may not follow this topic");
    if (j->board && !record_in_department(&j->who, j->topic_id))
        return refuse(pg, j, ED_ERR_NOT_FOUND, id_field, "no such department");
    j->department_id =
        j->board ? j->topic_id : record_encounter_department(pg, &j->who, j->topic_id);
    if (j->department_id < 0)
        return !unavailable(j);
    if (!j->department_id)
        return refuse(pg, j, ED_ERR_NOT_FOUND, id_field, "no such encounter");
    return true;
}

static void sub_read(PGconn *pg, struct sub_job *j)
{
    long long first = 1, top = -1;
    int k;

    j->who_read = true;
    if (!authorize(pg, j))
        return;
    for (k = 0; k < j->nheld && j->held[k].id != j->department_id; k++)
        ;
    if (k == j->nheld) {
        j->outcome = SUB_NEW_DEPT;
        return;
    }
    first = j->held[k].first;
    top = j->held[k].top;
    /* The client may be ahead of this hub: read up to PostgreSQL's top first (a replica
     * must have reached the client's since). */
    if (j->since > top && !j->resync) {
        if (!hub_replica_read_events(j->replica, pg, j->department_id, top, 0, j->since,
                                     &j->events)) {
            unavailable(j);
            return;
        }
        for (struct hub_event *e = j->events; e; e = e->next)
            top = e->seq;
    }
    if (j->since > 0 && j->since >= first - 1 && j->since <= top && !j->resync) {
        j->outcome = SUB_RECOVERED;
        if (!audit(pg, j, "success", "recovered"))
            unavailable(j);
        return;
    }
    if (j->board && j->board_in_memory) {
        /* Served from memory, audited all the same (a read from PostgreSQL audits itself). */
        j->outcome = SUB_MEMORY;
        if (!audit(pg, j, "success", NULL))
            unavailable(j);
        return;
    }
    if (j->board && j->replica) {
        /* Audited on the primary first, as a board from memory is; then read where the seq the
         * hub holds already is, with the events up to the board's seq, in one transaction. */
        if (!audit(pg, j, "success", NULL) ||
            !(j->data =
                  hub_replica_read_board(j->replica, pg, j->department_id, top, top, &j->events))) {
            unavailable(j);
            return;
        }
        j->outcome = SUB_SNAPSHOT;
        j->seq = json_integer_value(json_object_get(j->data, "seq"));
        return;
    }
    j->data = j->board ? record_board(pg, &j->who, j->department_id, &j->err)
                       : record_chart(pg, &j->who, j->topic_id, &j->err);
    if (!j->data) {
        j->outcome = SUB_FAILED;
        return;
    }
    j->outcome = SUB_SNAPSHOT;
    j->seq = json_integer_value(json_object_get(j->data, "seq"));
    /* The snapshot may be newer than the ring: its successors must be there to follow. */
    if (j->seq > top && !hub_check_read_events(pg, j->department_id, top, j->seq, &j->events))
        unavailable(j);
}

/* sub_read, its audit rows carrying the request id of the socket's upgrade. */
static void sub_run(PGconn *pg, struct hub_db_job *job)
{
    struct sub_job *j = (struct sub_job *)job;

    record_request_id_set(j->request_id[0] ? j->request_id : NULL);
    sub_read(pg, j);
    record_request_id_set(NULL);
}

/* Queues d's board snapshot (memory) for c; false when memory cannot give it. */
static bool queue_board(struct hub *hub, struct hub_client *c, struct hub_sub *s)
{
    struct hub_department *d = s->dept;
    bool ok;

    if (!(hub_client_is_wall(c) ? hub_board_wall_snapshot(hub, d) : hub_board_snapshot(hub, d)))
        return false;
    hub_sub_begin_at(s, d->board_cache_seq);
    ops_inc(&hub_ops.snapshots[HUB_OPS_BOARD]);
    /* One copy of the snapshot for every socket it goes to (a reconnect storm's memory). */
    ok = hub_client_queue_shared(c, hub_client_is_wall(c) ? d->wall_cache : d->board_cache);
    if (!ok)
        hub_client_cut(c); /* a client that ignores its replies is cut */
    return true;
}

static void queue_chart(struct hub_client *c, struct hub_sub *s, struct sub_job *j)
{
    json_t *frame = json_pack("{s:s,s:s,s:I,s:I,s:I,s:O}", "type", "snapshot", "topic", "chart",
                              "encounter_id", (json_int_t)s->topic_id, "department_id",
                              (json_int_t)s->dept->id, "seq", (json_int_t)j->seq, "chart", j->data);

    hub_sub_begin_at(s, j->seq);
    ops_inc(&hub_ops.snapshots[HUB_OPS_CHART]);
    if (!hub_client_queue_json(c, frame))
        hub_client_cut(c);
}

static void queue_recovered(struct hub_client *c, struct hub_sub *s, long long since)
{
    bool board = s->kind == SUB_BOARD;
    json_t *reply =
        json_pack("{s:s,s:s,s:s,s:I}", "type", "subscribed", "topic", board ? "board" : "chart",
                  "mode", "recovered", "since", (json_int_t)since);

    json_object_set_new(reply, board ? "department_id" : "encounter_id", json_integer(s->topic_id));
    hub_sub_begin_at(s, since);
    ops_inc(&hub_ops.recoveries[board ? HUB_OPS_BOARD : HUB_OPS_CHART]);
    if (!hub_client_queue_json(c, reply))
        hub_client_cut(c);
}

/* The subscription could not start: an error reply; a resync instead skips to the top (the
 * client's heartbeat check sees the gap and subscribes again). */
static void fail(struct hub_client *c, struct hub_sub *s, const struct sub_job *j)
{
    if (j->resync && s->dept) {
        log_warn("snapshot for a running subscription failed: %s", j->err.code);
        s->next_seq = s->dept->top + 1;
        s->chart_top = s->dept->top; /* a chart's heartbeat shows the skip too */
        return;
    }
    if (j->err.status >= 500)
        log_warn("client message refused: %d %s", j->err.status, j->err.code);
    s->kind = SUB_NONE;
    s->gen++;
    if (!hub_client_queue_topic_error(c, j->board ? SUB_BOARD : SUB_CHART, j->topic_id, &j->err))
        hub_client_cut(c);
}

static void apply(struct hub *hub, struct hub_client *c, struct hub_sub *s, struct sub_job *j)
{
    struct hub_department *d = hub_department_find(hub, j->department_id);

    if (j->outcome == SUB_ENDED) {
        hub_session_end(c);
        return;
    }
    if (j->outcome != SUB_FAILED && j->who_read)
        memcpy(c->who, &j->who, sizeof j->who); /* re-read: grants made since the upgrade */
    if (j->outcome == SUB_NEW_DEPT && j->retried) {
        s->pending = false;
        ed_error_set(&j->err, ED_ERR_NOT_FOUND, j->board ? "department_id" : "encounter_id",
                     "no such %s", j->board ? "department" : "encounter");
        fail(c, s, j);
        return;
    }
    if (j->outcome == SUB_NEW_DEPT) {
        s->pending = s->retry = true;
        /* The since to start again with: a client moving over from another hub resumes
         * ("recovered") here too. next_seq is unused until the subscription starts. */
        s->next_seq = j->since;
        hub_check_soon(hub);
        return;
    }
    s->pending = false;
    if (j->outcome == SUB_FAILED || !d) {
        fail(c, s, j);
        return;
    }
    s->dept = d;
    hub_members_changed(hub);
    if (j->outcome == SUB_RECOVERED)
        queue_recovered(c, s, j->since);
    else if (j->outcome == SUB_SNAPSHOT && !j->board)
        queue_chart(c, s, j);
    else {
        if (j->outcome == SUB_SNAPSHOT)
            hub_board_install(d, json_incref(j->data), j->seq);
        if (!queue_board(hub, c, s)) {
            /* Memory could not give it after all (an event it cannot apply came first). */
            if (j->outcome == SUB_MEMORY) {
                hub_sub_start(hub, c, s, j->since, j->resync);
                return;
            }
            ed_error_set(&j->err, ED_ERR_UNAVAILABLE, NULL, "the record could not be reached");
            fail(c, s, j);
            return;
        }
    }
    lws_callback_on_writable(c->wsi);
}

static void sub_done(struct hub *hub, struct hub_db_job *job)
{
    struct sub_job *j = (struct sub_job *)job;

    if (hub) {
        struct hub_department *d = hub_department_find(hub, j->department_id);
        struct hub_client *c = hub_client_find(hub, j->client_id);
        struct hub_department *asked = hub_department_find(hub, j->topic_id);
        if (j->reads_board && asked)
            asked->board_read_queued = false;
        /* The events read are the department's, whoever asked (and whether still here). */
        if (d && j->events)
            hub_department_changed(hub, d, hub_department_add_events(d, j->events));
        if (c && c->subs[j->index].gen == j->gen && !c->session_ended)
            apply(hub, c, &c->subs[j->index], j);
    }
    json_decref(j->data);
    hub_events_free(j->events);
    free(j);
}

/* ---- board subscriptions answered from memory, in batches ----
 * A board subscribe the hub can answer from memory ("recovered" from the ring, or the board
 * snapshot held) needs no read of its own: it waits (pending) in a batch that the worker runs
 * every HUB_SUB_BATCH_MS (or at HUB_SUB_BATCH_MAX items) as two statements, whatever its
 * size: one check of the batch's distinct sessions (so a snapshot still goes out only on a
 * session valid now) and one INSERT of every audit row. Only then is each answered, so no
 * board data leaves before its audit row is committed. A reconnect storm of 10,000 boards
 * costs a few dozen round trips instead of 20,000. */
#define HUB_SUB_BATCH_MS  20
#define HUB_SUB_BATCH_MAX 1000

struct batch_item {
    unsigned long long client_id;
    int index;
    unsigned gen;
    bool resync;
    enum sub_outcome outcome; /* SUB_RECOVERED or SUB_MEMORY; SUB_ENDED or SUB_FAILED after */
    long long department_id, since;
    int session; /* index in hashes */
    long long account_id;
    char username[72], role[32], addr[48];
    char request_id[LOG_REQUEST_ID_MAX + 1]; /* the socket's upgrade (X-Request-Id), "": none */
};

struct batch_job {
    struct hub_db_job base;
    size_t n, nsessions;
    struct batch_item items[HUB_SUB_BATCH_MAX];
    unsigned char hashes[HUB_SUB_BATCH_MAX][32];
    bool live[HUB_SUB_BATCH_MAX];
};

static struct batch_job *batch; /* being filled on the lws thread, or NULL */
static lws_sorted_usec_list_t batch_timer;
static struct hub *batch_hub;

static void batch_run(PGconn *pg, struct hub_db_job *job)
{
    struct batch_job *b = (struct batch_job *)job;
    json_t *rows = json_array();
    bool ok = PQstatus(pg) == CONNECTION_OK &&
              record_sessions_alive(pg, (const unsigned char(*)[32])b->hashes, b->nsessions,
                                    b->live, false);

    for (size_t i = 0; ok && rows && i < b->n; i++) {
        struct batch_item *it = &b->items[i];
        if (!b->live[it->session]) {
            it->outcome = SUB_ENDED;
            continue;
        }
        json_array_append_new(rows,
                              json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s?}", "account_id",
                                        (json_int_t)it->account_id, "username", it->username,
                                        "role", it->role, "action", "board.read", "category",
                                        "board", "source_addr", it->addr, "outcome", "success",
                                        "detail", it->outcome == SUB_RECOVERED ? "recovered" : NULL,
                                        "request_id", it->request_id[0] ? it->request_id : NULL));
    }
    ok = ok && rows && record_audit_many(pg, rows);
    json_decref(rows);
    for (size_t i = 0; !ok && i < b->n; i++)
        b->items[i].outcome = SUB_FAILED;
}

static void apply(struct hub *hub, struct hub_client *c, struct hub_sub *s, struct sub_job *j);

static void batch_done(struct hub *hub, struct hub_db_job *job)
{
    struct batch_job *b = (struct batch_job *)job;

    for (size_t i = 0; hub && i < b->n; i++) {
        const struct batch_item *it = &b->items[i];
        struct hub_client *c = hub_client_find(hub, it->client_id);
        struct sub_job j = {0};
        if (!c || c->subs[it->index].gen != it->gen || c->session_ended)
            continue;
        j.board = true;
        j.resync = it->resync;
        j.since = it->since;
        j.topic_id = j.department_id = it->department_id;
        j.outcome = it->outcome;
        if (j.outcome == SUB_FAILED)
            unavailable(&j);
        apply(hub, c, &c->subs[it->index], &j);
    }
    free(b);
}

static void batch_flush(struct hub *hub)
{
    if (!batch)
        return;
    lws_sul_cancel(&batch_timer);
    hub_db_submit(hub->db, &batch->base, batch_run, batch_done);
    batch = NULL;
}

static void on_batch_timer(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    batch_flush(batch_hub);
}

/* Answers s from memory through the batch when it can: true when it took s. */
static bool start_from_memory(struct hub *hub, struct hub_client *c, struct hub_sub *s,
                              long long since, bool resync)
{
    struct hub_department *d = s->dept;
    struct hub_session *sess = c->session;
    struct batch_item *it;
    enum sub_outcome outcome;
    size_t k;

    /* Refusals, charts, and sessions no round has confirmed lately take the worker's path. */
    if (s->kind != SUB_BOARD || !d || !sess || sess->ended || !hub->db ||
        lws_now_usecs() - sess->checked_at >= HUB_SESSION_TRUST_MS * LWS_US_PER_MS ||
        !record_allows(c->who, ACT_BOARD_READ) || !record_in_department(c->who, s->topic_id))
        return false;
    if (since > 0 && since >= d->first - 1 && since <= d->top && !resync)
        outcome = SUB_RECOVERED;
    else if (d->board_read_queued || hub_board_snapshot(hub, d))
        outcome = SUB_MEMORY; /* a queued read is applied first: the worker keeps the order */
    else
        return false;
    if (!batch) {
        batch = calloc(1, sizeof *batch);
        if (!batch) {
            log_error("out of memory for a subscribe");
            abort();
        }
        batch_hub = hub;
        lws_sul_schedule(hub->ctx, 0, &batch_timer, on_batch_timer,
                         HUB_SUB_BATCH_MS * LWS_US_PER_MS);
    }
    for (k = 0; k < batch->nsessions && memcmp(batch->hashes[k], c->who->token_hash, 32); k++)
        ;
    if (k == batch->nsessions)
        memcpy(batch->hashes[batch->nsessions++], c->who->token_hash, 32);
    it = &batch->items[batch->n++];
    it->client_id = c->id;
    it->index = (int)(s - c->subs);
    it->gen = s->gen;
    it->resync = resync;
    it->outcome = outcome;
    it->department_id = d->id;
    it->since = since;
    it->session = (int)k;
    it->account_id = c->who->account_id;
    snprintf(it->username, sizeof it->username, "%s", c->who->username);
    snprintf(it->role, sizeof it->role, "%s", c->who->role);
    hub_client_addr(c, it->addr, sizeof it->addr);
    snprintf(it->request_id, sizeof it->request_id, "%s", c->request_id ? c->request_id : "");
    s->pending = true;
    s->retry = false;
    if (batch->n == HUB_SUB_BATCH_MAX)
        batch_flush(hub);
    return true;
}

void hub_subs_batch_drop(void)
{
    lws_sul_cancel(&batch_timer);
    free(batch);
    batch = NULL;
}

void hub_sub_start(struct hub *hub, struct hub_client *c, struct hub_sub *s, long long since,
                   bool resync)
{
    struct sub_job *j;

    if (start_from_memory(hub, c, s, since, resync))
        return;
    j = calloc(1, sizeof *j);

    if (!j) {
        log_error("out of memory for a subscribe");
        abort();
    }
    j->client_id = c->id;
    j->index = (int)(s - c->subs);
    j->gen = s->gen;
    j->resync = resync;
    j->retried = s->retry;
    memcpy(&j->who, c->who, sizeof j->who);
    hub_client_addr(c, j->who.source_addr, sizeof j->who.source_addr);
    snprintf(j->request_id, sizeof j->request_id, "%s", c->request_id ? c->request_id : "");
    j->replica = hub->replica;
    j->board = s->kind == SUB_BOARD;
    j->topic_id = s->topic_id;
    j->since = since;
    j->nheld = hub->ndepts;
    for (int i = 0; i < hub->ndepts; i++) {
        j->held[i].id = hub->depts[i].id;
        j->held[i].first = hub->depts[i].first;
        j->held[i].top = hub->depts[i].top;
    }
    /* A thousand screens subscribing at once cost one read: the first one's, which is applied
     * before theirs (the worker keeps the order). */
    if (j->board && s->dept) {
        j->board_in_memory = s->dept->board_read_queued || hub_board_snapshot(hub, s->dept);
        j->reads_board = !j->board_in_memory;
        s->dept->board_read_queued |= j->reads_board;
    }
    s->pending = true;
    s->retry = false;
    hub_db_submit(hub->db, &j->base, sub_run, sub_done);
}

void hub_subs_retry(struct hub *hub)
{
    for (struct hub_client *c = hub->clients; c; c = c->next)
        for (int i = 0; i < c->sub_slots; i++) {
            struct hub_sub *s = &c->subs[i];
            if (s->kind != SUB_NONE && s->retry) {
                if (s->kind == SUB_BOARD && !s->dept) {
                    s->dept = hub_department_find(hub, s->topic_id);
                    hub_members_changed(hub);
                }
                hub_sub_start(hub, c, s, s->next_seq, false); /* the since it asked with */
            }
        }
}
