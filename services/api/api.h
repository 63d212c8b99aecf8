/* SPDX-License-Identifier: MIT */
/* api.h: ed-api's shared state and the route table's contract. */
#ifndef EDLIVE_API_H
#define EDLIVE_API_H

#include <jansson.h>
#include <libpq-fe.h>

#include "ed_error.h"
#include "redis_pub.h"
#include "schema.h"

#define API_MAX_BODY_BYTES (16 * 1024)
#define API_MAX_BODY_DEPTH 8
/* A refused body up to this size is read and dropped so the client sees the answer;
 * a larger one gets the answer at once and the connection closed. */
#define API_DISCARD_MAX_BYTES (1024 * 1024)

/* One per process; reached from lws through the context user pointer. */
struct api {
    PGconn *pg;             /* one blocking connection: the lws loop is single-threaded */
    struct redis_pub *redis;
    struct schema_set *schemas;
};

enum route_method { ROUTE_GET, ROUTE_POST, ROUTE_OTHER };

/* A matched request: the route decides; the caller renders reply or err. */
struct route_result {
    int status;    /* HTTP status on success (200, 201) */
    json_t *reply; /* new reference on success */
};

/* Routes one request. Returns true with out filled, or false with err (4xx/5xx).
 * body may be NULL for GET. */
bool routes_dispatch(struct api *app, enum route_method method, const char *path,
                     const char *body, size_t body_len, struct route_result *out,
                     struct ed_error *err);

/* True when every route's body schema is present in schemas. */
bool routes_check_schemas(const struct schema_set *schemas, struct ed_error *err);

/* The methods a known path accepts ("GET", "POST"), for a 405's Allow header. */
const char *routes_allowed_methods(const char *path);

/* True when the method and path name a route that takes a JSON body. */
bool routes_takes_body(enum route_method method, const char *path);

#endif
