/* SPDX-License-Identifier: MIT */
/* test_record_hl7.c: the arrival body of an A04 (record_hl7.c; proto/hl7/ADT_MAPPING.md §3,
 * §4.1, §4.4), no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "record_hl7.h"

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

#define MSH "MSH|^~\\&|REG|HOSP|EDLIVE|ED|202501011200||ADT^A04|M1|P|2.5.1\r"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults_and_refusals),
        cmocka_unit_test(test_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
