/* SPDX-License-Identifier: MIT */
/* hub_sessions.c: the sessions of open sockets, checked in rounds on the database worker (one
 * query for every socket). Idle time-out, sign-out, a disabled account: a socket whose session
 * ended is closed with 4401 before anything more is written to it.
 * - Every HUB_SESSION_CHECK_MS a full round: it also keeps display (wall) sessions alive (a
 *   clinician's socket is not activity) and re-reads the principals holding emergency access,
 *   ending the charts whose grant has run out.
 * - The gate: events are written only up to each department's checked_top, the tops as they
 *   were when the last round began. New events schedule a round (gate_timer, at the next loop
 *   turn, one round for everything that arrived meanwhile), so an event is never written on a
 *   session that ended before it arrived, and the event path itself never reads PostgreSQL. */
#include <stdlib.h>
#include <string.h>

#include "hub_client.h"
#include "hub_db.h"
#include "log.h"
#include "record.h"

/* A socket holding emergency access, re-read in a full round. */
struct grant_check {
    unsigned long long client_id;
    struct principal who; /* a copy, re-read by the worker */
    enum record_session_result result;
    struct {
        int index;
        unsigned gen;
        long long encounter_id, department_id;
        bool lapsed; /* out: the grant to this chart has ended */
    } charts[HUB_MAX_SUBS];
    int ncharts;
};

struct session_job {
    struct hub_db_job base;
    bool full;
    int ndepts;
    long long tops[HUB_MAX_DEPARTMENTS]; /* hub->depts[i].top when the round began */
    lws_usec_t started;
    size_t n; /* distinct sessions asked about (hub_session_cache.c) */
    unsigned char (*hashes)[32];
    bool *live;
    bool ok;
    size_t ngrants;
    struct grant_check *grants;
};

void hub_session_end(struct hub_client *c)
{
    c->session_ended = true;
    lws_callback_on_writable(c->wsi);
}

/* Worker: is each session alive; and the grants of those holding emergency access. */
static void round_run(PGconn *pg, struct hub_db_job *job)
{
    struct session_job *j = (struct session_job *)job;

    /* PostgreSQL is away (restarting): keep delivering; the 1 s check reconnects, and the
     * sessions are checked again then. */
    if (PQstatus(pg) != CONNECTION_OK || !j->n)
        return;
    j->ok =
        record_sessions_alive(pg, (const unsigned char(*)[32])j->hashes, j->n, j->live, j->full);
    for (size_t i = 0; j->ok && i < j->ngrants; i++) {
        struct grant_check *g = &j->grants[i];
        g->result = record_session_check(pg, &g->who);
        for (int k = 0; g->result == SESSION_OK && k < g->ncharts; k++)
            g->charts[k].lapsed =
                !record_in_department(&g->who, g->charts[k].department_id) &&
                record_encounter_department(pg, &g->who, g->charts[k].encounter_id) == 0;
    }
}

/* A chart followed through emergency access stops when the grant ends. */
static void apply_grant(struct hub *hub, const struct grant_check *g)
{
    struct hub_client *c = hub_client_find(hub, g->client_id);

    if (!c || c->session_ended || g->result == SESSION_DB_ERROR)
        return;
    if (g->result == SESSION_NONE) {
        hub_session_end(c);
        return;
    }
    memcpy(c->who, &g->who, sizeof g->who);
    for (int k = 0; k < g->ncharts; k++) {
        struct hub_sub *s = &c->subs[g->charts[k].index];
        struct ed_error err = {0};
        if (!g->charts[k].lapsed || s->gen != g->charts[k].gen || s->kind != SUB_CHART)
            continue;
        s->kind = SUB_NONE;
        s->gen++;
        ed_error_set(&err, ED_ERR_ACCESS_ENDED, "encounter_id",
                     "emergency access to this chart has ended");
        hub_client_queue_topic_error(c, SUB_CHART, s->topic_id, &err);
    }
}

static void start_round(struct hub *hub, bool full);

static void round_done(struct hub *hub, struct hub_db_job *job)
{
    struct session_job *j = (struct session_job *)job;
    bool behind = false;

    if (hub) {
        hub->sessions_busy = false;
        bool ended = false;
        for (size_t i = 0; j->ok && i < j->n; i++) {
            struct hub_session *sess = hub_session_find(j->hashes[i]);
            if (!sess || sess->ended)
                continue;
            if (j->live[i])
                sess->checked_at = j->started;
            else {
                hub_session_mark_ended(sess);
                ended = true;
            }
        }
        /* A pass over the sockets only when a session ended (rare), not every round. */
        for (struct hub_client *c = ended ? hub->clients : NULL; c; c = c->next)
            if (c->session && c->session->ended && !c->session_ended)
                hub_session_end(c);
        for (size_t i = 0; j->ok && i < j->ngrants; i++)
            apply_grant(hub, &j->grants[i]);
        /* Open the gate to the tops of the round's start (also when PostgreSQL could not
         * answer: delivery goes on, as the sessions cannot be checked). */
        for (int i = 0; i < j->ndepts; i++) {
            struct hub_department *d = &hub->depts[i];
            if (j->tops[i] > d->checked_top) {
                d->checked_top = j->tops[i];
                hub_clients_wake(hub, d);
            }
            behind |= d->checked_top < d->top;
        }
        for (int i = j->ndepts; i < hub->ndepts; i++)
            behind |= hub->depts[i].checked_top < hub->depts[i].top;
        if (hub->sessions_full_due)
            start_round(hub, true);
        else if (behind)
            start_round(hub, false);
    }
    free(j->hashes);
    free(j->live);
    free(j->grants);
    free(j);
}

/* Copies what the worker needs of c's emergency access (a chart outside its departments). */
static void add_grant(struct session_job *j, const struct hub_client *c)
{
    struct grant_check *g = &j->grants[j->ngrants++];

    memset(g, 0, sizeof *g);
    g->client_id = c->id;
    memcpy(&g->who, c->who, sizeof g->who);
    for (int i = 0; i < c->sub_slots; i++) {
        const struct hub_sub *s = &c->subs[i];
        if (s->kind != SUB_CHART || s->pending || !s->dept)
            continue;
        g->charts[g->ncharts].index = i;
        g->charts[g->ncharts].gen = s->gen;
        g->charts[g->ncharts].encounter_id = s->topic_id;
        g->charts[g->ncharts].department_id = s->dept->id;
        g->ncharts++;
    }
}

static void start_round(struct hub *hub, bool full)
{
    struct session_job *j = calloc(1, sizeof *j);
    size_t cap = 0;

    if (!j)
        return;
    size_t sessions = hub_session_count(), ngrants = 0;

    /* Emergency access ends on its own clock: those principals are re-read (full rounds). */
    for (struct hub_client *c = full ? hub->clients : NULL; c; c = c->next)
        cap += c->who && !c->session_ended && c->who->n_patients > 0;
    j->hashes = calloc(sessions + 1, sizeof *j->hashes);
    j->live = calloc(sessions + 1, sizeof *j->live);
    j->grants = calloc(cap + 1, sizeof *j->grants);
    if (!j->hashes || !j->live || !j->grants) {
        log_error("out of memory for a session check");
        abort();
    }
    j->full = full;
    j->started = lws_now_usecs();
    j->ndepts = hub->ndepts;
    for (int i = 0; i < hub->ndepts; i++)
        j->tops[i] = hub->depts[i].top;
    /* One hash per distinct session, not per socket: 10,000 boards of one wall session ask
     * about one row. */
    j->n = hub_session_live(j->hashes, sessions);
    for (struct hub_client *c = full ? hub->clients : NULL; c && ngrants < cap; c = c->next)
        if (c->who && !c->session_ended && c->who->n_patients > 0) {
            add_grant(j, c);
            ngrants++;
        }
    if (full) {
        hub->sessions_full_due = false;
        hub_session_sweep(j->started);
    }
    hub->sessions_busy = true;
    /* Events wait for it: ahead of subscribes (a reconnect storm's audit rows). */
    hub_db_submit_first(hub->db, &j->base, round_run, round_done);
}

static void on_session_timer(lws_sorted_usec_list_t *sul)
{
    struct hub *hub = lws_container_of(sul, struct hub, session_timer);

    if (hub->sessions_busy)
        hub->sessions_full_due = true;
    else
        start_round(hub, true);
    lws_sul_schedule(hub->ctx, 0, &hub->session_timer, on_session_timer,
                     HUB_SESSION_CHECK_MS * LWS_US_PER_MS);
}

static void on_gate_timer(lws_sorted_usec_list_t *sul)
{
    struct hub *hub = lws_container_of(sul, struct hub, gate_timer);

    if (!hub->sessions_busy) /* else the round under way starts the next one when it ends */
        start_round(hub, false);
}

void hub_sessions_gate(struct hub *hub)
{
    if (!hub->sessions_busy)
        lws_sul_schedule(hub->ctx, 0, &hub->gate_timer, on_gate_timer, 0);
}

void hub_sessions_init(struct hub *hub)
{
    lws_sul_schedule(hub->ctx, 0, &hub->session_timer, on_session_timer,
                     HUB_SESSION_CHECK_MS * LWS_US_PER_MS);
}
