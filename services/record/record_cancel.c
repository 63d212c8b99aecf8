/* SPDX-License-Identifier: MIT */
/* record_cancel.c: the withdrawals a registration system makes (issue 11; HL7 A11 and A13,
 * proto/hl7/ADT_MAPPING.md §2): an admit decision withdrawn, a visit registered in error, a
 * discharge withdrawn. Each is one event of its own type (encounter.disposition_cancelled,
 * encounter.entered_in_error, encounter.reopened), audited, through the write shape of
 * record_tx.c; a sibling of record_encounter.c and record_clinical.c that calls only down.
 * Schema: sql/migrations/0013_cancel.sql; wire: proto/README.md "Withdrawals". */
#include <stdio.h>
#include <string.h>

#include "pg.h"
#include "record_internal.h"

/* ---- an admit decision withdrawn (A11 after A01/A06) ---- */

bool record_disposition_cancel(PGconn *conn, const struct principal *who, long long encounter_id,
                               const json_t *body, struct record_write *out, struct ed_error *err)
{
    static const char read_sql[] =
        "SELECT disposition, disposition_destination, utc_text(disposition_at) FROM encounter "
        "WHERE id = $1";
    /* The boarding clock ends with the decision (boarding_since follows disposition 'admit');
     * a decision to admit was a provider's, so the contact is no later than it. */
    static const char sql[] =
        "UPDATE encounter SET disposition = NULL, disposition_at = NULL, "
        "disposition_destination = NULL, disposition_by = NULL, admit_decided_at = NULL, "
        "provider_seen_at = coalesce(provider_seen_at, disposition_at), "
        "status = 'seen_by_provider', status_at = coalesce($2::timestamptz, now()) WHERE id = $1";
    static const char append_sql[] =
        "SELECT append_event($1, 'encounter.disposition_cancelled', jsonb_build_object("
        "'withdrawn', jsonb_build_object('kind', $3::text, 'destination', $4::text, "
        "'decided_at', $5::text, 'at', utc_text(coalesce($2::timestamptz, now())))))";
    const char *at = record_str_field(body, "at");
    struct locked_encounter enc;
    char encbuf[24], kind[32] = "", destination[128] = "", decided[40] = "";
    const char *params[5];
    PGresult *res;
    bool dest_null;

    if (!record_begin_on_encounter(conn, who, encounter_id, NULL, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = at;
    res = record_query(conn, "read disposition", read_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    snprintf(kind, sizeof kind, "%s", PQgetvalue(res, 0, 0));
    snprintf(destination, sizeof destination, "%s", PQgetvalue(res, 0, 1));
    dest_null = PQgetisnull(res, 0, 1);
    snprintf(decided, sizeof decided, "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (strcmp(kind, "admit") != 0) {
        ed_error_set(err, ED_ERR_CONFLICT, "disposition",
                     "there is no decision to admit to withdraw (disposition: %s)",
                     kind[0] ? kind : "none");
        return record_fail(conn, err);
    }
    if (!record_check_event_time(conn, &enc, at, "at", "disposition_at", err) ||
        !record_change(conn, "disposition cancel", sql, 2, params, NULL, NULL, err))
        return false;
    params[2] = kind;
    params[3] = dest_null ? NULL : destination;
    params[4] = decided;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.disposition_cancel",
                                                     "encounter", enc.patient_id, enc.department_id,
                                                     NULL},
                               append_sql, 5, params, out, err);
}

/* ---- a visit registered in error (A11 after A04) ---- */

bool record_arrival_cancel(PGconn *conn, const struct principal *who, long long encounter_id,
                           const json_t *body, struct record_write *out, struct ed_error *err)
{
    /* What a clinician wrote or decided: then the visit happened, whatever the registration
     * says, and only a departure ends it. Record entries (allergies, medications, problems)
     * are the patient's, so they are found by their events of this encounter. */
    static const char clinical_sql[] =
        "SELECT e.esi IS NOT NULL OR e.triaged_at IS NOT NULL OR e.disposition IS NOT NULL "
        "OR e.provider_seen_at IS NOT NULL "
        "OR EXISTS (SELECT 1 FROM vitals v WHERE v.encounter_id = e.id) "
        "OR EXISTS (SELECT 1 FROM note n WHERE n.encounter_id = e.id) "
        "OR EXISTS (SELECT 1 FROM clinical_order o WHERE o.encounter_id = e.id) "
        "OR EXISTS (SELECT 1 FROM encounter_diagnosis d WHERE d.encounter_id = e.id) "
        "OR EXISTS (SELECT 1 FROM event ev WHERE ev.encounter_id = e.id AND ev.type IN "
        "('encounter.triaged', 'vitals.recorded', 'note.added', 'order.placed', "
        "'record.allergy', 'record.medication', 'record.problem', 'record.diagnosis')) "
        "FROM encounter e WHERE e.id = $1";
    /* Ended at the withdrawal (the location history closes); the bed is free again without
     * cleaning (functions/90 encounter_before_vacate). No disposition: it counts nowhere. */
    static const char sql[] = "UPDATE encounter SET status = 'entered_in_error', "
                              "status_at = coalesce($2::timestamptz, now()), "
                              "departed_at = coalesce($2::timestamptz, now()) WHERE id = $1";
    static const char append_sql[] = "SELECT append_event($1, 'encounter.entered_in_error', NULL)";
    const char *at = record_str_field(body, "at");
    struct locked_encounter enc;
    char encbuf[24];
    const char *params[2];
    PGresult *res;
    bool clinical;

    if (!record_begin_on_encounter(conn, who, encounter_id, NULL, &enc, err))
        return false;
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = at;
    res = record_query(conn, "clinical entries", clinical_sql, 1, params);
    if (!res)
        return record_db_error(conn, err);
    clinical = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (clinical) {
        ed_error_set(err, ED_ERR_CONFLICT, NULL,
                     "the visit has clinical entries (triage, vitals, notes, orders, decisions "
                     "or record entries): end it with a departure in edlive");
        return record_fail(conn, err);
    }
    if (!record_check_event_time(conn, &enc, at, "at", "location_since", err) ||
        !record_change(conn, "entered in error", sql, 2, params, NULL, NULL, err))
        return false;
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.entered_in_error", "encounter",
                                                     enc.patient_id, enc.department_id, NULL},
                               append_sql, 1, params, out, err);
}

/* ---- a discharge withdrawn (A13) ---- */

/* What a reopening needs to know, read under the encounter's lock. */
struct reopen_state {
    bool recent;           /* departed less than 24 h ago */
    bool other_visit;      /* the patient has an open or a later encounter */
    bool before_departure; /* "at" is before the departure */
    bool future;           /* "at" is in the future */
    bool keep_disposition; /* decided before the departure's own transaction */
    char departed_at[40];
};

static bool read_reopen_state(PGconn *conn, const char *const *params, struct reopen_state *st)
{
    /* A disposition recorded in the departure's own transaction (an A03 carrying PV1-36, one
     * batch: the same event time) or by the server at the departure (an ended status without a
     * decision: left_without_disposition, lwbs) goes with the departure; one decided before
     * stays. */
    static const char sql[] =
        "WITH dep AS (SELECT max(ev.at) AS at FROM event ev WHERE ev.encounter_id = $1 AND "
        "(ev.type = 'encounter.departed' OR ev.type = 'encounter.status_changed' AND "
        "ev.payload->'encounter'->>'status' IN ('departed', 'left_without_being_seen'))) "
        "SELECT e.departed_at > now() - interval '24 hours', "
        "EXISTS (SELECT 1 FROM encounter o WHERE o.patient_id = e.patient_id AND o.id <> e.id "
        "AND (o.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error') "
        "OR o.arrived_at > e.arrived_at AND o.status <> 'entered_in_error')), "
        "coalesce($2::timestamptz < date_trunc('second', e.departed_at), false), "
        "coalesce($2::timestamptz > now() + interval '5 minutes', false), "
        "e.disposition IS NOT NULL AND e.disposition <> 'left_without_disposition' AND EXISTS "
        "(SELECT 1 FROM event ev, dep WHERE ev.encounter_id = $1 AND "
        "ev.type = 'encounter.disposition' AND ev.at < dep.at), "
        "utc_text(e.departed_at) FROM encounter e WHERE e.id = $1";
    PGresult *res = record_query(conn, "reopen state", sql, 2, params);

    if (!res)
        return false;
    st->recent = PQgetvalue(res, 0, 0)[0] == 't';
    st->other_visit = PQgetvalue(res, 0, 1)[0] == 't';
    st->before_departure = PQgetvalue(res, 0, 2)[0] == 't';
    st->future = PQgetvalue(res, 0, 3)[0] == 't';
    st->keep_disposition = PQgetvalue(res, 0, 4)[0] == 't';
    snprintf(st->departed_at, sizeof st->departed_at, "%s", PQgetvalue(res, 0, 5));
    PQclear(res);
    return true;
}

/* The encounter's bed again when no open encounter holds it and it is not waiting to be cleaned
 * for anyone else (the cleaning its own departure asked for is cancelled with it): *bed and
 * *area set; else "" (the waiting room). */
static bool reopen_bed(PGconn *conn, const char *encounter, char *bed, char *area)
{
    static const char sql[] =
        "SELECT b.id, b.area FROM encounter e JOIN bed b ON b.id = e.bed_id WHERE e.id = $1 AND "
        "NOT EXISTS (SELECT 1 FROM encounter o WHERE o.bed_id = b.id AND o.id <> e.id AND "
        "o.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')) AND "
        "(b.cleaning_since IS NULL OR b.cleaning_since = e.departed_at) FOR UPDATE OF b";
    static const char clean_sql[] =
        "UPDATE bed SET cleaning_since = NULL WHERE id = $1 AND cleaning_since IS NOT NULL";
    const char *params[] = {encounter};
    PGresult *res = record_query(conn, "reopen bed", sql, 1, params);

    bed[0] = area[0] = '\0';
    if (!res)
        return false;
    if (PQntuples(res) == 1) {
        snprintf(bed, 24, "%s", PQgetvalue(res, 0, 0));
        snprintf(area, 32, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    if (!bed[0])
        return true;
    params[0] = bed;
    res = record_query(conn, "reopen bed clean", clean_sql, 1, params);
    if (!res)
        return false;
    PQclear(res);
    return true;
}

bool record_departure_cancel(PGconn *conn, const struct principal *who, long long encounter_id,
                             const json_t *body, struct record_write *out, struct ed_error *err)
{
    /* $3 the bed or NULL (the waiting room), $4 its area, $5 whether the decision stays. The
     * status is where the patient was in the visit: a decision, else a provider's contact,
     * else a treatment space or the waiting room (a patient who left unseen is not made seen).
     * The location history appends the place from "at" (functions/90). */
    static const char sql[] =
        "UPDATE encounter SET departed_at = NULL, bed_id = $3::bigint, "
        "location_since = coalesce($2::timestamptz, now()), "
        "status_at = coalesce($2::timestamptz, now()), "
        "status = CASE WHEN $5::boolean THEN 'disposition_decided' "
        "WHEN provider_seen_at IS NOT NULL THEN 'seen_by_provider' "
        "WHEN $3::bigint IS NOT NULL AND $4 <> 'waiting_room' THEN 'in_room' ELSE 'waiting' END, "
        "disposition = CASE WHEN $5::boolean THEN disposition END, "
        "disposition_at = CASE WHEN $5::boolean THEN disposition_at END, "
        "disposition_destination = CASE WHEN $5::boolean THEN disposition_destination END, "
        "disposition_by = CASE WHEN $5::boolean THEN disposition_by END, "
        "admit_decided_at = CASE WHEN $5::boolean THEN admit_decided_at END WHERE id = $1";
    static const char append_sql[] =
        "SELECT append_event($1, 'encounter.reopened', jsonb_build_object('reopened_from', "
        "jsonb_build_object('status', $2::text, 'departed_at', $3::text), "
        "'lwbs_today', lwbs_today($4::bigint)))";
    const char *at = record_str_field(body, "at");
    struct locked_encounter enc;
    struct reopen_state st;
    char encbuf[24], deptbuf[24], bed[24], area[32];
    const char *params[5];

    if (!record_begin_on_any_encounter(conn, who, encounter_id, NULL, NULL, &enc, err))
        return false;
    if (strcmp(enc.status, "departed") != 0 && strcmp(enc.status, "left_without_being_seen") != 0) {
        ed_error_set(err, ED_ERR_CONFLICT, NULL,
                     !strcmp(enc.status, "entered_in_error")
                         ? "the visit was entered in error; it cannot be reopened"
                         : "the encounter has not departed; there is no discharge to withdraw");
        return record_fail(conn, err);
    }
    params[0] = pg_int_param(encbuf, encounter_id);
    params[1] = at;
    if (!read_reopen_state(conn, params, &st))
        return record_db_error(conn, err);
    if (!st.recent || st.other_visit || st.future || st.before_departure) {
        if (!st.recent)
            ed_error_set(err, ED_ERR_CONFLICT, NULL,
                         "the departure is more than 24 hours old; register a new visit instead");
        else if (st.other_visit)
            ed_error_set(err, ED_ERR_CONFLICT, NULL,
                         "the patient has another visit since (open or later); it cannot be "
                         "reopened");
        else if (st.future)
            ed_error_set(err, ED_ERR_OUT_OF_RANGE, "at", "must not be in the future");
        else
            ed_error_set(err, ED_ERR_OUT_OF_RANGE, "at", "must not be before the departure");
        return record_fail(conn, err);
    }
    if (!reopen_bed(conn, params[0], bed, area))
        return record_db_error(conn, err);
    params[2] = bed[0] ? bed : NULL;
    params[3] = area;
    params[4] = st.keep_disposition ? "true" : "false";
    if (!record_change(conn, "reopen", sql, 5, params, "bed_id",
                       "the bed was taken meanwhile; try again", err))
        return false;
    params[1] = enc.status;
    params[2] = st.departed_at;
    params[3] = pg_int_param(deptbuf, enc.department_id);
    return record_commit_event(conn,
                               &(struct write_audit){who, "encounter.reopen", "encounter",
                                                     enc.patient_id, enc.department_id, NULL},
                               append_sql, 4, params, out, err);
}
