/* SPDX-License-Identifier: MIT */
/* fhir_vitals.c: a vitals set as FHIR R4 Observations (vital-signs profile) with its NEWS2,
 * the patient's current NEWS2, and the way back: an Observation (or a Bundle of them) from a
 * monitor gateway as the body of POST /api/v1/encounters/{id}/vitals (FHIR_MAPPING.md §3, §6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_internal.h"

/* ---- builders ---- */

static const struct fx_vital_code *vital_code(enum fx_vital v)
{
    for (const struct fx_vital_code *c = fx_vital_codes; c->code; c++)
        if (c->vital == v)
            return c;
    return NULL;
}

static json_t *vital_concept(enum fx_vital v, const char *text)
{
    const struct fx_vital_code *c = vital_code(v);
    return fx_concept(c->system, c->code, c->display, text);
}

/* What every Observation of set vitals carries; suffix names it (<vitals id>-<suffix>). */
static json_t *observation(const json_t *vitals, long long patient_id, const char *suffix,
                           const char *category, const char *profile, json_t *code)
{
    const json_t *by = json_object_get(vitals, "taken_by");
    char id[64];
    json_t *o;

    snprintf(id, sizeof id, "%lld-%s", fx_id(vitals, "id"), suffix);
    o = json_pack("{s:s,s:s,s:{s:s},s:s,s:[o],s:o}", "resourceType", "Observation", "id", id,
                  "meta", "versionId", "1", "status", "final", "category",
                  fx_concept(SYS_OBS_CAT, category,
                             !strcmp(category, "vital-signs") ? "Vital Signs"
                             : !strcmp(category, "survey")    ? "Survey"
                                                              : "Exam",
                             NULL),
                  "code", code);
    if (profile) /* the R4 vital signs profile, and the one of this vital sign */
        json_object_set_new(json_object_get(o, "meta"), "profile",
                            json_pack("[s,s+]", PROF_VITALSIGNS, PROF_BASE, profile));
    if (patient_id > 0)
        json_object_set_new(o, "subject", fx_ref("Patient", patient_id, NULL));
    if (fx_id(vitals, "encounter_id"))
        json_object_set_new(o, "encounter",
                            fx_ref("Encounter", fx_id(vitals, "encounter_id"), NULL));
    fx_set_str(o, "effectiveDateTime", fx_str(vitals, "taken_at"));
    if (fx_id(by, "id"))
        json_object_set_new(
            o, "performer",
            json_pack("[o]", fx_ref("Practitioner", fx_id(by, "id"), fx_str(by, "name"))));
    return o;
}

static json_t *component(enum fx_vital v, json_t *value_quantity)
{
    return json_pack("{s:o,s:o}", "code", vital_concept(v, NULL), "valueQuantity", value_quantity);
}

/* The local ACVPU codes; A also as SNOMED "Mentally alert" (FHIR_MAPPING.md §3). */
static const struct {
    const char *letter, *text;
} acvpu[] = {{"A", "Alert"},
             {"C", "New confusion"},
             {"V", "Responds to voice"},
             {"P", "Responds to pain"},
             {"U", "Unresponsive"}};

static json_t *acvpu_value(const char *letter)
{
    for (size_t i = 0; i < sizeof acvpu / sizeof acvpu[0]; i++) {
        if (strcmp(letter, acvpu[i].letter))
            continue;
        json_t *cc = fx_concept(SYS_ED_VITALS, letter, acvpu[i].text, acvpu[i].text);
        if (letter[0] == 'A')
            json_array_append_new(json_object_get(cc, "coding"),
                                  fx_coding(SYS_SNOMED, "248234008", "Mentally alert"));
        return cc;
    }
    return NULL;
}

static void add_ref(json_t *refs, const json_t *obs)
{
    char ref[96];
    snprintf(ref, sizeof ref, "Observation/%s", fx_str(obs, "id"));
    json_array_append_new(refs, json_pack("{s:s}", "reference", ref));
}

/* NEWS2 sub-scores as components, SNOMED CT UK (ed-domain.md 3.2). keys: the score names of
 * the object they come from (a set's "scores", or the row's "subscores"). */
static json_t *news2_components(const json_t *scores, bool row_names, int scale)
{
    static const struct {
        const char *set_key, *row_key, *code, *display;
    } subs[] = {
        {"resp_rate", "resp_rate", "1104301000000104", "NEWS2 respiration rate score"},
        {"spo2", "spo2", "1104311000000102", "NEWS2 oxygen saturation scale 1 score"},
        {"on_oxygen", "air_or_oxygen", "1104331000000105", "NEWS2 air or oxygen score"},
        {"systolic_bp", "systolic_bp", "1104341000000101", "NEWS2 systolic blood pressure score"},
        {"heart_rate", "heart_rate", "1104351000000103", "NEWS2 pulse score"},
        {"consciousness", "consciousness", "1104361000000100", "NEWS2 consciousness score"},
        {"temperature_c", "temperature", "1104371000000107", "NEWS2 temperature score"},
    };
    json_t *out = json_array();

    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        const json_t *s = json_object_get(scores, row_names ? subs[i].row_key : subs[i].set_key);
        const char *code = subs[i].code, *display = subs[i].display;
        if (!json_is_integer(s))
            continue;
        if (i == 1 && scale == 2) {
            code = "1104321000000108";
            display = "NEWS2 oxygen saturation scale 2 score";
        }
        json_array_append_new(out, json_pack("{s:o,s:I}", "code",
                                             fx_concept(SYS_SNOMED, code, display, NULL),
                                             "valueInteger", json_integer_value(s)));
    }
    return out;
}

static json_t *news2_code(void)
{
    return fx_concept(SYS_SNOMED, SCT_NEWS2_TOTAL,
                      "Royal College of Physicians NEWS2 (National Early Warning Score 2) total "
                      "score",
                      "NEWS2 total score");
}

json_t *fhir_observations_from_vitals(const json_t *vitals, long long patient_id,
                                      const struct fhir_opts *opts)
{
    json_t *out = json_array(), *o, *refs = json_array(), *value;
    const json_t *news2 = json_object_get(vitals, "news2");
    const char *acvpu_letter = fx_str(vitals, "consciousness");
    double v, dia, flow;
    bool on_oxygen_known = json_is_boolean(json_object_get(vitals, "on_oxygen"));

    (void)opts;
    if (!fx_id(vitals, "id")) {
        json_decref(out);
        json_decref(refs);
        return NULL;
    }
    if (fx_number(vitals, "heart_rate", &v)) {
        o = observation(vitals, patient_id, "hr", "vital-signs", "heartrate",
                        vital_concept(FX_HEART_RATE, NULL));
        json_object_set_new(o, "valueQuantity", fx_quantity(v, true, "/min", "/min"));
        json_array_append_new(out, o);
    }
    if (fx_number(vitals, "resp_rate", &v)) {
        o = observation(vitals, patient_id, "rr", "vital-signs", "resprate",
                        vital_concept(FX_RESP_RATE, NULL));
        json_object_set_new(o, "valueQuantity", fx_quantity(v, true, "/min", "/min"));
        json_array_append_new(out, o);
    }
    if (fx_number(vitals, "spo2", &v)) {
        json_t *code = vital_concept(FX_SPO2, NULL), *comps = json_array();
        const struct fx_vital_code *ox = vital_code(FX_SPO2) + 1; /* 59408-5 */
        json_array_append_new(json_object_get(code, "coding"),
                              fx_coding(ox->system, ox->code, ox->display));
        o = observation(vitals, patient_id, "spo2", "vital-signs", "oxygensat", code);
        json_object_set_new(o, "valueQuantity", fx_quantity(v, true, "%", "%"));
        if (fx_number(vitals, "oxygen_l_min", &flow))
            json_array_append_new(comps,
                                  component(FX_O2_FLOW, fx_quantity(flow, true, "L/min", "L/min")));
        if (on_oxygen_known)
            json_array_append_new(
                comps,
                json_pack("{s:o,s:O}", "code",
                          fx_concept(SYS_ED_VITALS, "on-oxygen", "On supplemental oxygen", NULL),
                          "valueBoolean", json_object_get(vitals, "on_oxygen")));
        if (json_array_size(comps))
            json_object_set_new(o, "component", comps);
        else
            json_decref(comps);
        json_array_append_new(out, o);
    }
    if (fx_number(vitals, "temperature_c", &v)) {
        o = observation(vitals, patient_id, "temp", "vital-signs", "bodytemp",
                        vital_concept(FX_TEMPERATURE, NULL));
        json_object_set_new(o, "valueQuantity", fx_quantity(v, false, "Cel", "Cel"));
        json_array_append_new(out, o);
    }
    if (fx_number(vitals, "systolic_bp", &v)) {
        json_t *comps =
            json_pack("[o]", component(FX_SYSTOLIC, fx_quantity(v, true, "mmHg", "mm[Hg]")));
        if (fx_number(vitals, "diastolic_bp", &dia))
            json_array_append_new(
                comps, component(FX_DIASTOLIC, fx_quantity(dia, true, "mmHg", "mm[Hg]")));
        else /* a palpated systolic: the diastolic was not measured */
            json_array_append_new(comps,
                                  json_pack("{s:o,s:o}", "code", vital_concept(FX_DIASTOLIC, NULL),
                                            "dataAbsentReason",
                                            fx_concept("http://terminology.hl7.org/CodeSystem/"
                                                       "data-absent-reason",
                                                       "not-performed", "Not Performed",
                                                       "palpated systolic pressure")));
        o = observation(vitals, patient_id, "bp", "vital-signs", "bp",
                        vital_concept(FX_BP_PANEL, "Blood pressure"));
        json_object_set_new(o, "component", comps);
        json_array_append_new(out, o);
    }
    if (fx_number(vitals, "pain", &v)) {
        o = observation(vitals, patient_id, "pain", "vital-signs", NULL,
                        vital_concept(FX_PAIN, NULL));
        json_object_set_new(o, "valueQuantity", fx_quantity(v, true, "{score}", "{score}"));
        json_array_append_new(out, o);
    }
    if (acvpu_letter && (value = acvpu_value(acvpu_letter))) {
        o = observation(vitals, patient_id, "acvpu", "exam", NULL,
                        vital_concept(FX_ACVPU, "ACVPU"));
        json_object_set_new(o, "valueCodeableConcept", value);
        json_array_append_new(out, o);
    }
    /* The set's own NEWS2, from the Observations above (all of them: each parameter it
     * scores is one of them; pain is not scored but is part of the same set). */
    if (json_is_object(news2) && json_is_integer(json_object_get(news2, "total"))) {
        size_t i;
        json_array_foreach (out, i, o) {
            if (strstr(fx_str(o, "id"), "-pain") == NULL)
                add_ref(refs, o);
        }
        o = observation(vitals, patient_id, "news2", "survey", NULL, news2_code());
        json_object_set_new(o, "valueInteger",
                            json_integer(json_integer_value(json_object_get(news2, "total"))));
        json_object_set_new(
            o, "component",
            news2_components(json_object_get(news2, "scores"), false, (int)fx_id(news2, "scale")));
        if (json_array_size(refs))
            json_object_set_new(o, "derivedFrom", json_incref(refs));
        json_array_append_new(out, o);
    }
    json_decref(refs);
    return out;
}

/* The Observation suffix of each NEWS2 input (the row's news2.inputs keys). */
static const char *input_suffix(const char *field)
{
    static const char *const map[][2] = {
        {"resp_rate", "rr"},       {"spo2", "spo2"},     {"on_oxygen", "spo2"},
        {"systolic_bp", "bp"},     {"heart_rate", "hr"}, {"consciousness", "acvpu"},
        {"temperature_c", "temp"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(field, map[i][0]))
            return map[i][1];
    return NULL;
}

/* The set in chart.vitals (newest first) that gave input: the same taken_at and the field
 * taken (the latest such set: the record's rule, proto/EARLY_WARNING.md). */
static long long input_set(const json_t *vitals, const char *field, const char *taken_at)
{
    size_t i;
    json_t *v;

    json_array_foreach (vitals, i, v) {
        const json_t *value = json_object_get(v, field);
        const char *at = fx_str(v, "taken_at");
        if (at && taken_at && !strcmp(at, taken_at) && value && !json_is_null(value))
            return fx_id(v, "id");
    }
    return 0;
}

json_t *fhir_observation_news2_current(const json_t *chart, const struct fhir_opts *opts)
{
    const json_t *row = json_object_get(chart, "encounter");
    const json_t *news2 = json_object_get(row, "news2"), *inputs = json_object_get(news2, "inputs");
    long long enc = fx_id(row, "encounter_id");
    const char *system = fx_str(news2, "system"), *key;
    json_t *o, *refs = json_array(), *input, *seen = json_object();
    char id[48], ver[32];

    (void)opts;
    if (!enc || !json_is_integer(json_object_get(news2, "total")) ||
        (system && strcmp(system, "news2"))) {
        json_decref(refs);
        json_decref(seen);
        return NULL;
    }
    snprintf(id, sizeof id, "news2-%lld", enc);
    snprintf(ver, sizeof ver, "%lld", fx_id(row, "version"));
    o = json_pack("{s:s,s:s,s:{s:s},s:s,s:[o],s:o}", "resourceType", "Observation", "id", id,
                  "meta", "versionId", ver, "status", "final", "category",
                  fx_concept(SYS_OBS_CAT, "survey", "Survey", NULL), "code", news2_code());
    if (fx_id(json_object_get(row, "patient"), "id"))
        json_object_set_new(o, "subject",
                            fx_ref("Patient", fx_id(json_object_get(row, "patient"), "id"), NULL));
    json_object_set_new(o, "encounter", fx_ref("Encounter", enc, NULL));
    fx_set_str(o, "effectiveDateTime", fx_str(news2, "taken_at"));
    json_object_set_new(o, "valueInteger",
                        json_integer(json_integer_value(json_object_get(news2, "total"))));
    json_object_set_new(
        o, "component",
        news2_components(json_object_get(news2, "subscores"), true, (int)fx_id(news2, "scale")));
    json_object_foreach ((json_t *)inputs, key, input) {
        const char *suffix = input_suffix(key);
        long long set =
            suffix ? input_set(json_object_get(chart, "vitals"), key, fx_str(input, "taken_at"))
                   : 0;
        char ref[96];
        if (!set)
            continue;
        snprintf(ref, sizeof ref, "Observation/%lld-%s", set, suffix);
        if (json_object_get(seen, ref))
            continue; /* SpO2 and the oxygen flag are one Observation */
        json_object_set_new(seen, ref, json_true());
        json_array_append_new(refs, json_pack("{s:s}", "reference", ref));
    }
    json_decref(seen);
    if (json_array_size(refs))
        json_object_set_new(o, "derivedFrom", refs);
    else
        json_decref(refs);
    if (json_is_false(json_object_get(news2, "complete")))
        json_object_set_new(
            o, "note",
            json_pack("[{s:s}]", "text", "incomplete: a parameter has no reading in the window"));
    return o;
}

/* ---- parsers ---- */

struct vitals_ctx {
    const struct fhir_parse_opts *opts;
    struct fhir_vitals_in *out;
    struct ed_error *err;
    const char *encounter_ref; /* the first Observation's, to compare the others with */
    const char *performer_ref;
    const char *effective;
};

/* The id of a literal reference "<Type>/<digits>" (a full URL ending so, too); 0 otherwise. */
static long long ref_id(const json_t *ref, const char *type)
{
    const char *r = fx_str(ref, "reference"), *p;
    size_t tl = strlen(type);
    char *end;
    long long id;

    if (!r)
        return 0;
    p = strstr(r, type);
    while (p && !(p[tl] == '/' && (p == r || p[-1] == '/')))
        p = strstr(p + 1, type);
    if (!p || p[tl + 1] < '1' || p[tl + 1] > '9')
        return 0;
    id = strtoll(p + tl + 1, &end, 10);
    return *end == '\0' && id > 0 && id < (1LL << 53) ? id : 0;
}

static bool drop_or_refuse(struct vitals_ctx *c, const char *where)
{
    if (c->opts && c->opts->strict)
        return ed_error_set(c->err, ED_ERR_UNKNOWN_FIELD, where,
                            "edlive does not keep %s (sent without Prefer: handling=strict it "
                            "is left out)",
                            where);
    json_array_append_new(c->out->dropped, json_string(where));
    return true;
}

/* The code of cc that edlive keeps, or NULL. */
static const struct fx_vital_code *find_code(const json_t *cc)
{
    size_t i;
    json_t *coding;

    json_array_foreach (json_object_get(cc, "coding"), i, coding) {
        const char *sys = fx_str(coding, "system"), *code = fx_str(coding, "code");
        for (const struct fx_vital_code *k = fx_vital_codes; sys && code && k->code; k++)
            if (!strcmp(sys, k->system) && !strcmp(code, k->code))
                return k;
    }
    return NULL;
}

static bool unit_is(const json_t *q, const char *const *units)
{
    const char *code = fx_str(q, "code"), *unit = fx_str(q, "unit");
    const char *u = code ? code : unit;

    if (!u)
        return units[0] == NULL || !strcmp(units[0], "{score}"); /* a score may be unitless */
    for (size_t i = 0; units[i]; i++)
        if (!strcmp(u, units[i]))
            return true;
    return false;
}

/* Sets field to value once per set; the path of its value goes to paths. */
static bool set_field(struct vitals_ctx *c, const char *field, json_t *value, const char *where)
{
    if (json_object_get(c->out->body, field)) {
        json_decref(value);
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, where,
                            "a second %s in one vitals set: send each vital sign once", field);
    }
    json_object_set_new(c->out->body, field, value);
    json_object_set_new(c->out->paths, field, json_string(where));
    return true;
}

/* valueQuantity at q (path where) of vital k into its field, checking the unit. */
static bool take_quantity(struct vitals_ctx *c, const struct fx_vital_code *k, const json_t *q,
                          const char *where)
{
    static const char *const per_min[] = {"/min", "{beats}/min", "{breaths}/min", NULL};
    static const char *const percent[] = {"%", NULL};
    static const char *const temp[] = {"Cel", "[degF]", NULL};
    static const char *const mmhg[] = {"mm[Hg]", "mmHg", NULL};
    static const char *const score[] = {"{score}", "{Score}", "1", NULL};
    static const char *const flow[] = {"L/min", NULL};
    const char *const *units = k->vital == FX_SPO2                                   ? percent
                               : k->vital == FX_TEMPERATURE                          ? temp
                               : k->vital == FX_SYSTOLIC || k->vital == FX_DIASTOLIC ? mmhg
                               : k->vital == FX_PAIN                                 ? score
                               : k->vital == FX_O2_FLOW                              ? flow
                                                                                     : per_min;
    const json_t *value = json_object_get(q, "value");
    char p[FHIR_PATH_MAX];
    double v;

    if (!json_is_object(q))
        return ed_error_set(c->err, ED_ERR_WRONG_TYPE, where, "a Quantity is an object");
    if (!json_is_number(value))
        return ed_error_set(c->err, value ? ED_ERR_WRONG_TYPE : ED_ERR_MISSING_FIELD,
                            fhir_path(p, where, "value"), "%s needs a numeric value", k->display);
    if (!unit_is(q, units))
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "code"),
                            "%s is recorded in %s (UCUM)", k->display, units[0]);
    v = json_number_value(value);
    if (k->vital == FX_TEMPERATURE && unit_is(q, (const char *const[]){"[degF]", NULL}))
        v = round((v - 32.0) * 5.0 / 9.0 * 100.0) / 100.0;
    return set_field(c, k->field,
                     json_is_integer(value) && k->vital != FX_TEMPERATURE
                         ? json_integer(json_integer_value(value))
                         : json_real(v),
                     fhir_path(p, where, "value"));
}

static bool take_acvpu(struct vitals_ctx *c, const json_t *cc, const char *where)
{
    size_t i;
    json_t *coding;

    json_array_foreach (json_object_get(cc, "coding"), i, coding) {
        const char *sys = fx_str(coding, "system"), *code = fx_str(coding, "code");
        if (!sys || !code)
            continue;
        if (!strcmp(sys, SYS_SNOMED) && !strcmp(code, "248234008"))
            return set_field(c, "consciousness", json_string("A"), where);
        if (!strcmp(sys, SYS_ED_VITALS))
            for (size_t j = 0; j < sizeof acvpu / sizeof acvpu[0]; j++)
                if (!strcmp(code, acvpu[j].letter))
                    return set_field(c, "consciousness", json_string(code), where);
    }
    return ed_error_set(c->err, ED_ERR_INVALID_VALUE, where,
                        "ACVPU is one of A, C, V, P, U (" SYS_ED_VITALS ") or SNOMED 248234008");
}

/* True when cc has a coding system|code. */
static bool has_coding(const json_t *cc, const char *system, const char *code)
{
    size_t i;
    json_t *coding;

    json_array_foreach (json_object_get(cc, "coding"), i, coding) {
        const char *s = fx_str(coding, "system"), *k = fx_str(coding, "code");
        if (s && k && !strcmp(s, system) && !strcmp(k, code))
            return true;
    }
    return false;
}

/* The components of the blood pressure panel or of SpO2. */
static bool take_components(struct vitals_ctx *c, const json_t *comps, const char *where, bool bp)
{
    size_t i;
    json_t *comp;
    char p[FHIR_PATH_MAX], q[FHIR_PATH_MAX];

    if (comps && !json_is_array(comps))
        return ed_error_set(c->err, ED_ERR_WRONG_TYPE, fhir_path(p, where, "component"),
                            "component is an array");
    json_array_foreach (comps, i, comp) {
        const struct fx_vital_code *k = find_code(json_object_get(comp, "code"));
        const json_t *cc = json_object_get(comp, "code");
        char at[48];
        snprintf(at, sizeof at, "component[%zu]", i);
        fhir_path(p, where, at);
        if (!json_object_get(comp, "valueQuantity") && !json_object_get(comp, "valueBoolean")) {
            if (json_object_get(comp, "dataAbsentReason"))
                continue; /* not taken */
            return ed_error_set(c->err, ED_ERR_MISSING_FIELD, fhir_path(q, p, "valueQuantity"),
                                "a component has a value or a dataAbsentReason");
        }
        if (bp && k && (k->vital == FX_SYSTOLIC || k->vital == FX_DIASTOLIC)) {
            if (!take_quantity(c, k, json_object_get(comp, "valueQuantity"),
                               fhir_path(q, p, "valueQuantity")))
                return false;
        } else if (!bp && k && k->vital == FX_O2_FLOW) {
            if (!take_quantity(c, k, json_object_get(comp, "valueQuantity"),
                               fhir_path(q, p, "valueQuantity")))
                return false;
        } else if (!bp && json_is_boolean(json_object_get(comp, "valueBoolean")) &&
                   has_coding(cc, SYS_ED_VITALS, "on-oxygen")) {
            if (!set_field(c, "on_oxygen", json_incref(json_object_get(comp, "valueBoolean")),
                           fhir_path(q, p, "valueBoolean")))
                return false;
        } else if (!drop_or_refuse(c, p)) {
            return false;
        }
    }
    return true;
}

static bool check_same(struct vitals_ctx *c, const char **first, const char *value,
                       const char *where, const char *what)
{
    if (!*first) {
        *first = value ? value : "";
        return true;
    }
    if (strcmp(*first, value ? value : ""))
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, where,
                            "every Observation of one vitals set has the same %s", what);
    return true;
}

/* Top-level Observation elements edlive reads; anything else is dropped (or refused). */
static bool observation_element_known(const char *key)
{
    static const char *const known[] = {"resourceType", "id",
                                        "meta",         "text",
                                        "status",       "category",
                                        "code",         "subject",
                                        "encounter",    "effectiveDateTime",
                                        "performer",    "valueQuantity",
                                        "valueInteger", "valueCodeableConcept",
                                        "component",    NULL};
    for (size_t i = 0; known[i]; i++)
        if (!strcmp(key, known[i]))
            return true;
    return false;
}

static bool take_observation(struct vitals_ctx *c, const json_t *obs, const char *where)
{
    const char *type = fx_str(obs, "resourceType"), *status = fx_str(obs, "status"), *key;
    const json_t *code = json_object_get(obs, "code"), *perf = json_object_get(obs, "performer");
    const json_t *enc = json_object_get(obs, "encounter"), *subj = json_object_get(obs, "subject");
    const json_t *eff = json_object_get(obs, "effectiveDateTime"), *value;
    const struct fx_vital_code *k;
    long long taken_by = 0, encounter, patient = 0;
    char p[FHIR_PATH_MAX];
    size_t i;
    json_t *item;

    if (!json_is_object(obs))
        return ed_error_set(c->err, ED_ERR_WRONG_TYPE, where, "a resource is a JSON object");
    if (!type || strcmp(type, "Observation"))
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "resourceType"),
                            "vital signs are Observation resources");
    if (!status)
        return ed_error_set(c->err, ED_ERR_MISSING_FIELD, fhir_path(p, where, "status"),
                            "Observation.status is required");
    if (strcmp(status, "final") && strcmp(status, "amended") && strcmp(status, "corrected"))
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "status"),
                            "a vitals set is recorded as final (or amended, corrected)");
    if (!json_is_object(code))
        return ed_error_set(c->err, code ? ED_ERR_WRONG_TYPE : ED_ERR_MISSING_FIELD,
                            fhir_path(p, where, "code"), "Observation.code is required");
    k = find_code(code);
    if (!k || k->vital == FX_O2_FLOW)
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "code"),
                            "not a vital sign edlive keeps: LOINC 8867-4, 9279-1, 2708-6, "
                            "59408-5, 8310-5, 8331-1, 85354-9, 55284-4, 8480-6, 8462-4, "
                            "72514-3, or SNOMED 1104441000000107 (ACVPU)");
    /* the encounter it belongs to, who took it, when */
    encounter = ref_id(enc, "Encounter");
    if (!encounter)
        return ed_error_set(c->err, enc ? ED_ERR_INVALID_VALUE : ED_ERR_MISSING_FIELD,
                            fhir_path(p, where, "encounter"),
                            "vital signs are recorded on an encounter: Encounter/<id>");
    if (!check_same(c, &c->encounter_ref, fx_str(enc, "reference"),
                    fhir_path(p, where, "encounter"), "encounter"))
        return false;
    if (subj && !(patient = ref_id(subj, "Patient")))
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "subject"),
                            "the subject is the encounter's patient: Patient/<id>");
    if (json_is_array(perf))
        json_array_foreach (perf, i, item) {
            if ((taken_by = ref_id(item, "Practitioner")))
                break;
        }
    if (!taken_by)
        return ed_error_set(c->err, perf ? ED_ERR_INVALID_VALUE : ED_ERR_MISSING_FIELD,
                            fhir_path(p, where, "performer"),
                            "name who took the observations: a performer Practitioner/<id> "
                            "(a monitor goes in Observation.device)");
    if (!check_same(c, &c->performer_ref, fx_str(json_array_get(perf, i), "reference"),
                    fhir_path(p, where, "performer"), "performer"))
        return false;
    if (eff && !fx_is_instant(json_string_value(eff)))
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "effectiveDateTime"),
                            "give the date and time to the second with a time zone");
    if (!check_same(c, &c->effective, json_string_value(eff),
                    fhir_path(p, where, "effectiveDateTime"), "effectiveDateTime"))
        return false;
    if (c->out->encounter && c->out->encounter != encounter)
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "encounter"),
                            "every Observation of one vitals set has the same encounter");
    c->out->encounter = encounter;
    if (patient)
        c->out->patient = patient;
    if (!json_object_get(c->out->body, "taken_by")) {
        json_object_set_new(c->out->body, "taken_by", json_integer(taken_by));
        json_object_set_new(c->out->paths, "taken_by",
                            json_string(fhir_path(p, where, "performer")));
        if (eff) {
            json_object_set_new(c->out->body, "taken_at", json_incref((json_t *)eff));
            json_object_set_new(c->out->paths, "taken_at",
                                json_string(fhir_path(p, where, "effectiveDateTime")));
        }
    }
    /* the value */
    if (k->vital == FX_BP_PANEL) {
        if (!take_components(c, json_object_get(obs, "component"), where, true))
            return false;
    } else if (k->vital == FX_ACVPU) {
        value = json_object_get(obs, "valueCodeableConcept");
        if (!json_is_object(value))
            return ed_error_set(c->err, ED_ERR_MISSING_FIELD,
                                fhir_path(p, where, "valueCodeableConcept"),
                                "ACVPU is a valueCodeableConcept");
        if (!take_acvpu(c, value, fhir_path(p, where, "valueCodeableConcept")))
            return false;
    } else if (k->vital == FX_PAIN && json_object_get(obs, "valueInteger")) {
        value = json_object_get(obs, "valueInteger");
        if (!set_field(c, "pain", json_incref((json_t *)value),
                       fhir_path(p, where, "valueInteger")))
            return false;
    } else if (k->vital == FX_SYSTOLIC || k->vital == FX_DIASTOLIC || k->vital == FX_HEART_RATE ||
               k->vital == FX_RESP_RATE || k->vital == FX_SPO2 || k->vital == FX_TEMPERATURE ||
               k->vital == FX_PAIN) {
        value = json_object_get(obs, "valueQuantity");
        if (!value)
            return ed_error_set(c->err, ED_ERR_MISSING_FIELD, fhir_path(p, where, "valueQuantity"),
                                "%s needs a valueQuantity", k->display);
        if (!take_quantity(c, k, value, fhir_path(p, where, "valueQuantity")))
            return false;
        if (k->vital == FX_SPO2 &&
            !take_components(c, json_object_get(obs, "component"), where, false))
            return false;
    }
    if (k->vital != FX_BP_PANEL && k->vital != FX_SPO2 && json_object_get(obs, "component") &&
        !drop_or_refuse(c, fhir_path(p, where, "component")))
        return false;
    json_object_foreach ((json_t *)obs, key, item) {
        if (!observation_element_known(key) && !drop_or_refuse(c, fhir_path(p, where, key)))
            return false;
    }
    return true;
}

/* After every Observation: what the record needs that a FHIR client may leave implicit. */
static bool finish_vitals(struct vitals_ctx *c, const char *where)
{
    double flow;
    const char *measured[] = {"heart_rate",    "resp_rate", "systolic_bp",
                              "diastolic_bp",  "spo2",      "temperature_c",
                              "consciousness", "pain",      NULL};
    bool any = false;

    for (size_t i = 0; measured[i]; i++)
        any = any || json_object_get(c->out->body, measured[i]) != NULL;
    if (!any)
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, where,
                            "no vital sign edlive keeps was given a value");
    /* the record's rule (proto/http/vitals.json): a systolic alone is a palpated pressure, a
     * diastolic alone is not a measurement */
    if (json_object_get(c->out->body, "diastolic_bp") &&
        !json_object_get(c->out->body, "systolic_bp"))
        return ed_error_set(c->err, ED_ERR_MISSING_FIELD, fx_str(c->out->paths, "diastolic_bp"),
                            "a diastolic pressure needs its systolic (LOINC 8480-6) in the same "
                            "set");
    /* an oxygen flow without the flag: flowing oxygen is supplemental oxygen */
    if (!json_object_get(c->out->body, "on_oxygen") &&
        fx_number(c->out->body, "oxygen_l_min", &flow)) {
        json_object_set_new(c->out->body, "on_oxygen", json_boolean(flow > 0));
        json_object_set_new(c->out->paths, "on_oxygen",
                            json_incref(json_object_get(c->out->paths, "oxygen_l_min")));
    }
    return true;
}

static void vitals_init(struct fhir_vitals_in *out)
{
    memset(out, 0, sizeof *out);
    out->body = json_object();
    out->paths = json_object();
    out->dropped = json_array();
}

void fhir_vitals_in_clear(struct fhir_vitals_in *in)
{
    json_decref(in->body);
    json_decref(in->paths);
    json_decref(in->dropped);
    memset(in, 0, sizeof *in);
}

bool fhir_vitals_from_observation(const json_t *obs, const struct fhir_parse_opts *opts,
                                  struct fhir_vitals_in *out, struct ed_error *err)
{
    struct vitals_ctx c = {opts, out, err, NULL, NULL, NULL};

    vitals_init(out);
    if (take_observation(&c, obs, "Observation") && finish_vitals(&c, "Observation"))
        return true;
    fhir_vitals_in_clear(out);
    return false;
}

bool fhir_vitals_from_bundle(const json_t *bundle, const struct fhir_parse_opts *opts,
                             struct fhir_vitals_in *out, struct ed_error *err)
{
    struct vitals_ctx c = {opts, out, err, NULL, NULL, NULL};
    const char *type = fx_str(bundle, "type"), *key;
    const json_t *entries = json_object_get(bundle, "entry");
    size_t i;
    json_t *e;

    vitals_init(out);
    if (!fx_str(bundle, "resourceType") || strcmp(fx_str(bundle, "resourceType"), "Bundle")) {
        ed_error_set(err, ED_ERR_INVALID_VALUE, "Bundle.resourceType", "expected a Bundle");
        goto refused;
    }
    if (!type ||
        (strcmp(type, "batch") && strcmp(type, "transaction") && strcmp(type, "collection"))) {
        ed_error_set(err, type ? ED_ERR_INVALID_VALUE : ED_ERR_MISSING_FIELD, "Bundle.type",
                     "a vitals set comes as a batch, transaction or collection Bundle");
        goto refused;
    }
    if (!json_is_array(entries) || !json_array_size(entries)) {
        ed_error_set(err, entries ? ED_ERR_INVALID_VALUE : ED_ERR_MISSING_FIELD, "Bundle.entry",
                     "the Bundle holds the Observations of one vitals set");
        goto refused;
    }
    json_array_foreach (entries, i, e) {
        char where[FHIR_PATH_MAX];
        snprintf(where, sizeof where, "Bundle.entry[%zu].resource", i);
        if (!take_observation(&c, json_object_get(e, "resource"), where))
            goto refused;
    }
    json_object_foreach ((json_t *)bundle, key, e) {
        char where[FHIR_PATH_MAX];
        if (!strcmp(key, "resourceType") || !strcmp(key, "type") || !strcmp(key, "entry") ||
            !strcmp(key, "id") || !strcmp(key, "meta"))
            continue;
        if (!drop_or_refuse(&c, fhir_path(where, "Bundle", key)))
            goto refused;
    }
    if (finish_vitals(&c, "Bundle.entry"))
        return true;
refused:
    fhir_vitals_in_clear(out);
    return false;
}
