/* SPDX-License-Identifier: MIT */
/* hl7_buf.c: building HL7 text (the ACKs): a growable buffer with a cap, and escaping a value
 * for a message's encoding characters so that hl7_parse reads it back exactly. */
#include "hl7.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hl7_buf_add(struct hl7_buf *buf, const char *text, size_t len)
{
    size_t max = buf->max ? buf->max : HL7_MAX_BYTES_DEFAULT;

    if (buf->failed)
        return;
    if (len > max || buf->len > max - len) {
        buf->failed = true;
        return;
    }
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        char *p;
        while (cap < buf->len + len + 1)
            cap *= 2;
        p = realloc(buf->data, cap);
        if (!p) {
            buf->failed = true;
            return;
        }
        buf->data = p;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, text, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void hl7_buf_str(struct hl7_buf *buf, const char *text)
{
    if (text)
        hl7_buf_add(buf, text, strlen(text));
}

void hl7_buf_char(struct hl7_buf *buf, char c)
{
    hl7_buf_add(buf, &c, 1);
}

void hl7_buf_escaped(struct hl7_buf *buf, const struct hl7_encoding *enc, const char *text)
{
    if (!text)
        return;
    if (!strcmp(text, "\"\"")) { /* the text "" is not the null */
        hl7_buf_char(buf, enc->esc);
        hl7_buf_str(buf, "X22");
        hl7_buf_char(buf, enc->esc);
        hl7_buf_char(buf, '"');
        return;
    }
    for (const char *s = text; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char seq[8];
        const char *name = NULL;

        if (c == (unsigned char)enc->field)
            name = "F";
        else if (c == (unsigned char)enc->comp)
            name = "S";
        else if (c == (unsigned char)enc->sub)
            name = "T";
        else if (c == (unsigned char)enc->rep)
            name = "R";
        else if (c == (unsigned char)enc->esc)
            name = "E";
        else if (c == '\n')
            name = ".br";
        else if (c < 0x20 || c == 0x7F) { /* CR too: \X0D\ reads back as CR, exactly */
            snprintf(seq, sizeof seq, "X%02X", c);
            name = seq;
        }
        if (!name) {
            hl7_buf_char(buf, (char)c);
            continue;
        }
        hl7_buf_char(buf, enc->esc);
        hl7_buf_str(buf, name);
        hl7_buf_char(buf, enc->esc);
    }
}
