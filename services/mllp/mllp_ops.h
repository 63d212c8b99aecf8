/* SPDX-License-Identifier: MIT */
/* mllp_ops.h: ed-mllp's operations port (mllp_ops.c). */
#ifndef EDLIVE_MLLP_OPS_H
#define EDLIVE_MLLP_OPS_H

#include <stdbool.h>
#include <stddef.h>

/* Starts the readiness checker and, unless port is 0, the /healthz /readyz /metrics responder. */
bool mllp_ops_start(const char *pg, const char *iface, int port);
void mllp_ops_stop(void);

/* Counts one ACK about to be sent (from any thread) and logs it (message id made here, event,
 * ACK code). */
void mllp_ops_count_ack(const char *ack, size_t len);

#endif
