/* SPDX-License-Identifier: MIT */
/* record_hl7_map.c: the code tables of ADT_MAPPING.md §4 as pure functions: ESI and vitals from
 * OBX, allergies from AL1, the discharge disposition of PV1-36, the PV1-3 location as text.
 * No database; errors name positions, never values. */
#include "record_hl7_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is(const char *s, const char *want)
{
    return s && !strcmp(s, want);
}

static const char *obx(const struct hl7_msg *msg, unsigned occ, unsigned field, unsigned comp)
{
    return record_hl7_val(hl7_get(msg, "OBX", occ, field, 1, comp, 1));
}

/* OBX-11 D (deleted), W (wrong), X (cannot be obtained): not a result to apply. */
static bool obx_withdrawn(const struct hl7_msg *msg, unsigned occ)
{
    const char *status = obx(msg, occ, 11, 1);
    return is(status, "D") || is(status, "W") || is(status, "X");
}

/* ---- §4.2 ESI ---- */

static int esi_value(const char *v)
{
    static const char *const loinc[] = {"LA21567-5", "LA21752-3", "LA21753-1", "LA21754-9",
                                        "LA21755-6"};
    if (v && strlen(v) == 1 && v[0] >= '1' && v[0] <= '5')
        return v[0] - '0';
    for (int i = 0; v && i < 5; i++)
        if (!strcmp(v, loinc[i]))
            return i + 1;
    return -1;
}

int record_hl7_esi(const struct hl7_msg *msg, unsigned *occ, struct hl7_error *err)
{
    unsigned n = hl7_segment_count(msg, "OBX");

    for (unsigned i = 1; i <= n; i++) {
        const char *code = obx(msg, i, 3, 1);
        int esi;

        if (!(is(code, "75636-1") || is(code, "11283-9")) || obx_withdrawn(msg, i))
            continue;
        *occ = i;
        esi = esi_value(obx(msg, i, 5, 1));
        if (esi < 0)
            record_hl7_set_err(err, HL7_E_TABLE_VALUE, (struct hl7_pos){"OBX", i, 5, 0},
                               "the ESI is not 1-5 nor a LOINC ESI answer");
        return esi;
    }
    return 0;
}

/* ---- §4.6 vitals ---- */

static const struct {
    const char *loinc, *field;
    bool integer;
    double max; /* the schema's bound where the record does not check plausibility */
} vitals_codes[] = {
    {"8867-4", "heart_rate", true, 0},     {"9279-1", "resp_rate", true, 0},
    {"8480-6", "systolic_bp", true, 0},    {"8462-4", "diastolic_bp", true, 0},
    {"2708-6", "spo2", true, 0},           {"59408-5", "spo2", true, 0},
    {"8310-5", "temperature_c", false, 0}, {"72514-3", "pain", true, 10},
    {"3151-8", "oxygen_l_min", false, 60},
};

#define N_VITALS_CODES (sizeof vitals_codes / sizeof vitals_codes[0])

static int vitals_code(const char *loinc)
{
    for (size_t i = 0; loinc && i < N_VITALS_CODES; i++)
        if (!strcmp(loinc, vitals_codes[i].loinc))
            return (int)i;
    return -1;
}

/* A decimal number, the whole text ("98.6", "-1", "120"). */
static bool number(const char *s, double *out)
{
    char *end;

    if (!s || !*s || strspn(s, "+-.0123456789") != strlen(s))
        return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

/* Celsius from OBX-6.1: Cel (or none) as is, [degF] converted; false for another unit. */
static bool celsius(const struct hl7_msg *msg, unsigned occ, double *v)
{
    const char *unit = obx(msg, occ, 6, 1);

    if (!unit || is(unit, "Cel") || is(unit, "C") || is(unit, "degC"))
        return true;
    if (!is(unit, "[degF]") && !is(unit, "degF") && !is(unit, "F"))
        return false;
    *v = round((*v - 32.0) * 5.0 / 9.0 * 10.0) / 10.0;
    return true;
}

/* One vitals OBX into body; false with err for a value that is not a number in range. */
static bool add_vital(const struct hl7_msg *msg, unsigned occ, int code, json_t *body,
                      struct hl7_error *err)
{
    struct hl7_pos at = {"OBX", occ, 5, 0};
    const char *type = obx(msg, occ, 2, 1);
    double v;

    if ((type && !is(type, "NM")) || !number(obx(msg, occ, 5, 1), &v)) {
        record_hl7_set_err(err, HL7_E_DATA_TYPE, at, "a vital sign that is not a number (NM)");
        return false;
    }
    if (!strcmp(vitals_codes[code].field, "temperature_c") && !celsius(msg, occ, &v)) {
        record_hl7_set_err(err, HL7_E_TABLE_VALUE, (struct hl7_pos){"OBX", occ, 6, 1},
                           "a temperature unit other than Cel or [degF]");
        return false;
    }
    if ((vitals_codes[code].integer && v != floor(v)) || v < 0 ||
        (vitals_codes[code].max > 0 && v > vitals_codes[code].max)) {
        record_hl7_set_err(err, HL7_E_DATA_TYPE, at, "a vital sign outside its range");
        return false;
    }
    if (vitals_codes[code].integer)
        json_object_set_new(body, vitals_codes[code].field, json_integer((json_int_t)v));
    else
        json_object_set_new(body, vitals_codes[code].field, json_real(v));
    if (!strcmp(vitals_codes[code].field, "oxygen_l_min"))
        json_object_set_new(body, "on_oxygen", json_boolean(v > 0));
    return true;
}

json_t *record_hl7_vitals_body(const struct hl7_msg *msg, unsigned *first_obx,
                               struct hl7_error *err)
{
    unsigned n = hl7_segment_count(msg, "OBX");
    json_t *body = json_object();

    memset(err, 0, sizeof *err);
    *first_obx = 0;
    for (unsigned i = 1; i <= n; i++) {
        int code = vitals_code(obx(msg, i, 3, 1));

        /* The first of a repeated code counts (a set is one reading of each). */
        if (code < 0 || obx_withdrawn(msg, i) || json_object_get(body, vitals_codes[code].field))
            continue;
        if (!add_vital(msg, i, code, body, err)) {
            json_decref(body);
            return NULL;
        }
        if (!*first_obx)
            *first_obx = i;
    }
    if (json_object_size(body) == 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

unsigned record_hl7_vitals_obx(const struct hl7_msg *msg, const char *field)
{
    unsigned n = hl7_segment_count(msg, "OBX");

    for (unsigned i = 1; i <= n; i++) {
        int code = vitals_code(obx(msg, i, 3, 1));
        if (code >= 0 && !obx_withdrawn(msg, i) && !strcmp(vitals_codes[code].field, field))
            return i;
    }
    return 0;
}

/* ---- §4.5 allergies ---- */

static const char *allergy_severity(const char *code)
{
    if (is(code, "SV"))
        return "severe";
    if (is(code, "MO"))
        return "moderate";
    if (is(code, "MI"))
        return "mild";
    return "unknown";
}

/* AL1-5's repetitions joined by ", ", cut to 200 characters; NULL when none. */
static json_t *allergy_reaction(const struct hl7_msg *msg, unsigned occ)
{
    unsigned reps = hl7_rep_count(msg, "AL1", occ, 5);
    char text[1024] = "";
    size_t len = 0;

    for (unsigned r = 1; r <= reps && len < sizeof text - 1; r++) {
        const char *v = record_hl7_val(hl7_get(msg, "AL1", occ, 5, r, 1, 1));
        int w;
        if (!v)
            continue;
        w = snprintf(text + len, sizeof text - len, "%s%s", len ? ", " : "", v);
        len = w < 0 ? len : len + (size_t)w;
    }
    if (len >= sizeof text)
        len = sizeof text - 1;
    if (!text[0])
        return NULL;
    return json_stringn(text, record_hl7_utf8_prefix(text, 200));
}

json_t *record_hl7_allergy_body(const struct hl7_msg *msg, unsigned occ, struct hl7_error *err)
{
    const char *code = record_hl7_val(hl7_get(msg, "AL1", occ, 3, 1, 1, 1));
    const char *text = record_hl7_val(hl7_get(msg, "AL1", occ, 3, 1, 2, 1));
    const char *substance = text ? text : code;
    json_t *body, *reaction;

    if (is(code, "NKA") || is(code, "NKDA"))
        return json_pack("{s:b}", "no_known_allergies", 1);
    if (!substance || record_hl7_utf8_chars(substance) > 100) {
        record_hl7_set_err(err, substance ? HL7_E_DATA_TYPE : HL7_E_REQUIRED_FIELD,
                           (struct hl7_pos){"AL1", occ, 3, 0},
                           "the allergen is missing or over 100 characters");
        return NULL;
    }
    body = json_pack("{s:s,s:s}", "substance", substance, "severity",
                     allergy_severity(record_hl7_val(hl7_get(msg, "AL1", occ, 4, 1, 1, 1))));
    reaction = allergy_reaction(msg, occ);
    if (reaction)
        json_object_set_new(body, "reaction", reaction);
    return body;
}

/* ---- §4.3 discharge disposition ---- */

const char *record_hl7_disposition_kind(const char *code, bool *unknown)
{
    static const struct {
        const char *codes, *kind;
    } table[] = {
        {" 01 06 08 ", "discharge"},
        {" 02 03 04 05 43 50 51 61 62 63 64 65 66 70 71 72 ", "transfer"},
        {" 07 ", "ama"},
        {" 09 ", "admit"},
        {" 20 40 41 42 ", "deceased"},
        {" LWBS ", "lwbs"},
        {" ELOPED ", "eloped"},
    };
    char key[16];

    *unknown = false;
    if (is(code, "30"))
        return NULL;
    snprintf(key, sizeof key, " %.12s ", code);
    /* A code is one word: "01 06" must not match two rows. */
    for (size_t i = 0;
         !strchr(code, ' ') && strlen(code) <= 12 && i < sizeof table / sizeof table[0]; i++)
        if (strstr(table[i].codes, key))
            return table[i].kind;
    *unknown = true;
    return "other";
}

void record_hl7_location_text(const struct hl7_msg *msg, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (unsigned c = 1; c <= 3; c++) {
        const char *v = record_hl7_val(hl7_get(msg, "PV1", 1, 3, 1, c, 1));
        int w;
        if (!v || len >= cap - 1)
            continue;
        w = snprintf(out + len, cap - len, "%s%s", len ? " " : "", v);
        len = w < 0 ? len : len + (size_t)w;
    }
    if (len >= cap)
        len = cap - 1;
    out[record_hl7_utf8_prefix(out, 100)] = '\0';
}
