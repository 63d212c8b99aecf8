/* SPDX-License-Identifier: MIT */
/* hub_department.c: each department's ring of event frames, kept contiguous from first to top.
 * Department state only: no socket, no database. Each function returns what changed (enum
 * hub_change) and the protocol layer decides whom that concerns (hub_department_changed). */
#include <stdlib.h>
#include <string.h>

#include "board_mask.h"
#include "hub.h"
#include "hub_ops.h"
#include "log.h"

struct hub_department *hub_department_find(struct hub *hub, long long id)
{
    for (int i = 0; i < hub->ndepts; i++)
        if (hub->depts[i].id == id)
            return &hub->depts[i];
    return NULL;
}

struct hub_department *hub_department_add(struct hub *hub, long long id, long long pg_top)
{
    struct hub_department *d;

    if (hub->ndepts == HUB_MAX_DEPARTMENTS) {
        log_error("more than %d departments; dept %lld not served", HUB_MAX_DEPARTMENTS, id);
        return NULL;
    }
    d = &hub->depts[hub->ndepts++];
    memset(d, 0, sizeof *d);
    d->id = id;
    /* Start with the latest events in the ring, so clients that reconnect after a hub
     * restart recover without a snapshot. */
    d->top = pg_top > HUB_RING_SIZE / 2 ? pg_top - HUB_RING_SIZE / 2 : 0;
    d->first = d->top + 1;
    d->checked_top = d->top;
    return d;
}

struct hub_frame *hub_department_frame(const struct hub_department *d, long long seq)
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
    f->at_ms = hub_ops_frame_at_ms(json, len);
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

/* The wall's variant of f, encoded once like the frame itself (NULL when it cannot be). */
static struct hub_frame *wall_frame(const struct hub_department *d, const struct hub_frame *f)
{
    size_t wall_len = 0;
    char *wall =
        board_mask_event((const char *)f->data + LWS_PRE, f->len, d->wall_shows_flags, &wall_len);
    struct hub_frame *w = wall ? new_frame(f->seq, f->encounter_id, wall, wall_len) : NULL;

    free(wall);
    return w;
}

unsigned hub_department_append(struct hub_department *d, long long seq, long long encounter_id,
                               const char *json, size_t len)
{
    unsigned changes = HUB_CHANGE_TOP;
    struct hub_frame *f;

    if (seq <= d->top)
        return 0;
    if (seq != d->top + 1) {
        /* Not contiguous: what is held cannot be continued, so the ring starts over. */
        for (long long s = d->first; s <= d->top && s <= d->first + HUB_RING_SIZE; s++) {
            free_frame(d->ring[s % HUB_RING_SIZE]);
            d->ring[s % HUB_RING_SIZE] = NULL;
        }
        d->first = seq;
        changes |= HUB_CHANGE_RESET;
    }
    f = new_frame(seq, encounter_id, json, len);
    f->wall = wall_frame(d, f);
    if (!f->wall)
        log_error("dept %lld seq %lld: event not masked; display sessions skip it", d->id, seq);
    free_frame(d->ring[seq % HUB_RING_SIZE]);
    d->ring[seq % HUB_RING_SIZE] = f;
    if (d->first > d->top)
        d->first = seq; /* the ring was empty */
    d->top = seq;
    if (d->top - d->first >= HUB_RING_SIZE)
        d->first = d->top - HUB_RING_SIZE + 1; /* the oldest slot was just reused */
    return changes;
}

unsigned hub_department_offer(struct hub_department *d, const struct hub_event *e)
{
    if (e->seq <= d->top)
        return 0; /* already held: read from PostgreSQL first, or a repeat */
    if (e->seq != d->top + 1)
        return HUB_CHANGE_GAP;
    return hub_department_append(d, e->seq, e->encounter_id, e->frame, e->len);
}

unsigned hub_department_add_events(struct hub_department *d, const struct hub_event *list)
{
    unsigned changes = 0;

    for (const struct hub_event *e = list; e; e = e->next)
        if (e->department_id == d->id)
            changes |= hub_department_append(d, e->seq, e->encounter_id, e->frame, e->len);
    return changes;
}

unsigned hub_department_set_wall_flags(struct hub_department *d, bool wall_shows_flags)
{
    if (d->wall_shows_flags == wall_shows_flags)
        return 0;
    /* The setting applies at once to everything a wall may still be sent: the next snapshot,
     * and the held events a reconnecting wall would be replayed. */
    d->wall_shows_flags = wall_shows_flags;
    hub_shared_text_release(d->wall_cache); /* the board's own frame stays: the held board */
    d->wall_cache = NULL;
    for (long long seq = d->first; seq <= d->top; seq++) {
        struct hub_frame *f = hub_department_frame(d, seq);
        if (!f)
            continue;
        free(f->wall);
        f->wall = wall_frame(d, f);
    }
    return HUB_CHANGE_WALL_MASK;
}

void hub_department_free(struct hub_department *d)
{
    for (int i = 0; i < HUB_RING_SIZE; i++)
        free_frame(d->ring[i]);
    hub_department_drop_shared(d);
    free(d->members);
    json_decref(d->board);
    memset(d, 0, sizeof *d);
}

struct hub_event *hub_event_new(long long department_id, long long seq, long long encounter_id,
                                const char *frame, size_t len)
{
    struct hub_event *e = malloc(sizeof *e + len + 1);

    if (!e) {
        log_error("out of memory for seq %lld", seq);
        abort();
    }
    e->next = NULL;
    e->department_id = department_id;
    e->seq = seq;
    e->encounter_id = encounter_id;
    e->len = len;
    memcpy(e->frame, frame, len);
    e->frame[len] = '\0';
    return e;
}

void hub_events_free(struct hub_event *list)
{
    while (list) {
        struct hub_event *next = list->next;
        free(list);
        list = next;
    }
}

void hub_department_drop_shared(struct hub_department *d)
{
    hub_shared_text_release(d->board_cache);
    hub_shared_text_release(d->wall_cache);
    d->board_cache = d->wall_cache = NULL;
}

struct hub_shared_text *hub_shared_text_new(const char *json, size_t len)
{
    struct hub_shared_text *t = malloc(sizeof *t + LWS_PRE + len);

    if (!t) {
        log_error("out of memory for a shared reply");
        abort();
    }
    t->refs = 1;
    t->len = len;
    memcpy(t->data + LWS_PRE, json, len);
    return t;
}

void hub_shared_text_release(struct hub_shared_text *t)
{
    if (t && !--t->refs)
        free(t);
}
