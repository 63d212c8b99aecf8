/* SPDX-License-Identifier: MIT */
/* test_fhir_synthea.c: data nobody on the team wrote through the parsers: the Synthea FHIR R4
 * transaction Bundles in ../shared/data/synthea-fhir-r4 (PROVENANCE.txt there; never
 * committed). Every emergency (class EMER) Encounter, with the Patient its urn:uuid subject
 * names, goes through fhir_arrival_from_encounter as an import (finished visits), and every
 * vital-signs Observation through fhir_vitals_from_observation, first as sent and then with
 * what a server resolves in a transaction (the urn:uuid encounter as Encounter/<id>) and what
 * a monitor gateway adds (a performer). Each body accepted must pass its REST schema; each
 * refusal must name a FHIR element. The report printed lists what edlive keeps and what it
 * does not (FHIR_MAPPING.md §10 is written from it). Skipped when the data are absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"
#include "schema.h"

#define SYNTHEA_DIR "/data/synthea-fhir-r4"

static const struct fhir_parse_opts popts = {"http://hospital.smarthealthit.org", false};
static struct schema_set *schemas;

/* "a.b[3].c" -> "a.b[].c": a tally key that does not depend on positions. */
static void no_indexes(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 1 < size; in++) {
        if (*in == '[') {
            out[n++] = '[';
            while (isdigit((unsigned char)in[1]))
                in++;
            continue;
        }
        out[n++] = *in;
    }
    out[n] = '\0';
}

static void tally(json_t *counts, const char *key)
{
    char k[160];
    no_indexes(key, k, sizeof k);
    json_object_set_new(counts, k,
                        json_integer(json_integer_value(json_object_get(counts, k)) + 1));
}

static void report(const char *title, const json_t *counts)
{
    const char *k;
    json_t *v;

    print_message("%s\n", title);
    json_object_foreach ((json_t *)counts, k, v)
        print_message("  %4lld  %s\n", (long long)json_integer_value(v), k);
}

static const char *synthea_dir(void)
{
    static char dir[1024];
    const char *shared = getenv("EDLIVE_SHARED");
    DIR *d;

    snprintf(dir, sizeof dir, "%s" SYNTHEA_DIR, shared && shared[0] ? shared : SHARED_DIR);
    d = opendir(dir);
    if (!d) {
        print_message("skipped: no Synthea bundles at %s (the ../shared folder beside the "
                      "checkout, or $EDLIVE_SHARED; they are never committed)\n",
                      dir);
        return NULL;
    }
    closedir(d);
    return dir;
}

/* The resource whose fullUrl is url in the bundle (borrowed), or NULL. */
static const json_t *resolve(const json_t *bundle, const char *url)
{
    size_t i;
    json_t *e;

    json_array_foreach (json_object_get(bundle, "entry"), i, e) {
        const char *full = json_string_value(json_object_get(e, "fullUrl"));
        if (url && full && !strcmp(full, url))
            return json_object_get(e, "resource");
    }
    return NULL;
}

static bool is_emer(const json_t *enc)
{
    const json_t *cls = json_object_get(enc, "class");
    const char *code = json_string_value(json_object_get(cls, "code"));
    return code && !strcmp(code, "EMER");
}

struct totals {
    json_t *enc_refused, *enc_dropped, *obs_as_sent, *obs_resolved, *obs_dropped, *kept_codes;
    int emer, emer_accepted, vitals, vitals_accepted;
};

static void one_encounter(struct totals *t, const json_t *bundle, const json_t *enc)
{
    const json_t *patient = resolve(
        bundle, json_string_value(json_object_get(json_object_get(enc, "subject"), "reference")));
    struct fhir_arrival_in in;
    struct ed_error err = {0};
    size_t i;
    json_t *d;

    t->emer++;
    assert_non_null(patient);
    if (!fhir_arrival_from_encounter(enc, patient, true, &popts, &in, &err)) {
        assert_true(!strncmp(err.field, "Encounter", 9) || !strncmp(err.field, "Patient", 7));
        tally(t->enc_refused, err.field);
        return;
    }
    /* the record's schema has the last word; its refusal is named in FHIR terms */
    if (!schema_validate(schema_set_find(schemas, in.unidentified ? "http/arrival_unidentified"
                                                                  : "http/arrival"),
                         in.body, &err)) {
        char key[300];
        fhir_error_to_fhir(&err, in.paths, "Encounter");
        snprintf(key, sizeof key, "%s (%s)", err.field, err.code);
        tally(t->enc_refused, key);
    } else {
        t->emer_accepted++;
    }
    for (i = 0; i < json_array_size(in.writes); i++) {
        const json_t *w = json_array_get(in.writes, i);
        char schema[64];
        snprintf(schema, sizeof schema, "http/%s", json_string_value(json_object_get(w, "route")));
        assert_true(
            schema_validate(schema_set_find(schemas, schema), json_object_get(w, "body"), &err));
    }
    json_array_foreach (in.dropped, i, d)
        tally(t->enc_dropped, json_string_value(d));
    fhir_arrival_in_clear(&in);
}

static const char *first_code(const json_t *obs)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(json_object_get(obs, "code"), "coding"), 0), "code"));
}

static void one_observation(struct totals *t, const json_t *obs)
{
    struct fhir_vitals_in in;
    struct ed_error err = {0};
    json_t *copy;
    size_t i;
    json_t *d;
    char key[300];

    t->vitals++;
    if (fhir_vitals_from_observation(obs, &popts, &in, &err)) {
        fhir_vitals_in_clear(&in);
        tally(t->obs_as_sent, "accepted");
    } else {
        tally(t->obs_as_sent, err.field);
    }
    /* as a transaction resolves it, from a gateway that names who took it */
    copy = json_deep_copy(obs);
    json_object_set_new(copy, "encounter", json_pack("{s:s}", "reference", "Encounter/1"));
    json_object_set_new(copy, "subject", json_pack("{s:s}", "reference", "Patient/1"));
    json_object_set_new(copy, "performer", json_pack("[{s:s}]", "reference", "Practitioner/1"));
    if (fhir_vitals_from_observation(copy, &popts, &in, &err)) {
        if (!schema_validate(schema_set_find(schemas, "http/vitals"), in.body, &err)) {
            fhir_error_to_fhir(&err, in.paths, "Observation");
            snprintf(key, sizeof key, "%s %s (%s)", first_code(obs), err.field, err.code);
            tally(t->obs_resolved, key);
        } else {
            t->vitals_accepted++;
            snprintf(key, sizeof key, "%s kept", first_code(obs));
            tally(t->kept_codes, key);
        }
        json_array_foreach (in.dropped, i, d)
            tally(t->obs_dropped, json_string_value(d));
        fhir_vitals_in_clear(&in);
    } else {
        assert_true(!strncmp(err.field, "Observation", 11));
        snprintf(key, sizeof key, "%s %s (%s)", first_code(obs), err.field, err.code);
        tally(t->obs_resolved, key);
    }
    json_decref(copy);
}

static bool category_is(const json_t *obs, const char *code)
{
    size_t i, j;
    json_t *cc, *c;

    json_array_foreach (json_object_get(obs, "category"), i, cc) {
        json_array_foreach (json_object_get(cc, "coding"), j, c) {
            const char *k = json_string_value(json_object_get(c, "code"));
            if (k && !strcmp(k, code))
                return true;
        }
    }
    return false;
}

static void test_synthea(void **state)
{
    const char *dir = synthea_dir();
    struct totals t = {json_object(),
                       json_object(),
                       json_object(),
                       json_object(),
                       json_object(),
                       json_object(),
                       0,
                       0,
                       0,
                       0};
    struct dirent *de;
    DIR *d;
    (void)state;

    if (!dir) {
        json_decref(t.enc_refused);
        json_decref(t.enc_dropped);
        json_decref(t.obs_as_sent);
        json_decref(t.obs_resolved);
        json_decref(t.obs_dropped);
        json_decref(t.kept_codes);
        skip();
    }
    d = opendir(dir);
    while ((de = readdir(d))) {
        char path[2048];
        size_t n = strlen(de->d_name), i;
        json_t *bundle, *e;
        if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        bundle = json_load_file(path, 0, NULL);
        assert_non_null(bundle);
        json_array_foreach (json_object_get(bundle, "entry"), i, e) {
            const json_t *r = json_object_get(e, "resource");
            const char *type = json_string_value(json_object_get(r, "resourceType"));
            if (type && !strcmp(type, "Encounter") && is_emer(r))
                one_encounter(&t, bundle, r);
            else if (type && !strcmp(type, "Observation") && category_is(r, "vital-signs"))
                one_observation(&t, r);
        }
        json_decref(bundle);
    }
    closedir(d);
    print_message("EMER encounters: %d, accepted as arrivals (schema too): %d\n", t.emer,
                  t.emer_accepted);
    report("EMER encounters refused, by FHIR element:", t.enc_refused);
    report("Encounter / Patient elements not kept:", t.enc_dropped);
    print_message("vital-signs Observations: %d; accepted once resolved: %d\n", t.vitals,
                  t.vitals_accepted);
    report("Observations as sent (urn:uuid references, no performer):", t.obs_as_sent);
    report("Observations kept, by code:", t.kept_codes);
    report("Observations refused once resolved, by code and element:", t.obs_resolved);
    report("Observation elements not kept:", t.obs_dropped);
    /* what the data hold (PROVENANCE.txt): 18 EMER encounters; the 10 with a complaint are
     * taken (their MRNs are 36-character UUIDs, within the 64 the record allows), the 8
     * without one are refused at Encounter.reasonCode as a plain arrival; of the vital signs,
     * blood pressure and oral temperature are kept, Synthea's pain scores (decimals on a 0-10
     * integer scale) are refused by the schema, height, weight and BMI by their code */
    assert_int_equal(t.emer, 18);
    assert_int_equal(t.emer_accepted, 10);
    assert_null(json_object_get(t.enc_refused, "Patient.identifier[].value (too_long)"));
    assert_true(t.vitals > 0 && t.vitals_accepted > 0);
    assert_non_null(json_object_get(t.kept_codes, "55284-4 kept"));
    assert_non_null(json_object_get(t.kept_codes, "8331-1 kept"));
    assert_non_null(
        json_object_get(t.obs_resolved, "72514-3 Observation.valueQuantity.value (wrong_type)"));
    assert_non_null(json_object_get(t.obs_resolved, "8302-2 Observation.code (invalid_value)"));
    assert_null(json_object_get(t.obs_as_sent, "accepted")); /* urn:uuid is not Encounter/<id> */
    json_decref(t.enc_refused);
    json_decref(t.enc_dropped);
    json_decref(t.obs_as_sent);
    json_decref(t.obs_resolved);
    json_decref(t.obs_dropped);
    json_decref(t.kept_codes);
}

static int setup(void **state)
{
    struct ed_error err = {0};
    (void)state;
    schemas = schema_set_load(PROTO_DIR, &err);
    return schemas ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    schema_set_free(schemas);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_synthea)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
