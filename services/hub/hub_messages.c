/* SPDX-License-Identifier: MIT */
/* hub_messages.c: what a client sends: subscribe, unsubscribe, ping (proto/ws/client.*.json).
 * Each message is gathered from its fragments (up to HUB_MAX_MESSAGE), schema-checked and
 * answered; a subscribe is handed to the database worker (hub_subscribe.c) and answered when
 * its read comes back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_client.h"
#include "log.h"

/* An id or seq from a schema-checked message: JSON Schema lets 3.0 stand for 3. */
static long long int_of(const json_t *msg, const char *key)
{
    const json_t *v = json_object_get(msg, key);

    return json_is_number(v) ? (long long)llround(json_number_value(v)) : 0;
}

static struct hub_sub *find_sub(struct hub_client *c, enum sub_kind kind, long long id)
{
    for (int i = 0; i < c->sub_slots; i++)
        if (c->subs[i].kind == kind && c->subs[i].topic_id == id)
            return &c->subs[i];
    return kind == SUB_NONE ? hub_client_free_slot(c) : NULL;
}

/* The topic a subscribe or unsubscribe names; false (err) when its id is missing. */
static bool topic_of(const json_t *msg, enum sub_kind *kind, long long *id, struct ed_error *err)
{
    bool board = !strcmp(json_string_value(json_object_get(msg, "topic")), "board");
    const char *id_field = board ? "department_id" : "encounter_id";

    *kind = board ? SUB_BOARD : SUB_CHART;
    if (!json_object_get(msg, id_field))
        return ed_error_set(err, ED_ERR_MISSING_FIELD, id_field, "is required for topic %s",
                            board ? "board" : "chart");
    *id = int_of(msg, id_field);
    return true;
}

static bool subscribe(struct hub *hub, struct hub_client *c, const json_t *msg,
                      struct ed_error *err)
{
    enum sub_kind kind;
    long long id;
    struct hub_sub *s;

    if (!topic_of(msg, &kind, &id, err))
        return false;
    s = find_sub(c, kind, id);
    if (!s)
        s = find_sub(c, SUB_NONE, 0);
    if (!s) {
        ed_error_set(err, ED_ERR_TOO_MANY_SUBSCRIPTIONS, "topic",
                     "at most %d topics per connection", HUB_MAX_SUBS);
        /* Named like the subscribe it answers. */
        if (!hub_client_queue_topic_error(c, kind, id, err))
            hub_client_cut(c);
        return true;
    }
    s->kind = kind;
    s->topic_id = id;
    s->gen++; /* a read still under way for this slot is for an older subscribe */
    s->dept = kind == SUB_BOARD ? hub_department_find(hub, id) : NULL;
    hub_members_changed(hub);
    hub_sub_start(hub, c, s, int_of(msg, "since"), false);
    return true;
}

static bool unsubscribe(struct hub_client *c, const json_t *msg, struct ed_error *err)
{
    enum sub_kind kind;
    long long id;
    struct hub_sub *s;

    if (!topic_of(msg, &kind, &id, err))
        return false;
    s = find_sub(c, kind, id);
    if (s) {
        s->kind = SUB_NONE;
        s->gen++;
        s->pending = s->retry = false;
    }
    return true;
}

static bool handle_message(struct hub *hub, struct hub_client *c, const char *text, size_t len,
                           struct ed_error *err)
{
    static const char types[] = "must be one of: subscribe, unsubscribe, ping";
    json_t *msg = schema_parse_body(text, len, 4, err);
    const char *type;
    char schema_name[64];
    const json_t *schema;
    bool ok;

    if (!msg)
        return false;
    type = json_string_value(json_object_get(msg, "type"));
    if (!json_is_object(msg))
        ok = ed_error_set(err, ED_ERR_WRONG_TYPE, NULL, "a message must be a JSON object");
    else if (!type)
        ok = ed_error_set(err,
                          json_object_get(msg, "type") ? ED_ERR_WRONG_TYPE : ED_ERR_MISSING_FIELD,
                          "type", types);
    else {
        snprintf(schema_name, sizeof schema_name, "ws/client.%s", type);
        schema = strchr(type, '/') ? NULL : schema_set_find(hub->schemas, schema_name);
        ok = schema ? schema_validate(schema, msg, err)
                    : ed_error_set(err, ED_ERR_INVALID_VALUE, "type", types);
    }
    if (ok && !strcmp(type, "subscribe"))
        ok = subscribe(hub, c, msg, err);
    else if (ok && !strcmp(type, "unsubscribe"))
        ok = unsubscribe(c, msg, err);
    else if (ok && !strcmp(type, "ping"))
        ok = hub_client_queue_text(c, "{\"type\":\"pong\"}", 15) ||
             ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "too many replies queued");
    json_decref(msg);
    return ok;
}

static int too_large(struct hub_client *c)
{
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    hub_client_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
    return 0;
}

int hub_messages_receive(struct hub *hub, struct hub_client *c, const char *in, size_t len)
{
    struct ed_error err = {0};
    struct lws *wsi = c->wsi;

    if (c->close_code) /* a close is under way (hub_client_close): the rest is not read */
        return 0;
    if (!lws_is_first_fragment(wsi) || !lws_is_final_fragment(wsi)) {
        /* Gather fragments, up to HUB_MAX_MESSAGE. */
        char *grown;
        if (c->rx_len + len > HUB_MAX_MESSAGE)
            return too_large(c);
        grown = realloc(c->rx, c->rx_len + len);
        if (!grown)
            return -1;
        c->rx = grown;
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (!lws_is_final_fragment(wsi))
            return 0;
        in = c->rx;
        len = c->rx_len;
    }
    if (len > HUB_MAX_MESSAGE)
        return too_large(c);
    if (!handle_message(hub, c, in, len, &err)) {
        if (err.status >= 500)
            log_warn("client message refused: %d %s", err.status, err.code);
        if (!hub_client_queue_error(c, &err))
            return -1; /* a client that ignores its replies is cut */
    }
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    return 0;
}
