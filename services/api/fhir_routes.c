/* SPDX-License-Identifier: MIT */
/* fhir_routes.c: FHIR R4 under /fhir/R4, a module of ed-api (issue 12; the contract is
 * proto/fhir/FHIR_MAPPING.md). The same steps as routes.c, in the same order: path (404/405)
 * -> session (401) -> the permission matrix (403, audited) -> query parameters (400) -> the
 * record's scoped, audited read (404 outside the scope, exactly as an unknown id) -> libedfhir
 * builds the resource. http.c answers application/fhir+json and turns every refusal into an
 * OperationOutcome (fhir_operation_outcome). Reads reuse the REST reads (record_chart, the
 * chart of an encounter) where they fit; the rest are record_fhir_* (services/record). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "fhir.h"
#include "fhir_routes_internal.h"
#include "log.h"
#include "schema.h"
#include "timefmt.h"

#define FHIR_COUNT_DEFAULT 20
#define FHIR_COUNT_MAX     100

static const char *const type_names[] = {[T_NONE] = "",
                                         [T_ENCOUNTER] = "Encounter",
                                         [T_PATIENT] = "Patient",
                                         [T_OBSERVATION] = "Observation",
                                         [T_LOCATION] = "Location",
                                         [T_PRACTITIONER] = "Practitioner",
                                         [T_SUBSCRIPTION] = "Subscription"};

bool fhir_routes_is_fhir(const char *path)
{
    return !strncmp(path, "/fhir/", 6) || !strcmp(path, "/fhir");
}

static bool parse_path(const char *path, struct fhir_path *out)
{
    const char *p, *slash;
    size_t len;

    memset(out, 0, sizeof *out);
    if (!strcmp(path, FHIR_PREFIX) || !strcmp(path, FHIR_PREFIX "/")) {
        out->base = true;
        return true;
    }
    if (strncmp(path, FHIR_PREFIX "/", sizeof FHIR_PREFIX))
        return false;
    p = path + sizeof FHIR_PREFIX;
    if (!strcmp(p, "metadata")) {
        out->metadata = true;
        return true;
    }
    slash = strchr(p, '/');
    len = slash ? (size_t)(slash - p) : strlen(p);
    for (int t = T_ENCOUNTER; t <= T_SUBSCRIPTION; t++)
        if (strlen(type_names[t]) == len && !strncmp(p, type_names[t], len))
            out->type = (enum fhir_type)t;
    if (out->type == T_NONE)
        return false;
    if (!slash)
        return true;
    /* An id: [A-Za-z0-9-.]{1,64} (R4 id); anything else names no resource. */
    slash++;
    len = strlen(slash);
    /* Subscription/{id}/$events and Subscription/{id}/$get-ws-binding-token */
    if (out->type == T_SUBSCRIPTION && strchr(slash, '/')) {
        const char *op = strchr(slash, '/') + 1;
        if (strcmp(op, "$events") && strcmp(op, "$get-ws-binding-token"))
            return false;
        snprintf(out->op, sizeof out->op, "%s", op);
        len = (size_t)(op - 1 - slash);
    }
    if (len == 0 || len >= sizeof out->id)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)slash[i]) && slash[i] != '-' && slash[i] != '.')
            return false;
    memcpy(out->id, slash, len);
    out->id[len] = '\0';
    return true;
}

/* The creates: POST <base>/Observation (one, or a Bundle of one vitals set), and POST <base>
 * with a batch or transaction Bundle of Observations. */
static bool is_create(const struct fhir_path *fp)
{
    return fp->base || (!fp->id[0] && (fp->type == T_OBSERVATION || fp->type == T_ENCOUNTER ||
                                       fp->type == T_SUBSCRIPTION));
}

bool fhir_routes_takes_body(enum route_method method, const char *path)
{
    struct fhir_path fp;

    return method == ROUTE_POST && parse_path(path, &fp) && is_create(&fp);
}

bool fhir_routes_takes_bundle(enum route_method method, const char *path)
{
    struct fhir_path fp;

    return method == ROUTE_POST && parse_path(path, &fp) && fp.base;
}

const char *fhir_routes_allowed_methods(const char *path)
{
    struct fhir_path fp;

    if (!parse_path(path, &fp))
        return NULL;
    if (fp.base)
        return "POST";
    if (fp.type == T_SUBSCRIPTION)
        return !fp.id[0]                                 ? "POST"
               : !strcmp(fp.op, "$get-ws-binding-token") ? "GET, POST"
               : fp.op[0]                                ? "GET"
                                                         : "GET, DELETE";
    return is_create(&fp) ? "GET, POST" : "GET";
}

/* A positive record id from a FHIR id or reference ("12", "Encounter/12"); 0 when it is not one. */
static long long record_id(const char *s, const char *type)
{
    size_t tl = type ? strlen(type) : 0;
    long long v = 0;
    int digits = 0;

    if (type && !strncmp(s, type, tl) && s[tl] == '/')
        s += tl + 1;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (digits == 15)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return *s || digits == 0 ? 0 : v;
}

/* A string member, or "". */
static const char *str_of(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

/* ---- the request: base URL, query parameters ---- */

/* The base of fullUrl and links: the scheme the proxy saw (X-Forwarded-Proto from our own
 * nginx) and the Host, when it is a plain host[:port]; otherwise relative links. */
static void find_base(struct fhir_call *c)
{
    const char *host = c->req->host ? c->req->host : "";
    const char *proto =
        c->req->forwarded_proto && !strcmp(c->req->forwarded_proto, "https") ? "https" : "http";

    c->base[0] = '\0';
    if (!host[0] || strlen(host) >= 128)
        return;
    for (const char *h = host; *h; h++)
        if (!isalnum((unsigned char)*h) && !strchr(".-:[]", *h))
            return;
    snprintf(c->base, sizeof c->base, "%s://%s" FHIR_PREFIX, proto, host);
}

static bool read_params(struct fhir_call *c, struct ed_error *err)
{
    char frag[sizeof c->params[0].name + FHIR_PARAM_CHARS + 2];

    c->n_params = 0;
    for (int i = 0;; i++) {
        const char *given = request_query_fragment(c->req, i);
        char *eq;
        struct fhir_param *p;

        if (!given)
            break;
        if (strlen(given) >= sizeof frag)
            return ed_error_set(err, ED_ERR_INVALID_PARAMETER, NULL,
                                "a search parameter is longer than %d characters",
                                FHIR_PARAM_CHARS - 1);
        if (!given[0])
            continue;
        memcpy(frag, given, strlen(given) + 1);
        eq = strchr(frag, '=');
        if (!eq || eq == frag || (size_t)(eq - frag) >= sizeof p->name)
            return ed_error_set(err, ED_ERR_INVALID_PARAMETER, NULL,
                                "search parameters are name=value");
        if (c->n_params == FHIR_MAX_PARAMS)
            return ed_error_set(err, ED_ERR_INVALID_PARAMETER, NULL, "at most %d search parameters",
                                FHIR_MAX_PARAMS);
        p = &c->params[c->n_params++];
        memcpy(p->name, frag, (size_t)(eq - frag));
        p->name[eq - frag] = '\0';
        snprintf(p->value, sizeof p->value, "%s", eq + 1);
    }
    return true;
}

/* Percent-encodes s into out (RFC 3986 unreserved kept). */
static void url_encode(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s && n + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || strchr("-._~", ch)) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    out[n] = '\0';
}

/* <base>/<Type>?<the parameters but _cursor>[&_cursor=<cursor>] */
static char *search_url(const struct fhir_call *c, enum fhir_type type, const char *cursor)
{
    size_t size = sizeof c->base + 64 + FHIR_MAX_PARAMS * (32 + 3 * FHIR_PARAM_CHARS + 2);
    char *url = malloc(size), enc[3 * FHIR_PARAM_CHARS + 1];
    size_t len;
    char sep = '?';

    if (!url)
        return NULL;
    len = (size_t)snprintf(url, size, "%s/%s", c->base, type_names[type]);
    for (int i = 0; i < c->n_params && len < size; i++) {
        if (!strcmp(c->params[i].name, "_cursor"))
            continue;
        url_encode(c->params[i].value, enc, sizeof enc);
        len += (size_t)snprintf(url + len, size - len, "%c%s=%s", sep, c->params[i].name, enc);
        sep = '&';
    }
    if (cursor && len < size) {
        url_encode(cursor, enc, sizeof enc);
        snprintf(url + len, size - len, "%c_cursor=%s", sep, enc);
    }
    return url;
}

/* ---- results ---- */

/* A resource as the reply, with its ETag when it carries meta.versionId. */
static bool reply_resource(struct route_result *out, json_t *resource, struct ed_error *err)
{
    const char *version =
        json_string_value(json_object_get(json_object_get(resource, "meta"), "versionId"));

    if (!resource)
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the resource could not be built");
    if (version)
        snprintf(out->etag, sizeof out->etag, "W/\"%s\"", version);
    out->reply = resource;
    out->status = 200;
    return true;
}

/* Appends resources a search includes (_include) to its Bundle, search.mode include. */
static void add_includes(json_t *bundle, json_t *includes, const struct fhir_opts *opts)
{
    json_t *found = fhir_bundle_searchset(includes, -1, NULL, NULL, opts), *e;
    size_t i;

    json_array_foreach (json_object_get(found, "entry"), i, e) {
        json_object_set_new(json_object_get(e, "search"), "mode", json_string("include"));
        json_array_append(json_object_get(bundle, "entry"), e);
    }
    json_decref(found);
}

static bool reply_bundle(struct fhir_call *c, enum fhir_type type, json_t *entries, long long total,
                         const char *next_cursor, struct route_result *out, struct ed_error *err)
{
    char *self = search_url(c, type, NULL);
    char *next = next_cursor ? search_url(c, type, next_cursor) : NULL;
    json_t *bundle = NULL;

    if (self && (next || !next_cursor))
        bundle = fhir_bundle_searchset(entries, total, self, next, &c->opts);
    free(self);
    free(next);
    json_decref(entries);
    if (!bundle)
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    out->reply = bundle;
    out->status = 200;
    return true;
}

/* ---- reads ---- */

static bool read_encounter(struct fhir_call *c, long long id, struct route_result *out,
                           struct ed_error *err)
{
    json_t *chart = id ? record_chart(c->app->pg, &c->who, id, err) : NULL;
    json_t *enc;

    if (!id)
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such encounter");
    if (!chart)
        return false;
    enc = fhir_encounter(json_object_get(chart, "encounter"), chart, &c->opts);
    json_decref(chart);
    return reply_resource(out, enc, err);
}

/* Every Observation of an encounter's chart: each vitals set's, and the current NEWS2. */
static json_t *chart_observations(const json_t *chart, const struct fhir_opts *opts)
{
    const json_t *row = json_object_get(chart, "encounter"), *vitals;
    long long patient = json_integer_value(json_object_get(json_object_get(row, "patient"), "id"));
    json_t *all = json_array(), *news2;
    size_t i;

    json_array_foreach (json_object_get(chart, "vitals"), i, vitals) {
        json_t *set = fhir_observations_from_vitals(vitals, patient, opts);
        if (set)
            json_array_extend(all, set);
        json_decref(set);
    }
    news2 = fhir_observation_news2_current(chart, opts);
    if (news2)
        json_array_append_new(all, news2);
    return all;
}

static bool read_observation(struct fhir_call *c, const char *id, struct route_result *out,
                             struct ed_error *err)
{
    long long encounter = 0;
    json_t *chart, *all, *obs;
    size_t i;

    if (!strncmp(id, "news2-", 6)) {
        encounter = record_id(id + 6, NULL);
    } else {
        const char *dash = strchr(id, '-');
        char vid[24];
        if (dash && (size_t)(dash - id) < sizeof vid) {
            memcpy(vid, id, (size_t)(dash - id));
            vid[dash - id] = '\0';
            if (record_id(vid, NULL))
                encounter = record_fhir_vitals_encounter(c->app->pg, &c->who, record_id(vid, NULL));
        }
        if (encounter < 0)
            return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    }
    if (encounter <= 0)
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such observation");
    chart = record_chart(c->app->pg, &c->who, encounter, err);
    if (!chart)
        return false;
    all = chart_observations(chart, &c->opts);
    json_decref(chart);
    json_array_foreach (all, i, obs) {
        if (!strcmp(str_of(obs, "id"), id)) {
            json_incref(obs);
            json_decref(all);
            return reply_resource(out, obs, err);
        }
    }
    json_decref(all);
    return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such observation");
}

static bool read_patient(struct fhir_call *c, long long id, struct route_result *out,
                         struct ed_error *err)
{
    json_t *p = id ? record_fhir_patient(c->app->pg, &c->who, id, err) : NULL;
    json_t *res;

    if (!id)
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such patient");
    if (!p)
        return false;
    res = fhir_patient(p, &c->opts);
    json_decref(p);
    return reply_resource(out, res, err);
}

static bool read_location(struct fhir_call *c, const char *id, struct route_result *out,
                          struct ed_error *err)
{
    json_t *doc, *res;

    if (!strncmp(id, "dept-", 5)) {
        long long dept = record_id(id + 5, NULL);
        doc = dept ? record_fhir_department(c->app->pg, &c->who, dept, err) : NULL;
        if (!dept)
            return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such location");
        if (!doc)
            return false;
        res = fhir_location_department(doc, &c->opts);
    } else {
        long long bed = record_id(id, NULL);
        doc = bed ? record_fhir_bed(c->app->pg, &c->who, bed, err) : NULL;
        if (!bed)
            return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such location");
        if (!doc)
            return false;
        res = fhir_location(json_object_get(doc, "bed"), json_object_get(doc, "department"),
                            &c->opts);
    }
    json_decref(doc);
    return reply_resource(out, res, err);
}

static bool read_practitioner(struct fhir_call *c, long long id, struct route_result *out,
                              struct ed_error *err)
{
    json_t *s = id ? record_fhir_staff(c->app->pg, &c->who, id, err) : NULL;
    json_t *res;

    if (!id)
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such practitioner");
    if (!s)
        return false;
    res = fhir_practitioner(s, &c->opts);
    json_decref(s);
    return reply_resource(out, res, err);
}

/* ---- searches ---- */

static bool bad_param(struct ed_error *err, const char *name, const char *why)
{
    return ed_error_set(err, ED_ERR_INVALID_PARAMETER, name, "search parameter %s: %s", name, why);
}

/* _count: 1..FHIR_COUNT_MAX. */
static bool param_count(const char *v, int *count, struct ed_error *err)
{
    long long n = record_id(v, NULL);

    if (n < 1 || n > FHIR_COUNT_MAX)
        return ed_error_set(err, ED_ERR_INVALID_PARAMETER, "_count", "_count must be 1-%d",
                            FHIR_COUNT_MAX);
    *count = (int)n;
    return true;
}

/* A date search value: [ge|gt|le|lt|eq]<YYYY-MM-DD or RFC 3339>; a date alone covers its UTC
 * day. Fills the lower and/or upper bound as RFC 3339 UTC text. */
static bool param_date(const char *v, char *ge, char *le, size_t size, struct ed_error *err)
{
    char prefix[3] = "eq";
    bool is_date;

    if (strlen(v) > 2 && isalpha((unsigned char)v[0]) && isalpha((unsigned char)v[1])) {
        memcpy(prefix, v, 2);
        v += 2;
    }
    is_date = timefmt_is_date(v);
    if (!is_date && !timefmt_is_datetime(v))
        return bad_param(err, "date",
                         "must be a date (YYYY-MM-DD) or a date-time with a zone, "
                         "after an optional ge, gt, le, lt or eq");
    if (strcmp(prefix, "eq") && strcmp(prefix, "ge") && strcmp(prefix, "gt") &&
        strcmp(prefix, "le") && strcmp(prefix, "lt"))
        return bad_param(err, "date", "the prefix must be ge, gt, le, lt or eq");
    if (prefix[0] == 'g' || prefix[0] == 'e')
        snprintf(ge, size, is_date ? "%sT00:00:00Z" : "%s", v);
    if (prefix[0] == 'l' || prefix[0] == 'e')
        snprintf(le, size, is_date ? "%sT23:59:59.999Z" : "%s", v);
    return true;
}

/* status: a comma-separated list of R4 Encounter statuses, as a text[] literal. */
static bool param_statuses(const char *v, char *out, size_t size, struct ed_error *err)
{
    static const char *const codes[] = {"planned", "arrived",  "triaged",   "in-progress",
                                        "onleave", "finished", "cancelled", "entered-in-error",
                                        "unknown", NULL};
    char copy[FHIR_PARAM_CHARS], *save = NULL;
    size_t len = 1;

    snprintf(copy, sizeof copy, "%s", v);
    out[0] = '{';
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool known = false;
        for (int i = 0; codes[i]; i++)
            known |= !strcmp(tok, codes[i]);
        if (!known)
            return bad_param(err, "status", "not an R4 Encounter status");
        len += (size_t)snprintf(out + len, size - len, "%s%s", len > 1 ? "," : "", tok);
    }
    if (len == 1 || len + 2 > size)
        return bad_param(err, "status", "give one or more statuses");
    snprintf(out + len, size - len, "}");
    return true;
}

static bool search_encounters(struct fhir_call *c, struct route_result *out, struct ed_error *err)
{
    struct record_fhir_search q = {.count = FHIR_COUNT_DEFAULT};
    char statuses[FHIR_PARAM_CHARS + 2], ge[64] = "", le[64] = "";
    bool none = false, include_patient = false;
    json_t *found, *entries, *row, *includes = NULL, *seen = NULL;
    long long total, last = 0;
    size_t i;

    for (int i2 = 0; i2 < c->n_params; i2++) {
        const char *n = c->params[i2].name, *v = c->params[i2].value;
        if (!strcmp(n, "_id")) {
            if (!(q.id = record_id(v, NULL)))
                none = true;
        } else if (!strcmp(n, "status")) {
            if (!param_statuses(v, statuses, sizeof statuses, err))
                return false;
            q.statuses = statuses;
        } else if (!strcmp(n, "location")) {
            if (!(q.bed_id = record_id(v, "Location")))
                none = true; /* a department or an unknown id: no bed to match */
        } else if (!strcmp(n, "date")) {
            if (!param_date(v, ge, le, sizeof ge, err))
                return false;
        } else if (!strcmp(n, "patient") || !strcmp(n, "subject")) {
            if (!(q.patient_id = record_id(v, "Patient")))
                return bad_param(err, n, "must be Patient/<id>");
        } else if (!strcmp(n, "class")) {
            const char *bar = strchr(v, '|');
            none |= strcmp(bar ? bar + 1 : v, "EMER") != 0;
        } else if (!strcmp(n, "_count")) {
            if (!param_count(v, &q.count, err))
                return false;
        } else if (!strcmp(n, "_cursor")) {
            if (!(q.after = record_id(v, NULL)))
                return bad_param(err, "_cursor", "use the next link as given");
        } else if (!strcmp(n, "_include")) {
            if (strcmp(v, "Encounter:patient") && strcmp(v, "Encounter:subject"))
                return bad_param(err, "_include", "Encounter:patient is the one served");
            include_patient = true;
        } else if (strcmp(n, "_format") && strcmp(n, "_total")) {
            return bad_param(err, n, "not supported on Encounter (see /fhir/R4/metadata)");
        }
    }
    q.date_ge = ge[0] ? ge : NULL;
    q.date_le = le[0] ? le : NULL;
    if (none)
        return reply_bundle(c, T_ENCOUNTER, json_array(), 0, NULL, out, err);
    q.count++; /* one more: is there a next page? */
    found = record_fhir_encounters(c->app->pg, &c->who, &q, err);
    if (!found)
        return false;
    if (include_patient) {
        includes = json_array();
        seen = json_object();
    }
    total = json_integer_value(json_object_get(found, "total"));
    entries = json_array();
    json_array_foreach (json_object_get(found, "rows"), i, row) {
        if ((int)i == q.count - 1)
            break;
        json_array_append_new(entries, fhir_encounter(row, NULL, &c->opts));
        last = json_integer_value(json_object_get(row, "encounter_id"));
        /* _include=Encounter:patient: each patient once (the row's, audited with it). */
        if (includes) {
            const json_t *p = json_object_get(row, "patient");
            char pid[24];
            snprintf(pid, sizeof pid, "%lld", json_integer_value(json_object_get(p, "id")));
            if (!json_object_get(seen, pid)) {
                json_object_set_new(seen, pid, json_true());
                json_array_append_new(includes, fhir_patient(p, &c->opts));
            }
        }
    }
    {
        char cursor[24];
        bool more = json_array_size(json_object_get(found, "rows")) == (size_t)q.count, ok;
        snprintf(cursor, sizeof cursor, "%lld", last);
        json_decref(found);
        ok = reply_bundle(c, T_ENCOUNTER, entries, total, more ? cursor : NULL, out, err);
        if (ok && includes)
            add_includes(out->reply, includes, &c->opts);
        json_decref(includes);
        json_decref(seen);
        return ok;
    }
}

static bool search_patients(struct fhir_call *c, struct route_result *out, struct ed_error *err)
{
    struct record_fhir_search q = {.count = FHIR_COUNT_DEFAULT};
    char mrn[FHIR_PARAM_CHARS] = "", cursor[24];
    bool none = false, more;
    json_t *found, *entries, *row;
    long long total, last = 0;
    size_t i;

    for (int i2 = 0; i2 < c->n_params; i2++) {
        const char *n = c->params[i2].name, *v = c->params[i2].value;
        if (!strcmp(n, "_id")) {
            if (!(q.id = record_id(v, NULL)))
                none = true;
        } else if (!strcmp(n, "identifier")) {
            /* [system|]value: our MRN system, or no system; another system has no MRN of ours. */
            const char *bar = strchr(v, '|');
            if (bar && bar != v &&
                ((size_t)(bar - v) != strlen(FHIR_MRN_SYSTEM) ||
                 strncmp(v, FHIR_MRN_SYSTEM, (size_t)(bar - v))))
                none = true;
            snprintf(mrn, sizeof mrn, "%s", bar ? bar + 1 : v);
            if (!mrn[0])
                return bad_param(err, "identifier", "give the MRN, [system|]value");
            q.mrn = mrn;
        } else if (!strcmp(n, "_count")) {
            if (!param_count(v, &q.count, err))
                return false;
        } else if (!strcmp(n, "_cursor")) {
            if (!(q.after = record_id(v, NULL)))
                return bad_param(err, "_cursor", "use the next link as given");
        } else if (strcmp(n, "_format") && strcmp(n, "_total")) {
            return bad_param(err, n, "not supported on Patient (see /fhir/R4/metadata)");
        }
    }
    if (none)
        return reply_bundle(c, T_PATIENT, json_array(), 0, NULL, out, err);
    q.count++;
    found = record_fhir_patients(c->app->pg, &c->who, &q, err);
    if (!found)
        return false;
    total = json_integer_value(json_object_get(found, "total"));
    entries = json_array();
    json_array_foreach (json_object_get(found, "rows"), i, row) {
        if ((int)i == q.count - 1)
            break;
        json_array_append_new(entries, fhir_patient(row, &c->opts));
        last = json_integer_value(json_object_get(row, "id"));
    }
    more = json_array_size(json_object_get(found, "rows")) == (size_t)q.count;
    json_decref(found);
    snprintf(cursor, sizeof cursor, "%lld", last);
    return reply_bundle(c, T_PATIENT, entries, total, more ? cursor : NULL, out, err);
}

/* Location status: a comma-separated list of active | suspended | inactive into q->active (a
 * retired bed is inactive; none is suspended); *none when only suspended is asked. */
static bool param_location_status(const char *v, struct record_fhir_search *q, bool *none,
                                  struct ed_error *err)
{
    char copy[FHIR_PARAM_CHARS], *save = NULL;
    bool active = false, inactive = false, any = false;

    snprintf(copy, sizeof copy, "%s", v);
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "active"))
            active = true;
        else if (!strcmp(tok, "inactive"))
            inactive = true;
        else if (strcmp(tok, "suspended"))
            return bad_param(err, "status", "active, suspended or inactive");
        any = true;
    }
    if (!any)
        return bad_param(err, "status", "give one or more statuses");
    q->active = active == inactive ? 0 : active ? 1 : -1;
    *none |= !active && !inactive;
    return true;
}

/* Location?name=&_id=&status= (the beds of the caller's departments, retired ones too unless
 * status says otherwise: a FHIR search filters only on what it is asked) and
 * Practitioner?name=&_id= (their staff). */
static bool search_department_things(struct fhir_call *c, enum fhir_type type,
                                     struct route_result *out, struct ed_error *err)
{
    struct record_fhir_search q = {.count = FHIR_COUNT_DEFAULT};
    char name[FHIR_PARAM_CHARS] = "", cursor[24];
    bool none = false, more;
    json_t *found, *entries, *row;
    long long total, last = 0;
    size_t i;

    for (int k = 0; k < c->n_params; k++) {
        const char *n = c->params[k].name, *v = c->params[k].value;
        if (!strcmp(n, "_id")) {
            if (!(q.id = record_id(v, NULL)))
                none = true; /* dept-<id> and other ids: no bed or staff member */
        } else if (!strcmp(n, "name")) {
            snprintf(name, sizeof name, "%s", v);
            q.name = name;
        } else if (!strcmp(n, "status") && type == T_LOCATION) {
            if (!param_location_status(v, &q, &none, err))
                return false;
        } else if (!strcmp(n, "_count")) {
            if (!param_count(v, &q.count, err))
                return false;
        } else if (!strcmp(n, "_cursor")) {
            if (!(q.after = record_id(v, NULL)))
                return bad_param(err, "_cursor", "use the next link as given");
        } else if (strcmp(n, "_format") && strcmp(n, "_total")) {
            return bad_param(err, n, "not supported here (see /fhir/R4/metadata)");
        }
    }
    if (none)
        return reply_bundle(c, type, json_array(), 0, NULL, out, err);
    q.count++;
    found = type == T_LOCATION ? record_fhir_beds(c->app->pg, &c->who, &q, err)
                               : record_fhir_staff_search(c->app->pg, &c->who, &q, err);
    if (!found)
        return false;
    total = json_integer_value(json_object_get(found, "total"));
    entries = json_array();
    json_array_foreach (json_object_get(found, "rows"), i, row) {
        if ((int)i == q.count - 1)
            break;
        if (type == T_LOCATION) {
            json_array_append_new(entries,
                                  fhir_location(json_object_get(row, "bed"),
                                                json_object_get(row, "department"), &c->opts));
            last = json_integer_value(json_object_get(json_object_get(row, "bed"), "id"));
        } else {
            json_array_append_new(entries, fhir_practitioner(row, &c->opts));
            last = json_integer_value(json_object_get(row, "id"));
        }
    }
    more = json_array_size(json_object_get(found, "rows")) == (size_t)q.count;
    json_decref(found);
    snprintf(cursor, sizeof cursor, "%lld", last);
    return reply_bundle(c, type, entries, total, more ? cursor : NULL, out, err);
}

/* Whether an Observation's code has one of the tokens of a code parameter ([system|]code,
 * comma-separated). */
static bool code_matches(const json_t *obs, const char *param)
{
    char copy[FHIR_PARAM_CHARS], *save = NULL;
    const json_t *coding;
    size_t i;

    snprintf(copy, sizeof copy, "%s", param);
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *bar = strchr(tok, '|');
        const char *want = bar ? bar + 1 : tok;
        if (bar)
            *bar = '\0';
        json_array_foreach (json_object_get(json_object_get(obs, "code"), "coding"), i, coding) {
            const char *sys = json_string_value(json_object_get(coding, "system"));
            const char *code = json_string_value(json_object_get(coding, "code"));
            if (code && !strcmp(code, want) && (!bar || !tok[0] || (sys && !strcmp(sys, tok))))
                return true;
        }
    }
    return false;
}

static bool category_matches(const json_t *obs, const char *param)
{
    const json_t *cat, *coding;
    size_t i, j;
    const char *bar = strchr(param, '|'), *want = bar ? bar + 1 : param;

    json_array_foreach (json_object_get(obs, "category"), i, cat)
        json_array_foreach (json_object_get(cat, "coding"), j, coding)
            if (!strcmp(str_of(coding, "code"), want))
                return true;
    return false;
}

/* effectiveDateTime within [ge, le] (UTC text of one format compares as text). */
static bool date_matches(const json_t *obs, const char *ge, const char *le)
{
    const char *t = json_string_value(json_object_get(obs, "effectiveDateTime"));

    if (!t)
        return !ge[0] && !le[0];
    return (!ge[0] || strcmp(t, ge) >= 0) && (!le[0] || strcmp(t, le) <= 0);
}

static int by_date_asc(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    const char *tx = str_of(x, "effectiveDateTime");
    const char *ty = str_of(y, "effectiveDateTime");
    int d = strcmp(tx, ty);

    return d ? d : strcmp(str_of(x, "id"), str_of(y, "id"));
}

static int by_date_desc(const void *a, const void *b)
{
    return by_date_asc(b, a);
}

/* The Observations of a patient's encounters in the caller's scope, each chart read and
 * audited as chart.read; a patient with more than FHIR_PATIENT_ENCOUNTERS_MAX of them is
 * refused (search by encounter), never cut short. */
#define FHIR_PATIENT_ENCOUNTERS_MAX 50
static json_t *patient_observations(struct fhir_call *c, long long patient, struct ed_error *err)
{
    struct record_fhir_search q = {.patient_id = patient, .count = FHIR_PATIENT_ENCOUNTERS_MAX};
    json_t *found = record_fhir_encounters(c->app->pg, &c->who, &q, err), *all, *row;
    size_t i;

    if (!found)
        return NULL;
    if (json_integer_value(json_object_get(found, "total")) > FHIR_PATIENT_ENCOUNTERS_MAX) {
        json_decref(found);
        ed_error_set(err, ED_ERR_INVALID_PARAMETER, "patient",
                     "the patient has more than %d encounters: search by encounter",
                     FHIR_PATIENT_ENCOUNTERS_MAX);
        return NULL;
    }
    all = json_array();
    json_array_foreach (json_object_get(found, "rows"), i, row) {
        json_t *chart = record_chart(c->app->pg, &c->who,
                                     json_integer_value(json_object_get(row, "encounter_id")), err);
        json_t *obs;
        if (!chart) {
            json_decref(all);
            all = NULL;
            break;
        }
        obs = chart_observations(chart, &c->opts);
        json_array_extend(all, obs);
        json_decref(obs);
        json_decref(chart);
    }
    json_decref(found);
    return all;
}

/* Observation?encounter=Encounter/<id>: the encounter's chart (read and audited as chart.read,
 * like GET /api/v1/encounters/{id}), its Observations filtered, sorted and paged here. */
static bool search_observations(struct fhir_call *c, struct route_result *out, struct ed_error *err)
{
    long long encounter = 0, patient = 0;
    const char *category = NULL, *code = NULL, *id = NULL, *cursor = NULL;
    char ge[64] = "", le[64] = "";
    bool descending = false;
    int count = FHIR_COUNT_DEFAULT;
    json_t *chart, *all, *obs, *entries;
    json_t **list;
    size_t i, n = 0, start = 0;

    for (int k = 0; k < c->n_params; k++) {
        const char *nm = c->params[k].name, *v = c->params[k].value;
        if (!strcmp(nm, "encounter")) {
            if (!(encounter = record_id(v, "Encounter")))
                return bad_param(err, "encounter", "must be Encounter/<id>");
        } else if (!strcmp(nm, "patient") || !strcmp(nm, "subject")) {
            if (!(patient = record_id(v, "Patient")))
                return bad_param(err, nm, "must be Patient/<id>");
        } else if (!strcmp(nm, "category")) {
            category = v;
        } else if (!strcmp(nm, "code")) {
            code = v;
        } else if (!strcmp(nm, "_id")) {
            id = v;
        } else if (!strcmp(nm, "date")) {
            if (!param_date(v, ge, le, sizeof ge, err))
                return false;
        } else if (!strcmp(nm, "_sort")) {
            if (strcmp(v, "date") && strcmp(v, "-date"))
                return bad_param(err, "_sort", "must be date or -date");
            descending = v[0] == '-';
        } else if (!strcmp(nm, "_count")) {
            if (!param_count(v, &count, err))
                return false;
        } else if (!strcmp(nm, "_cursor")) {
            cursor = v;
        } else if (strcmp(nm, "_format") && strcmp(nm, "_total")) {
            return bad_param(err, nm, "not supported on Observation (see /fhir/R4/metadata)");
        }
    }
    if (!encounter && !patient)
        return ed_error_set(err, ED_ERR_INVALID_PARAMETER, "encounter",
                            "search the Observations of an encounter (encounter=Encounter/<id>) "
                            "or of a patient (patient=Patient/<id>)");
    if (encounter) {
        chart = record_chart(c->app->pg, &c->who, encounter, err);
        if (!chart)
            return false;
        /* encounter and patient together: the encounter's, when it is that patient's. */
        all = !patient || json_integer_value(json_object_get(
                              json_object_get(json_object_get(chart, "encounter"), "patient"),
                              "id")) == patient
                  ? chart_observations(chart, &c->opts)
                  : json_array();
        json_decref(chart);
    } else {
        all = patient_observations(c, patient, err);
        if (!all)
            return false;
    }
    list = calloc(json_array_size(all) + 1, sizeof *list);
    if (!list) {
        json_decref(all);
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    }
    json_array_foreach (all, i, obs) {
        if ((category && !category_matches(obs, category)) || (code && !code_matches(obs, code)) ||
            (id && strcmp(str_of(obs, "id"), id)) || !date_matches(obs, ge, le))
            continue;
        list[n++] = obs;
    }
    qsort(list, n, sizeof *list, descending ? by_date_desc : by_date_asc);
    /* The cursor is the last Observation id of the page before: the next page starts after it,
     * wherever it now sorts, so a new vitals set does not shift the pages. */
    if (cursor) {
        for (start = 0; start < n; start++)
            if (!strcmp(str_of(list[start], "id"), cursor))
                break;
        if (start == n) {
            free(list);
            json_decref(all);
            return bad_param(err, "_cursor", "use the next link as given");
        }
        start++;
    }
    entries = json_array();
    for (i = start; i < n && i < start + (size_t)count; i++)
        json_array_append(entries, list[i]);
    {
        bool more = start + (size_t)count < n;
        const char *last = i > start ? json_string_value(json_object_get(list[i - 1], "id")) : NULL;
        char lastbuf[64];
        snprintf(lastbuf, sizeof lastbuf, "%s", last ? last : "");
        free(list);
        json_decref(all);
        return reply_bundle(c, T_OBSERVATION, entries, (long long)n, more ? lastbuf : NULL, out,
                            err);
    }
}

/* ---- creates ---- */

/* Prefer: handling=strict refuses what edlive would not keep (FHIR_MAPPING.md §6). */
bool fhir_routes_prefer_strict(const struct request *req)
{
    return req->prefer_strict;
}

/* The digest an Idempotency-Key is kept with (as routes.c): SHA-256 of path, newline, body. */
static bool request_digest(const struct request *req, char hex[65])
{
    unsigned char sum[32];
    size_t plen = strlen(req->path);
    char *buf = malloc(plen + 1 + req->body_len);

    if (!buf)
        return false;
    memcpy(buf, req->path, plen);
    buf[plen] = '\n';
    memcpy(buf + plen + 1, req->body, req->body_len);
    auth_sha256(buf, plen + 1 + req->body_len, sum);
    auth_hex(sum, 32, hex);
    free(buf);
    return true;
}

/* The vitals set first recorded for this Idempotency-Key (a gateway's retry), a new
 * reference; NULL with *found false when there is none, NULL with err on a refusal (the key
 * was used for another request) or a database error. */
static json_t *replayed_vitals(struct fhir_call *c, const char *digest, bool *found,
                               struct ed_error *err)
{
    int status = 0;
    bool same = false;
    json_t *reply = record_idempotent_reply(c->app->pg, &c->who, c->req->idempotency_key, digest,
                                            &status, &same, err);
    json_t *vitals;

    *found = reply != NULL;
    if (!reply)
        return NULL;
    if (!same || !json_is_object(json_object_get(reply, "vitals"))) {
        json_decref(reply);
        ed_error_set(err, ED_ERR_IDEMPOTENCY_KEY_REUSED, "Idempotency-Key",
                     "this Idempotency-Key was used for a different request");
        return NULL;
    }
    vitals = json_incref(json_object_get(reply, "vitals"));
    json_decref(reply);
    return vitals;
}

/* POST Observation (one vital sign, the BP panel, or a Bundle of one vitals set): the
 * record's vitals write (record_vitals: the same transaction, event, NOTIFY and audit as POST
 * /api/v1/encounters/{id}/vitals), then the Observations it made. One Observation: 201 with it,
 * Location and ETag; a Bundle: 201 with a batch-response / transaction-response Bundle. Every
 * refusal names the FHIR element (fhir_error_to_fhir); nothing is written then. */
static bool create_vitals(struct fhir_call *c, struct route_result *out, struct ed_error *err)
{
    struct fhir_parse_opts popts = {FHIR_MRN_SYSTEM, fhir_routes_prefer_strict(c->req)};
    struct fhir_vitals_in in = {0};
    struct record_write_opts wopts = {c->req->if_match, NULL, NULL, 201};
    struct record_write w = {0};
    json_t *doc, *row = NULL, *made = NULL, *first = NULL, *vitals = NULL;
    const char *kind, *bundle_type = NULL;
    char digest[65] = "";
    long long patient;
    bool ok = false;

    doc = fhir_parse_json(c->req->body, c->req->body_len, err);
    if (!doc)
        return false;
    kind = str_of(doc, "resourceType");
    if (c->path_base && !strcmp(kind, "Bundle") && fhir_import_wanted(doc)) {
        ok = fhir_import_transaction(c, doc, out, err);
        json_decref(doc);
        return ok;
    }
    if (!strcmp(kind, "Bundle")) {
        bundle_type = str_of(doc, "type");
        ok = fhir_vitals_from_bundle(doc, &popts, &in, err);
    } else if (c->path_base) {
        ok = ed_error_set(err, ED_ERR_INVALID_VALUE, "Bundle.resourceType",
                          "POST a batch or transaction Bundle to the base");
    } else {
        ok = fhir_vitals_from_observation(doc, &popts, &in, err);
    }
    if (!ok)
        goto out;
    ok = false;
    kind = bundle_type ? "Bundle" : "Observation";
    if (!schema_validate(schema_set_find(c->app->schemas, "http/vitals"), in.body, err)) {
        fhir_error_to_fhir(err, in.paths, kind);
        goto out;
    }
    /* The subject, when given, must be the encounter's patient (a gateway's mix-up of beds). */
    row = record_encounter_row(c->app->pg, &c->who, in.encounter);
    if (!row) {
        ed_error_set(err, ED_ERR_NOT_FOUND, bundle_type ? "Bundle.entry" : "Observation.encounter",
                     "no such encounter");
        goto out;
    }
    patient = json_integer_value(json_object_get(json_object_get(row, "patient"), "id"));
    if (in.patient && in.patient != patient) {
        ed_error_set(err, ED_ERR_INVALID_VALUE,
                     bundle_type ? "Bundle.entry" : "Observation.subject",
                     "the subject is not the patient of this encounter");
        goto out;
    }
    /* A retry with the same Idempotency-Key gets the first reply again, nothing recorded twice
     * (proto/GUARANTEES.md); the key is kept with the record write's own transaction. */
    if (c->req->idempotency_key) {
        bool found = false;
        if (!request_digest(c->req, digest)) {
            ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
            goto out;
        }
        wopts.idempotency_key = c->req->idempotency_key;
        wopts.request_sha256 = digest;
        vitals = replayed_vitals(c, digest, &found, err);
        if (!vitals && (found || err->status))
            goto out;
    }
    if (!vitals) {
        if (!record_vitals(c->app->pg, &c->who, in.encounter, in.body, &wopts, &w, err)) {
            bool found = false;
            if (err->id == ED_ERR_IDEMPOTENCY_REPLAY) {
                /* The same request committed meanwhile (a retry racing its original). */
                memset(err, 0, sizeof *err);
                vitals = replayed_vitals(c, digest, &found, err);
                if (!vitals && !err->status)
                    ed_error_set(err, ED_ERR_CONFLICT, "Idempotency-Key",
                                 "a request with this key is still in progress");
            } else if (err->field[0]) {
                fhir_error_to_fhir(err, in.paths, kind);
            }
            if (!vitals)
                goto out;
        } else {
            log_info("POST " FHIR_PREFIX "/Observation -> dept %lld seq %lld", w.department_id,
                     w.seq);
            vitals = json_incref(json_object_get(w.reply, "vitals"));
            record_write_clear(&w);
        }
    }
    made = fhir_observations_from_vitals(vitals, patient, &c->opts);
    if (!made || !json_array_size(made)) {
        ok = ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the resources could not be built");
        goto out;
    }
    first = json_array_get(made, 0);
    if (bundle_type) {
        json_t *entries = json_array(), *obs;
        size_t i;
        json_array_foreach (made, i, obs) {
            char loc[300];
            snprintf(loc, sizeof loc, "Observation/%s/_history/1", str_of(obs, "id"));
            json_array_append_new(entries, json_pack("{s:O,s:{s:s,s:s,s:s}}", "resource", obs,
                                                     "response", "status", "201 Created",
                                                     "location", loc, "etag", "W/\"1\""));
        }
        out->reply = json_pack("{s:s,s:s,s:o}", "resourceType", "Bundle", "type",
                               !strcmp(bundle_type, "transaction") ? "transaction-response"
                                                                   : "batch-response",
                               "entry", entries);
    } else {
        out->reply = json_incref(first);
        snprintf(out->etag, sizeof out->etag, "W/\"1\"");
        if (snprintf(out->location, sizeof out->location, "%s/Observation/%s/_history/1", c->base,
                     str_of(first, "id")) >= (int)sizeof out->location)
            out->location[0] =
                '\0'; /* a Host too long for a Location: none rather than a cut one */
    }
    out->status = 201;
    ok = out->reply != NULL || ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
out:
    json_decref(vitals);
    json_decref(made);
    json_decref(row);
    json_decref(doc);
    fhir_vitals_in_clear(&in);
    return ok;
}

/* The department of a POST Encounter: Encounter.location[0] Location/dept-<id>, else the
 * caller's one department. 0 with err when neither names one. */
long long fhir_routes_arrival_department(const struct fhir_call *c, const json_t *enc,
                                         struct ed_error *err)
{
    const char *ref = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(enc, "location"), 0), "location"),
        "reference"));
    long long dept;

    if (ref) {
        dept = !strncmp(ref, "Location/dept-", 14) ? record_id(ref + 14, NULL) : 0;
        if (!dept)
            ed_error_set(err, ED_ERR_INVALID_VALUE, "Encounter.location[0].location",
                         "name the department of the arrival, Location/dept-<id>");
        return dept;
    }
    if (c->who.n_departments == 1)
        return c->who.departments[0];
    ed_error_set(err, ED_ERR_MISSING_FIELD, "Encounter.location",
                 "you work in several departments: name the arrival's, "
                 "location[0].location Location/dept-<id>");
    return 0;
}

/* POST Encounter: an arrival (record_arrival, or of an unidentified patient), and what else
 * it states (the triage of its priority) in the same transaction (a record batch): all or
 * nothing. 201 with the Encounter, Location and ETag. */
static bool create_encounter(struct fhir_call *c, struct route_result *out, struct ed_error *err)
{
    struct fhir_parse_opts popts = {FHIR_MRN_SYSTEM, fhir_routes_prefer_strict(c->req)};
    struct fhir_arrival_in in = {0};
    struct record_write w = {0};
    struct record_write_opts wopts = {0, NULL, NULL, 201};
    char digest[65] = "";
    json_t *doc, *row = NULL, *write;
    long long dept, encounter = 0;
    bool ok = false, in_batch = false;
    size_t i;

    doc = fhir_parse_json(c->req->body, c->req->body_len, err);
    if (!doc)
        return false;
    if (!fhir_arrival_from_encounter(doc, NULL, false, &popts, &in, err))
        goto out;
    if (!(dept = fhir_routes_arrival_department(c, doc, err)))
        goto out;
    if (in.patient) {
        /* An edlive patient by reference: their MRN, read within the caller's scope. */
        json_t *p = record_fhir_patient(c->app->pg, &c->who, in.patient, err);
        const char *mrn = json_string_value(json_object_get(p, "mrn"));
        if (!p || !mrn) {
            json_decref(p);
            if (!err->status || err->status == 404)
                ed_error_set(err, ED_ERR_UNKNOWN_REFERENCE, "Encounter.subject",
                             "no such patient with an MRN");
            goto out;
        }
        json_object_set_new(in.body, "patient", json_pack("{s:s}", "mrn", mrn));
        json_decref(p);
    }
    if (!schema_validate(schema_set_find(c->app->schemas, in.unidentified
                                                              ? "http/arrival_unidentified"
                                                              : "http/arrival"),
                         in.body, err)) {
        fhir_error_to_fhir(err, in.paths, "Encounter");
        goto out;
    }
    json_array_foreach (in.writes, i, write) {
        const char *route = json_string_value(json_object_get(write, "route"));
        if (!route || strcmp(route, "triage")) {
            ed_error_set(err, ED_ERR_INVALID_VALUE, "Encounter",
                         "an arrival states no disposition nor departure");
            goto out;
        }
        if (!record_allows(&c->who, ACT_TRIAGE)) {
            ed_error_set(err, ED_ERR_FORBIDDEN, "Encounter.priority",
                         "your role may register an arrival but not triage it");
            goto out;
        }
        if (!schema_validate(schema_set_find(c->app->schemas, "http/triage"),
                             json_object_get(write, "body"), err)) {
            fhir_error_to_fhir(err, in.paths, "Encounter");
            goto out;
        }
    }
    /* A retry with the same Idempotency-Key: the encounter the first request made, as it is
     * now; the key is kept with the arrival, in the batch's one transaction. */
    if (c->req->idempotency_key) {
        int status = 0;
        bool same = false;
        json_t *first;
        if (!request_digest(c->req, digest)) {
            ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
            goto out;
        }
        wopts.idempotency_key = c->req->idempotency_key;
        wopts.request_sha256 = digest;
        first = record_idempotent_reply(c->app->pg, &c->who, c->req->idempotency_key, digest,
                                        &status, &same, err);
        if (!first && err->status)
            goto out;
        if (first) {
            encounter = json_integer_value(
                json_object_get(json_object_get(first, "encounter"), "encounter_id"));
            json_decref(first);
            if (!same || !encounter) {
                ed_error_set(err, ED_ERR_IDEMPOTENCY_KEY_REUSED, "Idempotency-Key",
                             "this Idempotency-Key was used for a different request");
                goto out;
            }
            goto made;
        }
    }
    if (!record_batch_begin(c->app->pg)) {
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        goto out;
    }
    in_batch = true;
    if (!record_arrival(c->app->pg, &c->who, dept, in.body, &wopts, &w, err)) {
        if (err->id == ED_ERR_IDEMPOTENCY_REPLAY)
            ed_error_set(err, ED_ERR_CONFLICT, "Idempotency-Key",
                         "a request with this key is still in progress or done: retry");
        else
            fhir_error_to_fhir(err, in.paths, "Encounter");
        goto out;
    }
    encounter = w.encounter_id;
    record_write_clear(&w);
    json_array_foreach (in.writes, i, write) {
        if (!record_triage(c->app->pg, &c->who, encounter, json_object_get(write, "body"), NULL, &w,
                           err)) {
            fhir_error_to_fhir(err, in.paths, "Encounter");
            goto out;
        }
        record_write_clear(&w);
    }
    if (!record_batch_commit(c->app->pg)) {
        in_batch = false;
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        goto out;
    }
    in_batch = false;
    log_info("POST " FHIR_PREFIX "/Encounter -> dept %lld", dept);
made:
    row = record_encounter_row(c->app->pg, &c->who, encounter);
    out->reply = row ? fhir_encounter(row, NULL, &c->opts) : NULL;
    if (!out->reply) {
        ok = ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "recorded; read it back with GET");
        goto out;
    }
    {
        long long version = json_integer_value(json_object_get(row, "version"));
        snprintf(out->etag, sizeof out->etag, "W/\"%lld\"", version);
        if (snprintf(out->location, sizeof out->location, "%s/Encounter/%lld/_history/%lld",
                     c->base, encounter, version) >= (int)sizeof out->location)
            out->location[0] = '\0';
    }
    out->status = 201;
    ok = true;
out:
    if (in_batch)
        record_batch_rollback(c->app->pg);
    json_decref(row);
    json_decref(doc);
    fhir_arrival_in_clear(&in);
    return ok;
}

/* A write carried by a cookie must come from one of our own pages (as routes.c). */
static bool origin_allowed(struct fhir_call *c, const char *what, struct ed_error *err)
{
    if (!c->req->origin || !c->req->token_from_cookie ||
        record_origin_allowed(c->app->allowed_origins, c->req->origin))
        return true;
    ed_error_set(err, ED_ERR_ORIGIN_NOT_ALLOWED, NULL, "requests from this origin are refused");
    record_audit(c->app->pg, &c->who, NULL, what, 0, 0, "vitals", "denied", false, err->code,
                 c->who.source_addr);
    return false;
}

/* ---- dispatch ---- */

/* Session (401), then the matrix (403): refusals are audited like the REST routes'. */
static bool authorize(struct fhir_call *c, enum record_action action, const char *what,
                      struct ed_error *err)
{
    switch (record_session(c->app->pg, c->req->token, true, &c->who)) {
    case SESSION_OK:
        break;
    case SESSION_NONE:
        return ed_error_set(err, ED_ERR_UNAUTHENTICATED, NULL,
                            "sign in first (the session is missing, expired or revoked)");
    default:
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    }
    if (action < ACT_COUNT && !record_allows(&c->who, action)) {
        ed_error_set(err, ED_ERR_FORBIDDEN, NULL, "your role may not do this");
        record_audit(c->app->pg, &c->who, NULL, what, 0, 0, "chart", "denied", false, err->code,
                     c->who.source_addr);
        return false;
    }
    return true;
}

/* What each resource type's reads and searches need in the matrix: patient data is the
 * chart's; beds and staff are the board's. */
static enum record_action action_of(enum fhir_type t)
{
    return t == T_LOCATION || t == T_PRACTITIONER ? ACT_BOARD_READ : ACT_CHART_READ;
}

/* ---- Subscriptions Backport (FHIR_MAPPING.md §11): create, read, end, binding token,
 * $events. A subscription is its maker's (another account's is 404) and within the maker's
 * departments; the notifications themselves come from ed-hub over /fhir/R4/ws. ---- */

#define FHIR_WS_TOKEN_TTL_S 60 /* a binding token is used at once, by the same client */
#define FHIR_EVENTS_MAX     100

static const char *param_of(const struct fhir_call *c, const char *name)
{
    for (int i = 0; i < c->n_params; i++)
        if (!strcmp(c->params[i].name, name))
            return c->params[i].value;
    return NULL;
}

static bool only_params(const struct fhir_call *c, const char *const *names, struct ed_error *err)
{
    for (int i = 0; i < c->n_params; i++) {
        bool known = !strcmp(c->params[i].name, "_format");
        for (int j = 0; names[j]; j++)
            known = known || !strcmp(c->params[i].name, names[j]);
        if (!known)
            return bad_param(err, c->params[i].name, "is not a parameter of this operation");
    }
    return true;
}

static bool subscription_create(struct fhir_call *c, struct route_result *out, struct ed_error *err)
{
    struct fhir_subscription_in in;
    struct record_fhir_subscription_new s;
    json_t *doc = fhir_parse_json(c->req->body, c->req->body_len, err), *row, *res;

    if (!doc)
        return false;
    if (!fhir_subscription_from_resource(doc, &in, err)) {
        json_decref(doc);
        return false;
    }
    json_decref(doc);
    s.topic = in.topic == FHIR_TOPIC_VITALS ? "vital-signs" : "encounter";
    s.department_id = in.department_id;
    s.encounter_id = in.encounter_id;
    s.patient_id = in.patient_id;
    s.payload = in.payload;
    s.heartbeat_period = in.heartbeat_period;
    row = record_fhir_subscription_create(c->app->pg, &c->who, &s, err);
    if (!row)
        return false;
    res = fhir_subscription(row, &c->opts);
    snprintf(out->location, sizeof out->location, "%s%sSubscription/%lld", c->base,
             c->base[0] ? "/" : "", (long long)json_integer_value(json_object_get(row, "id")));
    json_decref(row);
    if (!reply_resource(out, res, err))
        return false;
    out->status = 201;
    log_info("POST /fhir/R4/Subscription -> subscription %s", str_of(res, "id"));
    return true;
}

/* The websocket URL of ed-hub's FHIR channel, from this request's base. */
static void ws_url(const struct fhir_call *c, char *buf, size_t size)
{
    if (!strncmp(c->base, "https://", 8))
        snprintf(buf, size, "wss://%s/ws", c->base + 8);
    else if (!strncmp(c->base, "http://", 7))
        snprintf(buf, size, "ws://%s/ws", c->base + 7);
    else
        snprintf(buf, size, FHIR_PREFIX "/ws");
}

static bool binding_token(struct fhir_call *c, long long id, struct route_result *out,
                          struct ed_error *err)
{
    char token[RECORD_WS_TOKEN_CHARS + 1], url[256], sid[24];
    json_t *doc = record_fhir_ws_token(c->app->pg, &c->who, id, FHIR_WS_TOKEN_TTL_S, token, err);
    json_t *params, *v;
    size_t i;

    if (!doc)
        return false;
    ws_url(c, url, sizeof url);
    params = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "token", "valueString", token, "name",
                       "expiration", "valueDateTime", str_of(doc, "expires"));
    json_array_foreach (json_object_get(doc, "subscriptions"), i, v) {
        snprintf(sid, sizeof sid, "%lld", (long long)json_integer_value(v));
        json_array_append_new(params,
                              json_pack("{s:s, s:s}", "name", "subscription", "valueString", sid));
    }
    json_array_append_new(params,
                          json_pack("{s:s, s:s}", "name", "websocket-url", "valueUrl", url));
    json_decref(doc);
    out->reply = json_pack("{s:s, s:o}", "resourceType", "Parameters", "parameter", params);
    out->status = 200;
    return out->reply || ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
}

static bool positive_param(const struct fhir_call *c, const char *name, long long *v,
                           struct ed_error *err)
{
    const char *s = param_of(c, name);
    char *end;

    if (!s)
        return true;
    *v = strtoll(s, &end, 10);
    if (!*s || *end || *v < 1)
        return bad_param(err, name, "is a positive integer");
    return true;
}

static bool subscription_events(struct fhir_call *c, long long id, struct route_result *out,
                                struct ed_error *err)
{
    static const char *const names[] = {"eventsSinceNumber", "eventsUntilNumber", "content", NULL};
    long long since = 1, until = 0x7fffffffffffffffLL;
    const char *content = param_of(c, "content");
    json_t *doc, *sub, *events, *ev;
    char now[40];
    size_t i;

    if (!only_params(c, names, err) || !positive_param(c, "eventsSinceNumber", &since, err) ||
        !positive_param(c, "eventsUntilNumber", &until, err))
        return false;
    if (until < since)
        return bad_param(err, "eventsUntilNumber", "is not below eventsSinceNumber");
    if (content && strcmp(content, "empty") && strcmp(content, "id-only") &&
        strcmp(content, "full-resource"))
        return bad_param(err, "content", "is empty, id-only or full-resource");
    doc = record_fhir_subscription_events(c->app->pg, &c->who, id, since, until, FHIR_EVENTS_MAX,
                                          err);
    if (!doc)
        return false;
    sub = json_object_get(doc, "subscription");
    if (content)
        json_object_set_new(sub, "payload", json_string(content));
    events = json_array();
    json_array_foreach (json_object_get(doc, "events"), i, ev)
        json_array_append_new(
            events, fhir_subscription_event(sub, json_integer_value(json_object_get(ev, "number")),
                                            str_of(ev, "at"), str_of(ev, "type"),
                                            json_object_get(ev, "payload"), &c->opts));
    {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    out->reply = fhir_subscription_notification(sub, "query-event",
                                                json_integer_value(json_object_get(doc, "total")),
                                                events, now, &c->opts);
    json_decref(events);
    json_decref(doc);
    out->status = 200;
    return out->reply ||
           ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "the Bundle could not be built");
}

static bool subscription_dispatch(struct api *app, const struct request *req,
                                  const struct fhir_path *fp, struct route_result *out,
                                  struct ed_error *err)
{
    bool create = !fp->id[0], token = !strcmp(fp->op, "$get-ws-binding-token");
    bool events = !strcmp(fp->op, "$events"), end = !fp->op[0] && req->method == ROUTE_DELETE;
    const char *what = create   ? "fhir.Subscription.create"
                       : token  ? "fhir.Subscription.token"
                       : events ? "fhir.Subscription.events"
                       : end    ? "fhir.Subscription.delete"
                                : "fhir.Subscription.read";
    long long id = create ? 0 : record_id(fp->id, NULL);
    struct fhir_call *c;
    bool ok;

    if (create   ? req->method != ROUTE_POST
        : token  ? req->method != ROUTE_GET && req->method != ROUTE_POST
        : events ? req->method != ROUTE_GET
                 : req->method != ROUTE_GET && req->method != ROUTE_DELETE)
        return ed_error_set(err, ED_ERR_METHOD_NOT_ALLOWED, NULL,
                            "this path does not accept that method");
    if (!create && id <= 0)
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such subscription");
    c = calloc(1, sizeof *c);
    if (!c)
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    c->app = app;
    c->req = req;
    snprintf(c->who.source_addr, sizeof c->who.source_addr, "%s", req->source_addr);
    find_base(c);
    c->opts.base_url = c->base;
    c->opts.mrn_system = FHIR_MRN_SYSTEM;
    /* Notifications carry the chart's data: the same matrix action as the reads. */
    ok = authorize(c, ACT_CHART_READ, what, err) && read_params(c, err) &&
         (req->method == ROUTE_GET || origin_allowed(c, what, err));
    if (ok) {
        if (create) {
            ok = subscription_create(c, out, err);
        } else if (token) {
            ok = binding_token(c, id, out, err);
        } else if (events) {
            ok = subscription_events(c, id, out, err);
        } else {
            json_t *row = end ? record_fhir_subscription_end(app->pg, &c->who, id, err)
                              : record_fhir_subscription(app->pg, &c->who, id, err);
            ok = row && reply_resource(out, fhir_subscription(row, &c->opts), err);
            json_decref(row);
        }
    }
    if (!ok && err->status == 404 && c->who.account_id)
        record_audit(app->pg, &c->who, NULL, what, 0, 0, "chart", "denied", false, err->code,
                     c->who.source_addr);
    free(c);
    return ok;
}

bool fhir_routes_dispatch(struct api *app, const struct request *req, struct route_result *out,
                          struct ed_error *err)
{
    struct fhir_path fp;
    struct fhir_call *c;
    bool ok;
    char what[48];

    if (!parse_path(req->path, &fp))
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL,
                            "no such resource (FHIR R4: /fhir/R4/metadata lists what there is)");
    if (fp.type == T_SUBSCRIPTION)
        return subscription_dispatch(app, req, &fp, out, err);
    if (fp.base ? req->method != ROUTE_POST
                : req->method != ROUTE_GET && !(req->method == ROUTE_POST && is_create(&fp)))
        return ed_error_set(err, ED_ERR_METHOD_NOT_ALLOWED, NULL,
                            "this path does not accept that method");
    c = calloc(1, sizeof *c);
    if (!c)
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
    c->app = app;
    c->req = req;
    snprintf(c->who.source_addr, sizeof c->who.source_addr, "%s", req->source_addr);
    find_base(c);
    c->opts.base_url = c->base;
    c->opts.mrn_system = FHIR_MRN_SYSTEM;
    if (fp.metadata) {
        char date[16];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
        out->reply = fhir_capability_statement(date, &c->opts);
        out->status = 200;
        {
            /* What these routes add to the library's statement: Encounter's _include. */
            json_t *r;
            size_t i;
            json_array_foreach (
                json_object_get(json_array_get(json_object_get(out->reply, "rest"), 0), "resource"),
                i, r)
                if (!strcmp(str_of(r, "type"), "Encounter"))
                    json_object_set_new(r, "searchInclude", json_pack("[s]", "Encounter:patient"));
        }
        ok = out->reply || ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "out of memory");
        free(c);
        return ok;
    }
    if (req->method == ROUTE_POST) {
        bool arrival = fp.type == T_ENCOUNTER;
        const char *act = arrival ? "fhir.Encounter.create" : "fhir.Observation.create";
        c->path_base = fp.base;
        ok = authorize(c, arrival ? ACT_ARRIVAL : ACT_VITALS, act, err) &&
             origin_allowed(c, act, err) &&
             (arrival ? create_encounter(c, out, err) : create_vitals(c, out, err));
        if (!ok && (err->status == 404 || err->status == 403) && c->who.account_id &&
            err->id != ED_ERR_ORIGIN_NOT_ALLOWED &&
            !(err->id == ED_ERR_FORBIDDEN && !err->field[0]))
            record_audit(app->pg, &c->who, NULL, act, 0, 0, arrival ? "encounter" : "vitals",
                         "denied", false, err->code, c->who.source_addr);
        free(c);
        return ok;
    }
    snprintf(what, sizeof what, "fhir.%s.%s", type_names[fp.type], fp.id[0] ? "read" : "search");
    ok = authorize(c, action_of(fp.type), what, err) && read_params(c, err);
    if (ok && fp.id[0]) {
        switch (fp.type) {
        case T_ENCOUNTER:
            ok = read_encounter(c, record_id(fp.id, NULL), out, err);
            break;
        case T_PATIENT:
            ok = read_patient(c, record_id(fp.id, NULL), out, err);
            break;
        case T_OBSERVATION:
            ok = read_observation(c, fp.id, out, err);
            break;
        case T_LOCATION:
            ok = read_location(c, fp.id, out, err);
            break;
        default:
            ok = read_practitioner(c, record_id(fp.id, NULL), out, err);
            break;
        }
    } else if (ok) {
        switch (fp.type) {
        case T_ENCOUNTER:
            ok = search_encounters(c, out, err);
            break;
        case T_PATIENT:
            ok = search_patients(c, out, err);
            break;
        case T_OBSERVATION:
            ok = search_observations(c, out, err);
            break;
        default:
            ok = search_department_things(c, fp.type, out, err);
            break;
        }
    }
    /* A refusal of a read that reached the record (404 outside the scope) is audited like the
     * REST routes' refusals. */
    if (!ok && err->status == 404 && c->who.account_id)
        record_audit(app->pg, &c->who, NULL, what, 0, 0, "chart", "denied", false, err->code,
                     c->who.source_addr);
    free(c);
    return ok;
}
