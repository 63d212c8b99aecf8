/* SPDX-License-Identifier: MIT */
/* test_record_cancel.c: the withdrawals of HL7 A11 and A13 (record_cancel.c, record.h) against
 * the record itself: record_disposition_cancel, record_arrival_cancel, record_departure_cancel,
 * each on its happy path and on every refusal, checked the way a clinician would (status, bed,
 * board row, boarding clock, metrics, the event and its audit row). Needs the test deployment's
 * PostgreSQL (EDLIVE_PG, the services' role; EDLIVE_PG_OWNER for the fixtures): exits 77
 * (skipped) without them. Each run makes its own department, so its metrics are its own. */
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
#include "record.h"

#define SKIPPED 77

static PGconn *app;   /* the services' role: every record call */
static PGconn *owner; /* the fixtures: a department, beds, a clock moved back */
static long long dept;
static int beds;     /* acute beds made */
static char tag[16]; /* this run's MRN prefix */
static int mrn_count;

/* ---- fixtures ---- */

/* One value of a query on conn (owner or app), as text in buf; "" for no row or NULL. */
static const char *sql_value(PGconn *conn, char *buf, size_t cap, const char *sql, int n,
                             const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        PQclear(res);
        fail_msg("query failed: %s", PQerrorMessage(conn));
    }
    snprintf(buf, cap, "%s",
             st == PGRES_TUPLES_OK && PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return buf;
}

static long long sql_int(PGconn *conn, const char *sql, long long id)
{
    char idbuf[24], out[64];
    const char *params[] = {pg_int_param(idbuf, id)};

    return atoll(sql_value(conn, out, sizeof out, sql, 1, params));
}

static int setup(void **state)
{
    const char *app_dsn = getenv("EDLIVE_PG"), *owner_dsn = getenv("EDLIVE_PG_OWNER");
    char code[24], buf[64];

    (void)state;
    if (!app_dsn || !owner_dsn) {
        fprintf(stderr, "skipped: EDLIVE_PG and EDLIVE_PG_OWNER are not set (no deployment)\n");
        exit(SKIPPED);
    }
    app = PQconnectdb(app_dsn);
    owner = PQconnectdb(owner_dsn);
    if (PQstatus(app) != CONNECTION_OK || PQstatus(owner) != CONNECTION_OK) {
        fprintf(stderr, "skipped: the test database cannot be reached\n");
        exit(SKIPPED);
    }
    snprintf(tag, sizeof tag, "I11%lX", (unsigned long)(time(NULL) ^ getpid()) & 0xffffffUL);
    snprintf(code, sizeof code, "%s", tag);
    {
        const char *params[] = {code};
        dept = atoll(sql_value(owner, buf, sizeof buf,
                               "INSERT INTO department (code, name) VALUES ($1, 'Withdrawals "
                               "test') RETURNING id",
                               1, params));
    }
    /* Enough acute beds for every case: some end with their patient still in one. */
    for (int i = 1; i <= 8; i++) {
        char deptbuf[24], label[8], order[8];
        const char *params[] = {pg_int_param(deptbuf, dept), label, order};
        snprintf(label, sizeof label, "A%d", i);
        snprintf(order, sizeof order, "%d", i);
        sql_value(owner, buf, sizeof buf,
                  "INSERT INTO bed (department_id, label, area, sort_order) VALUES ($1, $2, "
                  "'acute', $3) RETURNING id",
                  3, params);
        beds += atoll(buf) > 0;
    }
    return dept > 0 && beds == 8 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(app);
    PQfinish(owner);
    return 0;
}

/* A new patient's arrival (minutes_ago before now); returns the encounter. */
static long long arrive(int minutes_ago)
{
    char mrn[40], when[64];
    struct record_write out = {0};
    struct ed_error err = {0};
    json_t *body;
    long long id;

    snprintf(mrn, sizeof mrn, "%s-%d", tag, ++mrn_count);
    {
        time_t t = time(NULL) - (time_t)minutes_ago * 60;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    }
    body =
        json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:s}", "patient", "mrn", mrn, "family_name",
                  "Test", "given_name", "Withdrawal", "birth_date", "1970-01-01", "sex", "unknown",
                  "arrival_mode", "walk_in", "chief_complaint", "test", "arrived_at", when);
    if (!record_arrival(app, NULL, dept, body, NULL, &out, &err))
        fail_msg("arrival: %d %s", err.status, err.message);
    id = out.encounter_id;
    json_decref(body);
    record_write_clear(&out);
    return id;
}

/* One write with a body given as JSON text; asserts it succeeds. */
static void write_ok(record_write_fn *fn, long long id, const char *text)
{
    json_t *body = json_loads(text, 0, NULL);
    struct record_write out = {0};
    struct ed_error err = {0};

    assert_non_null(body);
    if (!fn(app, NULL, id, body, NULL, &out, &err))
        fail_msg("write on %lld (%s): %d %s %s", id, text, err.status, err.field, err.message);
    json_decref(body);
    record_write_clear(&out);
}

typedef bool cancel_fn(PGconn *conn, const struct principal *who, long long encounter_id,
                       const json_t *body, struct record_write *out, struct ed_error *err);

/* A withdrawal expected to succeed: returns the event type it appended, checks its audit row. */
static void cancel_ok(cancel_fn *fn, long long id, const char *want_type, const char *action)
{
    struct record_write out = {0};
    struct ed_error err = {0};
    char deptbuf[24], seqbuf[24], idbuf[24], type[64], audits[24];
    json_t *body = json_object();

    if (!fn(app, NULL, id, body, &out, &err))
        fail_msg("%s on %lld: %d %s", want_type, id, err.status, err.message);
    assert_int_equal(out.encounter_id, id);
    assert_int_equal(out.department_id, dept);
    assert_non_null(json_object_get(out.reply, "encounter"));
    {
        const char *params[] = {pg_int_param(deptbuf, dept), pg_int_param(seqbuf, out.seq)};
        sql_value(app, type, sizeof type,
                  "SELECT type FROM event WHERE department_id = $1 AND seq = $2", 2, params);
    }
    assert_string_equal(type, want_type);
    {
        const char *params[] = {pg_int_param(idbuf, id), action};
        sql_value(owner, audits, sizeof audits,
                  "SELECT count(*) FROM audit_log WHERE encounter_id = $1 AND action = $2 AND "
                  "outcome = 'success'",
                  2, params);
    }
    assert_string_equal(audits, "1");
    json_decref(body);
    record_write_clear(&out);
}

/* A withdrawal expected to be refused with status; nothing may change (the version stays). */
static void cancel_refused(cancel_fn *fn, long long id, int status)
{
    struct record_write out = {0};
    struct ed_error err = {0};
    json_t *body = json_object();
    long long version = sql_int(app, "SELECT version FROM encounter WHERE id = $1", id);

    assert_false(fn(app, NULL, id, body, &out, &err));
    assert_int_equal(err.status, status);
    assert_null(out.reply);
    assert_int_equal(sql_int(app, "SELECT version FROM encounter WHERE id = $1", id), version);
    assert_int_equal(PQtransactionStatus(app), PQTRANS_IDLE);
    json_decref(body);
}

/* The encounter's board row (record_board), or NULL when it is not on the board. */
static json_t *board_row(long long id, json_t **board)
{
    struct ed_error err = {0};
    json_t *rows, *row;
    size_t i;

    *board = record_board(app, NULL, dept, &err);
    assert_non_null(*board);
    rows = json_object_get(*board, "encounters");
    json_array_foreach (rows, i, row)
        if (json_integer_value(json_object_get(row, "encounter_id")) == id)
            return row;
    return NULL;
}

static bool on_board(long long id)
{
    json_t *board;
    bool found = board_row(id, &board) != NULL;

    json_decref(board);
    return found;
}

/* The bed's state on the board: "free", "occupied" or "cleaning". */
static const char *bed_state(long long bed, char *buf)
{
    json_t *board, *b;
    size_t i;

    board_row(0, &board);
    buf[0] = '\0';
    json_array_foreach (json_object_get(board, "beds"), i, b)
        if (json_integer_value(json_object_get(b, "id")) == bed)
            snprintf(buf, 16, "%s", json_string_value(json_object_get(b, "status")));
    json_decref(board);
    return buf;
}

static const char *status_of(long long id, char *buf)
{
    char idbuf[24];
    const char *params[] = {pg_int_param(idbuf, id)};

    return sql_value(app, buf, 32, "SELECT status FROM encounter WHERE id = $1", 1, params);
}

/* The last 24 hours' metrics of the test department (a new reference). */
static json_t *metrics(void)
{
    struct ed_error err = {0};
    json_t *m = record_metrics(app, NULL, dept, NULL, true, &err);

    assert_non_null(m);
    return m;
}

static long long metric(const json_t *m, const char *key)
{
    return json_integer_value(json_object_get(m, key));
}

/* ---- record_disposition_cancel ---- */

static void test_disposition_cancel_withdraws_the_admit(void **state)
{
    long long id = arrive(60);
    char status[32];
    json_t *board, *row;

    (void)state;
    write_ok(record_bed, id, "{\"bed_id\": null, \"area\": \"acute\"}");
    write_ok(record_status, id, "{\"status\": \"seen_by_provider\"}");
    write_ok(record_disposition, id, "{\"kind\": \"admit\", \"destination\": \"Ward 5\"}");
    row = board_row(id, &board);
    assert_non_null(row);
    assert_true(json_is_string(json_object_get(row, "boarding_since")));
    json_decref(board);

    cancel_ok(record_disposition_cancel, id, "encounter.disposition_cancelled",
              "encounter.disposition_cancel");
    assert_string_equal(status_of(id, status), "seen_by_provider");
    row = board_row(id, &board);
    assert_non_null(row); /* still here: only the decision is withdrawn */
    assert_true(json_is_null(json_object_get(row, "disposition")));
    assert_true(json_is_null(json_object_get(row, "boarding_since"))); /* the clock ended */
    assert_true(json_is_object(json_object_get(row, "bed")));
    json_decref(board);
    assert_int_equal(
        sql_int(app, "SELECT count(*) FROM encounter WHERE id = $1 AND admit_decided_at IS NULL",
                id),
        1);
    /* A second withdrawal finds no admit decision. */
    cancel_refused(record_disposition_cancel, id, 409);
}

static void test_disposition_cancel_refused_without_admit(void **state)
{
    long long none = arrive(50), discharge = arrive(50), gone = arrive(50);

    (void)state;
    cancel_refused(record_disposition_cancel, none, 409);
    write_ok(record_disposition, discharge, "{\"kind\": \"discharge\"}");
    cancel_refused(record_disposition_cancel, discharge, 409);
    write_ok(record_disposition, gone, "{\"kind\": \"admit\"}");
    write_ok(record_departure, gone, "{}");
    cancel_refused(record_disposition_cancel, gone, 409); /* ended */
    cancel_refused(record_disposition_cancel, 999999999, 404);
}

/* ---- record_arrival_cancel ---- */

static void test_arrival_cancel_ends_as_entered_in_error(void **state)
{
    json_t *before, *after;
    long long id;
    char status[32], bed[16];

    (void)state;
    before = metrics();
    id = arrive(30);
    write_ok(record_bed, id, "{\"bed_id\": null, \"area\": \"acute\"}");
    assert_true(on_board(id));
    {
        long long bed_id = sql_int(app, "SELECT bed_id FROM encounter WHERE id = $1", id);
        assert_string_equal(bed_state(bed_id, bed), "occupied");
        cancel_ok(record_arrival_cancel, id, "encounter.entered_in_error",
                  "encounter.entered_in_error");
        assert_string_equal(status_of(id, status), "entered_in_error");
        assert_false(on_board(id));
        assert_string_equal(bed_state(bed_id, bed), "free"); /* freed, no cleaning */
    }
    /* Out of every metric: as if it had never been registered. */
    after = metrics();
    assert_int_equal(metric(after, "arrivals"), metric(before, "arrivals"));
    assert_int_equal(metric(after, "los_count"), metric(before, "los_count"));
    assert_int_equal(metric(after, "arrival_to_room_count"),
                     metric(before, "arrival_to_room_count"));
    assert_int_equal(metric(after, "lwbs"), metric(before, "lwbs"));
    assert_true(json_equal(json_object_get(after, "arrivals_by_hour"),
                           json_object_get(before, "arrivals_by_hour")));
    json_decref(before);
    json_decref(after);
    /* Ended: no second withdrawal, no other write, no reopening. */
    cancel_refused(record_arrival_cancel, id, 409);
    cancel_refused(record_departure_cancel, id, 409);
    {
        json_t *body = json_pack("{s:i}", "esi", 3);
        struct record_write out = {0};
        struct ed_error err = {0};
        assert_false(record_triage(app, NULL, id, body, NULL, &out, &err));
        assert_int_equal(err.status, 409);
        json_decref(body);
    }
}

static void test_arrival_cancel_refused_with_clinical_entries(void **state)
{
    long long triaged = arrive(20), seen = arrive(20), gone = arrive(20);
    char status[32];

    (void)state;
    write_ok(record_triage, triaged, "{\"esi\": 3}");
    cancel_refused(record_arrival_cancel, triaged, 409);
    assert_string_equal(status_of(triaged, status), "waiting");
    assert_true(on_board(triaged));
    write_ok(record_status, seen, "{\"status\": \"seen_by_provider\"}");
    cancel_refused(record_arrival_cancel, seen, 409);
    write_ok(record_status, gone, "{\"status\": \"left_without_being_seen\"}");
    cancel_refused(record_arrival_cancel, gone, 409);
}

/* ---- record_departure_cancel ---- */

static void test_departure_cancel_reopens_in_its_bed(void **state)
{
    json_t *before, *board, *row;
    long long id = arrive(90);
    char status[32], bed[16], n[16];

    (void)state;
    write_ok(record_bed, id, "{\"bed_id\": null, \"area\": \"acute\"}");
    write_ok(record_status, id, "{\"status\": \"seen_by_provider\"}");
    write_ok(record_disposition, id, "{\"kind\": \"discharge\"}");
    before = metrics();
    write_ok(record_departure, id, "{}");
    {
        long long bed_id = sql_int(app, "SELECT bed_id FROM encounter WHERE id = $1", id);
        assert_string_equal(bed_state(bed_id, bed), "cleaning");
        cancel_ok(record_departure_cancel, id, "encounter.reopened", "encounter.reopen");
        assert_string_equal(status_of(id, status), "disposition_decided");
        row = board_row(id, &board);
        assert_non_null(row); /* back on the board */
        assert_true(json_is_null(json_object_get(row, "departed_at")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(row, "bed"), "id")),
                         bed_id);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(row, "disposition"), "kind")),
            "discharge");
        json_decref(board);
        assert_string_equal(bed_state(bed_id, bed), "occupied");
        /* The history: the bed, the departure, the bed again (appended, never rewritten). */
        snprintf(n, sizeof n, "%lld",
                 sql_int(app,
                         "SELECT count(*) FROM encounter_location WHERE encounter_id = $1 AND "
                         "area = 'acute'",
                         id));
        assert_string_equal(n, "2");
    }
    /* Its departure no longer counts: the visit is open again. */
    {
        json_t *after = metrics();
        assert_int_equal(metric(after, "los_count"), metric(before, "los_count"));
        assert_int_equal(metric(after, "arrivals"), metric(before, "arrivals"));
        json_decref(after);
    }
    json_decref(before);
    cancel_refused(record_departure_cancel, id, 409); /* open now */
    write_ok(record_departure, id, "{}");             /* and it can leave again */
}

static void test_departure_cancel_to_the_waiting_room(void **state)
{
    long long first = arrive(80), next = arrive(10);
    long long bed_id;
    char status[32];
    json_t *board, *row;

    (void)state;
    write_ok(record_bed, first, "{\"bed_id\": null, \"area\": \"acute\"}");
    bed_id = sql_int(app, "SELECT bed_id FROM encounter WHERE id = $1", first);
    /* Ended by status without a disposition: the server records left_without_disposition. */
    write_ok(record_status, first, "{\"status\": \"departed\"}");
    write_ok(record_bed_status, bed_id, "{\"status\": \"free\"}");
    {
        char body[64];
        snprintf(body, sizeof body, "{\"bed_id\": %lld}", bed_id);
        write_ok(record_bed, next, body);
    }
    cancel_ok(record_departure_cancel, first, "encounter.reopened", "encounter.reopen");
    row = board_row(first, &board);
    assert_non_null(row);
    assert_true(json_is_null(json_object_get(row, "bed"))); /* the bed is taken: waiting room */
    assert_true(json_is_null(json_object_get(row, "disposition"))); /* went with the departure */
    json_decref(board);
    assert_string_equal(status_of(first, status), "waiting"); /* never seen by a provider */
    assert_int_equal(sql_int(app, "SELECT bed_id FROM encounter WHERE id = $1", next), bed_id);
}

/* An A03 that records the disposition and the departure in one batch (one transaction): the
 * withdrawn discharge takes its disposition with it; the A13 is applied in a batch too. */
static void test_departure_cancel_takes_a_disposition_of_the_same_message(void **state)
{
    long long id = arrive(70);
    char status[32];
    json_t *board, *row;

    (void)state;
    write_ok(record_status, id, "{\"status\": \"seen_by_provider\"}");
    assert_true(record_batch_begin(app));
    write_ok(record_disposition, id, "{\"kind\": \"discharge\"}");
    write_ok(record_departure, id, "{}");
    assert_true(record_batch_commit(app));
    {
        struct record_write out = {0};
        struct ed_error err = {0};
        json_t *body = json_object();
        assert_true(record_batch_begin(app));
        if (!record_departure_cancel(app, NULL, id, body, &out, &err)) {
            record_batch_rollback(app);
            fail_msg("reopen in a batch: %d %s", err.status, err.message);
        }
        assert_true(record_batch_commit(app));
        assert_int_equal(out.encounter_id, id);
        json_decref(body);
        record_write_clear(&out);
    }
    assert_string_equal(status_of(id, status), "seen_by_provider");
    row = board_row(id, &board);
    assert_non_null(row);
    assert_true(json_is_null(json_object_get(row, "disposition")));
    json_decref(board);
}

static void test_departure_cancel_refusals(void **state)
{
    long long open = arrive(40), late = arrive(2000), again = arrive(60);

    (void)state;
    cancel_refused(record_departure_cancel, open, 409); /* never departed */
    write_ok(record_disposition, late, "{\"kind\": \"discharge\"}");
    write_ok(record_departure, late, "{}");
    /* Departed more than 24 hours ago. */
    sql_int(owner,
            "UPDATE encounter SET departed_at = departed_at - interval '25 hours', status_at = "
            "status_at - interval '25 hours' WHERE id = $1 RETURNING id",
            late);
    cancel_refused(record_departure_cancel, late, 409);
    /* The patient came back meanwhile: that visit is the one to work on. */
    write_ok(record_disposition, again, "{\"kind\": \"discharge\"}");
    write_ok(record_departure, again, "{}");
    {
        char mrn[64], deptbuf[24], buf[32];
        const char *params[] = {pg_int_param(deptbuf, again)};
        json_t *body;
        struct record_write out = {0};
        struct ed_error err = {0};
        sql_value(app, mrn, sizeof mrn,
                  "SELECT p.mrn FROM patient p JOIN encounter e ON e.patient_id = p.id WHERE "
                  "e.id = $1",
                  1, params);
        body = json_pack("{s:{s:s},s:s,s:s}", "patient", "mrn", mrn, "arrival_mode", "walk_in",
                         "chief_complaint", "test");
        assert_true(record_arrival(app, NULL, dept, body, NULL, &out, &err));
        json_decref(body);
        record_write_clear(&out);
        cancel_refused(record_departure_cancel, again, 409);
        assert_string_equal(status_of(again, buf), "departed");
    }
    cancel_refused(record_departure_cancel, 999999999, 404);
}

/* ---- metrics ---- */

static void test_entered_in_error_counts_in_no_metric(void **state)
{
    json_t *before = metrics(), *after;
    long long id;

    (void)state;
    id = arrive(15);
    write_ok(record_bed, id, "{\"bed_id\": null, \"area\": \"acute\"}");
    cancel_ok(record_arrival_cancel, id, "encounter.entered_in_error",
              "encounter.entered_in_error");
    after = metrics();
    /* Everything but the period's bounds is the same as before the registration. */
    json_object_del(before, "from");
    json_object_del(before, "to");
    json_object_del(after, "from");
    json_object_del(after, "to");
    assert_true(json_equal(before, after));
    /* Not a prior visit of the patient either. */
    assert_int_equal(sql_int(app,
                             "SELECT jsonb_array_length(patient_record_json(patient_id, 0)->"
                             "'prior_visits') FROM encounter WHERE id = $1",
                             id),
                     0);
    json_decref(before);
    json_decref(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disposition_cancel_withdraws_the_admit),
        cmocka_unit_test(test_disposition_cancel_refused_without_admit),
        cmocka_unit_test(test_arrival_cancel_ends_as_entered_in_error),
        cmocka_unit_test(test_arrival_cancel_refused_with_clinical_entries),
        cmocka_unit_test(test_departure_cancel_reopens_in_its_bed),
        cmocka_unit_test(test_departure_cancel_to_the_waiting_room),
        cmocka_unit_test(test_departure_cancel_takes_a_disposition_of_the_same_message),
        cmocka_unit_test(test_departure_cancel_refusals),
        cmocka_unit_test(test_entered_in_error_counts_in_no_metric),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
