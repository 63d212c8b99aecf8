/* SPDX-License-Identifier: MIT */
/* record_hl7_parts.c: the parts a message may carry (ADT_MAPPING.md §3.3, §3.4, §4.2, §4.3,
 * §4.5, §4.6): bed, attending, triage, allergies, vitals, disposition, each through the
 * record's own write so its rules, event and audit row are those of the REST route. Inside the
 * caller's batch each write is a savepoint: a part skipped with a warning leaves nothing. A part
 * the encounter already has as the message says is not written again (a resend). */
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
    /* The current bed with this label, else the last retired one (to say so in the ERR). */
    static const char sql[] = "SELECT id, area = 'waiting_room', retired_at IS NOT NULL FROM bed "
                              "WHERE department_id = $1 AND label = $2 "
                              "ORDER BY retired_at IS NOT NULL, retired_at DESC LIMIT 1";
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
    if (PQgetvalue(r, 0, 2)[0] == 't') {
        PQclear(r);
        ae(a, HL7_E_TABLE_VALUE, (struct hl7_pos){"PV1", 1, 3, 3},
           "this bed is retired: it takes no patient");
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
/* A set already on the chart with the same time and the same values (as the record rounds
 * them): a registration system sending its state again. Another set in the same minute with
 * other values (a monitor reading beside the triage set) is a reading of its own. */
static int vitals_known(struct hl7_apply *a, const char *taken_at, const json_t *body)
{
#define SAME(col, digits) \
    " AND v." col " IS NOT DISTINCT FROM round(($3::jsonb->>'" col "')::numeric, " digits ")"
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM vitals v WHERE v.encounter_id = $1 AND "
        "v.taken_at = least($2::timestamptz, now())" SAME("heart_rate", "0") SAME("resp_rate", "0")
            SAME("systolic_bp", "0") SAME("diastolic_bp", "0") SAME("spo2", "0") SAME("pain", "0")
                SAME("temperature_c", "1") SAME("oxygen_l_min", "1") ")";
#undef SAME
    char idbuf[24];
    char *values;
    const char *params[3];
    PGresult *r;
    int known;

    if (!taken_at)
        return 0;
    values = json_dumps(body, JSON_COMPACT);
    if (!values)
        return -1;
    params[0] = pg_int_param(idbuf, a->enc.id);
    params[1] = taken_at;
    params[2] = values;
    r = record_query(a->conn, "hl7 vitals", sql, 3, params);
    free(values);
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
        !(taker = vitals_taker(a, first)) || (known = vitals_known(a, taken_at, body)) != 0) {
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
