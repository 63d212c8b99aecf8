/* SPDX-License-Identifier: MIT */
/* record.h: the record's public API (services/record/README.md): every read and write of
 * the encounter record, over one libpq connection.
 * Each write is one transaction: check, change the state, append the event (SQL
 * append_event), commit. Bodies must already satisfy their proto/ schema; the store adds
 * the checks a schema cannot state (references, conflicts) and returns the error naming
 * the field. On any error nothing is written.
 *
 * Every call takes the principal it acts for: each patient-scoped statement carries that
 * principal's scope (its departments, plus patients under an active break-glass grant), so
 * an encounter outside it is "not found" without being read; and every success appends its
 * audit row in the same transaction. who == NULL is the system itself (edlivectl seed-demo):
 * no scope, audited as "system". Callers check the permission matrix first. */
#ifndef EDLIVE_RECORD_H
#define EDLIVE_RECORD_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "ed_error.h"
#include "record_access.h"

/* What a committed write produced. */
struct record_write {
    long long department_id;
    long long encounter_id;
    long long seq; /* the event's department seq */
    json_t *reply; /* the REST reply: event payload plus "seq" */
};

void record_write_clear(struct record_write *w);

/* Several writes as one transaction (an HL7 message): between record_batch_begin and
 * record_batch_commit every record_* write on conn (same thread) is a savepoint of one
 * transaction. A write that fails undoes only itself (the caller may go on, or give up with
 * record_batch_rollback); nothing is visible and no event leaves before the commit. One batch
 * per thread at a time. False: the database could not be reached (nothing written). */
bool record_batch_begin(PGconn *conn);
bool record_batch_commit(PGconn *conn);
void record_batch_rollback(PGconn *conn);

/* Reads. Each returns a new reference, or NULL with err (404 not_found, 503). */
json_t *record_departments(PGconn *conn, const struct principal *who, struct ed_error *err);
json_t *record_board(PGconn *conn, const struct principal *who, long long department_id,
                     struct ed_error *err);
/* The board as who may see it: record_board, masked to initials for a display session (the
 * public wall, board_mask.h) following the department's wall_shows_flags. */
json_t *record_board_for(PGconn *conn, const struct principal *who, long long department_id,
                         struct ed_error *err);
json_t *record_chart(PGconn *conn, const struct principal *who, long long encounter_id,
                     struct ed_error *err);

/* The department of an encounter within who's scope: 0 when none is visible, -1 on a
 * database error. Reads nothing else and audits nothing. */
long long record_encounter_department(PGconn *conn, const struct principal *who,
                                      long long encounter_id);

/* What the client's request adds to a write (REST headers). */
struct record_write_opts {
    long long if_match;          /* the encounter version the change was based on; 0: none */
    const char *idempotency_key; /* Idempotency-Key: a retry returns the first reply; or NULL */
    const char *request_sha256;  /* hex digest of method, path and body, kept with the key */
    int status;                  /* the HTTP status of the reply being remembered */
};

/* The reply first given to who's request with this Idempotency-Key in the last 24 hours:
 * a new reference with *status set, or NULL (none, or err set on a database error).
 * *same_request says whether the stored request has request_sha256. */
json_t *record_idempotent_reply(PGconn *conn, const struct principal *who, const char *key,
                                const char *request_sha256, int *status, bool *same_request,
                                struct ed_error *err);

/* The encounter's board row as it is now (within who's scope), or NULL. Not audited: it is
 * sent only with a 409 to someone who may write the encounter. */
json_t *record_encounter_row(PGconn *conn, const struct principal *who, long long encounter_id);

/* Writes: true and *out filled on commit; false with err otherwise. opts may be NULL. */
typedef bool record_write_fn(PGconn *conn, const struct principal *who, long long id,
                             const json_t *body, const struct record_write_opts *opts,
                             struct record_write *out, struct ed_error *err);

record_write_fn record_arrival; /* id: department; a body without "patient": unidentified */
/* id: encounter of an unidentified patient; merges it with the identity in body.patient. */
record_write_fn record_identify;
record_write_fn record_triage; /* id: encounter, and the same below */
record_write_fn record_bed;
record_write_fn record_assignment;
record_write_fn record_vitals;
record_write_fn record_note;
record_write_fn record_status;

/* The clinical record (record_clinical.c; proto/README.md "Clinical record"). id: encounter,
 * except where noted. Times given in bodies ("at", "decided_at", "departed_at") must not be in
 * the future nor before the arrival (422 out_of_range naming the field). */
record_write_fn record_order_create;
record_write_fn record_order_status; /* id: order */
record_write_fn record_order_seen;   /* id: order */
record_write_fn record_disposition;
record_write_fn record_departure;
record_write_fn record_comment;
record_write_fn record_isolation;
record_write_fn record_news2_scale;
record_write_fn record_reassessment;
record_write_fn record_diagnosis;
record_write_fn record_allergy;
record_write_fn record_medication;
record_write_fn record_problem;
record_write_fn record_bed_status;           /* id: bed; a department event */
record_write_fn record_alert_thresholds_put; /* id: department; a department event */

json_t *record_alert_thresholds(PGconn *conn, const struct principal *who, long long department_id,
                                struct ed_error *err);
/* Metrics of one local day (date "YYYY-MM-DD", NULL: today in the department's zone). */
json_t *record_metrics(PGconn *conn, const struct principal *who, long long department_id,
                       const char *date, bool last_24h, struct ed_error *err);

/* After a break-glass grant: an event on the encounter, so its department's boards show who
 * has emergency access (the row's break_glass list). */
/* Withdrawals a registration system makes (HL7 A11 and A13, proto/hl7/ADT_MAPPING.md §2;
 * record_cancel.c); body may hold "at" (RFC 3339, the event time; absent: now; 422
 * out_of_range when in the future or before the time noted below). Each is one event of its
 * own type, audited, so every board updates live; 404 outside who's scope, like every write.
 * record_disposition_cancel: an admit decision withdrawn (event encounter.disposition_cancelled,
 *   payload "withdrawn": kind, destination, decided_at, at): the disposition cleared, the
 *   boarding clock ended (boarding_since null), status back to seen_by_provider (the provider
 *   contact no later than the decision); 409 when the disposition is not admit or the
 *   encounter has ended. "at" not before the decision.
 * record_arrival_cancel: a visit registered in error (event encounter.entered_in_error): the
 *   encounter ends (departed_at = "at") with status entered_in_error: off every board, out of
 *   every metric and of the prior visits, its bed free again (no cleaning asked); 409 when it
 *   has ended or has clinical entries (triage, vitals, note, order, record entry, diagnosis,
 *   provider contact or disposition). "at" not before its current location began.
 * record_departure_cancel: a discharge withdrawn within 24 h of the departure (event
 *   encounter.reopened, payload "reopened_from": status, departed_at; "lwbs_today"): reopened,
 *   departed_at cleared; back in its bed when no open encounter holds it and it awaits no
 *   cleaning but the one its own departure asked for (cancelled), else the waiting room; the
 *   location history appends that place from "at" (not before the departure). The status:
 *   disposition_decided when the disposition was decided before the departure; else the
 *   disposition goes with the departure (recorded by it: an A03's PV1-36 in the same
 *   transaction, or left_without_disposition / lwbs set by an ending status) and the status is
 *   seen_by_provider after a provider contact, else in_room in a treatment space, else
 *   waiting. 409 when it is open, entered in error, departed 24 h ago or more, or the patient
 *   has an open or a later encounter. */
bool record_disposition_cancel(PGconn *conn, const struct principal *who, long long encounter_id,
                               const json_t *body, struct record_write *out, struct ed_error *err);
bool record_arrival_cancel(PGconn *conn, const struct principal *who, long long encounter_id,
                           const json_t *body, struct record_write *out, struct ed_error *err);
bool record_departure_cancel(PGconn *conn, const struct principal *who, long long encounter_id,
                             const json_t *body, struct record_write *out, struct ed_error *err);

bool record_break_glass_flag(PGconn *conn, const struct principal *who, long long encounter_id,
                             struct record_write *out, struct ed_error *err);

/* ---- the outbox (record_outbox.c), for ed-relay ---- */

/* On the relay's own session: LISTEN edlive_events and try the relay lock. 1: this is the
 * active relay; 0: another one holds the lock; -1: database error. */
int record_outbox_attach(PGconn *conn);

/* Takes one event; false stops the range there (the event is not counted as sent). */
typedef bool record_outbox_send_fn(void *ctx, long long department_id, long long seq,
                                   long long encounter_id, const char *frame);

/* Hands the department's events after `after` up to `upto` to send, in seq order, stopping
 * before a hole in the log. Returns the last seq send accepted, or -1 on a database error. */
long long record_outbox_send(PGconn *conn, long long department_id, long long after, long long upto,
                             record_outbox_send_fn *send, void *ctx);

/* Moves the department's relay cursor forward to seq (never back). */
bool record_outbox_save_cursor(PGconn *conn, long long department_id, long long seq);

/* One department's range; false stops the walk. */
typedef bool record_outbox_range_fn(void *ctx, long long department_id, long long top,
                                    long long relayed);

/* The departments with events not yet relayed (top: last seq, relayed: the cursor), and the
 * departments with a cursor (top = relayed = the cursor). Each returns how many departments
 * were handed over before each returned false, or -1 on a database error. */
int record_outbox_pending(PGconn *conn, record_outbox_range_fn *each, void *ctx);
int record_outbox_relayed(PGconn *conn, record_outbox_range_fn *each, void *ctx);
/* Every department's top and relayed seq (pending or not): ed-relay's lag metric. */
int record_outbox_lag(PGconn *conn, record_outbox_range_fn *each, void *ctx);

/* ---- FHIR R4 reads (record_fhir.c, for ed-api's /fhir/R4) ---- */

/* A patient visible through an encounter in who's scope (the row's "patient" object), audited
 * as patient.read; 404 otherwise. */
json_t *record_fhir_patient(PGconn *conn, const struct principal *who, long long patient_id,
                            struct ed_error *err);
/* A staff member {"id","name","role"} of one of who's departments; 404 otherwise. */
json_t *record_fhir_staff(PGconn *conn, const struct principal *who, long long staff_id,
                          struct ed_error *err);
/* {"bed": <board bed>, "department": {"id","code","name"}} of a bed of who's departments. */
json_t *record_fhir_bed(PGconn *conn, const struct principal *who, long long bed_id,
                        struct ed_error *err);
/* {"id","code","name"} of one of who's departments. */
json_t *record_fhir_department(PGconn *conn, const struct principal *who, long long department_id,
                               struct ed_error *err);
/* The encounter of a vitals set in who's scope: 0 when none is visible, -1 on a database
 * error. Reads nothing else and audits nothing (the caller reads the chart, audited). */
long long record_fhir_vitals_encounter(PGconn *conn, const struct principal *who,
                                       long long vitals_id);

/* A FHIR search, checked by the caller; NULL or 0 members are not filters. */
struct record_fhir_search {
    long long id;         /* _id */
    const char *statuses; /* Encounter: R4 statuses as a text[] literal "{arrived,triaged}" */
    long long bed_id;     /* Encounter: location, now or in the history */
    const char *date_ge;  /* Encounter: the period reaches this time (RFC 3339 or a date) */
    const char *date_le;  /* Encounter: the period starts by this time */
    long long patient_id; /* Encounter: patient */
    const char *mrn;      /* Patient: identifier */
    const char *name;     /* Location, Practitioner: name (starts with; a word of it, for staff) */
    int active;           /* Location: status; 1 active only, -1 inactive (retired) only, 0 both */
    long long after;      /* keyset paging: ids above this one */
    int count;            /* rows to return (the caller asks one more to know of a next page) */
};
/* {"total": matches, "rows": [encounter rows | patients]} in id order, each row returned
 * audited (encounter.search / patient.search) in the read's transaction. */
json_t *record_fhir_encounters(PGconn *conn, const struct principal *who,
                               const struct record_fhir_search *q, struct ed_error *err);
json_t *record_fhir_patients(PGconn *conn, const struct principal *who,
                             const struct record_fhir_search *q, struct ed_error *err);
/* The beds ({"bed", "department"} each) and staff of who's departments, in id order, as
 * {"total", "rows"}; not patient data, not audited (the board shows them). */
json_t *record_fhir_beds(PGconn *conn, const struct principal *who,
                         const struct record_fhir_search *q, struct ed_error *err);
json_t *record_fhir_staff_search(PGconn *conn, const struct principal *who,
                                 const struct record_fhir_search *q, struct ed_error *err);

/* ---- FHIR R4 Subscriptions Backport (record_subscription.c; FHIR_MAPPING.md §11) ---- */

/* What POST Subscription asks for, checked by the caller: one of department_id, encounter_id,
 * patient_id (the filter); topic "encounter" or "vital-signs"; payload "empty", "id-only" or
 * "full-resource". */
struct record_fhir_subscription_new {
    const char *topic;
    long long department_id;
    long long encounter_id;
    long long patient_id;
    const char *payload;
    int heartbeat_period;
};
/* Creates who's subscription in the department its filter names (a department of who's, or
 * the department of an encounter, or of the patient's latest encounter, in who's scope; 404
 * otherwise), starting after the department's last seq; audited subscription.create. The row
 * {"id","status","topic","department_id","encounter_id","patient_id","payload",
 * "heartbeat_period","start_seq","end"}. */
json_t *record_fhir_subscription_create(PGconn *conn, const struct principal *who,
                                        const struct record_fhir_subscription_new *s,
                                        struct ed_error *err);
/* who's own subscription (in who's departments), active or ended; 404 otherwise. */
json_t *record_fhir_subscription(PGconn *conn, const struct principal *who, long long id,
                                 struct ed_error *err);
/* DELETE: the subscription ends (status off); the row as it is now; 404 as above. */
json_t *record_fhir_subscription_end(PGconn *conn, const struct principal *who, long long id,
                                     struct ed_error *err);
/* A websocket binding token (token: its text, kept only as its SHA-256) bound to who's
 * session and to who's active subscriptions (or the one id names), for ttl_s seconds:
 * {"expires","subscriptions":[ids]}; 404 when there is no active subscription to bind. */
#define RECORD_WS_TOKEN_CHARS 43
json_t *record_fhir_ws_token(PGconn *conn, const struct principal *who, long long id, int ttl_s,
                             char token[RECORD_WS_TOKEN_CHARS + 1], struct ed_error *err);
/* ed-hub's bind-with-token: takes the token (once; expired or unknown: 401), loads the
 * session it was made on into who (ended: 401), and returns the subscriptions it binds that
 * are still active and in who's departments (none: 404), each row with "at_seq" (the
 * department's last seq now) and "count" (its events up to at_seq), audited
 * subscription.bind. */
json_t *record_fhir_ws_bind(PGconn *conn, const char *token, struct principal *who,
                            struct ed_error *err);
/* $events: {"subscription": row, "total": events since its start, "events": [{"number",
 * "seq","type","payload","at"}]} for numbers since..until (at most limit), each audited
 * subscription.events in the read's transaction; 404 for an ended or another's subscription. */
json_t *record_fhir_subscription_events(PGconn *conn, const struct principal *who, long long id,
                                        long long since, long long until, int limit,
                                        struct ed_error *err);

#endif
