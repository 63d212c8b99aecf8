/* SPDX-License-Identifier: MIT */
/* test_auth.c: base32 (RFC 4648 section 10 vectors) and TOTP (RFC 6238 appendix B, SHA-1,
 * cut to the 6 digits edlive uses), including the replay and clock-skew window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "auth.h"

static void test_base32_rfc4648_vectors(void **state)
{
    static const struct {
        const char *text, *bytes;
    } vectors[] = {
        {"", ""},
        {"MY======", "f"},
        {"MZXQ====", "fo"},
        {"MZXW6===", "foo"},
        {"MZXW6YQ=", "foob"},
        {"MZXW6YTB", "fooba"},
        {"MZXW6YTBOI======", "foobar"},
    };
    unsigned char out[16];

    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t want = strlen(vectors[i].bytes);
        char unpadded[32], lower[32];
        size_t n = strcspn(vectors[i].text, "=");

        assert_int_equal(auth_base32_decode(vectors[i].text, out, sizeof out), (int)want);
        assert_memory_equal(out, vectors[i].bytes, want);
        /* Authenticator apps show secrets without padding, some in lower case. */
        snprintf(unpadded, sizeof unpadded, "%.*s", (int)n, vectors[i].text);
        assert_int_equal(auth_base32_decode(unpadded, out, sizeof out), (int)want);
        for (size_t j = 0; j <= n; j++)
            lower[j] =
                (char)(unpadded[j] >= 'A' && unpadded[j] <= 'Z' ? unpadded[j] + 32 : unpadded[j]);
        assert_int_equal(auth_base32_decode(lower, out, sizeof out), (int)want);
        assert_memory_equal(out, vectors[i].bytes, want);
    }
}

static void test_base32_refuses_bad_text(void **state)
{
    unsigned char out[4];

    (void)state;
    assert_int_equal(auth_base32_decode("MZXW1", out, sizeof out), -1);      /* 1 is not base32 */
    assert_int_equal(auth_base32_decode("MZ XW", out, sizeof out), -1);      /* nor a space */
    assert_int_equal(auth_base32_decode("MZXW6YTBOI", out, sizeof out), -1); /* 6 bytes > cap 4 */
    assert_int_equal(auth_base32_decode("MZXW6YQ", out, sizeof out), 4);     /* exactly cap */
}

/* RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", 30 s steps, 8-digit codes whose
 * last 6 digits are the 6-digit codes (dynamic truncation mod 10^6). */
static void test_totp_rfc6238_vectors(void **state)
{
    static const unsigned char seed[] = "12345678901234567890";
    static const struct {
        uint64_t unix_time;
        uint32_t code8;
    } vectors[] = {
        {59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
        {1234567890, 89005924}, {2000000000, 69279037}, {20000000000ULL, 65353130},
    };

    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        assert_int_equal(auth_totp_code(seed, 20, vectors[i].unix_time / AUTH_TOTP_STEP_S),
                         vectors[i].code8 % 1000000);
}

/* The seed above in base32, as an authenticator app would be given it. */
#define SEED_BASE32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static void test_totp_check_window_and_replay(void **state)
{
    const uint64_t now = 1111111111 / AUTH_TOTP_STEP_S; /* code 050471 */

    (void)state;
    assert_int_equal(auth_totp_check(SEED_BASE32, "050471", now, 0), now);
    /* One step of clock skew either way is accepted; two are not. */
    assert_int_equal(auth_totp_check(SEED_BASE32, "050471", now + 1, 0), now);
    assert_int_equal(auth_totp_check(SEED_BASE32, "050471", now - 1, 0), now);
    assert_int_equal(auth_totp_check(SEED_BASE32, "050471", now + 2, 0), 0);
    /* A code already used (its step is not later than the last used) is refused. */
    assert_int_equal(auth_totp_check(SEED_BASE32, "050471", now, now), 0);
    assert_int_equal(auth_totp_check(SEED_BASE32, "050471", now, now - 1), now);
    /* Wrong, short, long and non-digit codes, and a broken secret. */
    assert_int_equal(auth_totp_check(SEED_BASE32, "050472", now, 0), 0);
    assert_int_equal(auth_totp_check(SEED_BASE32, "50471", now, 0), 0);
    assert_int_equal(auth_totp_check(SEED_BASE32, "0504710", now, 0), 0);
    assert_int_equal(auth_totp_check(SEED_BASE32, "05047a", now, 0), 0);
    assert_int_equal(auth_totp_check("not base32!", "050471", now, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base32_rfc4648_vectors),
        cmocka_unit_test(test_base32_refuses_bad_text),
        cmocka_unit_test(test_totp_rfc6238_vectors),
        cmocka_unit_test(test_totp_check_window_and_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
