/* SPDX-License-Identifier: MIT */
/* test_hl7.c: the HL7 v2 parser (services/mllp/hl7.c): encoding characters, escapes, the tree,
 * empty and null values, segment terminators, the BOM, versions, refusals and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7.h"

#define MSH_25 "MSH|^~\\&|REG|HOSP|EDLIVE|ED|20261204081500||ADT^A04^ADT_A01|C1|P|2.5.1\r"

static struct hl7_msg *parse_ok(const char *text)
{
    struct hl7_error err;
    struct hl7_msg *m = hl7_parse(text, strlen(text), NULL, &err);

    if (!m)
        print_error("refused: %u %s-%u: %s\n", (unsigned)err.code, err.segment, err.field,
                    err.message);
    assert_non_null(m);
    return m;
}

/* Parses text (len bytes), expects a refusal with code at seg-field; returns the error. */
static struct hl7_error refused_n(const char *text, size_t len, const struct hl7_limits *lim,
                                  enum hl7_err_code code, const char *seg, unsigned field)
{
    struct hl7_error err;
    struct hl7_msg *m = hl7_parse(text, len, lim, &err);

    if (m)
        hl7_free(m);
    assert_null(m);
    assert_int_equal(err.code, code);
    assert_string_equal(err.segment, seg);
    assert_int_equal(err.field, field);
    assert_true(err.message[0] != '\0');
    return err;
}

static struct hl7_error refused_lim(const char *text, const struct hl7_limits *lim,
                                    enum hl7_err_code code, const char *seg, unsigned field)
{
    return refused_n(text, strlen(text), lim, code, seg, field);
}

static struct hl7_error refused(const char *text, enum hl7_err_code code, const char *seg,
                                unsigned field)
{
    return refused_n(text, strlen(text), NULL, code, seg, field);
}

#define assert_get(m, seg, occ, f, r, c, s, want)            \
    do {                                                     \
        const char *got_ = hl7_get(m, seg, occ, f, r, c, s); \
        assert_non_null(got_);                               \
        assert_false(hl7_is_null(got_));                     \
        assert_string_equal(got_, want);                     \
    } while (0)

static void test_tree(void **state)
{
    (void)state;
    struct hl7_msg *m = parse_ok(MSH_25 "PID|1||MRN1^^^HOSP^MR~998^^^SSA^SS||DOE&VAN&Van^JANE^Q"
                                        "||19800101|F\rPV1|1|E|ED^R2^B3\r");

    assert_int_equal(hl7_segment_count(m, NULL), 3);
    assert_int_equal(hl7_segment_count(m, "PID"), 1);
    assert_int_equal(hl7_segment_count(m, "OBX"), 0);
    assert_string_equal(hl7_segment_id(m, 1), "PID");
    assert_null(hl7_segment_id(m, 3));
    /* MSH-1 is the field separator, MSH-2 the encoding characters, taken literally */
    assert_get(m, "MSH", 1, 1, 1, 1, 1, "|");
    assert_get(m, "MSH", 1, 2, 1, 1, 1, "^~\\&");
    assert_get(m, "MSH", 1, 3, 1, 1, 1, "REG");
    assert_get(m, "MSH", 1, 9, 1, 1, 1, "ADT");
    assert_get(m, "MSH", 1, 9, 1, 2, 1, "A04");
    assert_get(m, "MSH", 1, 9, 1, 3, 1, "ADT_A01");
    assert_get(m, "MSH", 1, 12, 1, 1, 1, "2.5.1");
    assert_int_equal(hl7_field_count(m, "MSH", 1), 12);
    /* repetitions, components, subcomponents */
    assert_int_equal(hl7_rep_count(m, "PID", 1, 3), 2);
    assert_get(m, "PID", 1, 3, 1, 1, 1, "MRN1");
    assert_get(m, "PID", 1, 3, 1, 4, 1, "HOSP");
    assert_get(m, "PID", 1, 3, 2, 1, 1, "998");
    assert_get(m, "PID", 1, 3, 2, 5, 1, "SS");
    assert_null(hl7_get(m, "PID", 1, 3, 1, 2, 1)); /* empty component */
    assert_null(hl7_get(m, "PID", 1, 3, 3, 1, 1)); /* no third repetition */
    assert_int_equal(hl7_comp_count(m, "PID", 1, 5, 1), 3);
    assert_get(m, "PID", 1, 5, 1, 1, 1, "DOE");
    assert_get(m, "PID", 1, 5, 1, 1, 2, "VAN");
    assert_get(m, "PID", 1, 5, 1, 1, 3, "Van");
    assert_null(hl7_get(m, "PID", 1, 5, 1, 1, 4));
    assert_get(m, "PID", 1, 5, 1, 2, 1, "JANE");
    /* 0 reads as 1 */
    assert_get(m, "PID", 1, 5, 0, 0, 0, "DOE");
    assert_get(m, "PID", 0, 5, 1, 2, 0, "JANE");
    assert_get(m, "PV1", 1, 3, 1, 3, 1, "B3");
    /* absent: past the last field, another occurrence, another segment, field 0 is the id */
    assert_null(hl7_get(m, "PV1", 1, 4, 1, 1, 1));
    assert_null(hl7_get(m, "PID", 2, 3, 1, 1, 1));
    assert_null(hl7_get(m, "ZZZ", 1, 1, 1, 1, 1));
    assert_null(hl7_get(NULL, "PID", 1, 3, 1, 1, 1));
    assert_get(m, "PID", 1, 0, 1, 1, 1, "PID");
    assert_int_equal(hl7_field_count(m, "ZZZ", 1), 0);
    assert_int_equal(hl7_rep_count(m, "PID", 1, 99), 0);
    hl7_free(m);
}

static void test_occurrences(void **state)
{
    (void)state;
    struct hl7_msg *m = parse_ok(MSH_25 "OBX|1|NM|8867-4^HR^LN||88\rNTE|1||x\r"
                                        "OBX|2|NM|75636-1^ESI^LN||2\r");

    assert_int_equal(hl7_segment_count(m, "OBX"), 2);
    assert_get(m, "OBX", 1, 5, 1, 1, 1, "88");
    assert_get(m, "OBX", 2, 3, 1, 1, 1, "75636-1");
    assert_get(m, "OBX", 2, 5, 1, 1, 1, "2");
    assert_null(hl7_get(m, "OBX", 3, 5, 1, 1, 1));
    hl7_free(m);
}

static void test_escapes(void **state)
{
    (void)state;
    struct hl7_msg *m =
        parse_ok(MSH_25 "NTE|1|"
                        "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f|" /* 2: the five delimiters */
                        "line1\\.br\\line2\\.sp\\x|"       /* 3: line breaks */
                        "\\X41\\\\X4243\\\\XC3A9\\|"       /* 4: hex: A, BC, e-acute (UTF-8) */
                        "\\H\\bold\\N\\|"                  /* 5: highlighting dropped */
                        "\\Q\\ \\Zabc\\ \\.in+4\\ \\X4\\ \\X00\\|" /* 6: kept literally */
                        "50\\|"                                    /* 7: unterminated: literal */
                        "a\\\\b|"                                  /* 8: empty escape: literal */
                        "x^\\S\\^y\r"); /* 9: escaped separator is no split */

    assert_get(m, "NTE", 1, 2, 1, 1, 1, "a|b^c&d~e\\f");
    assert_get(m, "NTE", 1, 3, 1, 1, 1, "line1\nline2\nx");
    assert_get(m, "NTE", 1, 4, 1, 1, 1, "ABC\xC3\xA9");
    assert_get(m, "NTE", 1, 5, 1, 1, 1, "bold");
    assert_get(m, "NTE", 1, 6, 1, 1, 1, "\\Q\\ \\Zabc\\ \\.in+4\\ \\X4\\ \\X00\\");
    assert_get(m, "NTE", 1, 7, 1, 1, 1, "50\\");
    assert_get(m, "NTE", 1, 8, 1, 1, 1, "a\\\\b");
    assert_int_equal(hl7_comp_count(m, "NTE", 1, 9, 1), 3);
    assert_get(m, "NTE", 1, 9, 1, 2, 1, "^");
    hl7_free(m);
}

static void test_other_encoding_characters(void **state)
{
    (void)state;
    /* field #, component $, repetition *, escape %, subcomponent @ */
    struct hl7_msg *m = parse_ok("MSH#$*%@#REG#HOSP#EDLIVE#ED#20261204##ADT$A08#C9#P#2.4\n"
                                 "PID#1##M1$$$H*M2##DOE@X$JO%F%E|^~\\&#\n");
    const struct hl7_encoding *enc = hl7_msg_encoding(m);

    assert_int_equal(enc->field, '#');
    assert_int_equal(enc->comp, '$');
    assert_int_equal(enc->rep, '*');
    assert_int_equal(enc->esc, '%');
    assert_int_equal(enc->sub, '@');
    assert_get(m, "MSH", 1, 1, 1, 1, 1, "#");
    assert_get(m, "MSH", 1, 2, 1, 1, 1, "$*%@");
    assert_get(m, "MSH", 1, 9, 1, 2, 1, "A08");
    assert_get(m, "PID", 1, 3, 1, 1, 1, "M1");
    assert_get(m, "PID", 1, 3, 1, 4, 1, "H");
    assert_get(m, "PID", 1, 3, 2, 1, 1, "M2");
    assert_get(m, "PID", 1, 5, 1, 1, 2, "X");
    /* the standard characters are text here; %F% is this message's field separator */
    assert_get(m, "PID", 1, 5, 1, 2, 1, "JO#E|^~\\&");
    hl7_free(m);

    /* a fifth character (v2.7 truncation) is accepted and is no delimiter */
    m = parse_ok("MSH|^~\\&#|A|B|C|D|20261204||ADT^A04|C1|P|2.7\rPID|1||M#1\r");
    assert_get(m, "MSH", 1, 2, 1, 1, 1, "^~\\&#");
    assert_get(m, "PID", 1, 3, 1, 1, 1, "M#1");
    hl7_free(m);
}

static void test_empty_and_null(void **state)
{
    (void)state;
    struct hl7_msg *m = parse_ok(MSH_25 "PID|1||\"\"||DOE^\"\"^^|\"\"\r");
    const char *v;

    assert_null(hl7_get(m, "PID", 1, 2, 1, 1, 1)); /* empty: not valued */
    v = hl7_get(m, "PID", 1, 3, 1, 1, 1);          /* "": the HL7 null */
    assert_true(hl7_is_null(v));
    assert_ptr_equal(v, hl7_null);
    assert_string_equal(v, ""); /* reads as no value if not tested */
    assert_false(hl7_is_null(NULL));
    assert_false(hl7_is_null(""));
    assert_null(hl7_get(m, "PID", 1, 4, 1, 1, 1));
    assert_get(m, "PID", 1, 5, 1, 1, 1, "DOE");
    assert_true(hl7_is_null(hl7_get(m, "PID", 1, 5, 1, 2, 1)));
    assert_null(hl7_get(m, "PID", 1, 5, 1, 3, 1));
    assert_true(hl7_is_null(hl7_get(m, "PID", 1, 6, 1, 1, 1)));
    assert_int_equal(hl7_field_count(m, "PID", 1), 6); /* a null field is valued */
    hl7_free(m);

    /* a quoted value is not the null */
    m = parse_ok(MSH_25 "NTE|1||\"x\"|\"\"\"\"\r");
    assert_get(m, "NTE", 1, 3, 1, 1, 1, "\"x\"");
    assert_get(m, "NTE", 1, 4, 1, 1, 1, "\"\"\"\"");
    hl7_free(m);
}

static void test_trailing_separators(void **state)
{
    (void)state;
    struct hl7_msg *a = parse_ok(MSH_25 "PID|1||M1^^^^\rPV1|1|E\r");
    struct hl7_msg *b = parse_ok(MSH_25 "PID|1||M1^^^^|||||\rPV1|1|E||||\r");

    assert_int_equal(hl7_field_count(a, "PID", 1), 3);
    assert_int_equal(hl7_field_count(b, "PID", 1), 3);
    assert_int_equal(hl7_field_count(a, "PV1", 1), 2);
    assert_int_equal(hl7_field_count(b, "PV1", 1), 2);
    assert_get(a, "PID", 1, 3, 1, 1, 1, "M1");
    assert_get(b, "PID", 1, 3, 1, 1, 1, "M1");
    assert_null(hl7_get(b, "PID", 1, 7, 1, 1, 1));
    assert_null(hl7_get(b, "PID", 1, 3, 1, 5, 1));
    hl7_free(a);
    hl7_free(b);

    /* a segment of its id alone, with and without a separator */
    a = parse_ok(MSH_25 "EVN\rPID|\rPV1|1\r");
    assert_int_equal(hl7_segment_count(a, NULL), 4);
    assert_int_equal(hl7_field_count(a, "EVN", 1), 0);
    assert_int_equal(hl7_field_count(a, "PID", 1), 0);
    hl7_free(a);
}

static void test_segment_terminators(void **state)
{
    (void)state;
    static const char *const texts[] = {
        MSH_25 "PID|1||M1\rPV1|1|E\r",
        "MSH|^~\\&|REG|HOSP|EDLIVE|ED|20261204081500||ADT^A04^ADT_A01|C1|P|2.5.1\n"
        "PID|1||M1\nPV1|1|E\n",
        "MSH|^~\\&|REG|HOSP|EDLIVE|ED|20261204081500||ADT^A04^ADT_A01|C1|P|2.5.1\r\n"
        "PID|1||M1\r\nPV1|1|E\r\n",
        /* mixed, no final terminator, blank lines (and a line of blanks) between */
        "\r\n\nMSH|^~\\&|REG|HOSP|EDLIVE|ED|20261204081500||ADT^A04^ADT_A01|C1|P|2.5.1\n\r"
        "PID|1||M1\r\n  \n\r\rPV1|1|E",
        /* a UTF-8 BOM before MSH */
        "\xEF\xBB\xBFMSH|^~\\&|REG|HOSP|EDLIVE|ED|20261204081500||ADT^A04^ADT_A01|C1|P|2.5.1\r"
        "PID|1||M1\rPV1|1|E\r",
    };

    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct hl7_msg *m = parse_ok(texts[i]);
        assert_int_equal(hl7_segment_count(m, NULL), 3);
        assert_get(m, "MSH", 1, 3, 1, 1, 1, "REG");
        assert_get(m, "MSH", 1, 12, 1, 1, 1, "2.5.1");
        assert_get(m, "PID", 1, 3, 1, 1, 1, "M1");
        assert_get(m, "PV1", 1, 2, 1, 1, 1, "E");
        hl7_free(m);
    }
}

static void test_versions(void **state)
{
    (void)state;
    static const char *const ok[] = {"2.3", "2.3.1", "2.4", "2.5",   "2.5.1", "2.6",
                                     "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"};
    static const char *const no[] = {"2.2", "2.1", "3.0", "2.5.2", "2.9", "2.5 ", "v2.5"};
    char text[256];

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct hl7_msg *m;
        snprintf(text, sizeof text, "MSH|^~\\&|A|B|C|D|2026||ADT^A04|C1|P|%s\rPID|1\r", ok[i]);
        m = parse_ok(text);
        assert_true(hl7_version_supported(ok[i]));
        hl7_free(m);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        snprintf(text, sizeof text, "MSH|^~\\&|A|B|C|D|2026||ADT^A04|C1|P|%s\rPID|1\r", no[i]);
        refused(text, HL7_E_UNSUPPORTED_VERSION, "MSH", 12);
        assert_false(hl7_version_supported(no[i]));
    }
    /* a version with components (VID: id^country^...) */
    {
        struct hl7_msg *m = parse_ok("MSH|^~\\&|A|B|C|D|2026||ADT^A04|C1|P|2.4^USA\r");
        hl7_free(m);
    }
    assert_false(hl7_version_supported(NULL));
}

static void test_refusals(void **state)
{
    (void)state;
    struct hl7_error e;

    refused("", HL7_E_SEGMENT_SEQUENCE, "", 0);
    refused("\r\n\r\n", HL7_E_SEGMENT_SEQUENCE, "", 0);
    refused("PID|1\r" MSH_25, HL7_E_SEGMENT_SEQUENCE, "", 0);
    e = refused("FHS|^~\\&\rBHS|^~\\&\r" MSH_25, HL7_E_SEGMENT_SEQUENCE, "", 0);
    assert_non_null(strstr(e.message, "batch"));
    /* MSH-2 */
    refused("MSH", HL7_E_SEGMENT_SEQUENCE, "MSH", 1);
    refused("MSH|^~\\|A|B|C|D|2026||ADT^A04|C1|P|2.5\r", HL7_E_DATA_TYPE, "MSH", 2);
    refused("MSH|^~\\&#!|A|B|C|D|2026||ADT^A04|C1|P|2.5\r", HL7_E_DATA_TYPE, "MSH", 2);
    refused("MSH|^^\\&|A|B|C|D|2026||ADT^A04|C1|P|2.5\r", HL7_E_DATA_TYPE, "MSH", 2);
    refused("MSH|^~|&|A|B|C|D|2026||ADT^A04|C1|P|2.5\r", HL7_E_DATA_TYPE, "MSH", 2);
    refused("MSH|^~A&|A|B|C|D|2026||ADT^A04|C1|P|2.5\r", HL7_E_DATA_TYPE, "MSH", 2);
    refused("MSHA^~\\&A|B|C|D|2026||ADT^A04|C1|P|2.5\r", HL7_E_DATA_TYPE, "MSH", 1);
    refused("MSH ^~\\& A B", HL7_E_DATA_TYPE, "MSH", 1);
    /* required MSH fields */
    refused("MSH|^~\\&|A|B|C|D|2026|||C1|P|2.5\r", HL7_E_REQUIRED_FIELD, "MSH", 9);
    refused("MSH|^~\\&|A|B|C|D|2026||^A04|C1|P|2.5\r", HL7_E_REQUIRED_FIELD, "MSH", 9);
    refused("MSH|^~\\&|A|B|C|D|2026||\"\"|C1|P|2.5\r", HL7_E_REQUIRED_FIELD, "MSH", 9);
    refused("MSH|^~\\&|A|B|C|D|2026||ADT^A04||P|2.5\r", HL7_E_REQUIRED_FIELD, "MSH", 10);
    refused("MSH|^~\\&|A|B|C|D|2026||ADT^A04|C1|P\r", HL7_E_REQUIRED_FIELD, "MSH", 12);
    refused("MSH|^~\\&\r", HL7_E_REQUIRED_FIELD, "MSH", 9);
    /* segment ids */
    e = refused(MSH_25 "PID|1\rpv1|1\r", HL7_E_SEGMENT_SEQUENCE, "", 0);
    assert_non_null(strstr(e.message, "segment 3"));
    refused(MSH_25 "PIDX|1\r", HL7_E_SEGMENT_SEQUENCE, "", 0);
    refused(MSH_25 "P|1\r", HL7_E_SEGMENT_SEQUENCE, "", 0);
    refused(MSH_25 "1AB|1\r", HL7_E_SEGMENT_SEQUENCE, "", 0);
    refused(MSH_25 "ZB9|1\rZ|\r", HL7_E_SEGMENT_SEQUENCE, "", 0);
    /* two messages in one frame */
    e = refused(MSH_25 "PID|1\r" MSH_25 "PID|2\r", HL7_E_SEGMENT_SEQUENCE, "", 0);
    assert_non_null(strstr(e.message, "second MSH"));
}

static void test_text_checks(void **state)
{
    (void)state;
    static const char nul[] = MSH_25 "PID|1||M1\rPV1|1|E\0x|B3\r";
    struct hl7_error e;

    /* invalid UTF-8, located to the leaf */
    e = refused(MSH_25 "PID|1||M1||DOE^J\xC3\r", HL7_E_DATA_TYPE, "PID", 5);
    assert_int_equal(e.seg_seq, 1);
    assert_int_equal(e.rep, 1);
    assert_int_equal(e.comp, 2);
    assert_int_equal(e.sub, 1);
    refused(MSH_25 "PID|1\rPID|2||\xC0\xAF\r", HL7_E_DATA_TYPE, "PID", 3);
    e = refused(MSH_25 "PID|1\rPID|2||A~B^\xED\xA0\x80\r", HL7_E_DATA_TYPE, "PID", 3);
    assert_int_equal(e.seg_seq, 2);
    assert_int_equal(e.rep, 2);
    assert_int_equal(e.comp, 2);
    refused(MSH_25 "NTE|1|\xF4\x90\x80\x80\r", HL7_E_DATA_TYPE, "NTE", 2);
    refused(MSH_25 "NTE|1|\xFF\r", HL7_E_DATA_TYPE, "NTE", 2);
    /* made by an escape: still checked */
    refused(MSH_25 "NTE|1|\\XC3\\\r", HL7_E_DATA_TYPE, "NTE", 2);
    /* a NUL byte */
    e = refused_n(nul, sizeof nul - 1, NULL, HL7_E_DATA_TYPE, "PV1", 2);
    /* valid multi-byte text passes */
    {
        struct hl7_msg *m = parse_ok(MSH_25 "PID|1||M1||M\xC3\xBCller^Zo\xC3\xAB^\xE2\x82\xAC"
                                            "\xF0\x9F\x98\x80\r");
        assert_get(m, "PID", 1, 5, 1, 1, 1, "M\xC3\xBCller");
        hl7_free(m);
    }
}

static void test_limits(void **state)
{
    (void)state;
    struct hl7_limits lim = {200, 3, 12, 30};
    char text[4096];
    struct hl7_msg *m;

    /* within the limits */
    snprintf(text, sizeof text, "MSH|^~\\&|A|B|||||ADT^A04|C1|P|2.5\rPID|1|2|3|4|5\r");
    m = hl7_parse(text, strlen(text), &lim, NULL);
    assert_non_null(m);
    hl7_free(m);
    /* bytes, segments, fields, leaves */
    memset(text, 'x', sizeof text);
    refused_n(text, 201, &lim, HL7_E_INTERNAL, "", 0);
    refused_n(MSH_25 "PID|1\rPV1|1\rPV2|1\r", strlen(MSH_25) + 18,
              &(struct hl7_limits){4096, 3, 50, 1000}, HL7_E_INTERNAL, "", 0);
    refused_lim("MSH|^~\\&|A|B|||||ADT^A04|C1|P|2.5\rPID|1|2|3|4|5|6|7|8|9|0|1|2|3\r", &lim,
                HL7_E_INTERNAL, "PID", 13);
    refused_lim("MSH|^~\\&|A|B|||||ADT^A04|C1|P|2.5\rPID|1^2^3^4^5^6^7^8^9^0^1^2^3^4^5^6^7\r", &lim,
                HL7_E_INTERNAL, "PID", 1);
    /* the default caps: 1001 segments, 257 fields */
    {
        size_t n = 0, cap = 64 * 1024;
        char *big = malloc(cap);
        assert_non_null(big);
        n += (size_t)snprintf(big, cap, "%s", MSH_25);
        for (int i = 0; i < 1000; i++)
            n += (size_t)snprintf(big + n, cap - n, "NTE|%d\r", i);
        refused_n(big, n, NULL, HL7_E_INTERNAL, "", 0);
        n = (size_t)snprintf(big, cap, "%sNTE", MSH_25);
        for (int i = 0; i < 257; i++)
            big[n++] = '|', big[n++] = 'x';
        refused_n(big, n, NULL, HL7_E_INTERNAL, "NTE", 257);
        free(big);
    }
    /* NULL input */
    refused_n(NULL, 10, NULL, HL7_E_SEGMENT_SEQUENCE, "", 0);
}

/* Every prefix and every one-byte change of a message parses or is refused cleanly. */
static void test_prefixes_and_flips(void **state)
{
    (void)state;
    static const char text[] = MSH_25 "EVN|A04|20261204\rPID|1||M1^^^H^MR||DOE^JANE||19800101|F\r"
                                      "PV1|1|E|ED^R1^B2||||123^HOUSE^GREG\rOBX|1|NM|75636-1^ESI^LN"
                                      "||2\rAL1|1|DA|^PENICILLIN|SV|HIVES\r";
    size_t n = sizeof text - 1;
    char *copy = malloc(n);

    assert_non_null(copy);
    for (size_t len = 0; len <= n; len++) {
        struct hl7_error e;
        struct hl7_msg *m;
        memcpy(copy, text, len); /* exact-size reads: ASan sees any overrun */
        m = hl7_parse(copy, len, NULL, &e);
        assert_true(m != NULL || e.code != HL7_OK);
        hl7_free(m);
    }
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            struct hl7_error e;
            struct hl7_msg *m;
            memcpy(copy, text, n);
            copy[i] = (char)(copy[i] ^ (1 << bit));
            m = hl7_parse(copy, n, NULL, &e);
            assert_true(m != NULL || (e.code != HL7_OK && e.message[0]));
            hl7_free(m);
            hl7_free(hl7_parse_msh(copy, n));
        }
    }
    free(copy);
}

static void test_parse_msh(void **state)
{
    (void)state;
    /* the header of a message hl7_parse refuses */
    static const char bad[] = "MSH|^~\\&|REG|HOSP|||2026||ADT^A04|C7|P|9.9\rPID|1||\xFF\r";
    struct hl7_msg *m = hl7_parse_msh(bad, sizeof bad - 1);

    assert_non_null(m);
    assert_int_equal(hl7_segment_count(m, NULL), 1);
    assert_get(m, "MSH", 1, 10, 1, 1, 1, "C7");
    assert_get(m, "MSH", 1, 12, 1, 1, 1, "9.9");
    hl7_free(m);
    m = hl7_parse_msh("\xEF\xBB\xBF\r\nMSH|^~\\&|A\r", 15);
    assert_non_null(m);
    assert_get(m, "MSH", 1, 3, 1, 1, 1, "A");
    hl7_free(m);
    assert_null(hl7_parse_msh("PID|1\r", 6));
    assert_null(hl7_parse_msh("MSH|^~|", 7));
    assert_null(hl7_parse_msh(NULL, 0));
    assert_null(hl7_parse_msh("", 0));
}

/* hl7_buf_escaped, then hl7_parse, gives back the text exactly. */
static void test_escape_round_trip(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "a|b^c&d~e\\f",
        "cr\rlf\ncrlf\r\nend",
        "\x01\x1f\x7f",
        "M\xC3\xBCller \xE2\x82\xAC",
        "\\X41\\ \\.br\\ \\F\\",
        "\"\"",
        "x",
    };

    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct hl7_buf b = {0};
        struct hl7_msg *m;
        hl7_buf_str(&b, MSH_25 "NTE|1|");
        hl7_buf_escaped(&b, &hl7_standard_encoding, texts[i]);
        hl7_buf_str(&b, "\r");
        m = parse_ok(b.data);
        assert_get(m, "NTE", 1, 2, 1, 1, 1, texts[i]);
        hl7_free(m);
        free(b.data);
    }
}

static void test_output(void **state)
{
    (void)state;
    struct hl7_buf b = {0};
    struct hl7_msg *m;

    hl7_buf_escaped(&b, &hl7_standard_encoding, "a|b^c&d~e\\f\r\ng\nh\x01i");
    assert_string_equal(b.data, "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X0D\\\\.br\\g\\.br\\h\\X01\\i");
    hl7_buf_escaped(&b, &hl7_standard_encoding, NULL);
    hl7_buf_escaped(&b, &hl7_standard_encoding, hl7_null);
    free(b.data);

    /* a field re-encoded with the standard characters, and read back the same */
    m = parse_ok("MSH#$*%@#REG#HOSP#EDLIVE#ED#20261204##ADT$A08#C9#P#2.4\n"
                 "PID#1##M1$$$H@A|B*M2##\"\"$JO^E@X\n");
    b = (struct hl7_buf){0};
    hl7_buf_field(&b, m, "PID", 1, 3, 1);
    assert_string_equal(b.data, "M1^^^H&A\\F\\B");
    free(b.data);
    b = (struct hl7_buf){0};
    hl7_buf_field(&b, m, "PID", 1, 5, 1);
    assert_string_equal(b.data, "\"\"^JO\\S\\E&X");
    hl7_buf_field(&b, m, "PID", 1, 9, 1); /* absent: nothing */
    assert_string_equal(b.data, "\"\"^JO\\S\\E&X");
    free(b.data);
    hl7_free(m);

    /* the buffer's cap */
    b = (struct hl7_buf){.max = 4};
    hl7_buf_str(&b, "abcd");
    assert_false(b.failed);
    hl7_buf_char(&b, 'e');
    assert_true(b.failed);
    assert_int_equal(b.len, 4);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_occurrences),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_other_encoding_characters),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_trailing_separators),
        cmocka_unit_test(test_segment_terminators),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_text_checks),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_prefixes_and_flips),
        cmocka_unit_test(test_parse_msh),
        cmocka_unit_test(test_escape_round_trip),
        cmocka_unit_test(test_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
