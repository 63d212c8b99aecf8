/* SPDX-License-Identifier: MIT */
/* hub_client.h: one WebSocket connection and what it follows, shared by the protocol layer:
 * hub_protocol.c (the lws callback), hub_messages.c (messages in), hub_subscribe.c (the
 * subscribe read), hub_client_queue.c (what waits for the socket, and writing it) and
 * hub_sessions.c (session checks). Lives on the lws thread only. */
#ifndef EDLIVE_HUB_CLIENT_H
#define EDLIVE_HUB_CLIENT_H

#include "hub.h"
#include "record.h"

#define HUB_CLOSE_SESSION_ENDED 4401
#define HUB_CLOSE_TOO_SLOW      4408 /* took no data for stall_s while data waited */
#define HUB_CLOSE_RESTARTING    1012 /* the hub is stopping (SIGTERM): reconnect elsewhere */

enum sub_kind { SUB_NONE, SUB_BOARD, SUB_CHART, SUB_FHIR };

/* SUB_FHIR (hub_fhir.c): a FHIR Subscription on /fhir/R4/ws, following topic_id's ring; a
 * separate allocation, so the many board sockets do not carry it. */
struct hub_fhir_sub {
    long long id;    /* the Subscription's id */
    json_t *row;     /* its row (record_fhir_ws_bind) */
    long long count; /* events-since-subscription-start: the last number sent */
    lws_usec_t beat; /* when it last sent something (heartbeatPeriod) */
};

/* Kept small: a connection holds as many of these as it has followed at once (most: one). */
struct hub_sub {
    unsigned char kind; /* enum sub_kind, in a byte */
    bool pending;       /* its subscribe read is with the database worker: nothing is sent */
    bool retry;         /* the department was new to the hub: start again after the check,
                           with next_seq as since (the since the client asked with) */
    unsigned gen;       /* bumped at every (un)subscribe: a late read for an old one is dropped */
    long long topic_id; /* the department (board) or encounter (chart) followed */
    struct hub_department *dept; /* NULL until known (a chart's, from its read) */
    long long next_seq;          /* the next department seq this client needs */
    long long chart_top;         /* SUB_CHART: the seq of its encounter's last event written, or the
                                    seq the subscription started at (its heartbeat top) */
    struct hub_fhir_sub *fhir;   /* SUB_FHIR only, else NULL */
};

/* What only a /fhir/R4/ws socket needs, allocated at its upgrade. */
struct hub_fhir_channel {
    char base[200]; /* the FHIR base its Bundles' links use (Host as at the upgrade) */
};

struct control_frame {
    struct control_frame *next;
    size_t len;
    struct hub_shared_text *shared; /* the frame's text when shared (a snapshot), else NULL */
    unsigned char data[];           /* LWS_PRE + JSON, when not shared */
};

/* hub_session_cache.c: one per distinct session with an open socket, shared by its sockets. */
#define HUB_SESSION_TRUST_MS     (2 * HUB_SESSION_CHECK_MS) /* an upgrade reads it again after */
#define HUB_SESSION_ENDED_KEEP_S 3600 /* an ended session's upgrades answered 401 from memory */
struct hub_session {
    struct hub_session *next; /* in its hash bucket */
    unsigned refs;            /* sockets holding it */
    bool ended;               /* a round found it ended: its sockets get 4401, upgrades 401 */
    lws_usec_t checked_at;    /* when PostgreSQL last said it was valid */
    lws_usec_t ended_at;
    struct principal who; /* shared by its sockets; source_addr unused (hub_client.addr) */
};
struct hub_session *hub_session_find(const unsigned char hash[32]);
/* The entry of who's session, made or refreshed from who (just read), with one more socket;
 * NULL when a round already found that session ended. */
struct hub_session *hub_session_take(const struct principal *who);
void hub_session_release(struct hub_session *s); /* a socket let go of it */
void hub_session_mark_ended(struct hub_session *s);
/* The hashes of the live entries with sockets (at most cap), for a round. */
size_t hub_session_live(unsigned char (*hashes)[32], size_t cap);
size_t hub_session_count(void); /* live entries */
/* Frees entries without sockets (ended ones after HUB_SESSION_ENDED_KEEP_S). */
void hub_session_sweep(lws_usec_t now);
void hub_session_clear(void);

/* One per WebSocket connection (lws pss). */
struct hub_client {
    /* Laid out pointers first, then the small fields packed together: 144 bytes, a 160-byte
     * malloc chunk in every connection (load-tests, scenario 3: memory per connection). */
    struct hub_client *next;       /* in hub->clients */
    struct hub_client *next_by_id; /* in its hub->by_id bucket */
    unsigned long long id;         /* never reused: what database jobs remember the client by */
    struct lws *wsi;
    /* sub_slots of them, malloc'd and grown one at a time up to HUB_MAX_SUBS (a board screen
     * follows one topic: eight slots in every connection were 384 of its bytes). Never
     * shrunk, so an index held by a database job stays valid while the client lives. */
    struct hub_sub *subs;
    struct control_frame *control_head, *control_tail;
    char *rx;                    /* a message arriving in fragments, malloc'd; NULL otherwise */
    struct principal *who;       /* &session->who: the signed-in user, checked at the upgrade */
    struct hub_session *session; /* shared with the session's other sockets; NULL: none yet */
    char *request_id;            /* nginx's X-Request-Id of the upgrade, malloc'd; NULL: none */
    lws_usec_t upgrade_at;       /* when the upgrade was read: its duration, the time connected */
    lws_usec_t waiting_since;    /* when data was first seen waiting on a full socket; 0: none */
    /* /fhir/R4/ws: bind-with-token instead of a session at the upgrade; NULL on /ws */
    struct hub_fhir_channel *fhir_channel;
    /* The client's address for audits, as bytes (text is 48): hub_client_set_addr / _addr. */
    unsigned char addr[16];
    unsigned char addr_family;   /* AF_INET, AF_INET6; 0: none known */
    unsigned char control_count; /* replies queued, at most HUB_MAX_CONTROL */
    unsigned char next_sub;      /* round-robin start, so one busy topic cannot starve another */
    unsigned char sub_slots;     /* of subs */
    bool session_ended;          /* close with HUB_CLOSE_SESSION_ENDED at the next WRITEABLE */
    bool too_slow;               /* close with HUB_CLOSE_TOO_SLOW at the next WRITEABLE */
    bool heartbeat_due;          /* a heartbeat per topic, written once no event waits */
    bool binding;                /* its bind-with-token is with the database worker */
    uint16_t close_code;         /* the close code sent or received (the close line); 0: none */
    uint32_t rx_len;             /* of rx (at most HUB_MAX_MESSAGE) */
};

/* hub_client_queue.c */
/* The open client with this id, or NULL (a hash of ids: database results find their client in
 * O(1), so a storm of 10,000 subscribes costs no O(clients) walk each). */
struct hub_client *hub_client_find(struct hub *hub, unsigned long long id);
/* Adds c (its id set) to / removes it from the index hub_client_find reads. */
void hub_client_index(struct hub *hub, struct hub_client *c);
void hub_client_unindex(struct hub *hub, struct hub_client *c);
/* A display session (the public wall) is sent only the masked variants (board_mask.h). */
bool hub_client_is_wall(const struct hub_client *c);
/* Queues a reply (copied) and asks for WRITEABLE; false when HUB_MAX_CONTROL are waiting. */
bool hub_client_queue_text(struct hub_client *c, const char *json, size_t len);
bool hub_client_queue_json(struct hub_client *c, json_t *doc); /* takes doc */
/* The same for a text many sockets are sent (a snapshot): queued by reference, not copied. */
bool hub_client_queue_shared(struct hub_client *c, struct hub_shared_text *t);
bool hub_client_queue_error(struct hub_client *c, const struct ed_error *err);
/* An error about one topic: it names it as subscribe does (topic, department_id/encounter_id). */
bool hub_client_queue_topic_error(struct hub_client *c, enum sub_kind kind, long long topic_id,
                                  const struct ed_error *err);
/* Where a subscription starts (a snapshot at seq, or recovered after seq): its cursor and its
 * chart top. */
void hub_sub_begin_at(struct hub_sub *s, long long seq);
/* Ends c's connection with a close frame carrying code and reason (sent at the next POLLOUT,
 * then lws waits for the client's reply). Not by returning -1 from the callback: lws 4.1.6 as
 * Debian builds it (_DEBUG) then closes a second time at once on libuv ("close_and_handled uv
 * repeat test" in lws_service_fd_tsi), which drops the close frame; lws_close_free_wsi starts
 * the same close without that. Call it from an lws callback of c, which then returns 0. */
void hub_client_close(struct hub_client *c, int code, const char *reason);
/* Cuts a client that does not take its replies. */
void hub_client_cut(struct hub_client *c);
/* LWS_CALLBACK_SERVER_WRITEABLE: a queued reply first, else events at the cursors. */
int hub_client_writeable(struct hub *hub, struct hub_client *c);
/* Every HUB_HEARTBEAT_TICK_MS: the next slice of clients (each client once per HUB_HEARTBEAT_S)
 * gets its heartbeat, or its stall checked and, past the limit, the 4408 close. */
void hub_clients_heartbeat_slice(struct hub *hub);
/* A connection opened (its socket options) / is closing (out of the heartbeat round). */
void hub_client_opened(struct hub *hub, struct hub_client *c);
void hub_client_closing(struct hub *hub, struct hub_client *c);
/* Asks every client following d (and not waiting for a read) to write. */
void hub_clients_wake(struct hub *hub, struct hub_department *d);
/* A subscription was given its department, or a client is going: the member lists
 * hub_clients_wake uses are rebuilt before their next use. */
void hub_members_changed(struct hub *hub);
void hub_client_free(struct hub_client *c);
/* Keeps the address (text, as record_client_address gives it) as bytes; one that is not an IP
 * address (an odd X-Real-IP) falls back to fallback (the peer's), else none is kept. */
void hub_client_set_addr(struct hub_client *c, const char *text, const char *fallback);
/* The address as text into out ("" when none was known). */
void hub_client_addr(const struct hub_client *c, char *out, size_t cap);
/* A free subscription slot (kind SUB_NONE, zeroed when new), grown when every slot is taken;
 * NULL when HUB_MAX_SUBS are (or out of memory). May move c->subs: take it before holding any
 * other slot's address. */
struct hub_sub *hub_client_free_slot(struct hub_client *c);

/* hub_subscribe.c: the database part of a subscribe (or of a resync with a snapshot). */
/* Starts s (kind, topic_id, dept if known set) after since: marks it pending and hands the
 * session check, the access checks, the audit and any read to the worker. resync: a
 * subscription that is already running needs a snapshot (it fell behind, or a wall's
 * masking changed). */
void hub_sub_start(struct hub *hub, struct hub_client *c, struct hub_sub *s, long long since,
                   bool resync);
/* At stop: the subscribes waiting in a batch (hub_subscribe.c) are dropped unanswered. */
void hub_subs_batch_drop(void);
/* After a tops check: starts again every subscription that waited for a new department. */
void hub_subs_retry(struct hub *hub);

/* hub_messages.c */
/* LWS_CALLBACK_RECEIVE: gathers fragments, parses and answers one message; -1 to close. */
int hub_messages_receive(struct hub *hub, struct hub_client *c, const char *in, size_t len);

/* hub_sessions.c */
/* Marks c to close with 4401 before anything more is written to it. */
void hub_session_end(struct hub_client *c);
/* Schedules the timers (the 5 s round); call once, at protocol init. */
void hub_sessions_init(struct hub *hub);
/* New events wait behind d->checked_top: a session round starts at the next loop turn. */
void hub_sessions_gate(struct hub *hub);

/* hub_fhir.c: the Subscriptions Backport's websocket channel (/fhir/R4/ws) */
/* True when the upgrade is to /fhir/R4/ws; base gets the FHIR base of its links. */
bool hub_fhir_is_channel(struct lws *wsi, char *base, size_t size);
/* A message on the channel: bind-with-token. -1 to close. */
int hub_fhir_receive(struct hub *hub, struct hub_client *c, const char *in, size_t len);
/* Whether the ring's event f is one of s's (topic and filter). */
bool hub_fhir_matches(const struct hub_sub *s, const struct hub_frame *f);
/* Writes f to c as s's next event-notification: 1 written, -1 error. */
int hub_fhir_write(struct hub_client *c, struct hub_sub *s, const struct hub_frame *f);
/* The heartbeats due on c's subscriptions. */
void hub_fhir_heartbeat(struct hub_client *c, lws_usec_t now);

/* hub_check.c */
void hub_check_init(struct hub *hub);
/* A tops check (and catch-up read) now, or right after the one under way. */
void hub_check_soon(struct hub *hub);
/* Worker side: the events of department after seq after (up to upto, 0: all), the last
 * HUB_RING_SIZE of them at most, appended to *list. False on a database error. */
bool hub_check_read_events(PGconn *pg, long long department_id, long long after, long long upto,
                           struct hub_event **list);

/* hub_replica.c (worker thread): reads a streaming replica serves when it has the seq needed.
 * Every job that reads copies hub->replica (NULL: EDLIVE_PG_REPLICA unset, all on the primary). */
/* The replica's connection, made once without waiting (NULL when conninfo is empty). */
struct hub_replica *hub_replica_open(const char *conninfo);
void hub_replica_close(struct hub_replica *r); /* after the worker has stopped */
/* hub_check_read_events, on the replica when its department_seq has reached need (the top
 * the hub already knows of, or the gap's end), in one transaction with that check; else on the
 * primary. r NULL: on the primary, exactly hub_check_read_events. */
bool hub_replica_read_events(struct hub_replica *r, PGconn *primary, long long department_id,
                             long long after, long long upto, long long need,
                             struct hub_event **list);
/* The department's board (not audited: audit first, on the primary) at a seq >= need, with
 * the events after top up to that seq appended to *list, all in one transaction: on the
 * replica when it has reached need, else on the primary. r must not be NULL. NULL on error. */
json_t *hub_replica_read_board(struct hub_replica *r, PGconn *primary, long long department_id,
                               long long need, long long top, struct hub_event **list);

#endif
