/* SPDX-License-Identifier: MIT */
/* record_hl7.h: HL7 v2 ADT to the record's REST bodies (proto/hl7/ADT_MAPPING.md). This first
 * part is pure (no database): the body of POST .../arrivals from an A04's PID, PV1, PV2 and
 * OBX (§3.1, §3.2, §4.1, §4.4). Applying it (department, time zone, one transaction audited
 * with MSH-4 as the source) is next. */
#ifndef EDLIVE_RECORD_HL7_H
#define EDLIVE_RECORD_HL7_H

#include <jansson.h>
#include <stdbool.h>

#include "hl7.h"

#define RECORD_HL7_MAX_WARNINGS 4

struct record_hl7_result {
    struct hl7_error err; /* why the body is NULL (AE), when it is and unidentified is false */
    struct hl7_error warnings[RECORD_HL7_MAX_WARNINGS]; /* ERR W of the AA */
    unsigned nwarnings;
    bool unidentified; /* no PID-3 at all: an unidentified arrival (not built here yet) */
    /* The arrival time when its DTM has no UTC offset ("YYYY-MM-DDTHH:MM:SS"), to be read in
     * the department's zone by the caller; "" when arrived_at is in the body (or absent). */
    char local_time[32];
};

/* The arrival body (a new reference) or NULL with res->err set (or res->unidentified). */
json_t *record_hl7_arrival_body(const struct hl7_msg *msg, struct record_hl7_result *res);

/* HL7 DTM (YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]) as RFC 3339 in out (32 bytes): with the offset,
 * "YYYY-MM-DDTHH:MM:SS+hh:mm" and *has_offset true; without, "YYYY-MM-DDTHH:MM:SS". False for
 * anything less precise than minutes or not a real date and time. */
bool record_hl7_time(const char *dtm, char *out, bool *has_offset);

#endif
