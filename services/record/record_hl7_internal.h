/* SPDX-License-Identifier: MIT */
/* record_hl7_internal.h: what the HL7 files of the record share (record_hl7.c and
 * record_hl7_map.c: pure mapping; record_hl7_apply.c: lookups and the parts of a message;
 * record_hl7_events.c: one function per trigger event). Not for the services. */
#ifndef EDLIVE_RECORD_HL7_INTERNAL_H
#define EDLIVE_RECORD_HL7_INTERNAL_H

#include "record_hl7.h"

/* A position in the message, for ERR-2: segment, its occurrence, field, component. */
struct hl7_pos {
    const char *seg;
    unsigned occ, field, comp;
};

/* ---- pure helpers (record_hl7.c, record_hl7_map.c) ---- */

/* Valued: neither absent nor the HL7 null. */
const char *record_hl7_val(const char *s);
void record_hl7_set_err(struct hl7_error *e, enum hl7_err_code code, struct hl7_pos at,
                        const char *message);
/* An ERR W of the AA: a part of the message skipped. */
void record_hl7_warn(struct record_hl7_result *res, enum hl7_err_code code, struct hl7_pos at,
                     const char *message);
size_t record_hl7_utf8_chars(const char *s);
/* The byte length of the first max characters of s. */
size_t record_hl7_utf8_prefix(const char *s, size_t max);

/* §3.1: the MRN (NULL: no PID-3), and the patient object of a body (mrn and the details the
 * PID gives), or NULL with res->err. */
const char *record_hl7_mrn(const struct hl7_msg *msg);
json_t *record_hl7_patient(const struct hl7_msg *msg, struct record_hl7_result *res);
/* §3.2: the chief complaint, cut to 200 characters (*cut set), or NULL. */
json_t *record_hl7_complaint(const struct hl7_msg *msg, bool *cut);

/* §4.2: the ESI of the message: 0 when no OBX carries one, 1-5, or -1 with err (103 at OBX-5).
 * *obx: the OBX it came from. */
int record_hl7_esi(const struct hl7_msg *msg, unsigned *obx, struct hl7_error *err);

/* §4.6: the measurements of the vitals OBX as a vitals body (without taken_at, taken_by), or
 * NULL: none (err->code 0), or a bad value (err set). *first_obx: the first vitals OBX. */
json_t *record_hl7_vitals_body(const struct hl7_msg *msg, unsigned *first_obx,
                               struct hl7_error *err);
/* The OBX occurrence that gave a vitals body field, 0 when none. */
unsigned record_hl7_vitals_obx(const struct hl7_msg *msg, const char *field);

/* §4.5: the allergy body of AL1 occurrence occ ({"no_known_allergies": true} for NKA / NKDA),
 * or NULL with err. */
json_t *record_hl7_allergy_body(const struct hl7_msg *msg, unsigned occ, struct hl7_error *err);

/* §4.3: disposition.kind of a PV1-36 code; NULL for 30 (still a patient). *unknown: a code not
 * in the table (kind other). */
const char *record_hl7_disposition_kind(const char *code, bool *unknown);

/* PV1-3 as text, point of care, room and bed joined by spaces (cut to 100 characters); "" when
 * none. */
void record_hl7_location_text(const struct hl7_msg *msg, char *out, size_t cap);

/* ---- applying (record_hl7_apply.c: what every event needs) ---- */

/* The open encounter a message works on, as it is before the message's next write. */
struct hl7_encounter {
    long long id, patient_id, bed_id, attending_id; /* 0: none */
    int esi;                                        /* 0: not triaged */
    char status[32];
    char disposition[32]; /* "" when none */
    char destination[512];
    char complaint[1024];
};

/* One message being applied: what every part needs. */
struct hl7_apply {
    PGconn *conn;
    const struct hl7_msg *msg;
    const struct record_hl7_opts *opts;
    struct record_hl7_result *res;
    struct record_write *out; /* the last write */
    struct principal who;     /* the interface, scoped to the message's department */
    char zone[64];            /* the department's time zone */
    const char *event_at;     /* the event time (RFC 3339), NULL: now */
    char event_at_buf[40];
    struct hl7_pos event_from; /* EVN-6, EVN-2 or MSH-7 */
    bool foreign_location;     /* PV1-3.1 names no department: an inpatient location */
    struct hl7_encounter enc;
};

/* The department of §3.6 (PV1-3.1, else the default) and the interface's principal in it.
 * must_exist: a PV1-3.1 that names no department is AE 103 (A04); else the default department
 * is taken (an A01's ward, an A02's inpatient bed) and *foreign set. False with res->err. */
bool record_hl7_department(struct hl7_apply *a, bool must_exist, bool *foreign);
/* The event time of §2 into a->event_at. False with res->err (AE 102). */
bool record_hl7_event_time(struct hl7_apply *a);
/* A DTM of the message as RFC 3339 (read in the department's zone without an offset) in out
 * (40 bytes); NULL when not valued; false with AE 102 at at. */
bool record_hl7_time_at(struct hl7_apply *a, const char *dtm, struct hl7_pos at, char *out,
                        const char **result);

/* The patient's open encounter in the department into a->enc: 1 found, 0 none, -1 (AE). */
int record_hl7_open_encounter(struct hl7_apply *a, const char *mrn);
/* a->enc read again after a write. */
bool record_hl7_reload(struct hl7_apply *a);
/* The PID details given must match the stored patient with this MRN (AE 205 at the first that
 * differs); *known: the MRN is on record. */
bool record_hl7_pid_matches(struct hl7_apply *a, const json_t *patient, bool *known);

/* The record's refusal of a part as AE: 205/206 for 409, 204 for 404, 101/102 for 422 at at
 * (a time refused: at time_from), 207 for the database. Always false. */
bool record_hl7_refused(struct hl7_apply *a, const struct ed_error *e, struct hl7_pos at,
                        struct hl7_pos time_from);
/* Keeps the write as the last one (a->out). */
void record_hl7_keep(struct hl7_apply *a, struct record_write *w);
/* AE 207: the database could not be read. Always false. */
bool record_hl7_db_error(struct hl7_apply *a);

/* ---- the parts (record_hl7_parts.c) ---- */

/* The parts of §1 step 5, each a no-op when the message does not carry it. False: AE. */
bool record_hl7_bed(struct hl7_apply *a);
bool record_hl7_attending(struct hl7_apply *a);
bool record_hl7_triage(struct hl7_apply *a, bool from_arrival);
bool record_hl7_allergies(struct hl7_apply *a);
bool record_hl7_vitals(struct hl7_apply *a);
/* PV1-36 (§4.3) at decided_at; *recorded says whether a disposition is now on the encounter. */
bool record_hl7_disposition(struct hl7_apply *a, const char *decided_at, struct hl7_pos time_from,
                            bool *recorded);

#endif
