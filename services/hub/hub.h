/* SPDX-License-Identifier: MIT */
/* hub.h: ed-hub's state. Each department's event log is held in memory as a ring of
 * encoded WebSocket frames, contiguous from dept->first to dept->top; clients hold only a
 * cursor (the next seq they need), so one encoded frame serves every subscriber.
 * Layers (README.md): department state (hub_department.c, hub_board.c) changes only itself and
 * returns what changed (enum hub_change); the protocol layer (hub_protocol.c and the hub_*.c it
 * calls) decides whom to wake; every PostgreSQL statement runs on the database worker
 * (hub_db.c), whose results are applied on the lws thread. */
#ifndef EDLIVE_HUB_H
#define EDLIVE_HUB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <libwebsockets.h>
#include <stdbool.h>

#include "schema.h"

#define HUB_RING_SIZE       4096 /* events kept per department, as frames */
#define HUB_MAX_DEPARTMENTS 64
/* SIGTERM: at most this long for the 1012 close frames to go out before the hub exits. */
#define HUB_DRAIN_S        3
#define HUB_MAX_SUBS       8     /* topics one connection may follow */
#define HUB_MAX_CONTROL    32    /* queued snapshots/replies per connection before it is cut */
#define HUB_MAX_MESSAGE    4096  /* bytes of one client message */
#define HUB_CLIENT_BUCKETS 16384 /* hub_client_find's hash of ids (a power of two) */
/* The largest send(): one event frame, a snapshot in pieces (the 4408 close after a stall is
 * tested with pieces this size). */
#define HUB_TX_PACKET 4096
/* lws's receive buffer per connection (memory); >= 125, a control frame's longest payload. */
#define HUB_RX_BUFFER   128
#define HUB_HEARTBEAT_S 5 /* each subscribed socket gets a heartbeat this often */
/* Served in slices, one per tick (a tenth of the clients), not all at once. Chosen when every
 * tick cost lws one poll() over every socket (5,000 idle clients: 100 ms ticks 11.9 % of a core,
 * 500 ms 6.5 %, 1 s 5.7-7.1 %); on the libuv loop a tick costs only its slice's writes. */
#define HUB_HEARTBEAT_TICK_MS 500
#define HUB_CHECK_MS          1000 /* how often tops are compared with PostgreSQL */
#define HUB_SESSION_CHECK_MS  5000 /* how soon a revoked or idle session loses its socket */
#define HUB_DEFAULT_MAX_LAG   1024
#define HUB_DEFAULT_STALL_S   20
/* A socket whose peer acknowledges nothing (or keeps its window shut) this much longer than the
 * stall limit is ended by the kernel (TCP_USER_TIMEOUT): a vanished peer costs no hub work. */
#define HUB_USER_TIMEOUT_EXTRA_S    25
#define HUB_DEFAULT_BOARD_MAX_AGE_S 60
#define HUB_DEFAULT_SNDBUF          65536 /* the kernel doubles it: 128 KiB, ~80 board events */

/* One encoded event frame; data has LWS_PRE bytes of headroom before the JSON. */
struct hub_frame {
    long long seq;
    long long encounter_id;
    struct hub_frame *wall; /* the same event masked for display sessions (board_mask.h),
                               encoded once for every wall; NULL in a wall frame itself */
    long long at_ms;        /* the event's "at" (ms since the epoch; 0: none): hub_ops.c */
    size_t len;
    unsigned char data[];
};

/* A reply sent to many sockets (a board snapshot): one copy, counted; data has LWS_PRE bytes
 * of headroom before the JSON, as lws_write needs. */
struct hub_shared_text {
    unsigned refs;
    size_t len;
    unsigned char data[];
};
/* A new one holding a copy of json (refs 1); abort()s when out of memory. */
struct hub_shared_text *hub_shared_text_new(const char *json, size_t len);
void hub_shared_text_release(struct hub_shared_text *t); /* NULL is fine */

/* One event on its way into a ring (from Redis or from PostgreSQL), in a list. */
struct hub_event {
    struct hub_event *next;
    long long department_id, seq, encounter_id;
    size_t len;
    char frame[]; /* JSON, NUL-terminated */
};

struct hub_department {
    long long id;
    long long first;                       /* lowest seq held in the ring (first > top: empty) */
    long long top;                         /* highest seq held; everything first..top is present */
    struct hub_frame *ring[HUB_RING_SIZE]; /* seq s lives at ring[s % HUB_RING_SIZE] */
    /* Events up to checked_top may be written to sockets: a session check began after they
     * arrived (hub_sessions.c), so none goes out on a session that ended before it. */
    long long checked_top;
    /* The board in memory (hub_board.c): read from PostgreSQL at board_read_at, brought
     * forward with the ring's events to board_seq; stale when an event said too little. As a
     * tree only while it is worked on: NULL once board_cache holds it at board_seq. */
    json_t *board;
    long long board_seq;
    lws_usec_t board_read_at;
    bool board_stale;
    /* The board's snapshot frame at board_cache_seq, and the same masked for display sessions
     * (NULL: none yet), encoded once per seq and queued by reference to every socket that is
     * sent it: one copy each (it was kept twice, as text and as the queued copy, ~55 KB per
     * department on the demo board). */
    struct hub_shared_text *board_cache, *wall_cache;
    long long board_cache_seq;
    bool wall_shows_flags;  /* department.wall_shows_flags, read with the tops */
    bool board_read_queued; /* a subscribe's read of this board is with the worker: the
                               subscribes after it are served from memory (hub_subscribe.c) */
    /* The clients with a subscription to this department (a superset: one that ended may
     * stay until the next rebuild), so waking them is O(its subscribers), not O(clients):
     * rebuilt by hub_clients_wake when hub->members_gen moved (hub_client_queue.c). */
    struct hub_client **members;
    int nmembers, members_cap;
};

/* What a change to a department's state did; the protocol layer decides whom it concerns
 * (hub_department_changed). */
enum hub_change {
    HUB_CHANGE_TOP = 1 << 0,   /* events were added: d->top rose */
    HUB_CHANGE_RESET = 1 << 1, /* the ring restarted after a gap: older cursors need a snapshot */
    HUB_CHANGE_GAP = 1 << 2,   /* an event was not top + 1: the missing ones must be read */
    HUB_CHANGE_WALL_MASK = 1 << 3, /* wall_shows_flags changed: walls need a fresh snapshot */
    HUB_CHANGE_NEW = 1 << 4,       /* a department the hub did not hold before */
};

struct hub_client;
struct principal;
struct hub_feed;
struct hub_db;
struct hub_replica;

struct hub {
    PGconn *pg;         /* the database worker's (hub_db.c); the lws thread never uses it */
    PGconn *upgrade_pg; /* the session lookup at the upgrade only (hub_protocol.c on_upgrade) */
    bool upgrade_pg_resetting; /* the worker is reconnecting upgrade_pg: not to be used */
    bool upgrade_pg_lost;      /* said so in the log: not again each tick until it is back */
    struct lws_context *ctx;
    struct schema_set *schemas;
    struct hub_feed *feed; /* the Redis reader thread */
    struct hub_db *db;     /* the PostgreSQL worker thread */
    struct hub_department depts[HUB_MAX_DEPARTMENTS];
    int ndepts;
    struct hub_client *clients; /* every open connection */
    /* Bumped when a subscription gets its department or a client goes (hub_members_changed);
     * the departments' member lists were built at members_built_gen. */
    unsigned long long members_gen, members_built_gen;
    bool draining; /* SIGTERM: every socket is being closed with 1012 (main.c) */
    struct hub_client *by_id[HUB_CLIENT_BUCKETS]; /* the same, by id & (buckets - 1) */
    unsigned long long next_client_id;
    lws_sorted_usec_list_t check_timer;
    lws_sorted_usec_list_t heartbeat_timer; /* every HUB_HEARTBEAT_TICK_MS: one slice */
    struct hub_client *beat_next;           /* the next client the heartbeat slices serve; NULL: the
                                               round is done, the next starts at the list's head */
    int beat_tick;                          /* ticks since the current round began */
    int nclients;                           /* open connections, for the slice size */
    int trim_ticks;                         /* heartbeat ticks since the heap was last trimmed */
    lws_sorted_usec_list_t session_timer;   /* the full 5 s round */
    lws_sorted_usec_list_t gate_timer;      /* a round for events waiting behind the gate */
    bool check_busy, check_again;           /* a tops check is with the worker; another is due */
    bool sessions_busy, sessions_full_due;
    const char *allowed_origins; /* EDLIVE_ALLOWED_ORIGINS */
    /* Backpressure (proto/GUARANTEES.md): a client this many events behind a topic gets a
     * snapshot instead of the backlog (EDLIVE_HUB_MAX_LAG); one whose socket has taken nothing
     * for stall_s seconds while data waits is closed with 4408 (EDLIVE_HUB_STALL_S). */
    long long max_lag;
    int stall_s;
    int board_max_age_s; /* read a board afresh after this long (EDLIVE_HUB_BOARD_MAX_AGE_S) */
    int sndbuf; /* SO_SNDBUF per socket (EDLIVE_HUB_SNDBUF, bytes; 0: the kernel's autotuning) */
    unsigned long long resyncs; /* lagging clients switched to a snapshot, for the log */
    /* The streaming replica boards and events are read from (EDLIVE_PG_REPLICA; NULL: unset),
     * with its counts (replica reads, replica lagged so read from the primary), logged: the
     * database worker's alone, as hub->pg (hub_replica.c). */
    struct hub_replica *replica;
};

/* hub_department.c: department state; no socket, no database. */
struct hub_department *hub_department_find(struct hub *hub, long long id);
/* Adds a department whose newest event is pg_top, its ring empty just below pg_top - half a
 * ring (so the catch-up read fills it and reconnecting clients can recover); NULL when full. */
struct hub_department *hub_department_add(struct hub *hub, long long id, long long pg_top);
/* The frame of seq, or NULL when it is not in the ring. */
struct hub_frame *hub_department_frame(const struct hub_department *d, long long seq);
/* The ring: seq <= top is ignored (0); top + 1 is appended (TOP); a later seq empties the ring
 * and starts it at seq (TOP | RESET): first..top stays contiguous. */
unsigned hub_department_append(struct hub_department *d, long long seq, long long encounter_id,
                               const char *json, size_t len);
/* An event from Redis: appended when it is top + 1 (TOP); GAP when later (not held: the
 * missing events must be read from PostgreSQL first); 0 when already held. */
unsigned hub_department_offer(struct hub_department *d, const struct hub_event *e);
/* Events read from PostgreSQL, in seq order (any department's are skipped): the ones after
 * top are appended (hub_department_append). */
unsigned hub_department_add_events(struct hub_department *d, const struct hub_event *list);
/* The department's wall setting as PostgreSQL has it: WALL_MASK when it changed (the held
 * frames' wall twins are encoded again, the snapshot caches dropped). */
unsigned hub_department_set_wall_flags(struct hub_department *d, bool wall_shows_flags);
void hub_department_free(struct hub_department *d);
/* Lets go of the snapshot frames (board_cache, wall_cache): sockets still holding them keep
 * theirs until written. */
void hub_department_drop_shared(struct hub_department *d);
/* A new event for a list (abort()s when out of memory); free a list with hub_events_free. */
struct hub_event *hub_event_new(long long department_id, long long seq, long long encounter_id,
                                const char *frame, size_t len);
void hub_events_free(struct hub_event *list);

/* hub_board.c */
/* Makes d->board_cache the board snapshot frame at d->top (or later), from memory: the held
 * board brought forward with the ring. False when only a fresh read from PostgreSQL can give it
 * (hub_board_install). */
bool hub_board_snapshot(struct hub *hub, struct hub_department *d);
/* The same, and d->wall_cache with it (made at the first wall that asks). */
bool hub_board_wall_snapshot(struct hub *hub, struct hub_department *d);
/* Takes board (read from PostgreSQL at seq, a new reference) as the held board. */
void hub_board_install(struct hub_department *d, json_t *board, long long seq);

/* hub_protocol.c: the lws protocol; hub_check.c: start and stop */
int hub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);
size_t hub_client_size(void);
/* Start-up, before the service loop: the first read of every department (blocking, on the
 * calling thread), then the database worker starts with hub->pg. False when either fails. */
bool hub_start(struct hub *hub);
/* After the service loop, before lws_context_destroy (the threads wake the context): stops the
 * Redis reader and the database worker (closing hub->pg) and frees the departments. */
void hub_stop(struct hub *hub);
/* The protocol layer's answer to a department change (hub_client_queue.c): whom to wake, what
 * to read, which walls to send a fresh snapshot. */
void hub_department_changed(struct hub *hub, struct hub_department *d, unsigned changes);

/* hub_feed.c: a thread doing XREAD on every department's stream, handing entries to the
 * lws thread through a locked queue and lws_cancel_service(). */
struct hub_feed *hub_feed_start(struct lws_context *ctx, const char *host, int port,
                                const char *sentinels, const char *master_name);
/* Adds a department to follow from after seq top (safe to call again for a known one). A new
 * one ends the XREAD the reader is blocked in, so it is read at once: one short Redis
 * connection on the calling thread (CLIENT UNBLOCK). */
void hub_feed_follow(struct hub_feed *feed, long long department_id, long long top);
/* Offers every queued entry to its department; call on the lws thread. */
void hub_feed_drain(struct hub_feed *feed, struct hub *hub);
void hub_feed_stop(struct hub_feed *feed);

#endif
