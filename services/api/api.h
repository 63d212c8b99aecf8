/* SPDX-License-Identifier: MIT */
/* api.h: ed-api's shared state, the request as routes see it, and the route table's
 * contract. */
#ifndef EDLIVE_API_H
#define EDLIVE_API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <libwebsockets.h>

#include "ed_error.h"
#include "log.h"
#include "record.h"
#include "schema.h"

#define API_MAX_BODY_BYTES (16 * 1024)
/* X-Request-Id: nginx's $request_id (32 hex) or a client's id of [A-Za-z0-9._-], at most this
 * long; anything else is replaced by one ed-api makes (http.c). */
#define API_REQUEST_ID_MAX LOG_REQUEST_ID_MAX
#define API_MAX_BODY_DEPTH 8
/* A refused body up to this size is read and dropped so the client sees the answer;
 * a larger one gets the answer at once and the connection closed. */
/* POST /fhir/R4, a transaction Bundle (a Synthea patient is up to ~1.3 MB): read into a buffer
 * of its Content-Length, allocated for that request only. */
#define API_MAX_BUNDLE_BYTES  (4 * 1024 * 1024)
#define API_DISCARD_MAX_BYTES (8 * 1024 * 1024)

/* Reached from lws through the context user pointer; each worker thread (pool.c) runs routes
 * on a copy of it whose pg is that worker's own connection. */
struct api {
    PGconn *pg;            /* the worker's blocking connection (NULL on the lws thread) */
    struct api_pool *pool; /* the worker threads that run routes (pool.c) */
    struct schema_set *schemas;
    bool fault_hooks;            /* EDLIVE_FAULT_HOOKS=1: honour X-Edlive-Fault (tests only) */
    const char *allowed_origins; /* EDLIVE_ALLOWED_ORIGINS: comma-separated, exact match */
};

enum route_method { ROUTE_GET, ROUTE_POST, ROUTE_PUT, ROUTE_DELETE, ROUTE_OTHER };

struct api_pool;

/* One HTTP request, as http.c read it. */
struct request {
    enum route_method method;
    const char *path;
    const char *body;
    size_t body_len;
    const char *token; /* from the session cookie or "Authorization: Bearer", or NULL */
    bool token_from_cookie;
    const char *origin;      /* the Origin header, or NULL */
    const char *source_addr; /* the client's address (X-Real-IP from the local proxy) */
    /* Copied from the headers on the lws thread: a route runs on a worker thread and must not
     * touch the connection (lws is single-threaded; the connection may close meanwhile). */
    const char *query;           /* the URL-decoded query arguments, each NUL-ended, then "" */
    const char *host;            /* the Host header, or "" */
    const char *forwarded_proto; /* X-Forwarded-Proto, or "" */
    bool prefer_strict;          /* Prefer: handling=strict (FHIR) */
    long long if_match;          /* If-Match: the encounter version a change is based on; 0: none */
    const char *idempotency_key; /* Idempotency-Key, or NULL */
    bool exit_after_commit;      /* fault injection (EDLIVE_FAULT_HOOKS): die before replying */
};

/* A route's answer on success. */
struct route_result {
    int status;           /* HTTP status (200, 201) */
    json_t *reply;        /* new reference */
    char set_cookie[160]; /* a Set-Cookie value to send, or "" */
    int retry_after_s;    /* on a 429: when to try again */
    json_t *current;      /* on a 409 version_conflict: the encounter as it is now */
    char etag[40];        /* FHIR: an ETag to send (W/"7"), or "" */
    char location[300];   /* FHIR: a Location to send (after a create), or "" */
    long long account_id; /* the signed-in account the request ran as (the access log); 0: none */
};

/* The i-th query argument ("name=value", URL-decoded), or NULL past the last. */
const char *request_query_fragment(const struct request *req, int i);
/* The value of the query argument "name=" (name given with its '='), copied into buf; NULL
 * when absent or when it does not fit in cap (as lws_get_urlarg_by_name). */
const char *request_query_arg(const struct request *req, const char *name, char *buf, size_t cap);

/* Routes one request. true: out filled. false: err (4xx/5xx); *retry_after_s is set for 429. */
bool routes_dispatch(struct api *app, const struct request *req, struct route_result *out,
                     int *retry_after_s, struct ed_error *err);

/* True when every route's body schema is present in schemas. */
bool routes_check_schemas(const struct schema_set *schemas, struct ed_error *err);

/* What the route table says of one request line (the first steps of routes_dispatch). */
struct route_info {
    const char *pattern;       /* "/api/v1/encounters/:id/vitals" */
    long long id;              /* the :id in the path, 0 when none */
    enum record_action action; /* the matrix's action; ACT_COUNT: any signed-in account */
    bool is_public;            /* no session needed (sign-in) */
    const char *schema;        /* the body's proto/ schema, NULL when none */
};

/* True with out filled when method and path name a route; otherwise *path_known says
 * whether the path exists with other methods (405) or not at all (404). */
bool routes_lookup(enum route_method method, const char *path, struct route_info *out,
                   bool *path_known);

/* The methods a known path accepts ("GET", "POST"), for a 405's Allow header. */
const char *routes_allowed_methods(const char *path);

/* True when the method and path name a route that takes a JSON body. */
bool routes_takes_body(enum route_method method, const char *path);

/* fhir_routes.c: FHIR R4 under /fhir/R4 (issue 12, proto/fhir/FHIR_MAPPING.md). */
/* True for a path under /fhir/: answered application/fhir+json, refusals as OperationOutcome. */
bool fhir_routes_is_fhir(const char *path);
/* Routes one /fhir request, as routes_dispatch does one /api/v1 request. */
bool fhir_routes_dispatch(struct api *app, const struct request *req, struct route_result *out,
                          struct ed_error *err);
/* The methods a /fhir path accepts (for a 405's Allow), or NULL for an unknown path. */
const char *fhir_routes_allowed_methods(const char *path);
/* True when the method and path name a FHIR route that takes a body. */
bool fhir_routes_takes_body(enum route_method method, const char *path);
/* True for POST /fhir/R4 (a batch or transaction Bundle): its body may be API_MAX_BUNDLE_BYTES. */
bool fhir_routes_takes_bundle(enum route_method method, const char *path);

/* audit_report.c: GET /api/v1/audit. */
bool audit_report(struct api *app, const struct request *req, struct principal *who,
                  struct route_result *out, struct ed_error *err);

#endif
