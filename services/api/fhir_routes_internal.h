/* SPDX-License-Identifier: MIT */
/* fhir_routes_internal.h: what fhir_routes.c (the FHIR R4 routes) shares with fhir_import.c
 * (POST /fhir/R4 with a transaction Bundle of a patient's record). Not an API of ed-api. */
#ifndef EDLIVE_FHIR_ROUTES_INTERNAL_H
#define EDLIVE_FHIR_ROUTES_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "fhir.h"

#define FHIR_PREFIX      "/fhir/R4"
#define FHIR_MAX_PARAMS  16
#define FHIR_PARAM_CHARS 256
/* The MRN's identifier system until a deployment names its own (FHIR_MAPPING.md, "Open
 * questions": the canonical base). */
#define FHIR_MRN_SYSTEM FHIR_EDLIVE_CANONICAL "/NamingSystem/mrn"

enum fhir_type {
    T_NONE,
    T_ENCOUNTER,
    T_PATIENT,
    T_OBSERVATION,
    T_LOCATION,
    T_PRACTITIONER,
    T_SUBSCRIPTION
};

/* One request line under /fhir/R4: metadata, a type (search), or a type and an id (read). */
struct fhir_path {
    bool base; /* the base itself: POST of a batch or transaction Bundle */
    bool metadata;
    enum fhir_type type;
    char id[64]; /* "" for a search */
    char op[32]; /* an instance operation: "$events", "$get-ws-binding-token"; or "" */
};

struct fhir_param {
    char name[32];
    char value[FHIR_PARAM_CHARS];
};

/* What a handler gets. */
struct fhir_call {
    struct api *app;
    const struct request *req;
    struct principal who;
    struct fhir_opts opts;
    char base[200];
    struct fhir_param params[FHIR_MAX_PARAMS];
    int n_params;
    bool path_base; /* POST to the base (a Bundle only) */
};

/* Prefer: handling=strict on the request. */
bool fhir_routes_prefer_strict(const struct request *req);
/* The department of an arrival: Encounter.location[0] Location/dept-<id>, else the caller's
 * one department; 0 with err when neither names one. */
long long fhir_routes_arrival_department(const struct fhir_call *c, const json_t *enc,
                                         struct ed_error *err);

/* fhir_import.c: a Bundle to the base holding a Patient or an Encounter is an import. */
bool fhir_import_wanted(const json_t *doc);
/* The import, one record batch; out->reply the transaction-response (FHIR_MAPPING.md §6). */
bool fhir_import_transaction(struct fhir_call *c, const json_t *doc, struct route_result *out,
                             struct ed_error *err);

#endif
