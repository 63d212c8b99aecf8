/* SPDX-License-Identifier: MIT */
/* test_fhir_subscription.c: the Subscriptions Backport's parser (POST Subscription) and the
 * numbering its notification Bundles carry (fhir_subscription.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fhir.h"

#define BP "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"

static json_t *sub(const char *topic, const char *filter, const char *channel_type,
                   const char *payload, int heartbeat)
{
    return json_pack("{s:s, s:s, s:s, s:{s:[{s:s, s:s}]}, s:{s:s, s:s, s:{s:[{s:s, s:s}]}, "
                     "s:[{s:s, s:i}]}}",
                     "resourceType", "Subscription", "status", "requested", "criteria", topic,
                     "_criteria", "extension", "url", BP "backport-filter-criteria", "valueString",
                     filter, "channel", "type", channel_type, "payload", "application/fhir+json",
                     "_payload", "extension", "url", BP "backport-payload-content", "valueCode",
                     payload, "extension", "url", BP "backport-heartbeat-period",
                     "valueUnsignedInt", heartbeat);
}

static void accepts_each_filter(void **state)
{
    struct fhir_subscription_in in;
    struct ed_error err = {0};
    json_t *s;
    (void)state;

    s = sub(FHIR_TOPIC_VITALS_URL, "Observation?location=Location/dept-3", "websocket",
            "full-resource", 30);
    assert_true(fhir_subscription_from_resource(s, &in, &err));
    assert_int_equal(in.topic, FHIR_TOPIC_VITALS);
    assert_int_equal(in.department_id, 3);
    assert_string_equal(in.payload, "full-resource");
    assert_int_equal(in.heartbeat_period, 30);
    json_decref(s);

    s = sub(FHIR_TOPIC_VITALS_URL, "Observation?encounter=Encounter/12", "websocket", "id-only",
            60);
    assert_true(fhir_subscription_from_resource(s, &in, &err));
    assert_int_equal(in.encounter_id, 12);
    assert_int_equal(in.department_id, 0);
    json_decref(s);

    s = sub(FHIR_TOPIC_ENCOUNTER_URL, "Encounter?patient=Patient/5", "websocket", "id-only", 60);
    assert_true(fhir_subscription_from_resource(s, &in, &err));
    assert_int_equal(in.topic, FHIR_TOPIC_ENCOUNTER);
    assert_int_equal(in.patient_id, 5);
    json_decref(s);
}

static void refusals_name_the_element(void **state)
{
    static const struct {
        const char *topic, *filter, *type, *payload;
        int heartbeat;
        const char *field;
    } cases[] = {
        {"https://example.org/topic", "Observation?location=Location/dept-1", "websocket",
         "id-only", 60, "Subscription.criteria"},
        {FHIR_TOPIC_VITALS_URL, "Observation?location=Location/dept-1", "rest-hook", "id-only", 60,
         "Subscription.channel.type"},
        {FHIR_TOPIC_VITALS_URL, "Encounter?location=Location/dept-1", "websocket", "id-only", 60,
         "Subscription.criteria.extension[0].valueString"},
        {FHIR_TOPIC_VITALS_URL, "Observation?code=8867-4", "websocket", "id-only", 60,
         "Subscription.criteria.extension[0].valueString"},
        {FHIR_TOPIC_VITALS_URL, "Observation?location=Location/dept-x", "websocket", "id-only", 60,
         "Subscription.criteria.extension[0].valueString"},
        {FHIR_TOPIC_VITALS_URL, "Observation?location=Location/dept-1", "websocket", "everything",
         60, "Subscription.channel.payload.extension"},
        {FHIR_TOPIC_VITALS_URL, "Observation?location=Location/dept-1", "websocket", "id-only", 5,
         "Subscription.channel.extension"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fhir_subscription_in in;
        struct ed_error err = {0};
        json_t *s = sub(cases[i].topic, cases[i].filter, cases[i].type, cases[i].payload,
                        cases[i].heartbeat);
        assert_false(fhir_subscription_from_resource(s, &in, &err));
        assert_string_equal(err.field, cases[i].field);
        json_decref(s);
    }
}

static const char *param(const json_t *status, const char *name)
{
    size_t i;
    json_t *p;

    json_array_foreach (json_object_get(status, "parameter"), i, p)
        if (!strcmp(json_string_value(json_object_get(p, "name")), name)) {
            const char *k;
            json_t *v;
            json_object_foreach (p, k, v)
                if (!strncmp(k, "value", 5))
                    return json_string_value(v);
        }
    return NULL;
}

static void notification_numbers_and_focus(void **state)
{
    struct fhir_opts opts = {"https://ed.example.org/fhir/R4", NULL};
    json_t *row =
        json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:i}", "id", (json_int_t)4, "status", "active",
                  "topic", "encounter", "department_id", (json_int_t)1, "encounter_id",
                  (json_int_t)12, "payload", "id-only", "heartbeat_period", 60);
    json_t *payload = json_pack("{s:{s:I, s:s}}", "encounter", "encounter_id", (json_int_t)12,
                                "status", "waiting");
    json_t *events = json_array(), *b, *status, *ev;
    (void)state;

    json_array_append_new(events, fhir_subscription_event(row, 9, "2026-12-04T10:00:00Z",
                                                          "encounter.triaged", payload, &opts));
    b = fhir_subscription_notification(row, "event-notification", 9, events, "2026-12-04T10:00:01Z",
                                       &opts);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "type")), "history");
    assert_int_equal(json_array_size(json_object_get(b, "entry")), 1); /* id-only */
    status = json_object_get(json_array_get(json_object_get(b, "entry"), 0), "resource");
    assert_string_equal(param(status, "events-since-subscription-start"), "9");
    assert_string_equal(param(status, "type"), "event-notification");
    assert_string_equal(param(status, "topic"), FHIR_TOPIC_ENCOUNTER_URL);
    ev = json_array_get(json_object_get(status, "parameter"), 5);
    assert_string_equal(json_string_value(json_object_get(ev, "name")), "notification-event");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(ev, "part"), 0), "valueString")),
                        "9");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(ev, "part"), 2), "valueReference"),
            "reference")),
        "Encounter/12");
    json_decref(b);
    json_decref(events);
    json_decref(payload);
    json_decref(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_each_filter),
        cmocka_unit_test(refusals_name_the_element),
        cmocka_unit_test(notification_numbers_and_focus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
