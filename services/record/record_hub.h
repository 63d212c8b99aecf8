/* SPDX-License-Identifier: MIT */
/* record_hub.h: the statements ed-hub runs of its own (the rest of its reads are store_* and
 * access_*): each department's top seq and wall setting, and the committed events after a seq.
 * Blocking libpq calls: ed-hub runs them on its database worker thread (hub_db.c). */
#ifndef EDLIVE_RECORD_HUB_H
#define EDLIVE_RECORD_HUB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* One department as PostgreSQL has it now. */
struct record_hub_top {
    long long department_id;
    long long last_seq;    /* department_seq.last_seq: its newest committed event */
    bool wall_shows_flags; /* department.wall_shows_flags */
};

/* Every department with its top, in id order. Returns the count and a new array in *out
 * (caller frees with free()), or -1 on a database error (logged, no data). */
int record_hub_tops(PGconn *conn, struct record_hub_top **out);

/* Called once per event, in seq order; frame is borrowed (valid during the call only). */
typedef void record_hub_event_fn(void *arg, long long seq, long long encounter_id,
                                 const char *frame, size_t len);

/* The events of a department after seq `after` (and at most `upto`, when upto > 0), at most
 * limit of them, each as its WebSocket frame (event_frame()). Returns how many were passed to
 * fn, or -1 on a database error. */
int record_hub_events(PGconn *conn, long long department_id, long long after, long long upto,
                      int limit, record_hub_event_fn *fn, void *arg);

#endif
