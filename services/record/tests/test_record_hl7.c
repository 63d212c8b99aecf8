/* SPDX-License-Identifier: MIT */
/* test_record_hl7.c: the pure half of the HL7 mapping, no database: the arrival body of an A04
 * (record_hl7.c; proto/hl7/ADT_MAPPING.md §3, §4.1, §4.4) and the code tables of
 * record_hl7_map.c (§4.2, §4.3, §4.5, §4.6) against adt_mapping.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "record_hl7_internal.h"

static struct hl7_msg *parse(const char *text)
{
    struct hl7_error err;
    struct hl7_msg *msg = hl7_parse(text, strlen(text), NULL, &err);
    assert_non_null(msg);
    return msg;
}

static json_t *mapping(void)
{
    json_t *m = json_load_file(PROTO_DIR "/hl7/adt_mapping.json", 0, NULL);
    assert_non_null(m);
    return m;
}

static json_t *body_of(const char *text, struct record_hl7_result *res)
{
    struct hl7_error err;
    struct hl7_msg *msg = hl7_parse(text, strlen(text), NULL, &err);
    json_t *body;
    assert_non_null(msg);
    body = record_hl7_arrival_body(msg, res);
    hl7_free(msg);
    return body;
}

/* 64 characters: a UUID and a prefix */
#define MRN64 "c0cd7d3c-da6a-4e2f-a130-35e4d7db9d11-0123456789-ABCDEFGHIJKLMNOP"
#define MSH   "MSH|^~\\&|REG|HOSP|EDLIVE|ED|202501011200||ADT^A04|M1|P|2.5.1\r"

static void test_full(void **state)
{
    struct record_hl7_result res;
    json_t *b;

    (void)state;
    b = body_of(MSH "EVN|A04|202501011130+0100\r"
                    "PID|1||X9^^^H^PI~AB-12^^^H^MR||Other^Al^^^^^A~Doe^Jane^^^^^L||19800229|f\r"
                    "PV1|1|E||||||||||||6||||||||||||||||||||||||||||||202501011125-0500\r"
                    "PV2|||^chest pain|||||||||||||||||||||||||||||||||||A\r",
                &res);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "patient"), "mrn")),
                        "AB-12");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(b, "patient"), "family_name")), "Doe");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(b, "patient"), "birth_date")),
        "1980-02-29");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "patient"), "sex")),
                        "female");
    assert_string_equal(json_string_value(json_object_get(b, "arrival_mode")), "ambulance");
    assert_string_equal(json_string_value(json_object_get(b, "chief_complaint")), "chest pain");
    assert_string_equal(json_string_value(json_object_get(b, "arrived_at")),
                        "2025-01-01T11:25:00-05:00");
    assert_int_equal(res.nwarnings, 0);
    json_decref(b);
}

static void test_defaults_and_refusals(void **state)
{
    struct record_hl7_result res;
    json_t *b = body_of(MSH "PID|1||A1\rPV1|1|E||||||||||||5\r", &res);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "arrival_mode")), "transfer");
    assert_string_equal(json_string_value(json_object_get(b, "chief_complaint")),
                        "(not given at registration)");
    assert_null(json_object_get(b, "arrived_at")); /* no offset: the department's zone */
    assert_string_equal(res.local_time, "2025-01-01T12:00:00");
    assert_int_equal(res.nwarnings, 1);
    json_decref(b);

    assert_null(body_of(MSH "PID|1||\rPV1|1|E\r", &res));
    assert_true(res.unidentified);
    assert_null(body_of(MSH "PID|1||A_1\rPV1|1|E\r", &res));
    assert_int_equal(res.err.code, HL7_E_DATA_TYPE);
    assert_int_equal(res.err.field, 3);
    /* an MRN of 64 characters (a 36-character UUID fits) is taken, 65 is AE 102 at PID-3 */
    b = body_of(MSH "PID|1||" MRN64 "\rPV1|1|E\r", &res);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "patient"), "mrn")),
                        MRN64);
    json_decref(b);
    assert_null(body_of(MSH "PID|1||" MRN64 "X\rPV1|1|E\r", &res));
    assert_int_equal(res.err.code, HL7_E_DATA_TYPE);
    assert_int_equal(res.err.field, 3);
    assert_null(body_of(MSH "PID|1||A1||||19810229\rPV1|1|E\r", &res));
    assert_int_equal(res.err.field, 7);
    assert_null(body_of(MSH "PID|1||A1|||||Q\rPV1|1|E\r", &res));
    assert_int_equal(res.err.code, HL7_E_TABLE_VALUE);
    (void)state;
}

static void test_time(void **state)
{
    char out[32];
    bool off;
    assert_true(record_hl7_time("20250101123456.789+0130", out, &off));
    assert_true(off);
    assert_string_equal(out, "2025-01-01T12:34:56+01:30");
    assert_false(record_hl7_time("2025010112", out, &off)); /* hours only */
    assert_false(record_hl7_time("202502291200", out, &off));
    assert_false(record_hl7_time("202501011200+01", out, &off));
    (void)state;
}

/* The code tables of record_hl7_map.c say what adt_mapping.json says. */
static void test_disposition_table(void **state)
{
    json_t *m = mapping(), *v;
    const char *code;
    bool unknown;

    (void)state;
    json_object_foreach (json_object_get(m, "disposition"), code, v) {
        const char *kind =
            record_hl7_disposition_kind(strcmp(code, "*") ? code : "Admitted", &unknown);
        if (json_is_null(v))
            assert_null(kind);
        else
            assert_string_equal(kind, json_string_value(v));
        assert_int_equal(unknown, !strcmp(code, "*"));
    }
    assert_string_equal(record_hl7_disposition_kind("01 06", &unknown), "other");
    json_decref(m);
}

static void test_vitals_table(void **state)
{
    json_t *m = mapping(), *v;
    const char *loinc;
    char text[256];

    (void)state;
    json_object_foreach (json_object_get(m, "vitals_loinc"), loinc, v) {
        struct hl7_error err;
        unsigned first;
        struct hl7_msg *msg;
        json_t *body;
        snprintf(text, sizeof text, MSH "OBX|1|NM|%s^x^LN||7|||||||F\r", loinc);
        msg = parse(text);
        body = record_hl7_vitals_body(msg, &first, &err);
        assert_non_null(body);
        assert_non_null(json_object_get(body, json_string_value(v)));
        assert_int_equal(first, 1);
        json_decref(body);
        hl7_free(msg);
    }
    json_decref(m);
}

static void test_vitals_values(void **state)
{
    struct hl7_error err;
    unsigned first;
    struct hl7_msg *msg = parse(MSH "OBX|1|ST|8661-1^CC^LN||cough\r"
                                    "OBX|2|NM|8310-5^T^LN||98.6|[degF]\r"
                                    "OBX|3|NM|8867-4^HR^LN||72||||||W\r"
                                    "OBX|4|NM|8867-4^HR^LN||80~120\r"
                                    "OBX|5|NM|3151-8^O2^LN||2\r");
    json_t *body = record_hl7_vitals_body(msg, &first, &err);

    (void)state;
    assert_non_null(body);
    assert_int_equal(first, 2);
    assert_true(json_real_value(json_object_get(body, "temperature_c")) == 37.0);
    assert_int_equal(json_integer_value(json_object_get(body, "heart_rate")), 80);
    assert_true(json_is_true(json_object_get(body, "on_oxygen")));
    assert_int_equal(record_hl7_vitals_obx(msg, "heart_rate"), 4);
    json_decref(body);
    hl7_free(msg);
    msg = parse(MSH "OBX|1|ST|8867-4^HR^LN||fast\r");
    assert_null(record_hl7_vitals_body(msg, &first, &err));
    assert_int_equal(err.code, HL7_E_DATA_TYPE);
    assert_int_equal(err.field, 5);
    hl7_free(msg);
    msg = parse(MSH "OBX|1|NM|72514-3^Pain^LN||11\r");
    assert_null(record_hl7_vitals_body(msg, &first, &err));
    hl7_free(msg);
}

static void test_esi_and_allergy(void **state)
{
    struct hl7_error err;
    unsigned occ;
    struct hl7_msg *msg = parse(MSH "OBX|1|NM|75636-1^ESI^LN||2||||||W\r"
                                    "OBX|2|CE|11283-9^Acuity^LN||LA21754-9^4^LN\r"
                                    "AL1|1|DA|PCN^Penicillin|MO|Rash~Hives~Wheeze\r"
                                    "AL1|2|DA|NKDA\r"
                                    "AL1|3|DA|^^\r");
    json_t *a;

    (void)state;
    assert_int_equal(record_hl7_esi(msg, &occ, &err), 4);
    assert_int_equal(occ, 2);
    a = record_hl7_allergy_body(msg, 1, &err);
    assert_string_equal(json_string_value(json_object_get(a, "substance")), "Penicillin");
    assert_string_equal(json_string_value(json_object_get(a, "severity")), "moderate");
    assert_string_equal(json_string_value(json_object_get(a, "reaction")), "Rash, Hives, Wheeze");
    json_decref(a);
    a = record_hl7_allergy_body(msg, 2, &err);
    assert_true(json_is_true(json_object_get(a, "no_known_allergies")));
    json_decref(a);
    assert_null(record_hl7_allergy_body(msg, 3, &err));
    assert_int_equal(err.code, HL7_E_REQUIRED_FIELD);
    assert_int_equal(err.seg_seq, 3);
    hl7_free(msg);
    msg = parse(MSH "OBX|1|NM|75636-1^ESI^LN||6\r");
    assert_int_equal(record_hl7_esi(msg, &occ, &err), -1);
    assert_int_equal(err.code, HL7_E_TABLE_VALUE);
    hl7_free(msg);
}

static void test_unidentified_and_location(void **state)
{
    struct record_hl7_result res;
    struct hl7_msg *msg = parse(MSH "PID|1|||||||M\rPV1|1|E|ED^Room 4^B^HOSP\r");
    json_t *b = record_hl7_unidentified_body(msg, &res);
    char text[512];

    (void)state;
    assert_non_null(b);
    assert_true(res.unidentified);
    assert_string_equal(json_string_value(json_object_get(b, "sex")), "male");
    assert_null(json_object_get(b, "patient"));
    record_hl7_location_text(msg, text, sizeof text);
    assert_string_equal(text, "ED Room 4 B");
    json_decref(b);
    hl7_free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults_and_refusals),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_disposition_table),
        cmocka_unit_test(test_vitals_table),
        cmocka_unit_test(test_vitals_values),
        cmocka_unit_test(test_esi_and_allergy),
        cmocka_unit_test(test_unidentified_and_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
