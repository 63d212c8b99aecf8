/* SPDX-License-Identifier: MIT */
/* seed.c: the demo ED. Reference data (department, beds, staff) is inserted directly;
 * every encounter change goes through store.c, the API's own write path, so the demo's
 * event log is real. The patients are invented. Running it twice is a no-op. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "log.h"
#include "pg.h"
#include "record.h"

struct demo_bed {
    const char *label, *area;
};

static const struct demo_bed demo_beds[] = {
    {"R1", "resus"},      {"R2", "resus"},      {"A1", "acute"},      {"A2", "acute"},
    {"A3", "acute"},      {"A4", "acute"},      {"A5", "acute"},      {"A6", "acute"},
    {"A7", "acute"},      {"A8", "acute"},      {"A9", "acute"},      {"A10", "acute"},
    {"F1", "fast_track"}, {"F2", "fast_track"}, {"F3", "fast_track"}, {"F4", "fast_track"},
    {"H1", "hallway"},    {"H2", "hallway"},    {"H3", "hallway"},    {"WR", "waiting_room"},
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
     400,
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
    /* A child: scored with Bedside PEWS, not NEWS2 (proto/EARLY_WARNING.md). */
    {"100248", "Garcia", "Sofia", "2019-04-04", "female", "walk_in", "Asthma, wheeze",
     12,       -1,       NULL,    "waiting",    -1,       -1,        128,
     34,       104,      66,      93,           37.4,     0,         "A",
     2,        NULL},
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
    /* A name alike Haddad, Yusuf (A1): the board warns of the similar names. */
    {"100252", "Hadad", "Yousef", "1983-02-17", "male", "walk_in", "Chest tightness on exertion",
     14,       3,       NULL,     "waiting",    -1,     -1,        88,
     16,       138,     86,       98,           36.8,   0,         "A",
     3,        NULL},
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

static bool run(PGconn *conn, record_write_fn *write, long long id, json_t *body)
{
    struct record_write w = {0};
    struct ed_error err = {0};
    bool ok = write(conn, NULL, id, body, NULL, &w, &err);

    if (!ok)
        log_error("seed write failed: %d %s %s: %s", err.status, err.code, err.field, err.message);
    record_write_clear(&w);
    json_decref(body);
    return ok;
}

static long long find_bed(PGconn *conn, long long dept, const char *label);

static void iso_at(char *out, size_t cap, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A body with one time field set to minutes before now (or none when minutes < 0). */
static json_t *with_time(json_t *body, const char *key, int minutes_ago)
{
    char at[32];

    if (minutes_ago >= 0) {
        iso_minutes_ago(at, sizeof at, minutes_ago);
        json_object_set_new(body, key, json_string(at));
    }
    return body;
}

static long long seed_arrival(PGconn *conn, long long dept, const struct demo_encounter *e,
                              time_t arrived)
{
    char at[32];
    struct record_write w = {0};
    struct ed_error err = {0};
    json_t *body;
    long long enc = 0;

    iso_at(at, sizeof at, arrived);
    body =
        json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:s}", "patient", "mrn", e->mrn, "family_name",
                  e->family, "given_name", e->given, "birth_date", e->birth, "sex", e->sex,
                  "arrival_mode", e->mode, "chief_complaint", e->complaint, "arrived_at", at);
    if (record_arrival(conn, NULL, dept, body, NULL, &w, &err))
        enc = w.encounter_id;
    else
        log_error("seed arrival failed: %s %s", err.code, err.field);
    json_decref(body);
    record_write_clear(&w);
    return enc;
}

/* When a current patient reached a bed: a few minutes after arrival, longer for those who
 * have been here longer (so arrival-to-room times vary), never in the future. */
static int room_minutes_ago(const struct demo_encounter *e)
{
    int delay = 4 + e->minutes_ago / 6;

    return e->minutes_ago - delay >= 1 ? e->minutes_ago - delay : 1;
}

/* The demo patient whose latest vitals set holds a heart rate only (Schmidt, NEWS2 14). */
#define PARTIAL_SET_MRN "100237"

static bool seed_encounter(PGconn *conn, long long dept, const struct demo_encounter *e,
                           const long long *staff_ids, int fallback_nurse,
                           long long (*bed_id)(PGconn *, long long, const char *), long long *out)
{
    char taken[32];
    json_t *body;
    long long enc = seed_arrival(conn, dept, e, time(NULL) - (time_t)e->minutes_ago * 60);
    int room = room_minutes_ago(e);

    if (!enc)
        return false;
    *out = enc;
    if (e->esi > 0 && !run(conn, record_triage, enc, json_pack("{s:i}", "esi", e->esi)))
        return false;
    if (e->hr > 0) {
        iso_minutes_ago(taken, sizeof taken, e->minutes_ago > 10 ? e->minutes_ago - 5 : 1);
        body = json_pack("{s:I,s:s,s:i,s:i,s:i,s:i,s:i,s:f,s:b,s:s,s:i}", "taken_by",
                         (json_int_t)staff_ids[e->nurse >= 0 ? e->nurse : fallback_nurse],
                         "taken_at", taken, "heart_rate", e->hr, "resp_rate", e->rr, "systolic_bp",
                         e->sbp, "diastolic_bp", e->dbp, "spo2", e->spo2, "temperature_c", e->temp,
                         "on_oxygen", e->o2, "consciousness", e->acvpu, "pain", e->pain);
        if (!run(conn, record_vitals, enc, body))
            return false;
        /* One patient's latest set is partial (a heart rate alone, as a monitor glance is
         * charted): the board and bedside still show the full set's high score and continuous
         * monitoring, with the inputs' ages (proto/EARLY_WARNING.md). */
        if (!strcmp(e->mrn, PARTIAL_SET_MRN) && e->minutes_ago > 20) {
            iso_minutes_ago(taken, sizeof taken, 12);
            body = json_pack("{s:I,s:s,s:i}", "taken_by",
                             (json_int_t)staff_ids[e->nurse >= 0 ? e->nurse : fallback_nurse],
                             "taken_at", taken, "heart_rate", e->hr - 6);
            if (!run(conn, record_vitals, enc, body))
                return false;
        }
    }
    if (e->bed &&
        !run(conn, record_bed, enc,
             with_time(json_pack("{s:I}", "bed_id", (json_int_t)bed_id(conn, dept, e->bed)), "at",
                       room)))
        return false;
    if (e->attending >= 0 || e->nurse >= 0) {
        body = json_object();
        if (e->attending >= 0)
            json_object_set_new(body, "attending_id", json_integer(staff_ids[e->attending]));
        if (e->nurse >= 0)
            json_object_set_new(body, "nurse_id", json_integer(staff_ids[e->nurse]));
        if (!run(conn, record_assignment, enc, body))
            return false;
    }
    /* Seen a few minutes after reaching the bed; a decided patient was seen first. */
    if ((!strcmp(e->status, "seen_by_provider") || !strcmp(e->status, "disposition_decided")) &&
        !run(conn, record_status, enc,
             with_time(json_pack("{s:s}", "status", "seen_by_provider"), "at",
                       room > 3 ? room - 3 : 0)))
        return false;
    if (!strcmp(e->status, "disposition_decided") &&
        !run(conn, record_status, enc, json_pack("{s:s}", "status", e->status)))
        return false;
    if (e->note && !run(conn, record_note, enc,
                        json_pack("{s:I,s:s}", "author_id",
                                  (json_int_t)staff_ids[e->attending >= 0 ? e->attending : 0],
                                  "text", e->note)))
        return false;
    return true;
}

/* ---- the clinical record of the current patients (issue 5) ---- */

/* One write of the record on a current encounter, by MRN: which store function, and its
 * body as JSON text. */
struct demo_record_write {
    const char *mrn;
    record_write_fn *write;
    const char *body;
};

/* Orders in every state (some abnormal, a result nobody has seen yet), boarders (one over
 * 4 h), isolation, comments, allergies (and one patient with none known), home medications,
 * problem lists (one with an ICD-9 code from an older list), a scale-2 COPD patient. */
static const struct demo_record_write demo_record[] = {
    {"100231", record_allergy,
     "{\"substance\":\"Penicillin\",\"reaction\":\"Hives\","
     "\"severity\":\"moderate\"}"},
    {"100231", record_medication,
     "{\"name\":\"Aspirin\",\"dose\":\"75 mg\",\"route\":\"PO\","
     "\"frequency\":\"once daily\"}"},
    {"100231", record_medication,
     "{\"name\":\"Atorvastatin\",\"dose\":\"40 mg\",\"route\":\"PO\","
     "\"frequency\":\"at night\"}"},
    {"100231", record_medication,
     "{\"name\":\"Metformin\",\"dose\":\"500 mg\",\"route\":\"PO\","
     "\"frequency\":\"twice daily\"}"},
    {"100231", record_problem,
     "{\"system\":\"icd10\",\"code\":\"I10\",\"display\":\"Essential "
     "(primary) hypertension\",\"onset\":\"2009-05-01\"}"},
    {"100231", record_problem,
     "{\"system\":\"icd10\",\"code\":\"E11.9\",\"display\":\"Type 2 "
     "diabetes mellitus without complications\",\"onset\":\"2015-03-01\"}"},
    {"100231", record_order_create,
     "{\"kind\":\"lab\",\"name\":\"Troponin I (high sensitivity)\"}"},
    {"100231", record_order_create, "{\"kind\":\"imaging\",\"name\":\"Chest X-ray\"}"},
    {"100231", record_order_create, "{\"kind\":\"consult\",\"name\":\"Cardiology consult\"}"},
    {"100231", record_comment, "{\"text\":\"Cath lab notified, awaiting cardiology\"}"},
    {"100232", record_news2_scale, "{\"scale\":2}"},
    {"100232", record_allergy, "{\"no_known_allergies\":true}"},
    {"100232", record_medication,
     "{\"name\":\"Tiotropium\",\"dose\":\"18 mcg\",\"route\":"
     "\"inhaled\",\"frequency\":\"once daily\"}"},
    {"100232", record_medication,
     "{\"name\":\"Salbutamol\",\"dose\":\"100 mcg, 2 puffs\","
     "\"route\":\"inhaled\",\"frequency\":\"as needed\"}"},
    {"100232", record_problem,
     "{\"system\":\"icd9\",\"code\":\"496\",\"display\":\"Chronic "
     "airway obstruction, not elsewhere classified\",\"onset\":\"2008-01-01\"}"},
    {"100232", record_problem,
     "{\"system\":\"icd10\",\"code\":\"J44.9\",\"display\":\"Chronic "
     "obstructive pulmonary disease, unspecified\"}"},
    {"100232", record_order_create, "{\"kind\":\"lab\",\"name\":\"Arterial blood gas\"}"},
    {"100232", record_order_create, "{\"kind\":\"lab\",\"name\":\"Influenza A/B PCR\"}"},
    {"100232", record_order_create, "{\"kind\":\"imaging\",\"name\":\"Chest X-ray\"}"},
    {"100232", record_isolation, "{\"isolation\":\"droplet\"}"},
    {"100232", record_comment, "{\"text\":\"Target SpO2 88-92% (scale 2)\"}"},
    {"100233", record_order_create, "{\"kind\":\"lab\",\"name\":\"Full blood count\"}"},
    {"100233", record_order_create, "{\"kind\":\"lab\",\"name\":\"C-reactive protein\"}"},
    {"100233", record_order_create, "{\"kind\":\"imaging\",\"name\":\"CT abdomen and pelvis\"}"},
    {"100233", record_allergy, "{\"no_known_allergies\":true}"},
    {"100234", record_order_create, "{\"kind\":\"imaging\",\"name\":\"CT head (non-contrast)\"}"},
    {"100235", record_order_create, "{\"kind\":\"imaging\",\"name\":\"X-ray right hip\"}"},
    {"100235", record_order_create, "{\"kind\":\"consult\",\"name\":\"Orthopaedics consult\"}"},
    {"100235", record_diagnosis,
     "{\"system\":\"icd10\",\"code\":\"S72.001A\",\"display\":"
     "\"Fracture of unspecified part of neck of right femur, initial "
     "encounter\"}"},
    {"100235", record_allergy,
     "{\"substance\":\"Codeine\",\"reaction\":\"Nausea and vomiting\","
     "\"severity\":\"mild\"}"},
    {"100235", record_medication,
     "{\"name\":\"Warfarin\",\"dose\":\"3 mg\",\"route\":\"PO\","
     "\"frequency\":\"once daily\"}"},
    {"100235", record_comment, "{\"text\":\"On warfarin - INR sent. Waiting for ward bed\"}"},
    {"100236", record_order_create, "{\"kind\":\"lab\",\"name\":\"Urinalysis\"}"},
    {"100236", record_comment, "{\"text\":\"14/40 pregnant, obstetrics aware\"}"},
    {"100237", record_isolation, "{\"isolation\":\"contact\"}"},
    {"100237", record_allergy,
     "{\"substance\":\"Sulfonamides\",\"reaction\":\"Rash\","
     "\"severity\":\"mild\"}"},
    {"100237", record_problem,
     "{\"system\":\"icd10\",\"code\":\"Z22.322\",\"display\":\"Carrier "
     "of methicillin resistant Staphylococcus aureus\"}"},
    {"100237", record_order_create, "{\"kind\":\"lab\",\"name\":\"Blood cultures x2\"}"},
    {"100237", record_order_create, "{\"kind\":\"lab\",\"name\":\"Lactate\"}"},
    {"100240", record_diagnosis,
     "{\"system\":\"icd10\",\"code\":\"J02.9\",\"display\":\"Acute "
     "pharyngitis, unspecified\"}"},
    {"100240", record_order_create, "{\"kind\":\"lab\",\"name\":\"Rapid strep antigen\"}"},
    {"100242", record_comment, "{\"text\":\"Police at bedside\"}"},
    {"100242", record_order_create, "{\"kind\":\"imaging\",\"name\":\"CT head (non-contrast)\"}"},
    {"100245", record_allergy,
     "{\"substance\":\"Amoxicillin\",\"reaction\":\"Widespread rash\","
     "\"severity\":\"unknown\"}"},
    {"100245", record_medication,
     "{\"name\":\"Amoxicillin\",\"dose\":\"500 mg\",\"route\":\"PO\","
     "\"frequency\":\"three times daily\"}"},
    {"100249", record_order_create, "{\"kind\":\"imaging\",\"name\":\"CT head and CT angiogram\"}"},
    {"100249", record_comment, "{\"text\":\"Stroke alert - CT now\"}"},
    {"100251", record_order_create, "{\"kind\":\"lab\",\"name\":\"Haemoglobin\"}"},
    {"100251", record_order_create, "{\"kind\":\"lab\",\"name\":\"Group and crossmatch 2 units\"}"},
    {"100251", record_diagnosis,
     "{\"system\":\"icd10\",\"code\":\"K92.1\",\"display\":"
     "\"Melaena\"}"},
    {"100251", record_medication,
     "{\"name\":\"Ibuprofen\",\"dose\":\"400 mg\",\"route\":\"PO\","
     "\"frequency\":\"three times daily\"}"},
};

/* Order progress and dispositions: on the n-th order of a patient (1-based), with a time. */
struct demo_order_step {
    const char *mrn;
    int order;          /* 1-based among the patient's orders above */
    const char *status; /* "collected", "resulted", or "seen" */
    int abnormal;       /* -1 not stated, 0, 1 */
};

static const struct demo_order_step demo_order_steps[] = {
    {"100231", 1, "collected", -1}, {"100231", 1, "resulted", 1}, /* new abnormal result */
    {"100231", 2, "collected", -1}, {"100232", 1, "resulted", 1}, {"100232", 1, "seen", -1},
    {"100232", 2, "collected", -1}, {"100232", 3, "resulted", 0}, {"100232", 3, "seen", -1},
    {"100233", 1, "resulted", 0},   {"100233", 1, "seen", -1},    {"100233", 2, "resulted", 1},
    {"100235", 1, "resulted", 1},   {"100235", 1, "seen", -1},    {"100235", 2, "resulted", -1},
    {"100235", 2, "seen", -1},      {"100236", 1, "resulted", 0}, {"100237", 1, "collected", -1},
    {"100237", 2, "resulted", 1},   {"100240", 1, "resulted", 0}, {"100240", 1, "seen", -1},
    {"100249", 1, "collected", -1}, {"100251", 1, "resulted", 1}, {"100251", 1, "seen", -1},
    {"100251", 2, "collected", -1},
};

struct demo_disposition {
    const char *mrn, *kind, *destination;
    int minutes_ago;
};

/* Two boarders (Walsh over 4 h) and a discharge waiting for transport. */
static const struct demo_disposition demo_dispositions[] = {
    {"100235", "admit", "Orthopaedics, Ward 7", 290},
    {"100251", "admit", "Gastroenterology, Ward 4", 70},
    {"100240", "discharge", NULL, 20},
};

static long long encounter_of(PGconn *conn, const char *mrn)
{
    const char *params[] = {mrn};

    return insert_id(conn,
                     "SELECT e.id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE "
                     "p.mrn = $1 AND e.departed_at IS NULL",
                     1, params);
}

static long long nth_order(PGconn *conn, long long enc, int n)
{
    char encbuf[24], nbuf[24];
    const char *params[] = {pg_int_param(encbuf, enc), pg_int_param(nbuf, n - 1)};

    return insert_id(conn,
                     "SELECT id FROM clinical_order WHERE encounter_id = $1 ORDER BY id "
                     "OFFSET $2 LIMIT 1",
                     2, params);
}

static bool seed_record(PGconn *conn)
{
    for (size_t i = 0; i < sizeof demo_record / sizeof demo_record[0]; i++) {
        const struct demo_record_write *r = &demo_record[i];
        long long enc = encounter_of(conn, r->mrn);
        json_t *body = json_loads(r->body, 0, NULL);
        if (!enc || !body || !run(conn, r->write, enc, body))
            return false;
    }
    for (size_t i = 0; i < sizeof demo_order_steps / sizeof demo_order_steps[0]; i++) {
        const struct demo_order_step *st = &demo_order_steps[i];
        long long order = nth_order(conn, encounter_of(conn, st->mrn), st->order);
        json_t *body = json_pack("{s:s}", "status", st->status);
        if (st->abnormal >= 0)
            json_object_set_new(body, "abnormal", json_boolean(st->abnormal));
        if (!order ||
            !run(conn, strcmp(st->status, "seen") ? record_order_status : record_order_seen, order,
                 body))
            return false;
    }
    for (size_t i = 0; i < sizeof demo_dispositions / sizeof demo_dispositions[0]; i++) {
        const struct demo_disposition *d = &demo_dispositions[i];
        json_t *body = json_pack("{s:s}", "kind", d->kind);
        if (d->destination)
            json_object_set_new(body, "destination", json_string(d->destination));
        if (!run(conn, record_disposition, encounter_of(conn, d->mrn),
                 with_time(body, "decided_at", d->minutes_ago)))
            return false;
    }
    return true;
}

/* ---- history: earlier visits, today's departures, and the same weekday of 4 prior weeks ---- */

/* One finished visit: arrival, a bed after room_min (none: left from the waiting room),
 * provider contact seen_min after arrival (0: none), disposition decided dispo_min after
 * arrival, departure depart_min after arrival, then the bed cleaned. Diagnoses are added by
 * the caller. */
struct demo_visit {
    time_t arrived;
    const char *bed;
    int room_min, seen_min, dispo_min, depart_min;
    const char *dispo, *destination;
    const char *dx_code, *dx_display; /* an ICD-10 discharge diagnosis, or NULL */
};

/* body with key set to minutes after t. */
static json_t *at_min(time_t t, json_t *body, const char *key, int minutes)
{
    char at[32];

    iso_at(at, sizeof at, t + (time_t)minutes * 60);
    json_object_set_new(body, key, json_string(at));
    return body;
}

static long long seed_visit(PGconn *conn, long long dept, const struct demo_encounter *who,
                            const struct demo_visit *v)
{
    long long enc = seed_arrival(conn, dept, who, v->arrived);
    json_t *body;

    if (!enc)
        return 0;
    if (v->bed &&
        !run(conn, record_bed, enc,
             at_min(v->arrived,
                    json_pack("{s:I}", "bed_id", (json_int_t)find_bed(conn, dept, v->bed)), "at",
                    v->room_min)))
        return 0;
    if (v->seen_min > 0 && !run(conn, record_status, enc,
                                at_min(v->arrived, json_pack("{s:s}", "status", "seen_by_provider"),
                                       "at", v->seen_min)))
        return 0;
    body = json_pack("{s:s}", "kind", v->dispo);
    if (v->destination)
        json_object_set_new(body, "destination", json_string(v->destination));
    if (v->dx_code && !run(conn, record_diagnosis, enc,
                           json_pack("{s:s,s:s,s:s}", "system", "icd10", "code", v->dx_code,
                                     "display", v->dx_display)))
        return 0;
    if (!run(conn, record_disposition, enc, at_min(v->arrived, body, "decided_at", v->dispo_min)) ||
        !run(conn, record_departure, enc,
             at_min(v->arrived, json_object(), "departed_at", v->depart_min)))
        return 0;
    /* The departure left the bed needing cleaning; it was cleaned long before now. */
    if (v->bed && !run(conn, record_bed_status, find_bed(conn, dept, v->bed),
                       json_pack("{s:s}", "status", "free")))
        return 0;
    return enc;
}

/* Older diagnoses, kept as they were coded (ICD-9 before the switch to ICD-10). */
static bool legacy_diagnosis(PGconn *conn, long long enc, const char *system, const char *code,
                             const char *display)
{
    char encbuf[24];
    const char *params[] = {pg_int_param(encbuf, enc), system, code, display};

    return insert_id(conn,
                     "INSERT INTO encounter_diagnosis (encounter_id, system, code, display) "
                     "VALUES ($1, $2, $3, $4) RETURNING id",
                     4, params) != 0;
}

static time_t days_ago_at(int days, int hour, int minute)
{
    time_t now = time(NULL), t;
    struct tm tm;

    gmtime_r(&now, &tm);
    tm.tm_mday -= days;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = 0;
    t = timegm(&tm);
    return t;
}

static const struct demo_encounter *demo_by_mrn(const char *mrn)
{
    for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++)
        if (!strcmp(demo[i].mrn, mrn))
            return &demo[i];
    return NULL;
}

/* Invented patients of the earlier weeks. */
static const char *const history_family[] = {
    "Adler", "Baptiste",  "Cohen", "Delgado", "Eze",    "Farouk", "Gallagher", "Horvath",
    "Ibsen", "Jovanovic", "Kaur",  "Lambert", "Mwangi", "Novak",  "Olsen",     "Pereira",
    "Quinn", "Rahimi",    "Sato",  "Torres",  "Ulrich", "Vance",  "Wojcik",    "Yilmaz",
};
static const char *const history_given[] = {
    "Ruth", "Omar", "Elena",    "Tomas",  "Grace",   "Idris", "Maeve",  "Pavel",
    "Sara", "Luka", "Harpreet", "Claire", "Wanjiru", "Jakub", "Ingrid", "Rui",
};
static const char *const history_complaints[] = {
    "Chest pain",   "Abdominal pain", "Fall",      "Shortness of breath",
    "Laceration",   "Fever",          "Back pain", "Headache",
    "Ankle injury", "Dizziness",      "Vomiting",  "Urinary symptoms",
};

/* An ICD-10 diagnosis for each complaint above (same order). */
static const char *const history_dx[][2] = {
    {"R07.9", "Chest pain, unspecified"},
    {"R10.4", "Other and unspecified abdominal pain"},
    {"S00.83XA", "Contusion of other part of head, initial encounter"},
    {"J18.9", "Pneumonia, unspecified organism"},
    {"S61.412A", "Laceration without foreign body of left hand, initial encounter"},
    {"R50.9", "Fever, unspecified"},
    {"M54.5", "Low back pain"},
    {"R51", "Headache"},
    {"S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"},
    {"R42", "Dizziness and giddiness"},
    {"R11.10", "Vomiting, unspecified"},
    {"N39.0", "Urinary tract infection, site not specified"},
};

/* Arrival times (minutes after local midnight) of one weekday's visits: quiet at night,
 * busiest from late morning to evening, as EDs are. */
static const int history_minutes[] = {
    25,  140, 395, 490,  555,  610,  650,  700,  735,  790,  830,
    880, 935, 970, 1025, 1080, 1110, 1170, 1240, 1310, 1390,
};

static bool seed_history(PGconn *conn, long long dept)
{
    static const char *const beds[] = {"A1", "A2", "F1", "F2", "A4", "H1", "R2", "F3"};
    struct demo_encounter p = {0};
    char mrn[16], birth[16];
    long long enc;
    int serial = 0;

    /* Earlier visits of current patients: the chart shows them when they come back. */
    {
        const struct demo_encounter *lindqvist = demo_by_mrn("100232");
        const struct demo_encounter *okafor = demo_by_mrn("100231");
        const struct demo_encounter *schmidt = demo_by_mrn("100237");
        struct demo_visit copd = {
            days_ago_at(16, 3, 40),
            "R2",
            12,
            20,
            150,
            310,
            "admit",
            "Respiratory, Ward 9",
            "J44.1",
            "Chronic obstructive pulmonary disease with (acute) exacerbation"};
        struct demo_visit copd_old = {
            days_ago_at(4380, 14, 5), "A2", 35, 50, 180, 215, "discharge", NULL, NULL, NULL};
        struct demo_visit chest_old = {
            days_ago_at(4750, 19, 30), "A1", 20, 40, 200, 230, "discharge", NULL, NULL, NULL};
        struct demo_visit uti = {days_ago_at(23, 11, 10),
                                 "A5",
                                 25,
                                 45,
                                 160,
                                 190,
                                 "discharge",
                                 NULL,
                                 "N39.0",
                                 "Urinary tract infection, site not specified"};
        if (!seed_visit(conn, dept, lindqvist, &copd) || !seed_visit(conn, dept, schmidt, &uti))
            return false;
        /* Twelve years ago: coded in ICD-9, kept as it was. */
        enc = seed_visit(conn, dept, lindqvist, &copd_old);
        if (!enc || !legacy_diagnosis(conn, enc, "icd9", "491.21",
                                      "Obstructive chronic bronchitis with (acute) exacerbation"))
            return false;
        enc = seed_visit(conn, dept, okafor, &chest_old);
        if (!enc || !legacy_diagnosis(conn, enc, "icd9", "786.50", "Chest pain, unspecified") ||
            !legacy_diagnosis(conn, enc, "icd9", "401.9", "Essential hypertension, unspecified"))
            return false;
    }
    /* The same weekday in each of the four weeks before today (the metrics' comparison), and
     * today's visits that have already left (two without being seen). */
    for (int week = 4; week >= 0; week--) {
        int minutes_today = (int)((time(NULL) - days_ago_at(0, 0, 0)) / 60);
        for (size_t i = 0; i < sizeof history_minutes / sizeof history_minutes[0]; i++) {
            int at_min = history_minutes[i] + week * 7;
            int n = serial++;
            bool lwbs = n % 9 == 4, admit = n % 5 == 2, transfer = n % 17 == 11;
            struct demo_visit v = {0};
            int length = lwbs ? 70 : admit ? 320 + n % 4 * 40 : 120 + n % 7 * 25;
            /* Today: only visits that have finished by now. */
            if (week == 0 && at_min + length + 10 > minutes_today)
                continue;
            v.arrived = days_ago_at(7 * week, 0, 0) + (time_t)at_min * 60;
            v.bed = lwbs ? NULL : beds[n % 8];
            v.room_min = 6 + n % 6 * 7;
            v.seen_min = lwbs ? 0 : v.room_min + 4 + n % 4 * 5;
            v.dispo = lwbs ? "lwbs" : transfer ? "transfer" : admit ? "admit" : "discharge";
            v.destination = transfer ? "St Mary's Hospital, cardiology"
                            : admit  ? "Medical "
                                       "admissions unit"
                                     : NULL;
            v.dispo_min = lwbs ? length - 5 : admit ? 150 + n % 3 * 20 : length - 25;
            v.depart_min = length;
            if (!lwbs) {
                v.dx_code = history_dx[n % 12][0];
                v.dx_display = history_dx[n % 12][1];
            }
            snprintf(mrn, sizeof mrn, "3%02d%03d", week, (int)i);
            snprintf(birth, sizeof birth, "%d-%02d-%02d", 1935 + n * 7 % 70, 1 + n % 12,
                     1 + n % 28);
            p.mrn = mrn;
            p.family = history_family[n % 24];
            p.given = history_given[(n / 3) % 16];
            p.birth = birth;
            p.sex = n % 2 ? "male" : "female";
            p.mode = n % 4 == 1 ? "ambulance" : "walk_in";
            p.complaint = history_complaints[n % 12];
            if (!seed_visit(conn, dept, &p, &v))
                return false;
        }
    }
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
    /* The demo EDs keep their local day in London's time zone (metrics, LWBS "today"). */
    dept = insert_id(conn,
                     "INSERT INTO department (code, name, timezone) VALUES ($1, $2, "
                     "'Europe/London') RETURNING id",
                     2, code_params);
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

int ctl_seed_demo(PGconn *conn, const char *password, const char *admin_secret)
{
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

    long long main_dept = 0;
    for (size_t d = 0; d < COUNT(demo_departments); d++) {
        const struct demo_department *dd = &demo_departments[d];
        long long staff_ids[16];
        long long dept = seed_reference(conn, dd, staff_ids, password);
        if (!dept)
            return 1;
        if (!main_dept)
            main_dept = dept;
        long long enc;
        if (dd->encounters == demo && !seed_history(conn, dept))
            return 1;
        for (size_t i = 0; i < dd->nencounters; i++)
            if (!seed_encounter(conn, dept, &dd->encounters[i], staff_ids, dd->fallback_nurse,
                                find_bed, &enc))
                return 1;
        if (dd->encounters == demo &&
            (!seed_record(conn) || !run(conn, record_bed_status, find_bed(conn, dept, "A9"),
                                        json_pack("{s:s}", "status", "cleaning"))))
            return 1;
        printf("demo department %s seeded: id %lld, %zu beds, %zu staff, %zu encounters\n",
               dd->code, dept, dd->nbeds, dd->nstaff, dd->nencounters);
    }
    /* The public wall of the main demo ED (issue 9 item 11): masked board only. */
    if (!ctl_display_account_create(conn, "wall", password, main_dept))
        return 1;
    if (!ctl_account_create(conn, "admin", password, "{admin}", 0, admin_secret))
        return 1;
    printf("demo accounts, password \"%s\": dr.lopez dr.chen dr.bello (physicians), patel kim "
           "eriksen novak (nurses), adeyemi (charge nurse), moreau (registration); children's "
           "ED: dr.rahman, duarte, asante (charge); wall (display: the public wall, masked); admin "
           "(TOTP secret %s)\n",
           password, admin_secret);
    return 0;
}
