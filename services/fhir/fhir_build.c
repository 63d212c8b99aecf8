/* SPDX-License-Identifier: MIT */
/* fhir_build.c: the record's JSON as FHIR R4 resources: Patient, Practitioner, Location,
 * Encounter, the CapabilityStatement and searchset Bundles (FHIR_MAPPING.md §1-5, 8-9). The
 * vital signs are fhir_vitals.c's. */
#include <stdio.h>
#include <string.h>

#include "fhir_internal.h"

static json_t *resource(const char *type, const char *id)
{
    return json_pack("{s:s,s:s}", "resourceType", type, "id", id);
}

static json_t *resource_n(const char *type, long long id)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", id);
    return resource(type, buf);
}

static void set_version(json_t *res, long long version)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", version);
    json_object_set_new(res, "meta", json_pack("{s:s}", "versionId", v));
}

/* ---- Patient ---- */

json_t *fhir_patient(const json_t *patient, const struct fhir_opts *opts)
{
    long long id = fx_id(patient, "id");
    const char *mrn = fx_str(patient, "mrn"), *sex = fx_str(patient, "sex");
    const char *family = fx_str(patient, "family_name"), *given = fx_str(patient, "given_name");
    const char *temp_id = fx_str(patient, "temp_id"), *alias = fx_str(patient, "alias");
    json_t *res, *ids = json_array(), *names = json_array();

    if (!id) {
        json_decref(ids);
        json_decref(names);
        return NULL;
    }
    res = resource_n("Patient", id);
    if (mrn) {
        json_t *ident =
            json_pack("{s:s,s:o,s:s}", "use", "usual", "type",
                      fx_concept(SYS_ID_TYPE, "MR", "Medical record number", NULL), "value", mrn);
        fx_set_str(ident, "system", opts->mrn_system);
        json_array_append_new(ids, ident);
    }
    if (temp_id)
        json_array_append_new(ids, json_pack("{s:s,s:s,s:s}", "use", "temp", "system", EXT_TEMP_ID,
                                             "value", temp_id));
    if (json_array_size(ids))
        json_object_set_new(res, "identifier", ids);
    else
        json_decref(ids);
    json_object_set_new(res, "active", json_true());
    if (family || given) {
        json_t *name = json_pack("{s:s}", "use", "official");
        fx_set_str(name, "family", family);
        if (given)
            json_object_set_new(name, "given", json_pack("[s]", given));
        json_array_append_new(names, name);
    }
    if (alias) /* an unidentified patient: the alias every screen shows */
        json_array_append_new(names, json_pack("{s:s,s:s}", "use", "temp", "text", alias));
    if (json_array_size(names))
        json_object_set_new(res, "name", names);
    else
        json_decref(names);
    fx_set_str(res, "gender", sex);
    fx_set_str(res, "birthDate", fx_str(patient, "birth_date"));
    return res;
}

/* ---- Practitioner ---- */

json_t *fhir_practitioner(const json_t *staff, const struct fhir_opts *opts)
{
    long long id = fx_id(staff, "id");
    const char *name = fx_str(staff, "name");
    json_t *res;

    (void)opts;
    if (!id)
        return NULL;
    res = resource_n("Practitioner", id);
    json_object_set_new(res, "active", json_true());
    if (name)
        json_object_set_new(res, "name", json_pack("[{s:s}]", "text", name));
    return res;
}

/* ---- Location ---- */

static const char *area_text(const char *area)
{
    static const struct {
        const char *area, *text;
    } areas[] = {{"resus", "resuscitation"},
                 {"acute", "acute (majors)"},
                 {"fast_track", "fast track"},
                 {"hallway", "hallway space"},
                 {"waiting_room", "waiting room"}};

    for (size_t i = 0; area && i < sizeof areas / sizeof areas[0]; i++)
        if (!strcmp(area, areas[i].area))
            return areas[i].text;
    return area;
}

json_t *fhir_location(const json_t *bed, const json_t *department, const struct fhir_opts *opts)
{
    long long id = fx_id(bed, "id"), dept = fx_id(department, "id");
    const char *status = fx_str(bed, "status"), *area = fx_str(bed, "area");
    bool retired;
    json_t *res;

    (void)opts;
    if (!id)
        return NULL;
    /* Retired (edlivectl bed|department retire): kept, because encounters' location history
     * still names it, but FHIR's inactive (no longer used) and v2's Closed. */
    retired = fx_str(bed, "retired_at") || fx_str(department, "retired_at");
    res = resource_n("Location", id);
    json_object_set_new(res, "status", json_string(retired ? "inactive" : "active"));
    if (status) { /* v2 table 0116, bed status */
        const char *code = retired                       ? "C"
                           : !strcmp(status, "occupied") ? "O"
                           : !strcmp(status, "cleaning") ? "H"
                                                         : "U";
        const char *display = code[0] == 'C'   ? "Closed"
                              : code[0] == 'O' ? "Occupied"
                              : code[0] == 'H' ? "Housekeeping"
                                               : "Unoccupied";
        json_object_set_new(res, "operationalStatus", fx_coding(SYS_BED_STATUS, code, display));
    }
    fx_set_str(res, "name", fx_str(bed, "label"));
    fx_set_str(res, "description", area_text(area));
    json_object_set_new(res, "mode", json_string("instance"));
    json_object_set_new(res, "type",
                        json_pack("[o]", fx_concept(SYS_ROLE_CODE, "ER", "Emergency room", NULL)));
    json_object_set_new(res, "physicalType", fx_concept(SYS_PHYS_TYPE, "bd", "Bed", NULL));
    if (dept) {
        char ref[48];
        snprintf(ref, sizeof ref, "Location/dept-%lld", dept);
        json_object_set_new(res, "partOf", json_pack("{s:s}", "reference", ref));
    }
    return res;
}

json_t *fhir_location_department(const json_t *department, const struct fhir_opts *opts)
{
    long long id = fx_id(department, "id");
    char lid[40];
    json_t *res;

    (void)opts;
    if (!id)
        return NULL;
    snprintf(lid, sizeof lid, "dept-%lld", id);
    res = resource("Location", lid);
    json_object_set_new(res, "status",
                        json_string(fx_str(department, "retired_at") ? "inactive" : "active"));
    fx_set_str(res, "name", fx_str(department, "name"));
    if (fx_str(department, "code"))
        json_object_set_new(res, "alias", json_pack("[s]", fx_str(department, "code")));
    json_object_set_new(res, "mode", json_string("instance"));
    json_object_set_new(res, "type",
                        json_pack("[o]", fx_concept(SYS_ROLE_CODE, "ER", "Emergency room", NULL)));
    json_object_set_new(res, "physicalType", fx_concept(SYS_PHYS_TYPE, "wa", "Ward", NULL));
    return res;
}

/* ---- Encounter ---- */

/* FHIR_MAPPING.md §2, status. */
static const char *encounter_status(const char *status, bool triaged)
{
    if (!status)
        return "unknown";
    if (!strcmp(status, "waiting"))
        return triaged ? "triaged" : "arrived";
    if (!strcmp(status, "in_room") || !strcmp(status, "seen_by_provider") ||
        !strcmp(status, "disposition_decided"))
        return "in-progress";
    if (!strcmp(status, "departed") || !strcmp(status, "left_without_being_seen"))
        return "finished";
    if (!strcmp(status, "entered_in_error"))
        return "entered-in-error";
    return "unknown";
}

/* ESI -> the level in edlive's ESI code system, and v3-ActPriority (FHIR_MAPPING.md §2). */
static json_t *priority_concept(long long esi)
{
    static const char *const names[] = {"",       "Resuscitation", "Emergent",
                                        "Urgent", "Less urgent",   "Non-urgent"};
    const char *prio = esi <= 2 ? "EM" : esi == 3 ? "UR" : "R";
    const char *prio_display = esi <= 2 ? "emergency" : esi == 3 ? "urgent" : "routine";
    char code[4], text[16];

    snprintf(code, sizeof code, "%lld", esi);
    snprintf(text, sizeof text, "ESI %lld", esi);
    return json_pack("{s:[o,o],s:s}", "coding", fx_coding(SYS_ED_ESI, code, names[esi]),
                     fx_coding(SYS_ACT_PRIO, prio, prio_display), "text", text);
}

/* dischargeDisposition from the row's disposition kind (FHIR_MAPPING.md §2). */
static json_t *discharge_disposition(const char *kind)
{
    static const struct {
        const char *kind, *code, *display, *text;
    } map[] = {
        {"discharge", "home", "Home", "discharged"},
        {"admit", "oth", "Other", "admitted"},
        {"transfer", "other-hcf", "Other healthcare facility", "transferred"},
        {"lwbs", "oth", "Other", "left without being seen"},
        {"ama", "aadvice", "Left against advice", "left against medical advice"},
        {"eloped", "aadvice", "Left against advice", "eloped"},
        {"deceased", "exp", "Expired", "died in the department"},
        {"other", "oth", "Other", "other"},
        {"left_without_disposition", "oth", "Other", "left without a disposition"},
    };
    json_t *cc;

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(kind, map[i].kind))
            continue;
        cc = fx_concept(SYS_DISCHARGE, map[i].code, map[i].display, map[i].text);
        if (!strcmp(kind, "lwbs")) /* the code ECAT counts (ed-domain.md 3.3) */
            json_array_append_new(
                json_object_get(cc, "coding"),
                fx_coding(SYS_SNOMED, "21541000119102", "Patient left without being seen"));
        return cc;
    }
    return json_pack("{s:s}", "text", kind);
}

static json_t *period(const char *start, const char *end)
{
    json_t *p = json_object();
    fx_set_str(p, "start", start);
    fx_set_str(p, "end", end);
    return p;
}

static json_t *participant(const char *code, const char *display, const json_t *staff)
{
    long long id = fx_id(staff, "id");
    if (!id)
        return NULL;
    return json_pack("{s:[o],s:o}", "type", fx_concept(SYS_PART_TYPE, code, display, NULL),
                     "individual", fx_ref("Practitioner", id, fx_str(staff, "name")));
}

/* Encounter.location from chart.locations, oldest first. */
static json_t *location_history(const json_t *locations, const char *status)
{
    json_t *out = json_array(), *l;
    size_t i, n = json_array_size(locations);
    bool ended = !strcmp(status, "finished") || !strcmp(status, "entered-in-error");

    json_array_foreach (locations, i, l) {
        const json_t *bed = json_object_get(l, "bed");
        const char *end = fx_str(l, "ended_at");
        bool current = i + 1 == n && !end && !ended;
        json_t *ref = fx_id(bed, "id")
                          ? fx_ref("Location", fx_id(bed, "id"), fx_str(bed, "label"))
                          : json_pack("{s:s}", "display",
                                      area_text(fx_str(l, "area")) ? area_text(fx_str(l, "area"))
                                                                   : "department");
        json_array_append_new(out, json_pack("{s:o,s:s,s:o}", "location", ref, "status",
                                             current ? "active" : "completed", "period",
                                             period(fx_str(l, "started_at"), end)));
    }
    return out;
}

/* The first time the patient was in a treatment space (not the waiting room). */
static const char *treatment_start(const json_t *locations)
{
    size_t i;
    json_t *l;

    json_array_foreach (locations, i, l) {
        const char *area = fx_str(l, "area");
        if (area && strcmp(area, "waiting_room"))
            return fx_str(l, "started_at");
    }
    return NULL;
}

/* statusHistory from the times the record keeps: arrived, triaged, in-progress. */
static json_t *status_history(const json_t *row, const json_t *locations)
{
    const char *arrived = fx_str(row, "arrived_at"), *triaged = fx_str(row, "triaged_at");
    const char *seen = fx_str(row, "provider_seen_at"), *room = treatment_start(locations);
    const char *departed = fx_str(row, "departed_at"), *busy = room;
    json_t *h = json_array();

    if (seen && (!busy || strcmp(seen, busy) < 0))
        busy = seen;
    if (triaged && busy && strcmp(triaged, busy) > 0)
        triaged = NULL; /* triaged after treatment began: not a phase of its own */
    if (arrived)
        json_array_append_new(h, json_pack("{s:s,s:o}", "status", "arrived", "period",
                                           period(arrived, triaged ? triaged : busy)));
    if (triaged)
        json_array_append_new(
            h, json_pack("{s:s,s:o}", "status", "triaged", "period", period(triaged, busy)));
    if (busy)
        json_array_append_new(
            h, json_pack("{s:s,s:o}", "status", "in-progress", "period", period(busy, departed)));
    return h;
}

json_t *fhir_encounter(const json_t *row, const json_t *chart, const struct fhir_opts *opts)
{
    long long id = fx_id(row, "encounter_id"), esi = fx_id(row, "esi");
    const json_t *patient = json_object_get(row, "patient");
    const json_t *disposition = json_object_get(row, "disposition");
    const json_t *locations = json_object_get(chart, "locations");
    const char *status = encounter_status(fx_str(row, "status"), fx_str(row, "triaged_at"));
    const char *mode = fx_str(row, "arrival_mode"), *complaint = fx_str(row, "chief_complaint");
    json_t *res, *parts = json_array(), *p, *hosp = json_object();

    (void)opts;
    if (!id) {
        json_decref(parts);
        json_decref(hosp);
        return NULL;
    }
    res = resource_n("Encounter", id);
    set_version(res, fx_id(row, "version"));
    if (mode)
        json_object_set_new(res, "extension",
                            json_pack("[{s:s,s:o}]", "url", EXT_ARRIVAL, "valueCoding",
                                      fx_coding(SYS_ED_ARRIVAL, mode, NULL)));
    json_object_set_new(res, "status", json_string(status));
    if (json_is_array(locations))
        json_object_set_new(res, "statusHistory", status_history(row, locations));
    json_object_set_new(res, "class", fx_coding(SYS_ACT_CODE, "EMER", "emergency"));
    if (esi >= 1 && esi <= 5)
        json_object_set_new(res, "priority", priority_concept(esi));
    if (fx_id(patient, "id"))
        json_object_set_new(res, "subject", fx_ref("Patient", fx_id(patient, "id"), NULL));
    if ((p = participant("ATND", "attender", json_object_get(row, "attending"))))
        json_array_append_new(parts, p);
    if ((p = participant("PART", "Participation", json_object_get(row, "nurse"))))
        json_array_append_new(parts, p);
    if (json_array_size(parts))
        json_object_set_new(res, "participant", parts);
    else
        json_decref(parts);
    json_object_set_new(res, "period",
                        period(fx_str(row, "arrived_at"), fx_str(row, "departed_at")));
    if (complaint)
        json_object_set_new(res, "reasonCode", json_pack("[{s:s}]", "text", complaint));
    if (mode && !strcmp(mode, "transfer"))
        json_object_set_new(
            hosp, "admitSource",
            fx_concept(SYS_ADMIT_SRC, "hosp-trans", "Transferred from other hospital", NULL));
    if (json_is_object(disposition) && fx_str(disposition, "kind")) {
        const char *dest = fx_str(disposition, "destination");
        json_object_set_new(hosp, "dischargeDisposition",
                            discharge_disposition(fx_str(disposition, "kind")));
        if (dest)
            json_object_set_new(hosp, "destination", json_pack("{s:s}", "display", dest));
    }
    if (json_object_size(hosp))
        json_object_set_new(res, "hospitalization", hosp);
    else
        json_decref(hosp);
    if (json_is_array(locations) && json_array_size(locations))
        json_object_set_new(res, "location", location_history(locations, status));
    else if (json_is_object(json_object_get(row, "bed"))) {
        const json_t *bed = json_object_get(row, "bed");
        json_object_set_new(res, "location",
                            json_pack("[{s:o,s:s,s:o}]", "location",
                                      fx_ref("Location", fx_id(bed, "id"), fx_str(bed, "label")),
                                      "status", "active", "period",
                                      period(fx_str(row, "location_since"), NULL)));
    }
    return res;
}

/* ---- CapabilityStatement ---- */

static json_t *search_params(const char *const *params)
{
    json_t *out = json_array();
    for (size_t i = 0; params[i]; i += 2)
        json_array_append_new(out,
                              json_pack("{s:s,s:s}", "name", params[i], "type", params[i + 1]));
    return out;
}

/* create: POST is taken (Observation, Encounter), and they are the versioned ones. */
static json_t *capability_resource(const char *type, bool create, const char *const *params)
{
    json_t *inter = json_pack("[{s:s},{s:s}]", "code", "read", "code", "search-type");
    json_t *r;

    if (create)
        json_array_append_new(inter, json_pack("{s:s}", "code", "create"));
    r = json_pack("{s:s,s:o,s:s,s:b,s:b,s:o}", "type", type, "interaction", inter, "versioning",
                  create ? "versioned" : "no-version", "readHistory", 0, "updateCreate", 0,
                  "searchParam", search_params(params));
    if (create)
        json_object_set_new(r, "conditionalCreate", json_false());
    return r;
}

json_t *fhir_capability_statement(const char *date, const struct fhir_opts *opts)
{
    static const char *const patient[] = {"_id", "token", "identifier", "token", NULL};
    static const char *const encounter[] = {
        "_id",     "token",     "status",  "token",     "location", "reference", "date", "date",
        "patient", "reference", "subject", "reference", "class",    "token",     NULL};
    static const char *const observation[] = {"_id",      "token",     "encounter", "reference",
                                              "patient",  "reference", "subject",   "reference",
                                              "category", "token",     "code",      "token",
                                              "date",     "date",      NULL};
    static const char *const location[] = {"_id",    "token", "name", "string",
                                           "status", "token", NULL};
    static const char *const practitioner[] = {"_id", "token", "name", "string", NULL};
    json_t *rest, *cs;

    rest = json_pack("{s:s,s:[o,o,o,o,o]}", "mode", "server", "resource",
                     capability_resource("Patient", false, patient),
                     capability_resource("Encounter", true, encounter),
                     capability_resource("Observation", true, observation),
                     capability_resource("Location", false, location),
                     capability_resource("Practitioner", false, practitioner));
    /* The Subscriptions Backport (fhir_subscription.c): its topics, interactions and
     * operations, as the IG's R4 CapabilityStatement declares them. */
    json_array_append_new(
        json_object_get(rest, "resource"),
        json_pack(
            "{s:s, s:[s], s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s}, {s:s}, {s:s}], s:[{s:s, s:s}, "
            "{s:s, s:s}]}",
            "type", "Subscription", "supportedProfile",
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
            "backport-subscription",
            "extension", "url",
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
            "capabilitystatement-subscriptiontopic-canonical",
            "valueCanonical", FHIR_TOPIC_ENCOUNTER_URL, "url",
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
            "capabilitystatement-subscriptiontopic-canonical",
            "valueCanonical", FHIR_TOPIC_VITALS_URL, "interaction", "code", "create", "code",
            "read", "code", "delete", "operation", "name", "get-ws-binding-token", "definition",
            "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/"
            "backport-subscription-get-ws-binding-token",
            "name", "events", "definition",
            "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/"
            "backport-subscription-events"));
    json_object_set_new(rest, "security",
                        json_pack("{s:b,s:s}", "cors", 0, "description",
                                  "A session of edlive (Authorization: Bearer, as for /api/v1); "
                                  "the same department scope, break-glass and audit."));
    cs = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:[o]}", "resourceType", "CapabilityStatement",
                   "status", "active", "date", date, "publisher", "edlive", "kind", "instance",
                   "fhirVersion", FHIR_VERSION, "format", "json", "rest", rest);
    json_object_set_new(cs, "software", json_pack("{s:s}", "name", "edlive"));
    if (opts->base_url && opts->base_url[0])
        json_object_set_new(
            cs, "implementation",
            json_pack("{s:s,s:s}", "description", "edlive FHIR R4", "url", opts->base_url));
    return cs;
}

/* ---- searchset Bundle ---- */

json_t *fhir_bundle_searchset(const json_t *entries, long long total, const char *self_url,
                              const char *next_url, const struct fhir_opts *opts)
{
    json_t *b = json_pack("{s:s,s:s}", "resourceType", "Bundle", "type", "searchset");
    json_t *links = json_array(), *list = json_array(), *r;
    size_t i;

    if (total >= 0)
        json_object_set_new(b, "total", json_integer(total));
    if (self_url)
        json_array_append_new(links, json_pack("{s:s,s:s}", "relation", "self", "url", self_url));
    if (next_url)
        json_array_append_new(links, json_pack("{s:s,s:s}", "relation", "next", "url", next_url));
    json_object_set_new(b, "link", links);
    json_array_foreach (entries, i, r) {
        char url[512];
        const char *type = fx_str(r, "resourceType"), *id = fx_str(r, "id");
        json_t *e = json_pack("{s:O,s:{s:s}}", "resource", r, "search", "mode", "match");
        if (type && id) {
            const char *base = opts->base_url ? opts->base_url : "";
            snprintf(url, sizeof url, "%s%s%s/%s", base, base[0] ? "/" : "", type, id);
            json_object_set_new(e, "fullUrl", json_string(url));
        }
        json_array_append_new(list, e);
    }
    json_object_set_new(b, "entry", list);
    return b;
}
