/* SPDX-License-Identifier: MIT */
/* mllp_frame.c: the MLLP decoder, a four-state machine over the bytes of one connection:
 * HUNT (outside a frame: skip to 0x0B), BODY (collect up to the cap), SKIP (past the cap:
 * drop until the end) and END (after 0x1C: expect 0x0D). A start byte inside a frame starts
 * over (resync), so one broken frame costs only itself. */
#include "mllp_frame.h"

#include <stdlib.h>
#include <string.h>

enum state { HUNT, BODY, SKIP, END };

struct mllp_decoder {
    enum state state;
    bool end_from_skip; /* in END: the frame had overflowed */
    uint8_t *buf;       /* the frame in progress (at most max bytes) */
    size_t len, cap, max;
    struct mllp_stats stats;
};

struct mllp_decoder *mllp_decoder_new(size_t max_message)
{
    struct mllp_decoder *d = calloc(1, sizeof *d);

    if (d)
        d->max = max_message ? max_message : MLLP_MAX_MESSAGE_DEFAULT;
    return d;
}

void mllp_decoder_free(struct mllp_decoder *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d);
}

bool mllp_decoder_in_frame(const struct mllp_decoder *d)
{
    return d->state != HUNT;
}

size_t mllp_decoder_buffered(const struct mllp_decoder *d)
{
    return d->len;
}

const struct mllp_stats *mllp_decoder_stats(const struct mllp_decoder *d)
{
    return &d->stats;
}

/* Reports the frame in progress and forgets it. */
static void emit(struct mllp_decoder *d, enum mllp_event ev, mllp_cb cb, void *ctx)
{
    switch (ev) {
    case MLLP_MESSAGE:
        d->stats.messages++;
        break;
    case MLLP_OVERSIZE:
        d->stats.oversize++;
        break;
    case MLLP_TRUNCATED:
        d->stats.truncated++;
        break;
    case MLLP_BAD_END:
        d->stats.bad_end++;
        break;
    }
    if (cb)
        cb(ctx, ev, d->buf ? d->buf : (const uint8_t *)"", d->len);
    d->len = 0;
}

/* Makes room for need bytes (need <= max); false when memory ran out. */
static bool reserve(struct mllp_decoder *d, size_t need)
{
    size_t cap = d->cap ? d->cap : (d->max < 4096 ? d->max : 4096);
    uint8_t *p;

    if (need <= d->cap)
        return true;
    while (cap < need)
        cap = cap > d->max / 2 ? d->max : cap * 2;
    p = realloc(d->buf, cap);
    if (!p)
        return false;
    d->buf = p;
    d->cap = cap;
    return true;
}

/* Handles a start byte inside a frame: what came before is reported, a new frame begins. */
static void restart(struct mllp_decoder *d, mllp_cb cb, void *ctx)
{
    emit(d,
         d->state == SKIP || (d->state == END && d->end_from_skip) ? MLLP_OVERSIZE : MLLP_TRUNCATED,
         cb, ctx);
    d->state = BODY;
}

bool mllp_decoder_feed(struct mllp_decoder *d, const uint8_t *data, size_t len, mllp_cb cb,
                       void *ctx)
{
    bool ok = true;
    size_t i = 0;

    while (i < len) {
        uint8_t c = data[i];
        switch (d->state) {
        case HUNT:
            if (c == MLLP_START) {
                d->state = BODY;
                d->len = 0;
            } else {
                d->stats.garbage_bytes++;
            }
            i++;
            break;
        case BODY:
        case SKIP: {
            /* The run of ordinary bytes up to the next framing byte, in one copy. */
            size_t run = 0;
            while (i + run < len && data[i + run] != MLLP_START && data[i + run] != MLLP_END)
                run++;
            if (run && d->state == BODY) {
                size_t take = run < d->max - d->len ? run : d->max - d->len;
                if (!reserve(d, d->len + take)) {
                    ok = false;
                    d->state = SKIP;
                } else {
                    memcpy(d->buf + d->len, data + i, take);
                    d->len += take;
                    if (take < run)
                        d->state = SKIP; /* past the cap: the rest is dropped unbuffered */
                }
            }
            i += run;
            if (i == len)
                break;
            if (data[i] == MLLP_START)
                restart(d, cb, ctx);
            else {
                d->end_from_skip = d->state == SKIP;
                d->state = END;
            }
            i++;
            break;
        }
        case END:
            if (c == MLLP_CR) {
                emit(d, d->end_from_skip ? MLLP_OVERSIZE : MLLP_MESSAGE, cb, ctx);
                d->state = HUNT;
                i++;
            } else if (c == MLLP_START) {
                restart(d, cb, ctx);
                i++;
            } else {
                emit(d, d->end_from_skip ? MLLP_OVERSIZE : MLLP_BAD_END, cb, ctx);
                d->state = HUNT; /* this byte is looked at again as garbage */
            }
            break;
        }
    }
    return ok;
}

uint8_t *mllp_encode(const char *msg, size_t len, size_t *out_len)
{
    uint8_t *out;

    if (!msg || memchr(msg, MLLP_START, len) || memchr(msg, MLLP_END, len) || len > SIZE_MAX - 3)
        return NULL;
    out = malloc(len + 3);
    if (!out)
        return NULL;
    out[0] = MLLP_START;
    memcpy(out + 1, msg, len);
    out[len + 1] = MLLP_END;
    out[len + 2] = MLLP_CR;
    *out_len = len + 3;
    return out;
}
