/* SPDX-License-Identifier: MIT */
/* routes.c: the /api/v1 route table and dispatch. Every request goes through the same
 * steps, in this order, so that a refusal never reads or carries chart data:
 *   route match (404/405) -> session (401) -> Origin for cookie writes (403)
 *   -> permission matrix (403, audited) -> body parse and schema (400/422)
 *   -> the store, whose SQL carries the department scope (404, audited) -> publish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "log.h"
#include "record.h"
#include "timefmt.h"

typedef json_t *read_fn(PGconn *conn, const struct principal *who, long long id,
                        struct ed_error *err);
/* Routes that are neither a plain read nor a plain store write. */
typedef bool handler_fn(struct api *app, const struct request *req, struct principal *who,
                        long long id, const json_t *body, struct route_result *out,
                        struct ed_error *err);

#define ANY_SIGNED_IN ACT_COUNT /* no matrix entry: any valid session */

struct route {
    enum route_method method;
    const char *pattern; /* ":id" matches a positive integer */
    const char *schema;  /* proto/ schema of the body, NULL when none */
    bool is_public;      /* no session needed (sign-in only) */
    enum record_action action;
    const char *category; /* audit data category of a refusal */
    read_fn *read;
    record_write_fn *write;
    handler_fn *handler;
    int status; /* on success */
};

static handler_fn sign_in, session_info, sign_out, break_glass, departments, audit_route,
    account_create, account_disabled, metrics;

static const struct route routes[] = {
    {ROUTE_POST, "/api/v1/session", "http/session", true, ANY_SIGNED_IN, "session", NULL, NULL,
     sign_in, 201},
    {ROUTE_GET, "/api/v1/session", NULL, false, ANY_SIGNED_IN, "session", NULL, NULL, session_info,
     200},
    {ROUTE_DELETE, "/api/v1/session", NULL, false, ANY_SIGNED_IN, "session", NULL, NULL, sign_out,
     200},
    {ROUTE_GET, "/api/v1/departments", NULL, false, ANY_SIGNED_IN, "board", NULL, NULL, departments,
     200},
    {ROUTE_GET, "/api/v1/departments/:id/board", NULL, false, ACT_BOARD_READ, "board",
     record_board_for, NULL, NULL, 200},
    {ROUTE_POST, "/api/v1/departments/:id/arrivals", "http/arrival", false, ACT_ARRIVAL,
     "encounter", NULL, record_arrival, NULL, 201},
    /* Issue 9 item 15: a patient nobody can name yet, and later their identity (a merge). */
    {ROUTE_POST, "/api/v1/departments/:id/arrivals/unidentified", "http/arrival_unidentified",
     false, ACT_ARRIVAL, "encounter", NULL, record_arrival, NULL, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/identify", "http/identify", false, ACT_ARRIVAL,
     "encounter", NULL, record_identify, NULL, 200},
    {ROUTE_GET, "/api/v1/encounters/:id", NULL, false, ACT_CHART_READ, "chart", record_chart, NULL,
     NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/triage", "http/triage", false, ACT_TRIAGE, "encounter",
     NULL, record_triage, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/bed", "http/bed", false, ACT_BED, "encounter", NULL,
     record_bed, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/assignment", "http/assignment", false, ACT_ASSIGN,
     "encounter", NULL, record_assignment, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/vitals", "http/vitals", false, ACT_VITALS, "vitals", NULL,
     record_vitals, NULL, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/notes", "http/note", false, ACT_NOTE, "note", NULL,
     record_note, NULL, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/status", "http/status", false, ACT_STATUS, "encounter",
     NULL, record_status, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/break-glass", "http/break_glass", false, ACT_BREAK_GLASS,
     "chart", NULL, NULL, break_glass, 201},
    /* Issue 5: the clinical record (proto/README.md "Clinical record"). */
    {ROUTE_POST, "/api/v1/encounters/:id/orders", "http/order", false, ACT_ORDER, "order", NULL,
     record_order_create, NULL, 201},
    {ROUTE_POST, "/api/v1/orders/:id/status", "http/order_status", false, ACT_ORDER, "order", NULL,
     record_order_status, NULL, 200},
    {ROUTE_POST, "/api/v1/orders/:id/seen", NULL, false, ACT_ORDER, "order", NULL,
     record_order_seen, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/disposition", "http/disposition", false, ACT_DISPOSITION,
     "encounter", NULL, record_disposition, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/departure", "http/departure", false, ACT_DISPOSITION,
     "encounter", NULL, record_departure, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/comment", "http/comment", false, ACT_BOARD_EDIT,
     "encounter", NULL, record_comment, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/isolation", "http/isolation", false, ACT_BOARD_EDIT,
     "encounter", NULL, record_isolation, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/reassessment", "http/reassessment", false, ACT_BOARD_EDIT,
     "encounter", NULL, record_reassessment, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/news2-scale", "http/news2_scale", false, ACT_NEWS2_SCALE,
     "encounter", NULL, record_news2_scale, NULL, 200},
    {ROUTE_POST, "/api/v1/encounters/:id/diagnoses", "http/diagnosis", false, ACT_DIAGNOSIS,
     "record", NULL, record_diagnosis, NULL, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/allergies", "http/allergy", false, ACT_RECORD, "record",
     NULL, record_allergy, NULL, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/medications", "http/medication", false, ACT_RECORD,
     "record", NULL, record_medication, NULL, 201},
    {ROUTE_POST, "/api/v1/encounters/:id/problems", "http/problem", false, ACT_RECORD, "record",
     NULL, record_problem, NULL, 201},
    {ROUTE_POST, "/api/v1/beds/:id/status", "http/bed_status", false, ACT_BED_STATUS, "board", NULL,
     record_bed_status, NULL, 200},
    {ROUTE_GET, "/api/v1/departments/:id/metrics", NULL, false, ACT_METRICS_READ, "board", NULL,
     NULL, metrics, 200},
    {ROUTE_GET, "/api/v1/departments/:id/alert-thresholds", NULL, false, ACT_THRESHOLDS_READ,
     "board", record_alert_thresholds, NULL, NULL, 200},
    {ROUTE_PUT, "/api/v1/departments/:id/alert-thresholds", "http/alert_thresholds", false,
     ACT_THRESHOLDS_WRITE, "board", NULL, record_alert_thresholds_put, NULL, 200},
    {ROUTE_GET, "/api/v1/audit", NULL, false, ACT_AUDIT_READ, "audit", NULL, NULL, audit_route,
     200},
    {ROUTE_POST, "/api/v1/accounts", "http/account", false, ACT_ACCOUNT_MANAGE, "account", NULL,
     NULL, account_create, 201},
    {ROUTE_POST, "/api/v1/accounts/:id/disabled", "http/account_disabled", false,
     ACT_ACCOUNT_MANAGE, "account", NULL, NULL, account_disabled, 200},
};

#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

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
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (!match(routes[i].pattern, path, id))
            continue;
        *path_known = true;
        if (routes[i].method == method)
            return &routes[i];
    }
    return NULL;
}

bool routes_lookup(enum route_method method, const char *path, struct route_info *out,
                   bool *path_known)
{
    long long id = 0;
    const struct route *r = find(method, path, &id, path_known);

    if (!r)
        return false;
    *out = (struct route_info){.pattern = r->pattern,
                               .id = id,
                               .action = r->action,
                               .is_public = r->is_public,
                               .schema = r->schema};
    return true;
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
    static const char *const names[] = {
        [ROUTE_GET] = "GET", [ROUTE_POST] = "POST", [ROUTE_PUT] = "PUT", [ROUTE_DELETE] = "DELETE"};
    static _Thread_local char allow[48];
    long long id;
    bool seen[ROUTE_OTHER] = {false};
    size_t len = 0;

    allow[0] = '\0';
    for (size_t i = 0; i < ROUTE_COUNT; i++)
        if (match(routes[i].pattern, path, &id))
            seen[routes[i].method] = true;
    for (int m = 0; m < ROUTE_OTHER; m++)
        if (seen[m])
            len += (size_t)snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "",
                                    names[m]);
    return allow;
}

bool routes_check_schemas(const struct schema_set *schemas, struct ed_error *err)
{
    for (size_t i = 0; i < ROUTE_COUNT; i++)
        if (routes[i].schema && !schema_set_find(schemas, routes[i].schema))
            return ed_error_set(err, ED_ERR_SCHEMA_ERROR, NULL, "proto/%s.json is missing",
                                routes[i].schema);
    return true;
}

/* ---- session routes ---- */

static bool sign_in(struct api *app, const struct request *req, struct principal *who, long long id,
                    const json_t *body, struct route_result *out, struct ed_error *err)
{
    char token[AUTH_TOKEN_CHARS_MAX];
    struct principal p = {0};
    int retry = 0;

    (void)who;
    (void)id;
    if (!record_sign_in(app->pg, json_string_value(json_object_get(body, "username")),
                        json_string_value(json_object_get(body, "password")),
                        json_string_value(json_object_get(body, "totp")), req->source_addr, token,
                        &p, &retry, err)) {
        out->retry_after_s = retry;
        return false;
    }
    snprintf(out->set_cookie, sizeof out->set_cookie,
             RECORD_SESSION_COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Strict", token);
    out->reply = json_pack("{s:s,s:s,s:s,s:i,s:i}", "token", token, "username", p.username, "role",
                           p.role, "idle_timeout_s", record_session_idle_seconds(),
                           "max_lifetime_s", record_session_max_seconds());
    return true;
}

static bool session_info(struct api *app, const struct request *req, struct principal *who,
                         long long id, const json_t *body, struct route_result *out,
                         struct ed_error *err)
{
    json_t *depts = record_departments(app->pg, who, err), *allowed;

    (void)req;
    (void)id;
    (void)body;
    if (!depts)
        return false;
    allowed = record_allowed_actions(who);
    if (!allowed) {
        json_decref(depts);
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    }
    /* The page warns a minute before the idle time-out and blanks itself at it (issue 9
     * item 12): it needs this session's own time-out and what is left of it. */
    out->reply =
        json_pack("{s:s,s:s,s:I,s:b,s:o,s:i,s:i,s:o}", "username", who->username, "role", who->role,
                  "staff_id", (json_int_t)who->staff_id, "mfa", who->mfa, "departments",
                  json_incref(json_object_get(depts, "departments")), "idle_timeout_s",
                  who->idle_seconds > 0 ? who->idle_seconds : record_session_idle_seconds(),
                  "idle_remaining_s", who->idle_remaining_s, "allowed", allowed);
    json_decref(depts);
    return true;
}

static bool sign_out(struct api *app, const struct request *req, struct principal *who,
                     long long id, const json_t *body, struct route_result *out,
                     struct ed_error *err)
{
    (void)req;
    (void)id;
    (void)body;
    if (!record_sign_out(app->pg, who))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    snprintf(out->set_cookie, sizeof out->set_cookie,
             RECORD_SESSION_COOKIE "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    out->reply = json_pack("{s:b}", "signed_out", 1);
    return true;
}

static bool departments(struct api *app, const struct request *req, struct principal *who,
                        long long id, const json_t *body, struct route_result *out,
                        struct ed_error *err)
{
    (void)req;
    (void)id;
    (void)body;
    out->reply = record_departments(app->pg, who, err);
    return out->reply != NULL;
}

#define BREAK_GLASS_MINUTES 60

static bool break_glass(struct api *app, const struct request *req, struct principal *who,
                        long long id, const json_t *body, struct route_result *out,
                        struct ed_error *err)
{
    long long patient_id = 0;
    struct record_write w = {0};
    struct ed_error flag_err = {0};

    (void)req;
    if (!record_break_glass(app->pg, who, id, json_string_value(json_object_get(body, "reason")),
                            json_string_value(json_object_get(body, "totp")), BREAK_GLASS_MINUTES,
                            &patient_id, err))
        return false;
    /* The encounter may have ended; the grant stands, and only active boards show it. */
    if (record_break_glass_flag(app->pg, who, id, &w, &flag_err))
        record_write_clear(&w);
    out->reply = json_pack("{s:I,s:I,s:i}", "encounter_id", (json_int_t)id, "patient_id",
                           (json_int_t)patient_id, "minutes", BREAK_GLASS_MINUTES);
    return true;
}

static bool audit_route(struct api *app, const struct request *req, struct principal *who,
                        long long id, const json_t *body, struct route_result *out,
                        struct ed_error *err)
{
    (void)id;
    (void)body;
    return audit_report(app, req, who, out, err);
}

static bool account_create(struct api *app, const struct request *req, struct principal *who,
                           long long id, const json_t *body, struct route_result *out,
                           struct ed_error *err)
{
    const json_t *staff = json_object_get(body, "staff_id");
    long long account_id = 0;

    (void)req;
    (void)id;
    if (!record_account_create(app->pg, who, json_string_value(json_object_get(body, "username")),
                               json_string_value(json_object_get(body, "password")),
                               json_string_value(json_object_get(body, "role")),
                               json_is_integer(staff) ? json_integer_value(staff) : 0, &account_id,
                               err))
        return false;
    out->reply = json_pack("{s:I}", "account_id", (json_int_t)account_id);
    return true;
}

static bool account_disabled(struct api *app, const struct request *req, struct principal *who,
                             long long id, const json_t *body, struct route_result *out,
                             struct ed_error *err)
{
    bool disabled = json_is_true(json_object_get(body, "disabled"));

    (void)req;
    if (!record_account_set_disabled(app->pg, who, id, disabled, err))
        return false;
    out->reply = json_pack("{s:I,s:b}", "account_id", (json_int_t)id, "disabled", disabled);
    return true;
}

/* GET .../metrics?date=YYYY-MM-DD (default: today in the department's time zone), or
 * ?period=last24h (the 24 hours before now). */
static bool metrics(struct api *app, const struct request *req, struct principal *who, long long id,
                    const json_t *body, struct route_result *out, struct ed_error *err)
{
    char buf[64], pbuf[32];
    const char *date = request_query_arg(req, "date=", buf, sizeof buf);
    const char *period = request_query_arg(req, "period=", pbuf, sizeof pbuf);
    bool last_24h = period && !strcmp(period, "last24h");

    (void)body;
    if (date && !timefmt_is_date(date))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "date", "must be a date, YYYY-MM-DD");
    if (period && !last_24h && strcmp(period, "day"))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "period", "must be day or last24h");
    if (last_24h && date)
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "period",
                            "last24h ends now: it takes no date");
    out->reply = record_metrics(app->pg, who, id, date, last_24h, err);
    return out->reply != NULL;
}

/* ---- the pipeline ---- */

/* A physician or nurse may assign only themself (as attending, or as nurse); a charge nurse
 * assigns anyone. */
static bool assignment_allowed(const struct principal *who, const json_t *body)
{
    const json_t *attending = json_object_get(body, "attending_id");
    const json_t *nurse = json_object_get(body, "nurse_id");

    if (who->roles & ROLE_CHARGE_NURSE)
        return true;
    if (!who->staff_id)
        return false;
    if (attending && !((who->roles & ROLE_PHYSICIAN) && json_is_integer(attending) &&
                       json_integer_value(attending) == who->staff_id))
        return false;
    if (nurse && !((who->roles & ROLE_NURSE) && json_is_integer(nurse) &&
                   json_integer_value(nurse) == who->staff_id))
        return false;
    return true;
}

static bool refuse(struct api *app, struct principal *who, const struct route *r, long long id,
                   struct ed_error *err)
{
    /* Refusals are audited: who tried what, on which id; never with chart data. */
    record_audit(app->pg, who, NULL,
                 r->action < ACT_COUNT ? record_action_name(r->action) : r->pattern, 0,
                 strstr(r->pattern, "encounters") ? id : 0, r->category, "denied", false, err->code,
                 who->source_addr);
    return false;
}

/* The digest an Idempotency-Key is kept with: a reused key with another request is refused. */
static void request_digest(const struct request *req, char hex[65])
{
    unsigned char sum[32];
    size_t plen = strlen(req->path);
    char *buf = malloc(plen + 1 + req->body_len);

    if (!buf) {
        hex[0] = '\0';
        return;
    }
    memcpy(buf, req->path, plen);
    buf[plen] = '\n';
    memcpy(buf + plen + 1, req->body, req->body_len);
    auth_sha256(buf, plen + 1 + req->body_len, sum);
    auth_hex(sum, 32, hex);
    free(buf);
}

/* The first reply to this Idempotency-Key, if there was one: true with out filled, or with
 * err for a key reused on a different request. */
static bool replay(struct api *app, const struct request *req, const struct principal *who,
                   const char *digest, struct route_result *out, bool *found, struct ed_error *err)
{
    bool same = false;
    json_t *reply = record_idempotent_reply(app->pg, who, req->idempotency_key, digest,
                                            &out->status, &same, err);

    *found = reply != NULL;
    if (!reply)
        return !err->status;
    if (!same) {
        json_decref(reply);
        return ed_error_set(err, ED_ERR_IDEMPOTENCY_KEY_REUSED, "Idempotency-Key",
                            "this Idempotency-Key was used for a different request");
    }
    out->reply = reply;
    return true;
}

static bool run_write(struct api *app, const struct request *req, const struct route *r,
                      struct principal *who, long long id, const json_t *body,
                      struct route_result *out, struct ed_error *err)
{
    struct record_write w = {0};
    char digest[65] = "";
    struct record_write_opts opts = {req->if_match, req->idempotency_key, digest, r->status};
    bool found = false;

    if (req->idempotency_key) {
        request_digest(req, digest);
        if (!replay(app, req, who, digest, out, &found, err) || found)
            return !err->status;
    }
    if (!r->write(app->pg, who, id, body, &opts, &w, err)) {
        if (err->id == ED_ERR_IDEMPOTENCY_REPLAY) {
            /* The same request committed meanwhile (a retry racing its original). */
            memset(err, 0, sizeof *err);
            if (replay(app, req, who, digest, out, &found, err) && found)
                return true;
            return err->status ? false
                               : ed_error_set(err, ED_ERR_CONFLICT, "Idempotency-Key",
                                              "a request with this key is still in progress");
        }
        if (err->id == ED_ERR_VERSION_CONFLICT)
            out->current = record_encounter_row(app->pg, who, id);
        return false;
    }
    log_info("%s -> dept %lld seq %lld", r->pattern, w.department_id, w.seq);
    if (req->exit_after_commit) {
        /* Fault injection: the write is committed and the relay will deliver it; the client
         * never hears back, as when the process is killed at this point. */
        log_warn("fault injection: exiting between commit and reply");
        _exit(3);
    }
    out->reply = json_incref(w.reply);
    record_write_clear(&w);
    return true;
}

static bool run(struct api *app, const struct request *req, const struct route *r,
                struct principal *who, long long id, const json_t *body, struct route_result *out,
                struct ed_error *err)
{
    out->status = r->status;
    if (r->handler)
        return r->handler(app, req, who, id, body, out, err);
    if (r->read) {
        out->reply = r->read(app->pg, who, id, err);
        return out->reply != NULL;
    }
    return run_write(app, req, r, who, id, body, out, err);
}

bool routes_dispatch(struct api *app, const struct request *req, struct route_result *out,
                     int *retry_after_s, struct ed_error *err)
{
    long long id = 0;
    bool path_known, ok;
    const struct route *r = find(req->method, req->path, &id, &path_known);
    struct principal who = {0};
    json_t *body = NULL;

    *retry_after_s = 0;
    if (!r && path_known)
        return ed_error_set(err, ED_ERR_METHOD_NOT_ALLOWED, NULL,
                            "this path does not accept that method");
    if (!r)
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such resource");
    snprintf(who.source_addr, sizeof who.source_addr, "%s", req->source_addr);
    if (!r->is_public) {
        switch (record_session(app->pg, req->token, true, &who)) {
        case SESSION_OK:
            break;
        case SESSION_NONE:
            return ed_error_set(err, ED_ERR_UNAUTHENTICATED, NULL,
                                "sign in first (the session is missing, expired or revoked)");
        default:
            return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        }
    }
    /* A write carried by a cookie must come from one of our own pages. */
    if (req->method != ROUTE_GET && req->origin && (req->token_from_cookie || r->is_public) &&
        !record_origin_allowed(app->allowed_origins, req->origin)) {
        ed_error_set(err, ED_ERR_ORIGIN_NOT_ALLOWED, NULL, "requests from this origin are refused");
        return r->is_public ? false : refuse(app, &who, r, id, err);
    }
    if (r->action < ACT_COUNT && !record_allows(&who, r->action)) {
        ed_error_set(err, ED_ERR_FORBIDDEN, NULL, "your role may not do this");
        return refuse(app, &who, r, id, err);
    }
    if (r->schema) {
        body = schema_parse_body(req->body, req->body_len, API_MAX_BODY_DEPTH, err);
        if (!body)
            return false;
        if (!schema_validate(schema_set_find(app->schemas, r->schema), body, err)) {
            json_decref(body);
            return false;
        }
        if (r->action == ACT_ASSIGN && !assignment_allowed(&who, body)) {
            json_decref(body);
            ed_error_set(err, ED_ERR_FORBIDDEN, NULL,
                         "only a charge nurse assigns others; you may assign yourself");
            return refuse(app, &who, r, id, err);
        }
    }
    ok = run(app, req, r, &who, id, body, out, err);
    json_decref(body);
    *retry_after_s = out->retry_after_s;
    if (!ok && !r->is_public && (err->status == 404 || err->status == 403))
        refuse(app, &who, r, id, err);
    return ok;
}

const char *request_query_fragment(const struct request *req, int i)
{
    const char *p = req->query;

    if (!p)
        return NULL;
    for (; *p && i > 0; i--)
        p += strlen(p) + 1;
    return *p ? p : NULL;
}

const char *request_query_arg(const struct request *req, const char *name, char *buf, size_t cap)
{
    size_t name_len = strlen(name);
    const char *frag;

    for (int i = 0; (frag = request_query_fragment(req, i)) != NULL; i++) {
        size_t len = strlen(frag);
        if (strncmp(frag, name, name_len) != 0)
            continue;
        if (len >= cap)
            return NULL;
        memcpy(buf, frag, len + 1);
        return buf + name_len;
    }
    return NULL;
}
