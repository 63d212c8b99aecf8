/* SPDX-License-Identifier: MIT */
/* board_mask.c: see board_mask.h. */
#include "board_mask.h"

#include <stdlib.h>
#include <string.h>

/* Row members a public wall may show, as they are. */
static const char *const wall_keys[] = {
    "encounter_id",   "version",   "department_id", "status",           "bed",         "arrived_at",
    "location_since", "attending", "nurse",         "provider_seen_at", "departed_at",
};

/* The first character (UTF-8) of s, appended to out (room for 5 more bytes). */
static void first_char(const char *s, char *out)
{
    size_t n = 1, at = strlen(out);

    if (!s || !*s)
        return;
    while (s[n] && ((unsigned char)s[n] & 0xC0) == 0x80 && n < 4)
        n++; /* continuation bytes of the same character */
    memcpy(out + at, s, n);
    out[at + n] = '\0';
}

static json_t *or_null(json_t *v)
{
    return v ? v : json_null();
}

json_t *board_mask_row(const json_t *row, bool shows_flags)
{
    json_t *out, *patient = json_object_get(row, "patient");
    char initials[12] = "";

    if (!json_is_object(row) || !(out = json_object()))
        return NULL;
    for (size_t i = 0; i < sizeof wall_keys / sizeof wall_keys[0]; i++) {
        json_t *v = json_object_get(row, wall_keys[i]);
        if (v)
            json_object_set(out, wall_keys[i], v);
    }
    first_char(json_string_value(json_object_get(patient, "given_name")), initials);
    first_char(json_string_value(json_object_get(patient, "family_name")), initials);
    json_object_set_new(out, "patient", json_pack("{s:s}", "initials", initials));
    json_object_set_new(out, "masked", json_true());
    if (shows_flags) {
        json_t *allergies = json_object_get(row, "allergies");
        json_object_set(out, "esi", or_null(json_object_get(row, "esi")));
        json_object_set(out, "isolation", or_null(json_object_get(row, "isolation")));
        /* A mark, not the list: which substance is chart data. */
        json_object_set_new(out, "has_allergies",
                            json_boolean(json_is_array(allergies) && json_array_size(allergies)));
    }
    return out;
}

json_t *board_mask_board(const json_t *board, bool shows_flags)
{
    static const char *const keep[] = {"department", "seq", "beds", "alert_thresholds",
                                       "lwbs_today"};
    json_t *out = json_object(), *rows = json_array(), *row;
    size_t i;

    if (!out || !rows || !json_is_object(board)) {
        json_decref(out);
        json_decref(rows);
        return NULL;
    }
    for (i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(board, keep[i]);
        if (v)
            json_object_set(out, keep[i], v);
    }
    json_array_foreach (json_object_get(board, "encounters"), i, row)
        json_array_append_new(rows, board_mask_row(row, shows_flags));
    json_object_set_new(out, "encounters", rows);
    json_object_set_new(out, "masked", json_true());
    json_object_set_new(out, "wall_shows_flags", json_boolean(shows_flags));
    return out;
}

/* The event's kind as a wall may know it. What the wall shows anyway (arrivals, beds, staff,
 * status, departures, department events) keeps its kind; triage, isolation and allergy keep
 * theirs only when the marks are on the wall; anything else (vitals, notes, orders, record
 * entries, emergency access, ...) is "encounter.updated", so a wall socket cannot tell from
 * the kind that a chart was written to. */
static const char *wall_event_kind(const char *kind, bool shows_flags)
{
    static const char *const shown[] = {
        "encounter.arrived",           "encounter.bed_assigned",     "encounter.staff_assigned",
        "encounter.status_changed",    "encounter.departed",         "bed.status",
        "department.alert_thresholds", "encounter.entered_in_error", "encounter.reopened",
        "department.layout",
    };
    static const char *const marks[] = {"encounter.triaged", "encounter.isolation",
                                        "record.allergy"};

    if (!kind)
        return "encounter.updated";
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        if (!strcmp(kind, shown[i]))
            return kind;
    for (size_t i = 0; shows_flags && i < sizeof marks / sizeof marks[0]; i++)
        if (!strcmp(kind, marks[i]))
            return kind;
    return "encounter.updated";
}

char *board_mask_event(const char *frame, size_t len, bool shows_flags, size_t *out_len)
{
    /* In the frame's order (SQL event_frame()), before the payload: jansson keeps insertion
     * order, so the twin reads like the frame, "topic" at the same offset (hub_client_queue.c). */
    static const char *const envelope[] = {"type",         "topic",   "department_id", "seq",
                                           "encounter_id", "version", "event",         "at"};
    json_t *event = json_loadb(frame, len, 0, NULL), *payload, *out, *masked, *v;
    char *text = NULL;

    if (!json_is_object(event) || !(out = json_object())) {
        json_decref(event);
        return NULL;
    }
    for (size_t i = 0; i < sizeof envelope / sizeof envelope[0]; i++)
        if ((v = json_object_get(event, envelope[i])))
            json_object_set(out, envelope[i], v);
    if ((v = json_object_get(event, "event")))
        json_object_set_new(out, "event",
                            json_string(wall_event_kind(json_string_value(v), shows_flags)));
    payload = json_object_get(event, "payload");
    masked = json_object();
    if ((v = json_object_get(payload, "encounter")) && json_is_object(v))
        json_object_set_new(masked, "encounter", board_mask_row(v, shows_flags));
    if ((v = json_object_get(payload, "beds")))
        json_object_set(masked, "beds", v);
    if ((v = json_object_get(payload, "alert_thresholds")))
        json_object_set(masked, "alert_thresholds", v);
    if ((v = json_object_get(payload, "lwbs_today")))
        json_object_set(masked, "lwbs_today", v);
    json_object_set_new(out, "payload", masked);
    text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(out);
    json_decref(event);
    if (text)
        *out_len = strlen(text);
    return text;
}
