/* SPDX-License-Identifier: MIT */
/* fhir_util.c: what the builders and parsers share: the code table of the vital signs, JSON
 * helpers, the ETag, and every refusal as an OperationOutcome (FHIR_MAPPING.md §7). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fhir_internal.h"

const struct fx_vital_code fx_vital_codes[] = {
    {FX_HEART_RATE, SYS_LOINC, "8867-4", "Heart rate", "heart_rate"},
    {FX_RESP_RATE, SYS_LOINC, "9279-1", "Respiratory rate", "resp_rate"},
    {FX_SPO2, SYS_LOINC, "2708-6", "Oxygen saturation in Arterial blood", "spo2"},
    {FX_SPO2, SYS_LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry",
     "spo2"},
    {FX_TEMPERATURE, SYS_LOINC, "8310-5", "Body temperature", "temperature_c"},
    {FX_TEMPERATURE, SYS_LOINC, "8331-1", "Oral temperature", "temperature_c"},
    {FX_BP_PANEL, SYS_LOINC, "85354-9", "Blood pressure panel with all children optional", NULL},
    {FX_BP_PANEL, SYS_LOINC, "55284-4", "Blood pressure systolic and diastolic", NULL},
    {FX_SYSTOLIC, SYS_LOINC, "8480-6", "Systolic blood pressure", "systolic_bp"},
    {FX_DIASTOLIC, SYS_LOINC, "8462-4", "Diastolic blood pressure", "diastolic_bp"},
    {FX_PAIN, SYS_LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
     "pain"},
    {FX_ACVPU, SYS_SNOMED, "1104441000000107",
     "ACVPU (alert, confusion, voice, pain, "
     "unresponsive) scale score",
     "consciousness"},
    {FX_O2_FLOW, SYS_LOINC, "3151-8", "Inhaled oxygen flow rate", "oxygen_l_min"},
    {FX_VITAL_COUNT, NULL, NULL, NULL, NULL},
};

json_t *fx_coding(const char *system, const char *code, const char *display)
{
    json_t *c = json_pack("{s:s,s:s}", "system", system, "code", code);
    fx_set_str(c, "display", display);
    return c;
}

json_t *fx_concept(const char *system, const char *code, const char *display, const char *text)
{
    json_t *cc = json_pack("{s:[o]}", "coding", fx_coding(system, code, display));
    fx_set_str(cc, "text", text);
    return cc;
}

json_t *fx_ref(const char *type, long long id, const char *display)
{
    char ref[96];
    json_t *r;

    snprintf(ref, sizeof ref, "%s/%lld", type, id);
    r = json_pack("{s:s}", "reference", ref);
    fx_set_str(r, "display", display);
    return r;
}

json_t *fx_quantity(double value, bool integral, const char *unit, const char *ucum)
{
    json_t *v = integral && value == floor(value) && fabs(value) < 1e15
                    ? json_integer((json_int_t)value)
                    : json_real(value);
    return json_pack("{s:o,s:s,s:s,s:s}", "value", v, "unit", unit, "system", SYS_UCUM, "code",
                     ucum);
}

bool fx_number(const json_t *obj, const char *key, double *out)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

long long fx_id(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (long long)json_integer_value(v) : 0;
}

const char *fx_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

void fx_set_str(json_t *obj, const char *key, const char *s)
{
    if (obj && s && s[0])
        json_object_set_new(obj, key, json_string(s));
}

/* YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm): the digits and separators only; the record's
 * schema (format date-time) checks the calendar afterwards. */
bool fx_is_instant(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i;

    if (!s)
        return false;
    for (i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return false;
    }
    if (s[i] == '.') {
        if (!isdigit((unsigned char)s[++i]))
            return false;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if (s[i] == 'Z')
        return s[i + 1] == '\0';
    if (s[i] != '+' && s[i] != '-')
        return false;
    return isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) &&
           s[i + 3] == ':' && isdigit((unsigned char)s[i + 4]) &&
           isdigit((unsigned char)s[i + 5]) && s[i + 6] == '\0';
}

void fhir_etag(long long version, char *buf, size_t size)
{
    snprintf(buf, size, "W/\"%lld\"", version);
}

/* ---- OperationOutcome ---- */

const char *fhir_issue_code(enum ed_code id)
{
    switch (id) {
    case ED_ERR_MALFORMED_JSON:
    case ED_ERR_UNKNOWN_FIELD:
    case ED_ERR_WRONG_TYPE:
        return "structure";
    case ED_ERR_MISSING_FIELD:
        return "required";
    case ED_ERR_OUT_OF_RANGE:
    case ED_ERR_INVALID_VALUE:
    case ED_ERR_INVALID_PARAMETER:
    case ED_ERR_INVALID_HEADER:
        return "value";
    case ED_ERR_TOO_LONG:
    case ED_ERR_BODY_TOO_LARGE:
        return "too-long";
    case ED_ERR_IMPLAUSIBLE_VALUE:
    case ED_ERR_IDEMPOTENCY_KEY_REUSED:
        return "business-rule";
    case ED_ERR_UNKNOWN_REFERENCE:
    case ED_ERR_NOT_FOUND:
        return "not-found";
    case ED_ERR_CONFLICT:
    case ED_ERR_VERSION_CONFLICT:
    case ED_ERR_IDEMPOTENCY_REPLAY:
        return "conflict";
    case ED_ERR_UNAUTHENTICATED:
    case ED_ERR_WRONG_CREDENTIALS:
    case ED_ERR_TOTP_REQUIRED:
    case ED_ERR_TOTP_INVALID:
        return "login";
    case ED_ERR_FORBIDDEN:
    case ED_ERR_ORIGIN_NOT_ALLOWED:
    case ED_ERR_ACCOUNT_DISABLED:
    case ED_ERR_SECOND_FACTOR_NOT_ENROLLED:
    case ED_ERR_ACCESS_ENDED:
        return "forbidden";
    case ED_ERR_METHOD_NOT_ALLOWED:
    case ED_ERR_UNSUPPORTED_MEDIA_TYPE:
    case ED_ERR_LENGTH_REQUIRED:
        return "not-supported";
    case ED_ERR_TOO_MANY_ATTEMPTS:
    case ED_ERR_TOO_MANY_SUBSCRIPTIONS:
        return "throttled";
    case ED_ERR_UNAVAILABLE:
        return "transient";
    case ED_ERR_SCHEMA_ERROR:
        return "exception";
    default:
        return "processing";
    }
}

json_t *fhir_operation_outcome(const struct ed_error *err)
{
    const char *code = err->code ? err->code : "unavailable";
    json_t *issue = json_pack("{s:s,s:s,s:{s:[o],s:s},s:s}", "severity", "error", "code",
                              fhir_issue_code(err->id), "details", "coding",
                              fx_coding(SYS_ED_ERROR, code, NULL), "text", code, "diagnostics",
                              err->message[0] ? err->message : code);

    if (err->field[0])
        json_object_set_new(issue, "expression", json_pack("[s]", err->field));
    return json_pack("{s:s,s:[o]}", "resourceType", "OperationOutcome", "issue", issue);
}

json_t *fhir_parse_json(const char *buf, size_t len, struct ed_error *err)
{
    json_error_t je;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);

    if (!doc) {
        ed_error_set(err, ED_ERR_MALFORMED_JSON, NULL, "not FHIR JSON: %s (line %d, column %d)",
                     je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        ed_error_set(err, ED_ERR_MALFORMED_JSON, NULL, "a FHIR resource is a JSON object");
        return NULL;
    }
    return doc;
}

void fhir_error_to_fhir(struct ed_error *err, const json_t *paths, const char *resource_type)
{
    const char *path;

    if (!err->field[0])
        return;
    path = fx_str(paths, err->field);
    if (!path) {
        /* a nested REST field (patient.family_name): its parent may be mapped */
        char parent[sizeof err->field];
        char *dot;
        snprintf(parent, sizeof parent, "%s", err->field);
        while (!path && (dot = strrchr(parent, '.'))) {
            *dot = '\0';
            path = fx_str(paths, parent);
        }
    }
    snprintf(err->field, sizeof err->field, "%s", path ? path : resource_type);
}

const char *fhir_path(char *buf, const char *prefix, const char *rest)
{
    if (snprintf(buf, FHIR_PATH_MAX, "%s.%s", prefix, rest) >= FHIR_PATH_MAX)
        buf[FHIR_PATH_MAX - 1] = '\0';
    return buf;
}
