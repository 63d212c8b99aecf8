/* SPDX-License-Identifier: MIT */
/* api_ops.h: ed-api's request metrics and its /healthz, /readyz, /metrics (api_ops.c). */
#ifndef EDLIVE_API_OPS_H
#define EDLIVE_API_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"

/* Starts the readiness checker (PostgreSQL and migrations; ed-api uses no Redis). */
bool api_ops_start(const char *pg);

/* One answered request: its route pattern (never the path: ids are not labels), method,
 * status and duration. On the lws thread. */
void api_ops_count(enum route_method method, const char *path, int status, uint64_t us);
/* The route pattern of a request (/api/v1/encounters/{id}/vitals; "/fhir/R4/..."; "unmatched"):
 * what metrics and the access log name, never the path itself (ids, search terms). */
const char *api_ops_route(enum route_method method, const char *path);
const char *api_ops_method_name(enum route_method method);

#endif
