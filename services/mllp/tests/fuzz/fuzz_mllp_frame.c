/* SPDX-License-Identifier: MIT */
/* fuzz_mllp_frame.c: the bytes of one connection through the MLLP decoder. The first two bytes
 * choose the cap and the chunk sizes; the rest is fed once whole and once in chunks. Checked
 * beyond ASan/UBSan: the events do not depend on how the bytes were cut, no event holds more
 * than the cap, a message holds no framing byte, and every message framed again with
 * mllp_encode decodes to itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "mllp_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 4096

struct trace {
    size_t n, cap;
    struct {
        enum mllp_event ev;
        size_t len;
        uint64_t hash;
    } events[MAX_EVENTS];
};

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void record(void *ctx, enum mllp_event ev, const uint8_t *data, size_t len)
{
    struct trace *t = ctx;

    FUZZ_REQUIRE(len <= t->cap);
    if (ev == MLLP_MESSAGE)
        FUZZ_REQUIRE(!memchr(data, MLLP_START, len) && !memchr(data, MLLP_END, len));
    if (t->n < MAX_EVENTS) {
        t->events[t->n].ev = ev;
        t->events[t->n].len = len;
        t->events[t->n].hash = fnv(data, len);
    }
    t->n++;
}

/* A message framed again decodes to exactly itself. */
static void roundtrip(void *ctx, enum mllp_event ev, const uint8_t *data, size_t len)
{
    struct trace *again = ctx;
    struct mllp_decoder *d;
    size_t framed_len;
    uint8_t *framed;

    if (ev != MLLP_MESSAGE)
        return;
    framed = mllp_encode((const char *)data, len, &framed_len);
    FUZZ_REQUIRE(framed && framed_len == len + 3);
    d = mllp_decoder_new(again->cap);
    FUZZ_REQUIRE(d);
    again->n = 0;
    mllp_decoder_feed(d, framed, framed_len, record, again);
    FUZZ_REQUIRE(again->n == 1 && again->events[0].ev == MLLP_MESSAGE);
    FUZZ_REQUIRE(again->events[0].len == len && again->events[0].hash == fnv(data, len));
    FUZZ_REQUIRE(!mllp_decoder_in_frame(d));
    mllp_decoder_free(d);
    free(framed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct trace whole, cut, again;
    struct mllp_decoder *a, *b;
    size_t cap, step;

    if (size < 2)
        return 0;
    cap = 1 + data[0] * 8u;
    step = 1 + data[1] % 17u;
    data += 2;
    size -= 2;
    whole.n = cut.n = 0;
    whole.cap = cut.cap = again.cap = cap;
    a = mllp_decoder_new(cap);
    b = mllp_decoder_new(cap);
    FUZZ_REQUIRE(a && b);
    mllp_decoder_feed(a, data, size, record, &whole);
    for (size_t i = 0; i < size; i += step)
        mllp_decoder_feed(b, data + i, size - i < step ? size - i : step, record, &cut);
    FUZZ_REQUIRE(whole.n == cut.n);
    for (size_t i = 0; i < whole.n && i < MAX_EVENTS; i++) {
        FUZZ_REQUIRE(whole.events[i].ev == cut.events[i].ev);
        FUZZ_REQUIRE(whole.events[i].len == cut.events[i].len);
        FUZZ_REQUIRE(whole.events[i].hash == cut.events[i].hash);
    }
    FUZZ_REQUIRE(!memcmp(mllp_decoder_stats(a), mllp_decoder_stats(b), sizeof(struct mllp_stats)));
    FUZZ_REQUIRE(mllp_decoder_buffered(a) <= cap);
    mllp_decoder_free(a);
    mllp_decoder_free(b);

    a = mllp_decoder_new(cap);
    FUZZ_REQUIRE(a);
    mllp_decoder_feed(a, data, size, roundtrip, &again);
    mllp_decoder_free(a);
    return 0;
}
