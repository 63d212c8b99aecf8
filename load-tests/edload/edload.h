/* SPDX-License-Identifier: MIT */
/* edload.h: the pieces of the load generator that are pure functions (histogram, envelope scan,
 * WebSocket framing, HTTP response parsing), so the unit test links the same code as edload. */
#ifndef EDLOAD_H
#define EDLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Out of memory ends the run: a load generator that drops state would report wrong figures. */
static inline void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "edload: out of memory\n");
        abort();
    }
    return q;
}
static inline void *xmalloc(size_t n)
{
    return xrealloc(NULL, n);
}
static inline void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "edload: out of memory\n");
        abort();
    }
    return p;
}

/* ---- hist.c: log-bucketed latency histogram (microseconds) ------------------------------
 * Values below 64 µs have a bucket each; above, every power of two is split into 32 buckets,
 * so a reported percentile is within 1/32 (3%) of the true value. Fixed size, no allocation. */
#define HIST_SUB_BITS 5
#define HIST_BUCKETS  (64 + 58 * 32)

struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t n;
    int64_t max_us;
    double sum_us;
};

void hist_add(struct hist *h, int64_t us);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at quantile q (0..1): the upper edge of the bucket holding that rank, capped at the
 * exact maximum; 0 when empty. */
int64_t hist_quantile(const struct hist *h, double q);

/* ---- scan.c: the fields of a hub frame or an API answer ------------------------------------
 * envelope_parse reads only the top-level keys asked for, in any order, skipping every other
 * value without building it, and stops as soon as it has them all (so a frame whose envelope
 * comes before its payload is read only up to the payload). Strings are kept raw (no escapes
 * decoded: a wanted string holding a backslash makes the cheap scan fail). When the scan fails
 * (not an object, a malformed value) it parses the whole text with jansson instead. */
enum env_field {
    ENV_TYPE = 1u << 0,
    ENV_DEPT = 1u << 1,
    ENV_SEQ = 1u << 2,
    ENV_ENC = 1u << 3,
    ENV_VERSION = 1u << 4,
    ENV_AT = 1u << 5,
    ENV_MODE = 1u << 6,
    ENV_CODE = 1u << 7,
    ENV_TOPS = 1u << 8,
    ENV_SINCE = 1u << 9,
};

struct envelope {
    unsigned have; /* ENV_* bits found (a null or non-integer number counts as absent) */
    char type[24];
    char at[40];
    char mode[16];
    char code[40];
    long long department_id, seq, encounter_id, version, since;
    long long top;   /* heartbeat: tops[top_key], or -1 */
    bool full_parse; /* the cheap scan failed and jansson read it */
};

/* Returns false when the text is not a JSON object at all (neither way could read it).
 * top_key: the heartbeat key whose top is wanted ("board:3"), or NULL. */
bool envelope_parse(const char *text, size_t len, unsigned want, const char *top_key,
                    struct envelope *env);
/* Only the cheap scan (for the unit test): false when it cannot read the text. */
bool envelope_scan(const char *text, size_t len, unsigned want, const char *top_key,
                   struct envelope *env);

/* RFC 3339 UTC time ("2026-11-25T08:10:03.123Z", or with +hh:mm) to milliseconds since the
 * epoch. *has_ms is whether the text had a fraction. False when it is not such a time. */
bool rfc3339_ms(const char *text, int64_t *ms, bool *has_ms);

/* ---- wsframe.c: RFC 6455 client side ---------------------------------------------------- */
enum { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

struct ws_frame {
    bool fin;
    int opcode;
    size_t header_len;
    uint64_t payload_len;
};

/* Reads one frame header from a server: 1 when complete (frame filled), 0 when more bytes
 * are needed, -1 when it breaks the protocol (masked server frame, reserved bits, a control
 * frame over 125 bytes or fragmented, unknown opcode). */
int ws_frame_header(const uint8_t *buf, size_t len, struct ws_frame *frame);
/* Writes a masked client frame (fin set) into out, which needs len + 14 bytes; returns its
 * size. */
size_t ws_frame_encode(uint8_t *out, int opcode, const void *payload, size_t len,
                       uint32_t mask_key);
/* Base64 of a 16-byte Sec-WebSocket-Key: 24 chars + NUL (out needs 25 bytes). */
void ws_key_encode(char *out, const uint8_t raw[16]);
/* The Sec-WebSocket-Accept a server must answer for key (base64 of 16 bytes): 28 chars + NUL. */
void ws_accept_for(const char *key, char accept[29]);

/* ---- httpresp.c: one HTTP/1.1 response ------------------------------------------------- */
struct http_response {
    int status;
    size_t total_len; /* bytes of the whole response in the buffer (headers + body) */
    size_t body_off;  /* where the body starts (Content-Length bodies) */
    size_t body_len;
    bool close_after; /* Connection: close */
    bool chunked;     /* body was chunked: the decoded body is in the caller's buffer */
};
/* 1 when buf holds a complete response (chunked bodies are decoded in place, so buf changes),
 * 0 when more is needed, -1 when it is not HTTP. */
int http_response_parse(char *buf, size_t len, struct http_response *resp);

#endif
