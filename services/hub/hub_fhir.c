/* SPDX-License-Identifier: MIT */
/* hub_fhir.c: the FHIR R4 Subscriptions Backport's websocket channel on /fhir/R4/ws (issue 12;
 * proto/fhir/FHIR_MAPPING.md §11). The upgrade needs no session: the client sends
 * "bind-with-token: <token>" with a token from ed-api's $get-ws-binding-token; the database
 * worker takes the token (once), loads the session it was made on and the subscriptions it
 * binds, each with the department's last seq and how many of its events that seq includes.
 * Each subscription then follows its department's ring like a board (a hub_sub of kind
 * SUB_FHIR, behind the same session gate, so a signed-out session gets 4401 and nothing after
 * it); an event that matches the topic and filter becomes an event-notification Bundle numbered
 * one more than the last, so a client that sees a number skip knows to call $events. Heartbeat
 * Bundles go out when a subscription has sent nothing for its heartbeatPeriod. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fhir.h"
#include "hub_client.h"
#include "hub_db.h"
#include "log.h"
#include "record.h"

#define FHIR_WS_PATH "/fhir/R4/ws"
#define BIND_PREFIX  "bind-with-token:"

bool hub_fhir_is_channel(struct lws *wsi, char *base, size_t size)
{
    char uri[64] = "", host[128] = "", proto[16] = "";

    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, FHIR_WS_PATH))
        return false;
    base[0] = '\0';
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) > 0) {
        for (const char *h = host; *h; h++)
            if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
                  (*h >= '0' && *h <= '9') || strchr(".-:[]", *h)))
                return true;
        if (lws_hdr_custom_copy(wsi, proto, sizeof proto, "x-forwarded-proto:", 18) <= 0 ||
            strcmp(proto, "https"))
            snprintf(proto, sizeof proto, "http");
        snprintf(base, size, "%s://%s/fhir/R4", proto, host);
    }
    return true;
}

static void now_text(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void queue_bundle(struct hub_client *c, struct hub_sub *s, const char *type,
                         const json_t *events)
{
    struct fhir_opts opts = {c->fhir_channel->base, NULL};
    char now[32];
    json_t *b;

    now_text(now, sizeof now);
    b = fhir_subscription_notification(s->fhir->row, type, s->fhir->count, events, now, &opts);
    if (!b || !hub_client_queue_json(c, b))
        hub_client_cut(c);
    s->fhir->beat = lws_now_usecs();
}

/* ---- bind-with-token ---- */

struct bind_job {
    struct hub_db_job base;
    unsigned long long client_id;
    char token[RECORD_WS_TOKEN_CHARS + 1];
    struct principal who;
    json_t *subs;
    struct ed_error err;
};

static void bind_run(PGconn *pg, struct hub_db_job *job)
{
    struct bind_job *j = (struct bind_job *)job;

    j->subs = record_fhir_ws_bind(pg, j->token, &j->who, &j->err);
}

static void bind_refused(struct hub_client *c, struct ed_error *err)
{
    hub_client_queue_json(c, fhir_operation_outcome(err));
}

static void bind_done(struct hub *hub, struct hub_db_job *job)
{
    struct bind_job *j = (struct bind_job *)job;
    struct hub_client *c = hub ? hub_client_find(hub, j->client_id) : NULL;
    json_t *row;
    size_t i;

    if (!c || c->session_ended) {
        json_decref(j->subs);
        free(j);
        return;
    }
    c->binding = false;
    if (!j->subs) {
        bind_refused(c, &j->err);
        free(j);
        return;
    }
    if (c->who && memcmp(c->who->token_hash, j->who.token_hash, 32)) {
        ed_error_set(&j->err, ED_ERR_FORBIDDEN, NULL, "a socket binds tokens of one session");
        bind_refused(c, &j->err);
    } else {
        if (!c->session)
            c->session = hub_session_take(&j->who);
        else
            memcpy(&c->session->who, &j->who, sizeof j->who); /* read again: the newest */
        c->who = c->session ? &c->session->who : NULL;
        if (!c->session) {
            hub_session_end(c);
            goto done;
        }
        json_array_foreach (j->subs, i, row) {
            long long id = json_integer_value(json_object_get(row, "id"));
            long long dept = json_integer_value(json_object_get(row, "department_id"));
            struct hub_department *d = hub_department_find(hub, dept);
            struct hub_sub *s = NULL;
            for (int k = 0; k < c->sub_slots; k++)
                if (c->subs[k].kind == SUB_FHIR && c->subs[k].fhir->id == id)
                    s = &c->subs[k]; /* bound again: numbering restarts from the record */
            if (!s)
                s = hub_client_free_slot(c);
            if (!s || !d) {
                ed_error_set(&j->err, !s ? ED_ERR_TOO_MANY_SUBSCRIPTIONS : ED_ERR_UNAVAILABLE, NULL,
                             !s ? "too many subscriptions on one socket" : "try again");
                bind_refused(c, &j->err);
                continue;
            }
            struct hub_fhir_sub *fs = s->fhir ? s->fhir : calloc(1, sizeof *fs);
            if (!fs) {
                log_error("out of memory for a FHIR subscription");
                abort();
            }
            json_decref(fs->row);
            memset(fs, 0, sizeof *fs);
            memset(s, 0, sizeof *s);
            s->kind = SUB_FHIR;
            s->topic_id = dept;
            s->dept = d;
            hub_members_changed(hub);
            s->fhir = fs;
            s->fhir->id = id;
            s->fhir->row = json_incref(row);
            s->fhir->count = json_integer_value(json_object_get(row, "count"));
            s->next_seq = json_integer_value(json_object_get(row, "at_seq")) + 1;
            queue_bundle(c, s, "handshake", NULL);
        }
    }
done:
    json_decref(j->subs);
    free(j);
    lws_callback_on_writable(c->wsi);
}

int hub_fhir_receive(struct hub *hub, struct hub_client *c, const char *in, size_t len)
{
    struct bind_job *j;
    const char *p;
    size_t n = sizeof BIND_PREFIX - 1;

    if (!lws_is_first_fragment(c->wsi) || !lws_is_final_fragment(c->wsi) || len > 512)
        return -1;
    if (len < n || strncmp(in, BIND_PREFIX, n) || c->binding) {
        struct ed_error err = {0};
        ed_error_set(&err, ED_ERR_INVALID_VALUE, NULL,
                     c->binding ? "a binding is under way" : "send bind-with-token: <token>");
        bind_refused(c, &err);
        return 0;
    }
    p = in + n;
    len -= n;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->client_id = c->id;
    if (len <= RECORD_WS_TOKEN_CHARS)
        memcpy(j->token, p, len);
    c->binding = true;
    hub_db_submit(hub->db, &j->base, bind_run, bind_done);
    return 0;
}

/* ---- events ---- */

bool hub_fhir_matches(const struct hub_sub *s, const struct hub_frame *f)
{
    json_t *ev = json_loadb((const char *)f->data + LWS_PRE, f->len, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "event"));
    const char *topic = json_string_value(json_object_get(s->fhir->row, "topic"));
    long long enc = json_integer_value(json_object_get(s->fhir->row, "encounter_id"));
    long long pat = json_integer_value(json_object_get(s->fhir->row, "patient_id"));
    bool ok = type && topic;

    if (ok && !strcmp(topic, "vital-signs"))
        ok = !strcmp(type, "vitals.recorded");
    else if (ok)
        ok = !strncmp(type, "encounter.", 10);
    if (ok && enc > 0)
        ok = f->encounter_id == enc;
    if (ok && pat > 0)
        ok = json_integer_value(json_object_get(
                 json_object_get(json_object_get(json_object_get(ev, "payload"), "encounter"),
                                 "patient"),
                 "id")) == pat;
    json_decref(ev);
    return ok;
}

int hub_fhir_write(struct hub_client *c, struct hub_sub *s, const struct hub_frame *f)
{
    json_t *ev = json_loadb((const char *)f->data + LWS_PRE, f->len, 0, NULL), *one, *events, *b;
    struct fhir_opts opts = {c->fhir_channel->base, NULL};
    char now[32], *text;
    unsigned char *buf;
    size_t len;
    int n;

    s->fhir->count++;
    one = fhir_subscription_event(
        s->fhir->row, s->fhir->count, json_string_value(json_object_get(ev, "at")),
        json_string_value(json_object_get(ev, "event")), json_object_get(ev, "payload"), &opts);
    events = json_pack("[o]", one);
    now_text(now, sizeof now);
    b = fhir_subscription_notification(s->fhir->row, "event-notification", s->fhir->count, events,
                                       now, &opts);
    json_decref(events);
    json_decref(ev);
    text = b ? json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(b);
    if (!text)
        return -1;
    len = strlen(text);
    buf = malloc(LWS_PRE + len);
    if (!buf) {
        free(text);
        return -1;
    }
    memcpy(buf + LWS_PRE, text, len);
    free(text);
    n = lws_write(c->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    free(buf);
    s->fhir->beat = lws_now_usecs();
    return n < 0 ? -1 : 1;
}

void hub_fhir_heartbeat(struct hub_client *c, lws_usec_t now)
{
    for (int i = 0; i < c->sub_slots; i++) {
        struct hub_sub *s = &c->subs[i];
        long long period;
        if (s->kind != SUB_FHIR)
            continue;
        period = json_integer_value(json_object_get(s->fhir->row, "heartbeat_period"));
        if (now - s->fhir->beat >= (lws_usec_t)period * LWS_US_PER_SEC - LWS_US_PER_SEC)
            queue_bundle(c, s, "heartbeat", NULL);
    }
}
