/* SPDX-License-Identifier: MIT */
/* http.h: ed-api's lws HTTP protocol callback. */
#ifndef EDLIVE_API_HTTP_H
#define EDLIVE_API_HTTP_H

#include <libwebsockets.h>

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* The per-connection state size for struct lws_protocols. */
size_t http_conn_size(void);

#endif
