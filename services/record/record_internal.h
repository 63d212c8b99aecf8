/* SPDX-License-Identifier: MIT */
/* record_internal.h: what the record's source files share; the services call record.h only.
 * Every helper that fails has already rolled the transaction back and set err.
 *
 * Layering: each file calls only files below it (a DAG; nothing calls up or sideways).
 *
 *   record_access.c   record_read.c   record_encounter.c   record_clinical.c   record_cancel.c
 *   record_admin.c    record_outbox.c      |                    |                 (tx only)
 *         |                 |              +---> record_ews.c <-+
 *         v                 v              v          v
 *   record_audit.c  <--------------  record_tx.c (transaction, write shape, field helpers)
 *         |                                |
 *         +---------> record_batch.c <-----+  (BEGIN / COMMIT / ROLLBACK, or savepoints in a batch)
 *
 * record_encounter.c, record_clinical.c and record_cancel.c are siblings: what they need (the
 * write shape, check_event_time, the EWS refresh) lives below them. record_audit.c appends the
 * audit row and calls nothing else in the record; record_tx.c calls only record_audit.c. A file
 * the hub, the seed or FHIR adds (record_hub.c, record_seed.c, record_fhir.c) sits at the top and
 * calls down the same way, and so do the HL7 files (record_hl7_events.c -> record_hl7_parts.c and
 * record_hl7_apply.c -> the writes of record_encounter.c, record_clinical.c and
 * record_cancel.c; record_hl7.c and record_hl7_map.c are pure). */
#ifndef EDLIVE_RECORD_INTERNAL_H
#define EDLIVE_RECORD_INTERNAL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "record.h"

/* The clause every patient-scoped statement carries, over encounter e, with the
 * departments as $2 and the break-glass patients as $3. */
#define RECORD_SCOPE_CLAUSE                                            \
    "($2::bigint[] IS NULL OR e.department_id = ANY($2::bigint[]) OR " \
    "e.patient_id = ANY($3::bigint[]))"

/* The encounter a write works on, locked by record_begin_on_encounter(). */
struct locked_encounter {
    long long id;
    long long department_id;
    long long patient_id;
    long long version;
    char status[32];
    bool has_bed;
    int spo2_scale; /* NEWS2 SpO2 scale, 1 or 2 */
};

/* What a write is, for its audit row. */
struct write_audit {
    const struct principal *who;
    const char *action;   /* e.g. "vitals.create" */
    const char *category; /* e.g. "vitals" */
    long long patient_id;
    long long department_id;
    const struct record_write_opts *opts; /* the request's idempotency key, or NULL */
};

/* Every transaction of the record begins and ends here (record_batch.c): BEGIN, COMMIT and
 * ROLLBACK, or inside record_batch_begin a savepoint, its release, and a return to it. */
bool record_tx_begin(PGconn *conn);
bool record_tx_commit(PGconn *conn);
bool record_tx_rollback(PGconn *conn);
/* The statements record_tx_begin and record_tx_commit send, for a caller that sends one with
 * its neighbouring statement in one round trip (pg_query_pair). */
const char *record_tx_begin_sql(PGconn *conn);
const char *record_tx_commit_sql(PGconn *conn);

/* 503 database_unavailable, after rolling back. Always false. */
bool record_db_error(PGconn *conn, struct ed_error *err);
/* Rolls back a transaction whose err is already set. Always false. */
bool record_fail(PGconn *conn, struct ed_error *err);

/* Body fields as text parameters: NULL when absent or null. buf holds 24 chars. */
const char *record_int_field(const json_t *body, const char *key, char *buf);
long long record_int_value(const json_t *body, const char *key);
const char *record_str_field(const json_t *body, const char *key);
bool record_has_value(const json_t *body, const char *key);

/* Runs a query; NULL (logged) on error. */
PGresult *record_query(PGconn *conn, const char *what, const char *sql, int n,
                       const char *const *params);

/* The scope of a principal as the two bigint[] parameters of RECORD_SCOPE_CLAUSE ($2, $3):
 * both NULL for the system (who == NULL), which the clause reads as "everything". */
struct record_scope {
    const char *departments; /* "{1,2}", or NULL */
    const char *patients;    /* "{}" when no grant, or NULL */
    char departments_buf[RECORD_MAX_DEPARTMENTS * 21 + 3];
    char patients_buf[RECORD_MAX_GRANTS * 21 + 3];
};
void record_scope_params(const struct principal *who, struct record_scope *scope);
/* The same, for a statement that takes only the departments: returns scope->departments. */
const char *record_scope_departments(const struct principal *who, struct record_scope *scope);

/* ids as a PostgreSQL array literal "{1,2,3}" in out; false (out "{}") when it does not fit. */
bool record_ids_literal(const long long *ids, int n, char *out, size_t cap);
/* record_audit_success's row, then record_tx_commit, in one round trip (record_audit.c). */
bool record_audit_and_commit(PGconn *conn, const struct principal *who, const char *action,
                             long long patient_id, long long encounter_id, const char *category,
                             bool high_severity);

bool record_audit_success(PGconn *conn, const struct principal *who, const char *action,
                          long long patient_id, long long encounter_id, const char *category,
                          bool high_severity, const char *detail);
bool record_through_break_glass(const struct principal *who, long long department_id);

/* A scoped read of (json, patient_id, encounter_id, department_id) with $1 = id, audited in
 * the same transaction. */
json_t *record_read_audited(PGconn *conn, const struct principal *who, const char *sql,
                            long long id, const char *action, const char *category,
                            const char *missing, struct ed_error *err);

/* BEGIN, lock the encounter within who's scope, check If-Match and that it has not ended. */
bool record_begin_on_encounter(PGconn *conn, const struct principal *who, long long encounter_id,
                               const struct record_write_opts *opts, struct locked_encounter *enc,
                               struct ed_error *err);

/* Whether a status ends the encounter (off the board, no more changes): departed,
 * left_without_being_seen, entered_in_error. */
bool record_status_ended(const char *status);

/* The same lock and If-Match check as record_begin_on_encounter_part, whatever the status: for
 * the one write that may change an ended encounter (record_departure_cancel, which checks the
 * status itself). */
bool record_begin_on_any_encounter(PGconn *conn, const struct principal *who,
                                   long long encounter_id, const struct record_write_opts *opts,
                                   const char *part_events, struct locked_encounter *enc,
                                   struct ed_error *err);

/* The same for a write that edits one part of the encounter (a single field): If-Match is
 * checked against that part only. part_events is a PostgreSQL text[] literal naming the event
 * types that change the part (e.g. "{encounter.comment}"): the write is refused only when one
 * of them was appended after the If-Match version, so a colleague's vitals or triage do not
 * make a comment edit conflict. */
bool record_begin_on_encounter_part(PGconn *conn, const struct principal *who,
                                    long long encounter_id, const struct record_write_opts *opts,
                                    const char *part_events, struct locked_encounter *enc,
                                    struct ed_error *err);

/* Appends the event (append_sql returns the seq), audits, reads the reply and frame, commits. */
bool record_commit_event(PGconn *conn, const struct write_audit *wa, const char *append_sql,
                         int nparams, const char *const *params, struct record_write *out,
                         struct ed_error *err);

/* Runs a change statement; a unique violation becomes 409 on conflict_field. */
bool record_change(PGconn *conn, const char *what, const char *sql, int n,
                   const char *const *params, const char *conflict_field, const char *conflict_msg,
                   struct ed_error *err);

/* body[key] is active staff of the department with one of roles (NULL: any role). */
bool record_check_staff(PGconn *conn, long long department_id, const json_t *body, const char *key,
                        const char *const *roles, struct ed_error *err);

/* A time given in the body is not in the future (5 min of clock skew allowed). */
bool record_check_not_future(PGconn *conn, const char *when, const char *field,
                             struct ed_error *err);

/* A time given in the body for a change of the encounter: not in the future and not before
 * the encounter's arrival, nor before the time in the encounter column not_before_column
 * (e.g. "location_since"; NULL for arrival only). when NULL (now) passes. */
bool record_check_event_time(PGconn *conn, const struct locked_encounter *enc, const char *when,
                             const char *field, const char *not_before_column,
                             struct ed_error *err);

/* Recomputes the early-warning score every screen shows (encounter.ews, proto/EARLY_WARNING.md)
 * from the encounter's vitals, in the caller's transaction and before its event is appended. */
bool record_ews_refresh(PGconn *conn, long long encounter_id, struct ed_error *err);

#endif
