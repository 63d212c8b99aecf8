/* SPDX-License-Identifier: MIT */
/* edload_run.h: the run's settings and state, shared by main.c (the event loop, the figures)
 * and setup.c (signing in, departments, encounters). */
#ifndef EDLOAD_RUN_H
#define EDLOAD_RUN_H

#include <jansson.h>
#include <netinet/in.h>

#include "edload.h"

#define HUB_DEPTS_MAX 256

struct options {
    const char *hub, *api, *user, *password, *mix, *restart_cmd, *label, *json_path, *token_env,
        *pg;
    int clients, departments, encounters, writers_closed, hub_pid, api_pid, api_conns,
        connect_inflight;
    double rate, seconds, idle_seconds, connect_rate, drain_seconds, connect_timeout;
    bool no_api;
};

/* Where a bed move of an encounter stands: the next bed write is chosen from it. */
enum bed_phase {
    BED_NONE,     /* no bed of its own: no bed moves */
    BED_WAITING,  /* in the waiting room, its bed free: next, into the bed */
    BED_IN,       /* in its bed: next, back to the waiting room (the bed then needs cleaning) */
    BED_CLEANING, /* its bed is being cleaned: next, mark it free */
};

struct enc {
    long long id;
    long long bed_id;
    int bed_phase;
    int status_step;
    bool busy; /* a bed write in flight: the next must wait for its answer */
};

struct dept {
    long long id;
    char code[20];
    long long base_seq; /* the board's seq when the set-up ended */
    int64_t *sent_ns; /* by seq - base_seq: just before the write that made it (0: not ours/yet) */
    size_t sent_cap;
    long long answered_top; /* highest seq a write's answer named */
    long long seen_top;     /* highest seq in an event or heartbeat */
    long long final_top;    /* what every client must reach at the end */
    int nclients;
    long long at_seq; /* cache of the last event's `at` (the same for every client) */
    int64_t at_ms;
    bool at_has_ms;
    struct enc *encs;
    int nencs;
    int next_enc;
};

struct run {
    char token[128];
    long long staff_id;
    char hub_host[128], hub_path[128], api_host[128];
    int hub_port;
    struct sockaddr_in hub_addr, api_addr;
    struct dept *depts;
    int ndepts;
};

extern struct options opt;
extern struct run run;

bool parse_targets(void);
bool setup_run(void);
/* Blocking request on the set-up connection; the parsed JSON answer (or NULL) and its status. */
json_t *api_call(const char *method, const char *path, json_t *body, int *status);

#endif
