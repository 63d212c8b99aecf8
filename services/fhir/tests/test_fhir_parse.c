/* SPDX-License-Identifier: MIT */
/* test_fhir_parse.c: the parsers (FHIR_MAPPING.md §6-7): what the builders make comes back as
 * the same REST body (and that body passes its proto/http schema); each refusal names the FHIR
 * element at fault; what edlive does not keep is listed, or refused when strict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fhir.h"
#include "schema.h"

static const struct fhir_opts bopts = {"https://ed.example.org/fhir/R4", "urn:oid:1.2.3.4"};
static const struct fhir_parse_opts popts = {"urn:oid:1.2.3.4", false};
static const struct fhir_parse_opts strict = {"urn:oid:1.2.3.4", true};
static json_t *fixtures;
static struct schema_set *schemas;

static const json_t *chart(size_t i)
{
    return json_object_get(json_array_get(json_object_get(fixtures, "charts"), i), "chart");
}

static int setup(void **state)
{
    struct ed_error err = {0};
    (void)state;
    fixtures = json_load_file(FIXTURES, JSON_REJECT_DUPLICATES, NULL);
    schemas = schema_set_load(PROTO_DIR, &err);
    return fixtures && schemas ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(fixtures);
    schema_set_free(schemas);
    return 0;
}

static void assert_valid(const char *schema, const json_t *body)
{
    struct ed_error err = {0};
    bool ok = schema_validate(schema_set_find(schemas, schema), body, &err);
    if (!ok)
        fail_msg("%s refuses the body: %s %s %s", schema, err.code, err.field, err.message);
}

/* A transaction Bundle of the vital-sign Observations of a set (its NEWS2 left out). */
static json_t *vitals_bundle(const json_t *vitals, long long patient)
{
    json_t *obs = fhir_observations_from_vitals(vitals, patient, &bopts), *o;
    json_t *entries = json_array();
    size_t i;

    json_array_foreach (obs, i, o) {
        if (strstr(json_string_value(json_object_get(o, "id")), "news2"))
            continue;
        json_object_del(o, "id");
        json_object_del(o, "meta");
        json_array_append_new(entries, json_pack("{s:O,s:{s:s,s:s}}", "resource", o, "request",
                                                 "method", "POST", "url", "Observation"));
    }
    json_decref(obs);
    return json_pack("{s:s,s:s,s:o}", "resourceType", "Bundle", "type", "transaction", "entry",
                     entries);
}

static double num(const json_t *body, const char *key)
{
    return json_number_value(json_object_get(body, key));
}

static void test_vitals_round_trip(void **state)
{
    const json_t *set41 = json_array_get(json_object_get(chart(0), "vitals"), 1);
    const json_t *set50 = json_array_get(json_object_get(chart(1), "vitals"), 0);
    json_t *b41 = vitals_bundle(set41, 12), *b50 = vitals_bundle(set50, 40);
    struct fhir_vitals_in in;
    struct ed_error err = {0};
    (void)state;

    assert_true(fhir_vitals_from_bundle(b41, &popts, &in, &err));
    assert_int_equal(in.encounter, 12);
    assert_int_equal(in.patient, 12);
    assert_int_equal(json_integer_value(json_object_get(in.body, "taken_by")), 5);
    assert_string_equal(json_string_value(json_object_get(in.body, "taken_at")),
                        "2026-11-25T08:10:00Z");
    assert_true(num(in.body, "heart_rate") == 118 && num(in.body, "resp_rate") == 24);
    assert_true(num(in.body, "systolic_bp") == 92 && num(in.body, "diastolic_bp") == 60);
    assert_true(num(in.body, "spo2") == 93 && num(in.body, "temperature_c") == 38.4);
    assert_true(num(in.body, "pain") == 6);
    assert_true(json_is_false(json_object_get(in.body, "on_oxygen")));
    assert_string_equal(json_string_value(json_object_get(in.body, "consciousness")), "A");
    assert_int_equal(json_array_size(in.dropped), 0);
    assert_string_equal(json_string_value(json_object_get(in.paths, "diastolic_bp")),
                        "Bundle.entry[4].resource.component[1].valueQuantity.value");
    assert_valid("http/vitals", in.body);
    fhir_vitals_in_clear(&in);

    /* a palpated systolic, on 4 L/min of oxygen, new confusion, a decimal heart rate */
    assert_true(fhir_vitals_from_bundle(b50, &popts, &in, &err));
    assert_true(num(in.body, "systolic_bp") == 80);
    assert_null(json_object_get(in.body, "diastolic_bp"));
    assert_true(num(in.body, "heart_rate") == 104.5 && num(in.body, "oxygen_l_min") == 4);
    assert_true(json_is_true(json_object_get(in.body, "on_oxygen")));
    assert_string_equal(json_string_value(json_object_get(in.body, "consciousness")), "C");
    assert_valid("http/vitals", in.body);
    fhir_vitals_in_clear(&in);
    json_decref(b41);
    json_decref(b50);
}

static json_t *heart_rate(void)
{
    return json_pack("{s:s,s:s,s:[{s:[{s:s,s:s}]}],s:{s:[{s:s,s:s}]},s:{s:s},s:{s:s},s:s,"
                     "s:[{s:s}],s:{s:i,s:s,s:s,s:s}}",
                     "resourceType", "Observation", "status", "final", "category", "coding",
                     "system", "http://terminology.hl7.org/CodeSystem/observation-category", "code",
                     "vital-signs", "code", "coding", "system", "http://loinc.org", "code",
                     "8867-4", "subject", "reference", "Patient/12", "encounter", "reference",
                     "Encounter/12", "effectiveDateTime", "2026-11-25T08:12:00+01:00", "performer",
                     "reference", "Practitioner/5", "valueQuantity", "value", 88, "unit",
                     "beats/minute", "system", "http://unitsofmeasure.org", "code", "/min");
}

static void test_one_observation(void **state)
{
    json_t *o = heart_rate();
    struct fhir_vitals_in in;
    struct ed_error err = {0};
    (void)state;

    assert_true(fhir_vitals_from_observation(o, &popts, &in, &err));
    assert_int_equal(json_object_size(in.body), 3); /* taken_by, taken_at, heart_rate */
    assert_true(num(in.body, "heart_rate") == 88);
    assert_string_equal(json_string_value(json_object_get(in.paths, "heart_rate")),
                        "Observation.valueQuantity.value");
    assert_valid("http/vitals", in.body);
    fhir_vitals_in_clear(&in);

    /* Fahrenheit is converted; an element edlive does not keep is listed, or refused */
    json_object_set_new(
        o, "code",
        json_pack("{s:[{s:s,s:s}]}", "coding", "system", "http://loinc.org", "code", "8310-5"));
    json_object_set_new(o, "valueQuantity",
                        json_pack("{s:f,s:s}", "value", 100.4, "code", "[degF]"));
    json_object_set_new(o, "interpretation", json_pack("[{s:s}]", "text", "high"));
    assert_true(fhir_vitals_from_observation(o, &popts, &in, &err));
    assert_true(num(in.body, "temperature_c") == 38.0);
    assert_string_equal(json_string_value(json_array_get(in.dropped, 0)),
                        "Observation.interpretation");
    fhir_vitals_in_clear(&in);
    assert_false(fhir_vitals_from_observation(o, &strict, &in, &err));
    assert_string_equal(err.code, "unknown_field");
    assert_string_equal(err.field, "Observation.interpretation");
    assert_null(in.body);
    json_decref(o);
}

/* o with key set to value (NULL: removed) is refused with code at field. */
static void refused(json_t *o, const char *key, json_t *value, const char *code, const char *field)
{
    json_t *copy = json_deep_copy(o);
    struct fhir_vitals_in in;
    struct ed_error err = {0};
    json_t *oo;

    if (value)
        json_object_set_new(copy, key, value);
    else
        json_object_del(copy, key);
    if (fhir_vitals_from_observation(copy, &popts, &in, &err))
        fail_msg("accepted with %s changed", key);
    assert_string_equal(err.code, code);
    assert_string_equal(err.field, field);
    assert_true(err.message[0] != '\0');
    oo = fhir_operation_outcome(&err);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(oo, "issue"), 0), "expression"), 0)),
        field);
    json_decref(oo);
    json_decref(copy);
}

static void test_observation_refusals(void **state)
{
    json_t *o = heart_rate();
    (void)state;

    refused(o, "encounter", NULL, "missing_field", "Observation.encounter");
    refused(o, "encounter", json_pack("{s:s}", "reference", "Encounter/abc"), "invalid_value",
            "Observation.encounter");
    refused(o, "performer", json_pack("[{s:s}]", "reference", "Device/3"), "invalid_value",
            "Observation.performer");
    refused(o, "performer", NULL, "missing_field", "Observation.performer");
    refused(o, "status", json_string("preliminary"), "invalid_value", "Observation.status");
    refused(o, "status", NULL, "missing_field", "Observation.status");
    refused(o, "effectiveDateTime", json_string("2026-11-25"), "invalid_value",
            "Observation.effectiveDateTime");
    refused(o, "code",
            json_pack("{s:[{s:s,s:s}]}", "coding", "system", "http://loinc.org", "code", "8302-2"),
            "invalid_value", "Observation.code");
    refused(o, "valueQuantity", json_pack("{s:i,s:s}", "value", 88, "code", "kg"), "invalid_value",
            "Observation.valueQuantity.code");
    refused(o, "valueQuantity", json_pack("{s:s,s:s}", "value", "88", "code", "/min"), "wrong_type",
            "Observation.valueQuantity.value");
    refused(o, "valueQuantity", NULL, "missing_field", "Observation.valueQuantity");
    refused(o, "subject", json_pack("{s:s}", "reference", "Group/1"), "invalid_value",
            "Observation.subject");
    refused(o, "resourceType", json_string("Condition"), "invalid_value",
            "Observation.resourceType");
    json_decref(o);
}

/* The resource of the bundle's entry i (borrowed). */
static json_t *entry(json_t *bundle, size_t i)
{
    return json_object_get(json_array_get(json_object_get(bundle, "entry"), i), "resource");
}

static void test_bundle_refusals(void **state)
{
    const json_t *set41 = json_array_get(json_object_get(chart(0), "vitals"), 1);
    json_t *b = vitals_bundle(set41, 12), *c;
    struct fhir_vitals_in in;
    struct ed_error err = {0};
    (void)state;

    /* another encounter in the same set */
    c = json_deep_copy(b);
    json_object_set_new(entry(c, 1), "encounter", json_pack("{s:s}", "reference", "Encounter/13"));
    assert_false(fhir_vitals_from_bundle(c, &popts, &in, &err));
    assert_string_equal(err.field, "Bundle.entry[1].resource.encounter");
    json_decref(c);
    /* the same vital sign twice */
    c = json_deep_copy(b);
    json_object_set(entry(c, 1), "code", json_object_get(entry(c, 0), "code"));
    assert_false(fhir_vitals_from_bundle(c, &popts, &in, &err));
    assert_string_equal(err.code, "invalid_value");
    assert_string_equal(err.field, "Bundle.entry[1].resource.valueQuantity.value");
    json_decref(c);
    /* a blood pressure component of the wrong type */
    c = json_deep_copy(b);
    json_object_set_new(
        json_object_get(json_array_get(json_object_get(entry(c, 4), "component"), 0),
                        "valueQuantity"),
        "value", json_string("92"));
    assert_false(fhir_vitals_from_bundle(c, &popts, &in, &err));
    assert_string_equal(err.code, "wrong_type");
    assert_string_equal(err.field, "Bundle.entry[4].resource.component[0].valueQuantity.value");
    json_decref(c);
    /* a diastolic without its systolic (the record's rule, named in FHIR) */
    c = json_deep_copy(b);
    json_array_remove(json_object_get(entry(c, 4), "component"), 0);
    assert_false(fhir_vitals_from_bundle(c, &popts, &in, &err));
    assert_string_equal(err.code, "missing_field");
    assert_string_equal(err.field, "Bundle.entry[4].resource.component[0].valueQuantity.value");
    json_decref(c);
    /* not a Bundle of one set */
    c = json_pack("{s:s,s:s,s:[]}", "resourceType", "Bundle", "type", "searchset", "entry");
    assert_false(fhir_vitals_from_bundle(c, &popts, &in, &err));
    assert_string_equal(err.field, "Bundle.type");
    json_decref(c);
    json_decref(b);
}

static void test_errors_renamed(void **state)
{
    json_t *o = heart_rate();
    struct fhir_vitals_in in;
    struct ed_error err = {0};
    (void)state;

    /* 400 /min passes the parser; the schema refuses heart_rate; the FHIR path is named */
    json_object_set_new(json_object_get(o, "valueQuantity"), "value", json_integer(400));
    assert_true(fhir_vitals_from_observation(o, &popts, &in, &err));
    assert_false(schema_validate(schema_set_find(schemas, "http/vitals"), in.body, &err));
    assert_string_equal(err.field, "heart_rate");
    fhir_error_to_fhir(&err, in.paths, "Observation");
    assert_string_equal(err.field, "Observation.valueQuantity.value");
    /* the record's unknown_reference taken_by is the performer */
    ed_error_set(&err, ED_ERR_UNKNOWN_REFERENCE, "taken_by", "no such staff");
    fhir_error_to_fhir(&err, in.paths, "Observation");
    assert_string_equal(err.field, "Observation.performer");
    ed_error_set(&err, ED_ERR_INVALID_VALUE, "confirm", "x");
    fhir_error_to_fhir(&err, in.paths, "Observation");
    assert_string_equal(err.field, "Observation");
    fhir_vitals_in_clear(&in);
    json_decref(o);
}

static void test_parse_json(void **state)
{
    static const char dup[] = "{\"resourceType\":\"Observation\",\"status\":\"final\","
                              "\"status\":\"amended\"}";
    struct ed_error err = {0};
    json_t *doc;
    (void)state;

    assert_null(fhir_parse_json(dup, sizeof dup - 1, &err));
    assert_string_equal(err.code, "malformed_json");
    assert_int_equal(err.status, 400);
    assert_null(fhir_parse_json("[1]", 3, &err));
    doc = fhir_parse_json("{\"a\":1}", 7, &err);
    assert_non_null(doc);
    json_decref(doc);
}

/* ---- POST Encounter ---- */

static json_t *arrival_encounter(void)
{
    static const char text[] =
        "{\"resourceType\": \"Encounter\","
        " \"contained\": [{\"resourceType\": \"Patient\", \"id\": \"p\","
        "   \"identifier\": [{\"type\": {\"coding\": [{\"system\":"
        " \"http://terminology.hl7.org/CodeSystem/v2-0203\", \"code\": \"MR\"}]},"
        "     \"system\": \"urn:oid:1.2.3.4\", \"value\": \"100077\"}],"
        "   \"name\": [{\"use\": \"official\", \"family\": \"Moreau\", \"given\": [\"Lea\"]}],"
        "   \"gender\": \"female\", \"birthDate\": \"1988-02-29\"}],"
        " \"extension\": [{\"url\": "
        "\"https://edlive.invalid/fhir/StructureDefinition/arrival-mode\","
        "   \"valueCoding\": {\"system\": \"https://edlive.invalid/fhir/CodeSystem/arrival-mode\","
        "   \"code\": \"ambulance\"}}],"
        " \"status\": \"arrived\","
        " \"class\": {\"system\": \"http://terminology.hl7.org/CodeSystem/v3-ActCode\", \"code\": "
        "\"EMER\"},"
        " \"priority\": {\"coding\": [{\"system\": \"https://edlive.invalid/fhir/CodeSystem/esi\","
        "   \"code\": \"3\"}]},"
        " \"subject\": {\"reference\": \"#p\"},"
        " \"period\": {\"start\": \"2026-11-25T09:30:00Z\"},"
        " \"reasonCode\": [{\"text\": \"abdominal pain\"}]}";
    json_error_t je;
    json_t *e = json_loads(text, 0, &je);

    if (!e)
        fail_msg("arrival_encounter: %s", je.text);
    return e;
}

static void test_arrival(void **state)
{
    json_t *e = arrival_encounter();
    struct fhir_arrival_in in;
    struct ed_error err = {0};
    const json_t *p;
    (void)state;

    assert_true(fhir_arrival_from_encounter(e, NULL, false, &popts, &in, &err));
    assert_false(in.unidentified);
    p = json_object_get(in.body, "patient");
    assert_string_equal(json_string_value(json_object_get(p, "mrn")), "100077");
    assert_string_equal(json_string_value(json_object_get(p, "family_name")), "Moreau");
    assert_string_equal(json_string_value(json_object_get(p, "given_name")), "Lea");
    assert_string_equal(json_string_value(json_object_get(p, "birth_date")), "1988-02-29");
    assert_string_equal(json_string_value(json_object_get(p, "sex")), "female");
    assert_string_equal(json_string_value(json_object_get(in.body, "arrival_mode")), "ambulance");
    assert_string_equal(json_string_value(json_object_get(in.body, "chief_complaint")),
                        "abdominal pain");
    assert_string_equal(json_string_value(json_object_get(in.body, "arrived_at")),
                        "2026-11-25T09:30:00Z");
    assert_valid("http/arrival", in.body);
    /* ESI: a triage after the arrival */
    assert_int_equal(json_array_size(in.writes), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(in.writes, 0), "route")),
                        "triage");
    assert_string_equal(json_string_value(json_object_get(in.paths, "patient.family_name")),
                        "Encounter.contained[0].name[0].family");
    fhir_arrival_in_clear(&in);

    /* nobody can name them: the contained Patient has a gender only */
    json_object_set_new(json_array_get(json_object_get(e, "contained"), 0), "identifier",
                        json_array());
    json_object_del(json_array_get(json_object_get(e, "contained"), 0), "name");
    json_object_del(json_array_get(json_object_get(e, "contained"), 0), "birthDate");
    json_object_del(json_array_get(json_object_get(e, "contained"), 0), "identifier");
    assert_true(fhir_arrival_from_encounter(e, NULL, false, &popts, &in, &err));
    assert_true(in.unidentified);
    assert_string_equal(json_string_value(json_object_get(in.body, "sex")), "female");
    assert_valid("http/arrival_unidentified", in.body);
    fhir_arrival_in_clear(&in);

    /* an existing patient by id, and by MRN identifier */
    json_object_set_new(e, "subject", json_pack("{s:s}", "reference", "Patient/9"));
    assert_true(fhir_arrival_from_encounter(e, NULL, false, &popts, &in, &err));
    assert_int_equal(in.patient, 9);
    assert_null(json_object_get(in.body, "patient"));
    fhir_arrival_in_clear(&in);
    json_object_set_new(
        e, "subject",
        json_pack("{s:{s:s,s:s}}", "identifier", "system", "urn:oid:1.2.3.4", "value", "100012"));
    assert_true(fhir_arrival_from_encounter(e, NULL, false, &popts, &in, &err));
    assert_valid("http/arrival", in.body);
    fhir_arrival_in_clear(&in);
    json_decref(e);
}

static void test_arrival_round_trip(void **state)
{
    const json_t *row = json_object_get(chart(0), "encounter");
    json_t *e = fhir_encounter(row, NULL, &bopts);
    json_t *p = fhir_patient(json_object_get(row, "patient"), &bopts);
    struct fhir_arrival_in in;
    struct ed_error err = {0};
    (void)state;

    json_object_set_new(e, "subject", json_pack("{s:s}", "reference", "urn:uuid:x"));
    assert_true(fhir_arrival_from_encounter(e, p, false, &popts, &in, &err));
    assert_string_equal(json_string_value(json_object_get(in.body, "chief_complaint")),
                        "chest pain");
    assert_string_equal(json_string_value(json_object_get(in.body, "arrival_mode")), "ambulance");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(in.body, "patient"), "mrn")), "100012");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(in.writes, 0), "body"), "esi")),
                     2);
    assert_valid("http/arrival", in.body);
    /* what a built Encounter has that an arrival does not take */
    assert_true(json_array_size(in.dropped) > 0);
    fhir_arrival_in_clear(&in);
    json_decref(e);
    json_decref(p);
}

static void test_arrival_refusals(void **state)
{
    json_t *e = arrival_encounter(), *c;
    struct fhir_arrival_in in;
    struct ed_error err = {0};
    (void)state;

    c = json_deep_copy(e);
    json_object_set_new(c, "status", json_string("finished"));
    assert_false(fhir_arrival_from_encounter(c, NULL, false, &popts, &in, &err));
    assert_string_equal(err.field, "Encounter.status");
    /* an import: the disposition and the departure follow */
    json_object_set_new(
        c, "period",
        json_pack("{s:s,s:s}", "start", "2026-11-25T09:30:00Z", "end", "2026-11-25T11:00:00Z"));
    json_object_set_new(c, "hospitalization",
                        json_pack("{s:{s:[{s:s,s:s}]}}", "dischargeDisposition", "coding", "system",
                                  "http://snomed.info/sct", "code", "21541000119102"));
    assert_true(fhir_arrival_from_encounter(c, NULL, true, &popts, &in, &err));
    assert_int_equal(json_array_size(in.writes), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(in.writes, 1), "body"), "kind")),
                        "lwbs");
    assert_valid("http/disposition", json_object_get(json_array_get(in.writes, 1), "body"));
    assert_valid("http/departure", json_object_get(json_array_get(in.writes, 2), "body"));
    fhir_arrival_in_clear(&in);
    json_decref(c);

    c = json_deep_copy(e);
    json_object_set_new(json_object_get(c, "class"), "code", json_string("AMB"));
    assert_false(fhir_arrival_from_encounter(c, NULL, false, &popts, &in, &err));
    assert_string_equal(err.field, "Encounter.class");
    json_decref(c);

    c = json_deep_copy(e);
    json_object_del(c, "reasonCode");
    assert_false(fhir_arrival_from_encounter(c, NULL, false, &popts, &in, &err));
    assert_string_equal(err.code, "missing_field");
    assert_string_equal(err.field, "Encounter.reasonCode");
    json_decref(c);

    c = json_deep_copy(e); /* named, no MRN */
    json_object_del(json_array_get(json_object_get(c, "contained"), 0), "identifier");
    assert_false(fhir_arrival_from_encounter(c, NULL, false, &popts, &in, &err));
    assert_string_equal(err.field, "Encounter.contained[0].identifier");
    json_decref(c);

    c = json_deep_copy(e);
    json_object_set_new(c, "subject", json_pack("{s:s}", "reference", "#nobody"));
    assert_false(fhir_arrival_from_encounter(c, NULL, false, &popts, &in, &err));
    assert_string_equal(err.field, "Encounter.subject.reference");
    json_decref(c);

    c = json_deep_copy(e);
    json_object_set_new(json_object_get(c, "period"), "start", json_string("2026-11-25"));
    assert_false(fhir_arrival_from_encounter(c, NULL, false, &popts, &in, &err));
    assert_string_equal(err.field, "Encounter.period.start");
    json_decref(c);

    c = json_deep_copy(e);
    json_object_set_new(c, "priority",
                        json_pack("{s:[{s:s,s:s}]}", "coding", "system",
                                  "https://edlive.invalid/fhir/CodeSystem/esi", "code", "7"));
    assert_false(fhir_arrival_from_encounter(c, NULL, false, &popts, &in, &err));
    assert_string_equal(err.field, "Encounter.priority");
    json_decref(c);

    /* a schema refusal after the parse names the FHIR path */
    json_object_set_new(json_array_get(json_object_get(e, "contained"), 0), "birthDate",
                        json_string("1988-02-30"));
    assert_true(fhir_arrival_from_encounter(e, NULL, false, &popts, &in, &err));
    assert_false(schema_validate(schema_set_find(schemas, "http/arrival"), in.body, &err));
    fhir_error_to_fhir(&err, in.paths, "Encounter");
    assert_string_equal(err.field, "Encounter.contained[0].birthDate");
    fhir_arrival_in_clear(&in);
    json_decref(e);
}

/* The MRN: 1-64 letters, digits or '-' (proto/http/arrival.json): a Synthea UUID (36) and 64
 * characters pass the schema, 65 are refused too_long at the identifier's value. */
static void test_arrival_mrn_length(void **state)
{
    static const char *const mrns[] = {
        "fc712d1f-5a2e-4407-9c55-a2a2bad623c2",
        "c0cd7d3c-da6a-4e2f-a130-35e4d7db9d11-0123456789-ABCDEFGHIJKLMNOP",
        "c0cd7d3c-da6a-4e2f-a130-35e4d7db9d11-0123456789-ABCDEFGHIJKLMNOPQ"};
    struct fhir_arrival_in in;
    struct ed_error err = {0};
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        json_t *e = arrival_encounter();
        json_t *id = json_array_get(
            json_object_get(json_array_get(json_object_get(e, "contained"), 0), "identifier"), 0);
        json_object_set_new(id, "value", json_string(mrns[i]));
        assert_true(fhir_arrival_from_encounter(e, NULL, false, &popts, &in, &err));
        if (i < 2) {
            assert_int_equal(strlen(mrns[i]), i ? 64 : 36);
            assert_valid("http/arrival", in.body);
        } else {
            assert_int_equal(strlen(mrns[i]), 65);
            assert_false(schema_validate(schema_set_find(schemas, "http/arrival"), in.body, &err));
            assert_string_equal(err.code, "too_long");
            fhir_error_to_fhir(&err, in.paths, "Encounter");
            assert_string_equal(err.field, "Encounter.contained[0].identifier[0].value");
        }
        fhir_arrival_in_clear(&in);
        json_decref(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vitals_round_trip),
        cmocka_unit_test(test_one_observation),
        cmocka_unit_test(test_observation_refusals),
        cmocka_unit_test(test_bundle_refusals),
        cmocka_unit_test(test_errors_renamed),
        cmocka_unit_test(test_parse_json),
        cmocka_unit_test(test_arrival),
        cmocka_unit_test(test_arrival_round_trip),
        cmocka_unit_test(test_arrival_refusals),
        cmocka_unit_test(test_arrival_mrn_length),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
