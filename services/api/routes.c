/* SPDX-License-Identifier: MIT */
/* routes.c: the /api/v1 route table and dispatch: match path and method, parse and
 * schema-check the body, call the store, publish the committed event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "store.h"

typedef bool write_fn(PGconn *conn, long long id, const json_t *body, struct store_write *out,
                      struct ed_error *err);
typedef json_t *read_fn(PGconn *conn, long long id, struct ed_error *err);

struct route {
    enum route_method method;
    const char *pattern; /* ":id" matches a positive integer */
    const char *schema;  /* proto/ schema of the body, NULL for GET */
    read_fn *read;
    write_fn *write;
    int status;          /* on success */
};

static json_t *read_departments(PGconn *conn, long long id, struct ed_error *err)
{
    (void)id;
    return store_departments(conn, err);
}

static const struct route routes[] = {
    {ROUTE_GET, "/api/v1/departments", NULL, read_departments, NULL, 200},
    {ROUTE_GET, "/api/v1/departments/:id/board", NULL, store_board, NULL, 200},
    {ROUTE_POST, "/api/v1/departments/:id/arrivals", "http/arrival", NULL, store_arrival, 201},
    {ROUTE_GET, "/api/v1/encounters/:id", NULL, store_chart, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/triage", "http/triage", NULL, store_triage, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/bed", "http/bed", NULL, store_bed, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/assignment", "http/assignment", NULL, store_assignment,
     200},
    {ROUTE_POST, "/api/v1/encounters/:id/vitals", "http/vitals", NULL, store_vitals, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/notes", "http/note", NULL, store_note, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/status", "http/status", NULL, store_status, 200},
};

/* Matches path against pattern; *id gets the ":id" segment. Ids are 1..10^15. */
static bool match(const char *pattern, const char *path, long long *id)
{
    while (*pattern && *path) {
        if (!strncmp(pattern, ":id", 3)) {
            long long v = 0;
            int digits = 0;
            for (; *path >= '0' && *path <= '9'; path++, digits++) {
                if (digits == 15)
                    return false;
                v = v * 10 + (*path - '0');
            }
            if (digits == 0 || v == 0)
                return false;
            *id = v;
            pattern += 3;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *pattern == '\0' && *path == '\0';
}

static const struct route *find(enum route_method method, const char *path, long long *id,
                                bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, path, id))
            continue;
        *path_known = true;
        if (routes[i].method == method)
            return &routes[i];
    }
    return NULL;
}

bool routes_takes_body(enum route_method method, const char *path)
{
    long long id;
    bool known;
    const struct route *r = find(method, path, &id, &known);

    return r && r->schema;
}

const char *routes_allowed_methods(const char *path)
{
    long long id;
    bool get = false, post = false;

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, path, &id))
            continue;
        get = get || routes[i].method == ROUTE_GET;
        post = post || routes[i].method == ROUTE_POST;
    }
    return get && post ? "GET, POST" : get ? "GET" : post ? "POST" : "";
}

static void publish(struct api *app, const struct store_write *w)
{
    if (!redis_pub_event(app->redis, w->department_id, w->seq, w->encounter_id, w->frame))
        log_warn("event dept %lld seq %lld not on Redis yet; hubs will read it from PostgreSQL",
                 w->department_id, w->seq);
}

bool routes_dispatch(struct api *app, enum route_method method, const char *path,
                     const char *body, size_t body_len, struct route_result *out,
                     struct ed_error *err)
{
    long long id = 0;
    bool path_known;
    const struct route *r = find(method, path, &id, &path_known);
    struct store_write w = {0};
    json_t *doc;
    bool ok;

    if (!r && path_known)
        return ed_error_set(err, 405, "method_not_allowed", NULL,
                            "this path does not accept that method");
    if (!r)
        return ed_error_set(err, 404, "not_found", NULL, "no such resource");
    if (r->read) {
        out->reply = r->read(app->pg, id, err);
        out->status = r->status;
        return out->reply != NULL;
    }
    doc = schema_parse_body(body, body_len, API_MAX_BODY_DEPTH, err);
    if (!doc)
        return false;
    if (!schema_validate(schema_set_find(app->schemas, r->schema), doc, err)) {
        json_decref(doc);
        return false;
    }
    ok = r->write(app->pg, id, doc, &w, err);
    json_decref(doc);
    if (!ok)
        return false;
    log_info("%s %s -> dept %lld seq %lld", method == ROUTE_POST ? "POST" : "GET", r->pattern,
             w.department_id, w.seq);
    publish(app, &w);
    out->reply = json_incref(w.reply);
    out->status = r->status;
    store_write_clear(&w);
    return true;
}

bool routes_check_schemas(const struct schema_set *schemas, struct ed_error *err)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (routes[i].schema && !schema_set_find(schemas, routes[i].schema))
            return ed_error_set(err, 500, "schema_error", NULL, "proto/%s.json is missing",
                                routes[i].schema);
    return true;
}
