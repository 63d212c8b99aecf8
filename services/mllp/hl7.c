/* SPDX-License-Identifier: MIT */
/* hl7.c: HL7 v2 message parser. One linear pass over the message splits each segment line at
 * the encoding characters of its MSH into flat arrays (fields -> repetitions -> components ->
 * leaves, each a range of the next level), unescaping every leaf into one text block as it
 * goes; then the MSH is checked. No recursion, every count bounded (struct hl7_limits). */
#include "hl7.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct hl7_encoding hl7_standard_encoding = {'|', '^', '~', '\\', '&'};
const char hl7_null[] = "";

struct range {
    uint32_t first; /* index of the first child in the next level's array */
    uint32_t count;
};

struct leaf {
    uint32_t text; /* offset in msg->text (NUL-terminated) */
    uint32_t len;
    bool is_null; /* "" on the wire */
};

struct segment {
    char id[4];
    struct range fields; /* field k of the segment is fields[first + k]; k = 0 is the id */
};

struct hl7_msg {
    struct hl7_encoding enc;
    char *text; /* every leaf's unescaped text, each NUL-terminated */
    size_t text_len, text_cap;
    struct segment *segs;
    struct range *fields, *reps, *comps;
    struct leaf *leaves;
    size_t nsegs, nfields, nreps, ncomps, nleaves;
    size_t cap_segs, cap_fields, cap_reps, cap_comps, cap_leaves;
};

/* The parse in progress. */
struct parser {
    struct hl7_msg *msg;
    struct hl7_limits lim;
    struct hl7_error *err;
    bool header_only; /* hl7_parse_msh: the MSH alone, no checks of its content */
};

static const char *const versions[] = {"2.3", "2.3.1", "2.4", "2.5",   "2.5.1", "2.6",
                                       "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2", NULL};

/* ---- errors ---- */

static unsigned seg_seq_of(const struct hl7_msg *msg, size_t index)
{
    unsigned n = 0;

    for (size_t i = 0; i <= index && i < msg->nsegs; i++)
        n += !strcmp(msg->segs[i].id, msg->segs[index].id);
    return n;
}

/* Fills err at the element being parsed (the last one opened at each level). */
static bool fail_here(struct parser *p, enum hl7_err_code code, const char *what)
{
    struct hl7_msg *m = p->msg;
    struct hl7_error *e = p->err;

    memset(e, 0, sizeof *e);
    e->code = code;
    snprintf(e->message, sizeof e->message, "%s", what);
    if (m->nsegs == 0)
        return false;
    snprintf(e->segment, sizeof e->segment, "%s", m->segs[m->nsegs - 1].id);
    e->seg_seq = seg_seq_of(m, m->nsegs - 1);
    if (m->segs[m->nsegs - 1].fields.count > 1) {
        e->field = m->segs[m->nsegs - 1].fields.count - 1;
        e->rep = m->fields[m->nfields - 1].count;
        e->comp = m->nreps ? m->reps[m->nreps - 1].count : 0;
        e->sub = m->ncomps ? m->comps[m->ncomps - 1].count + 1 : 0;
    }
    return false;
}

static bool fail_at(struct parser *p, enum hl7_err_code code, const char *seg, unsigned field,
                    unsigned comp, const char *what)
{
    struct hl7_error *e = p->err;

    memset(e, 0, sizeof *e);
    e->code = code;
    snprintf(e->segment, sizeof e->segment, "%s", seg);
    e->seg_seq = seg[0] ? 1 : 0;
    e->field = field;
    e->rep = field ? 1 : 0;
    e->comp = comp;
    snprintf(e->message, sizeof e->message, "%s", what);
    return false;
}

/* ---- the arrays ---- */

/* array with room for need elements of elem bytes (doubling): array itself, a new one (the
 * old one is then gone), or NULL when memory ran out (array is then untouched). */
static void *grown(void *array, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 16;
    void *p;

    if (need <= *cap)
        return array;
    while (n < need)
        n *= 2;
    p = realloc(array, n * elem);
    if (p)
        *cap = n;
    return p;
}

static bool grow_ranges(struct range **arr, size_t *cap, size_t need)
{
    struct range *p = grown(*arr, cap, need, sizeof **arr);
    return p ? (*arr = p, true) : false;
}

static bool grow_segments(struct hl7_msg *m, size_t need)
{
    struct segment *p = grown(m->segs, &m->cap_segs, need, sizeof *m->segs);
    return p ? (m->segs = p, true) : false;
}

static bool grow_leaves(struct hl7_msg *m, size_t need)
{
    struct leaf *p = grown(m->leaves, &m->cap_leaves, need, sizeof *m->leaves);
    return p ? (m->leaves = p, true) : false;
}

static bool open_range(struct parser *p, struct range **arr, size_t *n, size_t *cap,
                       size_t child_count, struct range *parent)
{
    if (!grow_ranges(arr, cap, *n + 1))
        return fail_here(p, HL7_E_INTERNAL, "out of memory");
    (*arr)[*n].first = (uint32_t)child_count;
    (*arr)[*n].count = 0;
    (*n)++;
    parent->count++;
    return true;
}

static bool open_comp(struct parser *p)
{
    struct hl7_msg *m = p->msg;
    return open_range(p, &m->comps, &m->ncomps, &m->cap_comps, m->nleaves, &m->reps[m->nreps - 1]);
}

static bool open_rep(struct parser *p)
{
    struct hl7_msg *m = p->msg;
    return open_range(p, &m->reps, &m->nreps, &m->cap_reps, m->ncomps,
                      &m->fields[m->nfields - 1]) &&
           open_comp(p);
}

static bool open_field(struct parser *p)
{
    struct hl7_msg *m = p->msg;
    struct segment *s = &m->segs[m->nsegs - 1];

    if (s->fields.count >= p->lim.max_fields + 1u) {
        fail_here(p, HL7_E_INTERNAL, "too many fields in one segment");
        p->err->field = s->fields.count; /* the one that did not fit */
        p->err->rep = p->err->comp = p->err->sub = 0;
        return false;
    }
    return open_range(p, &m->fields, &m->nfields, &m->cap_fields, m->nreps, &s->fields) &&
           open_rep(p);
}

/* ---- leaves: unescaping and checks ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The bytes of \Xhh..\ (body = "Xhh.."), or false when not an even run of hex digits or
 * when a byte would be NUL (kept literally then). */
static bool decode_hex(const char *body, size_t n, char *out, size_t *out_len)
{
    size_t k = 0;

    if (n < 3 || (n - 1) % 2)
        return false;
    for (size_t i = 1; i < n; i += 2) {
        int hi = hex_value(body[i]), lo = hex_value(body[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        out[k++] = (char)(hi * 16 + lo);
    }
    *out_len = k;
    return true;
}

/* The replacement of one escape sequence whose body (between the escape characters) is
 * body[0..n); false when it is not one we decode (the caller keeps it literally). */
static bool unescape_one(const struct hl7_encoding *enc, const char *body, size_t n, char *out,
                         size_t *out_len)
{
    *out_len = 1;
    if (n == 0)
        return false;
    if (n == 1) {
        switch (body[0]) {
        case 'F':
            *out = enc->field;
            return true;
        case 'S':
            *out = enc->comp;
            return true;
        case 'T':
            *out = enc->sub;
            return true;
        case 'R':
            *out = enc->rep;
            return true;
        case 'E':
            *out = enc->esc;
            return true;
        case 'H': /* highlighting on / off: the text is kept plain */
        case 'N':
            *out_len = 0;
            return true;
        default:
            return false;
        }
    }
    if ((n == 3 && !memcmp(body, ".br", 3)) || (n == 3 && !memcmp(body, ".sp", 3))) {
        *out = '\n';
        return true;
    }
    if (body[0] == 'X')
        return decode_hex(body, n, out, out_len);
    return false;
}

/* Unescapes raw[0..n) into out (at most n bytes); returns the length written. */
static size_t unescape(const struct hl7_encoding *enc, const char *raw, size_t n, char *out)
{
    size_t o = 0, i = 0;

    while (i < n) {
        const char *end;
        size_t len;

        if (raw[i] != enc->esc || !(end = memchr(raw + i + 1, enc->esc, n - i - 1)) ||
            !unescape_one(enc, raw + i + 1, (size_t)(end - raw - i - 1), out + o, &len)) {
            out[o++] = raw[i++]; /* text, or an escape we keep literally */
            continue;
        }
        o += len;
        i = (size_t)(end - raw) + 1;
    }
    return o;
}

/* True when s[0..n) is UTF-8 without NUL, overlong forms, surrogates or values past U+10FFFF. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], need, cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, cp = c & 0x07;
        else
            return false;
        if (n - i <= need)
            return false;
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

/* Adds raw[0..n) as a leaf of the open component, unescaped unless literal. */
static bool add_leaf(struct parser *p, const char *raw, size_t n, bool literal)
{
    struct hl7_msg *m = p->msg;
    struct leaf *lf;
    char *out;

    if (m->nleaves >= p->lim.max_leaves)
        return fail_here(p, HL7_E_INTERNAL, "too many components in the message");
    if (!grow_leaves(m, m->nleaves + 1))
        return fail_here(p, HL7_E_INTERNAL, "out of memory");
    if (m->text_cap - m->text_len < n + 1) /* cannot happen: text_cap is 2 * input + 16 */
        return fail_here(p, HL7_E_INTERNAL, "text block exhausted");
    lf = &m->leaves[m->nleaves];
    out = m->text + m->text_len;
    lf->text = (uint32_t)m->text_len;
    lf->is_null = !literal && n == 2 && raw[0] == '"' && raw[1] == '"';
    if (literal) {
        memcpy(out, raw, n);
        lf->len = (uint32_t)n;
    } else {
        lf->len = (uint32_t)unescape(&m->enc, raw, n, out);
    }
    out[lf->len] = '\0';
    m->text_len += lf->len + 1u;
    m->nleaves++;
    m->comps[m->ncomps - 1].count++;
    if (!valid_utf8((const unsigned char *)out, lf->len)) {
        m->comps[m->ncomps - 1].count--;
        return fail_here(p, HL7_E_DATA_TYPE, "not UTF-8 text (or a NUL byte)");
    }
    return true;
}

/* ---- segments ---- */

static bool valid_segment_id(const char *s, size_t n)
{
    if (n != 3 || s[0] < 'A' || s[0] > 'Z')
        return false;
    for (int i = 1; i < 3; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* Opens a segment with its id as field 0. */
static bool open_segment(struct parser *p, const char *id)
{
    struct hl7_msg *m = p->msg;
    struct segment *s;

    if (m->nsegs >= p->lim.max_segments)
        return fail_at(p, HL7_E_INTERNAL, "", 0, 0, "too many segments in the message");
    if (!grow_segments(m, m->nsegs + 1))
        return fail_here(p, HL7_E_INTERNAL, "out of memory");
    s = &m->segs[m->nsegs++];
    memcpy(s->id, id, 3);
    s->id[3] = '\0';
    s->fields.first = (uint32_t)m->nfields;
    s->fields.count = 0;
    return open_field(p) && add_leaf(p, id, 3, true);
}

/* Splits line[0..n) (after "XXX" + field separator) into fields, repetitions, components and
 * leaves at the message's encoding characters. */
static bool split_fields(struct parser *p, const char *line, size_t n)
{
    const struct hl7_encoding *enc = &p->msg->enc;
    size_t start = 0;

    if (!open_field(p))
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? line[i] : enc->field;
        bool ok = true;

        if (c != enc->field && c != enc->rep && c != enc->comp && c != enc->sub)
            continue;
        if (!add_leaf(p, line + start, i - start, false))
            return false;
        start = i + 1;
        if (i == n)
            break;
        if (c == enc->field)
            ok = open_field(p);
        else if (c == enc->rep)
            ok = open_rep(p);
        else if (c == enc->comp)
            ok = open_comp(p);
        if (!ok)
            return false;
    }
    return true;
}

/* Drops the trailing fields that hold nothing, so "PID|1|" reads as "PID|1". */
static void trim_empty_fields(struct hl7_msg *m)
{
    struct segment *s = &m->segs[m->nsegs - 1];

    while (s->fields.count > 1) {
        const struct range *f = &m->fields[s->fields.first + s->fields.count - 1];
        const struct range *r = &m->reps[f->first];
        const struct range *c = &m->comps[r->first];
        const struct leaf *l = &m->leaves[c->first];
        if (f->count != 1 || r->count != 1 || c->count != 1 || l->len != 0 || l->is_null)
            break;
        s->fields.count--;
    }
}

/* MSH-1 and MSH-2 from the first line, which starts with "MSH". */
static bool read_msh(struct parser *p, const char *line, size_t n, size_t *rest)
{
    struct hl7_msg *m = p->msg;
    struct hl7_encoding *enc = &m->enc;
    const char *chars;
    size_t nchars = 0;

    if (n < 4)
        return fail_at(p, HL7_E_SEGMENT_SEQUENCE, "MSH", 1, 0, "MSH without encoding characters");
    enc->field = line[3];
    chars = line + 4;
    while (4 + nchars < n && line[4 + nchars] != enc->field)
        nchars++;
    if (nchars < 4 || nchars > 5)
        return fail_at(p, HL7_E_DATA_TYPE, "MSH", 2, 0,
                       "MSH-2 must hold 4 encoding characters (5 with truncation)");
    enc->comp = chars[0];
    enc->rep = chars[1];
    enc->esc = chars[2];
    enc->sub = chars[3];
    {
        const char set[5] = {enc->field, enc->comp, enc->rep, enc->esc, enc->sub};
        for (int i = 0; i < 5; i++) {
            unsigned char c = (unsigned char)set[i];
            if (c < 0x21 || c > 0x7E || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                (c >= 'a' && c <= 'z') || c == '"')
                return fail_at(p, HL7_E_DATA_TYPE, "MSH", i ? 2 : 1, 0,
                               "an encoding character must be punctuation");
            for (int j = 0; j < i; j++)
                if (set[j] == set[i])
                    return fail_at(p, HL7_E_DATA_TYPE, "MSH", 2, 0,
                                   "the encoding characters must differ");
        }
    }
    if (!open_segment(p, "MSH") || !open_field(p) || !add_leaf(p, line + 3, 1, true) ||
        !open_field(p) || !add_leaf(p, chars, nchars, true))
        return false;
    *rest = 4 + nchars; /* at the separator after MSH-2, or the end */
    return true;
}

/* The checks every message must pass before anything reads it (refusals are ARs). */
static bool check_msh(struct parser *p)
{
    const struct hl7_msg *m = p->msg;
    const char *version;

    if (!hl7_get(m, "MSH", 1, 9, 1, 1, 1) || hl7_is_null(hl7_get(m, "MSH", 1, 9, 1, 1, 1)))
        return fail_at(p, HL7_E_REQUIRED_FIELD, "MSH", 9, 1, "MSH-9 (message type) is missing");
    if (!hl7_get(m, "MSH", 1, 10, 1, 1, 1) || hl7_is_null(hl7_get(m, "MSH", 1, 10, 1, 1, 1)))
        return fail_at(p, HL7_E_REQUIRED_FIELD, "MSH", 10, 0,
                       "MSH-10 (message control id) is missing");
    version = hl7_get(m, "MSH", 1, 12, 1, 1, 1);
    if (!version || hl7_is_null(version))
        return fail_at(p, HL7_E_REQUIRED_FIELD, "MSH", 12, 0, "MSH-12 (version id) is missing");
    if (hl7_version_supported(version))
        return true;
    return fail_at(p, HL7_E_UNSUPPORTED_VERSION, "MSH", 12, 0,
                   "MSH-12: only versions 2.3 to 2.8.2 are accepted");
}

bool hl7_version_supported(const char *version)
{
    for (int i = 0; version && versions[i]; i++)
        if (!strcmp(version, versions[i]))
            return true;
    return false;
}

/* The next line of data[*pos..n): its start and length; false at the end. Lines end at CR,
 * LF or CRLF; empty lines and lines of blanks are skipped. */
static bool next_line(const char *data, size_t n, size_t *pos, const char **line, size_t *len)
{
    while (*pos < n) {
        size_t start = *pos, end = start, k;
        while (end < n && data[end] != '\r' && data[end] != '\n')
            end++;
        *pos = end < n && data[end] == '\r' && end + 1 < n && data[end + 1] == '\n' ? end + 2
                                                                                    : end + 1;
        for (k = start; k < end && (data[k] == ' ' || data[k] == '\t'); k++)
            ;
        if (k < end) {
            *line = data + start;
            *len = end - start;
            return true;
        }
    }
    return false;
}

static bool parse_lines(struct parser *p, const char *data, size_t n)
{
    const char *line;
    size_t len, pos = 0, rest = 0;
    bool first = true;

    if (n >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
        pos = 3;
    while (next_line(data, n, &pos, &line, &len)) {
        if (first) {
            if (len < 3 || memcmp(line, "MSH", 3))
                return fail_at(p, HL7_E_SEGMENT_SEQUENCE, "", 0, 0,
                               len >= 3 && (!memcmp(line, "FHS", 3) || !memcmp(line, "BHS", 3))
                                   ? "batches (FHS/BHS) are not accepted: one message per frame"
                                   : "the message does not start with MSH");
            if (!read_msh(p, line, len, &rest))
                return false;
            first = false;
        } else {
            rest = 0;
            while (rest < len && line[rest] != p->msg->enc.field)
                rest++;
            if (rest == 3 && !memcmp(line, "MSH", 3))
                return fail_at(p, HL7_E_SEGMENT_SEQUENCE, "", 0, 0,
                               "a second MSH: one message per frame");
            if (!valid_segment_id(line, rest)) {
                char what[96];
                snprintf(what, sizeof what, "segment %zu: a segment id is 3 capitals or digits",
                         p->msg->nsegs + 1);
                return fail_at(p, HL7_E_SEGMENT_SEQUENCE, "", 0, 0, what);
            }
            if (!open_segment(p, line))
                return false;
        }
        if (rest < len && !split_fields(p, line + rest + 1, len - rest - 1))
            return false;
        trim_empty_fields(p->msg);
        if (p->header_only)
            return true;
    }
    if (first)
        return fail_at(p, HL7_E_SEGMENT_SEQUENCE, "", 0, 0, "the message is empty");
    return true;
}

static struct hl7_msg *parse(const char *data, size_t len, const struct hl7_limits *lim,
                             bool header_only, struct hl7_error *err)
{
    static const struct hl7_limits defaults = {HL7_MAX_BYTES_DEFAULT, HL7_MAX_SEGMENTS_DEFAULT,
                                               HL7_MAX_FIELDS_DEFAULT, HL7_MAX_LEAVES_DEFAULT};
    struct hl7_error spare;
    struct parser p = {
        .lim = lim ? *lim : defaults, .err = err ? err : &spare, .header_only = header_only};

    memset(p.err, 0, sizeof *p.err);
    if (!data)
        len = 0;
    if (len > p.lim.max_bytes || len > UINT32_MAX / 4) {
        fail_at(&p, HL7_E_INTERNAL, "", 0, 0, "the message is larger than the limit");
        return NULL;
    }
    p.msg = calloc(1, sizeof *p.msg);
    if (p.msg) {
        p.msg->text_cap = 2 * len + 16;
        p.msg->text = malloc(p.msg->text_cap);
    }
    if (!p.msg || !p.msg->text) {
        hl7_free(p.msg);
        fail_at(&p, HL7_E_INTERNAL, "", 0, 0, "out of memory");
        return NULL;
    }
    if (!parse_lines(&p, data ? data : "", len) || (!header_only && !check_msh(&p))) {
        hl7_free(p.msg);
        return NULL;
    }
    return p.msg;
}

struct hl7_msg *hl7_parse(const char *data, size_t len, const struct hl7_limits *lim,
                          struct hl7_error *err)
{
    return parse(data, len, lim, false, err);
}

struct hl7_msg *hl7_parse_msh(const char *data, size_t len)
{
    struct hl7_limits lim = {HL7_MAX_BYTES_DEFAULT, 1, HL7_MAX_FIELDS_DEFAULT,
                             HL7_MAX_LEAVES_DEFAULT};
    size_t n = 0, skip = 0;

    if (!data)
        return NULL;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
        skip = 3;
    while (skip < len && (data[skip] == '\r' || data[skip] == '\n'))
        skip++;
    /* The first line alone: the rest may be what made hl7_parse refuse the message. */
    while (skip + n < len && data[skip + n] != '\r' && data[skip + n] != '\n')
        n++;
    return parse(data + skip, n, &lim, true, NULL);
}

void hl7_free(struct hl7_msg *msg)
{
    if (!msg)
        return;
    free(msg->text);
    free(msg->segs);
    free(msg->fields);
    free(msg->reps);
    free(msg->comps);
    free(msg->leaves);
    free(msg);
}

/* ---- accessors ---- */

bool hl7_is_null(const char *value)
{
    return value == hl7_null;
}

static const struct segment *find_segment(const struct hl7_msg *msg, const char *seg, unsigned occ)
{
    if (!msg || !seg)
        return NULL;
    if (occ == 0)
        occ = 1;
    for (size_t i = 0; i < msg->nsegs; i++)
        if (!strcmp(msg->segs[i].id, seg) && --occ == 0)
            return &msg->segs[i];
    return NULL;
}

static const struct range *find_field(const struct hl7_msg *msg, const char *seg, unsigned occ,
                                      unsigned field)
{
    const struct segment *s = find_segment(msg, seg, occ);

    if (!s || field >= s->fields.count)
        return NULL;
    return &msg->fields[s->fields.first + field];
}

static const struct range *find_rep(const struct hl7_msg *msg, const char *seg, unsigned occ,
                                    unsigned field, unsigned rep)
{
    const struct range *f = find_field(msg, seg, occ, field);

    rep = rep ? rep : 1;
    if (!f || rep > f->count)
        return NULL;
    return &msg->reps[f->first + rep - 1];
}

static const char *leaf_text(const struct hl7_msg *msg, const struct leaf *lf)
{
    if (lf->is_null)
        return hl7_null;
    return lf->len ? msg->text + lf->text : NULL;
}

const char *hl7_get(const struct hl7_msg *msg, const char *seg, unsigned occ, unsigned field,
                    unsigned rep, unsigned comp, unsigned sub)
{
    const struct range *r = find_rep(msg, seg, occ, field, rep), *c;

    comp = comp ? comp : 1;
    sub = sub ? sub : 1;
    if (!r || comp > r->count)
        return NULL;
    c = &msg->comps[r->first + comp - 1];
    if (sub > c->count)
        return NULL;
    return leaf_text(msg, &msg->leaves[c->first + sub - 1]);
}

unsigned hl7_segment_count(const struct hl7_msg *msg, const char *seg)
{
    unsigned n = 0;

    if (!msg)
        return 0;
    for (size_t i = 0; i < msg->nsegs; i++)
        n += !seg || !strcmp(msg->segs[i].id, seg);
    return n;
}

unsigned hl7_field_count(const struct hl7_msg *msg, const char *seg, unsigned occ)
{
    const struct segment *s = find_segment(msg, seg, occ);
    return s ? s->fields.count - 1 : 0;
}

unsigned hl7_rep_count(const struct hl7_msg *msg, const char *seg, unsigned occ, unsigned field)
{
    const struct range *f = find_field(msg, seg, occ, field);
    return f ? f->count : 0;
}

unsigned hl7_comp_count(const struct hl7_msg *msg, const char *seg, unsigned occ, unsigned field,
                        unsigned rep)
{
    const struct range *r = find_rep(msg, seg, occ, field, rep);
    return r ? r->count : 0;
}

const char *hl7_segment_id(const struct hl7_msg *msg, unsigned i)
{
    return msg && i < msg->nsegs ? msg->segs[i].id : NULL;
}

const struct hl7_encoding *hl7_msg_encoding(const struct hl7_msg *msg)
{
    return &msg->enc;
}

/* ---- output: one field re-encoded (the buffer and escaping are hl7_buf.c) ---- */

void hl7_buf_field(struct hl7_buf *buf, const struct hl7_msg *msg, const char *seg, unsigned occ,
                   unsigned field, unsigned rep)
{
    const struct range *r = find_rep(msg, seg, occ, field, rep);
    const struct hl7_encoding *std = &hl7_standard_encoding;

    if (!r)
        return;
    for (uint32_t c = 0; c < r->count; c++) {
        const struct range *comp = &msg->comps[r->first + c];
        if (c)
            hl7_buf_char(buf, std->comp);
        for (uint32_t s = 0; s < comp->count; s++) {
            const struct leaf *lf = &msg->leaves[comp->first + s];
            if (s)
                hl7_buf_char(buf, std->sub);
            if (lf->is_null)
                hl7_buf_str(buf, "\"\"");
            else
                hl7_buf_escaped(buf, std, msg->text + lf->text);
        }
    }
}
