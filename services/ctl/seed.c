/* SPDX-License-Identifier: MIT */
/* seed.c: the demo ED. Reference data (department, beds, staff) is inserted directly;
 * every encounter change goes through store.c, the API's own write path, so the demo's
 * event log is real. The patients are invented. Running it twice is a no-op. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "pg.h"
#include "store.h"

struct demo_bed {
    const char *label, *area;
};

static const struct demo_bed demo_beds[] = {
    {"R1", "resus"},      {"R2", "resus"},        {"A1", "acute"},      {"A2", "acute"},
    {"A3", "acute"},      {"A4", "acute"},        {"A5", "acute"},      {"A6", "acute"},
    {"A7", "acute"},      {"A8", "acute"},        {"F1", "fast_track"}, {"F2", "fast_track"},
    {"F3", "fast_track"}, {"F4", "fast_track"},   {"H1", "hallway"},    {"H2", "hallway"},
    {"H3", "hallway"},    {"WR", "waiting_room"},
};

struct demo_staff {
    const char *name, *role, *username;
};

static const struct demo_staff demo_staff[] = {
    {"Dr. Maria Lopez", "physician", "dr.lopez"},
    {"Dr. James Chen", "physician", "dr.chen"},
    {"Dr. Aisha Bello", "physician", "dr.bello"},
    {"Sam Patel, RN", "nurse", "patel"},
    {"Grace Kim, RN", "nurse", "kim"},
    {"Tom Eriksen, RN", "nurse", "eriksen"},
    {"Lena Novak, RN", "nurse", "novak"},
    {"Ruth Adeyemi, RN", "charge_nurse", "adeyemi"},
    {"Paul Moreau", "registration", "moreau"},
};

/* The children's ED next door: a second department, so that scope can be seen and tested. */
static const struct demo_bed peds_beds[] = {
    {"P1", "resus"},       {"P2", "acute"},         {"P3", "acute"},
    {"PF1", "fast_track"}, {"PWR", "waiting_room"},
};

static const struct demo_staff peds_staff[] = {
    {"Dr. Noor Rahman", "physician", "dr.rahman"},
    {"Ines Duarte, RN", "nurse", "duarte"},
    {"Kofi Asante, RN", "charge_nurse", "asante"},
};

/* One demo encounter. bed NULL: waiting room without a space. Staff by index into
 * demo_staff, -1 for none. Vitals: 0 / -1 means not taken. */
struct demo_encounter {
    const char *mrn, *family, *given, *birth, *sex, *mode, *complaint;
    int minutes_ago, esi;
    const char *bed, *status;
    int attending, nurse;
    int hr, rr, sbp, dbp, spo2;
    double temp;
    int o2;
    const char *acvpu;
    int pain;
    const char *note;
};

static const struct demo_encounter demo[] = {
    {"100231",
     "Okafor",
     "Ada",
     "1961-03-02",
     "female",
     "ambulance",
     "Chest pain, radiating to left arm",
     42,
     2,
     "R1",
     "seen_by_provider",
     0,
     3,
     112,
     22,
     98,
     64,
     94,
     37.1,
     1,
     "A",
     7,
     "ECG: ST depression V4-V6. Troponin sent."},
    {"100232",
     "Lindqvist",
     "Erik",
     "1948-11-20",
     "male",
     "ambulance",
     "Shortness of breath",
     75,
     2,
     "R2",
     "seen_by_provider",
     1,
     4,
     118,
     28,
     162,
     88,
     89,
     38.6,
     1,
     "C",
     2,
     "Known COPD. On 2 L O2 via nasal cannula."},
    {"100233",
     "Haddad",
     "Yusuf",
     "1979-06-14",
     "male",
     "walk_in",
     "Abdominal pain RLQ",
     128,
     3,
     "A1",
     "seen_by_provider",
     2,
     5,
     96,
     18,
     134,
     82,
     98,
     38.2,
     0,
     "A",
     8,
     NULL},
    {"100234", "Moreno", "Lucia", "1992-01-30", "female", "walk_in", "Headache, worst of life",
     55,       2,        "A2",    "in_room",    -1,       3,         88,
     16,       178,      102,     99,           36.8,     0,         "A",
     9,        NULL},
    {"100235",
     "Walsh",
     "Brendan",
     "1955-09-09",
     "male",
     "ambulance",
     "Fall, hip pain",
     190,
     3,
     "A3",
     "disposition_decided",
     0,
     4,
     84,
     16,
     142,
     76,
     97,
     36.5,
     0,
     "A",
     6,
     "X-ray: right neck of femur fracture. Ortho accepted."},
    {"100236",
     "Nguyen",
     "Thi",
     "1987-04-22",
     "female",
     "walk_in",
     "Vomiting, 14 weeks pregnant",
     95,
     3,
     "A4",
     "seen_by_provider",
     1,
     5,
     104,
     18,
     108,
     64,
     99,
     36.9,
     0,
     "A",
     3,
     NULL},
    {"100237", "Schmidt", "Hannah", "1940-12-01", "female", "ambulance", "Confusion, fever",
     63,       2,         "A5",     "in_room",    -1,       6,           124,
     26,       96,        58,       93,           39.3,     0,           "C",
     0,        NULL},
    {"100238",
     "Abara",
     "Chidi",
     "2001-07-18",
     "male",
     "walk_in",
     "Laceration left hand",
     38,
     4,
     "F1",
     "seen_by_provider",
     2,
     6,
     82,
     14,
     128,
     78,
     99,
     36.6,
     0,
     "A",
     4,
     NULL},
    {"100239", "Kowalski", "Anna", "1996-02-11", "female", "walk_in", "Ankle injury, twisted",
     70,       4,          "F2",   "in_room",    -1,       6,         76,
     14,       122,        74,     100,          36.7,     0,         "A",
     5,        NULL},
    {"100240",
     "Dubois",
     "Marc",
     "1970-08-05",
     "male",
     "walk_in",
     "Sore throat, fever",
     150,
     5,
     "F3",
     "disposition_decided",
     2,
     6,
     92,
     16,
     126,
     80,
     98,
     38.0,
     0,
     "A",
     3,
     NULL},
    {"100241", "Singh", "Priya", "1984-05-27", "female", "walk_in", "Back pain, no trauma",
     48,       4,       "H1",    "in_room",    -1,       5,         80,
     16,       132,     84,      99,           36.6,     0,         "A",
     6,        NULL},
    {"100242",
     "Brown",
     "Michael",
     "1963-10-03",
     "male",
     "police",
     "Intoxication, head wound",
     110,
     3,
     "H2",
     "seen_by_provider",
     0,
     4,
     98,
     18,
     118,
     72,
     96,
     36.2,
     0,
     "V",
     0,
     NULL},
    {"100243", "Rossi", "Giulia", "1999-03-16", "female", "walk_in", "Palpitations",
     22,       3,       NULL,     "waiting",    -1,       -1,        134,
     20,       118,     76,       98,           36.9,     0,         "A",
     1,        NULL},
    {"100244", "Ivanov", "Dmitri", "1975-12-24", "male", "walk_in", "Kidney stone, flank pain",
     34,       3,        NULL,     "waiting",    -1,     -1,        90,
     18,       148,      92,       98,           37.0,   0,         "A",
     9,        NULL},
    {"100245", "Mensah", "Akosua", "2003-09-08", "female", "walk_in", "Rash after new medication",
     52,       4,        NULL,     "waiting",    -1,       -1,        86,
     16,       120,      70,       99,           37.2,     0,         "A",
     2,        NULL},
    {"100246", "O'Brien", "Siobhan", "1958-06-30", "female", "walk_in", "Dizziness",
     17,       3,         NULL,      "waiting",    -1,       -1,        52,
     16,       104,       66,        97,           36.4,     0,         "A",
     0,        NULL},
    {"100247",
     "Tanaka",
     "Kenji",
     "1990-11-12",
     "male",
     "walk_in",
     "Eye injury, metal fragment",
     9,
     -1,
     NULL,
     "waiting",
     -1,
     -1,
     0,
     0,
     0,
     0,
     0,
     0,
     0,
     NULL,
     0,
     NULL},
    {"100248",
     "Garcia",
     "Sofia",
     "2010-04-04",
     "female",
     "walk_in",
     "Asthma, wheeze",
     12,
     -1,
     NULL,
     "waiting",
     -1,
     -1,
     0,
     0,
     0,
     0,
     0,
     0,
     0,
     NULL,
     0,
     NULL},
    {"100249",
     "Fischer",
     "Otto",
     "1937-01-19",
     "male",
     "ambulance",
     "Weakness, possible stroke",
     6,
     1,
     "A6",
     "seen_by_provider",
     1,
     3,
     102,
     20,
     196,
     110,
     95,
     36.8,
     0,
     "C",
     0,
     "Stroke alert called. Last known well 07:40. CT head requested."},
    {"100250", "Ali", "Fatima", "1982-08-21", "female", "walk_in", "Cough, 5 days",
     85,       5,     "F4",     "in_room",    -1,       5,         84,
     18,       124,   78,       97,           37.6,     0,         "A",
     1,        NULL},
    {"100251",
     "Johansson",
     "Lars",
     "1966-02-02",
     "male",
     "transfer",
     "GI bleed, melena",
     140,
     2,
     "A7",
     "seen_by_provider",
     0,
     4,
     108,
     20,
     102,
     60,
     97,
     36.7,
     0,
     "A",
     2,
     "Two large-bore IVs. Hb sent, crossmatch 2 units."},
};

static const struct demo_encounter peds[] = {
    {"200101",
     "Larsen",
     "Mia",
     "2019-05-14",
     "female",
     "walk_in",
     "Fever and rash",
     40,
     3,
     "P2",
     "seen_by_provider",
     0,
     1,
     148,
     30,
     98,
     60,
     96,
     39.4,
     0,
     "A",
     3,
     NULL},
    {"200102", "Osei", "Kwame", "2016-10-02", "male", "ambulance", "Wheeze, difficulty breathing",
     25,       2,      "P1",    "in_room",    -1,     1,           152,
     38,       104,    62,      91,           37.8,   1,           "A",
     2,        NULL},
    {"200103", "Petrova", "Alina", "2021-01-28", "female", "walk_in", "Fell from swing, arm pain",
     15,       4,         NULL,    "waiting",    -1,       -1,        118,
     24,       100,       60,      99,           36.9,     0,         "A",
     6,        NULL},
};

struct demo_department {
    const char *code, *name;
    const struct demo_bed *beds;
    size_t nbeds;
    const struct demo_staff *staff;
    size_t nstaff;
    const struct demo_encounter *encounters;
    size_t nencounters;
    int fallback_nurse; /* staff index of who takes vitals for a patient with no nurse yet */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct demo_department demo_departments[] = {
    {"DEMO", "Demo Emergency Department", demo_beds, COUNT(demo_beds), demo_staff,
     COUNT(demo_staff), demo, COUNT(demo), 3},
    {"PEDS", "Children's Emergency Department", peds_beds, COUNT(peds_beds), peds_staff,
     COUNT(peds_staff), peds, COUNT(peds), 1},
};

static void iso_minutes_ago(char *out, size_t cap, int minutes)
{
    time_t t = time(NULL) - (time_t)minutes * 60;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static long long insert_id(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = pg_query(conn, sql, n, params);
    long long id = pg_ok(conn, res, "seed insert") ? atoll(PQgetvalue(res, 0, 0)) : 0;

    PQclear(res);
    return id;
}

static bool run(PGconn *conn, store_write_fn *write, long long id, json_t *body)
{
    struct store_write w = {0};
    struct ed_error err = {0};
    bool ok = write(conn, NULL, id, body, NULL, &w, &err);

    if (!ok)
        log_error("seed write failed: %d %s %s: %s", err.status, err.code, err.field, err.message);
    store_write_clear(&w);
    json_decref(body);
    return ok;
}

static bool seed_encounter(PGconn *conn, long long dept, const struct demo_encounter *e,
                           const long long *staff_ids, int fallback_nurse,
                           long long (*bed_id)(PGconn *, long long, const char *))
{
    char arrived[32], taken[32];
    struct store_write w = {0};
    struct ed_error err = {0};
    json_t *body;
    long long enc;

    iso_minutes_ago(arrived, sizeof arrived, e->minutes_ago);
    body =
        json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:s}", "patient", "mrn", e->mrn, "family_name",
                  e->family, "given_name", e->given, "birth_date", e->birth, "sex", e->sex,
                  "arrival_mode", e->mode, "chief_complaint", e->complaint, "arrived_at", arrived);
    if (!store_arrival(conn, NULL, dept, body, NULL, &w, &err)) {
        log_error("seed arrival failed: %s %s", err.code, err.field);
        json_decref(body);
        return false;
    }
    json_decref(body);
    enc = w.encounter_id;
    store_write_clear(&w);
    if (e->esi > 0 && !run(conn, store_triage, enc, json_pack("{s:i}", "esi", e->esi)))
        return false;
    if (e->hr > 0) {
        iso_minutes_ago(taken, sizeof taken, e->minutes_ago > 10 ? e->minutes_ago - 5 : 1);
        body = json_pack("{s:I,s:s,s:i,s:i,s:i,s:i,s:i,s:f,s:b,s:s,s:i}", "taken_by",
                         (json_int_t)staff_ids[e->nurse >= 0 ? e->nurse : fallback_nurse],
                         "taken_at", taken, "heart_rate", e->hr, "resp_rate", e->rr, "systolic_bp",
                         e->sbp, "diastolic_bp", e->dbp, "spo2", e->spo2, "temperature_c", e->temp,
                         "on_oxygen", e->o2, "consciousness", e->acvpu, "pain", e->pain);
        if (!run(conn, store_vitals, enc, body))
            return false;
    }
    if (e->bed && !run(conn, store_bed, enc,
                       json_pack("{s:I}", "bed_id", (json_int_t)bed_id(conn, dept, e->bed))))
        return false;
    if (e->attending >= 0 || e->nurse >= 0) {
        body = json_object();
        if (e->attending >= 0)
            json_object_set_new(body, "attending_id", json_integer(staff_ids[e->attending]));
        if (e->nurse >= 0)
            json_object_set_new(body, "nurse_id", json_integer(staff_ids[e->nurse]));
        if (!run(conn, store_assignment, enc, body))
            return false;
    }
    if (strcmp(e->status, "waiting") != 0 &&
        !run(conn, store_status, enc, json_pack("{s:s}", "status", e->status)))
        return false;
    if (e->note && !run(conn, store_note, enc,
                        json_pack("{s:I,s:s}", "author_id",
                                  (json_int_t)staff_ids[e->attending >= 0 ? e->attending : 0],
                                  "text", e->note)))
        return false;
    return true;
}

static long long find_bed(PGconn *conn, long long dept, const char *label)
{
    char deptbuf[24];
    const char *params[] = {pg_int_param(deptbuf, dept), label};

    return insert_id(conn, "SELECT id FROM bed WHERE department_id = $1 AND label = $2", 2, params);
}

/* Department, beds, staff and their accounts in one transaction; 0 on failure. */
static long long seed_reference(PGconn *conn, const struct demo_department *dd,
                                long long *staff_ids, const char *password)
{
    const char *code_params[] = {dd->code, dd->name};
    char deptbuf[24], sortbuf[24], roles[64];
    long long dept;

    if (!pg_command(conn, "BEGIN"))
        return 0;
    dept = insert_id(conn, "INSERT INTO department (code, name) VALUES ($1, $2) RETURNING id", 2,
                     code_params);
    pg_int_param(deptbuf, dept);
    for (size_t i = 0; dept && i < dd->nbeds; i++) {
        const char *params[] = {deptbuf, dd->beds[i].label, dd->beds[i].area,
                                pg_int_param(sortbuf, (long long)i)};
        if (!insert_id(conn,
                       "INSERT INTO bed (department_id, label, area, sort_order) "
                       "VALUES ($1, $2, $3, $4) RETURNING id",
                       4, params))
            dept = 0;
    }
    for (size_t i = 0; dept && i < dd->nstaff; i++) {
        const char *params[] = {dd->staff[i].name, dd->staff[i].role, deptbuf};
        staff_ids[i] =
            insert_id(conn,
                      "WITH s AS (INSERT INTO staff (display_name, role) VALUES ($1, $2) "
                      "RETURNING id) INSERT INTO staff_department (staff_id, "
                      "department_id) SELECT id, $3 FROM s RETURNING staff_id",
                      3, params);
        snprintf(roles, sizeof roles, "{%s}", dd->staff[i].role);
        if (!staff_ids[i] ||
            !ctl_account_create(conn, dd->staff[i].username, password, roles, staff_ids[i], NULL))
            dept = 0;
    }
    if (!dept || !pg_command(conn, "COMMIT")) {
        pg_command(conn, "ROLLBACK");
        log_error("seeding department %s failed", dd->code);
        return 0;
    }
    return dept;
}

/* The demo accounts of demo staff that have none (no-op for those that do). */
static bool seed_missing_accounts(PGconn *conn, const char *password, const char *admin_secret)
{
    static const char sql[] =
        "SELECT s.id FROM staff s JOIN staff_department sd ON sd.staff_id = s.id "
        "JOIN department d ON d.id = sd.department_id WHERE d.code = $1 AND s.display_name = $2 "
        "AND NOT EXISTS (SELECT 1 FROM account a WHERE a.staff_id = s.id)";
    char roles[64];

    for (size_t d = 0; d < COUNT(demo_departments); d++) {
        const struct demo_department *dd = &demo_departments[d];
        for (size_t i = 0; i < dd->nstaff; i++) {
            const char *params[] = {dd->code, dd->staff[i].name};
            PGresult *res = pg_query(conn, sql, 2, params);
            long long staff_id = pg_ok(conn, res, "find demo staff") && PQntuples(res) == 1
                                     ? atoll(PQgetvalue(res, 0, 0))
                                     : 0;
            PQclear(res);
            snprintf(roles, sizeof roles, "{%s}", dd->staff[i].role);
            if (staff_id &&
                !ctl_account_create(conn, dd->staff[i].username, password, roles, staff_id, NULL))
                return false;
        }
    }
    return ctl_account_create(conn, "admin", password, "{admin}", 0, admin_secret);
}

int ctl_seed_demo(PGconn *conn)
{
    /* The demo admin's second factor is a published test secret: a demo, not a deployment. */
    const char *admin_secret =
        config_str("EDLIVE_DEMO_ADMIN_TOTP", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    const char *password = config_str("EDLIVE_DEMO_PASSWORD", "edlive-demo");
    const char *code_params[] = {"DEMO"};
    PGresult *res;

    res = pg_query(conn, "SELECT id FROM department WHERE code = $1", 1, code_params);
    if (!pg_ok(conn, res, "find demo")) {
        PQclear(res);
        return 1;
    }
    if (PQntuples(res) == 1) {
        printf("demo ED already seeded: department %s\n", PQgetvalue(res, 0, 0));
        PQclear(res);
        /* A deployment seeded before accounts existed gets the demo accounts now. */
        return seed_missing_accounts(conn, password, admin_secret) ? 0 : 1;
    }
    PQclear(res);

    for (size_t d = 0; d < COUNT(demo_departments); d++) {
        const struct demo_department *dd = &demo_departments[d];
        long long staff_ids[16];
        long long dept = seed_reference(conn, dd, staff_ids, password);
        if (!dept)
            return 1;
        for (size_t i = 0; i < dd->nencounters; i++)
            if (!seed_encounter(conn, dept, &dd->encounters[i], staff_ids, dd->fallback_nurse,
                                find_bed))
                return 1;
        printf("demo department %s seeded: id %lld, %zu beds, %zu staff, %zu encounters\n",
               dd->code, dept, dd->nbeds, dd->nstaff, dd->nencounters);
    }
    if (!ctl_account_create(conn, "admin", password, "{admin}", 0, admin_secret))
        return 1;
    printf("demo accounts, password \"%s\": dr.lopez dr.chen dr.bello (physicians), patel kim "
           "eriksen novak (nurses), adeyemi (charge nurse), moreau (registration); children's "
           "ED: dr.rahman, duarte, asante (charge); admin (TOTP secret %s)\n",
           password, admin_secret);
    return 0;
}
