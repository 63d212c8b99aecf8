/* SPDX-License-Identifier: MIT */
/* test_adt_mapping.c: proto/hl7/adt_mapping.json agrees with ADT_MAPPING.md beside it (every
 * HL7 code of its tables is in the Markdown) and with the REST contract (every edlive value it
 * maps to is one the body's schema in proto/http accepts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *markdown;
static json_t *mapping;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    json_error_t err;

    (void)state;
    markdown = slurp(PROTO_DIR "/hl7/ADT_MAPPING.md");
    mapping = json_load_file(PROTO_DIR "/hl7/adt_mapping.json", 0, &err);
    if (!mapping)
        print_error("adt_mapping.json: %s (line %d)\n", err.text, err.line);
    return mapping ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(markdown);
    json_decref(mapping);
    return 0;
}

/* Every key of the table (but "*" and "") is in the Markdown, written `key` when quoted. */
static void keys_in_markdown(const char *table, bool quoted_keys)
{
    const json_t *t = json_object_get(mapping, table);
    const char *key;
    json_t *value;

    assert_true(json_is_object(t));
    json_object_foreach ((json_t *)t, key, value) {
        char quoted[64];
        if (!strcmp(key, "*") || !key[0])
            continue;
        snprintf(quoted, sizeof quoted, quoted_keys ? "`%s`" : "%s", key);
        if (!strstr(markdown, quoted))
            print_error("%s: %s is not in ADT_MAPPING.md\n", table, quoted);
        assert_non_null(strstr(markdown, quoted));
    }
}

/* Every string value of the table is in the enum of schema's property (a dotted path). */
static void values_in_enum(const char *table, const char *schema_file, const char *property)
{
    char path[512], prop[64];
    json_error_t err;
    json_t *schema, *node, *value;
    const json_t *t = json_object_get(mapping, table);
    const char *key, *dot;

    snprintf(path, sizeof path, "%s/http/%s", PROTO_DIR, schema_file);
    schema = json_load_file(path, 0, &err);
    assert_non_null(schema);
    node = schema;
    for (const char *p = property; p; p = dot ? dot + 1 : NULL) {
        dot = strchr(p, '.');
        snprintf(prop, sizeof prop, "%.*s", dot ? (int)(dot - p) : (int)strlen(p), p);
        if (json_object_get(node, "$ref")) /* "#/$defs/x" */
            node = json_object_get(json_object_get(schema, "$defs"),
                                   json_string_value(json_object_get(node, "$ref")) + 8);
        node = json_object_get(json_object_get(node, "properties"), prop);
        assert_non_null(node);
    }
    json_object_foreach ((json_t *)t, key, value) {
        const json_t *allowed = json_object_get(node, "enum");
        bool found = false;
        size_t i;
        json_t *a;
        if (!json_is_string(value))
            continue;
        json_array_foreach (allowed, i, a)
            found = found || json_equal(a, value);
        if (!found)
            print_error("%s[%s] = %s is not in %s %s\n", table, key, json_string_value(value),
                        schema_file, property);
        assert_true(found);
    }
    json_decref(schema);
}

static void test_codes_are_documented(void **state)
{
    (void)state;
    keys_in_markdown("sex", true);
    keys_in_markdown("disposition", true);
    keys_in_markdown("arrival_mode_0430", true);
    keys_in_markdown("arrival_mode_0023", true);
    keys_in_markdown("allergy_severity_0128", true);
    keys_in_markdown("vitals_loinc", true);
    keys_in_markdown("events", false);
    assert_non_null(strstr(markdown, "`75636-1`"));
    assert_non_null(strstr(markdown, "`11283-9`"));
}

static void test_values_are_rest_values(void **state)
{
    (void)state;
    values_in_enum("sex", "arrival.json", "patient.sex");
    values_in_enum("disposition", "disposition.json", "kind");
    values_in_enum("arrival_mode_0430", "arrival.json", "arrival_mode");
    values_in_enum("arrival_mode_0023", "arrival.json", "arrival_mode");
    values_in_enum("allergy_severity_0128", "allergy.json", "severity");
}

static void test_vitals_fields_exist(void **state)
{
    (void)state;
    json_error_t err;
    json_t *schema = json_load_file(PROTO_DIR "/http/vitals.json", 0, &err);
    const char *key;
    json_t *field;

    assert_non_null(schema);
    json_object_foreach (json_object_get(mapping, "vitals_loinc"), key, field) {
        if (!json_object_get(json_object_get(schema, "properties"), json_string_value(field)))
            print_error("vitals_loinc[%s] = %s is no member of vitals.json\n", key,
                        json_string_value(field));
        assert_non_null(
            json_object_get(json_object_get(schema, "properties"), json_string_value(field)));
    }
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_are_documented),
        cmocka_unit_test(test_values_are_rest_values),
        cmocka_unit_test(test_vitals_fields_exist),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
