/* SPDX-License-Identifier: MIT */
/* http.c: the lws HTTP protocol of ed-api. One request at a time per connection:
 * LWS_CALLBACK_HTTP reads method and path, HTTP_BODY gathers up to API_MAX_BODY_BYTES,
 * HTTP_BODY_COMPLETION copies the request into a job for a worker thread (pool.c); the answer
 * comes back in EVENT_WAIT_CANCELLED, its headers go out at once and its body from
 * HTTP_WRITEABLE (one lws_write per callback). */
#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "api.h"
#include "api_ops.h"
#include "fhir.h"
#include "http.h"
#include "log.h"
#include "ops.h"
#include "pool.h"

/* One per HTTP connection (lws pss); reset at each request on a kept-alive connection. */
struct http_conn {
    char path[256];
    enum route_method method;
    bool body_too_large;
    bool close_after; /* unread body left on the socket: close instead of keep-alive */
    bool responded;   /* the reply is out; a body still arriving is ignored */
    bool has_refusal; /* refusal is the answer, sent once the body has been read */
    struct ed_error refusal;
    struct api_job *job; /* the request a worker is running, or NULL */
    uint64_t started_us; /* the request line read (ops_now_us): its duration's start */
    char request_id[API_REQUEST_ID_MAX + 1]; /* X-Request-Id: taken or made (request_id) */
    long long account_id;                    /* who it ran as (the access log); 0: nobody */
    size_t body_len;
    char body[API_MAX_BODY_BYTES + 1];
    unsigned char *out; /* LWS_PRE + reply body, malloc'd */
    size_t out_len;
    char *big;      /* a body larger than body[] (POST /fhir/R4 only), malloc'd, NUL-ended */
    size_t big_cap; /* its Content-Length */
    /* Kept across requests (after body: on_request's reset stops before it). */
    struct lws *wsi;
    struct http_conn *next_open, **prev_open; /* open_conns, for a drain */
    bool listed;
};

/* Every open connection, and whether ed-api is draining (SIGTERM): lws thread only. */
static struct http_conn *open_conns;
static bool draining;

static void list_conn(struct lws *wsi, struct http_conn *c)
{
    if (c->listed)
        return;
    c->wsi = wsi;
    c->next_open = open_conns;
    c->prev_open = &open_conns;
    if (open_conns)
        open_conns->prev_open = &c->next_open;
    open_conns = c;
    c->listed = true;
}

static void unlist_conn(struct http_conn *c)
{
    if (!c->listed)
        return;
    *c->prev_open = c->next_open;
    if (c->next_open)
        c->next_open->prev_open = c->prev_open;
    c->listed = false;
}

/* A connection with no request under way: between requests on a kept-alive connection. */
static bool conn_idle(const struct http_conn *c)
{
    return !c->job && !c->out && (c->responded || !c->path[0]);
}

void http_drain_start(void)
{
    draining = true;
    /* Idle kept-alive connections end now (nginx opens its next one to another instance);
     * busy ones end after their answer, which says "Connection: close". */
    for (struct http_conn *c = open_conns; c; c = c->next_open)
        if (conn_idle(c))
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

int http_busy(void)
{
    int n = 0;

    for (struct http_conn *c = open_conns; c; c = c->next_open)
        n += !conn_idle(c);
    return n;
}

static enum route_method method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return ROUTE_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return ROUTE_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI))
        return ROUTE_PUT;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return ROUTE_DELETE;
    return ROUTE_OTHER;
}

static long content_length(struct lws *wsi)
{
    char buf[32];

    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    return atol(buf);
}

/* application/json, or for FHIR also application/fhir+json (with parameters or not). */
static bool is_json_content_type(struct lws *wsi, bool fhir)
{
    char buf[128];
    size_t n;

    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        return false;
    if (!strncasecmp(buf, "application/json", 16))
        n = 16;
    else if (fhir && !strncasecmp(buf, "application/fhir+json", 21))
        n = 21;
    else
        return false;
    return buf[n] == '\0' || buf[n] == ';';
}

static void free_out(struct http_conn *c)
{
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    free(c->big);
    c->big = NULL;
    c->big_cap = 0;
}

/* The largest body the path takes. */
static long max_body(const struct http_conn *c)
{
    return fhir_routes_is_fhir(c->path) && fhir_routes_takes_bundle(c->method, c->path)
               ? API_MAX_BUNDLE_BYTES
               : API_MAX_BODY_BYTES;
}

/* The request's id: a sane X-Request-Id (nginx sends its $request_id) or 128 random bits in
 * hex. Anything else a client sends is replaced, never logged. */
static const char *request_id(struct lws *wsi, struct http_conn *c)
{
    char given[API_REQUEST_ID_MAX + 2];
    int n;

    if (c->request_id[0])
        return c->request_id;
    n = lws_hdr_custom_length(wsi, "x-request-id:", 13);
    if (n > 0 && n <= API_REQUEST_ID_MAX &&
        lws_hdr_custom_copy(wsi, given, sizeof given, "x-request-id:", 13) == n &&
        log_request_id_is_sane(given, (size_t)n)) {
        memcpy(c->request_id, given, (size_t)n + 1);
        return c->request_id;
    }
    unsigned char random[16];
    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
        memset(random, 0, sizeof random); /* cannot happen after boot; an id of zeros then */
    for (int i = 0; i < 16; i++)
        snprintf(c->request_id + 2 * i, 3, "%02x", random[i]);
    return c->request_id;
}

/* One line per answered request: never the path or the query (ids, search terms), only the
 * route's pattern. */
static void log_access(struct http_conn *c, const char *id, int status)
{
    char status_text[16], duration[32], user[32];

    snprintf(status_text, sizeof status_text, LOG_NUM "%d", status);
    snprintf(duration, sizeof duration, LOG_NUM "%.3f",
             (double)(ops_now_us() - c->started_us) / 1000.0);
    if (c->account_id)
        snprintf(user, sizeof user, LOG_NUM "%lld", c->account_id);
    log_fields(status >= 500 ? "warn" : "info", "request", "request_id", id, "method",
               api_ops_method_name(c->method), "route", api_ops_route(c->method, c->path), "status",
               status_text, "duration_ms", duration, "user_id", c->account_id ? user : LOG_NULL,
               (const char *)NULL);
}

/* Sends the status and headers now and queues the body for HTTP_WRITEABLE. */
static int respond(struct lws *wsi, struct http_conn *c, int status, json_t *doc, const char *allow,
                   const char *set_cookie, int retry_after_s, const struct route_result *extra)
{
    bool fhir = fhir_routes_is_fhir(c->path);
    const char *etag = extra && extra->etag[0] ? extra->etag : NULL;
    const char *location = extra && extra->location[0] ? extra->location : NULL;
    char retry[16];
    unsigned char headers[LWS_PRE + 1024];
    unsigned char *start = &headers[LWS_PRE], *p = start, *end = &headers[sizeof headers - 1];
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    size_t len = text ? strlen(text) : 0;
    const char *id = request_id(wsi, c);

    api_ops_count(c->method, c->path, status, ops_now_us() - c->started_us);
    log_access(c, id, status);
    json_decref(doc);
    free_out(c);
    c->responded = true;
    if (draining)
        c->close_after = true;
    c->out = malloc(LWS_PRE + len + 1);
    if (!text || !c->out) {
        free(text);
        return -1;
    }
    memcpy(c->out + LWS_PRE, text, len);
    c->out_len = len;
    free(text);
    if (lws_add_http_common_headers(
            wsi, (unsigned int)status,
            fhir ? "application/fhir+json; charset=utf-8" : "application/json", len, &p, end) ||
        (etag && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ETAG, (const unsigned char *)etag,
                                              (int)strlen(etag), &p, end)) ||
        (location &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_LOCATION, (const unsigned char *)location,
                                      (int)strlen(location), &p, end)) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-request-id:",
                                    (const unsigned char *)id, (int)strlen(id), &p, end) ||
        (set_cookie && set_cookie[0] &&
         lws_add_http_header_by_name(
             wsi, (const unsigned char *)"set-cookie:", (const unsigned char *)set_cookie,
             (int)strlen(set_cookie), &p, end)) ||
        (retry_after_s > 0 && snprintf(retry, sizeof retry, "%d", retry_after_s) > 0 &&
         lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                     (const unsigned char *)retry, (int)strlen(retry), &p, end)) ||
        (allow && lws_add_http_header_by_name(
                      wsi, (const unsigned char *)"allow:", (const unsigned char *)allow,
                      (int)strlen(allow), &p, end)) ||
        (c->close_after &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                      &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* GET /healthz, /readyz, /metrics (common/ops.h): not counted as requests, no session. */
static int respond_ops(struct lws *wsi, struct http_conn *c, const char *uri)
{
    struct ops_reply reply;
    unsigned char headers[LWS_PRE + 512];
    unsigned char *start = &headers[LWS_PRE], *p = start, *end = &headers[sizeof headers - 1];

    ops_answer(uri, &reply);
    free_out(c);
    c->responded = true;
    c->close_after = content_length(wsi) != 0;
    c->out = malloc(LWS_PRE + reply.len + 1);
    if (!c->out) {
        free(reply.body);
        return -1;
    }
    memcpy(c->out + LWS_PRE, reply.body, reply.len);
    c->out_len = reply.len;
    free(reply.body);
    if (lws_add_http_common_headers(wsi, (unsigned int)reply.status, reply.content_type, reply.len,
                                    &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        (c->close_after &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                      &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* The error document: an OperationOutcome under /fhir, else the REST error object. */
static json_t *error_doc(const struct http_conn *c, const struct ed_error *err)
{
    return fhir_routes_is_fhir(c->path) ? fhir_operation_outcome(err) : ed_error_json(err);
}

static const char *allowed_methods(const struct http_conn *c)
{
    return fhir_routes_is_fhir(c->path) ? fhir_routes_allowed_methods(c->path)
                                        : routes_allowed_methods(c->path);
}

static int respond_error(struct lws *wsi, struct http_conn *c, const struct ed_error *err)
{
    return respond(wsi, c, err->status, error_doc(c, err),
                   err->status == 405 ? allowed_methods(c) : NULL, NULL, 0, NULL);
}

/* If-Match and Idempotency-Key (proto/GUARANTEES.md). False with err on a malformed one. */
static bool read_write_headers(struct lws *wsi, struct api_job *job, bool fault_hooks,
                               struct ed_error *err)
{
    struct request *req = &job->req;
    char buf[128];
    const char *p;
    char *end;
    int n;

    n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_IF_MATCH);
    if (n > 0 && strcmp(buf, "*") != 0) {
        /* The encounter's version, as sent in every row: 7, "7" or W/"7". */
        bool quoted;
        p = buf;
        if (!strncmp(p, "W/", 2))
            p += 2;
        quoted = *p == '"';
        p += quoted;
        errno = 0;
        req->if_match = strtoll(p, &end, 10);
        if (end == p || errno || req->if_match < 1 || strcmp(end, quoted ? "\"" : ""))
            return ed_error_set(err, ED_ERR_INVALID_HEADER, "If-Match",
                                "If-Match must be the encounter's version, e.g. \"7\"");
    } else if (n < 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_IF_MATCH) >= (int)sizeof buf) {
        return ed_error_set(err, ED_ERR_INVALID_HEADER, "If-Match", "If-Match is too long");
    }
    n = lws_hdr_custom_length(wsi, "idempotency-key:", 16);
    if (n > 0) {
        if (n > 100 || lws_hdr_custom_copy(wsi, job->idempotency_key, sizeof job->idempotency_key,
                                           "idempotency-key:", 16) != n)
            return ed_error_set(err, ED_ERR_INVALID_HEADER, "Idempotency-Key",
                                "Idempotency-Key must be 1-100 visible ASCII characters");
        for (int i = 0; i < n; i++)
            if (job->idempotency_key[i] < 0x21 || job->idempotency_key[i] > 0x7e)
                return ed_error_set(err, ED_ERR_INVALID_HEADER, "Idempotency-Key",
                                    "Idempotency-Key must be 1-100 visible ASCII characters");
        req->idempotency_key = job->idempotency_key;
    }
    if (fault_hooks && lws_hdr_custom_copy(wsi, buf, sizeof buf, "x-edlive-fault:", 15) > 0)
        req->exit_after_commit = !strcmp(buf, "exit-after-commit");
    return true;
}

/* The query arguments, URL-decoded by lws, copied as "a=1\0b=2\0\0" (empty ones left out). */
static char *copy_query(struct lws *wsi)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    char *out = calloc(1, (size_t)(total > 0 ? total : 0) * 2 + 2), *p = out;
    char *frag = malloc((size_t)(total > 0 ? total : 0) + 1);

    for (int i = 0; out && frag && total > 0; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, total + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (n == 0)
            continue;
        memcpy(p, frag, (size_t)n + 1);
        p += n + 1;
    }
    free(frag);
    return out;
}

/* Copies what the route needs from the connection into job (the lws thread's part). */
static bool gather(struct lws *wsi, struct http_conn *c, struct api_job *job, bool fault_hooks,
                   struct ed_error *err)
{
    char authorization[256] = "", cookies[1024] = "", real[64] = "", peer[64] = "", prefer[128];
    struct request *req = &job->req;

    memcpy(job->path, c->path, sizeof job->path);
    memcpy(job->request_id, request_id(wsi, c), sizeof job->request_id);
    job->fhir = fhir_routes_is_fhir(c->path);
    req->method = c->method;
    req->path = job->path;
    if (c->big) { /* the Bundle's buffer changes hands */
        job->body = c->big;
        c->big = NULL;
        c->big_cap = 0;
    } else if ((job->body = malloc(c->body_len + 1)) != NULL) {
        memcpy(job->body, c->body, c->body_len);
        job->body[c->body_len] = '\0';
    }
    job->query = copy_query(wsi);
    if (!job->body || !job->query)
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    req->body = job->body;
    req->body_len = c->body_len;
    req->query = job->query;
    /* The session token: "Authorization: Bearer <token>" for programs, else the cookie. */
    lws_hdr_copy(wsi, authorization, sizeof authorization, WSI_TOKEN_HTTP_AUTHORIZATION);
    lws_hdr_copy(wsi, cookies, sizeof cookies, WSI_TOKEN_HTTP_COOKIE);
    if (record_session_token(authorization, cookies, job->token, sizeof job->token,
                             &req->token_from_cookie))
        req->token = job->token;
    if (lws_hdr_copy(wsi, job->origin, sizeof job->origin, WSI_TOKEN_ORIGIN) > 0)
        req->origin = job->origin;
    /* The client's address: the peer, or X-Real-IP when the peer is the local proxy. */
    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (lws_hdr_copy(wsi, real, sizeof real, WSI_TOKEN_HTTP_X_REAL_IP) < 0)
        real[0] = '\0';
    record_client_address(peer, real, job->source, sizeof job->source);
    req->source_addr = job->source;
    if (lws_hdr_copy(wsi, job->host, sizeof job->host, WSI_TOKEN_HOST) <= 0)
        job->host[0] = '\0';
    if (lws_hdr_custom_copy(wsi, job->forwarded_proto, sizeof job->forwarded_proto,
                            "x-forwarded-proto:", 18) <= 0)
        job->forwarded_proto[0] = '\0';
    req->host = job->host;
    req->forwarded_proto = job->forwarded_proto;
    req->prefer_strict = lws_hdr_custom_copy(wsi, prefer, sizeof prefer, "prefer:", 7) > 0 &&
                         strstr(prefer, "handling=strict") != NULL;
    return read_write_headers(wsi, job, fault_hooks, err);
}

/* The request is read: refusals known on this thread are answered now; everything else goes
 * to a worker (pool.c) and is answered by answer() when it comes back. */
static int handle(struct lws *wsi, struct http_conn *c)
{
    struct api *app = lws_context_user(lws_get_context(wsi));
    struct ed_error err = {0};
    struct api_job *job;

    if (c->has_refusal)
        return respond_error(wsi, c, &c->refusal);
    if (c->body_too_large) {
        ed_error_set(&err, ED_ERR_BODY_TOO_LARGE, NULL, "the body is larger than %ld bytes",
                     max_body(c));
        return respond_error(wsi, c, &err);
    }
    job = calloc(1, sizeof *job);
    if (!job) {
        ed_error_set(&err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
        return respond_error(wsi, c, &err);
    }
    if (!gather(wsi, c, job, app->fault_hooks, &err)) {
        api_job_free(job);
        return respond_error(wsi, c, &err);
    }
    job->wsi = wsi;
    c->job = job;
    /* The route's own time is bounded by statement_timeout; lws must not close the
     * connection under a job still running (a sign-in's hashing, a Bundle's import). */
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    api_pool_submit(app->pool, job);
    return 0;
}

/* Writes a worker's answer (lws thread). */
static int answer(struct lws *wsi, struct http_conn *c, struct api_job *job)
{
    struct route_result *result = &job->result;
    json_t *doc;

    c->account_id = result->account_id;
    if (job->fhir) {
        if (!job->ok)
            return respond_error(wsi, c, &job->err);
        doc = result->reply;
        result->reply = NULL;
        return respond(wsi, c, result->status, doc, NULL, NULL, 0, result);
    }
    if (!job->ok) {
        doc = ed_error_json(&job->err);
        /* A stale If-Match: the colleague's change comes back, so it is shown, not lost. */
        if (result->current) {
            json_object_set_new(doc, "current", result->current);
            result->current = NULL;
        }
        return respond(wsi, c, job->err.status, doc,
                       job->err.status == 405 ? routes_allowed_methods(c->path) : NULL, NULL,
                       job->retry_after_s, NULL);
    }
    doc = result->reply;
    result->reply = NULL;
    return respond(wsi, c, result->status, doc, NULL, result->set_cookie, 0, NULL);
}

/* The workers' answers: each to its connection, if still open. */
static void answer_done(struct api *app)
{
    struct api_job *job = app->pool ? api_pool_take_done(app->pool) : NULL, *next;

    for (; job; job = next) {
        next = job->next;
        if (job->wsi) {
            struct http_conn *c = lws_wsi_user(job->wsi);
            c->job = NULL;
            if (answer(job->wsi, c, job))
                lws_set_timeout(job->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
        api_job_free(job);
    }
}

/* Checks that can refuse a request before its body is read. True to go on; otherwise the
 * refusal is in err, and *now says whether to answer at once (and close) rather than after
 * reading the body, which lets a client that is still sending see the answer. */
static bool precheck(struct lws *wsi, struct http_conn *c, struct ed_error *err, bool *now)
{
    long length = content_length(wsi);

    *now = length > API_DISCARD_MAX_BYTES;
    if (draining) { /* SIGTERM: nothing new runs here (nginx passes a GET to another instance) */
        *now = true;
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "restarting: try again");
    }
    if (length < 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)) {
        *now = true;
        return ed_error_set(err, ED_ERR_LENGTH_REQUIRED, NULL,
                            "send the body with a Content-Length, not chunked");
    }
    if (fhir_routes_is_fhir(c->path) ? !fhir_routes_takes_body(c->method, c->path)
                                     : !routes_takes_body(c->method, c->path))
        return true;
    if (length > max_body(c))
        return ed_error_set(err, ED_ERR_BODY_TOO_LARGE, NULL, "the body is larger than %ld bytes",
                            max_body(c));
    if (length > 0 && !is_json_content_type(wsi, fhir_routes_is_fhir(c->path)))
        return ed_error_set(err, ED_ERR_UNSUPPORTED_MEDIA_TYPE, NULL,
                            fhir_routes_is_fhir(c->path)
                                ? "send the body as Content-Type: application/fhir+json"
                                : "send the body as Content-Type: application/json");
    return true;
}

static int on_request(struct lws *wsi, struct http_conn *c, const char *uri)
{
    struct ed_error err = {0};
    bool now;

    free_out(c);
    memset(c, 0, offsetof(struct http_conn, body));
    c->started_us = ops_now_us();
    c->method = method_of(wsi);
    if (c->method == ROUTE_GET && ops_is_ops_path(uri))
        return respond_ops(wsi, c, uri);
    if (strlen(uri) >= sizeof c->path) {
        ed_error_set(&err, ED_ERR_NOT_FOUND, NULL, "no such resource");
        c->close_after = content_length(wsi) > 0;
        return respond_error(wsi, c, &err);
    }
    strcpy(c->path, uri);
    if (!precheck(wsi, c, &err, &now)) {
        if (now || content_length(wsi) <= 0) {
            c->close_after = content_length(wsi) != 0;
            return respond_error(wsi, c, &err);
        }
        c->has_refusal = true; /* answered at HTTP_BODY_COMPLETION, the body discarded */
        c->refusal = err;
        return 0;
    }
    /* A body continues in HTTP_BODY (a body a route does not take is read and dropped,
     * so the connection stays usable); everything else is answered now. */
    if (content_length(wsi) > 0) {
        if (content_length(wsi) > API_DISCARD_MAX_BYTES) {
            c->close_after = true;
            return handle(wsi, c);
        }
        if (content_length(wsi) > API_MAX_BODY_BYTES) {
            /* within max_body (precheck): a Bundle, read into a buffer of its own */
            c->big_cap = (size_t)content_length(wsi);
            c->big = malloc(c->big_cap + 1);
            if (!c->big) {
                c->big_cap = 0;
                c->has_refusal = true;
                ed_error_set(&c->refusal, ED_ERR_UNAVAILABLE, NULL, "out of memory");
            }
        }
        return 0;
    }
    return handle(wsi, c);
}

static void on_body(struct http_conn *c, const void *in, size_t len)
{
    char *to = c->big ? c->big : c->body;
    size_t cap = c->big ? c->big_cap : API_MAX_BODY_BYTES;

    if (c->has_refusal)
        return;
    if (c->body_too_large || c->body_len + len > cap) {
        c->body_too_large = true;
        return;
    }
    memcpy(to + c->body_len, in, len);
    c->body_len += len;
    to[c->body_len] = '\0';
}

static int on_writeable(struct lws *wsi, struct http_conn *c)
{
    int n;

    if (!c->out)
        return 0;
    n = lws_write(wsi, c->out + LWS_PRE, c->out_len, LWS_WRITE_HTTP_FINAL);
    free_out(c);
    if (n < 0 || c->close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct http_conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_request(wsi, c, in);
    case LWS_CALLBACK_HTTP_BODY:
        /* lws may call with no data; and nothing more is taken while a worker runs the
         * request. */
        if (!c->responded && !c->job && in && len)
            on_body(c, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return c->responded || c->job ? 0 : handle(wsi, c);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(wsi, c);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        answer_done(lws_context_user(lws_get_context(wsi)));
        return 0;
    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        if (c)
            list_conn(wsi, c);
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c) {
            unlist_conn(c);
            free_out(c);
            if (c->job) /* the worker's answer will find no one to go to */
                c->job->wsi = NULL;
            c->job = NULL;
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

size_t http_conn_size(void)
{
    return sizeof(struct http_conn);
}
