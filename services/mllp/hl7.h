/* SPDX-License-Identifier: MIT */
/* hl7.h: the HL7 v2 parser of ed-mllp (pure: no I/O, no clock, no globals). One message, as
 * the MLLP framer hands it over, becomes a tree: segments -> fields -> repetitions ->
 * components -> subcomponents, each leaf unescaped once at parse time. Accessors return text
 * owned by the message. Flow and limits: services/mllp/README.md. */
#ifndef EDLIVE_HL7_H
#define EDLIVE_HL7_H

#include <stdbool.h>
#include <stddef.h>

/* HL7 table 0357 (message error condition codes): what ERR-3 of an ACK carries. */
enum hl7_err_code {
    HL7_OK = 0,
    HL7_E_SEGMENT_SEQUENCE = 100, /* a segment missing, misplaced or malformed */
    HL7_E_REQUIRED_FIELD = 101,   /* a required field is missing */
    HL7_E_DATA_TYPE = 102,        /* a value of the wrong shape (bad UTF-8, NUL, bad MSH-2) */
    HL7_E_TABLE_VALUE = 103,      /* a coded value not in its table */
    HL7_E_UNSUPPORTED_TYPE = 200, /* unsupported message type */
    HL7_E_UNSUPPORTED_EVENT = 201,
    HL7_E_UNSUPPORTED_PROCESSING = 202,
    HL7_E_UNSUPPORTED_VERSION = 203, /* MSH-12 outside 2.3 .. 2.8.2 */
    HL7_E_UNKNOWN_KEY = 204,         /* e.g. an update for a patient we do not know */
    HL7_E_DUPLICATE_KEY = 205,
    HL7_E_RECORD_LOCKED = 206,
    HL7_E_INTERNAL = 207, /* also: the message exceeds the parser's limits */
};

/* Where and why a message was refused (or could not be applied): ERR-2 .. ERR-8 of the ACK.
 * Positions are 1-based; 0 means "not known / the whole of the level above". */
struct hl7_error {
    enum hl7_err_code code;
    char segment[4];   /* segment id, e.g. "PID"; "" when no segment is at fault */
    unsigned seg_seq;  /* the occurrence of that segment id in the message (1 = first) */
    unsigned field;    /* field position (MSH-1 is the field separator) */
    unsigned rep;      /* repetition */
    unsigned comp;     /* component */
    unsigned sub;      /* subcomponent */
    char message[160]; /* for ERR-8 and the logs: never contains message contents */
};

/* Bounds on what one message may cost. Every count is checked before memory is taken. */
struct hl7_limits {
    size_t max_bytes;      /* the whole message */
    unsigned max_segments; /* segments in the message */
    unsigned max_fields;   /* fields in one segment */
    unsigned max_leaves;   /* subcomponents in the whole message (bounds every other level) */
};

#define HL7_MAX_BYTES_DEFAULT    (1024 * 1024)
#define HL7_MAX_SEGMENTS_DEFAULT 1000
#define HL7_MAX_FIELDS_DEFAULT   256
#define HL7_MAX_LEAVES_DEFAULT   200000

/* The encoding characters of a message (MSH-1, MSH-2). */
struct hl7_encoding {
    char field, comp, rep, esc, sub;
};

/* The standard set, |^~\&, which every ACK uses. */
extern const struct hl7_encoding hl7_standard_encoding;

struct hl7_msg;

/* hl7_parse: parses one message (the payload of one MLLP frame). A UTF-8 BOM and blank lines
 * before MSH are skipped; segments end with CR, LF or CRLF. Refused, with err filled (the AR
 * of the ACK): no MSH first, a bad MSH-2, a malformed segment id, a batch (FHS/BHS) or a
 * second MSH, NUL bytes or invalid UTF-8 (after unescaping), MSH-9.1 / MSH-10 / MSH-12
 * missing, a version outside 2.3 .. 2.8.2, and anything beyond lim (NULL: the defaults above).
 * MSH-9.2 (the trigger, required for ADT) is the caller's check.
 * Returns a new message (hl7_free) or NULL. Never reads past data + len; no recursion. */
struct hl7_msg *hl7_parse(const char *data, size_t len, const struct hl7_limits *lim,
                          struct hl7_error *err);

/* hl7_parse_msh: the best that can be read of the first segment of data when hl7_parse
 * refused it: the MSH alone, with none of the required-field checks (for the AR's ids).
 * NULL when data does not start (after a BOM / blank lines) with a readable MSH. */
struct hl7_msg *hl7_parse_msh(const char *data, size_t len);

void hl7_free(struct hl7_msg *msg);

/* True for the versions accepted in MSH-12: 2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1,
 * 2.8, 2.8.1, 2.8.2. */
bool hl7_version_supported(const char *version);

/* The null value ("" on the wire: "delete this value"), as hl7_get returns it. Its text is
 * empty, so a caller that forgets to test for it reads "no value". Test with hl7_is_null. */
extern const char hl7_null[];
bool hl7_is_null(const char *value);

/* hl7_get: the unescaped text of one subcomponent:
 *   seg    segment id ("PID"), occ its occurrence (1 = first);
 *   field  field position (for MSH: 1 = the field separator, 2 = the encoding characters);
 *   rep, comp, sub  repetition, component, subcomponent, 1-based (0 reads as 1).
 * Returns NULL when that element is absent or empty (not valued: trailing separators change
 * nothing), hl7_null when it is "" (the HL7 null), else non-empty text owned by msg (valid
 * until hl7_free). The text is valid UTF-8 without NUL bytes; \.br\ became "\n". */
const char *hl7_get(const struct hl7_msg *msg, const char *seg, unsigned occ, unsigned field,
                    unsigned rep, unsigned comp, unsigned sub);

/* Counts: segments with id seg (NULL: all); fields of a segment (its last valued field's
 * position); repetitions of a field; components of a repetition; 0 when absent. */
unsigned hl7_segment_count(const struct hl7_msg *msg, const char *seg);
unsigned hl7_field_count(const struct hl7_msg *msg, const char *seg, unsigned occ);
unsigned hl7_rep_count(const struct hl7_msg *msg, const char *seg, unsigned occ, unsigned field);
unsigned hl7_comp_count(const struct hl7_msg *msg, const char *seg, unsigned occ, unsigned field,
                        unsigned rep);

/* The id of the i-th segment (0-based, message order), NULL past the end. */
const char *hl7_segment_id(const struct hl7_msg *msg, unsigned i);

const struct hl7_encoding *hl7_msg_encoding(const struct hl7_msg *msg);

/* ---- output: a growable text buffer, escaping, re-encoding ---- */

/* Text being built. On allocation failure or past max, failed is set and appends are no-ops. */
struct hl7_buf {
    char *data; /* NUL-terminated when not failed; the caller frees it */
    size_t len, cap;
    size_t max; /* 0: HL7_MAX_BYTES_DEFAULT */
    bool failed;
};

void hl7_buf_add(struct hl7_buf *buf, const char *text, size_t len);
void hl7_buf_str(struct hl7_buf *buf, const char *text);
void hl7_buf_char(struct hl7_buf *buf, char c);

/* Appends text escaped for enc: its delimiters as \F\ \S\ \T\ \R\ \E\, LF as \.br\, CR and
 * other control characters as \Xhh\ (and the text "" as \X22\", not the null), so that
 * hl7_parse reads back exactly text. NULL and hl7_null append nothing. */
void hl7_buf_escaped(struct hl7_buf *buf, const struct hl7_encoding *enc, const char *text);

/* Appends one repetition of a field of msg re-encoded with the standard encoding (components
 * and subcomponents kept, every leaf escaped again; a null leaf stays ""). Nothing when absent. */
void hl7_buf_field(struct hl7_buf *buf, const struct hl7_msg *msg, const char *seg, unsigned occ,
                   unsigned field, unsigned rep);

#endif
