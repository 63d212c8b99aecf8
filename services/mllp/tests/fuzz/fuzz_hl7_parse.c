/* SPDX-License-Identifier: MIT */
/* fuzz_hl7_parse.c: one MLLP payload as ed-mllp reads it: hl7_parse(), then the ACK. Beyond
 * "no crash, no leak" (ASan/UBSan): every value read back is NUL-free UTF-8 no longer than the
 * input, a refusal carries a table 0357 code and a message, and every ACK built for the input
 * (AA and AE for an accepted message, AR for a refused one) parses itself and answers the
 * input's MSH-10. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "hl7.h"
#include "hl7_ack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const char *v, size_t size)
{
    if (!v || hl7_is_null(v))
        return;
    FUZZ_REQUIRE(v[0] != '\0');
    FUZZ_REQUIRE(strlen(v) <= size);
}

/* One repetition re-encoded with the standard characters (hl7_buf_field), parsed again as
 * ZZZ-1, has the same components and leaves. */
static void check_reencoded(const struct hl7_msg *m, const char *id, unsigned occ, unsigned f,
                            unsigned r)
{
    struct hl7_buf b = {0};
    struct hl7_msg *z;
    unsigned nc = hl7_comp_count(m, id, occ, f, r);

    hl7_buf_str(&b, "MSH|^~\\&|||||||ZZZ^Z01|1|P|2.5\rZZZ|");
    hl7_buf_field(&b, m, id, occ, f, r);
    hl7_buf_char(&b, '\r');
    FUZZ_REQUIRE(!b.failed);
    z = hl7_parse(b.data, b.len, NULL, NULL);
    FUZZ_REQUIRE(z != NULL);
    for (unsigned c = 1; c <= nc; c++) {
        for (unsigned s = 1; s <= 4; s++) {
            const char *a = hl7_get(m, id, occ, f, r, c, s), *e = hl7_get(z, "ZZZ", 1, 1, 1, c, s);
            FUZZ_REQUIRE(hl7_is_null(a) == hl7_is_null(e));
            FUZZ_REQUIRE((a == NULL) == (e == NULL));
            FUZZ_REQUIRE(!a || !strcmp(a, e));
        }
    }
    hl7_free(z);
    free(b.data);
}

/* Reads every element the tree has (and one past each end, which must be absent). */
static void walk(const struct hl7_msg *m, size_t size)
{
    unsigned nseg = hl7_segment_count(m, NULL);

    FUZZ_REQUIRE(nseg >= 1 && !strcmp(hl7_segment_id(m, 0), "MSH"));
    FUZZ_REQUIRE(hl7_segment_id(m, nseg) == NULL);
    for (unsigned i = 0; i < nseg; i++) {
        const char *id = hl7_segment_id(m, i);
        unsigned occ = 0, nf;
        for (unsigned k = 0; k <= i; k++)
            occ += !strcmp(hl7_segment_id(m, k), id);
        nf = hl7_field_count(m, id, occ);
        FUZZ_REQUIRE(hl7_get(m, id, occ, nf + 1, 1, 1, 1) == NULL);
        for (unsigned f = 1; f <= nf; f++) {
            unsigned nr = hl7_rep_count(m, id, occ, f);
            FUZZ_REQUIRE(nr >= 1);
            for (unsigned r = 1; r <= nr; r++) {
                unsigned nc = hl7_comp_count(m, id, occ, f, r);
                FUZZ_REQUIRE(nc >= 1);
                FUZZ_REQUIRE(hl7_get(m, id, occ, f, r, nc + 1, 1) == NULL);
                if (f > 2 || strcmp(id, "MSH"))
                    check_reencoded(m, id, occ, f, r);
                for (unsigned c = 1; c <= nc; c++)
                    for (unsigned s = 1; s <= 4; s++)
                        check_value(hl7_get(m, id, occ, f, r, c, s), size);
            }
        }
    }
}

/* The ACK parses and its MSA-2 is the inbound MSH-10 (as far as one was read). */
static void check_ack(char *ack, size_t len, const char *code, const char *control_id)
{
    struct hl7_error err;
    struct hl7_msg *a;
    const char *msa2;

    FUZZ_REQUIRE(ack != NULL);
    FUZZ_REQUIRE(strlen(ack) == len);
    a = hl7_parse(ack, len, NULL, &err);
    if (!a)
        fprintf(stderr, "ACK refused: %u %s\n", (unsigned)err.code, err.message);
    FUZZ_REQUIRE(a != NULL);
    FUZZ_REQUIRE(!strcmp(hl7_get(a, "MSH", 1, 9, 1, 1, 1), "ACK"));
    FUZZ_REQUIRE(!strcmp(hl7_get(a, "MSH", 1, 10, 1, 1, 1), "FUZZ1"));
    FUZZ_REQUIRE(!strcmp(hl7_get(a, "MSA", 1, 1, 1, 1, 1), code));
    msa2 = hl7_get(a, "MSA", 1, 2, 1, 1, 1);
    if (control_id && !hl7_is_null(control_id))
        FUZZ_REQUIRE(msa2 && !strcmp(msa2, control_id));
    FUZZ_REQUIRE((hl7_segment_count(a, "ERR") == 1) == (strcmp(code, "AA") != 0));
    hl7_free(a);
    free(ack);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct hl7_ack_opts opts = {"FUZZ1", 1764806400, "EDLIVE", "ED"};
    struct hl7_limits lim = {65536, 64, 64, 4096};
    struct hl7_error err;
    struct hl7_msg *m = hl7_parse((const char *)data, size, &lim, &err);
    size_t len = 0;
    char *ack;

    if (!m) {
        struct hl7_msg *header = hl7_parse_msh((const char *)data, size);
        FUZZ_REQUIRE(err.code >= HL7_E_SEGMENT_SEQUENCE && err.code <= HL7_E_INTERNAL);
        FUZZ_REQUIRE(err.message[0] != '\0');
        ack = hl7_ack_reject((const char *)data, size, &err, &opts, &len);
        check_ack(ack, len, "AR", header ? hl7_get(header, "MSH", 1, 10, 1, 1, 1) : NULL);
        hl7_free(header);
        return 0;
    }
    walk(m, size);
    FUZZ_REQUIRE(hl7_get(m, "MSH", 1, 9, 1, 1, 1) && hl7_get(m, "MSH", 1, 10, 1, 1, 1));
    ack = hl7_ack_build(m, HL7_ACK_AA, NULL, 0, &opts, &len);
    check_ack(ack, len, "AA", hl7_get(m, "MSH", 1, 10, 1, 1, 1));
    err = (struct hl7_error){HL7_E_UNKNOWN_KEY, "PID", 1, 3, 1, 1, 0, "unknown patient |^~\\&"};
    ack = hl7_ack_build(m, HL7_ACK_AE, &err, 1, &opts, &len);
    check_ack(ack, len, "AE", hl7_get(m, "MSH", 1, 10, 1, 1, 1));
    hl7_free(m);
    return 0;
}
