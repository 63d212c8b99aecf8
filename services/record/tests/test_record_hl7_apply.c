/* SPDX-License-Identifier: MIT */
/* test_record_hl7_apply.c: record_hl7_apply against the test deployment's PostgreSQL
 * (EDLIVE_PG as the services' role, EDLIVE_PG_OWNER for the set-up; skipped, exit 77, without
 * them). One test per event and per AE / warning row of proto/hl7/ADT_MAPPING.md §2 and §5,
 * each message applied the way ed-mllp does (record_batch_begin, record_hl7_apply, commit on
 * AA, roll back otherwise), then checked as a registration system (the ACK: code, ERR code and
 * position) and a clinician (the record: status, bed, ESI, vitals, disposition, boarding,
 * audit source) would see it. Its own department (HL7T<pid>, zone Europe/Paris) and staff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg.h"
#include "record_hl7.h"
#include "record_seed.h"

static PGconn *app, *owner;
static char dept_code[17];
static long long dept_id, physician, nurse, interface_staff;
static char dr_hl7[32], rn_hl7[32];
static struct record_hl7_opts opts;
static struct record_hl7_result res;
static int mrn_counter;

/* ---- helpers ---- */

/* The first value of a parameterized query on the owner's connection ("" when no row). */
static const char *one(const char *sql, const char *p1)
{
    static char value[512];
    const char *params[] = {p1};
    PGresult *r = PQexecParams(owner, sql, p1 ? 1 : 0, NULL, params, NULL, NULL, 0);

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(value, sizeof value, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return value;
}

static long long one_int(const char *sql, const char *p1)
{
    return atoll(one(sql, p1));
}

/* An HL7 DTM minutes_ago minutes before now, in UTC with its offset. */
static const char *ago(int minutes_ago, char *buf)
{
    time_t t = time(NULL) - 60 * minutes_ago;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y%m%d%H%M%S+0000", &tm);
    return buf;
}

static const char *new_mrn(char *buf)
{
    snprintf(buf, 32, "H7-%d-%d", (int)getpid(), ++mrn_counter);
    return buf;
}

/* A segment with the fields given as (position, text) pairs ending with 0, the others empty:
 * seg("PV1", 2, "E", 36, "01", 0). Eight rotating buffers, for several in one message. */
static const char *seg(const char *id, ...)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    const char *fields[64] = {0};
    int len, top = 0, pos;
    va_list ap;

    va_start(ap, id);
    while ((pos = va_arg(ap, int)) > 0 && pos < 64) {
        fields[pos] = va_arg(ap, const char *);
        top = pos > top ? pos : top;
    }
    va_end(ap);
    len = snprintf(b, 1024, "%s", id);
    for (int i = 1; i <= top; i++)
        len += snprintf(b + len, 1024 - (size_t)len, "|%s", fields[i] ? fields[i] : "");
    return b;
}

/* Applies one message (segments separated by \n) as ed-mllp does; the ACK code. */
static enum hl7_ack_code apply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static enum hl7_ack_code apply(const char *fmt, ...)
{
    char text[8192];
    struct hl7_error perr;
    struct hl7_msg *msg;
    struct record_write w = {0};
    enum hl7_ack_code code;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (char *p = text; *p; p++)
        if (*p == '\n')
            *p = '\r';
    msg = hl7_parse(text, strlen(text), NULL, &perr);
    assert_non_null(msg);
    assert_true(record_batch_begin(app));
    code = record_hl7_apply(app, msg, &opts, &res, &w);
    if (code == HL7_ACK_AA)
        assert_true(record_batch_commit(app));
    else
        record_batch_rollback(app);
    /* What the ACK's ERR says (positions and rules, never values): for a failing test. */
    if (code != HL7_ACK_AA)
        printf("# %s %d at %s[%u]-%u.%u: %s\n", code == HL7_ACK_AE ? "AE" : "AR", (int)res.err.code,
               res.err.segment, res.err.seg_seq, res.err.field, res.err.comp, res.err.message);
    record_write_clear(&w);
    hl7_free(msg);
    return code;
}

static void assert_err(enum hl7_err_code code, const char *seg, unsigned occ, unsigned field)
{
    assert_int_equal(res.err.code, code);
    assert_string_equal(res.err.segment, seg);
    if (seg[0])
        assert_int_equal(res.err.seg_seq, occ);
    assert_int_equal(res.err.field, field);
}

static bool has_warning(const char *seg, unsigned field)
{
    for (unsigned i = 0; i < res.nwarnings; i++)
        if (!strcmp(res.warnings[i].segment, seg) && res.warnings[i].field == field)
            return true;
    return false;
}

/* The patient's latest encounter, 0 when none. */
static long long encounter_of(const char *mrn)
{
    return one_int("SELECT e.id FROM encounter e JOIN patient p ON p.id = e.patient_id "
                   "WHERE p.mrn = $1 ORDER BY e.id DESC LIMIT 1",
                   mrn);
}

/* One column of an encounter as text. The column comes from the test's own constants. */
static const char *enc(long long id, const char *expr)
{
    char sql[256], idbuf[24];

    snprintf(sql, sizeof sql, "SELECT coalesce((%s)::text, '') FROM encounter e WHERE e.id = $1",
             expr);
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    return one(sql, idbuf);
}

static long long count_of(const char *sql, long long id)
{
    char idbuf[24];

    snprintf(idbuf, sizeof idbuf, "%lld", id);
    return one_int(sql, idbuf);
}

static long long events_of(long long id)
{
    return count_of("SELECT count(*) FROM event WHERE encounter_id = $1", id);
}

/* MSH-7 empty: the event time is EVN's, or the time of applying. */
#define MSH(trigger, id) "MSH|^~\\&|REG|HOSP|EDLIVE|ED|||ADT^" trigger "|" id "|P|2.5.1\n"
#define PID_OF(mrn)      "PID|1||%s^^^HOSP^MR||Doe^Jane||19800229|F\n"

/* A registered patient (A04, no bed, no ESI): its encounter. */
static long long registered(char *mrn)
{
    char t[32];

    new_mrn(mrn);
    assert_int_equal(apply(MSH("A04", "R%s") "EVN|A04|%s\n" PID_OF("%s") "PV1|1|E|%s\n"
                                                                         "PV2|||^cough\n",
                           mrn, ago(90, t), mrn, dept_code),
                     HL7_ACK_AA);
    return encounter_of(mrn);
}

/* ---- set-up ---- */

static long long staff_with_hl7_id(const char *name, const char *role, char *hl7_id)
{
    struct ed_error err = {0};
    long long id = record_seed_staff(owner, dept_id, name, role);

    assert_true(id > 0);
    snprintf(hl7_id, 32, "%s%d", role[0] == 'p' ? "DR" : "RN", (int)getpid());
    assert_true(record_staff_set_hl7_id(owner, id, hl7_id, &err));
    return id;
}

static int setup(void **state)
{
    static const char *const beds[][2] = {
        {"R1", "acute"},    {"R2", "acute"},        {"R3", "acute"}, {"R4", "acute"},
        {"R5", "acute"},    {"R6", "acute"},        {"R7", "resus"}, {"R8", "resus"},
        {"HW1", "hallway"}, {"WR", "waiting_room"}, {"R9", "acute"},
    };

    (void)state;
    app = pg_connect(getenv("EDLIVE_PG"), 10);
    owner = pg_connect(getenv("EDLIVE_PG_OWNER"), 10);
    if (!app || !owner)
        return -1;
    snprintf(dept_code, sizeof dept_code, "HL7T%d", (int)getpid() % 100000000);
    dept_id = record_seed_department(owner, dept_code, "HL7 test ED", "Europe/Paris");
    for (size_t i = 0; dept_id > 0 && i < sizeof beds / sizeof beds[0]; i++)
        record_seed_bed(owner, dept_id, beds[i][0], beds[i][1], (int)i);
    physician = staff_with_hl7_id("Dr HL7 Test", "physician", dr_hl7);
    nurse = staff_with_hl7_id("RN HL7 Test", "nurse", rn_hl7);
    interface_staff = record_seed_staff(owner, dept_id, "Registration interface", "registration");
    opts.default_department = dept_code;
    opts.interface_staff_id = interface_staff;
    return dept_id > 0 && interface_staff > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(app);
    PQfinish(owner);
    return 0;
}

/* ---- A04 ---- */

static void test_a04_complete(void **state)
{
    char mrn[32], t[32], t2[32], t3[32];
    long long id;

    (void)state;
    new_mrn(mrn);
    /* PID-3 with two repetitions (the MR one second), PV1-3 point of care^room^bed, the ESI
     * and vitals in OBX, one allergy, version 2.5.1. */
    assert_int_equal(
        apply(MSH("A04", "C1") "EVN|A04|%s|||||%s\n"
                               "PID|1||X9^^^HOSP^PI~%s^^^HOSP^MR||Doe^Jane^^^^^L||19800229|F\n"
                               "PV1|1|E|%s^R1^R1||||%s^Lopez^Ana\n"
                               "%s\n"
                               "OBX|1|NM|75636-1^ESI^LN||2||||||F\n"
                               "OBX|2|NM|8867-4^Heart rate^LN||110|/min|||||F|||%s\n"
                               "OBX|3|NM|8480-6^SBP^LN||120|mm[Hg]|||||F\n"
                               "OBX|4|NM|8462-4^DBP^LN||80|mm[Hg]|||||F\n"
                               "OBX|5|NM|8310-5^Temp^LN||98.6|[degF]|||||F\n"
                               "AL1|1|DA|^Penicillin|SV|Rash~Hives\n",
              ago(30, t), ago(31, t2), mrn, dept_code, dr_hl7,
              seg("PV2", 3, "^chest pain", 38, "A", 0), ago(29, t3)),
        HL7_ACK_AA);
    assert_int_equal(res.nwarnings, 0);
    id = encounter_of(mrn);
    assert_true(id > 0);
    assert_string_equal(enc(id, "e.status"), "in_room");
    assert_string_equal(enc(id, "(SELECT label FROM bed WHERE id = e.bed_id)"), "R1");
    assert_int_equal(atoll(enc(id, "e.attending_id")), physician);
    assert_string_equal(enc(id, "e.esi"), "2");
    assert_string_equal(enc(id, "e.chief_complaint"), "chest pain");
    assert_string_equal(enc(id, "e.arrival_mode"), "ambulance");
    assert_string_equal(enc(id, "(SELECT heart_rate FROM vitals WHERE encounter_id = e.id)"),
                        "110");
    assert_string_equal(enc(id, "(SELECT temperature_c FROM vitals WHERE encounter_id = e.id)"),
                        "37.0");
    assert_int_equal(atoll(enc(id, "(SELECT taken_by FROM vitals WHERE encounter_id = e.id)")),
                     interface_staff);
    assert_string_equal(
        enc(id, "(SELECT severity || ' ' || reaction FROM patient_allergy WHERE patient_id = "
                "e.patient_id)"),
        "severe Rash, Hives");
    /* Arrival, bed, staff, triage, allergy, vitals: six events, all visible after the commit,
     * each audited with the sending facility as the source. */
    assert_int_equal(events_of(id), 6);
    assert_int_equal(count_of("SELECT count(*) FROM audit_log WHERE encounter_id = $1 AND "
                              "source_addr = 'hl7:HOSP' AND outcome = 'success'",
                              id),
                     6);
    assert_int_equal(
        count_of("SELECT max(seq) - min(seq) + 1 FROM event WHERE encounter_id = $1", id), 6);
}

/* Events of the test department so far. */
static long long department_events(void)
{
    return count_of("SELECT count(*) FROM event WHERE department_id = $1", dept_id);
}

/* The open encounter in a bed of the test department, 0 when the bed is free. */
static long long in_bed(const char *label)
{
    char sql[320];

    snprintf(sql, sizeof sql,
             "SELECT e.id FROM encounter e JOIN bed b ON b.id = e.bed_id WHERE b.department_id = "
             "%lld AND b.label = $1 AND e.status NOT IN ('departed', 'left_without_being_seen')",
             dept_id);
    return one_int(sql, label);
}

static void test_a04_unidentified(void **state)
{
    char t[32];
    long long id;

    (void)state;
    /* No PID-3 at all: a trauma patient nobody can name yet. */
    assert_int_equal(apply(MSH("A04", "U1") "EVN|A04|%s\n"
                                            "PID|1|||||||M\n"
                                            "PV1|1|E|%s^^R7\n"
                                            "%s\n",
                           ago(20, t), dept_code, seg("PV2", 3, "^unresponsive", 38, "H", 0)),
                     HL7_ACK_AA);
    id = in_bed("R7");
    assert_true(id > 0);
    assert_string_equal(enc(id,
                            "(SELECT p.temp_id IS NOT NULL AND p.mrn IS NULL AND p.alias LIKE "
                            "'Unknown Male Trauma-%' FROM patient p WHERE p.id = e.patient_id)"),
                        "true");
    assert_string_equal(enc(id, "e.arrival_mode"), "helicopter");
}

#define RESEND_A04                                 \
    MSH("A04", "S1")                               \
    "EVN|A04|%s\n" PID_OF("%s") "PV1|1|E|%s^^%s\n" \
                                "PV2|||^fall\n"    \
                                "OBX|1|NM|8867-4^HR^LN||88||||||F\n"

static void test_a04_resend_is_an_update(void **state)
{
    char mrn[32], t[32];
    long long id;
    (void)state;
    new_mrn(mrn);
    ago(40, t); /* once: a resend is the same bytes, whatever the clock says meanwhile */
    assert_int_equal(apply(RESEND_A04, t, mrn, dept_code, "R2"), HL7_ACK_AA);
    id = encounter_of(mrn);
    assert_int_equal(events_of(id), 3);
    /* The same message again, then with another bed: one encounter, one vitals set. */
    assert_int_equal(apply(RESEND_A04, t, mrn, dept_code, "R2"), HL7_ACK_AA);
    assert_int_equal(events_of(id), 3);
    assert_int_equal(apply(RESEND_A04, t, mrn, dept_code, "R3"), HL7_ACK_AA);
    assert_int_equal(encounter_of(mrn), id);
    assert_int_equal(in_bed("R3"), id);
    assert_int_equal(count_of("SELECT count(*) FROM vitals WHERE encounter_id = $1", id), 1);
}

static void test_a04_not_an_ed_visit(void **state)
{
    char mrn[32];

    (void)state;
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A04", "N1") PID_OF("%s") "PV1|1|O|%s\n", mrn, dept_code),
                     HL7_ACK_AA);
    assert_true(has_warning("PV1", 2));
    assert_int_equal(encounter_of(mrn), 0);
}

/* A later part refused: nothing of the message is written (no patient, encounter or event). */
static void test_a04_refused_part_leaves_nothing(void **state)
{
    char mrn[32];
    long long events = department_events();

    (void)state;
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A04", "F1") PID_OF("%s") "PV1|1|E|%s^^NOSUCHBED\n", mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_TABLE_VALUE, "PV1", 1, 3);
    assert_int_equal(res.err.comp, 3);
    assert_int_equal(encounter_of(mrn), 0);
    assert_string_equal(one("SELECT count(*) FROM patient WHERE mrn = $1", mrn), "0");
    /* An implausible vital sign (the fourth segment of the OBX kind) refuses it all too. */
    assert_int_equal(apply(MSH("A04", "F2") PID_OF("%s") "PV1|1|E|%s^^R4\n"
                                                         "OBX|1|NM|75636-1^ESI^LN||3||||||F\n"
                                                         "OBX|2|NM|8867-4^HR^LN||400||||||F\n",
                           mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_DATA_TYPE, "OBX", 2, 5);
    assert_int_equal(encounter_of(mrn), 0);
    assert_int_equal(in_bed("R4"), 0);
    assert_int_equal(department_events(), events);
}

static void test_a04_bed_taken(void **state)
{
    char mrn[32], other[32], t[32];

    (void)state;
    registered(other);
    assert_int_equal(apply(MSH("A02", "B0") "EVN|A02|%s\n" PID_OF("%s") "PV1|1|E|%s^^R5\n",
                           ago(5, t), other, dept_code),
                     HL7_ACK_AA);
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A04", "B1") PID_OF("%s") "PV1|1|E|%s^^R5\n", mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_RECORD_LOCKED, "PV1", 1, 3);
    assert_int_equal(encounter_of(mrn), 0);
}

/* AE rows of §5 that come from the PID and the times. */
static void test_a04_refusals(void **state)
{
    char mrn[32];

    (void)state;
    new_mrn(mrn);
    /* 101: a new MRN without a given name. */
    assert_int_equal(
        apply(MSH("A04", "E1") "PID|1||%s^^^H^MR||Doe||19800101|F\nPV1|1|E|%s\n", mrn, dept_code),
        HL7_ACK_AE);
    assert_err(HL7_E_REQUIRED_FIELD, "PID", 1, 5);
    /* 102: an MRN of the wrong shape; a time less precise than minutes. */
    assert_int_equal(apply(MSH("A04", "E2") "PID|1||A_1\nPV1|1|E|%s\n", dept_code), HL7_ACK_AE);
    assert_err(HL7_E_DATA_TYPE, "PID", 1, 3);
    assert_int_equal(
        apply(MSH("A04", "E3") "EVN|A04|2025010112\n" PID_OF("%s") "PV1|1|E|%s\n", mrn, dept_code),
        HL7_ACK_AE);
    assert_err(HL7_E_DATA_TYPE, "EVN", 1, 2);
    /* 102: an arrival in the future. */
    assert_int_equal(apply(MSH("A04", "E4") PID_OF("%s") "%s\n", mrn,
                           seg("PV1", 2, "E", 3, dept_code, 44, "20990101120000+0000", 0)),
                     HL7_ACK_AE);
    assert_err(HL7_E_DATA_TYPE, "PV1", 1, 44);
    /* 103: sex, ESI, department. */
    assert_int_equal(apply(MSH("A04", "E5") "PID|1||%s^^^H^MR||Doe^Jane||19800229|Q\n"
                                            "PV1|1|E|%s\n",
                           mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_TABLE_VALUE, "PID", 1, 8);
    assert_int_equal(apply(MSH("A04", "E6") PID_OF("%s") "PV1|1|E|%s\n"
                                                         "OBX|1|ST|8661-1^CC^LN||cough\n"
                                                         "OBX|2|NM|75636-1^ESI^LN||7||||||F\n",
                           mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_TABLE_VALUE, "OBX", 2, 5);
    assert_int_equal(apply(MSH("A04", "E7") PID_OF("%s") "PV1|1|E|NOSUCHDEPT^^R1\n", mrn),
                     HL7_ACK_AE);
    assert_err(HL7_E_TABLE_VALUE, "PV1", 1, 3);
    assert_int_equal(res.err.comp, 1);
    assert_int_equal(encounter_of(mrn), 0);
}

/* Warnings: the message applies, each skipped part is an ERR W. */
static void test_a04_warnings(void **state)
{
    char mrn[32], long_text[260];
    long long id;

    (void)state;
    memset(long_text, 'x', 250);
    long_text[250] = '\0';
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A04", "W1") PID_OF("%s") "PV1|1|E|%s||||NOBODY^X\n"
                                                         "PV2|||^%s\n",
                           mrn, dept_code, long_text),
                     HL7_ACK_AA);
    assert_true(has_warning("PV1", 7));
    assert_true(has_warning("PV2", 3));
    id = encounter_of(mrn);
    assert_int_equal(strlen(enc(id, "e.chief_complaint")), 200);
    assert_string_equal(enc(id, "e.attending_id"), "");
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A04", "W2") PID_OF("%s") "PV1|1|E|%s\n", mrn, dept_code),
                     HL7_ACK_AA);
    assert_true(has_warning("PV2", 3));
    assert_string_equal(enc(encounter_of(mrn), "e.chief_complaint"), "(not given at registration)");
    /* A nurse named as the attending: the record refuses that part (its savepoint is undone),
     * the rest of the message applies. */
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A04", "W3") PID_OF("%s") "PV1|1|E|%s||||%s\nPV2|||^cough\n", mrn,
                           dept_code, rn_hl7),
                     HL7_ACK_AA);
    assert_true(has_warning("PV1", 7));
    id = encounter_of(mrn);
    assert_string_equal(enc(id, "e.attending_id"), "");
    assert_int_equal(events_of(id), 1);
}

/* edlivectl staff hl7-id: one staff member per HL7 id, each change audited. */
static void test_staff_hl7_id(void **state)
{
    struct ed_error err = {0};

    (void)state;
    assert_false(record_staff_set_hl7_id(owner, nurse, dr_hl7, &err));
    assert_int_equal(err.status, 409);
    assert_false(record_staff_set_hl7_id(owner, nurse, "A|B", &err));
    assert_int_equal(err.status, 422);
    assert_false(record_staff_set_hl7_id(owner, 999999999, "X1", &err));
    assert_int_equal(err.status, 404);
    assert_true(record_staff_set_hl7_id(owner, nurse, rn_hl7, &err));
    /* Set up, then set again: two rows; the refusals wrote none. */
    assert_int_equal(count_of("SELECT count(*) FROM audit_log WHERE action = 'staff.hl7_id' AND "
                              "detail = 'staff ' || $1 || ': hl7_id = ' || (SELECT hl7_id FROM "
                              "staff WHERE id = $1::bigint)",
                              nurse),
                     2);
}

/* Real senders: version 2.3, no EVN-6, a local time read in the department's zone. */
static void test_a04_version_23_local_time(void **state)
{
    char mrn[32], local[32];
    long long id;

    (void)state;
    new_mrn(mrn);
    snprintf(local, sizeof local, "%s",
             one("SELECT to_char((now() - interval '10 minutes') AT TIME ZONE 'Europe/Paris', "
                 "'YYYYMMDDHH24MI')",
                 NULL));
    assert_int_equal(apply("MSH|^~\\&|REG|HOSP|EDLIVE|ED|%s||ADT^A04|V23|P|2.3\n"
                           "EVN|A04|%s\n"
                           "PID|1||%s||Doe^Jane||19800229|F\n"
                           "PV1|1|E|%s^ROOM^R6|||||||||||7\n",
                           local, local, mrn, dept_code),
                     HL7_ACK_AA);
    id = encounter_of(mrn);
    assert_int_equal(in_bed("R6"), id);
    assert_string_equal(enc(id, "abs(extract(epoch FROM e.arrived_at - (now() - interval '10 "
                                "minutes'))) < 61"),
                        "true");
}

/* ---- A08 ---- */

static void test_a08_update(void **state)
{
    char mrn[32], t[32], t2[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(apply(MSH("A08", "A8") "EVN|A08|%s\n" PID_OF("%s") "PV1|1|E|%s^^HW1||||%s\n"
                                                                        "PV2|||^worse cough\n"
                                                                        "OBX|1|CE|75636-1^ESI^LN||"
                                                                        "LA21753-1^3^LN||||||F\n"
                                                                        "OBX|2|NM|2708-6^SpO2^LN||"
                                                                        "93|%%|||||F|||%s||%s\n"
                                                                        "AL1|1||NKA\n",
                           ago(60, t), mrn, dept_code, dr_hl7, ago(59, t2), rn_hl7),
                     HL7_ACK_AA);
    assert_int_equal(res.nwarnings, 0);
    assert_string_equal(enc(id, "(SELECT label FROM bed WHERE id = e.bed_id)"), "HW1");
    assert_string_equal(enc(id, "e.esi"), "3");
    assert_string_equal(enc(id, "e.chief_complaint"), "worse cough");
    assert_int_equal(atoll(enc(id, "e.attending_id")), physician);
    assert_int_equal(atoll(enc(id, "(SELECT taken_by FROM vitals WHERE encounter_id = e.id)")),
                     nurse);
    assert_string_equal(
        enc(id, "(SELECT allergies_recorded_at IS NOT NULL FROM patient WHERE id = e.patient_id)"),
        "true");
    /* PV1-7 "" unassigns; PV1-3 "" goes back to the waiting room; 09: admit. */
    assert_int_equal(apply(MSH("A08", "A9") "EVN|A08|%s\n" PID_OF("%s") "%s\n", ago(50, t), mrn,
                           seg("PV1", 2, "E", 3, "\"\"", 7, "\"\"", 36, "09", 0)),
                     HL7_ACK_AA);
    assert_string_equal(enc(id, "e.bed_id"), "");
    assert_string_equal(enc(id, "e.attending_id"), "");
    assert_string_equal(enc(id, "e.disposition"), "admit");
    assert_string_equal(enc(id, "e.admit_decided_at IS NOT NULL"), "true");
}

/* Two readings in the same minute (a monitor beside the triage set) are both charted; the
 * same reading sent again is not charted twice. */
static void test_a08_vitals_same_minute(void **state)
{
#define A08_HR                                 \
    MSH("A08", "%s")                           \
    "EVN|A08|%s\n" PID_OF("%s") "PV1|1|E|%s\n" \
                                "OBX|1|NM|8867-4^HR^LN||%d|/min|||||F|||%s||%s\n"
    char mrn[32], t[32], taken[32];
    long long id;

    (void)state;
    id = registered(mrn);
    ago(30, taken);
    assert_int_equal(apply(A08_HR, "V1", ago(29, t), mrn, dept_code, 88, taken, rn_hl7),
                     HL7_ACK_AA);
    assert_int_equal(apply(A08_HR, "V2", ago(29, t), mrn, dept_code, 112, taken, rn_hl7),
                     HL7_ACK_AA);
    assert_int_equal(apply(A08_HR, "V3", ago(28, t), mrn, dept_code, 112, taken, rn_hl7),
                     HL7_ACK_AA);
    assert_int_equal(count_of("SELECT count(*) FROM vitals WHERE encounter_id = $1", id), 2);
    assert_string_equal(
        enc(id, "(SELECT string_agg(heart_rate::text, ',' ORDER BY heart_rate) FROM vitals "
                "WHERE encounter_id = e.id)"),
        "88,112");
#undef A08_HR
}

static void test_a08_refusals_and_warnings(void **state)
{
    char mrn[32], other[32];
    long long id;

    (void)state;
    id = registered(mrn);
    /* 205: PID differs from the patient on record. */
    assert_int_equal(apply(MSH("A08", "D1") "PID|1||%s^^^H^MR||Dow^Jane||19800229|F\n"
                                            "PV1|1|E|%s\n",
                           mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_DUPLICATE_KEY, "PID", 1, 5);
    /* 204: no open encounter; 101: no PID-3. */
    new_mrn(other);
    assert_int_equal(apply(MSH("A08", "D2") PID_OF("%s") "PV1|1|E|%s\n", other, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_UNKNOWN_KEY, "PID", 1, 3);
    assert_int_equal(apply(MSH("A08", "D3") "PID|1\nPV1|1|E|%s\n", dept_code), HL7_ACK_AE);
    assert_err(HL7_E_REQUIRED_FIELD, "PID", 1, 3);
    /* A complaint without an ESI; PV1-36 30 and an unknown code; NKA once allergies exist. */
    assert_int_equal(apply(MSH("A08", "D4") PID_OF("%s") "%s\n"
                                                         "PV2|||^new complaint\n"
                                                         "AL1|1||^Latex|MO\n",
                           mrn, seg("PV1", 2, "E", 3, dept_code, 36, "30", 0)),
                     HL7_ACK_AA);
    assert_true(has_warning("PV2", 3));
    assert_true(has_warning("PV1", 36));
    assert_string_equal(enc(id, "e.chief_complaint"), "cough");
    assert_string_equal(enc(id, "e.disposition"), "");
    assert_int_equal(apply(MSH("A08", "D5") PID_OF("%s") "%s\n"
                                                         "AL1|1||NKA\nAL1|2||^Latex|MO\n",
                           mrn, seg("PV1", 2, "E", 3, dept_code, 36, "Admitted as Inpatient", 0)),
                     HL7_ACK_AA);
    assert_true(has_warning("PV1", 36));
    assert_true(has_warning("AL1", 3));
    assert_string_equal(enc(id, "e.disposition"), "other");
    assert_int_equal(count_of("SELECT count(*) FROM patient_allergy a JOIN encounter e ON "
                              "e.patient_id = a.patient_id WHERE e.id = $1",
                              id),
                     1);
}

/* ---- A02 ---- */

static void test_a02_transfer(void **state)
{
    char mrn[32], t[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(apply(MSH("A02", "T1") "EVN|A02|%s\n" PID_OF("%s") "PV1|1|E|%s^^R8\n",
                           ago(80, t), mrn, dept_code),
                     HL7_ACK_AA);
    assert_int_equal(in_bed("R8"), id);
    assert_string_equal(enc(id, "e.status"), "in_room");
    /* A waiting-room space: back to the waiting room. */
    assert_int_equal(apply(MSH("A02", "T2") "EVN|A02|%s\n" PID_OF("%s") "PV1|1|E|%s^^WR\n",
                           ago(70, t), mrn, dept_code),
                     HL7_ACK_AA);
    assert_string_equal(enc(id, "e.bed_id"), "");
    /* An inpatient location before any admit decision: 103. */
    assert_int_equal(apply(MSH("A02", "T3") "EVN|A02|%s\n" PID_OF("%s") "PV1|1|I|WARD5^501^A\n",
                           ago(60, t), mrn),
                     HL7_ACK_AE);
    assert_err(HL7_E_TABLE_VALUE, "PV1", 1, 3);
}

/* ---- A01 / A06, then A02 out of the ED ---- */

static void test_a01_admit_then_leave(void **state)
{
    char mrn[32], t[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(apply(MSH("A01", "I1") "EVN|A01|%s\n" PID_OF("%s") "PV1|1|I|WARD5^501^A\n",
                           ago(30, t), mrn),
                     HL7_ACK_AA);
    assert_string_equal(enc(id, "e.disposition"), "admit");
    assert_string_equal(enc(id, "e.disposition_destination"), "WARD5 501 A");
    assert_string_equal(enc(id, "e.status"), "disposition_decided");
    /* Boarding: the clock starts at the decision. */
    assert_string_equal(enc(id, "e.admit_decided_at = e.disposition_at"), "true");
    assert_int_equal(count_of("SELECT count(*) FROM audit_log WHERE encounter_id = $1 AND action "
                              "= 'encounter.disposition' AND source_addr = 'hl7:HOSP'",
                              id),
                     1);
    /* The bed upstairs: the patient has left the ED. */
    assert_int_equal(apply(MSH("A02", "I2") "EVN|A02|%s\n" PID_OF("%s") "PV1|1|I|WARD5^501^A\n",
                           ago(10, t), mrn),
                     HL7_ACK_AA);
    assert_string_equal(enc(id, "e.status"), "departed");
}

static void test_a06_direct_admission(void **state)
{
    char mrn[32];

    (void)state;
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A06", "I3") PID_OF("%s") "PV1|1|I|WARD5^502^A\n", mrn), HL7_ACK_AA);
    assert_true(has_warning("PID", 3));
    assert_int_equal(encounter_of(mrn), 0);
    /* Class E without an encounter: the ED should have had it (204). */
    assert_int_equal(apply(MSH("A01", "I4") PID_OF("%s") "PV1|1|E|%s\n", mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_UNKNOWN_KEY, "PID", 1, 3);
}

/* ---- A03 ---- */

static void test_a03_discharge(void **state)
{
    char mrn[32], t[32], t2[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(apply(MSH("A03", "H1") "EVN|A03|%s\n" PID_OF("%s") "%s\n", ago(10, t), mrn,
                           seg("PV1", 2, "E", 3, dept_code, 36, "01", 45, ago(12, t2), 0)),
                     HL7_ACK_AA);
    assert_string_equal(enc(id, "e.status"), "departed");
    assert_string_equal(enc(id, "e.disposition"), "discharge");
    assert_string_equal(enc(id, "e.departed_at = e.disposition_at"), "true");
    /* Without PV1-36 nor a disposition: departed, left without a disposition. */
    id = registered(mrn);
    assert_int_equal(apply(MSH("A03", "H2") "EVN|A03|%s\n" PID_OF("%s") "PV1|1|E|%s\n", ago(5, t),
                           mrn, dept_code),
                     HL7_ACK_AA);
    assert_string_equal(enc(id, "e.status"), "departed");
    assert_string_equal(enc(id, "e.disposition"), "left_without_disposition");
    assert_int_equal(apply(MSH("A03", "H3") PID_OF("%s") "PV1|1|E|%s\n", mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_UNKNOWN_KEY, "PID", 1, 3);
}

/* ---- A11, A13 (record_disposition_cancel, record_arrival_cancel, record_departure_cancel) ---- */

static void test_a11_cancel_admit(void **state)
{
    char mrn[32], t[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(
        apply(MSH("A06", "K1") "EVN|A06|%s\n" PID_OF("%s") "PV1|1|I|WARD6\n", ago(30, t), mrn),
        HL7_ACK_AA);
    assert_int_equal(
        apply(MSH("A11", "K2") "EVN|A11|%s\n" PID_OF("%s") "PV1|1|I|WARD6\n", ago(20, t), mrn),
        HL7_ACK_AA);
    assert_string_equal(enc(id, "e.disposition"), "");
    assert_string_equal(enc(id, "e.status"), "seen_by_provider");
}

static void test_a11_cancel_visit(void **state)
{
    char mrn[32], t[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(apply(MSH("A11", "K3") "EVN|A11|%s\n" PID_OF("%s") "PV1|1|E|%s\n", ago(5, t),
                           mrn, dept_code),
                     HL7_ACK_AA);
    assert_string_equal(enc(id, "e.status"), "entered_in_error");
    /* With a clinical entry (triage): 207, end it in edlive. */
    id = registered(mrn);
    assert_int_equal(apply(MSH("A08", "K4") PID_OF("%s") "PV1|1|E|%s\n"
                                                         "OBX|1|NM|75636-1^ESI^LN||4||||||F\n",
                           mrn, dept_code),
                     HL7_ACK_AA);
    assert_int_equal(apply(MSH("A11", "K5") PID_OF("%s") "PV1|1|E|%s\n", mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_INTERNAL, "PV1", 1, 0);
    assert_string_equal(enc(id, "e.status"), "waiting");
}

static void test_a13_cancel_discharge(void **state)
{
    char mrn[32], t[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(apply(MSH("A03", "L1") "EVN|A03|%s\n" PID_OF("%s") "%s\n", ago(20, t), mrn,
                           seg("PV1", 2, "E", 3, dept_code, 36, "01", 0)),
                     HL7_ACK_AA);
    assert_int_equal(apply(MSH("A13", "L2") "EVN|A13|%s\n" PID_OF("%s") "PV1|1|E|%s\n", ago(10, t),
                           mrn, dept_code),
                     HL7_ACK_AA);
    /* Reopened where the patient was: never seen by a provider, no bed: waiting. The
     * disposition the A03 itself recorded goes with the departure. */
    assert_string_equal(enc(id, "e.status"), "waiting");
    assert_string_equal(enc(id, "e.departed_at"), "");
    assert_string_equal(enc(id, "e.disposition"), "");
    /* Open again: nothing departed to cancel. */
    assert_int_equal(apply(MSH("A13", "L3") PID_OF("%s") "PV1|1|E|%s\n", mrn, dept_code),
                     HL7_ACK_AE);
    assert_err(HL7_E_UNKNOWN_KEY, "PID", 1, 3);
}

/* ---- A40 ---- */

static void test_a40_identify(void **state)
{
    char mrn[32], t[32], temp_id[32];
    long long id;

    (void)state;
    assert_int_equal(apply(MSH("A04", "M1") "EVN|A04|%s\nPID|1|||||||F\nPV1|1|E|%s^^R9\n",
                           ago(30, t), dept_code),
                     HL7_ACK_AA);
    id = in_bed("R9");
    assert_true(id > 0);
    snprintf(temp_id, sizeof temp_id, "%s",
             enc(id, "(SELECT temp_id FROM patient WHERE id = e.patient_id)"));
    new_mrn(mrn);
    assert_int_equal(apply(MSH("A40", "M2") "EVN|A40|%s\n" PID_OF("%s") "MRG|%s^^^EDLIVE^TMP\n",
                           ago(5, t), mrn, temp_id),
                     HL7_ACK_AA);
    assert_int_equal(encounter_of(mrn), id);
    /* Two identified patients: the master patient index merges them, not edlive (207); an
     * alias that is gone: 204. */
    assert_int_equal(apply(MSH("A40", "M3") PID_OF("%s") "MRG|%s^^^HOSP^MR\n", mrn, mrn),
                     HL7_ACK_AE);
    assert_err(HL7_E_INTERNAL, "MRG", 1, 1);
    assert_int_equal(apply(MSH("A40", "M4") PID_OF("%s") "MRG|%s\n", mrn, temp_id), HL7_ACK_AE);
    assert_err(HL7_E_UNKNOWN_KEY, "MRG", 1, 1);
}

/* ---- ignored and unknown events ---- */

static void test_ignored_and_unknown(void **state)
{
    char mrn[32];
    long long id;

    (void)state;
    id = registered(mrn);
    assert_int_equal(apply(MSH("A28", "Z1") PID_OF("%s") "PV1|1|E|%s^^R1\n", mrn, dept_code),
                     HL7_ACK_AA);
    assert_int_equal(res.nwarnings, 0);
    assert_int_equal(events_of(id), 1);
    assert_int_equal(apply(MSH("A99", "Z2") PID_OF("%s") "PV1|1|E\n", mrn), HL7_ACK_AR);
    assert_err(HL7_E_UNSUPPORTED_EVENT, "MSH", 1, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a04_complete),
        cmocka_unit_test(test_a04_unidentified),
        cmocka_unit_test(test_a04_resend_is_an_update),
        cmocka_unit_test(test_a04_not_an_ed_visit),
        cmocka_unit_test(test_a04_refused_part_leaves_nothing),
        cmocka_unit_test(test_a04_bed_taken),
        cmocka_unit_test(test_a04_refusals),
        cmocka_unit_test(test_a04_warnings),
        cmocka_unit_test(test_a04_version_23_local_time),
        cmocka_unit_test(test_a08_update),
        cmocka_unit_test(test_a08_vitals_same_minute),
        cmocka_unit_test(test_a08_refusals_and_warnings),
        cmocka_unit_test(test_a02_transfer),
        cmocka_unit_test(test_a01_admit_then_leave),
        cmocka_unit_test(test_a06_direct_admission),
        cmocka_unit_test(test_a03_discharge),
        cmocka_unit_test(test_a40_identify),
        cmocka_unit_test(test_ignored_and_unknown),
        cmocka_unit_test(test_staff_hl7_id),
        /* Last: they call the withdrawals of record_cancel.c. */
        cmocka_unit_test(test_a11_cancel_admit),
        cmocka_unit_test(test_a11_cancel_visit),
        cmocka_unit_test(test_a13_cancel_discharge),
    };

    if (!getenv("EDLIVE_PG") || !getenv("EDLIVE_PG_OWNER")) {
        printf("record_hl7_apply: skipped (EDLIVE_PG and EDLIVE_PG_OWNER not set: no "
               "deployment)\n");
        return 77;
    }
    /* e.g. RECORD_HL7_TESTS='test_a0*' runs some of them. */
    if (getenv("RECORD_HL7_TESTS"))
        cmocka_set_test_filter(getenv("RECORD_HL7_TESTS"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
