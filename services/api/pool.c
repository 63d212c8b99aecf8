/* SPDX-License-Identifier: MIT */
/* pool.c: ed-api's worker threads, each owning one blocking PostgreSQL connection (pool.h).
 * Jobs wait in one FIFO; whichever worker is free takes the oldest. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg.h"

struct api_worker {
    struct api_pool *pool;
    struct api app; /* the shared settings, with this worker's own connection */
    pthread_t thread;
    bool started;
};

struct api_pool {
    pthread_mutex_t lock; /* guards the queues and stopping */
    pthread_cond_t wake;  /* a job was queued, or stop */
    struct api_job *todo, *todo_tail;
    struct api_job *done, *done_tail;
    bool stopping;
    struct lws_context *ctx;
    int count;
    struct api_worker *workers;
};

void api_job_free(struct api_job *job)
{
    if (!job)
        return;
    json_decref(job->result.reply);
    json_decref(job->result.current);
    free(job->body);
    free(job->query);
    free(job);
}

/* A write that lost a lock conflict to a concurrent one (a deadlock between two writes of one
 * department, e.g. an arrival's similar-name event on a row another write holds) was rolled
 * back whole: it runs again, at most this many times in all, before the client sees 503. */
#define API_LOCK_CONFLICT_ATTEMPTS 3

static void run_job(struct api *app, struct api_job *job)
{
    record_request_id_set(job->request_id); /* into every audit row it writes */
    record_request_account_clear();
    for (int attempt = 1;; attempt++) {
        pg_clear_lock_conflict();
        if (job->fhir)
            job->ok = fhir_routes_dispatch(app, &job->req, &job->result, &job->err);
        else
            job->ok = routes_dispatch(app, &job->req, &job->result, &job->retry_after_s, &job->err);
        if (job->ok || job->err.status != 503 || !pg_lost_lock_conflict() ||
            attempt == API_LOCK_CONFLICT_ATTEMPTS)
            break;
        log_warn("%s: lost a lock conflict, running it again (attempt %d)", job->path, attempt + 1);
        json_decref(job->result.reply);
        json_decref(job->result.current);
        memset(&job->result, 0, sizeof job->result);
        memset(&job->err, 0, sizeof job->err);
        job->retry_after_s = 0;
    }
    if (!job->ok && job->err.status >= 500)
        log_error("%s: %d %s", job->path, job->err.status, job->err.code);
    job->result.account_id = record_request_account();
    record_request_id_set(NULL);
}

static void append(struct api_job **head, struct api_job **tail, struct api_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void *worker_main(void *arg)
{
    struct api_worker *w = arg;
    struct api_pool *pool = w->pool;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        struct api_job *job;

        while (!pool->todo && !pool->stopping)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping)
            break;
        job = pool->todo;
        pool->todo = job->next;
        if (!pool->todo)
            pool->todo_tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        /* A connection PostgreSQL closed while it sat idle (a restart, a failover) is
         * reconnected before the job, not found broken by it. */
        pg_ensure(w->app.pg);
        run_job(&w->app, job);

        pthread_mutex_lock(&pool->lock);
        append(&pool->done, &pool->done_tail, job);
        lws_cancel_service(pool->ctx);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

struct api_pool *api_pool_start(const struct api *shared, const char *conninfo, int threads,
                                struct lws_context *ctx)
{
    struct api_pool *pool = calloc(1, sizeof *pool);

    if (!pool)
        return NULL;
    pool->workers = calloc((size_t)threads, sizeof *pool->workers);
    if (!pool->workers) {
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->ctx = ctx;
    pool->count = threads;
    for (int i = 0; i < threads; i++) {
        struct api_worker *w = &pool->workers[i];
        w->pool = pool;
        w->app = *shared;
        w->app.pg = pg_connect(conninfo, 30);
        if (!w->app.pg || pthread_create(&w->thread, NULL, worker_main, w)) {
            api_pool_stop(pool);
            return NULL;
        }
        w->started = true;
    }
    return pool;
}

void api_pool_submit(struct api_pool *pool, struct api_job *job)
{
    pthread_mutex_lock(&pool->lock);
    append(&pool->todo, &pool->todo_tail, job);
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

struct api_job *api_pool_take_done(struct api_pool *pool)
{
    struct api_job *done;

    pthread_mutex_lock(&pool->lock);
    done = pool->done;
    pool->done = pool->done_tail = NULL;
    pthread_mutex_unlock(&pool->lock);
    return done;
}

void api_pool_stop(struct api_pool *pool)
{
    struct api_job *job, *next;

    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->count; i++) {
        if (pool->workers[i].started)
            pthread_join(pool->workers[i].thread, NULL);
        PQfinish(pool->workers[i].app.pg);
    }
    for (job = pool->todo; job; job = next) {
        next = job->next;
        api_job_free(job);
    }
    for (job = pool->done; job; job = next) {
        next = job->next;
        api_job_free(job);
    }
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}
