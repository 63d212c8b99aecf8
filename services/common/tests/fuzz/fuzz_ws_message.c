/* SPDX-License-Identifier: MIT */
/* fuzz_ws_message.c: a client text frame as ed-hub reads it (handle_message() in
 * services/hub/hub_messages.c): parsed with schema_parse_body() at the hub's depth limit, then
 * validated against "ws/client.<type>" chosen by the message's own "type" member. */
#include "fuzz_common.h"

#define FUZZ_WS_MAX_DEPTH 4 /* as handle_message() */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct schema_set *set = fuzz_schemas();
    struct ed_error err = {0};
    json_t *msg = schema_parse_body((const char *)data, size, FUZZ_WS_MAX_DEPTH, &err);
    const char *type;
    char schema_name[64];
    const json_t *schema;

    if (!msg) {
        fuzz_check_refusal(&err);
        FUZZ_REQUIRE(!strcmp(err.code, "malformed_json"));
        return 0;
    }
    type = json_string_value(json_object_get(msg, "type"));
    if (json_is_object(msg) && type) {
        snprintf(schema_name, sizeof schema_name, "ws/client.%s", type);
        schema = strchr(type, '/') ? NULL : schema_set_find(set, schema_name);
        if (schema && fuzz_validate(schema, msg)) {
            /* Only the three client messages exist, and the one chosen is the one named. */
            FUZZ_REQUIRE(!strcmp(type, "subscribe") || !strcmp(type, "unsubscribe") ||
                         !strcmp(type, "ping"));
            FUZZ_REQUIRE(json_string_length(json_object_get(msg, "type")) == strlen(type));
        }
    }
    json_decref(msg);
    return 0;
}
