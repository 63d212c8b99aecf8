/* SPDX-License-Identifier: MIT */
/* hub_db.h: ed-hub's PostgreSQL worker. The lws thread submits jobs; one thread runs them in
 * order on its own connection (blocking libpq calls are fine there) and queues them back; the
 * lws thread is woken with lws_cancel_service() and applies each result in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED, in the order they ran (submission order, but for the
 * jobs put first) (the pattern of hub_feed.c).
 * A job carries copies of what it needs (ids, a principal), never a pointer to a client:
 * the client may be gone when the result comes back, and its done function looks it up by id. */
#ifndef EDLIVE_HUB_DB_H
#define EDLIVE_HUB_DB_H

#include <libpq-fe.h>

struct hub;
struct hub_db;
struct lws_context;
struct hub_db_job;

/* Runs on the worker thread: may use pg and the job, nothing of the hub. */
typedef void hub_db_run_fn(PGconn *pg, struct hub_db_job *job);
/* Runs on the lws thread and frees the job; hub is NULL when the hub is stopping (free only). */
typedef void hub_db_done_fn(struct hub *hub, struct hub_db_job *job);

/* The head of every job; embed it first in a job's own struct. */
struct hub_db_job {
    struct hub_db_job *next;
    hub_db_run_fn *run;
    hub_db_done_fn *done;
};

/* Starts the worker; it takes pg (and PQfinish()es it at hub_db_stop). NULL on failure. */
struct hub_db *hub_db_start(struct lws_context *ctx, PGconn *pg);
/* Queues job (ownership passes until its done function runs). */
void hub_db_submit(struct hub_db *db, struct hub_db_job *job, hub_db_run_fn *run,
                   hub_db_done_fn *done);
/* The same, ahead of every job still waiting: for the session rounds that events wait for. */
void hub_db_submit_first(struct hub_db *db, struct hub_db_job *job, hub_db_run_fn *run,
                         hub_db_done_fn *done);
/* Applies every finished job, in order; call on the lws thread. */
void hub_db_drain(struct hub_db *db, struct hub *hub);
/* Joins the worker (after the job it is running) and frees every job left, unapplied. */
void hub_db_stop(struct hub_db *db);

#endif
