/* SPDX-License-Identifier: MIT */
/* test_hl7_samples.c: sample messages through the framer, the parser and the ACK builder:
 *  - the public samples in ../shared/data/hl7v2-adt (PROVENANCE.txt there; LF line ends, one
 *    with a BOM): each parses, its key fields are the values in the files, and its ACKs parse;
 *    skipped with a message when ../shared (or $EDLIVE_SHARED) is absent;
 *  - our own synthetic samples, samples/index.tsv: what the parser makes of each, and that the
 *    ACK the service is to answer (AA, AE or AR with its code) can be built and parses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hl7.h"
#include "hl7_ack.h"
#include "mllp_frame.h"

#define MS_DIR "/data/hl7v2-adt/microsoft-FHIR-Converter"

static const struct hl7_ack_opts opts = {"EDLTEST1", 1796372100, "EDLIVE", "ED"};

/* The file's bytes (malloc'd, exact size) or NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *buf;

    if (!f)
        return NULL;
    if (fstat(fileno(f), &st) != 0 || !(buf = malloc((size_t)st.st_size + 1))) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    return buf;
}

/* Both ACKs of a parsed message (AA, and AE naming PID-3) parse and answer its MSH-10; so
 * does the AR of a refused one. */
static void check_acks(const struct hl7_msg *m)
{
    static const struct hl7_error err = {HL7_E_UNKNOWN_KEY, "PID", 1, 3, 1, 1, 0,
                                         "no such patient"};
    const enum hl7_ack_code codes[] = {HL7_ACK_AA, HL7_ACK_AE};

    for (int i = 0; i < 2; i++) {
        size_t len;
        char *ack = hl7_ack_build(m, codes[i], i ? &err : NULL, i, &opts, &len);
        struct hl7_error e;
        struct hl7_msg *a;
        assert_non_null(ack);
        a = hl7_parse(ack, len, NULL, &e);
        assert_non_null(a);
        assert_string_equal(hl7_get(a, "MSA", 1, 1, 1, 1, 1), i ? "AE" : "AA");
        assert_string_equal(hl7_get(a, "MSA", 1, 2, 1, 1, 1), hl7_get(m, "MSH", 1, 10, 1, 1, 1));
        assert_string_equal(hl7_get(a, "MSH", 1, 9, 1, 2, 1), hl7_get(m, "MSH", 1, 9, 1, 2, 1));
        assert_string_equal(hl7_get(a, "MSH", 1, 12, 1, 1, 1), hl7_get(m, "MSH", 1, 12, 1, 1, 1));
        assert_int_equal(hl7_segment_count(a, "ERR"), i);
        hl7_free(a);
        free(ack);
    }
}

/* ---- the public samples ---- */

struct public_sample {
    const char *file;
    const char *type, *trigger, *structure, *control_id, *version;
    const char *pid3, *pid3_type, *family, *given;
    const char *pv1_2, *pv1_3_1, *pv1_3_2, *pv1_3_3;
    const char *mrg1;
    unsigned segments;
};

#define KS    "ADT", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN", "ADAM"
#define PV1_P "P", "HUH AE OMU", "OMU B", "Bed 03", NULL
/* The values as they are in the files (the -01 / -02 messages share their PID and PV1). */
static const struct public_sample public_samples[] = {
    {"ADT-A01-01.hl7", "ADT", "A01", "ADT_A01", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 24},
    {"ADT-A01-02.hl7", "ADT", "A01", "ADT_A01", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 4},
    {"ADT-A02-01.hl7", "ADT", "A02", "ADT_A02", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 14},
    {"ADT-A03-01.hl7", "ADT", "A03", "ADT_A03", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 24},
    {"ADT-A03-02.hl7", "ADT", "A03", "ADT_A03", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 4},
    {"ADT-A04-01.hl7", "ADT", "A04", "ADT_A04", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 24},
    {"ADT-A04-02.hl7", "ADT", "A04", "ADT_A04", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 5},
    {"ADT-A08-01.hl7", "ADT", "A08", "ADT_A08", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 24},
    {"ADT-A08-02.hl7", "ADT", "A08", "ADT_A08", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 4},
    {"ADT-A11-01.hl7", "ADT", "A11", "ADT_A11", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 9},
    {"ADT-A11-02.hl7", "ADT", "A11", "ADT_A11", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 5},
    {"ADT-A13-01.hl7", "ADT", "A13", "ADT_A13", "MSG00001", "2.8", "PATID1234", "MR", "EVERYMAN",
     "ADAM", PV1_P, 24},
    {"ADT-A40-01.hl7", "ADT", "A40", "ADT_A40", "8919-40", "2.8", "12345", "MR", "Test", "Test",
     NULL, NULL, NULL, NULL, "56789", 4},
    /* REDOX, v2.3, a BOM before MSH, no EVN, PV1-2 E (emergency), no MSH-9.3 */
    {"ADT04-251.hl7", "ADT", "A04", NULL, "1270326314", "2.3", "MRN12345", "MR", "Doe", "Jane", "E",
     NULL, NULL, NULL, NULL, 4},
};

/* The folder of the public samples, or NULL (then the caller skips). */
static const char *public_dir(void)
{
    static char dir[4096];
    const char *shared = getenv("EDLIVE_SHARED");
    struct stat st;

    snprintf(dir, sizeof dir, "%s" MS_DIR, shared && shared[0] ? shared : SHARED_DIR);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        print_message("skipped: no public HL7 samples at %s (the ../shared folder beside the "
                      "checkout, or $EDLIVE_SHARED)\n",
                      dir);
        return NULL;
    }
    return dir;
}

static void assert_value(const struct hl7_msg *m, const char *seg, unsigned field, unsigned comp,
                         const char *want)
{
    const char *got = hl7_get(m, seg, 1, field, 1, comp, 1);

    if (!want) {
        assert_null(got);
        return;
    }
    if (!got || strcmp(got, want))
        print_error("%s-%u.%u: expected \"%s\", got \"%s\"\n", seg, field, comp, want,
                    got ? got : "(absent)");
    assert_non_null(got);
    assert_string_equal(got, want);
}

static void test_public_samples(void **state)
{
    (void)state;
    const char *dir = public_dir();

    if (!dir) {
        skip();
        return;
    }
    for (size_t i = 0; i < sizeof public_samples / sizeof public_samples[0]; i++) {
        const struct public_sample *s = &public_samples[i];
        char path[4200];
        size_t len = 0;
        char *text;
        struct hl7_error err;
        struct hl7_msg *m;

        snprintf(path, sizeof path, "%s/%s", dir, s->file);
        text = read_file(path, &len);
        assert_non_null(text);
        m = hl7_parse(text, len, NULL, &err);
        if (!m)
            print_error("%s refused: %s\n", s->file, err.message);
        assert_non_null(m);
        assert_int_equal(hl7_segment_count(m, NULL), s->segments);
        assert_value(m, "MSH", 9, 1, s->type);
        assert_value(m, "MSH", 9, 2, s->trigger);
        assert_value(m, "MSH", 9, 3, s->structure);
        assert_value(m, "MSH", 10, 1, s->control_id);
        assert_value(m, "MSH", 12, 1, s->version);
        assert_value(m, "PID", 3, 1, s->pid3);
        assert_value(m, "PID", 3, 5, s->pid3_type);
        assert_value(m, "PID", 5, 1, s->family);
        assert_value(m, "PID", 5, 2, s->given);
        assert_value(m, "PV1", 2, 1, s->pv1_2);
        assert_value(m, "PV1", 3, 1, s->pv1_3_1);
        assert_value(m, "PV1", 3, 2, s->pv1_3_2);
        assert_value(m, "PV1", 3, 3, s->pv1_3_3);
        assert_value(m, "MRG", 1, 1, s->mrg1);
        check_acks(m);
        hl7_free(m);
        free(text);
    }
}

/* Details of the kitchen-sink files: repetitions, subcomponents, an escaped '&'. */
static void test_public_details(void **state)
{
    (void)state;
    const char *dir = public_dir();
    char path[4200];
    size_t len = 0;
    char *text;
    struct hl7_msg *m;

    if (!dir) {
        skip();
        return;
    }
    snprintf(path, sizeof path, "%s/ADT-A04-01.hl7", dir);
    text = read_file(path, &len);
    assert_non_null(text);
    m = hl7_parse(text, len, NULL, NULL);
    assert_non_null(m);
    assert_int_equal(hl7_rep_count(m, "PID", 1, 3), 2);
    assert_string_equal(hl7_get(m, "PID", 1, 3, 2, 1, 1), "123456789");
    assert_string_equal(hl7_get(m, "PID", 1, 3, 2, 5, 1), "SS");
    assert_string_equal(hl7_get(m, "PID", 1, 3, 1, 4, 2), "2.16.1");
    assert_string_equal(hl7_get(m, "PID", 1, 5, 1, 1, 5), "Aniston");
    assert_string_equal(hl7_get(m, "PID", 1, 5, 2, 1, 1), "Josh");
    assert_string_equal(hl7_get(m, "PV1", 1, 3, 1, 1, 2), "9.8");
    assert_string_equal(hl7_get(m, "PV1", 1, 14, 1, 1, 1),
                        "NHS Provider-General (inc.A&E-this Hosp)");
    assert_string_equal(hl7_get(m, "PV1", 1, 36, 1, 1, 1), "Admitted as Inpatient");
    assert_string_equal(hl7_get(m, "PV1", 1, 44, 1, 1, 1), "20150208113419+0110");
    assert_string_equal(hl7_get(m, "PV2", 1, 3, 1, 2, 1), "Chronic pharyngitis");
    assert_string_equal(hl7_get(m, "OBX", 1, 3, 1, 1, 1), "8867-4");
    assert_string_equal(hl7_get(m, "OBX", 1, 5, 2, 1, 1), "120");
    assert_string_equal(hl7_get(m, "AL1", 1, 3, 1, 2, 1), "PENICILLIN");
    assert_string_equal(hl7_get(m, "EVN", 1, 2, 1, 1, 1), "20290801070624+0115");
    hl7_free(m);
    free(text);
}

/* Every public sample framed and sent as one stream, cut in odd chunks, with garbage between:
 * the framer hands over each message whole and each parses. */
static void on_frame(void *ctx, enum mllp_event ev, const uint8_t *data, size_t len)
{
    unsigned *parsed = ctx;
    struct hl7_msg *m;

    assert_int_equal(ev, MLLP_MESSAGE);
    m = hl7_parse((const char *)data, len, NULL, NULL);
    assert_non_null(m);
    hl7_free(m);
    (*parsed)++;
}

static void test_public_samples_over_mllp(void **state)
{
    (void)state;
    const char *dir = public_dir();
    size_t n = sizeof public_samples / sizeof public_samples[0], total = 0, cap = 256 * 1024;
    uint8_t *stream;
    unsigned parsed = 0;
    struct mllp_decoder *d;

    if (!dir) {
        skip();
        return;
    }
    stream = malloc(cap);
    assert_non_null(stream);
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        size_t len = 0, framed_len = 0;
        char *text;
        uint8_t *framed;
        snprintf(path, sizeof path, "%s/%s", dir, public_samples[i].file);
        text = read_file(path, &len);
        assert_non_null(text);
        framed = mllp_encode(text, len, &framed_len);
        assert_non_null(framed);
        assert_true(total + framed_len + 2 < cap);
        memcpy(stream + total, "\r\n", 2); /* what some senders put between frames */
        memcpy(stream + total + 2, framed, framed_len);
        total += framed_len + 2;
        free(framed);
        free(text);
    }
    d = mllp_decoder_new(0);
    for (size_t i = 0, step = 1; i < total; i += step, step = step % 97 + 13)
        mllp_decoder_feed(d, stream + i, total - i < step ? total - i : step, on_frame, &parsed);
    assert_int_equal(parsed, n);
    assert_int_equal(mllp_decoder_stats(d)->garbage_bytes, 2 * n);
    mllp_decoder_free(d);
    free(stream);
}

/* ---- our own samples ---- */

/* "PID-3#2.1.1" or "AL1[2]-5" -> its parts; false when malformed. */
static bool parse_path(const char *path, char seg[4], unsigned pos[5])
{
    const char *p = path + 3;

    memcpy(seg, path, 3);
    seg[3] = '\0';
    pos[0] = 1; /* occurrence */
    pos[2] = pos[3] = pos[4] = 1;
    if (*p == '[')
        pos[0] = (unsigned)strtoul(p + 1, (char **)&p, 10), p++;
    if (*p++ != '-')
        return false;
    pos[1] = (unsigned)strtoul(p, (char **)&p, 10);
    if (*p == '#')
        pos[2] = (unsigned)strtoul(p + 1, (char **)&p, 10);
    if (*p == '.')
        pos[3] = (unsigned)strtoul(p + 1, (char **)&p, 10);
    if (*p == '.')
        pos[4] = (unsigned)strtoul(p + 1, (char **)&p, 10);
    return *p == '\0' && pos[1] > 0;
}

/* "\n" in the table is a newline. */
static void unescape_expected(const char *in, char *out, size_t cap)
{
    size_t o = 0;

    for (; *in && o + 1 < cap; in++) {
        if (in[0] == '\\' && in[1] == 'n')
            out[o++] = '\n', in++;
        else
            out[o++] = *in;
    }
    out[o] = '\0';
}

static void check_value(const char *file, const struct hl7_msg *m, const char *check)
{
    char path[64], want[512], seg[4];
    unsigned pos[5] = {0};
    const char *eq = strchr(check, '='), *got;

    assert_non_null(eq);
    snprintf(path, sizeof path, "%.*s", (int)(eq - check), check);
    assert_true(parse_path(path, seg, pos));
    unescape_expected(eq + 1, want, sizeof want);
    got = hl7_get(m, seg, pos[0], pos[1], pos[2], pos[3], pos[4]);
    if (!strcmp(want, "<absent>") ? got != NULL
        : !strcmp(want, "<null>") ? !hl7_is_null(got)
                                  : !got || hl7_is_null(got) || strcmp(got, want)) {
        print_error("%s %s: expected \"%s\", got \"%s\"\n", file, path, want,
                    !got               ? "<absent>"
                    : hl7_is_null(got) ? "<null>"
                                       : got);
        fail();
    }
}

/* "code:SEG-F[.C]" or "code:-" -> an error for the ACK. */
static struct hl7_error expected_error(const char *spec)
{
    struct hl7_error e = {0};
    const char *loc = strchr(spec, ':');

    e.code = (enum hl7_err_code)strtoul(spec, NULL, 10);
    assert_non_null(loc);
    loc++;
    snprintf(e.message, sizeof e.message, "expected %s", spec);
    if (strcmp(loc, "-")) {
        memcpy(e.segment, loc, 3);
        e.seg_seq = 1;
        e.field = (unsigned)strtoul(loc + 4, (char **)&loc, 10);
        e.rep = 1;
        if (*loc == '.')
            e.comp = (unsigned)strtoul(loc + 1, NULL, 10);
    }
    return e;
}

static void check_own_sample(char **cols, int ncols)
{
    char path[4200];
    size_t len = 0, ack_len;
    char *text, *ack;
    struct hl7_error err, want;
    struct hl7_msg *m, *a;
    const char *ack_code = cols[2];

    snprintf(path, sizeof path, "%s/%s", SAMPLES_DIR, cols[0]);
    text = read_file(path, &len);
    if (!text)
        print_error("cannot read %s\n", path);
    assert_non_null(text);
    m = hl7_parse(text, len, NULL, &err);
    if (!strncmp(cols[1], "refuse:", 7)) {
        want = expected_error(cols[1] + 7);
        if (m)
            print_error("%s: parsed, expected a refusal\n", cols[0]);
        assert_null(m);
        if (err.code != want.code || strcmp(err.segment, want.segment) || err.field != want.field ||
            (want.comp && err.comp != want.comp))
            print_error("%s: refused with %u at %s-%u.%u (%s)\n", cols[0], (unsigned)err.code,
                        err.segment, err.field, err.comp, err.message);
        assert_int_equal(err.code, want.code);
        assert_string_equal(err.segment, want.segment);
        assert_int_equal(err.field, want.field);
        ack = hl7_ack_reject(text, len, &err, &opts, &ack_len);
    } else {
        assert_string_equal(cols[1], "ok");
        if (!m)
            print_error("%s refused: %s\n", cols[0], err.message);
        assert_non_null(m);
        for (int i = 3; i < ncols; i++)
            check_value(cols[0], m, cols[i]);
        check_acks(m);
        want = strcmp(ack_code, "AA") ? expected_error(ack_code + 3) : (struct hl7_error){0};
        ack = hl7_ack_build(m,
                            !strcmp(ack_code, "AA")       ? HL7_ACK_AA
                            : !strncmp(ack_code, "AE", 2) ? HL7_ACK_AE
                                                          : HL7_ACK_AR,
                            &want, 1, &opts, &ack_len);
    }
    /* the ACK the service is to answer parses and says what the table says */
    assert_non_null(ack);
    a = hl7_parse(ack, ack_len, NULL, &err);
    assert_non_null(a);
    assert_memory_equal(hl7_get(a, "MSA", 1, 1, 1, 1, 1), ack_code, 2);
    assert_int_equal(hl7_segment_count(a, "ERR"), strcmp(ack_code, "AA") ? 1 : 0);
    hl7_free(a);
    free(ack);
    hl7_free(m);
    free(text);
}

static void test_own_samples(void **state)
{
    (void)state;
    char index_path[4200], line[4096];
    FILE *f;
    int files = 0, refused = 0;

    snprintf(index_path, sizeof index_path, "%s/index.tsv", SAMPLES_DIR);
    f = fopen(index_path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        char *cols[40], *save = NULL, *tok;
        int n = 0;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        for (tok = strtok_r(line, "\t", &save); tok && n < 40; tok = strtok_r(NULL, "\t", &save))
            cols[n++] = tok;
        assert_true(n >= 3);
        check_own_sample(cols, n);
        files++;
        refused += !strncmp(cols[1], "refuse:", 7);
    }
    fclose(f);
    assert_true(files >= 15);
    assert_true(refused >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_samples),
        cmocka_unit_test(test_public_details),
        cmocka_unit_test(test_public_samples_over_mllp),
        cmocka_unit_test(test_own_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
