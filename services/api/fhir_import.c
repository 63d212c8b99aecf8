/* SPDX-License-Identifier: MIT */
/* fhir_import.c: POST /fhir/R4 with a transaction Bundle of a patient's record (a Synthea
 * export; issue 12, proto/fhir/FHIR_MAPPING.md §6): the emergency encounters with their
 * patient, triage, vital signs, disposition and departure as one record batch, and a
 * transaction-response listing what is not kept. Called from fhir_routes.c. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "fhir.h"
#include "fhir_routes_internal.h"
#include "log.h"
#include "schema.h"

static const char *str_of(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

/* ---- POST /fhir/R4 with a transaction Bundle of a patient's record (a Synthea export) ----
 * The emergency encounters (class EMER) with their Patient and their vital signs are written
 * as one record batch (all or nothing): per encounter the arrival, its triage, each vitals set
 * (the Observations of one time), then for a finished visit the disposition and the
 * departure. Whatever else the Bundle holds is not kept: its response entry says so in an
 * OperationOutcome of severity information. FHIR_MAPPING.md §6 "A transaction Bundle". */

#define IMPORT_NO_COMPLAINT "(not given at registration)"

/* The index of the entry whose fullUrl is url, or -1. */
static long entry_by_url(const json_t *entries, const char *url)
{
    const json_t *e;
    size_t i;

    if (!url || !url[0])
        return -1;
    json_array_foreach (entries, i, e)
        if (!strcmp(str_of(e, "fullUrl"), url))
            return (long)i;
    return -1;
}

static const char *reference_of(const json_t *r, const char *key)
{
    return str_of(json_object_get(r, key), "reference");
}

/* err->field "Encounter.x" / "Observation.x" / "Patient.x" named inside the Bundle. */
static void field_in_entry(struct ed_error *err, const char *type, long entry)
{
    size_t n = strlen(type);
    char field[sizeof err->field];

    if (entry < 0 || strncmp(err->field, type, n) || (err->field[n] && err->field[n] != '.'))
        return;
    snprintf(field, sizeof field, "Bundle.entry[%ld].resource%s", entry, err->field + n);
    snprintf(err->field, sizeof err->field, "%s", field);
}

static void entry_response(json_t *resp, size_t i, const char *status, const char *location)
{
    json_array_set_new(
        resp, i, json_pack("{s:{s:s,s:s}}", "response", "status", status, "location", location));
}

static void entry_not_kept(json_t *resp, size_t i, const char *why)
{
    char expr[48];

    snprintf(expr, sizeof expr, "Bundle.entry[%zu].resource", i);
    json_array_set_new(resp, i,
                       json_pack("{s:{s:s,s:{s:s,s:[{s:s,s:s,s:s,s:[s]}]}}}", "response", "status",
                                 "200 OK", "outcome", "resourceType", "OperationOutcome", "issue",
                                 "severity", "information", "code", "informational", "diagnostics",
                                 why, "expression", expr));
}

static bool has_coding(const json_t *concept, const char *code)
{
    const json_t *cd;
    size_t i;

    json_array_foreach (json_object_get(concept, "coding"), i, cd)
        if (!strcmp(str_of(cd, "code"), code))
            return true;
    return false;
}

static bool is_emergency(const json_t *enc)
{
    return !strcmp(str_of(json_object_get(enc, "class"), "code"), "EMER");
}

static bool is_vital_sign(const json_t *obs)
{
    const json_t *cat;
    size_t i;

    json_array_foreach (json_object_get(obs, "category"), i, cat)
        if (has_coding(cat, "vital-signs"))
            return true;
    return false;
}

/* The Observation id suffix (FHIR_MAPPING.md conventions) of a vital sign's code. */
static const char *vital_kind(const json_t *obs)
{
    static const struct {
        const char *code, *kind;
    } kinds[] = {{"8867-4", "hr"},   {"9279-1", "rr"},   {"2708-6", "spo2"}, {"59408-5", "spo2"},
                 {"8310-5", "temp"}, {"8331-1", "temp"}, {"85354-9", "bp"},  {"55284-4", "bp"},
                 {"8480-6", "bp"},   {"8462-4", "bp"},   {"72514-3", "pain"}};
    const json_t *code = json_object_get(obs, "code");

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (has_coding(code, kinds[k].code))
            return kinds[k].kind;
    return "acvpu";
}

struct import {
    struct fhir_call *c;
    const json_t *entries;
    json_t *resp; /* one response entry per request entry; null until decided */
    struct fhir_parse_opts popts;
};

/* One Observation of the encounter, resolved to edlive's ids; NULL and *kept false when it
 * is not one edlive keeps (its response entry says why), NULL with err on a refusal. */
static json_t *import_observation(struct import *im, size_t j, long long encounter,
                                  long long patient, struct ed_error *err)
{
    const json_t *r = json_object_get(json_array_get(im->entries, j), "resource");
    json_t *obs = json_deep_copy(r);
    struct fhir_vitals_in vin = {0};
    char ref[48];

    snprintf(ref, sizeof ref, "Encounter/%lld", encounter);
    json_object_set_new(obs, "encounter", json_pack("{s:s}", "reference", ref));
    snprintf(ref, sizeof ref, "Patient/%lld", patient);
    json_object_set_new(obs, "subject", json_pack("{s:s}", "reference", ref));
    if (!json_object_get(obs, "performer")) {
        /* Synthea's vital signs name no performer: the importer took them (taken_by). */
        snprintf(ref, sizeof ref, "Practitioner/%lld", im->c->who.staff_id);
        json_object_set_new(obs, "performer", json_pack("[{s:s}]", "reference", ref));
    }
    if (!fhir_vitals_from_observation(obs, &im->popts, &vin, err)) {
        size_t n = strlen(err->field);
        if (n >= 5 && !strcmp(err->field + n - 5, ".code")) {
            memset(err, 0, sizeof *err);
            entry_not_kept(im->resp, j,
                           "not kept: edlive keeps the vital signs of FHIR_MAPPING.md §3, not "
                           "this code");
        } else {
            field_in_entry(err, "Observation", (long)j);
        }
        goto none;
    }
    if (!schema_validate(schema_set_find(im->c->app->schemas, "http/vitals"), vin.body, err)) {
        if (!strcmp(vital_kind(r), "pain") && !strcmp(err->code, "wrong_type")) {
            /* edlive keeps the 0-10 pain score as a whole number (Synthea's are decimals) */
            memset(err, 0, sizeof *err);
            entry_not_kept(im->resp, j,
                           "not kept: the pain score is kept as a whole number 0-10, this one "
                           "is not");
        } else {
            fhir_error_to_fhir(err, vin.paths, "Observation");
            field_in_entry(err, "Observation", (long)j);
        }
        goto none;
    }
    fhir_vitals_in_clear(&vin);
    return obs;
none:
    fhir_vitals_in_clear(&vin);
    json_decref(obs);
    return NULL;
}

/* The vital signs of one encounter: one vitals set per effective time. */
static bool import_vitals(struct import *im, const char *enc_url, long long encounter,
                          long long patient, struct ed_error *err)
{
    json_t *groups = json_object(), *group;
    const json_t *e;
    const char *when;
    size_t j;
    bool ok = false;

    if (!enc_url[0]) {
        ok = true; /* no fullUrl: no Observation can name it */
        goto out;
    }
    json_array_foreach (im->entries, j, e) {
        const json_t *r = json_object_get(e, "resource");
        json_t *obs;
        if (strcmp(str_of(r, "resourceType"), "Observation") ||
            strcmp(reference_of(r, "encounter"), enc_url))
            continue;
        if (!is_vital_sign(r)) {
            entry_not_kept(im->resp, j,
                           "not kept: edlive keeps the vital signs of an emergency visit, not "
                           "other Observations");
            continue;
        }
        if (!im->c->who.staff_id && !json_object_get(r, "performer")) {
            ed_error_set(err, ED_ERR_FORBIDDEN, "Bundle",
                         "vital signs without a performer are "
                         "taken by the importer: import as a "
                         "staff member");
            goto out;
        }
        obs = import_observation(im, j, encounter, patient, err);
        if (!obs) {
            if (err->status)
                goto out;
            continue;
        }
        when = str_of(obs, "effectiveDateTime");
        group = json_object_get(groups, when);
        if (!group)
            json_object_set_new(groups, when, group = json_array());
        json_array_append_new(group, json_pack("{s:I,s:o}", "i", (json_int_t)j, "obs", obs));
    }
    json_object_foreach (groups, when, group) {
        json_t *bundle =
                   json_pack("{s:s,s:s,s:[]}", "resourceType", "Bundle", "type", "batch", "entry"),
               *g;
        struct fhir_vitals_in vin = {0};
        struct record_write w = {0};
        struct record_write_opts wopts = {0, NULL, NULL, 201};
        long first = (long)json_integer_value(json_object_get(json_array_get(group, 0), "i"));
        long long vid;
        size_t k;
        bool done;

        json_array_foreach (group, k, g) {
            json_array_append_new(json_object_get(bundle, "entry"),
                                  json_pack("{s:O}", "resource", json_object_get(g, "obs")));
        }
        done = fhir_vitals_from_bundle(bundle, &im->popts, &vin, err) &&
               schema_validate(schema_set_find(im->c->app->schemas, "http/vitals"), vin.body, err);
        if (done) {
            done = record_vitals(im->c->app->pg, &im->c->who, encounter, vin.body, &wopts, &w, err);
        }
        if (!done) {
            size_t at;
            int used = 0;
            if (err->field[0] && strncmp(err->field, "Bundle", 6))
                fhir_error_to_fhir(err, vin.paths, "Observation");
            if (sscanf(err->field, "Bundle.entry[%zu]%n", &at, &used) == 1 && used > 0) {
                /* an entry of the set's Bundle: the same entry of the request */
                char field[sizeof err->field];
                long src =
                    (long)json_integer_value(json_object_get(json_array_get(group, at), "i"));
                snprintf(field, sizeof field, "Bundle.entry[%ld]%s", src, err->field + used);
                snprintf(err->field, sizeof err->field, "%s", field);
            } else {
                field_in_entry(err, "Observation", first);
            }
        }
        fhir_vitals_in_clear(&vin);
        json_decref(bundle);
        if (!done)
            goto out;
        vid = json_integer_value(json_object_get(json_object_get(w.reply, "vitals"), "id"));
        record_write_clear(&w);
        json_array_foreach (group, k, g) {
            char loc[96];
            snprintf(loc, sizeof loc, "Observation/%lld-%s/_history/1", vid,
                     vital_kind(json_object_get(g, "obs")));
            entry_response(im->resp, (size_t)json_integer_value(json_object_get(g, "i")),
                           "201 Created", loc);
        }
    }
    ok = true;
out:
    json_decref(groups);
    return ok;
}

/* One EMER Encounter (entry i) and what hangs on it. */
static bool import_encounter(struct import *im, size_t i, struct ed_error *err)
{
    const json_t *entry = json_array_get(im->entries, i);
    const json_t *r = json_object_get(entry, "resource");
    long pi = entry_by_url(im->entries, reference_of(r, "subject"));
    const json_t *patient =
        pi >= 0 ? json_object_get(json_array_get(im->entries, (size_t)pi), "resource") : NULL;
    json_t *enc = json_deep_copy(r), *write;
    struct fhir_arrival_in in = {0};
    struct record_write w = {0};
    struct record_write_opts wopts = {0, NULL, NULL, 201};
    long long dept, encounter, pid;
    char loc[64];
    size_t k;
    bool ok = false;

    if (!json_array_size(json_object_get(enc, "reasonCode")))
        json_object_set_new(enc, "reasonCode", json_pack("[{s:s}]", "text", IMPORT_NO_COMPLAINT));
    if (!fhir_arrival_from_encounter(enc, patient, true, &im->popts, &in, err))
        goto fail;
    if (in.unidentified) {
        ed_error_set(err, ED_ERR_MISSING_FIELD, "Encounter.subject",
                     "an imported visit needs its Patient with an MRN");
        goto fail;
    }
    if (!schema_validate(schema_set_find(im->c->app->schemas, "http/arrival"), in.body, err))
        goto rename;
    json_array_foreach (in.writes, k, write) {
        const char *route = str_of(write, "route");
        bool triage = !strcmp(route, "triage");
        char schema[32];
        if (!record_allows(&im->c->who, triage ? ACT_TRIAGE : ACT_DISPOSITION)) {
            ed_error_set(err, ED_ERR_FORBIDDEN, triage ? "Encounter.priority" : "Encounter.status",
                         "your role may not record this part of the visit");
            goto fail;
        }
        snprintf(schema, sizeof schema, "http/%s", route);
        if (!schema_validate(schema_set_find(im->c->app->schemas, schema),
                             json_object_get(write, "body"), err))
            goto rename;
    }
    if (!(dept = fhir_routes_arrival_department(im->c, enc, err)))
        goto fail;
    if (!record_arrival(im->c->app->pg, &im->c->who, dept, in.body, &wopts, &w, err))
        goto rename;
    encounter = w.encounter_id;
    pid = json_integer_value(
        json_object_get(json_object_get(json_object_get(w.reply, "encounter"), "patient"), "id"));
    record_write_clear(&w);
    snprintf(loc, sizeof loc, "Encounter/%lld", encounter);
    entry_response(im->resp, i, "201 Created", loc);
    if (pi >= 0) {
        snprintf(loc, sizeof loc, "Patient/%lld", pid);
        entry_response(im->resp, (size_t)pi, "200 OK", loc);
    }
    /* the triage first, then the vital signs, then the end of the visit */
    json_array_foreach (in.writes, k, write) {
        const char *route = str_of(write, "route");
        const json_t *body = json_object_get(write, "body");
        bool done;
        if (!strcmp(route, "triage"))
            done = record_triage(im->c->app->pg, &im->c->who, encounter, body, NULL, &w, err);
        else
            continue;
        record_write_clear(&w);
        if (!done)
            goto rename;
    }
    if (!import_vitals(im, str_of(entry, "fullUrl"), encounter, pid, err))
        goto out;
    json_array_foreach (in.writes, k, write) {
        const char *route = str_of(write, "route");
        const json_t *body = json_object_get(write, "body");
        bool done;
        if (!strcmp(route, "disposition"))
            done = record_disposition(im->c->app->pg, &im->c->who, encounter, body, NULL, &w, err);
        else if (!strcmp(route, "departure"))
            done = record_departure(im->c->app->pg, &im->c->who, encounter, body, NULL, &w, err);
        else
            continue;
        record_write_clear(&w);
        if (!done)
            goto rename;
    }
    ok = true;
    goto out;
rename:
    fhir_error_to_fhir(err, in.paths, "Encounter");
fail:
    field_in_entry(err, "Patient", pi);
    field_in_entry(err, "Encounter", (long)i);
out:
    json_decref(enc);
    fhir_arrival_in_clear(&in);
    return ok;
}

bool fhir_import_transaction(struct fhir_call *c, const json_t *doc, struct route_result *out,
                             struct ed_error *err)
{
    struct import im = {c,
                        json_object_get(doc, "entry"),
                        json_array(),
                        {FHIR_MRN_SYSTEM, fhir_routes_prefer_strict(c->req)}};
    const json_t *e;
    size_t i, n = json_array_size(im.entries), kept = 0, dropped = 0;
    bool ok = false, in_batch = false;

    if (!record_allows(&c->who, ACT_ARRIVAL)) {
        ed_error_set(err, ED_ERR_FORBIDDEN, NULL, "your role may not register arrivals");
        goto out;
    }
    if (strcmp(str_of(doc, "type"), "transaction")) {
        ed_error_set(err, ED_ERR_INVALID_VALUE, "Bundle.type",
                     "a patient's record is imported as a transaction Bundle");
        goto out;
    }
    for (i = 0; i < n; i++)
        json_array_append_new(im.resp, json_null());
    if (!record_batch_begin(c->app->pg)) {
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        goto out;
    }
    in_batch = true;
    json_array_foreach (im.entries, i, e) {
        const json_t *r = json_object_get(e, "resource");
        if (!strcmp(str_of(r, "resourceType"), "Encounter") && is_emergency(r) &&
            !import_encounter(&im, i, err))
            goto out;
    }
    if (!record_batch_commit(c->app->pg)) {
        in_batch = false;
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        goto out;
    }
    in_batch = false;
    json_array_foreach (im.entries, i, e) {
        const json_t *r = json_object_get(e, "resource");
        const char *type = str_of(r, "resourceType");
        char why[160];
        if (!json_is_null(json_array_get(im.resp, i))) {
            kept += !json_object_get(json_object_get(json_array_get(im.resp, i), "response"),
                                     "outcome");
            continue;
        }
        if (!strcmp(type, "Encounter"))
            snprintf(why, sizeof why, "not kept: edlive keeps emergency encounters (class EMER)");
        else if (!strcmp(type, "Patient"))
            snprintf(why, sizeof why, "not kept: a patient without an emergency encounter");
        else if (!strcmp(type, "Observation"))
            snprintf(why, sizeof why, "not kept: an Observation of no emergency encounter");
        else
            snprintf(why, sizeof why, "not kept: edlive does not keep %.40s resources",
                     type[0] ? type : "these");
        entry_not_kept(im.resp, i, why);
    }
    json_array_foreach (im.resp, i, e)
        dropped += json_object_get(json_object_get(e, "response"), "outcome") != NULL;
    log_info("POST " FHIR_PREFIX " transaction -> %zu entries kept, %zu not kept", kept, dropped);
    out->reply = json_pack("{s:s,s:s,s:O}", "resourceType", "Bundle", "type",
                           "transaction-response", "entry", im.resp);
    out->status = 200;
    ok = out->reply || ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
out:
    if (in_batch)
        record_batch_rollback(c->app->pg);
    json_decref(im.resp);
    return ok;
}

/* A Bundle to the base holding a Patient or an Encounter: an import. */
bool fhir_import_wanted(const json_t *doc)
{
    const json_t *e;
    size_t i;

    json_array_foreach (json_object_get(doc, "entry"), i, e) {
        const char *t = str_of(json_object_get(e, "resource"), "resourceType");
        if (!strcmp(t, "Patient") || !strcmp(t, "Encounter"))
            return true;
    }
    return false;
}
