/* SPDX-License-Identifier: MIT */
/* fuzz_fhir_parse.c: a FHIR body as the /fhir/R4 routes are to read it: fhir_parse_json(),
 * then by resourceType the parser of POST Observation (one Observation, or a Bundle of them)
 * or of POST Encounter, lenient and strict. Beyond "no crash, no leak" (ASan/UBSan):
 *  - a refusal names a FHIR expression of the resource sent, has a message, and renders as
 *    an OperationOutcome;
 *  - an accepted body either passes its REST schema (proto/http) or the schema's refusal is
 *    renamed to a FHIR expression through the parser's paths (every REST field has one);
 *  - strict accepts only what lenient accepts, with the same body and nothing dropped;
 *  - a vitals body the schema accepts, stored as a vitals set and built back into
 *    Observations (fhir_observations_from_vitals), parses to the same measurements. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"
#include "fuzz_require.h"
#include "schema.h"

#ifndef PROTO_DIR
#error "PROTO_DIR must name the proto/ folder (set by CMake)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct schema_set *schemas(void)
{
    static struct schema_set *set;
    struct ed_error err = {0};

    if (!set) {
        set = schema_set_load(PROTO_DIR, &err);
        if (!set) {
            fprintf(stderr, "cannot load the schemas in %s: %s\n", PROTO_DIR, err.message);
            abort();
        }
    }
    return set;
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static void check_refusal(const struct ed_error *err, const char *resource_type)
{
    json_t *oo;

    FUZZ_REQUIRE(err->id > ED_OK && err->id < ED_ERR_COUNT);
    FUZZ_REQUIRE(err->message[0] != '\0');
    FUZZ_REQUIRE(starts_with(err->field, resource_type));
    oo = fhir_operation_outcome(err);
    FUZZ_REQUIRE(oo != NULL);
    json_decref(oo);
}

/* A REST field (or its parent) that paths names. */
static bool mapped(const json_t *paths, const char *field)
{
    char f[128];
    char *dot;

    snprintf(f, sizeof f, "%s", field);
    for (;;) {
        if (json_object_get(paths, f))
            return true;
        if (!(dot = strrchr(f, '.')))
            return false;
        *dot = '\0';
    }
}

/* body against http/<schema>: valid, or its refusal maps to a FHIR expression. */
static void check_body(const char *schema, const json_t *body, const json_t *paths,
                       const char *resource_type)
{
    struct ed_error err = {0};
    const json_t *s = schema_set_find(schemas(), schema);
    const char *key;
    json_t *v;

    FUZZ_REQUIRE(s != NULL);
    FUZZ_REQUIRE(json_is_object(body));
    json_object_foreach ((json_t *)body, key, v)
        FUZZ_REQUIRE(json_object_get(paths, key) != NULL || !strcmp(key, "patient"));
    if (schema_validate(s, body, &err))
        return;
    FUZZ_REQUIRE(!err.field[0] || mapped(paths, err.field));
    fhir_error_to_fhir(&err, paths, resource_type);
    FUZZ_REQUIRE(starts_with(err.field, resource_type));
}

static void check_dropped(const json_t *dropped, const char *resource_type)
{
    size_t i;
    json_t *d;

    json_array_foreach (dropped, i, d)
        FUZZ_REQUIRE(json_is_string(d) && (starts_with(json_string_value(d), resource_type) ||
                                           starts_with(json_string_value(d), "Patient")));
}

/* Equal, or both absent or null (not taken). */
static bool same(const json_t *a, const json_t *b)
{
    if (!a || json_is_null(a))
        return !b || json_is_null(b);
    return b && json_equal(a, b);
}

/* body as the record would return it (proto/README.md "Vitals"), through the builders and
 * back through the Bundle parser: the same measurements. */
static void round_trip(const json_t *body, long long encounter)
{
    static const char *const fields[] = {"heart_rate",   "resp_rate",    "systolic_bp",
                                         "diastolic_bp", "spo2",         "temperature_c",
                                         "pain",         "oxygen_l_min", NULL};
    const struct fhir_opts bopts = {"", NULL};
    const struct fhir_parse_opts strict = {NULL, true};
    json_t *vitals = json_deep_copy(body), *obs, *o, *entries = json_array(), *bundle;
    struct fhir_vitals_in in;
    struct ed_error err = {0};
    size_t i;

    json_object_set_new(vitals, "id", json_integer(7));
    json_object_set_new(vitals, "encounter_id", json_integer(encounter));
    json_object_set_new(vitals, "taken_by",
                        json_pack("{s:O}", "id", json_object_get(body, "taken_by")));
    obs = fhir_observations_from_vitals(vitals, 3, &bopts);
    FUZZ_REQUIRE(obs != NULL);
    json_array_foreach (obs, i, o)
        json_array_append_new(entries, json_pack("{s:O}", "resource", o));
    bundle =
        json_pack("{s:s,s:s,s:o}", "resourceType", "Bundle", "type", "batch", "entry", entries);
    if (!fhir_vitals_from_bundle(bundle, &strict, &in, &err)) {
        fprintf(stderr, "built back, refused: %s %s %s\n", err.code, err.field, err.message);
        FUZZ_REQUIRE(false);
    }
    FUZZ_REQUIRE(in.encounter == encounter);
    for (i = 0; fields[i]; i++) {
        const json_t *a = json_object_get(body, fields[i]),
                     *b = json_object_get(in.body, fields[i]);
        FUZZ_REQUIRE(json_is_number(a) == json_is_number(b));
        FUZZ_REQUIRE(!json_is_number(a) || json_number_value(a) == json_number_value(b));
    }
    FUZZ_REQUIRE(
        same(json_object_get(body, "consciousness"), json_object_get(in.body, "consciousness")));
    FUZZ_REQUIRE(same(json_object_get(body, "taken_at"), json_object_get(in.body, "taken_at")));
    fhir_vitals_in_clear(&in);
    json_decref(bundle);
    json_decref(obs);
    json_decref(vitals);
}

static void vitals(const json_t *doc, bool bundle)
{
    const struct fhir_parse_opts lenient = {NULL, false}, strict = {NULL, true};
    const char *type = bundle ? "Bundle" : "Observation";
    struct fhir_vitals_in a, b;
    struct ed_error ea = {0}, eb = {0};
    bool ok_a = bundle ? fhir_vitals_from_bundle(doc, &lenient, &a, &ea)
                       : fhir_vitals_from_observation(doc, &lenient, &a, &ea);
    bool ok_b = bundle ? fhir_vitals_from_bundle(doc, &strict, &b, &eb)
                       : fhir_vitals_from_observation(doc, &strict, &b, &eb);

    if (!ok_a)
        check_refusal(&ea, type);
    if (!ok_b)
        check_refusal(&eb, type);
    FUZZ_REQUIRE(ok_a || !ok_b);
    if (ok_a) {
        FUZZ_REQUIRE(a.encounter > 0);
        FUZZ_REQUIRE(json_is_integer(json_object_get(a.body, "taken_by")));
        check_body("http/vitals", a.body, a.paths, type);
        check_dropped(a.dropped, type);
        if (schema_validate(schema_set_find(schemas(), "http/vitals"), a.body, &ea))
            round_trip(a.body, a.encounter);
    }
    if (ok_b) {
        FUZZ_REQUIRE(json_equal(a.body, b.body));
        FUZZ_REQUIRE(json_array_size(b.dropped) == 0);
        fhir_vitals_in_clear(&b);
    }
    if (ok_a)
        fhir_vitals_in_clear(&a);
}

static void arrival(const json_t *doc, bool allow_ended)
{
    const struct fhir_parse_opts lenient = {"urn:oid:1.2.3.4", false},
                                 strict = {"urn:oid:1.2.3.4", true};
    struct fhir_arrival_in a, b;
    struct ed_error ea = {0}, eb = {0};
    bool ok_a = fhir_arrival_from_encounter(doc, NULL, allow_ended, &lenient, &a, &ea);
    bool ok_b = fhir_arrival_from_encounter(doc, NULL, allow_ended, &strict, &b, &eb);
    size_t i;
    json_t *w;

    if (!ok_a)
        check_refusal(&ea, "Encounter");
    if (!ok_b)
        check_refusal(&eb, "Encounter");
    FUZZ_REQUIRE(ok_a || !ok_b);
    if (ok_a) {
        FUZZ_REQUIRE(a.unidentified || a.patient > 0 || json_object_get(a.body, "patient"));
        if (!a.patient)
            check_body(a.unidentified ? "http/arrival_unidentified" : "http/arrival", a.body,
                       a.paths, "Encounter");
        json_array_foreach (a.writes, i, w) {
            char schema[64];
            snprintf(schema, sizeof schema, "http/%s",
                     json_string_value(json_object_get(w, "route")));
            check_body(schema, json_object_get(w, "body"), a.paths, "Encounter");
        }
        check_dropped(a.dropped, "Encounter");
    }
    if (ok_b) {
        FUZZ_REQUIRE(json_equal(a.body, b.body) && json_equal(a.writes, b.writes));
        FUZZ_REQUIRE(json_array_size(b.dropped) == 0);
        fhir_arrival_in_clear(&b);
    }
    if (ok_a)
        fhir_arrival_in_clear(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ed_error err = {0};
    json_t *doc = fhir_parse_json((const char *)data, size, &err);
    const char *type;

    if (!doc) {
        FUZZ_REQUIRE(err.id == ED_ERR_MALFORMED_JSON && err.status == 400);
        FUZZ_REQUIRE(!err.field[0] && err.message[0]);
        return 0;
    }
    type = json_string_value(json_object_get(doc, "resourceType"));
    if (type && !strcmp(type, "Bundle")) {
        vitals(doc, true);
    } else if (type && !strcmp(type, "Encounter")) {
        arrival(doc, false);
        arrival(doc, true);
    } else {
        vitals(doc, false); /* anything else is refused as an Observation */
    }
    json_decref(doc);
    return 0;
}
