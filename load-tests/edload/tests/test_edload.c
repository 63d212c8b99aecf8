/* SPDX-License-Identifier: MIT */
/* Unit tests of edload's pure parts: the envelope scan (any key order, escapes, the fallback),
 * the histogram's percentiles, WebSocket frame headers and HTTP responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edload.h"

static const unsigned EVENT = ENV_TYPE | ENV_DEPT | ENV_SEQ | ENV_ENC | ENV_VERSION | ENV_AT;

static void scan_reads_the_envelope_in_any_order(void **state)
{
    (void)state;
    static const char *const frames[] = {
        "{\"type\":\"event\",\"department_id\":3,\"seq\":58,\"encounter_id\":12,\"version\":5,"
        "\"at\":\"2026-11-25T08:10:03.123Z\",\"payload\":{\"x\":\"}\"}}",
        "{\"payload\":{\"seq\":1,\"s\":\"a\\\"b{\",\"arr\":[1,{\"type\":\"x\"}]},\"event\":\"v\","
        "\"at\":\"2026-11-25T08:10:03.123Z\", \"version\" : 5 ,\"encounter_id\":12,"
        "\"seq\":58,\"department_id\":3,\"type\":\"event\"}",
    };
    for (size_t i = 0; i < 2; i++) {
        struct envelope env;
        assert_true(envelope_scan(frames[i], strlen(frames[i]), EVENT, NULL, &env));
        assert_int_equal(env.have & EVENT, EVENT);
        assert_string_equal(env.type, "event");
        assert_int_equal(env.department_id, 3);
        assert_int_equal(env.seq, 58);
        assert_int_equal(env.encounter_id, 12);
        assert_int_equal(env.version, 5);
        assert_string_equal(env.at, "2026-11-25T08:10:03.123Z");
    }
}

static void scan_stops_after_the_envelope(void **state)
{
    (void)state;
    /* The payload after the envelope is never read: here it is cut off. */
    const char *frame = "{\"type\":\"event\",\"department_id\":1,\"seq\":9,\"encounter_id\":2,"
                        "\"version\":1,\"at\":\"2026-11-25T08:10:03Z\",\"payload\":{\"enc";
    struct envelope env;
    assert_true(envelope_scan(frame, strlen(frame), EVENT, NULL, &env));
    assert_int_equal(env.seq, 9);
}

static void escaped_wanted_string_falls_back_to_jansson(void **state)
{
    (void)state;
    const char *frame = "{\"type\":\"ev\\u0065nt\",\"seq\":4}";
    struct envelope env;
    assert_false(envelope_scan(frame, strlen(frame), ENV_TYPE | ENV_SEQ, NULL, &env));
    assert_true(envelope_parse(frame, strlen(frame), ENV_TYPE | ENV_SEQ, NULL, &env));
    assert_true(env.full_parse);
    assert_string_equal(env.type, "event");
    assert_int_equal(env.seq, 4);
    assert_false(envelope_parse("[1,2]", 5, ENV_TYPE, NULL, &env));
    assert_false(envelope_parse("{\"type\":", 8, ENV_TYPE, NULL, &env));
}

static void heartbeat_top_and_null_numbers(void **state)
{
    (void)state;
    const char *hb =
        "{\"type\":\"heartbeat\",\"tops\":{\"board:12\":7,\"board:1\":58,\"chart:3\":2}}";
    struct envelope env;
    assert_true(envelope_parse(hb, strlen(hb), ENV_TYPE | ENV_TOPS, "board:1", &env));
    assert_int_equal(env.top, 58);
    assert_true(envelope_parse(hb, strlen(hb), ENV_TYPE | ENV_TOPS, "board:2", &env));
    assert_int_equal(env.top, -1);
    const char *ev = "{\"type\":\"event\",\"encounter_id\":null,\"seq\":3}";
    assert_true(envelope_parse(ev, strlen(ev), ENV_TYPE | ENV_SEQ | ENV_ENC, NULL, &env));
    assert_false(env.have & ENV_ENC);
    assert_int_equal(env.seq, 3);
}

static void rfc3339(void **state)
{
    (void)state;
    int64_t ms;
    bool has_ms;
    assert_true(rfc3339_ms("1970-01-01T00:00:01.5Z", &ms, &has_ms));
    assert_int_equal(ms, 1500);
    assert_true(has_ms);
    assert_true(rfc3339_ms("2026-11-25T08:10:03Z", &ms, &has_ms));
    assert_false(has_ms);
    assert_int_equal(ms, 1795594203000LL);
    assert_true(rfc3339_ms("2026-11-25T09:10:03.250+01:00", &ms, &has_ms));
    assert_int_equal(ms, 1795594203250LL);
    assert_false(rfc3339_ms("yesterday", &ms, &has_ms));
}

static void histogram_percentiles_within_3_percent(void **state)
{
    (void)state;
    static struct hist h;
    memset(&h, 0, sizeof h);
    for (int64_t v = 1; v <= 100000; v++)
        hist_add(&h, v);
    assert_int_equal(h.n, 100000);
    int64_t p50 = hist_quantile(&h, 0.5), p99 = hist_quantile(&h, 0.99);
    assert_true(p50 >= 50000 && p50 <= 50000 * 103 / 100);
    assert_true(p99 >= 99000 && p99 <= 100000);
    assert_int_equal(hist_quantile(&h, 1.0), 100000);
    static struct hist small;
    memset(&small, 0, sizeof small);
    hist_add(&small, 7);
    assert_int_equal(hist_quantile(&small, 0.5), 7);
}

static void frame_headers(void **state)
{
    (void)state;
    struct ws_frame f;
    uint8_t small[] = {0x81, 0x05, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(ws_frame_header(small, sizeof small, &f), 1);
    assert_true(f.fin);
    assert_int_equal(f.opcode, WS_TEXT);
    assert_int_equal(f.payload_len, 5);
    uint8_t big[] = {0x01, 127, 0, 0, 0, 0, 0, 1, 0, 0};
    assert_int_equal(ws_frame_header(big, 9, &f), 0);
    assert_int_equal(ws_frame_header(big, sizeof big, &f), 1);
    assert_false(f.fin);
    assert_int_equal(f.payload_len, 65536);
    assert_int_equal(f.header_len, 10);
    uint8_t mid[] = {0x80, 126, 0x01, 0x00};
    assert_int_equal(ws_frame_header(mid, sizeof mid, &f), 1);
    assert_int_equal(f.opcode, WS_CONT);
    assert_int_equal(f.payload_len, 256);
    uint8_t masked[] = {0x81, 0x85};
    assert_int_equal(ws_frame_header(masked, 2, &f), -1);
    uint8_t long_ping[] = {0x89, 126, 0, 200};
    assert_int_equal(ws_frame_header(long_ping, 4, &f), -1);
    uint8_t out[64];
    size_t n = ws_frame_encode(out, WS_TEXT, "abc", 3, 0x01020304);
    assert_int_equal(n, 9);
    assert_int_equal(out[0], 0x81);
    assert_int_equal(out[1], 0x83);
    assert_int_equal(out[6], 'a' ^ 1);
    char accept[29];
    ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept); /* RFC 6455 section 1.3 */
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void http_responses(void **state)
{
    (void)state;
    char a[] = "HTTP/1.1 201 Created\r\ncontent-length: 9\r\n\r\n{\"seq\":5}HTTP/1.1";
    struct http_response r;
    assert_int_equal(http_response_parse(a, strlen(a), &r), 1);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, 9);
    assert_memory_equal(a + r.body_off, "{\"seq\":5}", 9);
    assert_int_equal(r.total_len, strlen(a) - 8);
    char b[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
               "chunked\r\n\r\n4\r\n{\"se\r\n5\r\nq\":7}\r\n0\r\n\r\n";
    assert_int_equal(http_response_parse(b, strlen(b) - 3, &r), 0);
    assert_int_equal(http_response_parse(b, strlen(b), &r), 1);
    assert_int_equal(r.body_len, 9);
    assert_memory_equal(b + r.body_off, "{\"seq\":7}", 9);
    char c[] = "HTTP/1.1 409 Conflict\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{\"err";
    assert_int_equal(http_response_parse(c, strlen(c), &r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_reads_the_envelope_in_any_order),
        cmocka_unit_test(scan_stops_after_the_envelope),
        cmocka_unit_test(escaped_wanted_string_falls_back_to_jansson),
        cmocka_unit_test(heartbeat_top_and_null_numbers),
        cmocka_unit_test(rfc3339),
        cmocka_unit_test(histogram_percentiles_within_3_percent),
        cmocka_unit_test(frame_headers),
        cmocka_unit_test(http_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
