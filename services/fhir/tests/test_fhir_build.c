/* SPDX-License-Identifier: MIT */
/* test_fhir_build.c: the builders against proto/fhir/FHIR_MAPPING.md, on the fixture records
 * (proto/fixtures/fhir_records.json) and on rows made here for each status and disposition.
 * That the output is valid R4 is fhir_validate.test.mjs's part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"

static const struct fhir_opts opts = {"https://ed.example.org/fhir/R4", "urn:oid:1.2.3.4"};
static json_t *fixtures;

static const json_t *chart(size_t i)
{
    return json_object_get(json_array_get(json_object_get(fixtures, "charts"), i), "chart");
}

static const json_t *row(size_t i)
{
    return json_object_get(chart(i), "encounter");
}

/* The string at a path of keys and array indexes ("location", "0", "status"), or NULL. */
static const char *at(const json_t *v, ...)
{
    va_list ap;
    const char *k;

    va_start(ap, v);
    while (v && (k = va_arg(ap, const char *))) {
        if (json_is_array(v))
            v = json_array_get(v, (size_t)strtoul(k, NULL, 10));
        else
            v = json_object_get(v, k);
    }
    va_end(ap);
    return json_string_value(v);
}

static int setup(void **state)
{
    json_error_t je;
    (void)state;
    fixtures = json_load_file(FIXTURES, JSON_REJECT_DUPLICATES, &je);
    if (!fixtures)
        fprintf(stderr, "%s: %s\n", FIXTURES, je.text);
    return fixtures ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(fixtures);
    return 0;
}

/* Same member names, both ways. */
static void assert_same_keys(const json_t *a, const json_t *b, const char *what)
{
    const char *k;
    json_t *v;

    json_object_foreach ((json_t *)a, k, v)
        if (!json_object_get(b, k))
            fail_msg("%s: the fixture lacks \"%s\"", what, k);
    json_object_foreach ((json_t *)b, k, v)
        if (!json_object_get(a, k))
            fail_msg("%s: the fixture has \"%s\", which the record's row does not", what, k);
}

/* The fixture rows have the shape of the rows the hub and the pages are tested on
 * (proto/fixtures/board_events.json), so a row that grows a field shows here. */
static void test_fixture_shape(void **state)
{
    json_t *events = json_load_file(PROTO_DIR "/fixtures/board_events.json", 0, NULL);
    const json_t *ref = json_array_get(
        json_object_get(
            json_object_get(json_array_get(json_object_get(events, "cases"), 0), "board"),
            "encounters"),
        0);
    (void)state;

    assert_non_null(ref);
    for (size_t i = 0; i < json_array_size(json_object_get(fixtures, "charts")); i++) {
        assert_same_keys(ref, row(i), "row");
        assert_same_keys(json_object_get(ref, "patient"), json_object_get(row(i), "patient"),
                         "row.patient");
    }
    json_decref(events);
}

static void test_patient(void **state)
{
    json_t *p = fhir_patient(json_object_get(row(0), "patient"), &opts);
    json_t *u = fhir_patient(json_object_get(row(1), "patient"), &opts);
    (void)state;

    assert_string_equal(at(p, "id", NULL), "12");
    assert_string_equal(at(p, "identifier", "0", "value", NULL), "100012");
    assert_string_equal(at(p, "identifier", "0", "system", NULL), "urn:oid:1.2.3.4");
    assert_string_equal(at(p, "identifier", "0", "type", "coding", "0", "code", NULL), "MR");
    assert_string_equal(at(p, "name", "0", "family", NULL), "Schmidt");
    assert_string_equal(at(p, "name", "0", "given", "0", NULL), "Anna");
    assert_string_equal(at(p, "gender", NULL), "female");
    assert_string_equal(at(p, "birthDate", NULL), "1958-04-02");
    /* unidentified: no MRN, no name; the temporary id and the alias */
    assert_string_equal(at(u, "identifier", "0", "use", NULL), "temp");
    assert_string_equal(at(u, "identifier", "0", "value", NULL), "Trauma-0042");
    assert_string_equal(at(u, "name", "0", "text", NULL), "Unknown Male Trauma-0042");
    assert_null(json_object_get(u, "birthDate"));
    json_decref(p);
    p = json_object();
    assert_null(fhir_patient(p, &opts)); /* no id: nothing */
    json_decref(p);
    json_decref(u);
}

/* A row with status and what a status brings. */
static json_t *row_with(const char *status, const char *triaged_at, const char *kind)
{
    json_t *r = json_deep_copy(row(0));
    json_object_set_new(r, "status", json_string(status));
    json_object_set_new(r, "triaged_at", triaged_at ? json_string(triaged_at) : json_null());
    if (kind)
        json_object_set_new(r, "disposition",
                            json_pack("{s:s,s:s,s:n}", "kind", kind, "decided_at",
                                      "2026-11-25T09:00:00Z", "destination"));
    return r;
}

static void test_encounter_status(void **state)
{
    static const char *const cases[][3] = {
        {"waiting", NULL, "arrived"},
        {"waiting", "2026-11-25T07:45:00Z", "triaged"},
        {"in_room", "2026-11-25T07:45:00Z", "in-progress"},
        {"seen_by_provider", NULL, "in-progress"},
        {"disposition_decided", NULL, "in-progress"},
        {"departed", NULL, "finished"},
        {"left_without_being_seen", NULL, "finished"},
        {"entered_in_error", NULL, "entered-in-error"},
        {"something_new", NULL, "unknown"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *r = row_with(cases[i][0], cases[i][1], NULL);
        json_t *e = fhir_encounter(r, NULL, &opts);
        assert_string_equal(at(e, "status", NULL), cases[i][2]);
        assert_string_equal(at(e, "class", "code", NULL), "EMER");
        assert_string_equal(at(e, "meta", "versionId", NULL), "7");
        json_decref(e);
        json_decref(r);
    }
}

static void test_encounter_disposition(void **state)
{
    static const char *const cases[][2] = {
        {"discharge", "home"}, {"admit", "oth"},   {"transfer", "other-hcf"},
        {"lwbs", "oth"},       {"ama", "aadvice"}, {"eloped", "aadvice"},
        {"deceased", "exp"},   {"other", "oth"},   {"left_without_disposition", "oth"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *r = row_with("departed", NULL, cases[i][0]);
        json_t *e = fhir_encounter(r, NULL, &opts);
        assert_string_equal(
            at(e, "hospitalization", "dischargeDisposition", "coding", "0", "code", NULL),
            cases[i][1]);
        json_decref(e);
        json_decref(r);
    }
}

static void test_encounter_from_chart(void **state)
{
    json_t *e = fhir_encounter(row(0), chart(0), &opts);
    json_t *d = fhir_encounter(row(2), chart(2), &opts);
    (void)state;

    /* ESI 2: edlive's ESI code and ActPriority EM */
    assert_string_equal(at(e, "priority", "coding", "0", "code", NULL), "2");
    assert_string_equal(at(e, "priority", "coding", "1", "code", NULL), "EM");
    assert_string_equal(at(e, "participant", "0", "type", "0", "coding", "0", "code", NULL),
                        "ATND");
    assert_string_equal(at(e, "participant", "0", "individual", "reference", NULL),
                        "Practitioner/2");
    assert_string_equal(at(e, "participant", "1", "individual", "reference", NULL),
                        "Practitioner/5");
    assert_string_equal(at(e, "reasonCode", "0", "text", NULL), "chest pain");
    assert_string_equal(at(e, "extension", "0", "valueCoding", "code", NULL), "ambulance");
    /* the location history: the waiting room, then A1 now */
    assert_string_equal(at(e, "location", "0", "location", "reference", NULL), "Location/10");
    assert_string_equal(at(e, "location", "0", "status", NULL), "completed");
    assert_string_equal(at(e, "location", "1", "location", "reference", NULL), "Location/3");
    assert_string_equal(at(e, "location", "1", "status", NULL), "active");
    assert_null(at(e, "location", "1", "period", "end", NULL));
    /* arrived, triaged, in-progress (from the first treatment space) */
    assert_string_equal(at(e, "statusHistory", "1", "status", NULL), "triaged");
    assert_string_equal(at(e, "statusHistory", "2", "period", "start", NULL),
                        "2026-11-25T07:52:00Z");
    /* departed after admission: every location completed, the destination kept */
    assert_string_equal(at(d, "status", NULL), "finished");
    assert_string_equal(at(d, "location", "2", "status", NULL), "completed");
    assert_string_equal(at(d, "period", "end", NULL), "2026-11-25T10:30:00Z");
    assert_string_equal(at(d, "hospitalization", "destination", "display", NULL), "Ward 7");
    assert_string_equal(at(d, "hospitalization", "dischargeDisposition", "text", NULL), "admitted");
    json_decref(e);
    json_decref(d);
}

static void test_observations(void **state)
{
    const json_t *set41 = json_array_get(json_object_get(chart(0), "vitals"), 1);
    json_t *obs = fhir_observations_from_vitals(set41, 12, &opts);
    static const char *const ids[] = {"41-hr", "41-rr",   "41-spo2",  "41-temp",
                                      "41-bp", "41-pain", "41-acvpu", "41-news2"};
    const json_t *news2;
    (void)state;

    assert_int_equal(json_array_size(obs), 8);
    for (size_t i = 0; i < 8; i++) {
        const json_t *o = json_array_get(obs, i);
        assert_string_equal(at(o, "id", NULL), ids[i]);
        assert_string_equal(at(o, "encounter", "reference", NULL), "Encounter/12");
        assert_string_equal(at(o, "subject", "reference", NULL), "Patient/12");
        assert_string_equal(at(o, "performer", "0", "reference", NULL), "Practitioner/5");
        assert_string_equal(at(o, "effectiveDateTime", NULL), "2026-11-25T08:10:00Z");
    }
    assert_string_equal(at(obs, "0", "code", "coding", "0", "code", NULL), "8867-4");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(obs, 0), "valueQuantity"), "value")),
                     118);
    assert_string_equal(at(obs, "3", "valueQuantity", "code", NULL), "Cel");
    assert_string_equal(at(obs, "6", "valueCodeableConcept", "coding", "0", "code", NULL), "A");
    news2 = json_array_get(obs, 7);
    assert_string_equal(at(news2, "code", "coding", "0", "code", NULL), "1104051000000101");
    assert_int_equal(json_integer_value(json_object_get(news2, "valueInteger")), 9);
    assert_int_equal(json_array_size(json_object_get(news2, "derivedFrom")), 6); /* no pain */
    json_decref(obs);
}

static void test_news2_current(void **state)
{
    json_t *n = fhir_observation_news2_current(chart(0), &opts);
    json_t *none = fhir_observation_news2_current(chart(2), &opts);
    const json_t *refs = json_object_get(n, "derivedFrom");
    bool hr42 = false;
    size_t i;
    json_t *r;
    (void)state;

    assert_string_equal(at(n, "id", NULL), "news2-12");
    assert_string_equal(at(n, "meta", "versionId", NULL), "7");
    assert_int_equal(json_array_size(refs), 6); /* SpO2 and its oxygen flag: one Observation */
    json_array_foreach (refs, i, r)
        hr42 = hr42 || !strcmp(at(r, "reference", NULL), "Observation/42-hr");
    assert_true(hr42);
    assert_null(none); /* no NEWS2 on the row */
    json_decref(n);
}

static void test_location_practitioner(void **state)
{
    const json_t *board = json_object_get(fixtures, "board");
    const json_t *dept = json_object_get(board, "department");
    json_t *l = fhir_location(json_array_get(json_object_get(board, "beds"), 2), dept, &opts);
    json_t *d = fhir_location_department(dept, &opts);
    json_t *p = fhir_practitioner(json_array_get(json_object_get(board, "staff"), 0), &opts);
    (void)state;

    assert_string_equal(at(l, "id", NULL), "4");
    assert_string_equal(at(l, "name", NULL), "A2");
    assert_string_equal(at(l, "operationalStatus", "code", NULL), "H"); /* being cleaned */
    assert_string_equal(at(l, "physicalType", "coding", "0", "code", NULL), "bd");
    assert_string_equal(at(l, "partOf", "reference", NULL), "Location/dept-1");
    assert_string_equal(at(d, "id", NULL), "dept-1");
    assert_string_equal(at(p, "name", "0", "text", NULL), "Dr. Maria Lopez");
    json_decref(l);
    json_decref(d);
    json_decref(p);
}

static void test_bundle_capability_outcome(void **state)
{
    json_t *list = json_pack("[o]", fhir_encounter(row(0), NULL, &opts));
    json_t *b = fhir_bundle_searchset(list, 40, "https://x/Encounter?a=1",
                                      "https://x/Encounter?a=1&_cursor=9", &opts);
    json_t *cs = fhir_capability_statement("2026-12-04", &opts);
    struct ed_error err = {0};
    json_t *oo;
    char etag[32];
    (void)state;

    assert_string_equal(at(b, "type", NULL), "searchset");
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 40);
    assert_string_equal(at(b, "link", "1", "relation", NULL), "next");
    assert_string_equal(at(b, "entry", "0", "fullUrl", NULL),
                        "https://ed.example.org/fhir/R4/Encounter/12");
    assert_string_equal(at(cs, "fhirVersion", NULL), "4.0.1");
    assert_string_equal(at(cs, "rest", "0", "resource", "2", "type", NULL), "Observation");
    assert_string_equal(at(cs, "rest", "0", "resource", "2", "interaction", "2", "code", NULL),
                        "create");
    ed_error_set(&err, ED_ERR_MISSING_FIELD, "Observation.performer", "name who took it");
    oo = fhir_operation_outcome(&err);
    assert_string_equal(at(oo, "issue", "0", "code", NULL), "required");
    assert_string_equal(at(oo, "issue", "0", "expression", "0", NULL), "Observation.performer");
    assert_string_equal(at(oo, "issue", "0", "diagnostics", NULL), "name who took it");
    assert_string_equal(at(oo, "issue", "0", "details", "coding", "0", "code", NULL),
                        "missing_field");
    assert_string_equal(fhir_issue_code(ED_ERR_VERSION_CONFLICT), "conflict");
    assert_string_equal(fhir_issue_code(ED_ERR_UNAVAILABLE), "transient");
    fhir_etag(7, etag, sizeof etag);
    assert_string_equal(etag, "W/\"7\"");
    json_decref(oo);
    json_decref(cs);
    json_decref(b);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_shape),
        cmocka_unit_test(test_patient),
        cmocka_unit_test(test_encounter_status),
        cmocka_unit_test(test_encounter_disposition),
        cmocka_unit_test(test_encounter_from_chart),
        cmocka_unit_test(test_observations),
        cmocka_unit_test(test_news2_current),
        cmocka_unit_test(test_location_practitioner),
        cmocka_unit_test(test_bundle_capability_outcome),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
