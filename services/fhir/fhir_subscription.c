/* SPDX-License-Identifier: MIT */
/* fhir_subscription.c: the R4 Subscriptions Backport (topic-based Subscription, websocket
 * channel; FHIR_MAPPING.md §11): the Subscription resource from the record's subscription row,
 * the parser of POST Subscription, and the notification Bundles (handshake, heartbeat,
 * event-notification, query-event) with their SubscriptionStatus (an R4 Parameters). Written
 * from the IG's text; pure like the rest of libedfhir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"
#include "fhir_internal.h"

#define BP_SD      "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
#define EXT_FILTER BP_SD "backport-filter-criteria"
#define EXT_PAYLD  BP_SD "backport-payload-content"
#define EXT_HEART  BP_SD "backport-heartbeat-period"
#define EXT_MAXCNT BP_SD "backport-max-count"
#define PROF_SUB   BP_SD "backport-subscription"
#define PROF_NOTE  BP_SD "backport-subscription-notification-r4"
#define PROF_STAT  BP_SD "backport-subscription-status-r4"

const char *fhir_topic_url(enum fhir_topic topic)
{
    return topic == FHIR_TOPIC_VITALS ? FHIR_TOPIC_VITALS_URL : FHIR_TOPIC_ENCOUNTER_URL;
}

static void set_ref_str(json_t *obj, const char *key, const char *type, long long id)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s/%lld", type, id);
    json_object_set_new(obj, key, json_string(buf));
}

static char *filter_text(const json_t *sub)
{
    char buf[96];
    long long enc = fx_id(sub, "encounter_id"), pat = fx_id(sub, "patient_id");
    bool vitals = !strcmp(fx_str(sub, "topic") ? fx_str(sub, "topic") : "", "vital-signs");

    if (enc > 0)
        snprintf(buf, sizeof buf,
                 vitals ? "Observation?encounter=Encounter/%lld" : "Encounter?_id=%lld", enc);
    else if (pat > 0)
        snprintf(buf, sizeof buf,
                 vitals ? "Observation?patient=Patient/%lld" : "Encounter?patient=Patient/%lld",
                 pat);
    else
        snprintf(buf, sizeof buf, "%s?location=Location/dept-%lld",
                 vitals ? "Observation" : "Encounter", fx_id(sub, "department_id"));
    return strdup(buf);
}

json_t *fhir_subscription(const json_t *sub, const struct fhir_opts *opts)
{
    long long id = fx_id(sub, "id");
    const char *topic = fx_str(sub, "topic"), *payload = fx_str(sub, "payload");
    const char *status = fx_str(sub, "status");
    char idbuf[24], *filter;
    json_t *r, *channel;
    (void)opts;

    if (id <= 0 || !topic || !payload)
        return NULL;
    filter = filter_text(sub);
    if (!filter)
        return NULL;
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    channel = json_pack("{s:s, s:s, s:{s:[{s:s, s:s}]}, s:[{s:s, s:i}]}", "type", "websocket",
                        "payload", "application/fhir+json", "_payload", "extension", "url",
                        EXT_PAYLD, "valueCode", payload, "extension", "url", EXT_HEART,
                        "valueUnsignedInt", (int)fx_id(sub, "heartbeat_period"));
    r = json_pack(
        "{s:s, s:s, s:{s:[s]}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}, s:o}", "resourceType",
        "Subscription", "id", idbuf, "meta", "profile", PROF_SUB, "status",
        status ? status : "active", "reason",
        !strcmp(topic, "vital-signs") ? "Vital signs recorded" : "Encounter changes", "criteria",
        fhir_topic_url(!strcmp(topic, "vital-signs") ? FHIR_TOPIC_VITALS : FHIR_TOPIC_ENCOUNTER),
        "_criteria", "extension", "url", EXT_FILTER, "valueString", filter, "channel", channel);
    free(filter);
    if (r && fx_str(sub, "end"))
        json_object_set_new(r, "end", json_string(fx_str(sub, "end")));
    return r;
}

/* ---- POST Subscription ---- */

static bool refuse(struct ed_error *err, enum ed_code code, const char *field, const char *why)
{
    return ed_error_set(err, code, field, "%s", why);
}

/* "Location/dept-3" -> 3 with "Location/dept-" as prefix; 0 when it does not match. */
static long long ref_id(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end;
    long long v;

    if (strncmp(s, prefix, n) || !s[n] || s[n] < '0' || s[n] > '9')
        return 0;
    v = strtoll(s + n, &end, 10);
    return *end || v <= 0 ? 0 : v;
}

/* One filter "Type?name=value" (or just "name=value"): what it names goes into out. */
static bool parse_filter(const char *text, enum fhir_topic topic, struct fhir_subscription_in *out,
                         struct ed_error *err)
{
    const char *q = strchr(text, '?');
    const char *want = topic == FHIR_TOPIC_VITALS ? "Observation" : "Encounter";
    const char *p = q ? q + 1 : text;
    const char *field = "Subscription.criteria.extension[0].valueString";

    if (q && ((size_t)(q - text) != strlen(want) || strncmp(text, want, strlen(want))))
        return refuse(err, ED_ERR_INVALID_VALUE, field,
                      "the filter's resource type is not the topic's");
    if (!strncmp(p, "location=", 9)) {
        out->department_id = ref_id(p + 9, "Location/dept-");
        if (!out->department_id)
            out->department_id = ref_id(p + 9, "dept-");
    } else if (!strncmp(p, "encounter=", 10) && topic == FHIR_TOPIC_VITALS) {
        out->encounter_id = ref_id(p + 10, "Encounter/");
    } else if (!strncmp(p, "_id=", 4) && topic == FHIR_TOPIC_ENCOUNTER) {
        out->encounter_id = ref_id(p + 4, "");
    } else if (!strncmp(p, "patient=", 8) || !strncmp(p, "subject=", 8)) {
        out->patient_id = ref_id(p + 8, "Patient/");
    } else {
        return refuse(err, ED_ERR_INVALID_VALUE, field,
                      "the filter must be location=Location/dept-<id>, encounter (or _id), or "
                      "patient");
    }
    if (!out->department_id && !out->encounter_id && !out->patient_id)
        return refuse(err, ED_ERR_INVALID_VALUE, field, "the filter names no resource");
    return true;
}

bool fhir_subscription_from_resource(const json_t *res, struct fhir_subscription_in *out,
                                     struct ed_error *err)
{
    const char *rt = fx_str(res, "resourceType"), *crit = fx_str(res, "criteria");
    const char *status = fx_str(res, "status");
    const json_t *channel = json_object_get(res, "channel"), *ext, *e;
    const char *ctype, *filter = NULL;
    size_t i;

    memset(out, 0, sizeof *out);
    out->payload = "id-only";
    out->heartbeat_period = 60;
    if (!rt || strcmp(rt, "Subscription"))
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription", "the body is not a Subscription");
    if (status && strcmp(status, "requested"))
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.status",
                      "a new Subscription is requested");
    if (!crit)
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.criteria", "the topic is missing");
    if (!strcmp(crit, FHIR_TOPIC_ENCOUNTER_URL))
        out->topic = FHIR_TOPIC_ENCOUNTER;
    else if (!strcmp(crit, FHIR_TOPIC_VITALS_URL))
        out->topic = FHIR_TOPIC_VITALS;
    else
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.criteria",
                      "unknown topic (the CapabilityStatement lists the topics)");
    ext = json_object_get(json_object_get(res, "_criteria"), "extension");
    json_array_foreach (ext, i, e)
        if (fx_str(e, "url") && !strcmp(fx_str(e, "url"), EXT_FILTER)) {
            if (filter)
                return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.criteria.extension",
                              "one filter per Subscription");
            filter = fx_str(e, "valueString");
            if (!filter)
                return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.criteria.extension",
                              "a filter is a valueString");
        }
    if (!filter)
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.criteria.extension",
                      "a filter is required: a department (location), an encounter or a patient");
    if (!parse_filter(filter, out->topic, out, err))
        return false;
    if (!json_is_object(channel))
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.channel", "the channel is missing");
    ctype = fx_str(channel, "type");
    if (!ctype || strcmp(ctype, "websocket"))
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.channel.type",
                      "edlive serves the websocket channel");
    if (fx_str(channel, "payload") && strcmp(fx_str(channel, "payload"), "application/fhir+json") &&
        strcmp(fx_str(channel, "payload"), "application/json"))
        return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.channel.payload",
                      "the payload is application/fhir+json");
    json_array_foreach (json_object_get(json_object_get(channel, "_payload"), "extension"), i, e)
        if (fx_str(e, "url") && !strcmp(fx_str(e, "url"), EXT_PAYLD)) {
            const char *v = fx_str(e, "valueCode");
            if (!v || (strcmp(v, "id-only") && strcmp(v, "full-resource") && strcmp(v, "empty")))
                return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.channel.payload.extension",
                              "payload content is empty, id-only or full-resource");
            out->payload = !strcmp(v, "full-resource") ? "full-resource"
                           : !strcmp(v, "empty")       ? "empty"
                                                       : "id-only";
        }
    json_array_foreach (json_object_get(channel, "extension"), i, e)
        if (fx_str(e, "url") && !strcmp(fx_str(e, "url"), EXT_HEART)) {
            json_t *v = json_object_get(e, "valueUnsignedInt");
            if (!json_is_integer(v) || json_integer_value(v) < 10 || json_integer_value(v) > 3600)
                return refuse(err, ED_ERR_INVALID_VALUE, "Subscription.channel.extension",
                              "heartbeatPeriod is 10 to 3600 seconds");
            out->heartbeat_period = (int)json_integer_value(v);
        }
    return true;
}

/* ---- notifications ---- */

static json_t *param_str(const char *name, const char *type, const char *value)
{
    char key[32];
    snprintf(key, sizeof key, "value%s", type);
    return json_pack("{s:s, s:s}", "name", name, key, value);
}

json_t *fhir_subscription_notification(const json_t *sub, const char *type,
                                       long long events_since_start, const json_t *events,
                                       const char *timestamp, const struct fhir_opts *opts)
{
    char ref[300], num[24], url[64];
    const char *base = opts && opts->base_url ? opts->base_url : "";
    long long id = fx_id(sub, "id");
    const char *topic = fx_str(sub, "topic"), *payload = fx_str(sub, "payload");
    json_t *params, *status, *bundle, *entries, *ev;
    size_t i;

    if (id <= 0 || !topic || !payload)
        return NULL;
    snprintf(ref, sizeof ref, "%s%sSubscription/%lld", base, base[0] ? "/" : "", id);
    snprintf(num, sizeof num, "%lld", events_since_start);
    params = json_array();
    json_array_append_new(params, json_pack("{s:s, s:{s:s}}", "name", "subscription",
                                            "valueReference", "reference", ref));
    json_array_append_new(
        params, param_str("topic", "Canonical",
                          fhir_topic_url(!strcmp(topic, "vital-signs") ? FHIR_TOPIC_VITALS
                                                                       : FHIR_TOPIC_ENCOUNTER)));
    json_array_append_new(
        params,
        param_str("status", "Code", fx_str(sub, "status") ? fx_str(sub, "status") : "active"));
    json_array_append_new(params, param_str("type", "Code", type));
    json_array_append_new(params, param_str("events-since-subscription-start", "String", num));
    entries = json_array();
    json_array_foreach (events, i, ev) {
        json_t *part = json_array(), *focus = json_object_get(ev, "focus"), *f;
        size_t j;
        char n[24];
        snprintf(n, sizeof n, "%lld", fx_id(ev, "number"));
        json_array_append_new(part, param_str("event-number", "String", n));
        if (fx_str(ev, "at"))
            json_array_append_new(part, param_str("timestamp", "Instant", fx_str(ev, "at")));
        if (strcmp(payload, "empty"))
            json_array_foreach (focus, j, f)
                json_array_append_new(part,
                                      json_pack("{s:s, s:{s:s}}", "name", "focus", "valueReference",
                                                "reference", fx_str(f, "reference")));
        json_array_append_new(params,
                              json_pack("{s:s, s:o}", "name", "notification-event", "part", part));
        if (!strcmp(payload, "full-resource"))
            json_array_foreach (json_object_get(ev, "resources"), j, f) {
                char full[300], rel[96];
                snprintf(rel, sizeof rel, "%s/%s", fx_str(f, "resourceType"), fx_str(f, "id"));
                snprintf(full, sizeof full, "%s%s%s", base, base[0] ? "/" : "", rel);
                json_array_append_new(entries,
                                      json_pack("{s:s, s:O, s:{s:s, s:s}, s:{s:s}}", "fullUrl",
                                                full, "resource", f, "request", "method", "PUT",
                                                "url", rel, "response", "status", "200"));
            }
    }
    status = json_pack("{s:s, s:{s:[s]}, s:o}", "resourceType", "Parameters", "meta", "profile",
                       PROF_STAT, "parameter", params);
    snprintf(url, sizeof url, "Subscription/%lld/$status", id);
    {
        char full[320];
        snprintf(full, sizeof full, "%s/$status", ref);
        json_array_insert_new(entries, 0,
                              json_pack("{s:s, s:o, s:{s:s, s:s}, s:{s:s}}", "fullUrl", full,
                                        "resource", status, "request", "method", "GET", "url", url,
                                        "response", "status", "200"));
    }
    bundle = json_pack("{s:s, s:{s:[s]}, s:s, s:o}", "resourceType", "Bundle", "meta", "profile",
                       PROF_NOTE, "type", "history", "entry", entries);
    if (bundle && timestamp)
        json_object_set_new(bundle, "timestamp", json_string(timestamp));
    return bundle;
}

json_t *fhir_subscription_event(const json_t *sub, long long number, const char *at,
                                const char *type, const json_t *payload,
                                const struct fhir_opts *opts)
{
    const char *topic = fx_str(sub, "topic");
    bool vitals = topic && !strcmp(topic, "vital-signs");
    const json_t *row = json_object_get(payload, "encounter");
    json_t *ev, *focus = json_array(), *resources = json_array(), *r;
    size_t i;
    (void)type;

    if (vitals) {
        const json_t *v = json_object_get(payload, "vitals");
        json_t *obs =
            fhir_observations_from_vitals(v, fx_id(json_object_get(row, "patient"), "id"), opts);
        json_array_foreach (obs, i, r) {
            char b[96];
            snprintf(b, sizeof b, "Observation/%s", fx_str(r, "id"));
            json_array_append_new(focus, json_pack("{s:s}", "reference", b));
            json_array_append(resources, r);
        }
        json_decref(obs);
    } else {
        json_t *ref = json_object();
        set_ref_str(ref, "reference", "Encounter", fx_id(row, "encounter_id"));
        json_array_append_new(focus, ref);
        r = fhir_encounter(row, NULL, opts);
        if (r)
            json_array_append_new(resources, r);
    }
    ev = json_pack("{s:I, s:o, s:o}", "number", (json_int_t)number, "focus", focus, "resources",
                   resources);
    if (ev && at)
        json_object_set_new(ev, "at", json_string(at));
    return ev;
}
