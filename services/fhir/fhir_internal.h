/* SPDX-License-Identifier: MIT */
/* fhir_internal.h: what the libedfhir files share: code systems, the LOINC table of the vital
 * signs edlive keeps, and small JSON helpers. Not for the services: they include fhir.h. */
#ifndef EDLIVE_FHIR_INTERNAL_H
#define EDLIVE_FHIR_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "fhir.h"

#define SYS_LOINC       "http://loinc.org"
#define SYS_SNOMED      "http://snomed.info/sct"
#define SYS_UCUM        "http://unitsofmeasure.org"
#define SYS_OBS_CAT     "http://terminology.hl7.org/CodeSystem/observation-category"
#define SYS_ACT_CODE    "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define SYS_ACT_PRIO    "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
#define SYS_PART_TYPE   "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
#define SYS_ROLE_CODE   "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
#define SYS_ID_TYPE     "http://terminology.hl7.org/CodeSystem/v2-0203"
#define SYS_BED_STATUS  "http://terminology.hl7.org/CodeSystem/v2-0116"
#define SYS_PHYS_TYPE   "http://terminology.hl7.org/CodeSystem/location-physical-type"
#define SYS_DISCHARGE   "http://terminology.hl7.org/CodeSystem/discharge-disposition"
#define SYS_ADMIT_SRC   "http://terminology.hl7.org/CodeSystem/admit-source"
#define SYS_ISSUE_TYPE  "http://hl7.org/fhir/issue-type"
#define SYS_ED_VITALS   FHIR_EDLIVE_CANONICAL "/CodeSystem/vitals"
#define SYS_ED_ESI      FHIR_EDLIVE_CANONICAL "/CodeSystem/esi"
#define SYS_ED_ERROR    FHIR_EDLIVE_CANONICAL "/CodeSystem/error"
#define SYS_ED_ARRIVAL  FHIR_EDLIVE_CANONICAL "/CodeSystem/arrival-mode"
#define EXT_ARRIVAL     FHIR_EDLIVE_CANONICAL "/StructureDefinition/arrival-mode"
#define EXT_TEMP_ID     FHIR_EDLIVE_CANONICAL "/NamingSystem/temp-id"
#define PROF_BASE       "http://hl7.org/fhir/StructureDefinition/"
#define PROF_VITALSIGNS PROF_BASE "vitalsigns"

/* NEWS2 total, SNOMED CT UK edition (FHIR_MAPPING.md says why not LOINC). */
#define SCT_NEWS2_TOTAL "1104051000000101"

/* ---- JSON helpers ---- */

/* {"system","code","display"} (display may be NULL). */
json_t *fx_coding(const char *system, const char *code, const char *display);
/* {"coding":[coding], "text"} (text may be NULL). */
json_t *fx_concept(const char *system, const char *code, const char *display, const char *text);
/* {"reference": "<type>/<id>", "display"} (display may be NULL). */
json_t *fx_ref(const char *type, long long id, const char *display);
/* {"value", "unit", "system": UCUM, "code"}. */
json_t *fx_quantity(double value, bool integral, const char *unit, const char *ucum);
/* The number at key of obj, when it is a JSON number (integer or real). */
bool fx_number(const json_t *obj, const char *key, double *out);
/* The integer id at key (a JSON integer > 0), else 0. */
long long fx_id(const json_t *obj, const char *key);
/* The string at key, or NULL. */
const char *fx_str(const json_t *obj, const char *key);
/* Sets key to a new string when s is non-NULL and non-empty. */
void fx_set_str(json_t *obj, const char *key, const char *s);
/* True when s is an RFC 3339 date-time with a time zone (what the record takes). */
bool fx_is_instant(const char *s);

/* ---- the vital signs edlive keeps ---- */

enum fx_vital {
    FX_HEART_RATE,
    FX_RESP_RATE,
    FX_SPO2,
    FX_TEMPERATURE,
    FX_BP_PANEL,
    FX_SYSTOLIC,
    FX_DIASTOLIC,
    FX_PAIN,
    FX_ACVPU,
    FX_O2_FLOW,
    FX_VITAL_COUNT
};

struct fx_vital_code {
    enum fx_vital vital;
    const char *system;
    const char *code;
    const char *display;
    const char *field; /* the vitals body field, NULL for the panel */
};

/* Every code the parser accepts, the builder's first: NULL-terminated by code. */
extern const struct fx_vital_code fx_vital_codes[];

/* "<prefix>.<rest>" into buf (FHIR_PATH_MAX bytes), cut when longer: it only names a field in
 * an error. Returns buf. */
#define FHIR_PATH_MAX 128
const char *fhir_path(char *buf, const char *prefix, const char *rest);

#endif
