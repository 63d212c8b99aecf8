/* SPDX-License-Identifier: MIT */
/* hub_db.c: the PostgreSQL worker thread (hub_db.h). */
#include "hub_db.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct hub_db {
    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* a job was queued, or stop */
    struct lws_context *ctx;
    PGconn *pg; /* the worker's alone */
    bool stop;
    struct hub_db_job *todo_head, *todo_tail;
    struct hub_db_job *done_head, *done_tail;
};

static void enqueue(struct hub_db_job **head, struct hub_db_job **tail, struct hub_db_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void *db_main(void *arg)
{
    struct hub_db *db = arg;

    pthread_mutex_lock(&db->lock);
    for (;;) {
        struct hub_db_job *job;

        while (!db->stop && !db->todo_head)
            pthread_cond_wait(&db->wake, &db->lock);
        if (db->stop)
            break;
        job = db->todo_head;
        db->todo_head = job->next;
        if (!db->todo_head)
            db->todo_tail = NULL;
        pthread_mutex_unlock(&db->lock);
        job->run(db->pg, job);
        pthread_mutex_lock(&db->lock);
        enqueue(&db->done_head, &db->done_tail, job);
        lws_cancel_service(db->ctx);
    }
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

struct hub_db *hub_db_start(struct lws_context *ctx, PGconn *pg)
{
    struct hub_db *db = calloc(1, sizeof *db);

    if (!db)
        return NULL;
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->wake, NULL);
    db->ctx = ctx;
    db->pg = pg;
    if (pthread_create(&db->thread, NULL, db_main, db)) {
        pthread_cond_destroy(&db->wake);
        pthread_mutex_destroy(&db->lock);
        free(db);
        return NULL;
    }
    return db;
}

void hub_db_submit(struct hub_db *db, struct hub_db_job *job, hub_db_run_fn *run,
                   hub_db_done_fn *done)
{
    job->run = run;
    job->done = done;
    pthread_mutex_lock(&db->lock);
    enqueue(&db->todo_head, &db->todo_tail, job);
    pthread_cond_signal(&db->wake);
    pthread_mutex_unlock(&db->lock);
}

void hub_db_submit_first(struct hub_db *db, struct hub_db_job *job, hub_db_run_fn *run,
                         hub_db_done_fn *done)
{
    job->run = run;
    job->done = done;
    pthread_mutex_lock(&db->lock);
    job->next = db->todo_head;
    db->todo_head = job;
    if (!db->todo_tail)
        db->todo_tail = job;
    pthread_cond_signal(&db->wake);
    pthread_mutex_unlock(&db->lock);
}

static void apply_all(struct hub_db_job *job, struct hub *hub)
{
    while (job) {
        struct hub_db_job *next = job->next;
        job->done(hub, job);
        job = next;
    }
}

void hub_db_drain(struct hub_db *db, struct hub *hub)
{
    struct hub_db_job *job;

    pthread_mutex_lock(&db->lock);
    job = db->done_head;
    db->done_head = db->done_tail = NULL;
    pthread_mutex_unlock(&db->lock);
    /* A done function may submit new jobs: the lock is not held here. */
    apply_all(job, hub);
}

void hub_db_stop(struct hub_db *db)
{
    if (!db)
        return;
    pthread_mutex_lock(&db->lock);
    db->stop = true;
    pthread_cond_signal(&db->wake);
    pthread_mutex_unlock(&db->lock);
    pthread_join(db->thread, NULL);
    apply_all(db->done_head, NULL);
    apply_all(db->todo_head, NULL);
    PQfinish(db->pg);
    pthread_cond_destroy(&db->wake);
    pthread_mutex_destroy(&db->lock);
    free(db);
}
