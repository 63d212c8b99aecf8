/* SPDX-License-Identifier: MIT */
/* fhir.h: libedfhir, FHIR R4 for edlive without a server: builders that turn the record's
 * JSON (proto/README.md: the board row, the chart, vitals, patients, beds, staff) into FHIR R4
 * resources, and parsers that turn a FHIR Observation or Encounter into the record's REST body
 * (proto/http/vitals.json, arrival.json). The contract is proto/fhir/FHIR_MAPPING.md.
 * Pure: no database, no network, no logging; jansson only (and ed_error from libedcommon).
 *
 * Ownership: every builder returns a new reference (caller json_decref's it) or NULL when the
 * record JSON lacks what the resource needs (an id); inputs are borrowed. Parsers fill an out
 * struct whose json_t members are new references (fhir_*_clear releases them) and return false
 * with err set on a refusal: err->field is then a FHIRPath expression naming the element at
 * fault (e.g. "Observation.component[1].valueQuantity.value"), ready for
 * fhir_operation_outcome(). */
#ifndef EDLIVE_FHIR_H
#define EDLIVE_FHIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ed_error.h"

#define FHIR_VERSION "4.0.1"
/* edlive's own code systems and extensions live under this canonical base until a deployment
 * has a published one (FHIR_MAPPING.md, "Open questions"). */
#define FHIR_EDLIVE_CANONICAL "https://edlive.invalid/fhir"

/* What a deployment says about itself. */
struct fhir_opts {
    const char *base_url;   /* the server's FHIR base, e.g. "https://ed.example.org/fhir/R4"
                               (fullUrl and paging links); "" gives relative ones */
    const char *mrn_system; /* Patient.identifier.system of the MRN, e.g.
                               "urn:oid:1.2.3.4.5" or "https://ed.example.org/mrn" */
};

/* ---- builders: record JSON -> FHIR R4 resources ---- */

/* W/"<version>" into buf (the ETag of a resource whose meta.versionId is version). */
void fhir_etag(long long version, char *buf, size_t size);

/* Patient from a row's "patient" object (or the chart's), identified or not. */
json_t *fhir_patient(const json_t *patient, const struct fhir_opts *opts);

/* Practitioner from a staff object {"id","name","role"}. */
json_t *fhir_practitioner(const json_t *staff, const struct fhir_opts *opts);

/* Location from a board bed {"id","label","area","status"?,"cleaning_since"?,"retired_at"?};
 * department is the board's {"id","code","name","retired_at"?} (or NULL) and becomes partOf
 * Location/dept-<id>. A retired bed, or a bed of a retired department, is status inactive. */
json_t *fhir_location(const json_t *bed, const json_t *department, const struct fhir_opts *opts);
/* The department itself, Location dept-<id>; inactive once retired. */
json_t *fhir_location_department(const json_t *department, const struct fhir_opts *opts);

/* Encounter from a board row; chart (GET /encounters/{id}, or NULL) adds the location
 * history and the status history that needs it. */
json_t *fhir_encounter(const json_t *row, const json_t *chart, const struct fhir_opts *opts);

/* The Observations of one vitals set (proto/README.md "Vitals"): one per measurement taken
 * (heart rate, respiratory rate, SpO2, temperature, blood pressure panel, pain, ACVPU) and the
 * set's NEWS2 total, derivedFrom those. patient_id: the encounter's patient. A JSON array. */
json_t *fhir_observations_from_vitals(const json_t *vitals, long long patient_id,
                                      const struct fhir_opts *opts);

/* The patient's current NEWS2 (the row's "news2": the latest reading of each parameter, what
 * every screen shows), Observation news2-<encounter_id>, derivedFrom the Observations of the
 * readings it used, found in chart.vitals. NULL when the row has no NEWS2 (or has PEWS). */
json_t *fhir_observation_news2_current(const json_t *chart, const struct fhir_opts *opts);

/* The server's CapabilityStatement (GET /fhir/R4/metadata); date: its RFC 3339 date. */
json_t *fhir_capability_statement(const char *date, const struct fhir_opts *opts);

/* A searchset Bundle. entries: an array of resources (borrowed); total: the match count (-1:
 * not given); self_url and next_url (NULL: no next page) are the links, given whole. */
json_t *fhir_bundle_searchset(const json_t *entries, long long total, const char *self_url,
                              const char *next_url, const struct fhir_opts *opts);

/* OperationOutcome for a refusal: issue.code from err's code, diagnostics its message,
 * expression its field (a FHIRPath) when it has one. */
json_t *fhir_operation_outcome(const struct ed_error *err);
/* The FHIR issue type (valueset issue-type) for an edlive error code. */
const char *fhir_issue_code(enum ed_code id);

/* ---- parsers: FHIR R4 -> the record's REST bodies ---- */

/* FHIR JSON text (application/fhir+json) as a document: not JSON, or duplicate member names,
 * or not an object, is malformed_json (400) with no expression. New reference or NULL. */
json_t *fhir_parse_json(const char *buf, size_t len, struct ed_error *err);

/* Parser options: strict refuses elements edlive would not keep (Prefer: handling=strict);
 * otherwise they are listed in the out struct's "dropped". */
struct fhir_parse_opts {
    const char *mrn_system; /* as in fhir_opts; NULL: only identifiers typed MR are MRNs */
    bool strict;
};

/* A vitals set from a monitor gateway or an app. */
struct fhir_vitals_in {
    json_t *body;        /* proto/http/vitals.json body */
    long long encounter; /* Observation.encounter Encounter/<id>: the route's id */
    long long patient;   /* Observation.subject Patient/<id>, 0 when not given */
    json_t *paths;       /* {"heart_rate": "Observation.valueQuantity.value", ...}: the FHIR
                            expression of each body field, to name it in a later refusal */
    json_t *dropped;     /* ["Observation.interpretation", ...]: what was not kept */
};
void fhir_vitals_in_clear(struct fhir_vitals_in *in);

/* One Observation (a single vital sign, or the blood pressure panel with its components). */
bool fhir_vitals_from_observation(const json_t *obs, const struct fhir_parse_opts *opts,
                                  struct fhir_vitals_in *out, struct ed_error *err);

/* A batch or transaction Bundle of Observations, all of one encounter, one performer and one
 * effective time: one vitals set (the gateway's "every vital of this minute"). */
bool fhir_vitals_from_bundle(const json_t *bundle, const struct fhir_parse_opts *opts,
                             struct fhir_vitals_in *out, struct ed_error *err);

/* An arrival from POST Encounter. */
struct fhir_arrival_in {
    json_t *body;      /* arrival.json, or arrival_unidentified.json when unidentified */
    bool unidentified; /* body is for POST .../arrivals/unidentified */
    long long patient; /* subject Patient/<id> of an existing edlive patient (the server
                          reads its MRN); 0 when the patient was given by identifier */
    json_t *writes;    /* [{"route": "triage"|"disposition"|"departure", "body": {...}}]:
                          what else the Encounter states, to apply in order after the arrival
                          (an imported finished visit); [] for a plain arrival */
    json_t *paths;     /* REST field (dotted) -> FHIR expression, as for vitals */
    json_t *dropped;   /* what was not kept */
};
void fhir_arrival_in_clear(struct fhir_arrival_in *in);

/* enc: the Encounter; patient: the Patient its subject refers to when the caller resolved it
 * (a contained one, "#id", is resolved here; a transaction's urn:uuid by the caller), or NULL.
 * allow_ended: accept status finished (an import): the departure goes to writes. */
bool fhir_arrival_from_encounter(const json_t *enc, const json_t *patient, bool allow_ended,
                                 const struct fhir_parse_opts *opts, struct fhir_arrival_in *out,
                                 struct ed_error *err);

/* Renames err->field, a REST body field (as schema_validate or the record name it), to its
 * FHIR expression through paths; a field paths does not hold becomes the resource itself
 * (resource_type) so the expression is still FHIR. */
void fhir_error_to_fhir(struct ed_error *err, const json_t *paths, const char *resource_type);

/* ---- R4 Subscriptions Backport (topic-based, websocket channel; FHIR_MAPPING.md §11) ---- */

/* edlive's two topics: any change of an encounter (every "encounter.*" event of the
 * department), and vital signs recorded ("vitals.recorded"). */
enum fhir_topic { FHIR_TOPIC_ENCOUNTER, FHIR_TOPIC_VITALS };
#define FHIR_TOPIC_ENCOUNTER_URL FHIR_EDLIVE_CANONICAL "/SubscriptionTopic/encounter-changed"
#define FHIR_TOPIC_VITALS_URL    FHIR_EDLIVE_CANONICAL "/SubscriptionTopic/vital-signs-recorded"
const char *fhir_topic_url(enum fhir_topic topic);

/* What POST Subscription asks for. payload is a static string. */
struct fhir_subscription_in {
    enum fhir_topic topic;
    long long department_id; /* filter location=Location/dept-<id>, or 0 */
    long long encounter_id;  /* filter encounter=Encounter/<id> (vitals) or _id=<id>, or 0 */
    long long patient_id;    /* filter patient=Patient/<id>, or 0 */
    const char *payload;     /* "empty", "id-only" (default) or "full-resource" */
    int heartbeat_period;    /* seconds, 10..3600, default 60 */
};
bool fhir_subscription_from_resource(const json_t *res, struct fhir_subscription_in *out,
                                     struct ed_error *err);

/* The Subscription from the record's row {"id","status","topic":"encounter"|"vital-signs",
 * "department_id","encounter_id","patient_id","payload","heartbeat_period","end"?}. */
json_t *fhir_subscription(const json_t *sub, const struct fhir_opts *opts);

/* One notification event from an event of the log: {"number","at","focus":[references],
 * "resources":[the focus resources]} (the Encounter from the payload's row, or the vitals
 * set's Observations). */
json_t *fhir_subscription_event(const json_t *sub, long long number, const char *at,
                                const char *type, const json_t *payload,
                                const struct fhir_opts *opts);

/* A subscription-notification Bundle (type history): the SubscriptionStatus (Parameters) with
 * events-since-subscription-start, then for full-resource the focus resources. type:
 * "handshake", "heartbeat", "event-notification" or "query-event"; events: an array of
 * fhir_subscription_event's (borrowed; [] for a handshake or heartbeat). */
json_t *fhir_subscription_notification(const json_t *sub, const char *type,
                                       long long events_since_start, const json_t *events,
                                       const char *timestamp, const struct fhir_opts *opts);

#endif
