/* SPDX-License-Identifier: MIT */
/* record_hl7.h: HL7 v2 ADT applied to the record (proto/hl7/ADT_MAPPING.md). Two halves: pure
 * mapping of segments to the REST bodies of proto/http (record_hl7.c, record_hl7_map.c: no
 * database), and record_hl7_apply, which turns one message into the record's writes in one
 * batch (record_hl7_apply.c: lookups and parts, record_hl7_events.c: one function per event). */
#ifndef EDLIVE_RECORD_HL7_H
#define EDLIVE_RECORD_HL7_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "hl7.h"
#include "hl7_ack.h"
#include "record.h"

#define RECORD_HL7_MAX_WARNINGS 8

struct record_hl7_result {
    struct hl7_error err; /* why the body is NULL (AE), when it is and unidentified is false */
    struct hl7_error warnings[RECORD_HL7_MAX_WARNINGS]; /* ERR W of the AA */
    unsigned nwarnings;
    bool unidentified; /* no PID-3 at all: an unidentified arrival (record_hl7_unidentified_body) */
    /* The arrival time when its DTM has no UTC offset ("YYYY-MM-DDTHH:MM:SS"), to be read in
     * the department's zone by the caller; "" when arrived_at is in the body (or absent). */
    char local_time[32];
    char time_segment[4]; /* where arrived_at came from (PV1-44, EVN-6, EVN-2 or MSH-7) */
    unsigned time_field;
};

/* The arrival body (a new reference) or NULL with res->err set (or res->unidentified). */
json_t *record_hl7_arrival_body(const struct hl7_msg *msg, struct record_hl7_result *res);

/* The body of POST .../arrivals/unidentified (no PID-3): sex from PID-8, the visit as above.
 * NULL with res->err (a bad PID-8 or time). res is cleared first. */
json_t *record_hl7_unidentified_body(const struct hl7_msg *msg, struct record_hl7_result *res);

/* HL7 DTM (YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]) as RFC 3339 in out (32 bytes): with the offset,
 * "YYYY-MM-DDTHH:MM:SS+hh:mm" and *has_offset true; without, "YYYY-MM-DDTHH:MM:SS". False for
 * anything less precise than minutes or not a real date and time. */
bool record_hl7_time(const char *dtm, char *out, bool *has_offset);

/* ---- applying (the database) ---- */

/* What the service tells the record about itself (ed-mllp's settings). */
struct record_hl7_opts {
    const char *default_department; /* department code when PV1-3.1 is empty; NULL: AE 101 */
    long long interface_staff_id;   /* the interface's staff member: the audit rows' staff, and
                                       taken_by when OBX-16 names nobody; 0: none */
};

/* Applies one parsed ADT message (MSH-9.1 = ADT, checked by the caller) to the record as
 * ADT_MAPPING.md §2 says, dispatching on MSH-9.2. Must be called inside record_batch_begin
 * (record.h), and leaves the batch open: the caller commits on AA (after storing the ACK for
 * a resend, in the same transaction) and rolls back on AE. Returns AA (res->warnings are the
 * ERR W segments; out holds the last write, if any) or AE with res->err; AR for an event code
 * the table does not know (res->err 201 at MSH-9.2). */
enum hl7_ack_code record_hl7_apply(PGconn *conn, const struct hl7_msg *msg,
                                   const struct record_hl7_opts *opts,
                                   struct record_hl7_result *res, struct record_write *out);

/* ---- answered messages (ADT_MAPPING.md §1 step 4; record_hl7_answered.c) ---- */

/* The key of a message: MSH-3.1, MSH-4.1 (NULL reads as "") and MSH-10, each at most 199
 * bytes (the table's CHECK; the caller refuses longer ones). */
struct record_hl7_key {
    const char *app, *facility, *control_id;
};

/* The ACK stored for key: 1 found (*ack malloc'd, NUL-terminated, *len bytes; the caller
 * frees it), 0 not answered yet, -1 database error. */
int record_hl7_answered_get(PGconn *conn, const struct record_hl7_key *key, char **ack,
                            size_t *len);

/* Stores the ACK sent for key (code "AA", "AE" or "AR"). Inside a batch it commits with the
 * batch. 1 stored, 0 a row with the key exists already (a copy answered first: read it with
 * record_hl7_answered_get), -1 database error (inside a batch: roll it back). */
int record_hl7_answered_put(PGconn *conn, const struct record_hl7_key *key, const char *code,
                            const char *ack, size_t len);

/* Deletes the rows older than keep_days, in short batches. Rows deleted, or -1. */
long long record_hl7_answered_purge(PGconn *conn, int keep_days);

/* 1 when staff_id is a staff member and active, 0 when not, -1 database error. */
int record_hl7_staff_check(PGconn *conn, long long staff_id);

#endif
