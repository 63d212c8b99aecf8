/* SPDX-License-Identifier: MIT */
/* fuzz_common.h: what both fuzz targets check after schema_parse_body() / schema_validate().
 * Beyond "no crash, no leak" (ASan/UBSan), every refusal must be one of the codes of
 * proto/README.md and render as JSON, and every accepted document must pass a second, much
 * simpler walk over the same schema (an oracle for required / additionalProperties / ranges). */
#ifndef EDLIVE_FUZZ_COMMON_H
#define EDLIVE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed_error.h"
#include "fuzz_require.h"
#include "schema.h"

#ifndef PROTO_DIR
#error "PROTO_DIR must name the proto/ folder (set by CMake)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The set, loaded once; a fuzz run without its schemas is useless, so it aborts. */
static struct schema_set *fuzz_schemas(void)
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

/* A refusal as the services send it: a known code, its status, a message, renderable. */
static void fuzz_check_refusal(const struct ed_error *err)
{
    static const char *const codes_422[] = {
        "missing_field", "unknown_field", "wrong_type", "out_of_range",
        "invalid_value", "too_long",      NULL,
    };
    bool known = false;
    json_t *reply;

    if (!strcmp(err->code, "malformed_json")) {
        FUZZ_REQUIRE(err->status == 400);
        FUZZ_REQUIRE(err->field[0] == '\0');
    } else {
        for (int i = 0; codes_422[i]; i++)
            known = known || !strcmp(err->code, codes_422[i]);
        FUZZ_REQUIRE(known);
        FUZZ_REQUIRE(err->status == 422);
    }
    FUZZ_REQUIRE(err->message[0] != '\0');
    reply = ed_error_json(err);
    FUZZ_REQUIRE(reply != NULL);
    json_decref(reply);
}

/* ---- the oracle: an independent, deliberately naive reading of the same keywords ---- */

static const json_t *fuzz_deref(const json_t *root, const json_t *schema)
{
    const char *ref = json_string_value(json_object_get(schema, "$ref"));

    if (ref && !strncmp(ref, "#/$defs/", 8))
        return json_object_get(json_object_get(root, "$defs"), ref + 8);
    return schema;
}

static size_t fuzz_code_points(const json_t *s)
{
    const unsigned char *p = (const unsigned char *)json_string_value(s);
    size_t n = 0, len = json_string_length(s);

    for (size_t i = 0; i < len; n++) {
        if (p[i] < 0x80)
            i += 1;
        else if (p[i] < 0xE0)
            i += 2;
        else if (p[i] < 0xF0)
            i += 3;
        else
            i += 4;
    }
    return n;
}

/* Aborts when doc, accepted by schema_validate(), breaks a keyword of schema. */
static void fuzz_oracle(const json_t *root, const json_t *schema, const json_t *doc)
{
    const json_t *required, *props, *min, *max, *max_len, *min_len, *values;
    const char *key;
    json_t *value;
    size_t i;

    schema = fuzz_deref(root, schema);
    FUZZ_REQUIRE(json_is_object(schema));
    values = json_object_get(schema, "enum");
    if (values) {
        bool found = false;
        json_array_foreach (values, i, value) {
            found = found || json_equal(value, doc) ||
                    (json_is_number(value) && json_is_number(doc) &&
                     json_number_value(value) == json_number_value(doc));
        }
        FUZZ_REQUIRE(found);
    }
    if (json_is_number(doc)) {
        min = json_object_get(schema, "minimum");
        max = json_object_get(schema, "maximum");
        FUZZ_REQUIRE(!min || json_number_value(doc) >= json_number_value(min));
        FUZZ_REQUIRE(!max || json_number_value(doc) <= json_number_value(max));
    }
    if (json_is_string(doc)) {
        min_len = json_object_get(schema, "minLength");
        max_len = json_object_get(schema, "maxLength");
        FUZZ_REQUIRE(!min_len || fuzz_code_points(doc) >= (size_t)json_integer_value(min_len));
        FUZZ_REQUIRE(!max_len || fuzz_code_points(doc) <= (size_t)json_integer_value(max_len));
    }
    if (!json_is_object(doc))
        return;
    required = json_object_get(schema, "required");
    props = json_object_get(schema, "properties");
    json_array_foreach (required, i, value) {
        FUZZ_REQUIRE(json_object_get(doc, json_string_value(value)) != NULL);
    }
    json_object_foreach ((json_t *)doc, key, value) {
        const json_t *sub = json_object_get(props, key);
        FUZZ_REQUIRE(sub != NULL ||
                     !json_is_false(json_object_get(schema, "additionalProperties")));
        if (sub)
            fuzz_oracle(root, sub, value);
    }
}

/* Validates doc against schema and checks the outcome both ways; returns the verdict. */
static bool fuzz_validate(const json_t *schema, const json_t *doc)
{
    struct ed_error err = {0};
    bool ok = schema_validate(schema, doc, &err);

    if (ok)
        fuzz_oracle(schema, schema, doc);
    else
        fuzz_check_refusal(&err);
    return ok;
}

#endif
