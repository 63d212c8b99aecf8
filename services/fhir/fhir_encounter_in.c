/* SPDX-License-Identifier: MIT */
/* fhir_encounter_in.c: POST Encounter as an arrival (FHIR_MAPPING.md §6): the Encounter and
 * its Patient as the body of POST /api/v1/departments/{id}/arrivals (or .../unidentified),
 * and what else it states (ESI, for an imported visit its disposition and departure) as the
 * writes that follow. Every refusal names the FHIR element. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_internal.h"

#define FHIR_PATH_MAX 128

struct enc_ctx {
    const struct fhir_parse_opts *opts;
    struct fhir_arrival_in *out;
    struct ed_error *err;
};

static bool drop_or_refuse(struct enc_ctx *c, const char *where)
{
    if (c->opts && c->opts->strict)
        return ed_error_set(c->err, ED_ERR_UNKNOWN_FIELD, where,
                            "edlive does not keep %s (sent without Prefer: handling=strict it "
                            "is left out)",
                            where);
    json_array_append_new(c->out->dropped, json_string(where));
    return true;
}

static void map(struct enc_ctx *c, const char *field, const char *where)
{
    json_object_set_new(c->out->paths, field, json_string(where));
}

static bool has_coding(const json_t *cc, const char *system, const char *code)
{
    size_t i;
    json_t *coding;

    json_array_foreach (json_object_get(cc, "coding"), i, coding) {
        const char *s = fx_str(coding, "system"), *k = fx_str(coding, "code");
        if (s && k && !strcmp(s, system) && (!code || !strcmp(k, code)))
            return true;
    }
    return false;
}

/* The code of the first coding of cc in system, or NULL. */
static const char *coding_code(const json_t *cc, const char *system)
{
    size_t i;
    json_t *coding;

    json_array_foreach (json_object_get(cc, "coding"), i, coding) {
        const char *s = fx_str(coding, "system");
        if (s && !strcmp(s, system))
            return fx_str(coding, "code");
    }
    return NULL;
}

/* ---- the patient ---- */

static bool element_in(const char *key, const char *const *known)
{
    for (size_t i = 0; known[i]; i++)
        if (!strcmp(key, known[i]))
            return true;
    return false;
}

/* The index of the MRN among Patient.identifier: the configured system, else type MR. */
static long mrn_index(const json_t *ids, const char *mrn_system)
{
    size_t i;
    json_t *id;

    json_array_foreach (ids, i, id) {
        const char *sys = fx_str(id, "system");
        if (mrn_system && sys && !strcmp(sys, mrn_system))
            return (long)i;
    }
    json_array_foreach (ids, i, id) {
        if (has_coding(json_object_get(id, "type"), SYS_ID_TYPE, "MR"))
            return (long)i;
    }
    return -1;
}

/* The official name (else the first one). */
static long name_index(const json_t *names)
{
    size_t i;
    json_t *n;

    json_array_foreach (names, i, n) {
        const char *use = fx_str(n, "use");
        if (use && !strcmp(use, "official"))
            return (long)i;
    }
    return json_array_size(names) ? 0 : -1;
}

static bool take_patient(struct enc_ctx *c, const json_t *pat, const char *where)
{
    static const char *const known[] = {"resourceType", "id",   "meta",   "text",      "identifier",
                                        "active",       "name", "gender", "birthDate", NULL};
    const json_t *ids = json_object_get(pat, "identifier"), *names = json_object_get(pat, "name");
    const char *gender = fx_str(pat, "gender"), *birth = fx_str(pat, "birthDate"), *key;
    json_t *patient = json_object(), *item;
    long mi = mrn_index(ids, c->opts ? c->opts->mrn_system : NULL), ni = name_index(names);
    char p[FHIR_PATH_MAX], q[FHIR_PATH_MAX], at[48];

    if (!fx_str(pat, "resourceType") || strcmp(fx_str(pat, "resourceType"), "Patient")) {
        json_decref(patient);
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, fhir_path(p, where, "resourceType"),
                            "the subject is a Patient");
    }
    if ((ids && !json_is_array(ids)) || (names && !json_is_array(names))) {
        json_decref(patient);
        return ed_error_set(c->err, ED_ERR_WRONG_TYPE,
                            fhir_path(p, where, ids && !json_is_array(ids) ? "identifier" : "name"),
                            "an array is expected");
    }
    if (mi < 0 && ni < 0 && !birth) {
        /* nobody can name them yet: an unidentified arrival (proto/README.md) */
        json_decref(patient);
        c->out->unidentified = true;
        if (gender) {
            json_object_set_new(c->out->body, "sex", json_string(gender));
            map(c, "sex", fhir_path(p, where, "gender"));
        }
        return true;
    }
    if (mi < 0) {
        json_decref(patient);
        return ed_error_set(c->err, ED_ERR_MISSING_FIELD, fhir_path(p, where, "identifier"),
                            "a named patient needs an MRN (an identifier of type MR%s%s); a "
                            "Patient with no name and no identifier arrives unidentified",
                            c->opts && c->opts->mrn_system ? " or system " : "",
                            c->opts && c->opts->mrn_system ? c->opts->mrn_system : "");
    }
    snprintf(at, sizeof at, "identifier[%ld]", mi);
    fhir_path(q, where, at);
    if (!json_is_string(json_object_get(json_array_get(ids, (size_t)mi), "value"))) {
        json_decref(patient);
        return ed_error_set(c->err, ED_ERR_MISSING_FIELD, fhir_path(p, q, "value"),
                            "the MRN identifier has no value");
    }
    json_object_set_new(patient, "mrn",
                        json_incref(json_object_get(json_array_get(ids, (size_t)mi), "value")));
    map(c, "patient.mrn", fhir_path(p, q, "value"));
    if (ni >= 0) {
        const json_t *name = json_array_get(names, (size_t)ni);
        const json_t *given = json_object_get(name, "given");
        snprintf(at, sizeof at, "name[%ld]", ni);
        fhir_path(q, where, at);
        if (json_is_string(json_object_get(name, "family"))) {
            json_object_set_new(patient, "family_name",
                                json_incref(json_object_get(name, "family")));
            map(c, "patient.family_name", fhir_path(p, q, "family"));
        }
        if (json_is_string(json_array_get(given, 0))) {
            json_object_set_new(patient, "given_name", json_incref(json_array_get(given, 0)));
            map(c, "patient.given_name", fhir_path(p, q, "given[0]"));
        }
        if (json_array_size(given) > 1 && !drop_or_refuse(c, fhir_path(p, q, "given[1]")))
            goto refused;
        if ((json_object_get(name, "prefix") || json_object_get(name, "suffix")) &&
            !drop_or_refuse(c, fhir_path(p, q, "prefix")))
            goto refused;
    }
    if (birth) {
        json_object_set_new(patient, "birth_date", json_string(birth));
        map(c, "patient.birth_date", fhir_path(p, where, "birthDate"));
    }
    if (gender) {
        json_object_set_new(patient, "sex", json_string(gender));
        map(c, "patient.sex", fhir_path(p, where, "gender"));
    }
    for (size_t i = 0; i < json_array_size(ids); i++) {
        snprintf(at, sizeof at, "identifier[%zu]", i);
        if ((long)i != mi && !drop_or_refuse(c, fhir_path(p, where, at)))
            goto refused;
    }
    for (size_t i = 0; i < json_array_size(names); i++) {
        snprintf(at, sizeof at, "name[%zu]", i);
        if ((long)i != ni && !drop_or_refuse(c, fhir_path(p, where, at)))
            goto refused;
    }
    json_object_foreach ((json_t *)pat, key, item) {
        if (!element_in(key, known) && !drop_or_refuse(c, fhir_path(p, where, key)))
            goto refused;
    }
    json_object_set_new(c->out->body, "patient", patient);
    return true;
refused:
    json_decref(patient);
    return false;
}

/* subject: Patient/<id>, a contained "#id", the caller's resolved Patient, or an identifier. */
static bool take_subject(struct enc_ctx *c, const json_t *enc, const json_t *patient)
{
    const json_t *subj = json_object_get(enc, "subject"), *contained, *item;
    const char *ref = fx_str(subj, "reference");
    const json_t *ident = json_object_get(subj, "identifier");
    char *end;
    size_t i;

    if (!json_is_object(subj))
        return ed_error_set(c->err, subj ? ED_ERR_WRONG_TYPE : ED_ERR_MISSING_FIELD,
                            "Encounter.subject", "an arrival names its patient");
    map(c, "patient", "Encounter.subject");
    if (patient)
        return take_patient(c, patient, "Patient");
    if (ref && ref[0] == '#') {
        contained = json_object_get(enc, "contained");
        json_array_foreach (contained, i, item) {
            const char *id = fx_str(item, "id");
            if (id && !strcmp(id, ref + 1)) {
                char where[FHIR_PATH_MAX];
                snprintf(where, sizeof where, "Encounter.contained[%zu]", i);
                return take_patient(c, item, where);
            }
        }
        return ed_error_set(c->err, ED_ERR_UNKNOWN_REFERENCE, "Encounter.subject.reference",
                            "no contained resource has this id");
    }
    if (ref && !strncmp(ref, "Patient/", 8) && ref[8] >= '1' && ref[8] <= '9') {
        long long id = strtoll(ref + 8, &end, 10);
        if (*end == '\0' && id > 0 && id < (1LL << 53)) {
            c->out->patient = id;
            return true;
        }
    }
    if (json_is_object(ident) && json_is_string(json_object_get(ident, "value"))) {
        const char *sys = fx_str(ident, "system");
        const char *want = c->opts ? c->opts->mrn_system : NULL;
        if (want && (!sys || strcmp(sys, want)))
            return ed_error_set(c->err, ED_ERR_INVALID_VALUE, "Encounter.subject.identifier.system",
                                "a patient is named by the MRN, system %s", want);
        json_object_set_new(c->out->body, "patient",
                            json_pack("{s:O}", "mrn", json_object_get(ident, "value")));
        map(c, "patient.mrn", "Encounter.subject.identifier.value");
        return true;
    }
    return ed_error_set(c->err, ED_ERR_INVALID_VALUE, "Encounter.subject",
                        "name the patient: Patient/<id>, a contained Patient (#id), or "
                        "identifier (the MRN)");
}

/* ---- the encounter ---- */

static bool take_arrival_mode(struct enc_ctx *c, const json_t *enc)
{
    static const char *const modes[] = {"walk_in",  "ambulance", "helicopter", "police",
                                        "transfer", "other",     NULL};
    const json_t *exts = json_object_get(enc, "extension"), *e;
    const json_t *src = json_object_get(json_object_get(enc, "hospitalization"), "admitSource");
    size_t i;

    json_array_foreach (exts, i, e) {
        const char *url = fx_str(e, "url");
        char where[FHIR_PATH_MAX];
        if (!url || strcmp(url, EXT_ARRIVAL))
            continue;
        snprintf(where, sizeof where, "Encounter.extension[%zu].valueCoding.code", i);
        const char *mode = fx_str(json_object_get(e, "valueCoding"), "code");
        if (!mode || !element_in(mode, modes))
            return ed_error_set(c->err, ED_ERR_INVALID_VALUE, where,
                                "the arrival mode is one of walk_in, ambulance, helicopter, "
                                "police, transfer, other");
        json_object_set_new(c->out->body, "arrival_mode", json_string(mode));
        map(c, "arrival_mode", where);
        return true;
    }
    /* without edlive's extension: a transfer when the admit source says so, else other */
    json_object_set_new(
        c->out->body, "arrival_mode",
        json_string(has_coding(src, SYS_ADMIT_SRC, "hosp-trans") ? "transfer" : "other"));
    map(c, "arrival_mode", "Encounter.hospitalization.admitSource");
    return true;
}

static bool take_complaint(struct enc_ctx *c, const json_t *enc)
{
    const json_t *reasons = json_object_get(enc, "reasonCode");
    const json_t *first = json_array_get(reasons, 0);
    const char *text = fx_str(first, "text");

    if (!text)
        text = fx_str(json_array_get(json_object_get(first, "coding"), 0), "display");
    if (!text)
        return ed_error_set(c->err, ED_ERR_MISSING_FIELD, "Encounter.reasonCode",
                            "an arrival states the chief complaint: reasonCode[0].text (or the "
                            "display of its first coding)");
    json_object_set_new(c->out->body, "chief_complaint", json_string(text));
    map(c, "chief_complaint",
        fx_str(first, "text") ? "Encounter.reasonCode[0].text"
                              : "Encounter.reasonCode[0].coding[0].display");
    if (json_array_size(reasons) > 1 && !drop_or_refuse(c, "Encounter.reasonCode[1]"))
        return false;
    return true;
}

static void add_write(struct enc_ctx *c, const char *route, json_t *body)
{
    json_array_append_new(c->out->writes, json_pack("{s:s,s:o}", "route", route, "body", body));
}

static bool take_priority(struct enc_ctx *c, const json_t *enc)
{
    const json_t *prio = json_object_get(enc, "priority");
    const char *esi = coding_code(prio, SYS_ED_ESI);

    if (!prio)
        return true;
    if (!esi) /* an ActPriority alone is not an ESI level */
        return drop_or_refuse(c, "Encounter.priority");
    if (strlen(esi) != 1 || esi[0] < '1' || esi[0] > '5')
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, "Encounter.priority",
                            "ESI is 1 (resuscitation) to 5 (non-urgent)");
    add_write(c, "triage", json_pack("{s:i}", "esi", esi[0] - '0'));
    map(c, "esi", "Encounter.priority");
    return true;
}

/* dischargeDisposition -> the record's disposition kind. */
static const char *disposition_kind(const json_t *cc)
{
    static const char *const fhir[][2] = {
        {"home", "discharge"}, {"alt-home", "discharge"}, {"other-hcf", "transfer"},
        {"hosp", "transfer"},  {"long", "transfer"},      {"aadvice", "ama"},
        {"exp", "deceased"},   {"psy", "transfer"},       {"rehab", "transfer"},
        {"snf", "transfer"},   {"oth", "other"},
    };
    const char *code = coding_code(cc, SYS_DISCHARGE), *nubc;

    if (has_coding(cc, SYS_SNOMED, "21541000119102"))
        return "lwbs";
    for (size_t i = 0; code && i < sizeof fhir / sizeof fhir[0]; i++)
        if (!strcmp(code, fhir[i][0]))
            return fhir[i][1];
    /* NUBC patient status (Synthea): 01 home, 02/05 transfer, 07 left against advice, 20 expired */
    nubc = coding_code(cc, "http://www.nubc.org/patient-discharge");
    if (nubc) {
        if (!strcmp(nubc, "01"))
            return "discharge";
        if (!strcmp(nubc, "07"))
            return "ama";
        if (!strcmp(nubc, "20"))
            return "deceased";
        if (!strcmp(nubc, "02") || !strcmp(nubc, "05"))
            return "transfer";
        return "other";
    }
    return "other";
}

static bool take_end(struct enc_ctx *c, const json_t *enc)
{
    const json_t *hosp = json_object_get(enc, "hospitalization");
    const json_t *dd = json_object_get(hosp, "dischargeDisposition");
    const char *end = fx_str(json_object_get(enc, "period"), "end");
    const char *dest = fx_str(json_object_get(hosp, "destination"), "display");
    json_t *disp;

    if (!end)
        return ed_error_set(c->err, ED_ERR_MISSING_FIELD, "Encounter.period.end",
                            "a finished encounter has an end");
    if (!fx_is_instant(end))
        return ed_error_set(c->err, ED_ERR_INVALID_VALUE, "Encounter.period.end",
                            "give the date and time to the second with a time zone");
    disp = json_pack("{s:s,s:s}", "kind", dd ? disposition_kind(dd) : "other", "decided_at", end);
    map(c, "kind", dd ? "Encounter.hospitalization.dischargeDisposition" : "Encounter.status");
    map(c, "decided_at", "Encounter.period.end");
    map(c, "departed_at", "Encounter.period.end");
    if (dest) {
        json_object_set_new(disp, "destination", json_string(dest));
        map(c, "destination", "Encounter.hospitalization.destination.display");
    }
    add_write(c, "disposition", disp);
    add_write(c, "departure", json_pack("{s:s}", "departed_at", end));
    return true;
}

void fhir_arrival_in_clear(struct fhir_arrival_in *in)
{
    json_decref(in->body);
    json_decref(in->writes);
    json_decref(in->paths);
    json_decref(in->dropped);
    memset(in, 0, sizeof *in);
}

bool fhir_arrival_from_encounter(const json_t *enc, const json_t *patient, bool allow_ended,
                                 const struct fhir_parse_opts *opts, struct fhir_arrival_in *out,
                                 struct ed_error *err)
{
    static const char *const known[] = {
        "resourceType", "id",       "meta",    "text",   "contained",  "extension",       "status",
        "class",        "priority", "subject", "period", "reasonCode", "hospitalization", NULL};
    struct enc_ctx c = {opts, out, err};
    const char *status = fx_str(enc, "status"), *start, *key;
    const json_t *cls = json_object_get(enc, "class"), *hosp, *item;
    bool ended;

    memset(out, 0, sizeof *out);
    out->body = json_object();
    out->writes = json_array();
    out->paths = json_object();
    out->dropped = json_array();
    if (!json_is_object(enc) || !fx_str(enc, "resourceType") ||
        strcmp(fx_str(enc, "resourceType"), "Encounter")) {
        ed_error_set(err, ED_ERR_INVALID_VALUE, "Encounter.resourceType",
                     "an arrival is an Encounter resource");
        goto refused;
    }
    if (!status) {
        ed_error_set(err, ED_ERR_MISSING_FIELD, "Encounter.status", "Encounter.status is required");
        goto refused;
    }
    ended = !strcmp(status, "finished");
    if (strcmp(status, "arrived") && strcmp(status, "triaged") && strcmp(status, "in-progress") &&
        !(ended && allow_ended)) {
        ed_error_set(err, ED_ERR_INVALID_VALUE, "Encounter.status",
                     ended ? "a finished visit is imported, not registered as an arrival"
                           : "an arrival is arrived, triaged or in-progress");
        goto refused;
    }
    if (!json_is_object(cls) || !fx_str(cls, "system") ||
        strcmp(fx_str(cls, "system"), SYS_ACT_CODE) || !fx_str(cls, "code") ||
        strcmp(fx_str(cls, "code"), "EMER")) {
        ed_error_set(err, cls ? ED_ERR_INVALID_VALUE : ED_ERR_MISSING_FIELD, "Encounter.class",
                     "edlive keeps emergency encounters: class " SYS_ACT_CODE "|EMER");
        goto refused;
    }
    if (!take_subject(&c, enc, patient))
        goto refused;
    if (!take_arrival_mode(&c, enc) || !take_complaint(&c, enc))
        goto refused;
    start = fx_str(json_object_get(enc, "period"), "start");
    if (start) {
        if (!fx_is_instant(start)) {
            ed_error_set(err, ED_ERR_INVALID_VALUE, "Encounter.period.start",
                         "give the date and time to the second with a time zone");
            goto refused;
        }
        json_object_set_new(out->body, "arrived_at", json_string(start));
        map(&c, "arrived_at", "Encounter.period.start");
    }
    if (out->unidentified) { /* arrival_unidentified.json has no patient member */
        json_object_del(out->body, "patient");
    }
    if (!ended && fx_str(json_object_get(enc, "period"), "end") &&
        !drop_or_refuse(&c, "Encounter.period.end"))
        goto refused;
    if (!take_priority(&c, enc))
        goto refused;
    if (ended && !take_end(&c, enc))
        goto refused;
    hosp = json_object_get(enc, "hospitalization");
    json_object_foreach ((json_t *)hosp, key, item) {
        char where[FHIR_PATH_MAX];
        if (!strcmp(key, "admitSource") ||
            (ended && (!strcmp(key, "dischargeDisposition") || !strcmp(key, "destination"))))
            continue;
        if (!drop_or_refuse(&c, fhir_path(where, "Encounter.hospitalization", key)))
            goto refused;
    }
    json_object_foreach ((json_t *)enc, key, item) {
        char where[FHIR_PATH_MAX];
        if (!element_in(key, known) && !drop_or_refuse(&c, fhir_path(where, "Encounter", key)))
            goto refused;
    }
    return true;
refused:
    fhir_arrival_in_clear(out);
    return false;
}
