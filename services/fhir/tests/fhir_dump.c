/* SPDX-License-Identifier: MIT */
/* fhir_dump.c: fhir_dump <fixtures.json> prints, as one JSON object {"resources": [...]},
 * every resource libedfhir builds from the fixture records (proto/fixtures/fhir_records.json):
 * Patients, Encounters (with and without the chart), the Observations of every vitals set, the
 * current NEWS2, Locations, Practitioners, the CapabilityStatement, a searchset Bundle and
 * OperationOutcomes. fhir_validate.test.mjs validates each against the R4 definitions. */
#include <stdio.h>

#include "fhir.h"

static const struct fhir_opts opts = {"https://ed.example.org/fhir/R4",
                                      "https://ed.example.org/fhir/mrn"};

static void add(json_t *list, json_t *resource)
{
    if (resource)
        json_array_append_new(list, resource);
}

static void add_all(json_t *list, json_t *array)
{
    json_array_extend(list, array);
    json_decref(array);
}

int main(int argc, char **argv)
{
    json_error_t je;
    json_t *fx, *out, *list, *encounters = json_array(), *chart, *item, *bundle;
    const json_t *board;
    struct ed_error err = {0};
    size_t i, j;

    if (argc != 2) {
        fprintf(stderr, "usage: fhir_dump <proto/fixtures/fhir_records.json>\n");
        return 2;
    }
    fx = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &je);
    if (!fx) {
        fprintf(stderr, "%s: %s (line %d)\n", argv[1], je.text, je.line);
        return 1;
    }
    list = json_array();
    board = json_object_get(fx, "board");
    add(list, fhir_location_department(json_object_get(board, "department"), &opts));
    json_array_foreach (json_object_get(board, "beds"), i, item)
        add(list, fhir_location(item, json_object_get(board, "department"), &opts));
    json_array_foreach (json_object_get(board, "staff"), i, item)
        add(list, fhir_practitioner(item, &opts));
    json_array_foreach (json_object_get(fx, "charts"), i, item) {
        const json_t *row;
        json_t *vitals;
        chart = json_object_get(item, "chart");
        row = json_object_get(chart, "encounter");
        add(list, fhir_patient(json_object_get(row, "patient"), &opts));
        add(list, fhir_encounter(row, chart, &opts));
        add(encounters, fhir_encounter(row, NULL, &opts));
        json_array_foreach (json_object_get(chart, "vitals"), j, vitals)
            add_all(list, fhir_observations_from_vitals(vitals,
                                                        json_integer_value(json_object_get(
                                                            json_object_get(row, "patient"), "id")),
                                                        &opts));
        add(list, fhir_observation_news2_current(chart, &opts));
    }
    add(list, fhir_capability_statement("2026-12-04", &opts));
    {
        /* The Subscriptions Backport: a Subscription of each topic, a handshake, a heartbeat
         * and an event-notification of each payload content, from the first chart. */
        const json_t *chart0 =
            json_object_get(json_array_get(json_object_get(fx, "charts"), 0), "chart");
        const json_t *row0 = json_object_get(chart0, "encounter");
        json_t *vs = json_pack("{s:I, s:s, s:s, s:I, s:s, s:i}", "id", (json_int_t)7, "status",
                               "active", "topic", "vital-signs", "department_id", (json_int_t)1,
                               "payload", "full-resource", "heartbeat_period", 60);
        json_t *enc =
            json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:i}", "id", (json_int_t)8, "status",
                      "active", "topic", "encounter", "department_id", (json_int_t)1,
                      "encounter_id", (json_int_t)json_integer_value(json_object_get(row0, "id")),
                      "payload", "id-only", "heartbeat_period", 30);
        json_t *payload = json_pack("{s:O, s:O}", "encounter", row0, "vitals",
                                    json_array_get(json_object_get(chart0, "vitals"), 0));
        json_t *events = json_array(), *none = json_array();
        add(list, fhir_subscription(vs, &opts));
        add(list, fhir_subscription(enc, &opts));
        add(list, fhir_subscription_notification(vs, "handshake", 0, none, "2026-12-04T10:00:00Z",
                                                 &opts));
        add(list, fhir_subscription_notification(enc, "heartbeat", 3, none, "2026-12-04T10:00:00Z",
                                                 &opts));
        json_array_append_new(events, fhir_subscription_event(vs, 5, "2026-12-04T10:00:01Z",
                                                              "vitals.recorded", payload, &opts));
        add(list, fhir_subscription_notification(vs, "event-notification", 5, events,
                                                 "2026-12-04T10:00:02Z", &opts));
        json_array_clear(events);
        json_array_append_new(events, fhir_subscription_event(enc, 4, "2026-12-04T10:00:01Z",
                                                              "encounter.triaged", payload, &opts));
        add(list, fhir_subscription_notification(enc, "query-event", 4, events,
                                                 "2026-12-04T10:00:02Z", &opts));
        json_decref(events);
        json_decref(none);
        json_decref(payload);
        json_decref(vs);
        json_decref(enc);
    }
    bundle = fhir_bundle_searchset(encounters, 12,
                                   "https://ed.example.org/fhir/R4/Encounter?status=in-progress",
                                   "https://ed.example.org/fhir/R4/Encounter?status=in-progress"
                                   "&_cursor=27",
                                   &opts);
    add(list, bundle);
    ed_error_set(&err, ED_ERR_OUT_OF_RANGE, "Observation.valueQuantity.value",
                 "must be between 0 and 300");
    add(list, fhir_operation_outcome(&err));
    ed_error_set(&err, ED_ERR_NOT_FOUND, NULL, "no such encounter");
    add(list, fhir_operation_outcome(&err));
    out = json_pack("{s:o}", "resources", list);
    json_dumpf(out, stdout, JSON_INDENT(1));
    putchar('\n');
    json_decref(out);
    json_decref(encounters);
    json_decref(fx);
    return 0;
}
