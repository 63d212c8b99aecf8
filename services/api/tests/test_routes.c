/* SPDX-License-Identifier: MIT */
/* test_routes.c: the route table's first steps, with nothing running: which route a request
 * line names, its id, its permission-matrix action, 404 versus 405, and the Allow header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "api.h"
#include "schema.h"

#define ANY_SIGNED_IN ACT_COUNT

static const struct {
    enum route_method method;
    const char *path;
    const char *pattern; /* NULL: no route; then path_known says 405 (true) or 404 */
    long long id;
    enum record_action action;
    bool path_known;
} cases[] = {
    {ROUTE_POST, "/api/v1/session", "/api/v1/session", 0, ANY_SIGNED_IN, true},
    {ROUTE_GET, "/api/v1/departments", "/api/v1/departments", 0, ANY_SIGNED_IN, true},
    {ROUTE_GET, "/api/v1/departments/7/board", "/api/v1/departments/:id/board", 7, ACT_BOARD_READ,
     true},
    {ROUTE_POST, "/api/v1/departments/3/arrivals/unidentified",
     "/api/v1/departments/:id/arrivals/unidentified", 3, ACT_ARRIVAL, true},
    {ROUTE_GET, "/api/v1/encounters/42", "/api/v1/encounters/:id", 42, ACT_CHART_READ, true},
    {ROUTE_POST, "/api/v1/encounters/999999999999999/vitals", "/api/v1/encounters/:id/vitals",
     999999999999999LL, ACT_VITALS, true},
    {ROUTE_POST, "/api/v1/encounters/5/news2-scale", "/api/v1/encounters/:id/news2-scale", 5,
     ACT_NEWS2_SCALE, true},
    {ROUTE_POST, "/api/v1/orders/9/seen", "/api/v1/orders/:id/seen", 9, ACT_ORDER, true},
    {ROUTE_POST, "/api/v1/beds/12/status", "/api/v1/beds/:id/status", 12, ACT_BED_STATUS, true},
    {ROUTE_PUT, "/api/v1/departments/1/alert-thresholds",
     "/api/v1/departments/:id/alert-thresholds", 1, ACT_THRESHOLDS_WRITE, true},
    {ROUTE_GET, "/api/v1/departments/1/alert-thresholds",
     "/api/v1/departments/:id/alert-thresholds", 1, ACT_THRESHOLDS_READ, true},
    {ROUTE_GET, "/api/v1/audit", "/api/v1/audit", 0, ACT_AUDIT_READ, true},
    /* Known paths, wrong method: 405. */
    {ROUTE_GET, "/api/v1/encounters/5/vitals", NULL, 0, 0, true},
    {ROUTE_DELETE, "/api/v1/encounters/5", NULL, 0, 0, true},
    {ROUTE_OTHER, "/api/v1/session", NULL, 0, 0, true},
    /* Ids are positive integers of at most 15 digits; anything else is no path at all: 404. */
    {ROUTE_GET, "/api/v1/encounters/0", NULL, 0, 0, false},
    {ROUTE_GET, "/api/v1/encounters/-1", NULL, 0, 0, false},
    {ROUTE_GET, "/api/v1/encounters/12a", NULL, 0, 0, false},
    {ROUTE_GET, "/api/v1/encounters/1234567890123456", NULL, 0, 0, false},
    {ROUTE_GET, "/api/v1/encounters/", NULL, 0, 0, false},
    {ROUTE_GET, "/api/v1/encounters/5/", NULL, 0, 0, false},
    {ROUTE_GET, "/api/v1/encounters/5/chart", NULL, 0, 0, false},
    {ROUTE_POST, "/api/v1/arrivals/unidentified", NULL, 0, 0, false},
    {ROUTE_GET, "/API/v1/departments", NULL, 0, 0, false},
    {ROUTE_GET, "/api/v1/departments/1/board/extra", NULL, 0, 0, false},
    {ROUTE_GET, "", NULL, 0, 0, false},
};

static void test_route_lookup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct route_info info = {0};
        bool known = !cases[i].path_known;
        bool found = routes_lookup(cases[i].method, cases[i].path, &info, &known);

        if (found != (cases[i].pattern != NULL))
            fail_msg("%s: %s", cases[i].path, found ? "matched a route" : "matched no route");
        if (!found) {
            if (known != cases[i].path_known)
                fail_msg("%s: should be %s", cases[i].path, cases[i].path_known ? "405" : "404");
            continue;
        }
        assert_string_equal(info.pattern, cases[i].pattern);
        assert_int_equal(info.id, cases[i].id);
        if (info.action != cases[i].action)
            fail_msg("%s: action %d, expected %d", cases[i].path, info.action, cases[i].action);
        /* Only signing in is public. */
        assert_int_equal(info.is_public, cases[i].method == ROUTE_POST &&
                                             !strcmp(cases[i].path, "/api/v1/session"));
    }
}

static void test_allow_header(void **state)
{
    (void)state;
    assert_string_equal(routes_allowed_methods("/api/v1/session"), "GET, POST, DELETE");
    assert_string_equal(routes_allowed_methods("/api/v1/encounters/5/vitals"), "POST");
    assert_string_equal(routes_allowed_methods("/api/v1/departments/2/alert-thresholds"),
                        "GET, PUT");
    assert_string_equal(routes_allowed_methods("/api/v1/nothing"), "");
}

/* Every write names its body's schema, and every schema it names is in proto/. */
static void test_bodies_have_schemas(void **state)
{
    struct ed_error err = {0};
    struct schema_set *schemas = schema_set_load(PROTO_DIR, &err);

    (void)state;
    assert_non_null(schemas);
    assert_true(routes_check_schemas(schemas, &err));
    assert_true(routes_takes_body(ROUTE_POST, "/api/v1/encounters/5/vitals"));
    assert_true(routes_takes_body(ROUTE_PUT, "/api/v1/departments/2/alert-thresholds"));
    assert_false(routes_takes_body(ROUTE_GET, "/api/v1/departments/2/board"));
    assert_false(routes_takes_body(ROUTE_DELETE, "/api/v1/session"));
    schema_set_free(schemas);
}

/* /fhir/R4 (fhir_routes.c): which paths are FHIR, which take a body, what a 405 allows. */
static void test_fhir_paths(void **state)
{
    (void)state;
    assert_true(fhir_routes_is_fhir("/fhir/R4/metadata"));
    assert_true(fhir_routes_is_fhir("/fhir/R5/Patient"));
    assert_false(fhir_routes_is_fhir("/api/v1/session"));
    assert_false(fhir_routes_is_fhir("/fhirish"));
    assert_true(fhir_routes_takes_body(ROUTE_POST, "/fhir/R4/Observation"));
    assert_true(fhir_routes_takes_body(ROUTE_POST, "/fhir/R4/Encounter"));
    assert_true(fhir_routes_takes_body(ROUTE_POST, "/fhir/R4"));
    assert_false(fhir_routes_takes_body(ROUTE_POST, "/fhir/R4/Patient"));
    assert_false(fhir_routes_takes_body(ROUTE_POST, "/fhir/R4/Observation/12-hr"));
    /* only the base takes a transaction Bundle of up to API_MAX_BUNDLE_BYTES */
    assert_true(fhir_routes_takes_bundle(ROUTE_POST, "/fhir/R4"));
    assert_false(fhir_routes_takes_bundle(ROUTE_POST, "/fhir/R4/Observation"));
    assert_false(fhir_routes_takes_bundle(ROUTE_POST, "/fhir/R4/Encounter"));
    assert_false(fhir_routes_takes_bundle(ROUTE_GET, "/fhir/R4"));
    assert_false(fhir_routes_takes_body(ROUTE_GET, "/fhir/R4/Observation"));
    assert_string_equal(fhir_routes_allowed_methods("/fhir/R4/Observation"), "GET, POST");
    assert_string_equal(fhir_routes_allowed_methods("/fhir/R4/Encounter/12"), "GET");
    assert_string_equal(fhir_routes_allowed_methods("/fhir/R4/Location/dept-1"), "GET");
    assert_string_equal(fhir_routes_allowed_methods("/fhir/R4/metadata"), "GET");
    assert_string_equal(fhir_routes_allowed_methods("/fhir/R4"), "POST");
    /* Not a resource of ours, or not an R4 id: no such path (404, no Allow). */
    assert_null(fhir_routes_allowed_methods("/fhir/R4/Medication"));
    assert_null(fhir_routes_allowed_methods("/fhir/R4/Encounter/12/_history"));
    assert_null(fhir_routes_allowed_methods("/fhir/R4/Encounter/a%20b"));
    assert_null(fhir_routes_allowed_methods("/fhir/R4/Encounter/"));
    assert_null(fhir_routes_allowed_methods("/fhir/R3/Encounter/1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_lookup),
        cmocka_unit_test(test_allow_header),
        cmocka_unit_test(test_bodies_have_schemas),
        cmocka_unit_test(test_fhir_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
