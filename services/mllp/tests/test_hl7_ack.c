/* SPDX-License-Identifier: MIT */
/* test_hl7_ack.c: the ACK builder (services/mllp/hl7_ack.c): AA, AE and AR with their ERR
 * segment in the 2.5+ and the 2.3/2.4 shapes, escaping, other encoding characters, and the
 * best ACK for a message that does not parse. Every ACK built here must parse itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hl7.h"
#include "hl7_ack.h"

/* 2026-12-04 08:15:00 UTC */
static const struct hl7_ack_opts opts = {"EDL42", 1796372100, "EDLIVE", "ED"};

static struct hl7_msg *parse_ok(const char *text)
{
    struct hl7_error err;
    struct hl7_msg *m = hl7_parse(text, strlen(text), NULL, &err);

    if (!m)
        print_error("refused: %u %s\n", (unsigned)err.code, err.message);
    assert_non_null(m);
    return m;
}

/* Checks that ack is want (CR as segment ends) and that it parses; frees it. */
static void check_ack(char *ack, size_t len, const char *want)
{
    struct hl7_msg *again;

    assert_non_null(ack);
    assert_int_equal(strlen(ack), len);
    assert_string_equal(ack, want);
    again = parse_ok(ack);
    assert_string_equal(hl7_get(again, "MSH", 1, 9, 1, 1, 1), "ACK");
    hl7_free(again);
    free(ack);
}

static void test_aa(void **state)
{
    (void)state;
    struct hl7_msg *in = parse_ok("MSH|^~\\&|REG^1.2.3^ISO|HOSP|EDLIVE|ED|20261204081455||"
                                  "ADT^A04^ADT_A01|MSG001|P|2.5.1\rPID|1||M1\r");
    size_t len;
    char *ack = hl7_ack_build(in, HL7_ACK_AA, NULL, 0, &opts, &len);

    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG^1.2.3^ISO|HOSP|20261204081500+0000||ACK^A04^ACK|EDL42|P|"
              "2.5.1\rMSA|AA|MSG001\r");
    /* the inbound receiver, when named, is the ACK's sender */
    hl7_free(in);
    in = parse_ok("MSH|^~\\&|REG|HOSP|EDL^X|EDF|2026||ADT^A08|M2|T|2.3\r");
    ack = hl7_ack_build(in, HL7_ACK_AA, NULL, 0, &opts, &len);
    check_ack(ack, len,
              "MSH|^~\\&|EDL^X|EDF|REG|HOSP|20261204081500+0000||ACK^A08^ACK|EDL42|T|2.3\r"
              "MSA|AA|M2\r");
    /* no control id: no ACK */
    assert_null(
        hl7_ack_build(in, HL7_ACK_AA, NULL, 0, &(struct hl7_ack_opts){NULL, 0, "A", "B"}, &len));
    assert_null(hl7_ack_build(in, HL7_ACK_AA, NULL, 0, NULL, &len));
    hl7_free(in);
}

static void test_ae_with_err(void **state)
{
    (void)state;
    struct hl7_msg *in = parse_ok("MSH|^~\\&|REG|HOSP|||2026||ADT^A08^ADT_A01|MSG9|P|2.5.1\r"
                                  "PID|1||M404\r");
    struct hl7_error err = {HL7_E_UNKNOWN_KEY,
                            "PID",
                            1,
                            3,
                            1,
                            1,
                            0,
                            "no patient with MRN M404 | ^ & ~ \\ here\nsecond line"};
    size_t len;
    char *ack = hl7_ack_build(in, HL7_ACK_AE, &err, 1, &opts, &len);

    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A08^ACK|EDL42|P|2.5.1\r"
              "MSA|AE|MSG9\r"
              "ERR||PID^1^3^1^1|204^Unknown key identifier^HL70357|E||||"
              "no patient with MRN M404 \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ here\\.br\\second line\r");
    /* no location: ERR-2 empty; code 0 reads as 207 */
    err = (struct hl7_error){0};
    strcpy(err.message, "database unavailable");
    ack = hl7_ack_build(in, HL7_ACK_AE, &err, 1, &opts, &len);
    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A08^ACK|EDL42|P|2.5.1\r"
              "MSA|AE|MSG9\r"
              "ERR|||207^Application internal error^HL70357|E||||database unavailable\r");
    /* AA leaves out entries without a code */
    ack = hl7_ack_build(in, HL7_ACK_AA, &err, 1, &opts, &len);
    assert_null(strstr(ack, "ERR"));
    free(ack);
    hl7_free(in);
}

/* AA with the parts that were skipped: one ERR of severity W each */
static void test_aa_with_warnings(void **state)
{
    (void)state;
    struct hl7_msg *in = parse_ok("MSH|^~\\&|REG|HOSP|||2026||ADT^A04|W1|P|2.5.1\rPV1|1|E\r");
    const struct hl7_error warnings[] = {
        {HL7_E_UNKNOWN_KEY, "PV1", 1, 7, 1, 1, 0, "attending 123 unknown: not assigned"},
        {HL7_OK, "", 0, 0, 0, 0, 0, "left out"},
        {HL7_E_TABLE_VALUE, "PV1", 1, 36, 0, 0, 0, "PV1-36 X: recorded as other"},
    };
    size_t len;
    char *ack = hl7_ack_build(in, HL7_ACK_AA, warnings, 3, &opts, &len);

    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A04^ACK|EDL42|P|2.5.1\r"
              "MSA|AA|W1\r"
              "ERR||PV1^1^7^1^1|204^Unknown key identifier^HL70357|W||||"
              "attending 123 unknown: not assigned\r"
              "ERR||PV1^1^36|103^Table value not found^HL70357|W||||"
              "PV1-36 X: recorded as other\r");
    assert_null(hl7_ack_build(in, HL7_ACK_AA, NULL, 2, &opts, &len));
    hl7_free(in);
}

static void test_err_in_old_versions(void **state)
{
    (void)state;
    struct hl7_msg *in = parse_ok("MSH|^~\\&|REG|HOSP|||2026||ADT^A04|C3|P|2.3\rPID|1\r");
    struct hl7_error err = {HL7_E_REQUIRED_FIELD, "PID", 1, 3, 0, 0, 0, "PID-3 is required"};
    size_t len;
    char *ack = hl7_ack_build(in, HL7_ACK_AE, &err, 1, &opts, &len);

    /* 2.3 / 2.4: ERR-1 (ELD) and MSA-3, which they have, instead of ERR-2 .. ERR-8 */
    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A04^ACK|EDL42|P|2.3\r"
              "MSA|AE|C3|PID-3 is required\r"
              "ERR|PID^1^3^101&Required field missing&HL70357\r");
    err = (struct hl7_error){HL7_E_UNSUPPORTED_TYPE, "MSH", 1, 0, 0, 0, 0, "ORU is not read"};
    ack = hl7_ack_build(in, HL7_ACK_AR, &err, 1, &opts, &len);
    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A04^ACK|EDL42|P|2.3\r"
              "MSA|AR|C3|ORU is not read\r"
              "ERR|MSH^1^^200&Unsupported message type&HL70357\r");
    err = (struct hl7_error){HL7_E_SEGMENT_SEQUENCE, "", 0, 0, 0, 0, 0, "no PID"};
    ack = hl7_ack_build(in, HL7_ACK_AR, &err, 1, &opts, &len);
    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A04^ACK|EDL42|P|2.3\r"
              "MSA|AR|C3|no PID\r"
              "ERR|^^^100&Segment sequence error&HL70357\r");
    hl7_free(in);
}

static void test_other_encoding_is_re_encoded(void **state)
{
    (void)state;
    /* field #, component $, repetition *, escape %, subcomponent @ */
    struct hl7_msg *in = parse_ok("MSH#$*%@#R|G$1@2#H^P#E~D#F&X#2026##ADT$A02#C|4#P#2.5\n");
    size_t len;
    char *ack = hl7_ack_build(in, HL7_ACK_AA, NULL, 0, &opts, &len);

    check_ack(ack, len,
              "MSH|^~\\&|E\\R\\D|F\\T\\X|R\\F\\G^1&2|H\\S\\P|20261204081500+0000||ACK^A02^ACK|"
              "EDL42|P|2.5\rMSA|AA|C\\F\\4\r");
    hl7_free(in);
}

static void test_reject(void **state)
{
    (void)state;
    struct hl7_error err;
    static const char bad_version[] = "MSH|^~\\&|REG|HOSP|||2026||ADT^A04|C5|P|2.2\rPID|1\r";
    static const char bad_text[] = "\xEF\xBB\xBFMSH|^~\\&|REG|HOSP|||2026||ADT^A01|C6|T|2.4\r"
                                   "PID|1||\xFF\r";
    size_t len;
    char *ack;

    /* an unsupported version: the ids of the MSH, answered in 2.5.1 */
    assert_null(hl7_parse(bad_version, sizeof bad_version - 1, NULL, &err));
    ack = hl7_ack_reject(bad_version, sizeof bad_version - 1, &err, &opts, &len);
    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A04^ACK|EDL42|P|2.5.1\r"
              "MSA|AR|C5\r"
              "ERR||MSH^1^12^1|203^Unsupported version id^HL70357|E||||"
              "MSH-12: only versions 2.3 to 2.8.2 are accepted\r");
    /* bad text after a good MSH (with a BOM): its ids, its version */
    assert_null(hl7_parse(bad_text, sizeof bad_text - 1, NULL, &err));
    ack = hl7_ack_reject(bad_text, sizeof bad_text - 1, &err, &opts, &len);
    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|REG|HOSP|20261204081500+0000||ACK^A01^ACK|EDL42|T|2.4\r"
              "MSA|AR|C6|not UTF-8 text (or a NUL byte)\r"
              "ERR|PID^1^3^102&Data type error&HL70357\r");
    /* nothing readable: a minimal MSH */
    assert_null(hl7_parse("garbage", 7, NULL, &err));
    ack = hl7_ack_reject("garbage", 7, &err, &opts, &len);
    check_ack(ack, len,
              "MSH|^~\\&|EDLIVE|ED|||20261204081500+0000||ACK|EDL42|P|2.5.1\r"
              "MSA|AR|\r"
              "ERR|||100^Segment sequence error^HL70357|E||||"
              "the message does not start with MSH\r");
    ack = hl7_ack_reject(NULL, 0, &err, &opts, &len);
    assert_non_null(ack);
    free(ack);
}

static void test_code_texts(void **state)
{
    (void)state;
    assert_string_equal(hl7_err_code_text(HL7_E_REQUIRED_FIELD), "Required field missing");
    assert_string_equal(hl7_err_code_text(HL7_E_TABLE_VALUE), "Table value not found");
    assert_string_equal(hl7_err_code_text(HL7_E_UNKNOWN_KEY), "Unknown key identifier");
    assert_string_equal(hl7_err_code_text((enum hl7_err_code)999), "Application internal error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aa),
        cmocka_unit_test(test_ae_with_err),
        cmocka_unit_test(test_aa_with_warnings),
        cmocka_unit_test(test_err_in_old_versions),
        cmocka_unit_test(test_other_encoding_is_re_encoded),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_code_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
