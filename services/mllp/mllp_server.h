/* SPDX-License-Identifier: MIT */
/* mllp_server.h: the TCP side of ed-mllp. A single-threaded poll() loop: one listening socket
 * on one address, many connections, each with its own MLLP decoder and its own output buffer
 * (partial sends are resumed when the socket is writable). What a message means is the
 * caller's: a handler turns each complete payload into the (unframed) reply. */
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

/* Returns the reply (unframed HL7 text, malloc'd, *reply_len set; the server frees it) or NULL
 * for no reply. peer is the source address as text (for logs). */
typedef char *(*mllp_server_handler)(void *ctx, enum mllp_server_input kind, const char *data,
                                     size_t len, const char *peer, size_t *reply_len);

struct mllp_server_opts {
    const char *iface;  /* EDLIVE_LISTEN: an IPv4/IPv6 literal or an interface name */
    int port;           /* EDLIVE_MLLP_PORT */
    const char *allow;  /* EDLIVE_MLLP_ALLOW: comma-separated source addresses */
    int idle_s;         /* a connection silent this long in the middle of a frame is closed */
    size_t max_message; /* the framer's cap (0: MLLP_MAX_MESSAGE_DEFAULT) */
    unsigned max_conns; /* connections at once; more are closed at accept (0: 256) */
    mllp_server_handler handler;
    void *ctx;
};

struct mllp_server;

/* Checks the allow-list and binds the listening socket. NULL (the reason logged) on failure. */
struct mllp_server *mllp_server_new(const struct mllp_server_opts *opts);

/* The port actually bound (useful with port 0 in tests). */
int mllp_server_port(const struct mllp_server *srv);

/* Serves until *stop becomes non-zero (checked at least once a second). */
void mllp_server_run(struct mllp_server *srv, volatile sig_atomic_t *stop);

void mllp_server_free(struct mllp_server *srv);

#endif
