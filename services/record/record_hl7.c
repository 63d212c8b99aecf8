/* SPDX-License-Identifier: MIT */
/* record_hl7.c: HL7 v2 ADT to REST bodies (record_hl7.h). Errors name positions and rules,
 * never values: they end up in ACKs and logs. */
#include "record_hl7.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* Valued: neither absent nor the HL7 null. */
static const char *val(const char *s)
{
    return s && !hl7_is_null(s) ? s : NULL;
}

static void set_err(struct hl7_error *e, enum hl7_err_code code, const char *seg, unsigned field,
                    unsigned comp, const char *message)
{
    memset(e, 0, sizeof *e);
    e->code = code;
    snprintf(e->segment, sizeof e->segment, "%s", seg);
    e->seg_seq = 1;
    e->field = field;
    e->comp = comp;
    snprintf(e->message, sizeof e->message, "%.159s", message);
}

static void warn(struct record_hl7_result *res, const char *seg, unsigned field,
                 const char *message)
{
    if (res->nwarnings < RECORD_HL7_MAX_WARNINGS)
        set_err(&res->warnings[res->nwarnings++], HL7_E_DATA_TYPE, seg, field, 0, message);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The byte length of the first max characters of s. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t i = 0, n = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == max)
            break;
    }
    return i;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool real_date(int y, int m, int d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && leap);
}

bool record_hl7_time(const char *dtm, char *out, bool *has_offset)
{
    size_t len = strlen(dtm), i = 12;
    int sec = 0;
    const char *off;

    *has_offset = false;
    if (len < 12 || !digits(dtm, 12))
        return false;
    if (len >= 14 && digits(dtm + 12, 2)) {
        sec = num(dtm + 12, 2);
        i = 14;
        if (dtm[i] == '.') {
            for (i++; dtm[i] >= '0' && dtm[i] <= '9'; i++)
                ;
        }
    }
    off = dtm + i;
    if (!real_date(num(dtm, 4), num(dtm + 4, 2), num(dtm + 6, 2)) || num(dtm + 8, 2) > 23 ||
        num(dtm + 10, 2) > 59 || sec > 59)
        return false;
    snprintf(out, 32, "%.4s-%.2s-%.2sT%.2s:%.2s:%02d", dtm, dtm + 4, dtm + 6, dtm + 8, dtm + 10,
             sec);
    if (*off == '\0')
        return true;
    if ((*off != '+' && *off != '-') || strlen(off) != 5 || !digits(off + 1, 4) ||
        num(off + 1, 2) > 14 || num(off + 3, 2) > 59)
        return false;
    snprintf(out + 19, 32 - 19, "%c%.2s:%.2s", *off, off + 1, off + 3);
    *has_offset = true;
    return true;
}

static const char *sex_code(const char *c)
{
    static const char *const map[][2] = {{"F", "female"}, {"M", "male"},  {"O", "other"},
                                         {"A", "other"},  {"X", "other"}, {"U", "unknown"},
                                         {"N", "unknown"}};
    if (!c || strlen(c) != 1)
        return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if ((c[0] & ~0x20) == map[i][0][0])
            return map[i][1];
    return NULL;
}

/* §4.4: PV2-38 (table 0430), else PV1-14 (table 0023), else other. */
static const char *arrival_mode(const struct hl7_msg *msg)
{
    const char *m = val(hl7_get(msg, "PV2", 1, 38, 1, 1, 1));
    const char *src = val(hl7_get(msg, "PV1", 1, 14, 1, 1, 1));
    if (m) {
        if (!strcmp(m, "A"))
            return "ambulance";
        if (!strcmp(m, "H"))
            return "helicopter";
        if (!strcmp(m, "C") || !strcmp(m, "F") || !strcmp(m, "P"))
            return "walk_in";
        return "other";
    }
    if (src && (!strcmp(src, "4") || !strcmp(src, "5") || !strcmp(src, "6")))
        return "transfer";
    if (src && !strcmp(src, "8"))
        return "police";
    return "other";
}

static const char *chief_complaint(const struct hl7_msg *msg)
{
    const char *c = val(hl7_get(msg, "PV2", 1, 3, 1, 2, 1));
    unsigned nobx = hl7_segment_count(msg, "OBX");
    if (!c)
        c = val(hl7_get(msg, "PV2", 1, 3, 1, 1, 1));
    for (unsigned i = 1; !c && i <= nobx; i++) {
        const char *code = val(hl7_get(msg, "OBX", i, 3, 1, 1, 1));
        if (code && !strcmp(code, "8661-1"))
            c = val(hl7_get(msg, "OBX", i, 5, 1, 1, 1));
    }
    return c;
}

static bool add_patient(const struct hl7_msg *msg, json_t *patient, struct record_hl7_result *res)
{
    unsigned reps = hl7_rep_count(msg, "PID", 1, 5), rep = 1;
    const char *family, *given, *birth, *sex;

    for (unsigned r = 1; r <= reps; r++) {
        const char *type = val(hl7_get(msg, "PID", 1, 5, r, 7, 1));
        if (type && !strcmp(type, "L")) {
            rep = r;
            break;
        }
    }
    family = val(hl7_get(msg, "PID", 1, 5, rep, 1, 1));
    given = val(hl7_get(msg, "PID", 1, 5, rep, 2, 1));
    if ((family && utf8_chars(family) > 100) || (given && utf8_chars(given) > 100)) {
        set_err(&res->err, HL7_E_DATA_TYPE, "PID", 5, 0, "a name is over 100 characters");
        return false;
    }
    if (family)
        json_object_set_new(patient, "family_name", json_string(family));
    if (given)
        json_object_set_new(patient, "given_name", json_string(given));
    birth = val(hl7_get(msg, "PID", 1, 7, 1, 1, 1));
    if (birth) {
        char date[11];
        if (strlen(birth) < 8 || !digits(birth, 8) ||
            !real_date(num(birth, 4), num(birth + 4, 2), num(birth + 6, 2))) {
            set_err(&res->err, HL7_E_DATA_TYPE, "PID", 7, 0, "the birth date is not a real date");
            return false;
        }
        snprintf(date, sizeof date, "%.4s-%.2s-%.2s", birth, birth + 4, birth + 6);
        json_object_set_new(patient, "birth_date", json_string(date));
    }
    sex = val(hl7_get(msg, "PID", 1, 8, 1, 1, 1));
    if (sex) {
        const char *s = sex_code(sex);
        if (!s) {
            set_err(&res->err, HL7_E_TABLE_VALUE, "PID", 8, 0, "sex is not in table 0001");
            return false;
        }
        json_object_set_new(patient, "sex", json_string(s));
    }
    return true;
}

/* §3.1: PID-3.1 of the first repetition typed MR, else of the first. */
static const char *mrn(const struct hl7_msg *msg)
{
    unsigned reps = hl7_rep_count(msg, "PID", 1, 3);
    for (unsigned r = 1; r <= reps; r++) {
        const char *type = val(hl7_get(msg, "PID", 1, 3, r, 5, 1));
        if (type && !strcmp(type, "MR") && val(hl7_get(msg, "PID", 1, 3, r, 1, 1)))
            return hl7_get(msg, "PID", 1, 3, r, 1, 1);
    }
    return val(hl7_get(msg, "PID", 1, 3, 1, 1, 1));
}

static bool add_time(const struct hl7_msg *msg, json_t *body, struct record_hl7_result *res)
{
    static const struct {
        const char *seg;
        unsigned field;
    } from[] = {{"PV1", 44}, {"EVN", 6}, {"EVN", 2}, {"MSH", 7}};
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        const char *dtm = val(hl7_get(msg, from[i].seg, 1, from[i].field, 1, 1, 1));
        char out[32];
        bool has_offset;
        if (!dtm)
            continue;
        if (!record_hl7_time(dtm, out, &has_offset)) {
            set_err(&res->err, HL7_E_DATA_TYPE, from[i].seg, from[i].field, 0,
                    "a time less precise than minutes, or not a real time");
            return false;
        }
        if (has_offset)
            json_object_set_new(body, "arrived_at", json_string(out));
        else
            snprintf(res->local_time, sizeof res->local_time, "%s", out);
        return true;
    }
    return true;
}

json_t *record_hl7_arrival_body(const struct hl7_msg *msg, struct record_hl7_result *res)
{
    json_t *body, *patient;
    const char *id = mrn(msg), *complaint;

    memset(res, 0, sizeof *res);
    if (!id) {
        res->unidentified = true;
        return NULL;
    }
    if (strlen(id) > 32 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-") != strlen(id)) {
        set_err(&res->err, HL7_E_DATA_TYPE, "PID", 3, 0,
                "the MRN is not 1-32 letters, digits or '-'");
        return NULL;
    }
    body = json_object();
    patient = json_object();
    json_object_set_new(body, "patient", patient);
    json_object_set_new(patient, "mrn", json_string(id));
    if (!add_patient(msg, patient, res) || !add_time(msg, body, res)) {
        json_decref(body);
        return NULL;
    }
    json_object_set_new(body, "arrival_mode", json_string(arrival_mode(msg)));
    complaint = chief_complaint(msg);
    if (!complaint) {
        warn(res, "PV2", 3, "no chief complaint given at registration");
        complaint = "(not given at registration)";
    } else if (utf8_chars(complaint) > 200) {
        warn(res, "PV2", 3, "the chief complaint was cut to 200 characters");
        json_object_set_new(body, "chief_complaint",
                            json_stringn(complaint, utf8_prefix(complaint, 200)));
        return body;
    }
    json_object_set_new(body, "chief_complaint", json_string(complaint));
    return body;
}

/* ---- applying ---- */

/* The REST field of a refused body, as the PID / PV1 position it came from. */
static void err_from_record(const struct ed_error *e, struct record_hl7_result *res)
{
    static const struct {
        const char *field, *seg;
        unsigned pos;
    } map[] = {{"patient.mrn", "PID", 3},        {"patient.family_name", "PID", 5},
               {"patient.given_name", "PID", 5}, {"patient.birth_date", "PID", 7},
               {"patient.sex", "PID", 8},        {"arrived_at", "PV1", 44},
               {"chief_complaint", "PV2", 3},    {"arrival_mode", "PV2", 38}};
    const char *seg = "";
    unsigned pos = 0;
    enum hl7_err_code code = HL7_E_INTERNAL;

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(e->field, map[i].field)) {
            seg = map[i].seg;
            pos = map[i].pos;
        }
    if (e->status == 409)
        code = HL7_E_DUPLICATE_KEY;
    else if (e->status == 422 && e->code && !strcmp(e->code, "missing_field"))
        code = HL7_E_REQUIRED_FIELD;
    else if (e->status == 422 || e->status == 400)
        code = HL7_E_DATA_TYPE;
    else if (e->status == 404)
        code = HL7_E_UNKNOWN_KEY;
    /* e->message never holds patient data (ed_error.h). */
    set_err(&res->err, code, seg, pos, 0, e->message);
}

static const char *const dept_sql =
    "SELECT id, to_char(($2::timestamp AT TIME ZONE timezone) AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM department WHERE code = $1";

enum hl7_ack_code record_hl7_a04(PGconn *conn, const struct hl7_msg *msg,
                                 const char *default_department, struct record_hl7_result *res,
                                 struct record_write *out)
{
    const char *cls = val(hl7_get(msg, "PV1", 1, 2, 1, 1, 1));
    const char *code = val(hl7_get(msg, "PV1", 1, 3, 1, 1, 1));
    const char *facility = val(hl7_get(msg, "MSH", 1, 4, 1, 1, 1));
    struct principal who = {0};
    struct ed_error e = {0};
    const char *params[2];
    json_t *body;
    PGresult *r;
    bool ok;

    if (!cls || strcmp(cls, "E") != 0) {
        memset(res, 0, sizeof *res);
        set_err(&res->warnings[0], HL7_E_TABLE_VALUE, "PV1", 2, 0,
                "the patient class is not an ED visit: nothing applied");
        res->nwarnings = 1;
        return HL7_ACK_AA;
    }
    body = record_hl7_arrival_body(msg, res);
    if (!body) {
        if (res->unidentified)
            set_err(&res->err, HL7_E_UNSUPPORTED_EVENT, "PID", 3, 0,
                    "an unidentified arrival is not applied by this build yet");
        return HL7_ACK_AE;
    }
    if (!code)
        code = default_department;
    if (!code) {
        set_err(&res->err, HL7_E_REQUIRED_FIELD, "PV1", 3, 1,
                "no department: PV1-3.1 is empty and no default is set");
        json_decref(body);
        return HL7_ACK_AE;
    }
    params[0] = code;
    params[1] = res->local_time[0] ? res->local_time : NULL;
    if (!pg_ensure(conn) || !(r = pg_query(conn, dept_sql, 2, params)) ||
        !pg_ok(conn, r, "hl7 department")) {
        set_err(&res->err, HL7_E_INTERNAL, "", 0, 0, "database unavailable: send again");
        json_decref(body);
        return HL7_ACK_AE;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        set_err(&res->err, HL7_E_TABLE_VALUE, "PV1", 3, 1, "no department has this code");
        json_decref(body);
        return HL7_ACK_AE;
    }
    who.departments[0] = atoll(PQgetvalue(r, 0, 0));
    who.n_departments = 1;
    if (res->local_time[0])
        json_object_set_new(body, "arrived_at", json_string(PQgetvalue(r, 0, 1)));
    PQclear(r);
    snprintf(who.source_addr, sizeof who.source_addr, "hl7:%.59s", facility ? facility : "?");
    ok = record_arrival(conn, &who, who.departments[0], body, NULL, out, &e);
    json_decref(body);
    if (ok)
        return HL7_ACK_AA;
    err_from_record(&e, res);
    return HL7_ACK_AE;
}

/* ---- one message ---- */

enum hl7_ack_code record_hl7_apply(PGconn *conn, const struct hl7_msg *msg,
                                   const struct record_hl7_opts *opts,
                                   struct record_hl7_result *res, struct record_write *out)
{
    const char *trigger = val(hl7_get(msg, "MSH", 1, 9, 1, 2, 1));

    memset(res, 0, sizeof *res);
    if (!trigger) {
        set_err(&res->err, HL7_E_REQUIRED_FIELD, "MSH", 9, 2, "no trigger event in MSH-9.2");
        return HL7_ACK_AR;
    }
    if (!strcmp(trigger, "A04"))
        return record_hl7_a04(conn, msg, opts->default_department, res, out);
    /* The other events of ADT_MAPPING.md §2 are being built (issue 11). */
    set_err(&res->err, HL7_E_UNSUPPORTED_TYPE, "MSH", 9, 2,
            "message type not yet applied by this build");
    return HL7_ACK_AE;
}
