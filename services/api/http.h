/* SPDX-License-Identifier: MIT */
/* http.h: ed-api's lws HTTP protocol callback. */
#ifndef EDLIVE_API_HTTP_H
#define EDLIVE_API_HTTP_H

#include <libwebsockets.h>
#include <stdbool.h>

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* SIGTERM: answers from now on close their connection, idle connections are closed. */
void http_drain_start(void);

/* No connection is open any more. */
bool http_drained(void);

/* The per-connection state size for struct lws_protocols. */
size_t http_conn_size(void);

#endif
