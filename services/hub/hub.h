/* SPDX-License-Identifier: MIT */
/* hub.h: ed-hub's state. Each department's event log is held in memory as a ring of
 * encoded WebSocket frames, contiguous from dept->first to dept->top; clients hold only a
 * cursor (the next seq they need), so one encoded frame serves every subscriber. */
#ifndef EDLIVE_HUB_H
#define EDLIVE_HUB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <libwebsockets.h>
#include <stdbool.h>

#include "schema.h"

#define HUB_RING_SIZE               4096 /* events kept per department, as frames */
#define HUB_MAX_DEPARTMENTS         64
#define HUB_MAX_SUBS                8  /* topics one connection may follow */
#define HUB_MAX_CONTROL             32 /* queued snapshots/replies per connection before it is cut */
#define HUB_MAX_MESSAGE             4096 /* bytes of one client message */
#define HUB_HEARTBEAT_S             10
#define HUB_CHECK_MS                1000 /* how often tops are compared with PostgreSQL */
#define HUB_DEFAULT_MAX_LAG         1024
#define HUB_DEFAULT_STALL_S         60
#define HUB_DEFAULT_BOARD_MAX_AGE_S 60
#define HUB_DEFAULT_SNDBUF          65536 /* the kernel doubles it: 128 KiB, ~80 board events */

/* One encoded event frame; data has LWS_PRE bytes of headroom before the JSON. */
struct hub_frame {
    long long seq;
    long long encounter_id;
    struct hub_frame *wall; /* the same event masked for display sessions (board_mask.h),
                               encoded once for every wall; NULL in a wall frame itself */
    size_t len;
    unsigned char data[];
};

struct hub_department {
    long long id;
    long long first;                       /* lowest seq held in the ring (first > top: empty) */
    long long top;                         /* highest seq held; everything first..top is present */
    struct hub_frame *ring[HUB_RING_SIZE]; /* seq s lives at ring[s % HUB_RING_SIZE] */
    /* The board in memory (hub_board.c): read from PostgreSQL at board_read_at, brought
     * forward with the ring's events to board_seq; stale when an event said too little. */
    json_t *board;
    long long board_seq;
    lws_usec_t board_read_at;
    bool board_stale;
    char *board_cache; /* the board's snapshot frame (JSON) at board_cache_seq, or NULL */
    size_t board_cache_len;
    long long board_cache_seq;
    char *wall_cache; /* the same snapshot masked for display sessions, or NULL */
    size_t wall_cache_len;
    bool wall_shows_flags; /* department.wall_shows_flags, read with the tops */
};

struct hub_client;
struct principal;
struct hub_feed;

struct hub {
    PGconn *pg; /* blocking; used only from the lws thread */
    struct lws_context *ctx;
    struct schema_set *schemas;
    struct hub_feed *feed; /* the Redis reader thread */
    struct hub_department depts[HUB_MAX_DEPARTMENTS];
    int ndepts;
    struct hub_client *clients; /* every open connection */
    lws_sorted_usec_list_t check_timer;
    lws_sorted_usec_list_t heartbeat_timer;
    lws_sorted_usec_list_t session_timer;
    const char *allowed_origins; /* EDLIVE_ALLOWED_ORIGINS */
    /* Backpressure (proto/GUARANTEES.md): a client this many events behind a topic gets a
     * snapshot instead of the backlog (EDLIVE_HUB_MAX_LAG); one whose socket has taken nothing
     * for stall_s seconds while data waits is closed with 4408 (EDLIVE_HUB_STALL_S). */
    long long max_lag;
    int stall_s;
    int board_max_age_s; /* read a board afresh after this long (EDLIVE_HUB_BOARD_MAX_AGE_S) */
    int sndbuf; /* SO_SNDBUF per socket (EDLIVE_HUB_SNDBUF, bytes; 0: the kernel's autotuning) */
    unsigned long long resyncs; /* lagging clients switched to a snapshot, for the log */
};

/* hub_department.c */
struct hub_department *hub_department_find(struct hub *hub, long long id);
/* Reads the departments and their tops from PostgreSQL; adds new ones. False on DB error. */
bool hub_departments_refresh(struct hub *hub);
/* Appends one event arriving from Redis; reads any gap from PostgreSQL first. */
void hub_department_offer(struct hub *hub, struct hub_department *d, long long seq,
                          long long encounter_id, const char *frame, size_t len);
/* Reads every event after d->top up to upto (or to PostgreSQL's top if upto is 0). */
bool hub_department_catch_up(struct hub *hub, struct hub_department *d, long long upto);
/* The frame of seq, or NULL when it is not in the ring. */
struct hub_frame *hub_department_frame(struct hub_department *d, long long seq);
void hub_department_free(struct hub_department *d);

/* hub_board.c */
/* Makes d->board_cache (and its masked twin d->wall_cache) the board snapshot frame at d->top (or
 * later): from memory when the held board can be brought forward with the ring, else read from
 * PostgreSQL (audited as who's read; *read_from_pg says so). False with err when the record cannot
 * be reached. */
bool hub_board_snapshot(struct hub *hub, struct hub_department *d, const struct principal *who,
                        bool *read_from_pg, struct ed_error *err);

/* hub_protocol.c */
int hub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);
size_t hub_client_size(void);
/* Asks every client following department d to write. */
void hub_clients_wake(struct hub *hub, const struct hub_department *d);
/* Sends every display (wall) socket following d's board a fresh masked snapshot: after a
 * change of d->wall_shows_flags. */
void hub_walls_resnapshot(struct hub *hub, struct hub_department *d);

/* hub_feed.c: a thread doing XREAD on every department's stream, handing entries to the
 * lws thread through a locked queue and lws_cancel_service(). */
struct hub_feed *hub_feed_start(struct lws_context *ctx, const char *host, int port);
/* Adds a department to follow from after seq top (safe to call again for a known one). */
void hub_feed_follow(struct hub_feed *feed, long long department_id, long long top);
/* Hands every queued entry to hub_department_offer(); call on the lws thread. */
void hub_feed_drain(struct hub_feed *feed, struct hub *hub);
void hub_feed_stop(struct hub_feed *feed);

#endif
