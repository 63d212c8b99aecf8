/* SPDX-License-Identifier: MIT */
/* hl7_ack.h: the ACK of an inbound HL7 v2 message (original acknowledgment mode): MSH with
 * sender and receiver swapped, MSH-9 ACK^<trigger>^ACK, the inbound version (2.5.1 when it
 * is not one hl7_parse accepts) and processing id; MSA with AA / AE / AR and the inbound MSH-10;
 * for AE / AR an ERR segment saying where and why (table 0357). Pure: the caller gives the control
 * id and the time. */
#ifndef EDLIVE_HL7_ACK_H
#define EDLIVE_HL7_ACK_H

#include <stddef.h>
#include <time.h>

#include "hl7.h"

enum hl7_ack_code {
    HL7_ACK_AA, /* applied */
    HL7_ACK_AE, /* parsed, but cannot be applied (unknown patient, ...) */
    HL7_ACK_AR, /* refused: does not parse, or an unsupported type / version */
};

struct hl7_ack_opts {
    const char *control_id; /* the ACK's MSH-10 (e.g. "EDL" + a counter); required */
    time_t now;             /* the ACK's MSH-7, written in UTC */
    const char *app;        /* our MSH-3 when the inbound MSH-5 is empty, e.g. "EDLIVE" */
    const char *facility;   /* our MSH-4 when the inbound MSH-6 is empty */
};

/* The ACK of in (NULL when nothing of the inbound MSH is readable: a minimal MSH, version
 * 2.5.1, processing id P and an empty MSA-2), with one ERR segment per entry of errs[0..nerrs):
 * severity E for AE / AR (their first entry is the reason; code 0 reads as 207), severity W
 * for AA (a part of the message that was skipped; entries with code 0 are left out). Versions
 * 2.3 and 2.4 get ERR-1 (and the first message in MSA-3) instead of ERR-2 .. ERR-8, which
 * they do not have. Returns a new NUL-terminated message, segments ended by CR (length in
 * *len), or NULL when memory ran out or opts lacks a control id. */
char *hl7_ack_build(const struct hl7_msg *in, enum hl7_ack_code code, const struct hl7_error *errs,
                    size_t nerrs, const struct hl7_ack_opts *opts, size_t *len);

/* The AR for raw[0..raw_len), which hl7_parse refused with err: uses the ids of its MSH when
 * that can be read (hl7_parse_msh), else a minimal MSH. Same result as hl7_ack_build. */
char *hl7_ack_reject(const char *raw, size_t raw_len, const struct hl7_error *err,
                     const struct hl7_ack_opts *opts, size_t *len);

/* The name of a table 0357 code ("Required field missing"), "Application internal error"
 * for codes not in the table. */
const char *hl7_err_code_text(enum hl7_err_code code);

#endif
