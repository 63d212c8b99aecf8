/* SPDX-License-Identifier: MIT */
/* http.h: ed-api's lws HTTP protocol callback. */
#ifndef EDLIVE_API_HTTP_H
#define EDLIVE_API_HTTP_H

#include <libwebsockets.h>
#include <stdbool.h>

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* SIGTERM: a request that arrives from now on is refused 503 "restarting" (nothing of it
 * runs); every answer closes its connection; idle connections are closed. */
void http_drain_start(void);

/* Requests read but not yet answered (a worker runs them, or their answer is being written). */
int http_busy(void);

/* The per-connection state size for struct lws_protocols. */
size_t http_conn_size(void);

#endif
