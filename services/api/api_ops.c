/* SPDX-License-Identifier: MIT */
/* api_ops.c: ed-api's metrics. Every answer is counted by its route pattern
 * ("/api/v1/encounters/:id/vitals", from the route table; "/fhir/R4/..." for FHIR; "unmatched"
 * for a path no route has), method and status, with a latency histogram per route. Requests
 * are answered on the lws thread only, and /metrics is rendered there too, so the slot table
 * needs no lock; the counters are relaxed atomics all the same. */
#include "api_ops.h"

#include <stdio.h>
#include <string.h>

#include "ops.h"

#define API_OPS_ROUTES   96 /* route patterns x methods; the table has about 60 */
#define API_OPS_STATUSES 16 /* distinct statuses per route */

struct route_slot {
    const char *route; /* a pattern of the route table (static), or a fixed word */
    enum route_method method;
    struct ops_histogram duration;
    int nstatus;
    struct {
        int status;
        struct ops_counter n;
    } status[API_OPS_STATUSES];
};

static struct route_slot slots[API_OPS_ROUTES];
static int nslots;
static struct ops_counter signin_failures[600];
static struct ops_counter unrecorded; /* a slot table full: never expected */

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE", "OTHER"};

static struct route_slot *slot_of(const char *route, enum route_method method)
{
    for (int i = 0; i < nslots; i++)
        if (slots[i].route == route && slots[i].method == method)
            return &slots[i];
    if (nslots == API_OPS_ROUTES)
        return NULL;
    slots[nslots].route = route;
    slots[nslots].method = method;
    return &slots[nslots++];
}

const char *api_ops_route(enum route_method method, const char *path)
{
    struct route_info info;
    bool known;

    if (fhir_routes_is_fhir(path))
        return "/fhir/R4/...";
    if (routes_lookup(method, path, &info, &known))
        return info.pattern;
    return "unmatched";
}

const char *api_ops_method_name(enum route_method method)
{
    return method_names[method <= ROUTE_OTHER ? method : ROUTE_OTHER];
}

void api_ops_count(enum route_method method, const char *path, int status, uint64_t us)
{
    const char *route = api_ops_route(method, path);
    struct route_slot *s;
    int i;

    s = slot_of(route, method);
    if (!s) {
        ops_inc(&unrecorded);
        return;
    }
    ops_observe_us(&s->duration, us);
    for (i = 0; i < s->nstatus && s->status[i].status != status; i++)
        ;
    if (i == s->nstatus) {
        if (i == API_OPS_STATUSES) {
            ops_inc(&unrecorded);
            return;
        }
        s->status[i].status = status;
        s->nstatus++;
    }
    ops_inc(&s->status[i].n);
    if (method == ROUTE_POST && !strcmp(route, "/api/v1/session") && status >= 400 && status < 600)
        ops_inc(&signin_failures[status]);
}

static void metrics(struct ops_text *t, void *user)
{
    char route[300], labels[400];

    (void)user;
    ops_family(t, "edlive_api_requests_total", "counter",
               "requests answered, by route pattern, method and status");
    for (int i = 0; i < nslots; i++) {
        ops_label(route, sizeof route, "route", slots[i].route);
        for (int k = 0; k < slots[i].nstatus; k++) {
            snprintf(labels, sizeof labels, "%s,method=\"%s\",status=\"%d\"", route,
                     method_names[slots[i].method], slots[i].status[k].status);
            ops_sample(t, "edlive_api_requests_total", labels,
                       (double)ops_read(&slots[i].status[k].n));
        }
    }
    ops_family(t, "edlive_api_request_duration_seconds", "histogram",
               "time from the request line to the answer's headers, by route pattern and method");
    for (int i = 0; i < nslots; i++) {
        ops_label(route, sizeof route, "route", slots[i].route);
        snprintf(labels, sizeof labels, "%s,method=\"%s\"", route, method_names[slots[i].method]);
        ops_histogram_lines(t, "edlive_api_request_duration_seconds", labels, &slots[i].duration);
    }
    ops_family(t, "edlive_api_signin_failures_total", "counter",
               "sign-ins refused (POST /api/v1/session answered 4xx or 5xx), by status");
    ops_sample(t, "edlive_api_signin_failures_total", "status=\"401\"",
               (double)ops_read(&signin_failures[401]));
    for (int status = 400; status < 600; status++) {
        char l[32];
        uint64_t n = ops_read(&signin_failures[status]);
        if (status == 401 || !n)
            continue;
        snprintf(l, sizeof l, "status=\"%d\"", status);
        ops_sample(t, "edlive_api_signin_failures_total", l, (double)n);
    }
    ops_family(t, "edlive_api_requests_unrecorded_total", "counter",
               "requests not in edlive_api_requests_total (its table was full)");
    ops_sample(t, "edlive_api_requests_unrecorded_total", NULL, (double)ops_read(&unrecorded));
}

bool api_ops_start(const char *pg)
{
    const struct ops_service service = {.name = "ed-api", .pg = pg, .metrics = metrics};

    return ops_start(&service);
}
