/* SPDX-License-Identifier: MIT */
/* hl7_ack.c: builds the ACK of an inbound message, re-encoding every value it copies with the
 * standard encoding characters (hl7_buf_field), whatever the sender used. */
#include "hl7_ack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    enum hl7_err_code code;
    const char *text;
} code_texts[] = {
    {HL7_OK, "Message accepted"},
    {HL7_E_SEGMENT_SEQUENCE, "Segment sequence error"},
    {HL7_E_REQUIRED_FIELD, "Required field missing"},
    {HL7_E_DATA_TYPE, "Data type error"},
    {HL7_E_TABLE_VALUE, "Table value not found"},
    {HL7_E_UNSUPPORTED_TYPE, "Unsupported message type"},
    {HL7_E_UNSUPPORTED_EVENT, "Unsupported event code"},
    {HL7_E_UNSUPPORTED_PROCESSING, "Unsupported processing id"},
    {HL7_E_UNSUPPORTED_VERSION, "Unsupported version id"},
    {HL7_E_UNKNOWN_KEY, "Unknown key identifier"},
    {HL7_E_DUPLICATE_KEY, "Duplicate key identifier"},
    {HL7_E_RECORD_LOCKED, "Application record locked"},
    {HL7_E_INTERNAL, "Application internal error"},
};

const char *hl7_err_code_text(enum hl7_err_code code)
{
    for (size_t i = 0; i < sizeof code_texts / sizeof code_texts[0]; i++)
        if (code_texts[i].code == code)
            return code_texts[i].text;
    return "Application internal error";
}

/* A field of in, first repetition, re-encoded; fallback (escaped) when it is not valued. */
static void copy_field(struct hl7_buf *b, const struct hl7_msg *in, unsigned field,
                       const char *fallback)
{
    const char *first = in ? hl7_get(in, "MSH", 1, field, 1, 1, 1) : NULL;

    if (in && hl7_comp_count(in, "MSH", 1, field, 1) > 0 &&
        (first || hl7_comp_count(in, "MSH", 1, field, 1) > 1))
        hl7_buf_field(b, in, "MSH", 1, field, 1);
    else
        hl7_buf_escaped(b, &hl7_standard_encoding, fallback);
}

/* One leaf of in, escaped for the standard encoding (nothing when absent or null). */
static void copy_text(struct hl7_buf *b, const struct hl7_msg *in, unsigned field, unsigned comp)
{
    const char *text = in ? hl7_get(in, "MSH", 1, field, 1, comp, 1) : NULL;

    if (text && !hl7_is_null(text))
        hl7_buf_escaped(b, &hl7_standard_encoding, text);
}

static void add_msh(struct hl7_buf *b, const struct hl7_msg *in, const struct hl7_ack_opts *o,
                    const char *version)
{
    char stamp[32] = "";
    struct tm tm;
    const char *trigger = in ? hl7_get(in, "MSH", 1, 9, 1, 2, 1) : NULL;

    if (gmtime_r(&o->now, &tm))
        strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S+0000", &tm);
    hl7_buf_str(b, "MSH|^~\\&|");
    copy_field(b, in, 5, o->app); /* their receiver is us */
    hl7_buf_char(b, '|');
    copy_field(b, in, 6, o->facility);
    hl7_buf_char(b, '|');
    copy_field(b, in, 3, NULL);
    hl7_buf_char(b, '|');
    copy_field(b, in, 4, NULL);
    hl7_buf_str(b, "|");
    hl7_buf_str(b, stamp);
    hl7_buf_str(b, "||ACK");
    if (trigger && !hl7_is_null(trigger)) {
        hl7_buf_char(b, '^');
        hl7_buf_escaped(b, &hl7_standard_encoding, trigger);
        hl7_buf_str(b, "^ACK");
    }
    hl7_buf_char(b, '|');
    hl7_buf_escaped(b, &hl7_standard_encoding, o->control_id);
    hl7_buf_char(b, '|');
    copy_field(b, in, 11, "P");
    hl7_buf_char(b, '|');
    hl7_buf_escaped(b, &hl7_standard_encoding, version);
    hl7_buf_char(b, '\r');
}

/* ERR-2 (v2.5+) or the first components of ERR-1 (v2.3, 2.4): segment^sequence^field... */
static void add_location(struct hl7_buf *b, const struct hl7_error *e, bool full, char sep)
{
    const unsigned pos[] = {e->seg_seq, e->field, full ? e->rep : 0, full ? e->comp : 0,
                            full ? e->sub : 0};
    char num[16];
    int last = -1;

    if (!e->segment[0])
        return;
    hl7_buf_str(b, e->segment);
    for (int i = 0; i < 5; i++)
        if (pos[i])
            last = i;
    for (int i = 0; i <= last; i++) {
        hl7_buf_char(b, sep);
        if (pos[i]) {
            snprintf(num, sizeof num, "%u", pos[i]);
            hl7_buf_str(b, num);
        }
    }
}

static void add_err(struct hl7_buf *b, const struct hl7_error *e, bool old_version, char severity)
{
    enum hl7_err_code code = e->code ? e->code : HL7_E_INTERNAL;
    char num[16];

    snprintf(num, sizeof num, "%u", (unsigned)code);
    hl7_buf_str(b, "ERR|");
    if (old_version) { /* ERR-1 ELD: segment^sequence^field^code&text&HL70357 */
        add_location(b, e, false, '^');
        if (!e->segment[0])
            hl7_buf_str(b, "^^");
        else if (!e->field)
            hl7_buf_str(b, e->seg_seq ? "^" : "^^");
        hl7_buf_char(b, '^');
        hl7_buf_str(b, num);
        hl7_buf_char(b, '&');
        hl7_buf_escaped(b, &hl7_standard_encoding, hl7_err_code_text(code));
        hl7_buf_str(b, "&HL70357\r");
        return;
    }
    hl7_buf_char(b, '|');
    add_location(b, e, true, '^');
    hl7_buf_char(b, '|');
    hl7_buf_str(b, num);
    hl7_buf_char(b, '^');
    hl7_buf_escaped(b, &hl7_standard_encoding, hl7_err_code_text(code));
    hl7_buf_str(b, "^HL70357|");
    hl7_buf_char(b, severity);
    hl7_buf_str(b, "||||");
    hl7_buf_escaped(b, &hl7_standard_encoding, e->message);
    hl7_buf_char(b, '\r');
}

char *hl7_ack_build(const struct hl7_msg *in, enum hl7_ack_code code, const struct hl7_error *errs,
                    size_t nerrs, const struct hl7_ack_opts *opts, size_t *len)
{
    static const char *const codes[] = {"AA", "AE", "AR"};
    struct hl7_buf b = {0};
    const char *version = in ? hl7_get(in, "MSH", 1, 12, 1, 1, 1) : NULL;
    const struct hl7_error *first = NULL;
    bool old_version;

    if (!opts || !opts->control_id || !opts->control_id[0] || code > HL7_ACK_AR || (nerrs && !errs))
        return NULL;
    if (!hl7_version_supported(version))
        version = "2.5.1"; /* an AR for an unsupported version answers in one we speak */
    old_version = !strncmp(version, "2.3", 3) || !strncmp(version, "2.4", 3);
    for (size_t i = 0; i < nerrs && !first; i++)
        if (code != HL7_ACK_AA || errs[i].code)
            first = &errs[i];
    add_msh(&b, in, opts, version);
    hl7_buf_str(&b, "MSA|");
    hl7_buf_str(&b, codes[code]);
    hl7_buf_char(&b, '|');
    copy_text(&b, in, 10, 1);
    if (first && old_version) {
        hl7_buf_char(&b, '|');
        hl7_buf_escaped(&b, &hl7_standard_encoding, first->message);
    }
    hl7_buf_char(&b, '\r');
    for (size_t i = 0; i < nerrs; i++)
        if (code != HL7_ACK_AA || errs[i].code)
            add_err(&b, &errs[i], old_version, code == HL7_ACK_AA ? 'W' : 'E');
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.data;
}

char *hl7_ack_reject(const char *raw, size_t raw_len, const struct hl7_error *err,
                     const struct hl7_ack_opts *opts, size_t *len)
{
    struct hl7_msg *header = hl7_parse_msh(raw, raw_len);
    char *ack = hl7_ack_build(header, HL7_ACK_AR, err, err ? 1 : 0, opts, len);

    hl7_free(header);
    return ack;
}
