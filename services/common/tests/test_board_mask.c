/* SPDX-License-Identifier: MIT */
/* test_board_mask.c: the public wall's view of a board row, a board and an event
 * (board_mask.h; proto/README.md "The public wall"): an allow-list, initials only, marks only
 * with wall_shows_flags, event kinds only for what the wall shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "board_mask.h"

/* A board row as encounter_row_json sends it, with every kind of patient data. */
static const char row_json[] =
    "{\"encounter_id\":12,\"version\":4,\"department_id\":1,"
    "\"patient\":{\"id\":9,\"mrn\":\"100012\",\"family_name\":\"\xC3\x96zt\xC3\xBCrk\","
    "\"given_name\":\"\xC3\x89lodie\",\"birth_date\":\"1961-03-02\",\"age_years\":65,"
    "\"sex\":\"female\",\"alias\":null,\"temp_id\":null},"
    "\"bed\":{\"id\":3,\"label\":\"A3\",\"area\":\"acute\"},\"esi\":2,"
    "\"chief_complaint\":\"chest pain\",\"arrival_mode\":\"ambulance\","
    "\"arrived_at\":\"2026-11-25T07:58:00Z\",\"status\":\"in_room\","
    "\"attending\":{\"id\":2,\"name\":\"Dr. Maria Lopez\",\"role\":\"physician\"},"
    "\"nurse\":null,\"comment\":\"daughter phoning at 10\",\"isolation\":\"droplet\","
    "\"allergies\":[{\"id\":1,\"substance\":\"penicillin\",\"severity\":\"severe\"}],"
    "\"news2\":{\"total\":7,\"band\":\"high\"},\"latest_vitals\":{\"heart_rate\":131},"
    "\"orders\":[{\"id\":5,\"name\":\"troponin\"}],\"similar_name\":[14],"
    "\"break_glass\":[{\"username\":\"dr.rahman\"}],\"disposition\":null}";

/* Never on the wall. */
static const char *const secrets[] = {
    "100012",   "zt",        "lodie", "1961",  "chest pain",   "daughter",  "penic",
    "troponin", "dr.rahman", "131",   "news2", "similar_name", "age_years",
};
/* On the wall only with wall_shows_flags. */
static const char *const marks[] = {"droplet", "\"esi\"", "has_allergies"};

static json_t *load(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);

    assert_non_null(v);
    return v;
}

static void assert_clean(const char *text, bool shows_flags)
{
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(text, secrets[i])) {
            print_error("masked text carries \"%s\": %s\n", secrets[i], text);
            fail();
        }
    for (size_t i = 0; !shows_flags && i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(text, marks[i])) {
            print_error("masked text without marks carries \"%s\": %s\n", marks[i], text);
            fail();
        }
}

static void test_row_initials_only(void **state)
{
    json_t *row = load(row_json), *masked = board_mask_row(row, false);
    char *text;

    (void)state;
    assert_non_null(masked);
    /* First letters of given then family name, whole UTF-8 characters. */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(masked, "patient"), "initials")),
        "\xC3\x89\xC3\x96");
    assert_int_equal(json_object_size(json_object_get(masked, "patient")), 1);
    assert_true(json_is_true(json_object_get(masked, "masked")));
    assert_int_equal(json_integer_value(json_object_get(masked, "encounter_id")), 12);
    assert_string_equal(json_string_value(json_object_get(masked, "status")), "in_room");
    assert_non_null(json_object_get(masked, "bed"));
    assert_non_null(json_object_get(masked, "attending"));
    assert_null(json_object_get(masked, "isolation"));
    assert_null(json_object_get(masked, "has_allergies"));
    text = json_dumps(masked, JSON_COMPACT);
    assert_clean(text, false);
    free(text);
    json_decref(masked);
    json_decref(row);
}

static void test_row_flags(void **state)
{
    json_t *row = load(row_json), *masked = board_mask_row(row, true);

    (void)state;
    assert_int_equal(json_integer_value(json_object_get(masked, "esi")), 2);
    assert_string_equal(json_string_value(json_object_get(masked, "isolation")), "droplet");
    /* A mark, never the substances. */
    assert_true(json_is_true(json_object_get(masked, "has_allergies")));
    assert_null(json_object_get(masked, "allergies"));
    json_decref(masked);
    json_decref(row);
}

static void test_row_without_names(void **state)
{
    /* An unidentified patient (no names yet): no initials, nothing else either. */
    json_t *row = load("{\"encounter_id\":3,\"patient\":{\"id\":1,\"family_name\":null,"
                       "\"given_name\":null,\"alias\":\"Trauma Kilo\",\"temp_id\":\"T-0042\"}}");
    json_t *masked = board_mask_row(row, true);
    char *text = json_dumps(masked, JSON_COMPACT);

    assert_clean(text, true);

    (void)state;
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(masked, "patient"), "initials")), "");
    assert_null(strstr(text, "Kilo"));
    assert_null(strstr(text, "0042"));
    free(text);
    json_decref(masked);
    json_decref(row);
    assert_null(board_mask_row(json_null(), false));
}

static void test_board(void **state)
{
    char board_text[sizeof row_json + 400];
    json_t *board, *masked;
    char *text;

    (void)state;
    snprintf(board_text, sizeof board_text,
             "{\"department\":{\"id\":1,\"code\":\"DEMO\"},\"seq\":57,\"beds\":[],"
             "\"staff\":[{\"id\":2,\"name\":\"Dr. Maria Lopez\"}],\"encounters\":[%s]}",
             row_json);
    board = load(board_text);
    masked = board_mask_board(board, false);
    assert_non_null(masked);
    assert_null(json_object_get(masked, "staff"));
    assert_int_equal(json_integer_value(json_object_get(masked, "seq")), 57);
    assert_true(json_is_false(json_object_get(masked, "wall_shows_flags")));
    assert_int_equal(json_array_size(json_object_get(masked, "encounters")), 1);
    text = json_dumps(masked, JSON_COMPACT);
    assert_clean(text, false);
    free(text);
    json_decref(masked);
    json_decref(board);
}

/* The masked event of kind, with or without the marks: its "event" member. */
static char *masked_kind(const char *kind, bool shows_flags)
{
    char frame[sizeof row_json + 400], *out, *result;
    size_t len = 0;
    json_t *event;

    snprintf(frame, sizeof frame,
             "{\"type\":\"event\",\"topic\":\"board\",\"department_id\":1,\"seq\":58,"
             "\"encounter_id\":12,\"version\":5,\"event\":\"%s\",\"at\":"
             "\"2026-11-25T08:10:03.412Z\",\"payload\":{"
             "\"encounter\":%s,\"note\":{\"text\":\"daughter phoning at 10\"},"
             "\"timeline\":{\"summary\":\"chest pain\"},\"beds\":[]}}",
             kind, row_json);
    out = board_mask_event(frame, strlen(frame), shows_flags, &len);
    assert_non_null(out);
    assert_int_equal(len, strlen(out));
    assert_clean(out, shows_flags);
    assert_null(strstr(out, "timeline"));
    /* The twin keeps the frame's envelope order, "topic" where ed-hub patches it. */
    assert_memory_equal(
        out, "{\"type\":\"event\",\"topic\":\"board\",\"department_id\":1,\"seq\":58,",
        strlen("{\"type\":\"event\",\"topic\":\"board\",\"department_id\":1,\"seq\":58,"));
    assert_non_null(strstr(out, "\"at\":\"2026-11-25T08:10:03.412Z\",\"payload\":{"));
    event = load(out);
    result = strdup(json_string_value(json_object_get(event, "event")));
    assert_int_equal(json_integer_value(json_object_get(event, "seq")), 58);
    assert_non_null(json_object_get(json_object_get(event, "payload"), "beds"));
    json_decref(event);
    free(out);
    return result;
}

static void test_event_kinds(void **state)
{
    static const struct {
        const char *kind;
        const char *without_marks, *with_marks;
    } cases[] = {
        {"encounter.arrived", "encounter.arrived", "encounter.arrived"},
        {"encounter.bed_assigned", "encounter.bed_assigned", "encounter.bed_assigned"},
        {"encounter.departed", "encounter.departed", "encounter.departed"},
        {"encounter.triaged", "encounter.updated", "encounter.triaged"},
        {"encounter.isolation", "encounter.updated", "encounter.isolation"},
        {"record.allergy", "encounter.updated", "record.allergy"},
        {"note.added", "encounter.updated", "encounter.updated"},
        {"vitals.recorded", "encounter.updated", "encounter.updated"},
        {"access.break_glass", "encounter.updated", "encounter.updated"},
        {"record.diagnosis", "encounter.updated", "encounter.updated"},
        {"encounter.comment", "encounter.updated", "encounter.updated"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *off = masked_kind(cases[i].kind, false), *on = masked_kind(cases[i].kind, true);
        if (strcmp(off, cases[i].without_marks) || strcmp(on, cases[i].with_marks)) {
            print_error("%s: got %s / %s, expected %s / %s\n", cases[i].kind, off, on,
                        cases[i].without_marks, cases[i].with_marks);
            fail();
        }
        free(off);
        free(on);
    }
    assert_null(board_mask_event("not json", 8, false, &(size_t){0}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_initials_only), cmocka_unit_test(test_row_flags),
        cmocka_unit_test(test_row_without_names), cmocka_unit_test(test_board),
        cmocka_unit_test(test_event_kinds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
