/* SPDX-License-Identifier: MIT */
/* test_schema.c: the JSON Schema subset of proto/README.md against the real schemas.
 * Table-driven: one test per file of proto/examples/valid/ and per row of
 * proto/examples/invalid/index.tsv, then direct cases of each keyword and of body parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schema.h"

#ifndef PROTO_DIR
#error "PROTO_DIR must name the proto/ folder (set by CMake)"
#endif

#define BODY_MAX_DEPTH  8 /* proto/README.md, Errors: "nested deeper than 8 levels" */
#define EXAMPLES_MAX    256
#define SCHEMA_NAME_MAX 300

/* The set every test validates against; loaded once in main(). */
static struct schema_set *schemas;

/* ---- helpers ---- */

/* Reads a whole file; NULL when it cannot. Caller frees. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf) {
            buf[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static const json_t *find_schema(const char *name)
{
    const json_t *schema = schema_set_find(schemas, name);

    if (!schema)
        fail_msg("no schema named \"%s\" under %s", name, PROTO_DIR);
    return schema;
}

/* Parses text as a body (at the contract's depth) and validates it against schema; code NULL
 * means it must be accepted, else refused with exactly code and field ("" for null). */
static void expect_doc(const json_t *schema, const char *text, size_t len, const char *code,
                       const char *field)
{
    struct ed_error err = {0};
    json_t *doc = schema_parse_body(text, len, BODY_MAX_DEPTH, &err);
    bool ok = doc && schema_validate(schema, doc, &err);

    json_decref(doc);
    if (!code) {
        if (!ok)
            fail_msg("refused %s (field \"%s\": %s) but must be accepted: %.200s", err.code,
                     err.field, err.message, text);
        return;
    }
    if (ok)
        fail_msg("accepted but must be refused with %s \"%s\": %.200s", code, field, text);
    if (strcmp(err.code, code) != 0 || strcmp(err.field, field) != 0)
        fail_msg("refused with %s \"%s\" (%s) but expected %s \"%s\": %.200s", err.code, err.field,
                 err.message, code, field, text);
    assert_int_equal(err.status, strcmp(code, "malformed_json") == 0 ? 400 : 422);
    assert_true(err.message[0] != '\0');
}

static void expect_named(const char *schema_name, const char *text, const char *code,
                         const char *field)
{
    expect_doc(find_schema(schema_name), text, strlen(text), code, field);
}

/* The same with an inline schema. */
static void expect_inline(const char *schema_text, const char *text, const char *code,
                          const char *field)
{
    json_error_t jerr;
    struct ed_error err = {0};
    json_t *schema = json_loads(schema_text, JSON_REJECT_DUPLICATES, &jerr);

    if (!schema)
        fail_msg("test schema is not JSON: %s: %s", jerr.text, schema_text);
    if (!schema_check_keywords(schema, &err))
        fail_msg("test schema uses %s: %s", err.message, schema_text);
    expect_doc(schema, text, strlen(text), code, field);
    json_decref(schema);
}

/* A string of n copies of unit, as a JSON member {"s":"..."}; caller frees. */
static char *string_member(const char *unit, size_t n)
{
    size_t ulen = strlen(unit);
    char *text = malloc(ulen * n + 16);
    char *p = text;

    assert_non_null(text);
    p += sprintf(p, "{\"s\":\"");
    for (size_t i = 0; i < n; i++, p += ulen)
        memcpy(p, unit, ulen);
    strcpy(p, "\"}");
    return text;
}

/* ---- table-driven: proto/examples ---- */

struct example {
    char file[256];
    char schema[SCHEMA_NAME_MAX]; /* "http/vitals" */
    char code[32];                /* "" when the example must be accepted */
    char field[128];              /* "" for null */
};

static struct example examples[EXAMPLES_MAX];
static size_t example_count;

static void test_example(void **state)
{
    const struct example *ex = *state;
    char path[512];
    size_t len = 0;
    char *text;

    snprintf(path, sizeof path, "%s/examples/%s/%s", PROTO_DIR, ex->code[0] ? "invalid" : "valid",
             ex->file);
    text = read_file(path, &len);
    if (!text)
        fail_msg("cannot read %s", path);
    expect_doc(find_schema(ex->schema), text, len, ex->code[0] ? ex->code : NULL, ex->field);
    free(text);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.json names of dir (index.tsv is not one); returns the count, or -1. */
static int list_json(const char *dir, char names[][256], int cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *sorted[EXAMPLES_MAX];
    char copy[EXAMPLES_MAX][256];
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) && n < cap && n < EXAMPLES_MAX) {
        if (!ends_with(de->d_name, ".json") || strlen(de->d_name) >= 256)
            continue;
        snprintf(copy[n], sizeof copy[n], "%s", de->d_name);
        sorted[n] = copy[n];
        n++;
    }
    closedir(d);
    qsort(sorted, (size_t)n, sizeof sorted[0], compare_names);
    for (int i = 0; i < n; i++)
        snprintf(names[i], 256, "%s", sorted[i]);
    return n;
}

/* "client.subscribe.board.json" names schema "client.subscribe": everything before the case.
 * It is "http/<name>" or "ws/<name>", whichever exists; "" when neither or both do. */
static void schema_of_valid(const char *file, char *out, size_t cap)
{
    char base[256], http[264], ws[264];
    char *dot;
    const json_t *h, *w;

    snprintf(base, sizeof base, "%.*s", (int)(strlen(file) - 5), file); /* drop ".json" */
    dot = strrchr(base, '.');
    out[0] = '\0';
    if (!dot)
        return;
    *dot = '\0';
    snprintf(http, sizeof http, "http/%s", base);
    snprintf(ws, sizeof ws, "ws/%s", base);
    h = schema_set_find(schemas, http);
    w = schema_set_find(schemas, ws);
    if (h && !w)
        snprintf(out, cap, "%s", http);
    else if (w && !h)
        snprintf(out, cap, "%s", ws);
}

static void test_valid_examples_found(void **state)
{
    char names[EXAMPLES_MAX][256];
    int n = list_json(PROTO_DIR "/examples/valid", names, EXAMPLES_MAX);
    int failures = 0;

    (void)state;
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        char schema[SCHEMA_NAME_MAX];
        schema_of_valid(names[i], schema, sizeof schema);
        if (!schema[0]) {
            print_error("valid/%s: names no schema under http/ or ws/\n", names[i]);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Every file in invalid/ has a row in index.tsv and every row a file. */
static void test_invalid_index_complete(void **state)
{
    char names[EXAMPLES_MAX][256];
    int n = list_json(PROTO_DIR "/examples/invalid", names, EXAMPLES_MAX);
    int failures = 0, rows = 0;

    (void)state;
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        bool listed = false;
        for (size_t j = 0; j < example_count; j++)
            listed = listed || (examples[j].code[0] && !strcmp(examples[j].file, names[i]));
        if (!listed) {
            print_error("invalid/%s is not listed in index.tsv\n", names[i]);
            failures++;
        }
    }
    for (size_t j = 0; j < example_count; j++) {
        bool found = false;
        if (!examples[j].code[0])
            continue;
        rows++;
        for (int i = 0; i < n; i++)
            found = found || !strcmp(examples[j].file, names[i]);
        if (!found) {
            print_error("index.tsv lists %s, which is not in invalid/\n", examples[j].file);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
    assert_int_equal(rows, n);
}

/* Fills examples[] from valid/ and invalid/index.tsv; false when either cannot be read. */
static bool collect_examples(void)
{
    char names[EXAMPLES_MAX][256];
    int n = list_json(PROTO_DIR "/examples/valid", names, EXAMPLES_MAX);
    char line[1024];
    FILE *f;

    if (n < 0)
        return false;
    for (int i = 0; i < n && example_count < EXAMPLES_MAX; i++) {
        struct example *ex = &examples[example_count++];
        snprintf(ex->file, sizeof ex->file, "%.255s", names[i]);
        schema_of_valid(names[i], ex->schema, sizeof ex->schema);
        if (!ex->schema[0]) /* reported by test_valid_examples_found; skip here */
            example_count--;
    }
    f = fopen(PROTO_DIR "/examples/invalid/index.tsv", "r");
    if (!f)
        return false;
    while (fgets(line, sizeof line, f) && example_count < EXAMPLES_MAX) {
        char *cols[4], *save = NULL, *p = line;
        struct example *ex;
        int k;

        line[strcspn(line, "\r\n")] = '\0';
        for (k = 0; k < 4 && (cols[k] = strtok_r(p, "\t", &save)); k++)
            p = NULL;
        if (k < 4 || !strcmp(cols[0], "file"))
            continue; /* header, blank or short line */
        ex = &examples[example_count++];
        snprintf(ex->file, sizeof ex->file, "%.255s", cols[0]);
        /* The index names the schema file ("http/arrival.json"); the set names drop ".json". */
        snprintf(ex->schema, sizeof ex->schema, "%.*s",
                 (int)(strlen(cols[1]) - (ends_with(cols[1], ".json") ? 5 : 0)), cols[1]);
        snprintf(ex->code, sizeof ex->code, "%s", cols[2]);
        snprintf(ex->field, sizeof ex->field, "%s", strcmp(cols[3], "-") ? cols[3] : "");
    }
    fclose(f);
    return true;
}

/* ---- loading and the keyword subset ---- */

static void test_load_all_schemas(void **state)
{
    static const char *const dirs[] = {"http", "ws"};
    int failures = 0, total = 0;

    (void)state;
    for (size_t d = 0; d < 2; d++) {
        char path[512], names[EXAMPLES_MAX][256];
        int n;
        snprintf(path, sizeof path, "%s/%s", PROTO_DIR, dirs[d]);
        n = list_json(path, names, EXAMPLES_MAX);
        assert_true(n > 0);
        for (int i = 0; i < n; i++, total++) {
            char name[SCHEMA_NAME_MAX];
            struct ed_error err = {0};
            const json_t *schema;
            snprintf(name, sizeof name, "%s/%.*s", dirs[d], (int)(strlen(names[i]) - 5), names[i]);
            schema = schema_set_find(schemas, name);
            if (!schema || !schema_check_keywords(schema, &err)) {
                print_error("%s: %s\n", name, schema ? err.message : "not loaded");
                failures++;
            }
        }
    }
    assert_int_equal(failures, 0);
    assert_true(total >= 10);
    assert_non_null(schema_set_find(schemas, "http/vitals"));
    assert_non_null(schema_set_find(schemas, "ws/client.subscribe"));
    assert_null(schema_set_find(schemas, "vitals"));
    assert_null(schema_set_find(schemas, "http/vitals.json"));
    assert_null(schema_set_find(schemas, "http/nope"));
}

static void test_load_missing_dir(void **state)
{
    struct ed_error err = {0};

    (void)state;
    assert_null(schema_set_load("/nonexistent/edlive/proto", &err));
    assert_int_equal(err.status, 500);
    assert_string_equal(err.code, "schema_error");
}

/* Writes text to dir/sub/name. */
static void write_schema(const char *dir, const char *sub, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_load_error(const char *dir, const char *words)
{
    struct ed_error err = {0};
    struct schema_set *set = schema_set_load(dir, &err);

    if (set) {
        schema_set_free(set);
        fail_msg("schema_set_load accepted a folder with a bad schema (%s)", words);
    }
    assert_int_equal(err.status, 500);
    assert_string_equal(err.code, "schema_error");
    if (!strstr(err.message, words))
        fail_msg("message \"%s\" does not name \"%s\"", err.message, words);
}

static void test_load_errors(void **state)
{
    char dir[] = "/tmp/edlive-test-schema-XXXXXX", sub[600];
    struct ed_error err = {0};
    struct schema_set *set;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/http", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    expect_load_error(dir, "ws"); /* no ws/ folder */
    snprintf(sub, sizeof sub, "%s/ws", dir);
    assert_int_equal(mkdir(sub, 0700), 0);

    write_schema(dir, "http", "a.json", "{\"type\":\"object\",\"pattern\":\"x\"}");
    expect_load_error(dir, "pattern");
    expect_load_error(dir, "http/a");
    write_schema(dir, "http", "a.json", "{\"type\":");
    expect_load_error(dir, "a.json");
    write_schema(dir, "http", "a.json", "{\"type\":\"object\",\"type\":\"string\"}");
    expect_load_error(dir, "a.json"); /* duplicate keys in a schema too */

    write_schema(dir, "http", "a.json", "{\"type\":\"object\"}");
    write_schema(dir, "ws", "client.b.json", "{\"type\":\"object\"}");
    write_schema(dir, "ws", "notes.txt", "not a schema");
    set = schema_set_load(dir, &err);
    assert_non_null(set);
    assert_non_null(schema_set_find(set, "http/a"));
    assert_non_null(schema_set_find(set, "ws/client.b"));
    assert_null(schema_set_find(set, "ws/notes"));
    schema_set_free(set);

    snprintf(sub, sizeof sub, "%s/http/a.json", dir);
    unlink(sub);
    snprintf(sub, sizeof sub, "%s/ws/client.b.json", dir);
    unlink(sub);
    snprintf(sub, sizeof sub, "%s/ws/notes.txt", dir);
    unlink(sub);
    snprintf(sub, sizeof sub, "%s/http", dir);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/ws", dir);
    rmdir(sub);
    rmdir(dir);
}

static void expect_keywords(const char *schema_text, bool ok, const char *word)
{
    struct ed_error err = {0};
    json_t *schema = json_loads(schema_text, 0, NULL);

    assert_non_null(schema);
    if (schema_check_keywords(schema, &err) != ok)
        fail_msg("schema_check_keywords %s: %s", ok ? "refused" : "accepted", schema_text);
    if (!ok) {
        assert_int_equal(err.status, 500);
        assert_string_equal(err.code, "schema_error");
        if (word && !strstr(err.message, word))
            fail_msg("message \"%s\" does not name %s", err.message, word);
    }
    json_decref(schema);
}

static void test_check_keywords(void **state)
{
    (void)state;
    expect_keywords("{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
                    "\"properties\":{\"a\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,"
                    "\"maximum\":3,\"enum\":[1,2,null]},\"d\":{\"$ref\":\"#/$defs/d\"}},"
                    "\"$defs\":{\"d\":{\"type\":\"string\",\"format\":\"date\",\"minLength\":1,"
                    "\"maxLength\":10,\"description\":\"x\",\"examples\":[\"2020-01-01\"]}},"
                    "\"minProperties\":1,\"title\":\"t\",\"$id\":\"i\",\"$schema\":\"s\"}",
                    true, NULL);
    expect_keywords("{\"type\":\"string\",\"pattern\":\"^a$\"}", false, "pattern");
    expect_keywords("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", false, "oneOf");
    expect_keywords("{\"anyOf\":[{\"type\":\"string\"}]}", false, "anyOf");
    expect_keywords("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
                    "\"pattern\":\"x\"}}}",
                    false, "pattern");
    expect_keywords("{\"$defs\":{\"a\":{\"oneOf\":[]}}}", false, "oneOf");
    expect_keywords("{\"type\":\"object\",\"additionalProperties\":true}", false, NULL);
    expect_keywords("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}", false,
                    NULL);
    expect_keywords("{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", false, "items");
    expect_keywords("{\"properties\":{\"a\":3}}", false, NULL);
    expect_keywords("[]", false, NULL);
}

/* ---- type ---- */

#define OBJ_INT  "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}}"
#define OBJ_NUM  "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"number\"}}}"
#define OBJ_STR  "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\"}}}"
#define OBJ_BOOL "{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"boolean\"}}}"
#define OBJ_INT_OR_NULL \
    "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":[\"integer\",\"null\"]}}}"

static void test_type(void **state)
{
    (void)state;
    expect_inline(OBJ_INT, "{\"n\":72}", NULL, "");
    expect_inline(OBJ_INT, "{\"n\":\"72\"}", "wrong_type", "n");
    expect_inline(OBJ_INT, "{\"n\":-3}", NULL, "");
    expect_inline(OBJ_INT, "{\"n\":72.0}", NULL, ""); /* integral real is an integer */
    expect_inline(OBJ_INT, "{\"n\":7.2e1}", NULL, "");
    expect_inline(OBJ_INT, "{\"n\":-0.0}", NULL, "");
    expect_inline(OBJ_INT, "{\"n\":72.5}", "wrong_type", "n");
    expect_inline(OBJ_INT, "{\"n\":1e300}", "wrong_type", "n"); /* beyond any integer field */
    expect_inline(OBJ_INT, "{\"n\":null}", "wrong_type", "n");
    expect_inline(OBJ_INT, "{\"n\":true}", "wrong_type", "n");
    expect_inline(OBJ_INT, "{\"n\":[1]}", "wrong_type", "n");
    expect_inline(OBJ_INT, "{\"n\":{}}", "wrong_type", "n");
    expect_inline(OBJ_NUM, "{\"n\":72}", NULL, "");
    expect_inline(OBJ_NUM, "{\"n\":36.6}", NULL, "");
    expect_inline(OBJ_NUM, "{\"n\":\"36.6\"}", "wrong_type", "n");
    expect_inline(OBJ_STR, "{\"s\":\"x\"}", NULL, "");
    expect_inline(OBJ_STR, "{\"s\":72}", "wrong_type", "s");
    expect_inline(OBJ_STR, "{\"s\":null}", "wrong_type", "s");
    expect_inline(OBJ_BOOL, "{\"b\":false}", NULL, "");
    expect_inline(OBJ_BOOL, "{\"b\":\"true\"}", "wrong_type", "b");
    expect_inline(OBJ_BOOL, "{\"b\":1}", "wrong_type", "b");
    expect_inline(OBJ_INT_OR_NULL, "{\"n\":null}", NULL, "");
    expect_inline(OBJ_INT_OR_NULL, "{\"n\":5}", NULL, "");
    expect_inline(OBJ_INT_OR_NULL, "{\"n\":\"5\"}", "wrong_type", "n");
    /* The body itself: field null. */
    expect_inline(OBJ_INT, "[]", "wrong_type", "");
    expect_inline(OBJ_INT, "[{\"n\":1}]", "wrong_type", "");
    /* A property the document leaves out is not checked. */
    expect_inline(OBJ_INT, "{}", NULL, "");
}

/* README: "a body that is an array, string, ... instead of an object" is wrong_type, field null.
 * A bare scalar is a JSON text (RFC 8259), so it is not malformed_json. */
static void test_scalar_body(void **state)
{
    struct ed_error err = {0};
    json_t *doc;

    (void)state;
    doc = schema_parse_body("42", 2, BODY_MAX_DEPTH, &err);
    assert_non_null(doc);
    assert_true(json_is_integer(doc));
    json_decref(doc);
    expect_inline(OBJ_INT, "42", "wrong_type", "");
    expect_inline(OBJ_INT, "\"x\"", "wrong_type", "");
    expect_inline(OBJ_INT, "null", "wrong_type", "");
    expect_inline(OBJ_INT, "true", "wrong_type", "");
    expect_inline(OBJ_INT, " [] ", "wrong_type", "");
}

/* ---- schema_parse_body: JSON, no duplicate names, at most 8 levels ---- */

/* n levels of objects: {"a":{"a":...{}}}, or of arrays [[...]]; caller frees. */
static char *nested(int n, bool arrays)
{
    char *text = malloc((size_t)n * 6 + 1), *p = text;

    assert_non_null(text);
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s", arrays ? "[" : (i + 1 < n ? "{\"a\":" : "{"));
    for (int i = 0; i < n; i++)
        *p++ = arrays ? ']' : '}';
    *p = '\0';
    return text;
}

static void expect_parse(const char *text, size_t len, bool ok)
{
    struct ed_error err = {0};
    json_t *doc = schema_parse_body(text, len, BODY_MAX_DEPTH, &err);

    if (ok && !doc)
        fail_msg("refused (%s) but must parse: %.200s", err.message, text);
    if (!ok && doc)
        fail_msg("parsed but must be refused: %.200s", text);
    if (!ok) {
        assert_int_equal(err.status, 400);
        assert_string_equal(err.code, "malformed_json");
        assert_string_equal(err.field, "");
    }
    json_decref(doc);
}

static void test_parse_body(void **state)
{
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"{}", true},
        {"{\"a\":1}\n", true},
        {"  {\"a\" : [1, 2.5, \"x\", null, true]}  ", true},
        {"{\"a\":1,\"a\":2}", false},         /* duplicate member names */
        {"{\"p\":{\"m\":1,\"m\":1}}", false}, /* also nested */
        {"{\"a\":1,\"A\":2}", true},          /* names are case-sensitive */
        {"{\"a\":1", false},
        {"{\"a\":1,}", false},
        {"{\"a\":1} x", false},
        {"{\"a\":1}{}", false},
        {"{'a':1}", false},
        {"{a:1}", false},
        {"{\"a\":01}", false},
        {"{\"a\":NaN}", false},
        {"{\"a\":1e999}", false},
        {"{\"a\":\"\xc3\"}", false},         /* invalid UTF-8 */
        {"{\"a\":\"\xed\xa0\x80\"}", false}, /* a UTF-8-encoded surrogate */
        {"{\"a\":\"\\ud800\"}", false},      /* a lone surrogate escape */
        {"{\"a\":\"tab\there\"}", false},    /* raw control character */
        {"status=departed", false},
        {"   ", false},
        {"\xef\xbb\xbf{}", false}, /* a byte order mark */
    };
    char *text;

    (void)state;
    expect_parse("", 0, false); /* empty body */
    expect_parse("{}", 0, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_parse(cases[i].text, strlen(cases[i].text), cases[i].ok);
    /* a NUL byte outside a string, and the length is what counts, not the terminator */
    expect_parse("{}\0", 3, false);
    expect_parse("{\"a\":1}garbage", 7, true);
    /* depth: 8 levels parse, 9 do not, for objects and arrays alike */
    for (int arrays = 0; arrays < 2; arrays++) {
        text = nested(8, arrays);
        expect_parse(text, strlen(text), true);
        free(text);
        text = nested(9, arrays);
        expect_parse(text, strlen(text), false);
        free(text);
    }
    text = nested(5000, false); /* far beyond: refused, without deep recursion of ours */
    expect_parse(text, strlen(text), false);
    free(text);
    /* a NUL escaped inside a string parses; the schema then refuses the string */
    expect_inline(OBJ_STR, "{\"s\":\"a\\u0000b\"}", "invalid_value", "s");
    expect_parse("{\"a\\u0000b\":1}", strlen("{\"a\\u0000b\":1}"), false); /* NUL in a name */
}

/* ---- minimum / maximum ---- */

static void test_range(void **state)
{
    const char *schema = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\","
                         "\"minimum\":0,\"maximum\":300},\"t\":{\"type\":\"number\","
                         "\"minimum\":25,\"maximum\":45},\"id\":{\"type\":\"integer\","
                         "\"minimum\":1}}}";

    (void)state;
    expect_inline(schema, "{\"n\":0}", NULL, "");
    expect_inline(schema, "{\"n\":300}", NULL, "");
    expect_inline(schema, "{\"n\":300.0}", NULL, "");
    expect_inline(schema, "{\"n\":-1}", "out_of_range", "n");
    expect_inline(schema, "{\"n\":301}", "out_of_range", "n");
    expect_inline(schema, "{\"n\":9223372036854775807}", "out_of_range", "n");
    expect_inline(schema, "{\"t\":25}", NULL, "");
    expect_inline(schema, "{\"t\":45.0}", NULL, "");
    expect_inline(schema, "{\"t\":45.01}", "out_of_range", "t");
    expect_inline(schema, "{\"t\":24.99}", "out_of_range", "t");
    expect_inline(schema, "{\"id\":1}", NULL, "");
    expect_inline(schema, "{\"id\":0}", "out_of_range", "id");
    expect_inline("{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"integer\","
                  "\"maximum\":10}}}",
                  "{\"p\":11}", "out_of_range", "p");
    /* a member whose schema states nothing takes any value */
    expect_inline("{\"type\":\"object\",\"properties\":{\"any\":{}}}", "{\"any\":[{}]}", NULL, "");
}

/* ---- enum ---- */

static void test_enum(void **state)
{
    const char *schema = "{\"type\":\"object\",\"properties\":{\"c\":{\"type\":[\"string\","
                         "\"null\"],\"enum\":[\"A\",\"C\",\"V\",\"P\",\"U\",null]},"
                         "\"k\":{\"type\":\"integer\",\"enum\":[1,2,3]}}}";

    (void)state;
    expect_inline(schema, "{\"c\":\"A\"}", NULL, "");
    expect_inline(schema, "{\"c\":\"U\"}", NULL, "");
    expect_inline(schema, "{\"c\":null}", NULL, "");
    expect_inline(schema, "{\"c\":\"a\"}", "invalid_value", "c");
    expect_inline(schema, "{\"c\":\"AV\"}", "invalid_value", "c");
    expect_inline(schema, "{\"c\":\"\"}", "invalid_value", "c");
    expect_inline(schema, "{\"c\":15}", "wrong_type", "c"); /* type first, then enum */
    expect_inline(schema, "{\"k\":2}", NULL, "");
    expect_inline(schema, "{\"k\":2.0}", NULL, "");
    expect_inline(schema, "{\"k\":4}", "invalid_value", "k");
    /* The real ones. */
    expect_named("http/status", "{\"status\":\"in_room\"}", NULL, "");
    expect_named("http/status", "{\"status\":\"IN_ROOM\"}", "invalid_value", "status");
    expect_named("ws/client.subscribe",
                 "{\"type\":\"subscribe\",\"topic\":\"beds\",\"department_id\":1,\"since\":0}",
                 "invalid_value", "topic");
}

/* ---- format ---- */

#define OBJ_DATE \
    "{\"type\":\"object\",\"properties\":{\"d\":{\"type\":\"string\",\"format\":\"date\"}}}"
#define OBJ_DATETIME \
    "{\"type\":\"object\",\"properties\":{\"t\":{\"type\":\"string\",\"format\":\"date-time\"}}}"

static void test_format_date(void **state)
{
    (void)state;
    expect_inline(OBJ_DATE, "{\"d\":\"2024-02-29\"}", NULL, "");
    expect_inline(OBJ_DATE, "{\"d\":\"2023-02-29\"}", "invalid_value", "d");
    expect_inline(OBJ_DATE, "{\"d\":\"2023-02-30\"}", "invalid_value", "d");
    expect_inline(OBJ_DATE, "{\"d\":\"1961-03-02\"}", NULL, "");
    expect_inline(OBJ_DATE, "{\"d\":\"03/02/1961\"}", "invalid_value", "d");
    expect_inline(OBJ_DATE, "{\"d\":\"1961-03-02T00:00:00Z\"}", "invalid_value", "d");
    expect_inline(OBJ_DATE, "{\"d\":19610302}", "wrong_type", "d");
    expect_named("http/arrival",
                 "{\"patient\":{\"mrn\":\"M-1\",\"birth_date\":\"2023-02-30\"},"
                 "\"arrival_mode\":\"walk_in\",\"chief_complaint\":\"x\"}",
                 "invalid_value", "patient.birth_date");
}

static void test_format_datetime(void **state)
{
    (void)state;
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T08:14:00Z\"}", NULL, "");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T08:14:00+01:00\"}", NULL, "");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T08:14:00-05:30\"}", NULL, "");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T08:14:00.250Z\"}", NULL, "");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T08:14:00.123456+02:00\"}", NULL, "");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T08:14:00\"}", "invalid_value", "t");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T24:14:00Z\"}", "invalid_value", "t");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25 08:14:00Z\"}", "invalid_value", "t");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25\"}", "invalid_value", "t");
    expect_inline(OBJ_DATETIME, "{\"t\":\"2026-11-25T08:14:00.Z\"}", "invalid_value", "t");
}

/* ---- minLength / maxLength: Unicode code points, not bytes ---- */

static void test_length(void **state)
{
    const char *schema = "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\","
                         "\"minLength\":1,\"maxLength\":200}}}";
    struct {
        const char *unit;
        size_t n;
        const char *code;
    } cases[] = {
        {"a", 200, NULL},
        {"a", 201, "too_long"},
        {"\xc3\xa9", 200, NULL}, /* é: 2 bytes, 1 character */
        {"\xc3\xa9", 201, "too_long"},
        {"\\u00e9", 200, NULL},          /* the same, escaped */
        {"\xe2\x82\xac", 200, NULL},     /* €: 3 bytes */
        {"\xf0\x9f\x9a\x91", 200, NULL}, /* 🚑: 4 bytes, 1 code point */
        {"\xf0\x9f\x9a\x91", 201, "too_long"},
        {"\\ud83d\\ude91", 200, NULL}, /* 🚑 as a surrogate pair: 1 code point */
        {"\\n", 200, NULL},
        {"a", 1, NULL},
        {"a", 0, "invalid_value"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = string_member(cases[i].unit, cases[i].n);
        expect_inline(schema, text, cases[i].code, cases[i].code ? "s" : "");
        free(text);
    }
    expect_inline("{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\","
                  "\"minLength\":3}}}",
                  "{\"s\":\"ab\"}", "invalid_value", "s");
}

/* ---- objects: required, additionalProperties, minProperties, order, paths ---- */

#define ARRIVAL_PATIENT "{\"mrn\":\"EX-1\",\"family_name\":\"Okafor\",\"given_name\":\"Ada\""

static void test_object(void **state)
{
    (void)state;
    expect_named("http/arrival",
                 "{\"patient\":" ARRIVAL_PATIENT ",\"nickname\":\"Di\"},"
                 "\"arrival_mode\":\"walk_in\",\"chief_complaint\":\"x\"}",
                 "unknown_field", "patient.nickname");
    expect_named("http/arrival",
                 "{\"patient\":{\"family_name\":\"Okafor\"},"
                 "\"arrival_mode\":\"walk_in\",\"chief_complaint\":\"x\"}",
                 "missing_field", "patient.mrn");
    expect_named("http/arrival",
                 "{\"patient\":" ARRIVAL_PATIENT "},\"arrival_mode\":\"walk_in\","
                 "\"chief_complaint\":\"x\",\"priority\":1}",
                 "unknown_field", "priority");
    /* required before additionalProperties */
    expect_named("http/arrival", "{\"priority\":1}", "missing_field", "patient");
    /* members in the schema's properties order, not the document's */
    expect_named("http/vitals", "{\"resp_rate\":81,\"heart_rate\":301,\"taken_by\":1}",
                 "out_of_range", "heart_rate");
    expect_named("http/vitals", "{\"taken_by\":0,\"heart_rate\":301}", "out_of_range", "taken_by");
    /* minProperties on the body: field null */
    expect_named("http/assignment", "{}", "invalid_value", "");
    expect_named("http/assignment", "{\"nurse_id\":null}", NULL, "");
    /* a nested object of the wrong type */
    expect_named("http/arrival",
                 "{\"patient\":[],\"arrival_mode\":\"walk_in\",\"chief_complaint\":\"x\"}",
                 "wrong_type", "patient");
    /* a $ref that points nowhere is the schema's fault: 500 */
    {
        struct ed_error err = {0};
        json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"a\":"
                                    "{\"$ref\":\"#/$defs/none\"}}}",
                                    0, NULL);
        json_t *doc = json_loads("{\"a\":1}", 0, NULL);
        assert_false(schema_validate(schema, doc, &err));
        assert_int_equal(err.status, 500);
        assert_string_equal(err.field, "a");
        json_decref(schema);
        json_decref(doc);
    }
}

/* A long unknown member name must still give a renderable error: the field is truncated to
 * fit struct ed_error, and must stay valid UTF-8 or ed_error_json() cannot build the reply. */
static void unknown_long_key(const char *unit, size_t n, struct ed_error *err)
{
    char *member = string_member(unit, n); /* {"s":"<key>"} */
    size_t len = strlen(member);
    char *text = malloc(len + 32);
    json_t *doc;

    assert_non_null(text);
    /* {"<key>":1,"status":"in_room"} */
    snprintf(text, len + 32, "{%.*s:1,\"status\":\"in_room\"}", (int)(len - 6), member + 5);
    free(member);
    doc = schema_parse_body(text, strlen(text), BODY_MAX_DEPTH, err);
    assert_non_null(doc);
    assert_false(schema_validate(find_schema("http/status"), doc, err));
    assert_string_equal(err->code, "unknown_field");
    json_decref(doc);
    free(text);
}

static void test_long_field_names(void **state)
{
    struct ed_error err = {0};
    json_t *reply;

    (void)state;
    unknown_long_key("a", 300, &err);
    assert_int_equal(strlen(err.field), sizeof err.field - 1); /* truncated */
    assert_true(err.field[0] == 'a' && err.field[sizeof err.field - 2] == 'a');
    reply = ed_error_json(&err);
    assert_non_null(reply);
    json_decref(reply);

    /* 100 x "é" is 200 bytes: cut at 127 bytes it ends in half a character. */
    unknown_long_key("\xc3\xa9", 100, &err);
    reply = ed_error_json(&err);
    assert_non_null(reply); /* cut on a character boundary, so still a JSON string */
    assert_non_null(json_object_get(json_object_get(reply, "error"), "field"));
    json_decref(reply);
}

int main(void)
{
    struct ed_error err = {0};
    static const struct CMUnitTest direct[] = {
        cmocka_unit_test(test_load_all_schemas),
        cmocka_unit_test(test_load_missing_dir),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_check_keywords),
        cmocka_unit_test(test_valid_examples_found),
        cmocka_unit_test(test_invalid_index_complete),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_scalar_body),
        cmocka_unit_test(test_parse_body),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_format_date),
        cmocka_unit_test(test_format_datetime),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_long_field_names),
    };
    struct CMUnitTest table[EXAMPLES_MAX];
    int failed;

    schemas = schema_set_load(PROTO_DIR, &err);
    if (!schemas) {
        fprintf(stderr, "cannot load the schemas in %s: %s\n", PROTO_DIR, err.message);
        return 1;
    }
    if (!collect_examples()) {
        fprintf(stderr, "cannot read %s/examples\n", PROTO_DIR);
        schema_set_free(schemas);
        return 1;
    }
    for (size_t i = 0; i < example_count; i++) {
        struct CMUnitTest t = {examples[i].file, test_example, NULL, NULL, &examples[i]};
        table[i] = t;
    }
    failed = cmocka_run_group_tests_name("schema", direct, NULL, NULL);
    failed += _cmocka_run_group_tests("schema_examples", table, example_count, NULL, NULL);
    schema_set_free(schemas);
    return failed;
}
