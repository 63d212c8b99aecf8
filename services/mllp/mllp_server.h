/* SPDX-License-Identifier: MIT */
/* mllp_server.h: the TCP side of ed-mllp. A poll() loop: one listening socket on one address,
 * many connections, each with its own MLLP decoder, its own queue of answers owed (in the
 * order of its frames) and its own output buffer (partial sends resumed when writable). What
 * a message means is the caller's: a handler on the loop answers a frame at once or hands it
 * to the one worker thread (apply), which may block on the database while the loop goes on
 * accepting, reading and answering every other connection. */
#ifndef EDLIVE_MLLP_SERVER_H
#define EDLIVE_MLLP_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* What a frame turned out to be, for the handler. */
enum mllp_server_input {
    MLLP_INPUT_MESSAGE,  /* a complete frame: data, len is the payload */
    MLLP_INPUT_OVERSIZE, /* a frame over the cap: data, len are its first max_message bytes */
};

/* What the handler decided for one frame. */
enum mllp_verdict {
    MLLP_VERDICT_NONE,  /* no reply */
    MLLP_VERDICT_REPLY, /* *reply (unframed HL7 text, malloc'd, *reply_len set) is the answer */
    MLLP_VERDICT_APPLY, /* *work goes to the worker thread, whose apply gives the answer */
};

/* On the poll loop, for each frame: never blocks (no database). peer is the source address
 * as text (for logs). The server frees *reply. */
typedef enum mllp_verdict (*mllp_server_handler)(void *ctx, enum mllp_server_input kind,
                                                 const char *data, size_t len, const char *peer,
                                                 char **reply, size_t *reply_len, void **work);

/* On the worker thread, one work at a time in the order the frames came: its answer (as for
 * MLLP_VERDICT_REPLY, NULL for none). Consumes work. May block (the database). */
typedef char *(*mllp_server_apply)(void *ctx, void *work, const char *peer, size_t *reply_len);

/* Frees a work that will not be applied (its connection closed before the worker took it). */
typedef void (*mllp_server_discard)(void *ctx, void *work);

/* On the worker thread when it starts and every housekeeping_s (e.g. a purge). */
typedef void (*mllp_server_housekeeping)(void *ctx);

struct mllp_server_opts {
    const char *iface;  /* EDLIVE_LISTEN: an IPv4/IPv6 literal or an interface name */
    int port;           /* EDLIVE_MLLP_PORT */
    const char *allow;  /* EDLIVE_MLLP_ALLOW: comma-separated source addresses */
    int idle_s;         /* silent this long inside a frame, or not reading its ACKs: closed */
    int frame_s;        /* a frame started must end within this (0: no deadline) */
    size_t max_message; /* the framer's cap (0: MLLP_MAX_MESSAGE_DEFAULT) */
    unsigned max_conns; /* connections at once; more are closed at accept (0: 256) */
    unsigned max_queue; /* answers owed to one connection before reading from it pauses (0: 64) */
    mllp_server_handler handler;
    mllp_server_apply apply;     /* required when the handler can answer MLLP_VERDICT_APPLY */
    mllp_server_discard discard; /* may be NULL (work then must need no freeing) */
    mllp_server_housekeeping housekeeping; /* may be NULL */
    int housekeeping_s;                    /* 0: 3600 */
    /* On the poll thread after each round (at least once a second); may be NULL. */
    void (*each_round)(void *ctx);
    void *ctx;
};

struct mllp_server;

/* Checks the allow-list and binds the listening socket. NULL (the reason logged) on failure. */
struct mllp_server *mllp_server_new(const struct mllp_server_opts *opts);

/* The port actually bound (useful with port 0 in tests). */
int mllp_server_port(const struct mllp_server *srv);

/* Starts the worker thread and serves until *stop becomes non-zero (checked at least once a
 * second) or mllp_server_stop; then joins the worker. False when it could not start. */
bool mllp_server_run(struct mllp_server *srv, volatile sig_atomic_t *stop);

/* Ends mllp_server_run soon; safe from any thread (the worker's apply, e.g. on a fatal
 * configuration error). */
void mllp_server_stop(struct mllp_server *srv);

void mllp_server_free(struct mllp_server *srv);

#endif
