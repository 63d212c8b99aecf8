/* SPDX-License-Identifier: MIT */
/* hub_board.c: each department's board, kept in memory at a known seq. It is read once from
 * PostgreSQL (one statement, so rows and seq agree), then brought forward by applying the
 * ring's events the way a screen applies them, so snapshots cost no database read however
 * fast events arrive. What an event does not state exactly makes the next snapshot a fresh
 * read instead: a patient leaving without being seen (the board's LWBS count), an event of a
 * kind this file does not know, and time itself (ages, expired emergency-access grants,
 * midnight, staff lists) through EDLIVE_HUB_BOARD_MAX_AGE_S. That read is made by the
 * database worker (hub_subscribe.c) and handed over with hub_board_install. */
#include <stdlib.h>
#include <string.h>

#include "hub_board.h"

#include "board_mask.h"
#include "hub.h"
#include "log.h"

#define NOT_FOUND ((size_t)-1)

static long long int_at(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* The index of the item whose id is id. */
static size_t find_id(const json_t *array, const char *key, long long id)
{
    size_t i;
    json_t *item;

    json_array_foreach (array, i, item)
        if (int_at(item, key) == id)
            return i;
    return NOT_FOUND;
}

/* Where id goes in array, kept in increasing order of ids. */
static size_t sorted_position(const json_t *array, const char *key, long long id)
{
    size_t i;
    json_t *item;

    json_array_foreach (array, i, item)
        if (int_at(item, key) > id)
            return i;
    return json_array_size(array);
}

/* ---- applying one event ---- */

/* A row on the board: not ended (departed, left without being seen, entered in error), and of
 * this department. */
static bool is_active(const json_t *row, long long department_id)
{
    const char *status = json_string_value(json_object_get(row, "status"));

    return status && strcmp(status, "departed") && strcmp(status, "left_without_being_seen") &&
           strcmp(status, "entered_in_error") && int_at(row, "department_id") == department_id;
}

/* The event's row replaces the board's (in id order), or takes it off the board. Only this row:
 * a change it makes to another row's similar_name comes as that row's own
 * encounter.similar_name event, in the same transaction, right after (proto/README.md). */
static bool apply_row(json_t *board, long long department_id, json_t *row)
{
    json_t *rows = json_object_get(board, "encounters");
    const char *status = json_string_value(json_object_get(row, "status"));
    long long id = int_at(row, "encounter_id");
    size_t at = find_id(rows, "encounter_id", id);

    if (!json_is_array(rows) || id <= 0 || !status ||
        !json_is_array(json_object_get(row, "similar_name")))
        return false;
    if (!is_active(row, department_id)) {
        if (at != NOT_FOUND)
            json_array_remove(rows, at);
        /* lwbs_today counts by the department's local day: read it afresh. */
        return strcmp(status, "left_without_being_seen") != 0;
    }
    if (at != NOT_FOUND)
        json_array_set(rows, at, row);
    else
        json_array_insert(rows, sorted_position(rows, "encounter_id", id), row);
    return true;
}

static bool apply_beds(json_t *board, const json_t *beds)
{
    json_t *held = json_object_get(board, "beds"), *bed;
    size_t i;

    json_array_foreach (beds, i, bed) {
        size_t at = find_id(held, "id", int_at(bed, "id"));
        if (at == NOT_FOUND)
            return false; /* a new bed: its place in the list is PostgreSQL's to say */
        json_array_set(held, at, bed);
    }
    return true;
}

bool hub_board_apply(json_t *board, long long department_id, const json_t *event)
{
    json_t *payload = json_object_get(event, "payload");
    json_t *row = json_object_get(payload, "encounter");
    json_t *beds = json_object_get(payload, "beds");
    json_t *thresholds = json_object_get(payload, "alert_thresholds");
    json_t *lwbs_today = json_object_get(payload, "lwbs_today");
    json_t *seq = json_object_get(event, "seq");
    bool ok = json_is_integer(seq) && json_is_object(payload) &&
              (row || json_is_array(beds) || json_is_object(thresholds));

    if (ok && json_integer_value(seq) <= int_at(board, "seq"))
        return true; /* already in the board */
    if (ok && row)
        ok = json_is_object(row) && apply_row(board, department_id, row);
    if (ok && beds)
        ok = json_is_array(beds) && apply_beds(board, beds);
    if (ok && thresholds)
        ok = json_is_object(thresholds) &&
             json_object_set(board, "alert_thresholds", thresholds) == 0;
    /* An event that changes the count says what it is now (encounter.reopened). */
    if (ok && lwbs_today)
        ok = json_is_integer(lwbs_today) && json_object_set(board, "lwbs_today", lwbs_today) == 0;
    if (ok)
        json_object_set(board, "seq", seq);
    return ok;
}

/* Applies one event frame to board; false when only a fresh read can say what changed. */
static bool apply_frame(json_t *board, long long department_id, const struct hub_frame *f)
{
    json_t *event = json_loadb((const char *)f->data + LWS_PRE, f->len, 0, NULL);
    bool ok = int_at(event, "seq") == f->seq && hub_board_apply(board, department_id, event);

    json_decref(event);
    return ok;
}

/* The held board as a tree. Between snapshots only its text is kept, the cached snapshot
 * frame: jansson's tree of a board is several times its text, and with 20 boards it was ~10% of
 * the hub's memory per connection (load-tests, scenario 3). It is parsed back when events must
 * be applied to it or a wall's twin masked from it, and let go of once encoded. */
static bool cache_is_board(const struct hub_department *d)
{
    return d->board_cache && d->board_cache_seq == d->board_seq;
}

static json_t *held_board(struct hub_department *d)
{
    if (!d->board && cache_is_board(d)) {
        json_t *frame =
            json_loadb((const char *)d->board_cache->data + LWS_PRE, d->board_cache->len, 0, NULL);

        d->board = json_incref(json_object_get(frame, "board"));
        json_decref(frame);
    }
    return d->board;
}

static void let_go_of_tree(struct hub_department *d)
{
    if (d->board && cache_is_board(d)) {
        json_decref(d->board);
        d->board = NULL;
    }
}

/* Brings d's board from its seq to d->top with the ring's events; false if it cannot. */
static bool bring_forward(struct hub *hub, struct hub_department *d)
{
    long long from = d->board_seq;

    if (!held_board(d) || d->board_stale || d->board_seq < d->first - 1 || d->board_seq > d->top ||
        lws_now_usecs() - d->board_read_at > (lws_usec_t)hub->board_max_age_s * LWS_US_PER_SEC)
        return false;
    for (long long seq = d->board_seq + 1; seq <= d->top; seq++) {
        struct hub_frame *f = hub_department_frame(d, seq);
        if (!f || !apply_frame(d->board, d->id, f)) {
            d->board_stale = true;
            return false;
        }
        d->board_seq = seq;
    }
    if (d->top > from)
        log_info("board of dept %lld brought from seq %lld to %lld in memory", d->id, from, d->top);
    return true;
}

/* One snapshot frame of board (stolen) at d->board_seq, as JSON text. */
static char *snapshot_text(const struct hub_department *d, json_t *board)
{
    json_t *frame = board ? json_pack("{s:s,s:s,s:I,s:I,s:o}", "type", "snapshot", "topic", "board",
                                      "department_id", (json_int_t)d->id, "seq",
                                      (json_int_t)d->board_seq, "board", board)
                          : NULL;
    char *text = frame ? json_dumps(frame, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;

    json_decref(frame);
    return text;
}

/* Encodes d's board as a snapshot frame, kept as d->board_cache: encoded once per seq for
 * every client. The wall's masked twin is made only when a wall asks (encode_wall): most
 * departments have no wall screen, and each twin is as large as the board. */
static bool encode(struct hub_department *d)
{
    char *text = snapshot_text(d, json_incref(d->board));

    if (!text)
        return false;
    hub_department_drop_shared(d); /* the wall's twin of the older seq goes too */
    d->board_cache = hub_shared_text_new(text, strlen(text));
    free(text);
    d->board_cache_seq = d->board_seq;
    return true;
}

static bool encode_wall(struct hub_department *d)
{
    json_t *board = held_board(d);
    char *wall = board ? snapshot_text(d, board_mask_board(board, d->wall_shows_flags)) : NULL;

    if (!wall)
        return false;
    d->wall_cache = hub_shared_text_new(wall, strlen(wall));
    free(wall);
    return true;
}

bool hub_board_snapshot(struct hub *hub, struct hub_department *d)
{
    bool ok;

    if (d->board_cache && d->board_cache_seq == d->top)
        return true;
    ok = bring_forward(hub, d) && encode(d);
    let_go_of_tree(d);
    return ok;
}

bool hub_board_wall_snapshot(struct hub *hub, struct hub_department *d)
{
    if (!hub_board_snapshot(hub, d))
        return false;
    if (d->wall_cache)
        return true;
    /* The twin is masked from the held board, which must be at the cached seq: a board read
     * since (hub_board_install) may be at another. Then both are encoded again. */
    if (d->board_seq != d->board_cache_seq) {
        hub_department_drop_shared(d);
        if (!hub_board_snapshot(hub, d) || d->board_seq != d->board_cache_seq)
            return false;
    }
    bool ok = encode_wall(d);
    let_go_of_tree(d);
    return ok;
}

void hub_board_install(struct hub_department *d, json_t *board, long long seq)
{
    json_decref(d->board);
    d->board = board;
    d->board_seq = seq;
    d->board_read_at = lws_now_usecs();
    d->board_stale = false;
    /* Logged so a reconnect storm's cost can be counted (services/tests/reconnect_storm). */
    log_info("board snapshot of dept %lld read from PostgreSQL at seq %lld", d->id, seq);
}
