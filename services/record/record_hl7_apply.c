/* SPDX-License-Identifier: MIT */
/* record_hl7_apply.c: the database side of an HL7 message (ADT_MAPPING.md §1 step 5) that
 * every event shares: the department and its time zone (the interface's principal), the event
 * time and other DTMs read in that zone, the patient's open encounter, the PID check, and the
 * record's refusals as table 0357 codes at HL7 positions. The parts are record_hl7_parts.c. */
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

/* The department with this code into a->who; false when there is none (or on error: *failed).
 * A retired department (edlivectl department retire) is none, *retired then set: it takes no
 * new patient. */
static bool find_department(struct hl7_apply *a, const char *code, bool *failed, bool *retired)
{
    const char *params[] = {code};
    PGresult *r = record_query(a->conn, "hl7 department",
                               "SELECT id, timezone, retired_at IS NOT NULL FROM department "
                               "WHERE code = $1",
                               1, params);
    const char *facility = field(a, "MSH", 4, 1);

    *failed = !r;
    *retired = r && PQntuples(r) > 0 && PQgetvalue(r, 0, 2)[0] == 't';
    if (!r || PQntuples(r) == 0 || *retired) {
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
    bool failed, retired;

    *foreign = false;
    if (!pg_ensure(a->conn))
        return record_hl7_db_error(a);
    if (code && find_department(a, code, &failed, &retired))
        return true;
    if (code && failed)
        return record_hl7_db_error(a);
    if (code && must_exist) {
        ae(a, HL7_E_TABLE_VALUE, at,
           retired ? "this department is retired: it takes no patient"
                   : "no department has this code");
        return false;
    }
    /* An inpatient location (an A01's ward): the patient is found in the default department. */
    *foreign = code != NULL;
    if (!a->opts->default_department) {
        ae(a, HL7_E_REQUIRED_FIELD, at, "no department: PV1-3.1 is empty and no default is set");
        return false;
    }
    if (find_department(a, a->opts->default_department, &failed, &retired))
        return true;
    if (!failed)
        ae(a, HL7_E_INTERNAL, (struct hl7_pos){0},
           retired ? "the default department is retired" : "the default department does not exist");
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
