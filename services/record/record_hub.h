/* SPDX-License-Identifier: MIT */
/* record_hub.h: the statements ed-hub runs of its own (the rest of its reads are store_* and
 * access_*): each department's top seq and wall setting, and the committed events after a seq.
 * Blocking libpq calls: ed-hub runs them on its database worker thread (hub_db.c). */
#ifndef EDLIVE_RECORD_HUB_H
#define EDLIVE_RECORD_HUB_H

#include <jansson.h>
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

/* A read exactly at one seq, on a streaming replica or the primary (ed-hub's hub_replica.c):
 * begin opens a REPEATABLE READ READ ONLY transaction and reads the department's last_seq in
 * it (one round trip), so every statement until record_hub_read_end sees the department at
 * exactly that seq (events up to it, record_hub_board's board at it); -1 when this copy has no
 * such department (yet). False on a database error (the caller still calls
 * record_hub_read_end). */
bool record_hub_read_begin(PGconn *conn, long long department_id, long long *last_seq);
/* The department's board (board_json(), with its "seq"), NOT audited: ed-hub audits the
 * subscribe on the primary (record_audit) before it reads. NULL on an error or no department. */
json_t *record_hub_board(PGconn *conn, long long department_id);
/* Ends record_hub_read_begin's transaction (read only: nothing to keep). False when the
 * connection failed. */
bool record_hub_read_end(PGconn *conn);

#endif
