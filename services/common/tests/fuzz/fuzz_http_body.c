/* SPDX-License-Identifier: MIT */
/* fuzz_http_body.c: a request body as ed-api reads it (services/api/routes.c): parsed with
 * schema_parse_body() at the contract's depth limit, then validated against every http schema,
 * since any route may receive any body. */
#include <dirent.h>

#include "fuzz_common.h"

#define FUZZ_BODY_MAX_DEPTH   8 /* proto/README.md, Errors */
#define FUZZ_HTTP_SCHEMAS_MAX 32

static size_t http_schemas(const json_t **out)
{
    static const json_t *schemas[FUZZ_HTTP_SCHEMAS_MAX];
    static size_t count;
    struct schema_set *set;
    DIR *dir;
    struct dirent *de;

    if (count)
        goto done;
    set = fuzz_schemas();
    dir = opendir(PROTO_DIR "/http");
    FUZZ_REQUIRE(dir != NULL);
    while ((de = readdir(dir)) && count < FUZZ_HTTP_SCHEMAS_MAX) {
        size_t n = strlen(de->d_name);
        char name[300];
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(name, sizeof name, "http/%.*s", (int)(n - 5), de->d_name);
        schemas[count] = schema_set_find(set, name);
        FUZZ_REQUIRE(schemas[count] != NULL);
        count++;
    }
    closedir(dir);
    FUZZ_REQUIRE(count > 0);
done:
    for (size_t i = 0; i < count; i++)
        out[i] = schemas[i];
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const json_t *schemas[FUZZ_HTTP_SCHEMAS_MAX];
    size_t n = http_schemas(schemas);
    struct ed_error err = {0};
    json_t *doc = schema_parse_body((const char *)data, size, FUZZ_BODY_MAX_DEPTH, &err);

    if (!doc) {
        fuzz_check_refusal(&err);
        FUZZ_REQUIRE(!strcmp(err.code, "malformed_json"));
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        bool ok = fuzz_validate(schemas[i], doc);
        FUZZ_REQUIRE(!ok || json_is_object(doc)); /* every http body is an object */
    }
    json_decref(doc);
    return 0;
}
