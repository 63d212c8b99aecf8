/* SPDX-License-Identifier: MIT */
/* record_hl7_apply.c: the database side of an HL7 message (ADT_MAPPING.md §1 step 5): the
 * department and its time zone, the event time, the patient's open encounter, and the parts a
 * message may carry (bed, attending, triage, allergies, vitals, disposition), each through the
 * record's own write so its rules, event and audit row are those of the REST route. Inside the
 * caller's batch each write is a savepoint: a part skipped with a warning leaves nothing. */
#include "record_hl7_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "record_internal.h"

static const char *field(const struct hl7_apply *a, const char *seg, unsigned field, unsigned comp)
{
    return record_hl7_val(hl7_get(a->msg, seg, 1, field, 1, comp, 1));
}

static void ae(struct hl7_apply *a, enum hl7_err_code code, struct hl7_pos at, const char *why)
{
    record_hl7_set_err(&a->res->err, code, at, why);
}

bool record_hl7_db_error(struct hl7_apply *a)
{
    ae(a, HL7_E_INTERNAL, (struct hl7_pos){0}, "database unavailable: send again");
    return false;
}

void record_hl7_keep(struct hl7_apply *a, struct record_write *w)
{
    record_write_clear(a->out);
    *a->out = *w;
    memset(w, 0, sizeof *w);
}

/* ---- department, principal, times ---- */

/* The department with this code into a->who; false when there is none (or on error: *failed). */
static bool find_department(struct hl7_apply *a, const char *code, bool *failed)
{
    const char *params[] = {code};
    PGresult *r = record_query(a->conn, "hl7 department",
                               "SELECT id, timezone FROM department WHERE code = $1", 1, params);
    const char *facility = field(a, "MSH", 4, 1);

    *failed = !r;
    if (!r || PQntuples(r) == 0) {
        PQclear(r);
        return false;
    }
    a->who.departments[0] = atoll(PQgetvalue(r, 0, 0));
    a->who.n_departments = 1;
    a->who.staff_id = a->opts->interface_staff_id;
    snprintf(a->zone, sizeof a->zone, "%s", PQgetvalue(r, 0, 1));
    /* The audit rows' source: the sending facility, never a person. */
    snprintf(a->who.source_addr, sizeof a->who.source_addr, "hl7:%.59s", facility ? facility : "?");
    PQclear(r);
    return true;
}

bool record_hl7_department(struct hl7_apply *a, bool must_exist, bool *foreign)
{
    const struct hl7_pos at = {"PV1", 1, 3, 1};
    const char *code = field(a, "PV1", 3, 1);
    bool failed;

    *foreign = false;
    if (!pg_ensure(a->conn))
        return record_hl7_db_error(a);
    if (code && find_department(a, code, &failed))
        return true;
    if (code && failed)
        return record_hl7_db_error(a);
    if (code && must_exist) {
        ae(a, HL7_E_TABLE_VALUE, at, "no department has this code");
        return false;
    }
    /* An inpatient location (an A01's ward): the patient is found in the default department. */
    *foreign = code != NULL;
    if (!a->opts->default_department) {
        ae(a, HL7_E_REQUIRED_FIELD, at, "no department: PV1-3.1 is empty and no default is set");
        return false;
    }
    if (find_department(a, a->opts->default_department, &failed))
        return true;
    if (!failed)
        ae(a, HL7_E_INTERNAL, (struct hl7_pos){0}, "the default department does not exist");
    return failed ? record_hl7_db_error(a) : false;
}

/* A local time "YYYY-MM-DDTHH:MM:SS" read in the department's zone, as UTC. */
static bool local_to_utc(struct hl7_apply *a, const char *local, char *out)
{
    const char *params[] = {local, a->zone};
    PGresult *r = record_query(a->conn, "hl7 local time",
                               "SELECT to_char(($1::timestamp AT TIME ZONE $2) AT TIME ZONE 'UTC', "
                               "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                               2, params);
    if (!r)
        return record_hl7_db_error(a);
    snprintf(out, 40, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return true;
}

bool record_hl7_time_at(struct hl7_apply *a, const char *dtm, struct hl7_pos at, char *out,
                        const char **result)
{
    bool has_offset;
    char text[32];

    *result = NULL;
    if (!record_hl7_val(dtm))
        return true;
    if (!record_hl7_time(dtm, text, &has_offset)) {
        ae(a, HL7_E_DATA_TYPE, at, "a time less precise than minutes, or not a real time");
        return false;
    }
    if (has_offset)
        snprintf(out, 40, "%s", text);
    else if (!local_to_utc(a, text, out))
        return false;
    *result = out;
    return true;
}

bool record_hl7_event_time(struct hl7_apply *a)
{
    static const struct hl7_pos from[] = {{"EVN", 1, 6, 0}, {"EVN", 1, 2, 0}, {"MSH", 1, 7, 0}};

    a->event_at = NULL;
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        const char *dtm = field(a, from[i].seg, from[i].field, 1);
        if (!dtm)
            continue;
        a->event_from = from[i];
        return record_hl7_time_at(a, dtm, from[i], a->event_at_buf, &a->event_at);
    }
    return true;
}

/* ---- the patient and the encounter ---- */

#define ENCOUNTER_COLUMNS                                                             \
    "SELECT e.id, e.patient_id, coalesce(e.bed_id, 0), coalesce(e.attending_id, 0), " \
    "coalesce(e.esi, 0), e.status, coalesce(e.disposition, ''), "                     \
    "coalesce(e.disposition_destination, ''), e.chief_complaint FROM encounter e "

/* Runs a query of ENCOUNTER_COLUMNS into a->enc: 1 a row, 0 none, -1 (AE 207). */
static int read_encounter(struct hl7_apply *a, const char *sql, int n, const char *const *params)
{
    PGresult *r = record_query(a->conn, "hl7 encounter", sql, n, params);
    struct hl7_encounter *enc = &a->enc;

    if (!r) {
        record_hl7_db_error(a);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    enc->id = atoll(PQgetvalue(r, 0, 0));
    enc->patient_id = atoll(PQgetvalue(r, 0, 1));
    enc->bed_id = atoll(PQgetvalue(r, 0, 2));
    enc->attending_id = atoll(PQgetvalue(r, 0, 3));
    enc->esi = atoi(PQgetvalue(r, 0, 4));
    snprintf(enc->status, sizeof enc->status, "%s", PQgetvalue(r, 0, 5));
    snprintf(enc->disposition, sizeof enc->disposition, "%s", PQgetvalue(r, 0, 6));
    snprintf(enc->destination, sizeof enc->destination, "%s", PQgetvalue(r, 0, 7));
    snprintf(enc->complaint, sizeof enc->complaint, "%s", PQgetvalue(r, 0, 8));
    PQclear(r);
    return 1;
}

int record_hl7_open_encounter(struct hl7_apply *a, const char *mrn)
{
    static const char sql[] = ENCOUNTER_COLUMNS
        "JOIN patient p ON p.id = e.patient_id WHERE p.mrn = $1 AND e.department_id = $2 AND "
        "e.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error') "
        "ORDER BY e.id DESC LIMIT 1";
    char deptbuf[24];
    const char *params[] = {mrn, pg_int_param(deptbuf, a->who.departments[0])};

    return read_encounter(a, sql, 2, params);
}

bool record_hl7_reload(struct hl7_apply *a)
{
    static const char sql[] = ENCOUNTER_COLUMNS "WHERE e.id = $1";
    char idbuf[24];
    const char *params[] = {pg_int_param(idbuf, a->enc.id)};

    int found = read_encounter(a, sql, 1, params);

    if (found == 0)
        record_hl7_db_error(a);
    return found == 1;
}

bool record_hl7_pid_matches(struct hl7_apply *a, const json_t *patient, bool *known)
{
    static const char sql[] =
        "SELECT $2::text IS NOT NULL AND family_name IS DISTINCT FROM $2, "
        "$3::text IS NOT NULL AND given_name IS DISTINCT FROM $3, "
        "$4::date IS NOT NULL AND birth_date IS DISTINCT FROM $4::date, "
        "$5::text IS NOT NULL AND sex IS DISTINCT FROM $5 FROM patient WHERE mrn = $1";
    static const unsigned pid_field[] = {5, 5, 7, 8};
    const char *params[] = {
        record_str_field(patient, "mrn"), record_str_field(patient, "family_name"),
        record_str_field(patient, "given_name"), record_str_field(patient, "birth_date"),
        record_str_field(patient, "sex")};
    PGresult *r = record_query(a->conn, "hl7 patient", sql, 5, params);

    if (!r)
        return record_hl7_db_error(a);
    *known = PQntuples(r) == 1;
    for (int i = 0; *known && i < 4; i++)
        if (PQgetvalue(r, 0, i)[0] == 't') {
            PQclear(r);
            ae(a, HL7_E_DUPLICATE_KEY, (struct hl7_pos){"PID", 1, pid_field[i], 0},
               "PID differs from the patient on record");
            return false;
        }
    PQclear(r);
    return true;
}

/* ---- the record's refusals ---- */

/* The PID position of a patient.* field of a body. */
static struct hl7_pos patient_pos(const char *field_name, struct hl7_pos fallback)
{
    static const struct {
        const char *name;
        unsigned field;
    } map[] = {{"patient.mrn", 3},        {"patient.family_name", 5}, {"patient.given_name", 5},
               {"patient.birth_date", 7}, {"patient.sex", 8},         {"patient", 3}};

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(field_name, map[i].name))
            return (struct hl7_pos){"PID", 1, map[i].field, 0};
    return fallback;
}

static bool is_time_field(const char *name)
{
    static const char *const times[] = {"at", "taken_at", "decided_at", "departed_at",
                                        "arrived_at"};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        if (!strcmp(name, times[i]))
            return true;
    return false;
}

bool record_hl7_refused(struct hl7_apply *a, const struct ed_error *e, struct hl7_pos at,
                        struct hl7_pos time_from)
{
    enum hl7_err_code code = HL7_E_DATA_TYPE;
    bool patient = !strncmp(e->field, "patient", 7);

    if (e->status >= 500 || e->status == 0)
        return record_hl7_db_error(a);
    if (e->status == 409)
        code = patient ? HL7_E_DUPLICATE_KEY : HL7_E_RECORD_LOCKED;
    else if (e->status == 404)
        code = HL7_E_UNKNOWN_KEY;
    else if (e->code && !strcmp(e->code, "missing_field"))
        code = HL7_E_REQUIRED_FIELD;
    if (is_time_field(e->field))
        at = time_from;
    /* e->message never holds patient data (ed_error.h). */
    ae(a, code, patient ? patient_pos(e->field, at) : at, e->message);
    return false;
}

/* ---- the parts ---- */

/* A staff member of the department by HL7 id (staff.hl7_id): the id, 0 when none, -1 error. */
static long long staff_by_hl7_id(struct hl7_apply *a, const char *hl7_id)
{
    static const char sql[] =
        "SELECT s.id FROM staff s JOIN staff_department sd ON sd.staff_id = s.id "
        "WHERE s.hl7_id = $1 AND s.active AND sd.department_id = $2";
    char deptbuf[24];
    const char *params[] = {hl7_id, pg_int_param(deptbuf, a->who.departments[0])};
    PGresult *r = record_query(a->conn, "hl7 staff", sql, 2, params);
    long long id;

    if (!r)
        return -1;
    id = PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return id;
}

static void set_at(json_t *body, const char *key, const char *when)
{
    if (when)
        json_object_set_new(body, key, json_string(when));
}

/* Runs one record write for the encounter; false with the refusal as AE at at. */
static bool write_part(struct hl7_apply *a, record_write_fn *fn, json_t *body, struct hl7_pos at,
                       struct hl7_pos time_from, struct ed_error *e)
{
    struct record_write w = {0};
    bool ok = fn(a->conn, &a->who, a->enc.id, body, NULL, &w, e);

    json_decref(body);
    if (!ok)
        return record_hl7_refused(a, e, at, time_from);
    record_hl7_keep(a, &w);
    return true;
}

/* §3.3: 0 the waiting room, else the bed's id; -1 no move (or AE when res->err is set). */
static long long wanted_bed(struct hl7_apply *a)
{
    static const char sql[] = "SELECT id, area = 'waiting_room' FROM bed "
                              "WHERE department_id = $1 AND label = $2";
    const char *poc = hl7_get(a->msg, "PV1", 1, 3, 1, 1, 1);
    const char *label = field(a, "PV1", 3, 3);
    char deptbuf[24];
    const char *params[2];
    PGresult *r;
    long long bed;

    if (!label)
        label = field(a, "PV1", 3, 2);
    if (!label)
        return poc && hl7_is_null(poc) ? 0 : -1;
    params[0] = pg_int_param(deptbuf, a->who.departments[0]);
    params[1] = label;
    r = record_query(a->conn, "hl7 bed", sql, 2, params);
    if (!r) {
        record_hl7_db_error(a);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        ae(a, HL7_E_TABLE_VALUE, (struct hl7_pos){"PV1", 1, 3, 3},
           "the department has no bed with this label");
        return -1;
    }
    bed = PQgetvalue(r, 0, 1)[0] == 't' ? 0 : atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return bed;
}

bool record_hl7_bed(struct hl7_apply *a)
{
    long long bed = wanted_bed(a);
    struct ed_error e = {0};
    json_t *body;

    if (bed < 0 || bed == a->enc.bed_id)
        return !a->res->err.code;
    body = json_pack("{s:o}", "bed_id", bed ? json_integer(bed) : json_null());
    set_at(body, "at", a->event_at);
    if (!write_part(a, record_bed, body, (struct hl7_pos){"PV1", 1, 3, 0}, a->event_from, &e))
        return false;
    a->enc.bed_id = bed;
    return true;
}

bool record_hl7_attending(struct hl7_apply *a)
{
    const struct hl7_pos at = {"PV1", 1, 7, 0};
    const char *id = hl7_get(a->msg, "PV1", 1, 7, 1, 1, 1);
    long long staff = 0;
    struct ed_error e = {0};
    struct record_write w = {0};
    json_t *body;
    bool ok;

    if (!id)
        return true;
    if (!hl7_is_null(id) && (staff = staff_by_hl7_id(a, id)) <= 0) {
        if (staff < 0)
            return record_hl7_db_error(a);
        record_hl7_warn(a->res, HL7_E_UNKNOWN_KEY, at,
                        "no staff member of the department has this HL7 id: not assigned");
        return true;
    }
    if (staff == a->enc.attending_id)
        return true;
    body = json_pack("{s:o}", "attending_id", staff ? json_integer(staff) : json_null());
    set_at(body, "at", a->event_at);
    ok = record_assignment(a->conn, &a->who, a->enc.id, body, NULL, &w, &e);
    json_decref(body);
    if (!ok && e.status == 422) {
        /* Not a physician here: the same as an unknown attending (the savepoint undid it). */
        record_hl7_warn(a->res, HL7_E_UNKNOWN_KEY, at,
                        "this staff member cannot be the attending here: not assigned");
        return true;
    }
    if (!ok)
        return record_hl7_refused(a, &e, at, a->event_from);
    record_hl7_keep(a, &w);
    a->enc.attending_id = staff;
    return true;
}

/* The ESI to record with a complaint alone: the encounter's, or 0 (skipped with a warning). */
static int esi_for_complaint(struct hl7_apply *a, const json_t *complaint, bool from_arrival)
{
    if (from_arrival || !complaint || !strcmp(json_string_value(complaint), a->enc.complaint))
        return 0;
    if (!a->enc.esi)
        record_hl7_warn(a->res, HL7_E_DATA_TYPE, (struct hl7_pos){"PV2", 1, 3, 0},
                        "a chief complaint without an ESI is not a triage: not applied");
    return a->enc.esi;
}

bool record_hl7_triage(struct hl7_apply *a, bool from_arrival)
{
    unsigned occ = 0;
    int esi = record_hl7_esi(a->msg, &occ, &a->res->err);
    bool cut;
    json_t *complaint = record_hl7_complaint(a->msg, &cut), *body;
    struct hl7_pos time_from = a->event_from;
    const char *at = a->event_at;
    char atbuf[40];
    struct ed_error e = {0};

    if (esi < 0 || (esi == 0 && !(esi = esi_for_complaint(a, complaint, from_arrival))) ||
        (esi == a->enc.esi &&
         (!complaint || !strcmp(json_string_value(complaint), a->enc.complaint)))) {
        json_decref(complaint);
        return esi >= 0;
    }
    if (cut && !from_arrival)
        record_hl7_warn(a->res, HL7_E_DATA_TYPE, (struct hl7_pos){"PV2", 1, 3, 0},
                        "the chief complaint was cut to 200 characters");
    if (occ && hl7_get(a->msg, "OBX", occ, 14, 1, 1, 1)) {
        time_from = (struct hl7_pos){"OBX", occ, 14, 0};
        if (!record_hl7_time_at(a, hl7_get(a->msg, "OBX", occ, 14, 1, 1, 1), time_from, atbuf,
                                &at)) {
            json_decref(complaint);
            return false;
        }
    }
    body = json_pack("{s:i}", "esi", esi);
    if (complaint)
        json_object_set_new(body, "chief_complaint", complaint);
    set_at(body, "at", at);
    if (!write_part(a, record_triage, body, (struct hl7_pos){"OBX", occ ? occ : 1, 5, 0}, time_from,
                    &e))
        return false;
    return record_hl7_reload(a);
}

/* 1 when the allergy body needs no write (already on record, or NKA already), 0 when it does,
 * -1 on error. NKA on a patient with allergies is skipped with a warning. */
static int allergy_known(struct hl7_apply *a, const json_t *body, unsigned occ)
{
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM patient_allergy WHERE patient_id = $1 AND "
        "($2::text IS NULL OR lower(substance) = lower($2))), allergies_recorded_at IS NOT NULL "
        "FROM patient WHERE id = $1";
    char idbuf[24];
    const char *substance = record_str_field(body, "substance");
    const char *params[] = {pg_int_param(idbuf, a->enc.patient_id), substance};
    PGresult *r = record_query(a->conn, "hl7 allergy", sql, 2, params);
    bool exists, recorded;

    if (!r)
        return -1;
    exists = PQgetvalue(r, 0, 0)[0] == 't';
    recorded = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (substance)
        return exists;
    if (exists)
        record_hl7_warn(a->res, HL7_E_DATA_TYPE, (struct hl7_pos){"AL1", occ, 3, 0},
                        "allergies are recorded for this patient: no known allergies not applied");
    return recorded;
}

bool record_hl7_allergies(struct hl7_apply *a)
{
    unsigned n = hl7_segment_count(a->msg, "AL1");

    for (unsigned i = 1; i <= n; i++) {
        const struct hl7_pos at = {"AL1", i, 3, 0};
        json_t *body = record_hl7_allergy_body(a->msg, i, &a->res->err);
        struct ed_error e = {0};
        int known;

        if (!body)
            return false;
        known = allergy_known(a, body, i);
        if (known != 0) {
            json_decref(body);
            if (known < 0)
                return record_hl7_db_error(a);
            continue;
        }
        if (!write_part(a, record_allergy, body, at, at, &e))
            return false;
    }
    return true;
}

/* taken_by: the staff member of OBX-16.1, else the interface's; 0 with AE when neither. */
static long long vitals_taker(struct hl7_apply *a, unsigned occ)
{
    const char *id = record_hl7_val(hl7_get(a->msg, "OBX", occ, 16, 1, 1, 1));
    long long staff = id ? staff_by_hl7_id(a, id) : 0;

    if (staff < 0) {
        record_hl7_db_error(a);
        return 0;
    }
    if (staff)
        return staff;
    if (!a->opts->interface_staff_id)
        ae(a, HL7_E_REQUIRED_FIELD, (struct hl7_pos){"OBX", occ, 16, 0},
           "no staff member took these vitals and the interface has no staff member");
    return a->opts->interface_staff_id;
}

/* The same set sent again (a resend): a set of the encounter taken at the same time. */
static int vitals_known(struct hl7_apply *a, const char *taken_at)
{
    static const char sql[] = "SELECT EXISTS (SELECT 1 FROM vitals WHERE encounter_id = $1 AND "
                              "taken_at = least($2::timestamptz, now()))";
    char idbuf[24];
    const char *params[] = {pg_int_param(idbuf, a->enc.id), taken_at};
    PGresult *r;
    int known;

    if (!taken_at)
        return 0;
    r = record_query(a->conn, "hl7 vitals", sql, 2, params);
    if (!r)
        return -1;
    known = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return known;
}

/* The vitals refusal at the OBX of the field at fault. */
static bool vitals_refused(struct hl7_apply *a, const struct ed_error *e, unsigned first,
                           struct hl7_pos time_from)
{
    unsigned occ = record_hl7_vitals_obx(a->msg, e->field);
    struct hl7_pos at = {"OBX", occ ? occ : first, 5, 0};

    if (!strcmp(e->field, "taken_by"))
        at.field = 16;
    return record_hl7_refused(a, e, at, time_from);
}

bool record_hl7_vitals(struct hl7_apply *a)
{
    unsigned first;
    json_t *body = record_hl7_vitals_body(a->msg, &first, &a->res->err);
    struct hl7_pos time_from = a->event_from;
    const char *taken_at = a->event_at, *obx14;
    char atbuf[40];
    struct ed_error e = {0};
    struct record_write w = {0};
    long long taker = 0;
    int known = 0;
    bool ok;

    if (!body)
        return !a->res->err.code;
    obx14 = hl7_get(a->msg, "OBX", first, 14, 1, 1, 1);
    if (obx14)
        time_from = (struct hl7_pos){"OBX", first, 14, 0};
    if ((obx14 && !record_hl7_time_at(a, obx14, time_from, atbuf, &taken_at)) ||
        !(taker = vitals_taker(a, first)) || (known = vitals_known(a, taken_at)) != 0) {
        json_decref(body);
        if (known < 0)
            return record_hl7_db_error(a);
        return known > 0;
    }
    json_object_set_new(body, "taken_by", json_integer(taker));
    set_at(body, "taken_at", taken_at);
    ok = record_vitals(a->conn, &a->who, a->enc.id, body, NULL, &w, &e);
    json_decref(body);
    if (!ok)
        return vitals_refused(a, &e, first, time_from);
    record_hl7_keep(a, &w);
    return true;
}

bool record_hl7_disposition(struct hl7_apply *a, const char *decided_at, struct hl7_pos time_from,
                            bool *recorded)
{
    const struct hl7_pos at = {"PV1", 1, 36, 0};
    const char *code = field(a, "PV1", 36, 1);
    bool unknown;
    const char *kind = code ? record_hl7_disposition_kind(code, &unknown) : NULL;
    char destination[512] = "";
    struct ed_error e = {0};
    json_t *body;

    *recorded = a->enc.disposition[0] != '\0';
    if (code && !kind)
        record_hl7_warn(a->res, HL7_E_TABLE_VALUE, at,
                        "disposition 30 (still a patient): no disposition recorded");
    if (!kind)
        return true;
    if (unknown)
        record_hl7_warn(a->res, HL7_E_TABLE_VALUE, at,
                        "a disposition code not in table 0112: recorded as other");
    if (!strcmp(kind, "admit") || !strcmp(kind, "transfer")) {
        const char *to = field(a, "PV1", 37, 1);
        if (to)
            snprintf(destination, sizeof destination, "%.*s", (int)record_hl7_utf8_prefix(to, 100),
                     to);
        else if (a->foreign_location)
            record_hl7_location_text(a->msg, destination, sizeof destination);
    }
    if (!strcmp(kind, a->enc.disposition) && !strcmp(destination, a->enc.destination))
        return true;
    body = json_pack("{s:s}", "kind", kind);
    if (destination[0])
        json_object_set_new(body, "destination", json_string(destination));
    set_at(body, "decided_at", decided_at);
    if (!write_part(a, record_disposition, body, at, time_from, &e))
        return false;
    *recorded = true;
    return record_hl7_reload(a);
}
