/* SPDX-License-Identifier: MIT */
/* httpresp.c: one HTTP/1.1 response from a buffer (edload.h). */
#include "edload.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The value of header name (case-insensitive) within the header block, or NULL. */
static const char *header_value(const char *head, size_t head_len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *p = memchr(head, '\n', head_len); /* past the status line */
    const char *end = head + head_len;
    while (p && p + 1 < end) {
        p++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

/* Walks the chunks after body_off: the end of the last chunk's trailer, or 0 when incomplete,
 * (size_t)-1 when malformed. */
static size_t chunked_end(const char *buf, size_t len, size_t off)
{
    for (;;) {
        const char *eol = memchr(buf + off, '\n', len - off);
        if (!eol)
            return 0;
        char *stop;
        unsigned long size = strtoul(buf + off, &stop, 16);
        if (stop == buf + off)
            return (size_t)-1;
        off = (size_t)(eol - buf) + 1;
        if (size == 0) { /* trailers end with an empty line */
            for (;;) {
                const char *e2 = memchr(buf + off, '\n', len - off);
                if (!e2)
                    return 0;
                bool empty = e2 == buf + off || (e2 == buf + off + 1 && buf[off] == '\r');
                off = (size_t)(e2 - buf) + 1;
                if (empty)
                    return off;
            }
        }
        if (len - off < size + 2)
            return 0;
        off += size + 2;
    }
}

int http_response_parse(char *buf, size_t len, struct http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
        return -1;
    const char *hend = len >= 4 ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
    if (!hend)
        return len > 64 * 1024 ? -1 : 0;
    size_t head_len = (size_t)(hend - buf) + 2;
    const char *sp = memchr(buf, ' ', head_len);
    if (!sp)
        return -1;
    resp->status = atoi(sp + 1);
    resp->body_off = head_len + 2;
    size_t vlen;
    const char *v = header_value(buf, head_len, "Connection", &vlen);
    resp->close_after = v && vlen == 5 && strncasecmp(v, "close", 5) == 0;
    v = header_value(buf, head_len, "Transfer-Encoding", &vlen);
    if (v && vlen >= 7 && strncasecmp(v, "chunked", 7) == 0) {
        size_t end = chunked_end(buf, len, resp->body_off);
        if (end == (size_t)-1)
            return -1;
        if (end == 0)
            return 0;
        /* Decode in place: each chunk's data moves left over the size lines. */
        size_t in = resp->body_off;
        size_t out = in;
        for (;;) {
            char *eol = memchr(buf + in, '\n', end - in);
            unsigned long size = strtoul(buf + in, NULL, 16);
            in = (size_t)(eol - buf) + 1;
            if (size == 0)
                break;
            memmove(buf + out, buf + in, size);
            out += size;
            in += size + 2;
        }
        resp->chunked = true;
        resp->body_len = out - resp->body_off;
        resp->total_len = end;
        return 1;
    }
    v = header_value(buf, head_len, "Content-Length", &vlen);
    size_t clen = v ? strtoul(v, NULL, 10) : 0;
    if (!v && (resp->status >= 200 && resp->status != 204 && resp->status != 304))
        resp->close_after = true; /* body until close: not used by ed-api; treat as empty */
    if (len - resp->body_off < clen)
        return 0;
    resp->body_len = clen;
    resp->total_len = resp->body_off + clen;
    return 1;
}
