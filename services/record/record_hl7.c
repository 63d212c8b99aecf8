/* SPDX-License-Identifier: MIT */
/* record_hl7.c: HL7 v2 ADT to REST bodies (record_hl7.h): the patient and the visit of an
 * A04 (§3.1, §3.2, §4.1, §4.4), times, and the helpers the other HL7 files share. Errors name
 * positions and rules, never values: they end up in ACKs and logs. */
#include "record_hl7_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *record_hl7_val(const char *s)
{
    return s && !hl7_is_null(s) ? s : NULL;
}

void record_hl7_set_err(struct hl7_error *e, enum hl7_err_code code, struct hl7_pos at,
                        const char *message)
{
    memset(e, 0, sizeof *e);
    e->code = code;
    snprintf(e->segment, sizeof e->segment, "%s", at.seg ? at.seg : "");
    e->seg_seq = at.seg && at.seg[0] ? (at.occ ? at.occ : 1) : 0;
    e->field = at.field;
    e->comp = at.comp;
    snprintf(e->message, sizeof e->message, "%.159s", message);
}

static void set_err(struct hl7_error *e, enum hl7_err_code code, const char *seg, unsigned field,
                    unsigned comp, const char *message)
{
    record_hl7_set_err(e, code, (struct hl7_pos){seg, 1, field, comp}, message);
}

void record_hl7_warn(struct record_hl7_result *res, enum hl7_err_code code, struct hl7_pos at,
                     const char *message)
{
    if (res->nwarnings < RECORD_HL7_MAX_WARNINGS)
        record_hl7_set_err(&res->warnings[res->nwarnings++], code, at, message);
}

static void warn(struct record_hl7_result *res, const char *seg, unsigned field,
                 const char *message)
{
    record_hl7_warn(res, HL7_E_DATA_TYPE, (struct hl7_pos){seg, 1, field, 0}, message);
}

size_t record_hl7_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

size_t record_hl7_utf8_prefix(const char *s, size_t max)
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
    const char *m = record_hl7_val(hl7_get(msg, "PV2", 1, 38, 1, 1, 1));
    const char *src = record_hl7_val(hl7_get(msg, "PV1", 1, 14, 1, 1, 1));
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

json_t *record_hl7_complaint(const struct hl7_msg *msg, bool *cut)
{
    const char *c = record_hl7_val(hl7_get(msg, "PV2", 1, 3, 1, 2, 1));
    unsigned nobx = hl7_segment_count(msg, "OBX");

    if (!c)
        c = record_hl7_val(hl7_get(msg, "PV2", 1, 3, 1, 1, 1));
    for (unsigned i = 1; !c && i <= nobx; i++) {
        const char *code = record_hl7_val(hl7_get(msg, "OBX", i, 3, 1, 1, 1));
        if (code && !strcmp(code, "8661-1"))
            c = record_hl7_val(hl7_get(msg, "OBX", i, 5, 1, 1, 1));
    }
    *cut = c && record_hl7_utf8_chars(c) > 200;
    if (!c)
        return NULL;
    return *cut ? json_stringn(c, record_hl7_utf8_prefix(c, 200)) : json_string(c);
}

/* PID-5 of the repetition typed L (legal), else the first. */
static unsigned legal_name(const struct hl7_msg *msg)
{
    unsigned reps = hl7_rep_count(msg, "PID", 1, 5);

    for (unsigned r = 1; r <= reps; r++) {
        const char *type = record_hl7_val(hl7_get(msg, "PID", 1, 5, r, 7, 1));
        if (type && !strcmp(type, "L"))
            return r;
    }
    return 1;
}

static bool add_names(const struct hl7_msg *msg, json_t *patient, struct record_hl7_result *res)
{
    unsigned rep = legal_name(msg);
    const char *family = record_hl7_val(hl7_get(msg, "PID", 1, 5, rep, 1, 1));
    const char *given = record_hl7_val(hl7_get(msg, "PID", 1, 5, rep, 2, 1));

    if ((family && record_hl7_utf8_chars(family) > 100) ||
        (given && record_hl7_utf8_chars(given) > 100)) {
        set_err(&res->err, HL7_E_DATA_TYPE, "PID", 5, 0, "a name is over 100 characters");
        return false;
    }
    if (family)
        json_object_set_new(patient, "family_name", json_string(family));
    if (given)
        json_object_set_new(patient, "given_name", json_string(given));
    return true;
}

static bool add_birth_date(const struct hl7_msg *msg, json_t *patient,
                           struct record_hl7_result *res)
{
    const char *birth = record_hl7_val(hl7_get(msg, "PID", 1, 7, 1, 1, 1));
    char date[11];

    if (!birth)
        return true;
    if (strlen(birth) < 8 || !digits(birth, 8) ||
        !real_date(num(birth, 4), num(birth + 4, 2), num(birth + 6, 2))) {
        set_err(&res->err, HL7_E_DATA_TYPE, "PID", 7, 0, "the birth date is not a real date");
        return false;
    }
    snprintf(date, sizeof date, "%.4s-%.2s-%.2s", birth, birth + 4, birth + 6);
    json_object_set_new(patient, "birth_date", json_string(date));
    return true;
}

static bool add_sex(const struct hl7_msg *msg, json_t *obj, struct record_hl7_result *res)
{
    const char *sex = record_hl7_val(hl7_get(msg, "PID", 1, 8, 1, 1, 1));
    const char *s = sex ? sex_code(sex) : NULL;

    if (sex && !s) {
        set_err(&res->err, HL7_E_TABLE_VALUE, "PID", 8, 0, "sex is not in table 0001");
        return false;
    }
    if (s)
        json_object_set_new(obj, "sex", json_string(s));
    return true;
}

/* §3.1: PID-3.1 of the first repetition typed MR, else of the first. */
const char *record_hl7_mrn(const struct hl7_msg *msg)
{
    unsigned reps = hl7_rep_count(msg, "PID", 1, 3);
    for (unsigned r = 1; r <= reps; r++) {
        const char *type = record_hl7_val(hl7_get(msg, "PID", 1, 3, r, 5, 1));
        if (type && !strcmp(type, "MR") && record_hl7_val(hl7_get(msg, "PID", 1, 3, r, 1, 1)))
            return hl7_get(msg, "PID", 1, 3, r, 1, 1);
    }
    return record_hl7_val(hl7_get(msg, "PID", 1, 3, 1, 1, 1));
}

json_t *record_hl7_patient(const struct hl7_msg *msg, struct record_hl7_result *res)
{
    const char *id = record_hl7_mrn(msg);
    json_t *patient;

    if (!id) {
        set_err(&res->err, HL7_E_REQUIRED_FIELD, "PID", 3, 0, "no patient identifier (PID-3)");
        return NULL;
    }
    if (strlen(id) > 64 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-") != strlen(id)) {
        set_err(&res->err, HL7_E_DATA_TYPE, "PID", 3, 0,
                "the MRN is not 1-64 letters, digits or '-'");
        return NULL;
    }
    patient = json_pack("{s:s}", "mrn", id);
    if (!add_names(msg, patient, res) || !add_birth_date(msg, patient, res) ||
        !add_sex(msg, patient, res)) {
        json_decref(patient);
        return NULL;
    }
    return patient;
}

static bool add_time(const struct hl7_msg *msg, json_t *body, struct record_hl7_result *res)
{
    static const struct {
        const char *seg;
        unsigned field;
    } from[] = {{"PV1", 44}, {"EVN", 6}, {"EVN", 2}, {"MSH", 7}};
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        const char *dtm = record_hl7_val(hl7_get(msg, from[i].seg, 1, from[i].field, 1, 1, 1));
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
        snprintf(res->time_segment, sizeof res->time_segment, "%s", from[i].seg);
        res->time_field = from[i].field;
        return true;
    }
    return true;
}

/* What every arrival body carries: arrived_at, arrival_mode, chief_complaint (§3.2). */
static bool add_visit(const struct hl7_msg *msg, json_t *body, struct record_hl7_result *res)
{
    bool cut;
    json_t *complaint = record_hl7_complaint(msg, &cut);

    if (!add_time(msg, body, res)) {
        json_decref(complaint);
        return false;
    }
    json_object_set_new(body, "arrival_mode", json_string(arrival_mode(msg)));
    if (!complaint) {
        warn(res, "PV2", 3, "no chief complaint given at registration");
        complaint = json_string("(not given at registration)");
    } else if (cut) {
        warn(res, "PV2", 3, "the chief complaint was cut to 200 characters");
    }
    json_object_set_new(body, "chief_complaint", complaint);
    return true;
}

json_t *record_hl7_arrival_body(const struct hl7_msg *msg, struct record_hl7_result *res)
{
    json_t *body, *patient;

    memset(res, 0, sizeof *res);
    if (!record_hl7_mrn(msg)) {
        res->unidentified = true;
        return NULL;
    }
    patient = record_hl7_patient(msg, res);
    if (!patient)
        return NULL;
    body = json_pack("{s:o}", "patient", patient);
    if (!add_visit(msg, body, res)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

json_t *record_hl7_unidentified_body(const struct hl7_msg *msg, struct record_hl7_result *res)
{
    json_t *body = json_object();

    memset(res, 0, sizeof *res);
    res->unidentified = true;
    if (!add_sex(msg, body, res) || !add_visit(msg, body, res)) {
        json_decref(body);
        return NULL;
    }
    return body;
}
