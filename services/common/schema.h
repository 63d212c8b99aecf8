/* SPDX-License-Identifier: MIT */
/* schema.h: validates JSON documents against the schemas in proto/, implementing exactly the
 * JSON Schema subset proto/README.md lists, so the service and the contract cannot disagree.
 * Errors map to codes: required -> missing_field, additionalProperties -> unknown_field,
 * type -> wrong_type, minimum/maximum -> out_of_range, maxLength -> too_long,
 * enum/format/minLength/minProperties -> invalid_value. All are HTTP 422. */
#ifndef EDLIVE_SCHEMA_H
#define EDLIVE_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

#include "ed_error.h"

struct schema_set;

/* Loads every *.json under dir/http and dir/ws, named "http/vitals" etc. Returns NULL and
 * fills err (status 500) when a file is missing, not JSON or uses a keyword outside the
 * subset. Caller owns the set. */
struct schema_set *schema_set_load(const char *proto_dir, struct ed_error *err);
void schema_set_free(struct schema_set *set);

/* Borrowed reference, or NULL when there is no schema of that name. */
const json_t *schema_set_find(const struct schema_set *set, const char *name);

/* True when doc satisfies schema; otherwise false with the first violation in err. */
bool schema_validate(const json_t *schema, const json_t *doc, struct ed_error *err);

/* True when the schema uses only the supported keywords; else the offending one in err. */
bool schema_check_keywords(const json_t *schema, struct ed_error *err);

/* Parses a request or message body: JSON, no duplicate keys, nested at most
 * max_depth levels. Returns a new reference, or NULL with err (400 malformed_json). */
json_t *schema_parse_body(const char *buf, size_t len, int max_depth, struct ed_error *err);

#endif
