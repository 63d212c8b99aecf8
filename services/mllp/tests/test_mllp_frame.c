/* SPDX-License-Identifier: MIT */
/* test_mllp_frame.c: the MLLP decoder and encoder (services/mllp/mllp_frame.c): messages in
 * any chunking, garbage, broken and oversize frames, the cap on what is held. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mllp_frame.h"

#define MAX_SEEN 64

/* What the callback saw: each event and its bytes (as text). */
struct seen {
    int n;
    enum mllp_event ev[MAX_SEEN];
    char text[MAX_SEEN][256];
    size_t len[MAX_SEEN];
};

static void on_event(void *ctx, enum mllp_event ev, const uint8_t *data, size_t len)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_SEEN);
    s->ev[s->n] = ev;
    s->len[s->n] = len;
    snprintf(s->text[s->n], sizeof s->text[0], "%.*s", (int)(len < 255 ? len : 255),
             (const char *)data);
    s->n++;
}

/* Feeds bytes in chunks of step (0: all at once) to a new decoder with cap max. */
static struct mllp_stats feed(const char *bytes, size_t len, size_t step, size_t max,
                              struct seen *s)
{
    struct mllp_decoder *d = mllp_decoder_new(max);
    struct mllp_stats stats;

    assert_non_null(d);
    memset(s, 0, sizeof *s);
    if (!step)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step)
        assert_true(mllp_decoder_feed(d, (const uint8_t *)bytes + i,
                                      len - i < step ? len - i : step, on_event, s));
    assert_true(mllp_decoder_buffered(d) <= (max ? max : MLLP_MAX_MESSAGE_DEFAULT));
    stats = *mllp_decoder_stats(d);
    mllp_decoder_free(d);
    return stats;
}

#define FEED(lit, step, max, s) feed(lit, sizeof(lit) - 1, step, max, s)

static void test_messages_in_any_chunking(void **state)
{
    (void)state;
    static const char two[] = "\x0bMSH|one\rPID|1\r\x1c\r\x0bMSH|two\r\x1c\r";

    for (size_t step = 0; step <= sizeof two; step++) {
        struct seen s;
        struct mllp_stats st = FEED(two, step, 0, &s);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.ev[0], MLLP_MESSAGE);
        assert_string_equal(s.text[0], "MSH|one\rPID|1\r");
        assert_int_equal(s.ev[1], MLLP_MESSAGE);
        assert_string_equal(s.text[1], "MSH|two\r");
        assert_int_equal(st.messages, 2);
        assert_int_equal(st.garbage_bytes, 0);
    }
}

static void test_garbage_is_skipped_and_counted(void **state)
{
    (void)state;
    struct seen s;
    struct mllp_stats st;

    /* before, between and after frames; a CR or LF after a frame is garbage too */
    st = FEED("junk\r\n\x0bMSH|a\x1c\r\nxx\x0bMSH|b\x1c\rtail", 1, 0, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.text[0], "MSH|a");
    assert_string_equal(s.text[1], "MSH|b");
    assert_int_equal(st.garbage_bytes, 6 + 3 + 4);
    /* a stray end outside a frame is garbage */
    st = FEED("\x1c\r\x0bMSH|c\x1c\r", 0, 0, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(st.garbage_bytes, 2);
}

static void test_missing_end_resyncs_at_next_start(void **state)
{
    (void)state;
    struct seen s;
    struct mllp_stats st;

    st = FEED("\x0bMSH|lost\rPID|1\r\x0bMSH|next\x1c\r", 3, 0, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ev[0], MLLP_TRUNCATED);
    assert_string_equal(s.text[0], "MSH|lost\rPID|1\r");
    assert_int_equal(s.ev[1], MLLP_MESSAGE);
    assert_string_equal(s.text[1], "MSH|next");
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.messages, 1);
    /* an end byte followed by a start: the frame is cut, the next one read */
    st = FEED("\x0bMSH|x\x1c\x0bMSH|y\x1c\r", 1, 0, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ev[0], MLLP_TRUNCATED);
    assert_int_equal(s.ev[1], MLLP_MESSAGE);
    assert_string_equal(s.text[1], "MSH|y");
}

static void test_garbled_end(void **state)
{
    (void)state;
    struct seen s;
    struct mllp_stats st;

    /* 0x1C not followed by CR: the frame is dropped, the byte after it is garbage */
    st = FEED("\x0bMSH|x\x1cZ\x0bMSH|y\x1c\r", 0, 0, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ev[0], MLLP_BAD_END);
    assert_string_equal(s.text[0], "MSH|x");
    assert_int_equal(s.ev[1], MLLP_MESSAGE);
    assert_int_equal(st.bad_end, 1);
    assert_int_equal(st.garbage_bytes, 1);
    /* an unfinished frame at the end of the input is held, not reported */
    {
        struct mllp_decoder *d = mllp_decoder_new(0);
        memset(&s, 0, sizeof s);
        mllp_decoder_feed(d, (const uint8_t *)"\x0bMSH|half", 9, on_event, &s);
        assert_int_equal(s.n, 0);
        assert_true(mllp_decoder_in_frame(d));
        assert_int_equal(mllp_decoder_buffered(d), 8);
        mllp_decoder_feed(d, (const uint8_t *)"\x1c", 1, on_event, &s);
        assert_true(mllp_decoder_in_frame(d));
        mllp_decoder_feed(d, (const uint8_t *)"\r", 1, on_event, &s);
        assert_false(mllp_decoder_in_frame(d));
        assert_int_equal(s.n, 1);
        assert_string_equal(s.text[0], "MSH|half");
        mllp_decoder_free(d);
    }
}

static void test_oversize_is_skipped_unbuffered(void **state)
{
    (void)state;
    struct seen s;
    struct mllp_stats st;
    size_t n = 0;
    char *big = malloc(200000);

    assert_non_null(big);
    /* exactly the cap is a message; one byte more is oversize */
    st = FEED("\x0b"
              "0123456789\x1c\r",
              0, 10, &s);
    assert_int_equal(s.ev[0], MLLP_MESSAGE);
    st = FEED("\x0b"
              "0123456789A\x1c\r\x0bMSH|ok\x1c\r",
              4, 10, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ev[0], MLLP_OVERSIZE);
    assert_int_equal(s.len[0], 10); /* its first cap bytes, for the AR's ids */
    assert_string_equal(s.text[0], "0123456789");
    assert_int_equal(s.ev[1], MLLP_MESSAGE);
    assert_string_equal(s.text[1], "MSH|ok");
    assert_int_equal(st.oversize, 1);
    /* a huge frame cut by a new start, then ended by a garbled end */
    big[n++] = 0x0b;
    memset(big + n, 'x', 150000);
    n += 150000;
    memcpy(big + n, "\x0bMSH|ok\x1c\r\x0b", 10);
    n += 10;
    memset(big + n, 'y', 40000);
    n += 40000;
    memcpy(big + n, "\x1cQ", 2);
    n += 2;
    for (size_t step = 1; step < 5000; step = step * 3 + 1) {
        st = feed(big, n, step, 1024, &s);
        assert_int_equal(s.n, 3);
        assert_int_equal(s.ev[0], MLLP_OVERSIZE);
        assert_int_equal(s.len[0], 1024);
        assert_int_equal(s.ev[1], MLLP_MESSAGE);
        assert_int_equal(s.ev[2], MLLP_OVERSIZE);
        assert_int_equal(s.len[2], 1024);
        assert_int_equal(st.garbage_bytes, 1);
    }
    free(big);
}

static void test_buffer_stays_under_the_cap(void **state)
{
    (void)state;
    struct mllp_decoder *d = mllp_decoder_new(5000);
    uint8_t chunk[4096];
    struct seen s = {0};

    memset(chunk, 'z', sizeof chunk);
    mllp_decoder_feed(d, (const uint8_t *)"\x0b", 1, on_event, &s);
    for (int i = 0; i < 1000; i++) { /* a slow endless sender: 4 MB, never more than 5000 held */
        mllp_decoder_feed(d, chunk, sizeof chunk, on_event, &s);
        assert_true(mllp_decoder_buffered(d) <= 5000);
    }
    assert_int_equal(s.n, 0);
    mllp_decoder_feed(d, (const uint8_t *)"\x1c\r", 2, on_event, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0], MLLP_OVERSIZE);
    assert_int_equal(mllp_decoder_stats(d)->oversize, 1);
    mllp_decoder_free(d);
}

static void test_encode(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *framed = mllp_encode("MSH|x\rMSA|AA|1\r", 15, &len);
    struct seen s;

    assert_non_null(framed);
    assert_int_equal(len, 18);
    assert_int_equal(framed[0], 0x0b);
    assert_int_equal(framed[16], 0x1c);
    assert_int_equal(framed[17], 0x0d);
    feed((const char *)framed, len, 1, 0, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.text[0], "MSH|x\rMSA|AA|1\r");
    free(framed);
    framed = mllp_encode("", 0, &len);
    assert_non_null(framed);
    assert_int_equal(len, 3);
    free(framed);
    assert_null(mllp_encode("a\x0b", 2, &len));
    assert_null(mllp_encode("a\x1c", 2, &len));
    assert_null(mllp_encode(NULL, 0, &len));
    /* an empty frame is an empty message */
    FEED("\x0b\x1c\r", 0, 0, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_in_any_chunking),
        cmocka_unit_test(test_garbage_is_skipped_and_counted),
        cmocka_unit_test(test_missing_end_resyncs_at_next_start),
        cmocka_unit_test(test_garbled_end),
        cmocka_unit_test(test_oversize_is_skipped_unbuffered),
        cmocka_unit_test(test_buffer_stays_under_the_cap),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
