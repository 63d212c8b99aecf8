/* SPDX-License-Identifier: MIT */
/* hub_department.c: each department's ring of event frames, kept contiguous: an event that
 * is not top + 1 makes the hub read the missing ones from PostgreSQL's event table first,
 * and a periodic check catches the one loss no later event reveals (a quiet board's last). */
#include <stdlib.h>
#include <string.h>

#include "board_mask.h"
#include "hub.h"
#include "log.h"
#include "pg.h"

struct hub_department *hub_department_find(struct hub *hub, long long id)
{
    for (int i = 0; i < hub->ndepts; i++)
        if (hub->depts[i].id == id)
            return &hub->depts[i];
    return NULL;
}

struct hub_frame *hub_department_frame(struct hub_department *d, long long seq)
{
    struct hub_frame *f;

    if (seq < d->first || seq > d->top)
        return NULL;
    f = d->ring[seq % HUB_RING_SIZE];
    return f && f->seq == seq ? f : NULL;
}

static struct hub_frame *new_frame(long long seq, long long encounter_id, const char *json,
                                   size_t len)
{
    struct hub_frame *f = malloc(sizeof *f + LWS_PRE + len);

    if (!f) {
        log_error("out of memory for seq %lld", seq);
        abort();
    }
    f->seq = seq;
    f->encounter_id = encounter_id;
    f->wall = NULL;
    f->len = len;
    memcpy(f->data + LWS_PRE, json, len);
    return f;
}

static void free_frame(struct hub_frame *f)
{
    if (f)
        free(f->wall);
    free(f);
}

static void append(struct hub_department *d, long long seq, long long encounter_id,
                   const char *json, size_t len)
{
    struct hub_frame **slot = &d->ring[seq % HUB_RING_SIZE];
    struct hub_frame *f = new_frame(seq, encounter_id, json, len);
    size_t wall_len = 0;
    /* The wall's variant is encoded here, once, like the frame itself. */
    char *wall = board_mask_event(json, len, d->wall_shows_flags, &wall_len);

    if (wall)
        f->wall = new_frame(seq, encounter_id, wall, wall_len);
    else
        log_error("dept %lld seq %lld: event not masked; display sessions skip it", d->id, seq);
    free(wall);
    free_frame(*slot);
    *slot = f;
    if (d->first > d->top)
        d->first = seq; /* the ring was empty */
    d->top = seq;
    if (d->top - d->first >= HUB_RING_SIZE)
        d->first = d->top - HUB_RING_SIZE + 1; /* the oldest slot was just reused */
}

/* Encodes again the wall variant of every held event, under d->wall_shows_flags (changed). */
static void remask_ring(struct hub_department *d)
{
    for (long long seq = d->first; seq <= d->top; seq++) {
        struct hub_frame *f = hub_department_frame(d, seq);
        size_t wall_len = 0;
        char *wall;

        if (!f)
            continue;
        wall = board_mask_event((const char *)f->data + LWS_PRE, f->len, d->wall_shows_flags,
                                &wall_len);
        free(f->wall);
        f->wall = wall ? new_frame(seq, f->encounter_id, wall, wall_len) : NULL;
        free(wall);
    }
}

bool hub_department_catch_up(struct hub *hub, struct hub_department *d, long long upto)
{
    static const char sql[] =
        "SELECT seq, encounter_id, event_frame(department_id, seq) FROM event "
        "WHERE department_id = $1 AND seq > $2 AND ($3 = 0 OR seq <= $3) ORDER BY seq LIMIT 500";
    char deptbuf[24], topbuf[24], uptobuf[24];
    long long before = d->top;

    for (;;) {
        const char *params[] = {pg_int_param(deptbuf, d->id), pg_int_param(topbuf, d->top),
                                pg_int_param(uptobuf, upto)};
        PGresult *res;
        int rows;

        if (!pg_ensure(hub->pg))
            return false;
        res = pg_query(hub->pg, sql, 3, params);
        if (!pg_ok(hub->pg, res, "read events")) {
            PQclear(res);
            return false;
        }
        rows = PQntuples(res);
        for (int i = 0; i < rows; i++) {
            long long seq = atoll(PQgetvalue(res, i, 0));
            if (seq != d->top + 1) {
                /* The event table is gap-free by construction; a hole means corruption. */
                log_error("dept %lld: event log jumps from %lld to %lld", d->id, d->top, seq);
                PQclear(res);
                return false;
            }
            append(d, seq, atoll(PQgetvalue(res, i, 1)), PQgetvalue(res, i, 2),
                   (size_t)PQgetlength(res, i, 2));
        }
        PQclear(res);
        if (rows < 500)
            break;
    }
    if (d->top != before) {
        if (before > 0)
            log_info("dept %lld: read %lld event(s) from PostgreSQL (%lld..%lld)", d->id,
                     d->top - before, before + 1, d->top);
        hub_clients_wake(hub, d);
    }
    return true;
}

void hub_department_offer(struct hub *hub, struct hub_department *d, long long seq,
                          long long encounter_id, const char *frame, size_t len)
{
    if (seq <= d->top)
        return; /* already held: read from PostgreSQL first, or a repeat */
    if (seq > d->top + 1 && !hub_department_catch_up(hub, d, seq - 1))
        return; /* PostgreSQL unreachable: the periodic check retries, in order */
    if (seq != d->top + 1)
        return;
    append(d, seq, encounter_id, frame, len);
    hub_clients_wake(hub, d);
}

bool hub_departments_refresh(struct hub *hub)
{
    PGresult *res;
    bool flags_changed;

    if (!pg_ensure(hub->pg))
        return false;
    res = pg_query(hub->pg,
                   "SELECT s.department_id, s.last_seq, d.wall_shows_flags FROM department_seq s "
                   "JOIN department d ON d.id = s.department_id ORDER BY 1",
                   0, NULL);
    if (!pg_ok(hub->pg, res, "department tops")) {
        PQclear(res);
        return false;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        long long id = atoll(PQgetvalue(res, i, 0));
        long long pg_top = atoll(PQgetvalue(res, i, 1));
        struct hub_department *d = hub_department_find(hub, id);

        if (!d) {
            if (hub->ndepts == HUB_MAX_DEPARTMENTS) {
                log_error("more than %d departments; dept %lld not served", HUB_MAX_DEPARTMENTS,
                          id);
                continue;
            }
            d = &hub->depts[hub->ndepts++];
            memset(d, 0, sizeof *d);
            d->id = id;
            /* Start with the latest events in the ring, so clients that reconnect after a
             * hub restart recover without a snapshot. */
            d->top = pg_top > HUB_RING_SIZE / 2 ? pg_top - HUB_RING_SIZE / 2 : 0;
            d->first = d->top + 1;
            hub_feed_follow(hub->feed, id, pg_top);
        }
        flags_changed = d->wall_shows_flags != (PQgetvalue(res, i, 2)[0] == 't');
        if (flags_changed) {
            /* The setting applies at once to everything a wall may still be sent: the next
             * snapshot, and the held events a reconnecting wall would be replayed. */
            d->wall_shows_flags = !d->wall_shows_flags;
            free(d->board_cache);
            d->board_cache = NULL;
            free(d->wall_cache);
            d->wall_cache = NULL;
            remask_ring(d);
        }
        if (pg_top > d->top)
            hub_department_catch_up(hub, d, pg_top);
        /* Walls already showing the board get it again under the new setting: marks that
         * were switched off must leave the screen now, not at the patient's next event. */
        if (flags_changed)
            hub_walls_resnapshot(hub, d);
    }
    PQclear(res);
    return true;
}

void hub_department_free(struct hub_department *d)
{
    for (int i = 0; i < HUB_RING_SIZE; i++)
        free_frame(d->ring[i]);
    free(d->board_cache);
    free(d->wall_cache);
    json_decref(d->board);
    memset(d, 0, sizeof *d);
}
