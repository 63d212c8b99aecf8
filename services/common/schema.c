/* SPDX-License-Identifier: MIT */
/* schema.c: the JSON Schema subset of proto/README.md, over jansson values.
 * Walks schema and document together; the first violation wins and names its dotted path. */
#include "schema.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

#define SCHEMA_MAX_FILES 64

struct schema_set {
    size_t count;
    char *names[SCHEMA_MAX_FILES]; /* "http/vitals" */
    json_t *schemas[SCHEMA_MAX_FILES];
};

static const char *const allowed_keywords[] = {
    "$schema",     "$id",           "$ref",       "$defs",     "title",
    "description", "type",          "properties", "required",  "additionalProperties",
    "minimum",     "maximum",       "minLength",  "maxLength", "enum",
    "format",      "minProperties", "examples",   NULL,
};

/* ---- validation ---- */

static void join_path(char *out, size_t cap, const char *base, const char *key)
{
    if (base[0])
        snprintf(out, cap, "%s.%s", base, key);
    else
        snprintf(out, cap, "%s", key);
}

static bool is_integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return isfinite(d) && d == floor(d) && fabs(d) < 9e15;
    }
    return false;
}

static bool type_matches(const char *type, const json_t *v)
{
    if (!strcmp(type, "object"))
        return json_is_object(v);
    if (!strcmp(type, "string"))
        return json_is_string(v);
    if (!strcmp(type, "integer"))
        return is_integral(v);
    if (!strcmp(type, "number"))
        return json_is_number(v);
    if (!strcmp(type, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(type, "null"))
        return json_is_null(v);
    return false;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static bool check_type(const json_t *type, const json_t *v, const char *path, struct ed_error *err)
{
    char want[96] = "";
    size_t i;
    json_t *t;

    if (!type)
        return true;
    if (json_is_string(type)) {
        if (type_matches(json_string_value(type), v))
            return true;
        snprintf(want, sizeof want, "%s", json_string_value(type));
    } else {
        json_array_foreach (type, i, t) {
            if (type_matches(json_string_value(t), v))
                return true;
            if (i)
                strncat(want, " or ", sizeof want - strlen(want) - 1);
            strncat(want, json_string_value(t), sizeof want - strlen(want) - 1);
        }
    }
    return ed_error_set(err, ED_ERR_WRONG_TYPE, path, "must be %s, not %s", want, json_kind(v));
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static bool check_string(const json_t *schema, const json_t *v, const char *path,
                         struct ed_error *err)
{
    const json_t *min = json_object_get(schema, "minLength");
    const json_t *max = json_object_get(schema, "maxLength");
    const json_t *format = json_object_get(schema, "format");
    const char *s = json_string_value(v);
    size_t len = utf8_length(s);

    if (strlen(s) != json_string_length(v))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, path, "must not contain NUL characters");
    if (max && len > (size_t)json_integer_value(max))
        return ed_error_set(err, ED_ERR_TOO_LONG, path, "must be at most %lld characters",
                            (long long)json_integer_value(max));
    if (min && len < (size_t)json_integer_value(min) && json_integer_value(min) == 1)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, path, "must not be empty");
    if (min && len < (size_t)json_integer_value(min))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, path, "must be at least %lld characters",
                            (long long)json_integer_value(min));
    if (format && !strcmp(json_string_value(format), "date") && !timefmt_is_date(s))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, path, "must be a calendar date YYYY-MM-DD");
    if (format && !strcmp(json_string_value(format), "date-time") && !timefmt_is_datetime(s))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, path,
                            "must be an RFC 3339 date-time such as 2026-11-25T08:10:00Z");
    return true;
}

static bool check_number(const json_t *schema, const json_t *v, const char *path,
                         struct ed_error *err)
{
    const json_t *min = json_object_get(schema, "minimum");
    const json_t *max = json_object_get(schema, "maximum");
    double d = json_number_value(v);

    if ((min && d < json_number_value(min)) || (max && d > json_number_value(max))) {
        if (min && max)
            return ed_error_set(err, ED_ERR_OUT_OF_RANGE, path, "must be between %g and %g",
                                json_number_value(min), json_number_value(max));
        if (min)
            return ed_error_set(err, ED_ERR_OUT_OF_RANGE, path, "must be at least %g",
                                json_number_value(min));
        return ed_error_set(err, ED_ERR_OUT_OF_RANGE, path, "must be at most %g",
                            json_number_value(max));
    }
    return true;
}

static bool check_enum(const json_t *values, const json_t *v, const char *path,
                       struct ed_error *err)
{
    char list[160] = "";
    size_t i;
    json_t *e;

    json_array_foreach (values, i, e) {
        if (json_equal(e, v))
            return true;
        /* Integral reals equal integers for JSON Schema; jansson keeps them apart. */
        if (json_is_number(e) && json_is_number(v) && json_number_value(e) == json_number_value(v))
            return true;
    }
    json_array_foreach (values, i, e) {
        char one[48];
        if (json_is_string(e))
            snprintf(one, sizeof one, "%s%s", i ? ", " : "", json_string_value(e));
        else if (json_is_null(e))
            snprintf(one, sizeof one, "%snull", i ? ", " : "");
        else
            snprintf(one, sizeof one, "%s%g", i ? ", " : "", json_number_value(e));
        strncat(list, one, sizeof list - strlen(list) - 1);
    }
    return ed_error_set(err, ED_ERR_INVALID_VALUE, path, "must be one of: %s", list);
}

static const json_t *resolve_ref(const json_t *root, const json_t *schema)
{
    const json_t *ref = json_object_get(schema, "$ref");
    const char *prefix = "#/$defs/";

    if (!json_is_string(ref) || strncmp(json_string_value(ref), prefix, strlen(prefix)) != 0)
        return schema;
    return json_object_get(json_object_get(root, "$defs"), json_string_value(ref) + strlen(prefix));
}

static bool validate_at(const json_t *root, const json_t *schema, const json_t *v, const char *path,
                        struct ed_error *err);

static bool check_object(const json_t *root, const json_t *schema, const json_t *v,
                         const char *path, struct ed_error *err)
{
    const json_t *props = json_object_get(schema, "properties");
    const json_t *required = json_object_get(schema, "required");
    const json_t *additional = json_object_get(schema, "additionalProperties");
    const json_t *min_props = json_object_get(schema, "minProperties");
    char sub[sizeof err->field];
    const char *key;
    json_t *value, *name;
    size_t i;

    json_array_foreach (required, i, name) {
        if (!json_object_get(v, json_string_value(name))) {
            join_path(sub, sizeof sub, path, json_string_value(name));
            return ed_error_set(err, ED_ERR_MISSING_FIELD, sub, "is required");
        }
    }
    if (json_is_false(additional)) {
        json_object_foreach ((json_t *)v, key, value) {
            if (!json_object_get(props, key)) {
                join_path(sub, sizeof sub, path, key);
                return ed_error_set(err, ED_ERR_UNKNOWN_FIELD, sub, "is not a known field");
            }
        }
    }
    if (min_props && json_object_size(v) < (size_t)json_integer_value(min_props))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, path, "must have at least %lld field(s)",
                            (long long)json_integer_value(min_props));
    json_object_foreach ((json_t *)props, key, value) {
        const json_t *field = json_object_get(v, key);
        if (!field)
            continue;
        join_path(sub, sizeof sub, path, key);
        if (!validate_at(root, value, field, sub, err))
            return false;
    }
    return true;
}

static bool validate_at(const json_t *root, const json_t *schema, const json_t *v, const char *path,
                        struct ed_error *err)
{
    const json_t *values;

    schema = resolve_ref(root, schema);
    if (!json_is_object(schema))
        return ed_error_set(err, ED_ERR_SCHEMA_ERROR, path, "schema reference not found");
    if (!check_type(json_object_get(schema, "type"), v, path, err))
        return false;
    values = json_object_get(schema, "enum");
    if (values && !check_enum(values, v, path, err))
        return false;
    if (json_is_string(v))
        return check_string(schema, v, path, err);
    if (json_is_number(v))
        return check_number(schema, v, path, err);
    if (json_is_object(v))
        return check_object(root, schema, v, path, err);
    return true;
}

bool schema_validate(const json_t *schema, const json_t *doc, struct ed_error *err)
{
    return validate_at(schema, schema, doc, "", err);
}

/* ---- keyword check ---- */

static bool is_allowed_keyword(const char *k)
{
    for (int i = 0; allowed_keywords[i]; i++)
        if (!strcmp(allowed_keywords[i], k))
            return true;
    return false;
}

static bool check_keywords_at(const json_t *schema, const char *path, struct ed_error *err)
{
    const char *key;
    json_t *value;
    char sub[sizeof err->field];

    if (!json_is_object(schema))
        return ed_error_set(err, ED_ERR_SCHEMA_ERROR, path, "a schema must be an object");
    json_object_foreach ((json_t *)schema, key, value) {
        if (!is_allowed_keyword(key))
            return ed_error_set(err, ED_ERR_SCHEMA_ERROR, path,
                                "keyword \"%s\" is outside the supported subset", key);
        if (!strcmp(key, "properties") || !strcmp(key, "$defs")) {
            const char *name;
            json_t *child;
            json_object_foreach (value, name, child) {
                join_path(sub, sizeof sub, path, name);
                if (!check_keywords_at(child, sub, err))
                    return false;
            }
        }
        if (!strcmp(key, "additionalProperties") && !json_is_false(value))
            return ed_error_set(err, ED_ERR_SCHEMA_ERROR, path,
                                "additionalProperties must be false");
    }
    return true;
}

bool schema_check_keywords(const json_t *schema, struct ed_error *err)
{
    return check_keywords_at(schema, "", err);
}

/* ---- loading ---- */

static bool load_dir(struct schema_set *set, const char *proto_dir, const char *sub,
                     struct ed_error *err)
{
    char dir_path[1024];
    DIR *dir;
    struct dirent *de;

    snprintf(dir_path, sizeof dir_path, "%s/%s", proto_dir, sub);
    dir = opendir(dir_path);
    if (!dir)
        return ed_error_set(err, ED_ERR_SCHEMA_ERROR, NULL, "cannot open %s", dir_path);
    while ((de = readdir(dir))) {
        size_t n = strlen(de->d_name);
        char file[1400], name[300];
        json_error_t jerr;
        json_t *schema;

        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        if (set->count == SCHEMA_MAX_FILES) {
            closedir(dir);
            return ed_error_set(err, ED_ERR_SCHEMA_ERROR, NULL, "too many schema files");
        }
        snprintf(file, sizeof file, "%s/%s", dir_path, de->d_name);
        snprintf(name, sizeof name, "%s/%.*s", sub, (int)(n - 5), de->d_name);
        schema = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
        if (!schema) {
            closedir(dir);
            return ed_error_set(err, ED_ERR_SCHEMA_ERROR, NULL, "%s: %s (line %d)", file, jerr.text,
                                jerr.line);
        }
        if (!schema_check_keywords(schema, err)) {
            char where[sizeof err->message];
            snprintf(where, sizeof where, "%.60s: %.190s", name, err->message);
            snprintf(err->message, sizeof err->message, "%s", where);
            json_decref(schema);
            closedir(dir);
            return false;
        }
        set->names[set->count] = strdup(name);
        set->schemas[set->count++] = schema;
    }
    closedir(dir);
    return true;
}

struct schema_set *schema_set_load(const char *proto_dir, struct ed_error *err)
{
    struct schema_set *set = calloc(1, sizeof *set);

    if (!set || !load_dir(set, proto_dir, "http", err) || !load_dir(set, proto_dir, "ws", err)) {
        schema_set_free(set);
        return NULL;
    }
    return set;
}

void schema_set_free(struct schema_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++) {
        free(set->names[i]);
        json_decref(set->schemas[i]);
    }
    free(set);
}

const json_t *schema_set_find(const struct schema_set *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (!strcmp(set->names[i], name))
            return set->schemas[i];
    return NULL;
}

/* ---- body parsing ---- */

static int depth_of(const json_t *v)
{
    int deepest = 0;

    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach ((json_t *)v, k, child) {
            int d = depth_of(child);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach (v, i, child) {
            int d = depth_of(child);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    return 0;
}

json_t *schema_parse_body(const char *buf, size_t len, int max_depth, struct ed_error *err)
{
    json_error_t jerr;
    json_t *doc;

    if (len == 0) {
        ed_error_set(err, ED_ERR_MALFORMED_JSON, NULL,
                     "the body is empty; a JSON object is expected");
        return NULL;
    }
    /* Deeper than jansson's own limit fails in the parser, before any recursion of ours. */
    /* Any JSON value parses (a non-object then fails the schema's type with 422), and NUL
     * inside a string parses so that the schema check names the field. */
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        /* jerr.text may quote the input: report only where it broke. */
        ed_error_set(err, ED_ERR_MALFORMED_JSON, NULL,
                     "the body is not valid JSON (line %d, column %d)", jerr.line, jerr.column);
        return NULL;
    }
    if (depth_of(doc) > max_depth) {
        json_decref(doc);
        ed_error_set(err, ED_ERR_MALFORMED_JSON, NULL, "the body is nested deeper than %d levels",
                     max_depth);
        return NULL;
    }
    return doc;
}
