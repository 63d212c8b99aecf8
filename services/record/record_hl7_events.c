/* SPDX-License-Identifier: MIT */
/* record_hl7_events.c: record_hl7_apply, one function per trigger event of ADT_MAPPING.md §2.
 * Each finds the department, the event time and the patient's encounter, then calls the parts
 * of record_hl7_apply.c (or the record's writes) in the order of §1 step 5. True: AA (warnings
 * in res); false: AE with res->err, and the caller rolls the batch back. */
#include "record_hl7_internal.h"

#include <stdio.h>
#include <string.h>

#include "pg.h"
#include "record_internal.h"

static void ae(struct hl7_apply *a, enum hl7_err_code code, struct hl7_pos at, const char *why)
{
    record_hl7_set_err(&a->res->err, code, at, why);
}

static const struct hl7_pos pid3 = {"PID", 1, 3, 0};

/* The department, the event time, and the PID patient (whose details must match the record). */
static bool start(struct hl7_apply *a, bool must_exist)
{
    json_t *patient = record_hl7_patient(a->msg, a->res);
    bool known, ok;

    if (!patient)
        return false;
    ok = record_hl7_department(a, must_exist, &a->foreign_location) && record_hl7_event_time(a) &&
         record_hl7_pid_matches(a, patient, &known);
    json_decref(patient);
    return ok;
}

/* start, then the patient's open encounter (AE 204 at PID-3 when there is none). */
static bool start_on_open(struct hl7_apply *a)
{
    int found;

    if (!start(a, false))
        return false;
    found = record_hl7_open_encounter(a, record_hl7_mrn(a->msg));
    if (found == 0)
        ae(a, HL7_E_UNKNOWN_KEY, pid3, "no open encounter of this patient in the department");
    return found == 1;
}

/* A write of the encounter with just a time in the body ("at", "departed_at", ...). */
static bool write_at(struct hl7_apply *a, record_write_fn *fn, json_t *body, const char *key,
                     const char *when, struct hl7_pos at, struct hl7_pos time_from)
{
    struct record_write w = {0};
    struct ed_error e = {0};
    bool ok;

    if (when)
        json_object_set_new(body, key, json_string(when));
    ok = fn(a->conn, &a->who, a->enc.id, body, NULL, &w, &e);
    json_decref(body);
    if (!ok)
        return record_hl7_refused(a, &e, at, time_from);
    record_hl7_keep(a, &w);
    return true;
}

/* ---- A08 update, and an A04 for an open encounter ---- */

static bool update_parts(struct hl7_apply *a)
{
    bool recorded;

    return record_hl7_bed(a) && record_hl7_attending(a) && record_hl7_triage(a, false) &&
           record_hl7_allergies(a) && record_hl7_vitals(a) &&
           record_hl7_disposition(a, a->event_at, a->event_from, &recorded);
}

static bool a08(struct hl7_apply *a)
{
    return start_on_open(a) && update_parts(a);
}

/* ---- A04 register ---- */

/* The arrival body of §3.2 (unidentified without PID-3); NULL with res->err. */
static json_t *arrival_body(struct hl7_apply *a)
{
    json_t *body = record_hl7_arrival_body(a->msg, a->res);

    if (!body && a->res->unidentified)
        body = record_hl7_unidentified_body(a->msg, a->res);
    return body;
}

static bool register_arrival(struct hl7_apply *a, json_t *body)
{
    const struct hl7_pos time_from = {a->res->time_segment, 1, a->res->time_field, 0};
    struct record_write w = {0};
    struct ed_error e = {0};
    char utc[40];
    bool ok;

    /* A time without an offset is the department's local time. */
    if (a->res->local_time[0]) {
        const char *at;
        char dtm[16];
        snprintf(dtm, sizeof dtm, "%.4s%.2s%.2s%.2s%.2s%.2s", a->res->local_time,
                 a->res->local_time + 5, a->res->local_time + 8, a->res->local_time + 11,
                 a->res->local_time + 14, a->res->local_time + 17);
        if (!record_hl7_time_at(a, dtm, time_from, utc, &at))
            return false;
        json_object_set_new(body, "arrived_at", json_string(at));
    }
    ok = record_arrival(a->conn, &a->who, a->who.departments[0], body, NULL, &w, &e);
    if (!ok)
        return record_hl7_refused(a, &e, pid3, time_from);
    a->enc.id = w.encounter_id;
    record_hl7_keep(a, &w);
    return record_hl7_reload(a);
}

static bool a04(struct hl7_apply *a)
{
    const char *cls = record_hl7_val(hl7_get(a->msg, "PV1", 1, 2, 1, 1, 1));
    json_t *body, *patient;
    bool known, ok;
    int open = 0;

    if (!cls || strcmp(cls, "E") != 0) {
        record_hl7_warn(a->res, HL7_E_TABLE_VALUE, (struct hl7_pos){"PV1", 1, 2, 0},
                        "the patient class is not an ED visit: nothing applied");
        return true;
    }
    body = arrival_body(a);
    if (!body)
        return false;
    patient = json_object_get(body, "patient");
    ok = record_hl7_department(a, true, &a->foreign_location) && record_hl7_event_time(a) &&
         (!patient || record_hl7_pid_matches(a, patient, &known)) &&
         (!patient || (open = record_hl7_open_encounter(a, record_hl7_mrn(a->msg))) >= 0);
    if (ok && open) {
        /* A resend: applied as an A08; the arrival's own warnings do not apply. */
        json_decref(body);
        a->res->nwarnings = 0;
        return update_parts(a);
    }
    ok = ok && register_arrival(a, body);
    json_decref(body);
    return ok && record_hl7_bed(a) && record_hl7_attending(a) && record_hl7_triage(a, true) &&
           record_hl7_allergies(a) && record_hl7_vitals(a);
}

/* ---- A02 transfer ---- */

static bool a02(struct hl7_apply *a)
{
    const struct hl7_pos poc = {"PV1", 1, 3, 1};

    if (!start_on_open(a))
        return false;
    if (!a->foreign_location)
        return record_hl7_bed(a);
    /* Moved to a location outside the ED: an admitted or transferred patient has left. */
    if (strcmp(a->enc.disposition, "admit") != 0 && strcmp(a->enc.disposition, "transfer") != 0) {
        ae(a, HL7_E_TABLE_VALUE, poc,
           "no department has this point of care, and the patient is not admitted");
        return false;
    }
    return write_at(a, record_departure, json_object(), "departed_at", a->event_at, poc,
                    a->event_from);
}

/* ---- A01 admit, A06 outpatient to inpatient ---- */

/* The admit destination: the inpatient location of PV1-3, else the hospital service PV1-10. */
static void admit_destination(struct hl7_apply *a, char *out, size_t cap)
{
    const char *service = record_hl7_val(hl7_get(a->msg, "PV1", 1, 10, 1, 1, 1));

    out[0] = '\0';
    if (a->foreign_location)
        record_hl7_location_text(a->msg, out, cap);
    else if (service)
        snprintf(out, cap, "%.*s", (int)record_hl7_utf8_prefix(service, 100), service);
}

static bool admit(struct hl7_apply *a)
{
    const char *cls = record_hl7_val(hl7_get(a->msg, "PV1", 1, 2, 1, 1, 1));
    char destination[512];
    json_t *body;
    int found;

    if (!start(a, false) || (found = record_hl7_open_encounter(a, record_hl7_mrn(a->msg))) < 0)
        return false;
    if (!found && cls && !strcmp(cls, "E")) {
        ae(a, HL7_E_UNKNOWN_KEY, pid3, "no open encounter of this patient in the department");
        return false;
    }
    if (!found) {
        record_hl7_warn(a->res, HL7_E_UNKNOWN_KEY, pid3,
                        "a direct admission, not from the ED: nothing applied");
        return true;
    }
    admit_destination(a, destination, sizeof destination);
    if (!strcmp(a->enc.disposition, "admit") && !strcmp(a->enc.destination, destination))
        return true;
    body = json_pack("{s:s}", "kind", "admit");
    if (destination[0])
        json_object_set_new(body, "destination", json_string(destination));
    return write_at(a, record_disposition, body, "decided_at", a->event_at,
                    (struct hl7_pos){"PV1", 1, 3, 0}, a->event_from);
}

/* ---- A03 discharge ---- */

static bool a03(struct hl7_apply *a)
{
    const struct hl7_pos pv1_45 = {"PV1", 1, 45, 0};
    const char *dtm = hl7_get(a->msg, "PV1", 1, 45, 1, 1, 1), *left;
    struct hl7_pos time_from;
    char buf[40];
    bool recorded;

    if (!start_on_open(a))
        return false;
    time_from = record_hl7_val(dtm) ? pv1_45 : a->event_from;
    left = a->event_at;
    if (record_hl7_val(dtm) && !record_hl7_time_at(a, dtm, pv1_45, buf, &left))
        return false;
    /* The disposition an A03 carries was decided when the patient left, at the latest. */
    if (!record_hl7_disposition(a, left, time_from, &recorded))
        return false;
    if (recorded)
        return write_at(a, record_departure, json_object(), "departed_at", left,
                        (struct hl7_pos){"PV1", 1, 36, 0}, time_from);
    return write_at(a, record_status, json_pack("{s:s}", "status", "departed"), "at", left,
                    (struct hl7_pos){"PV1", 1, 45, 0}, time_from);
}

/* ---- A11 cancel admit / visit, A13 cancel discharge ---- */

typedef bool cancel_fn(PGconn *conn, const struct principal *who, long long encounter_id,
                       const json_t *body, struct record_write *out, struct ed_error *err);

static bool cancel(struct hl7_apply *a, cancel_fn *fn, struct ed_error *e)
{
    struct record_write w = {0};
    json_t *body = json_object();
    bool ok;

    if (a->event_at)
        json_object_set_new(body, "at", json_string(a->event_at));
    ok = fn(a->conn, &a->who, a->enc.id, body, &w, e);
    json_decref(body);
    if (ok)
        record_hl7_keep(a, &w);
    return ok;
}

static bool a11(struct hl7_apply *a)
{
    const struct hl7_pos pv1 = {"PV1", 1, 0, 0};
    struct ed_error e = {0};
    bool admitted;

    if (!start_on_open(a))
        return false;
    admitted = !strcmp(a->enc.disposition, "admit");
    if (cancel(a, admitted ? record_disposition_cancel : record_arrival_cancel, &e))
        return true;
    if (!admitted && e.status == 409) {
        ae(a, HL7_E_INTERNAL, pv1, "the visit has clinical entries: end it in edlive");
        return false;
    }
    return record_hl7_refused(a, &e, pv1, a->event_from);
}

/* The patient's latest encounter, when it ended less than 24 hours ago: 1, 0 none, -1. */
static int recent_departure(struct hl7_apply *a)
{
    static const char sql[] =
        "SELECT e.id, e.status IN ('departed', 'left_without_being_seen') AND e.departed_at > "
        "now() - interval '24 hours' FROM encounter e JOIN patient p ON p.id = e.patient_id "
        "WHERE p.mrn = $1 AND e.department_id = $2 ORDER BY e.arrived_at DESC, e.id DESC LIMIT 1";
    char deptbuf[24];
    const char *params[] = {record_hl7_mrn(a->msg), pg_int_param(deptbuf, a->who.departments[0])};
    PGresult *r = record_query(a->conn, "hl7 recent departure", sql, 2, params);
    int found;

    if (!r) {
        record_hl7_db_error(a);
        return -1;
    }
    found = PQntuples(r) == 1 && PQgetvalue(r, 0, 1)[0] == 't';
    if (found)
        a->enc.id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return found;
}

static bool a13(struct hl7_apply *a)
{
    struct ed_error e = {0};
    int found;

    if (!start(a, false) || (found = recent_departure(a)) < 0)
        return false;
    if (!found) {
        ae(a, HL7_E_UNKNOWN_KEY, pid3,
           "the patient's latest encounter here did not end in the last 24 hours");
        return false;
    }
    return cancel(a, record_departure_cancel, &e) || record_hl7_refused(a, &e, pid3, a->event_from);
}

/* ---- A40 merge ---- */

/* An edlive temporary id: MRG-1.5 = TMP, or the shape Trauma-NNNN. */
static bool temporary_id(const struct hl7_msg *msg, const char *id)
{
    const char *type = record_hl7_val(hl7_get(msg, "MRG", 1, 1, 1, 5, 1));
    size_t digits = strlen(id) > 7 ? strspn(id + 7, "0123456789") : 0;

    return (type && !strcmp(type, "TMP")) ||
           (!strncmp(id, "Trauma-", 7) && digits >= 4 && id[7 + digits] == '\0');
}

/* The alias's open encounter into a->enc.id: 1, 0 none, -1. */
static int alias_encounter(struct hl7_apply *a, const char *temp_id)
{
    static const char sql[] =
        "SELECT e.id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.temp_id = $1 "
        "AND p.merged_into IS NULL AND e.department_id = $2 AND e.status NOT IN ('departed', "
        "'left_without_being_seen', 'entered_in_error') ORDER BY e.id DESC LIMIT 1";
    char deptbuf[24];
    const char *params[] = {temp_id, pg_int_param(deptbuf, a->who.departments[0])};
    PGresult *r = record_query(a->conn, "hl7 alias", sql, 2, params);
    int found;

    if (!r) {
        record_hl7_db_error(a);
        return -1;
    }
    found = PQntuples(r) == 1;
    if (found)
        a->enc.id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return found;
}

/* MRG-1 is an MRN: two registered identities are one person, which the master patient index
 * decides (AE 207); an MRN edlive does not have is AE 204. Always false. */
static bool identified_merge(struct hl7_apply *a, const char *mrn)
{
    const struct hl7_pos mrg1 = {"MRG", 1, 1, 0};
    const char *params[] = {mrn};
    PGresult *r =
        record_query(a->conn, "hl7 merged mrn", "SELECT 1 FROM patient WHERE mrn = $1", 1, params);

    if (!r)
        return record_hl7_db_error(a);
    if (PQntuples(r) == 1)
        ae(a, HL7_E_INTERNAL, mrg1,
           "merge identified patients in the master patient index; edlive keeps both");
    else
        ae(a, HL7_E_UNKNOWN_KEY, mrg1, "no patient has this prior identifier");
    PQclear(r);
    return false;
}

static bool a40(struct hl7_apply *a)
{
    const struct hl7_pos mrg1 = {"MRG", 1, 1, 0};
    const char *old = record_hl7_val(hl7_get(a->msg, "MRG", 1, 1, 1, 1, 1));
    json_t *patient;
    int found;

    if (!old) {
        ae(a, HL7_E_REQUIRED_FIELD, mrg1, "no prior patient identifier (MRG-1)");
        return false;
    }
    if (!start(a, false))
        return false;
    if (!temporary_id(a->msg, old))
        return identified_merge(a, old);
    if ((found = alias_encounter(a, old)) <= 0) {
        if (found == 0)
            ae(a, HL7_E_UNKNOWN_KEY, mrg1,
               "no open encounter of an unidentified patient with "
               "this temporary id");
        return false;
    }
    patient = record_hl7_patient(a->msg, a->res);
    return patient && write_at(a, record_identify, json_pack("{s:o}", "patient", patient), "", NULL,
                               pid3, a->event_from);
}

/* ---- one message ---- */

static const struct {
    const char *trigger;
    bool (*apply)(struct hl7_apply *a);
} events[] = {
    {"A04", a04}, {"A08", a08}, {"A02", a02}, {"A01", admit}, {"A06", admit},
    {"A03", a03}, {"A11", a11}, {"A13", a13}, {"A40", a40},
};

/* Pre-admission, tracking, pending events and person-only updates: not the ED record. */
static const char *const ignored[] = {"A05", "A09", "A10", "A12", "A14",
                                      "A15", "A16", "A28", "A31"};

enum hl7_ack_code record_hl7_apply(PGconn *conn, const struct hl7_msg *msg,
                                   const struct record_hl7_opts *opts,
                                   struct record_hl7_result *res, struct record_write *out)
{
    const char *trigger = record_hl7_val(hl7_get(msg, "MSH", 1, 9, 1, 2, 1));
    struct hl7_apply a = {.conn = conn, .msg = msg, .opts = opts, .res = res, .out = out};

    memset(res, 0, sizeof *res);
    if (!trigger) {
        record_hl7_set_err(&res->err, HL7_E_REQUIRED_FIELD, (struct hl7_pos){"MSH", 1, 9, 2},
                           "no trigger event in MSH-9.2");
        return HL7_ACK_AR;
    }
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        if (strcmp(trigger, events[i].trigger) != 0)
            continue;
        if (events[i].apply(&a))
            return HL7_ACK_AA;
        /* The batch is rolled back: no write of it stands. */
        record_write_clear(out);
        return HL7_ACK_AE;
    }
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        if (!strcmp(trigger, ignored[i]))
            return HL7_ACK_AA;
    record_hl7_set_err(&res->err, HL7_E_UNSUPPORTED_EVENT, (struct hl7_pos){"MSH", 1, 9, 2},
                       "an event edlive does not apply (ADT_MAPPING.md §2)");
    return HL7_ACK_AR;
}
