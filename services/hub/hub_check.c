/* SPDX-License-Identifier: MIT */
/* hub_check.c: the hub against PostgreSQL, the record of truth. Every HUB_CHECK_MS, and at
 * once when Redis skipped a seq (HUB_CHANGE_GAP), the worker reads every department's top and
 * wall setting and the events after what the hub holds (record_hub.c); the lws thread then
 * adds them to the rings. This catches events Redis never had (it was down, restarted empty, a
 * publish failed after the commit) and the last event of a quiet board. Also start-up. */
#include <stdlib.h>

#include "hub_client.h"
#include "hub_db.h"
#include "log.h"
#include "record_hub.h"

#define HUB_READ_CHUNK 500 /* events per statement */

struct check_job {
    struct hub_db_job base;
    struct hub_replica *replica; /* hub->replica: the events may come from there */
    int nheld;
    struct {
        long long id, top;
    } held[HUB_MAX_DEPARTMENTS]; /* what the hub held when the check began */
    bool ok;
    struct record_hub_top *tops;
    int ntops;
    struct hub_event *events; /* every department's, each department's in seq order */
};

/* Collects events into a list, keeping the newest HUB_RING_SIZE; checks they are gap-free. */
struct event_sink {
    long long department_id;
    long long last; /* the seq before the next one expected */
    struct hub_event *head, **tail;
    int count;
    bool broken;
};

static void sink_event(void *arg, long long seq, long long encounter_id, const char *frame,
                       size_t len)
{
    struct event_sink *k = arg;

    if (k->broken)
        return;
    if (seq != k->last + 1) {
        /* The event table is gap-free by construction; a hole means corruption. */
        log_error("dept %lld: event log jumps from %lld to %lld", k->department_id, k->last, seq);
        k->broken = true;
        return;
    }
    k->last = seq;
    *k->tail = hub_event_new(k->department_id, seq, encounter_id, frame, len);
    k->tail = &(*k->tail)->next;
    if (++k->count > HUB_RING_SIZE) { /* older ones would leave the ring at once */
        struct hub_event *old = k->head;
        k->head = old->next;
        old->next = NULL;
        hub_events_free(old);
        k->count--;
    }
}

bool hub_check_read_events(PGconn *pg, long long department_id, long long after, long long upto,
                           struct hub_event **list)
{
    struct event_sink k = {department_id, after, NULL, &k.head, 0, false};
    int rows;

    do
        rows = record_hub_events(pg, department_id, k.last, upto, HUB_READ_CHUNK, sink_event, &k);
    while (rows == HUB_READ_CHUNK && !k.broken);
    while (*list)
        list = &(*list)->next;
    *list = k.head;
    return rows >= 0 && !k.broken;
}

static void check_run(PGconn *pg, struct hub_db_job *job)
{
    struct check_job *j = (struct check_job *)job;

    /* The tops on the primary: the newest commit is what the hub must catch up to. */
    j->ntops = record_hub_tops(pg, &j->tops);
    j->ok = j->ntops >= 0;
    for (int i = 0; j->ok && i < j->ntops; i++) {
        const struct record_hub_top *t = &j->tops[i];
        long long from = t->last_seq > HUB_RING_SIZE / 2 ? t->last_seq - HUB_RING_SIZE / 2 : 0;
        for (int k = 0; k < j->nheld; k++)
            if (j->held[k].id == t->department_id)
                from = j->held[k].top;
        /* The events up to that top: from the replica once it has reached it. */
        if (t->last_seq > from && !hub_replica_read_events(j->replica, pg, t->department_id, from,
                                                           t->last_seq, t->last_seq, &j->events))
            break; /* PostgreSQL went away: what was read is added, the rest next time */
    }
}

static void check_apply(struct hub *hub, struct check_job *j)
{
    for (int i = 0; j->ok && i < j->ntops; i++) {
        const struct record_hub_top *t = &j->tops[i];
        struct hub_department *d = hub_department_find(hub, t->department_id);
        unsigned changes = 0;

        if (!d) {
            d = hub_department_add(hub, t->department_id, t->last_seq);
            if (!d)
                continue;
            hub_feed_follow(hub->feed, d->id, t->last_seq);
            changes |= HUB_CHANGE_NEW;
        }
        changes |= hub_department_set_wall_flags(d, t->wall_shows_flags);
        changes |= hub_department_add_events(d, j->events);
        hub_department_changed(hub, d, changes);
    }
}

static struct check_job *check_new(struct hub *hub)
{
    struct check_job *j = calloc(1, sizeof *j);

    if (!j) {
        log_error("out of memory for a tops check");
        abort();
    }
    j->replica = hub->replica;
    j->nheld = hub->ndepts;
    for (int i = 0; i < hub->ndepts; i++) {
        j->held[i].id = hub->depts[i].id;
        j->held[i].top = hub->depts[i].top;
    }
    return j;
}

static void check_free(struct check_job *j)
{
    free(j->tops);
    hub_events_free(j->events);
    free(j);
}

static void check_done(struct hub *hub, struct hub_db_job *job)
{
    struct check_job *j = (struct check_job *)job;

    if (hub) {
        hub->check_busy = false;
        check_apply(hub, j);
        hub_subs_retry(hub);
        if (hub->check_again) {
            hub->check_again = false;
            hub_check_soon(hub);
        }
    }
    check_free(j);
}

void hub_check_soon(struct hub *hub)
{
    if (hub->check_busy) {
        hub->check_again = true;
        return;
    }
    hub->check_busy = true;
    hub_db_submit(hub->db, &check_new(hub)->base, check_run, check_done);
}

static void on_check_timer(lws_sorted_usec_list_t *sul)
{
    struct hub *hub = lws_container_of(sul, struct hub, check_timer);

    hub_check_soon(hub);
    lws_sul_schedule(hub->ctx, 0, &hub->check_timer, on_check_timer, HUB_CHECK_MS * LWS_US_PER_MS);
}

void hub_check_init(struct hub *hub)
{
    lws_sul_schedule(hub->ctx, 0, &hub->check_timer, on_check_timer, HUB_CHECK_MS * LWS_US_PER_MS);
}

bool hub_start(struct hub *hub)
{
    struct check_job *j = check_new(hub);
    bool ok;

    /* Before the service loop: nothing is served yet, so this first read may block. */
    check_run(hub->pg, &j->base);
    ok = j->ok;
    check_apply(hub, j);
    check_free(j);
    if (!ok)
        return false;
    hub->db = hub_db_start(hub->ctx, hub->pg);
    return hub->db != NULL;
}

void hub_stop(struct hub *hub)
{
    /* The hub's timers first: main() turns the loop once more after this, so lws can close its
     * handles, and a timer that fired then would find the worker gone. */
    lws_sul_cancel(&hub->check_timer);
    lws_sul_cancel(&hub->heartbeat_timer);
    lws_sul_cancel(&hub->session_timer);
    lws_sul_cancel(&hub->gate_timer);
    hub_feed_stop(hub->feed);
    hub->feed = NULL;
    hub_subs_batch_drop();
    hub_db_stop(hub->db); /* closes hub->pg */
    hub->db = NULL;
    hub->pg = NULL;
    hub_replica_close(hub->replica); /* the worker's, now stopped */
    hub->replica = NULL;
    for (int i = 0; i < hub->ndepts; i++)
        hub_department_free(&hub->depts[i]);
    hub->ndepts = 0;
}
