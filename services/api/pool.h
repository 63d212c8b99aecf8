/* SPDX-License-Identifier: MIT */
/* pool.h: ed-api's worker threads. The lws thread reads a request and hands it over as a job;
 * a worker runs the route on its own PostgreSQL connection; the job comes back to the lws
 * thread (lws_cancel_service → LWS_CALLBACK_EVENT_WAIT_CANCELLED), which writes the answer. */
#ifndef EDLIVE_API_POOL_H
#define EDLIVE_API_POOL_H

#include <libwebsockets.h>
#include <stdbool.h>

#include "api.h"

/* One request and, once run, its answer. Everything a route reads is owned by the job, so the
 * connection it came on may close meanwhile. */
struct api_job {
    struct api_job *next;
    struct lws *wsi; /* lws thread only: the connection to answer; NULL once it closed */
    struct request req;
    char *body;  /* owned, NUL-ended */
    char *query; /* owned: the query arguments, each NUL-ended, then "" */
    char path[256], token[64], origin[128], source[64], idempotency_key[104];
    char host[128], forwarded_proto[16];
    char request_id[API_REQUEST_ID_MAX + 1]; /* X-Request-Id (http.c) */
    bool fhir;
    /* the answer */
    bool ok;
    struct route_result result;
    struct ed_error err;
    int retry_after_s;
};

struct api_pool;

/* Starts threads workers, each with its own connection to conninfo (waits up to 30 s for
 * PostgreSQL). shared is copied into each worker (its pg replaced). NULL on failure. */
struct api_pool *api_pool_start(const struct api *shared, const char *conninfo, int threads,
                                struct lws_context *ctx);

/* Queues a job (lws thread). */
void api_pool_submit(struct api_pool *pool, struct api_job *job);

/* Takes the answered jobs, oldest first (lws thread, on EVENT_WAIT_CANCELLED). */
struct api_job *api_pool_take_done(struct api_pool *pool);

/* Lets the workers finish the job in hand, then stops them and closes their connections;
 * jobs still queued are freed unanswered. */
void api_pool_stop(struct api_pool *pool);

void api_job_free(struct api_job *job);

#endif
