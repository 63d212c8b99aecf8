/* SPDX-License-Identifier: MIT */
/* store.h: every read and write of the encounter record, over one libpq connection.
 * Each write is one transaction: check, change the state, append the event (SQL
 * append_event), commit. Bodies must already satisfy their proto/ schema; the store adds
 * the checks a schema cannot state (references, conflicts) and returns the error naming
 * the field. On any error nothing is written. */
#ifndef EDLIVE_STORE_H
#define EDLIVE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "ed_error.h"

/* What a committed write produced. */
struct store_write {
    long long department_id;
    long long encounter_id;
    long long seq;  /* the event's department seq */
    char *frame;    /* the event's WebSocket frame (SQL event_frame), malloc'd */
    json_t *reply;  /* the REST reply: event payload plus "seq" */
};

void store_write_clear(struct store_write *w);

/* Reads. Each returns a new reference, or NULL with err (404 not_found, 503). */
json_t *store_departments(PGconn *conn, struct ed_error *err);
json_t *store_board(PGconn *conn, long long department_id, struct ed_error *err);
json_t *store_chart(PGconn *conn, long long encounter_id, struct ed_error *err);

/* The encounter's department, or 0 when there is no such encounter (-1 on database error). */
long long store_encounter_department(PGconn *conn, long long encounter_id);

/* Writes: true and *out filled on commit; false with err otherwise. */
bool store_arrival(PGconn *conn, long long department_id, const json_t *body,
                   struct store_write *out, struct ed_error *err);
bool store_triage(PGconn *conn, long long encounter_id, const json_t *body,
                  struct store_write *out, struct ed_error *err);
bool store_bed(PGconn *conn, long long encounter_id, const json_t *body, struct store_write *out,
               struct ed_error *err);
bool store_assignment(PGconn *conn, long long encounter_id, const json_t *body,
                      struct store_write *out, struct ed_error *err);
bool store_vitals(PGconn *conn, long long encounter_id, const json_t *body,
                  struct store_write *out, struct ed_error *err);
bool store_note(PGconn *conn, long long encounter_id, const json_t *body, struct store_write *out,
                struct ed_error *err);
bool store_status(PGconn *conn, long long encounter_id, const json_t *body,
                  struct store_write *out, struct ed_error *err);

#endif
