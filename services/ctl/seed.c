/* SPDX-License-Identifier: MIT */
/* seed.c: the demo ED, read from sql/demo/demo-ed.json (its format: sql/demo/README.md).
 * Reference data (department, beds, staff) goes in through record_seed.c and the accounts
 * through accounts.c; every encounter change goes through store.c, the API's own write path,
 * so the demo's event log is real. Times in the file are minutes before now (or before the
 * visit's arrival). Running it twice is a no-op. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "log.h"
#include "pg.h"
#include "record.h"
#include "record_seed.h"

#define DEMO_FILE "demo/demo-ed.json"

/* One department being seeded. */
struct seed_dept {
    PGconn *conn;
    long long id;
    const json_t *doc;  /* its object in the data file */
    json_t *staff_ids;  /* username -> staff id, owned */
    json_t *encounters; /* its "encounters" array (borrowed) */
};

/* A finished visit: arrival, a bed room_min after it (bed NULL: left from the waiting room),
 * provider contact at seen_min (0: none), disposition at dispo_min, departure at depart_min,
 * then the bed cleaned. */
struct seed_visit {
    time_t arrived;
    const char *bed;
    int room_min, seen_min, dispo_min, depart_min;
    const char *dispo, *destination;
    const char *dx_code, *dx_display; /* an ICD-10 diagnosis, or NULL */
};

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int num(const json_t *obj, const char *key)
{
    return (int)json_integer_value(json_object_get(obj, key));
}

static time_t minutes_ago(int minutes)
{
    return time(NULL) - (time_t)minutes * 60;
}

/* body with key set to the time t (UTC, whole seconds); body may be NULL. */
static json_t *at(json_t *body, const char *key, time_t t)
{
    char text[32];
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (body)
        json_object_set_new(body, key, json_string(text));
    return body;
}

/* UTC midnight `days` days ago, plus hour:minute. */
static time_t days_ago_at(int days, int hour, int minute)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    tm.tm_mday -= days;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = 0;
    return timegm(&tm);
}

/* One write through the store; takes body. */
static bool run(PGconn *conn, record_write_fn *write, long long id, json_t *body)
{
    struct record_write w = {0};
    struct ed_error err = {0};
    bool ok = body && id > 0 && write(conn, NULL, id, body, NULL, &w, &err);

    if (!ok)
        log_error("seed write on %lld failed: %d %s %s: %s", id, err.status,
                  err.code ? err.code : "bad seed data", err.field, err.message);
    record_write_clear(&w);
    json_decref(body);
    return ok;
}

static long long staff_id(const struct seed_dept *sd, const char *username)
{
    return json_integer_value(json_object_get(sd->staff_ids, username ? username : ""));
}

static long long bed_id(const struct seed_dept *sd, const char *label)
{
    return record_seed_bed_id(sd->conn, sd->id, label);
}

/* The arrival of patient (a data-file "patient" object) at `arrived`; the encounter id or 0. */
static long long seed_arrival(const struct seed_dept *sd, const json_t *patient, const char *mode,
                              const char *complaint, time_t arrived)
{
    struct record_write w = {0};
    struct ed_error err = {0};
    json_t *body = at(json_pack("{s:O,s:s,s:s}", "patient", patient, "arrival_mode", mode,
                                "chief_complaint", complaint),
                      "arrived_at", arrived);
    long long enc = 0;

    if (body && record_arrival(sd->conn, NULL, sd->id, body, NULL, &w, &err))
        enc = w.encounter_id;
    else
        log_error("seed arrival failed: %s %s", err.code ? err.code : "bad seed data", err.field);
    json_decref(body);
    record_write_clear(&w);
    return enc;
}

/* A vitals set: {taken_by, taken_at} followed by the measurements (all but "minutes_ago"). */
static json_t *vitals_body(long long taken_by, int minutes, const json_t *measured)
{
    json_t *body =
        at(json_pack("{s:I}", "taken_by", (json_int_t)taken_by), "taken_at", minutes_ago(minutes));

    json_object_update(body, (json_t *)measured);
    json_object_del(body, "minutes_ago");
    return body;
}

/* A current patient, in the state the file gives: triage, vitals, bed (a few minutes after
 * arrival, longer for those here longer), staff, provider contact, decision, note. */
static bool seed_encounter(const struct seed_dept *sd, const json_t *e)
{
    int mins = num(e, "minutes_ago");
    int room = mins - (4 + mins / 6) >= 1 ? mins - (4 + mins / 6) : 1;
    const char *status = str(e, "status") ? str(e, "status") : "waiting";
    const char *nurse = str(e, "nurse");
    const char *attending = str(e, "attending"), *bed = str(e, "bed"), *note = str(e, "note");
    long long taker = staff_id(sd, nurse ? nurse : str(sd->doc, "vitals_by_default"));
    long long enc = seed_arrival(sd, json_object_get(e, "patient"), str(e, "arrival_mode"),
                                 str(e, "chief_complaint"), minutes_ago(mins));
    bool seen = !strcmp(status, "seen_by_provider") || !strcmp(status, "disposition_decided");
    const json_t *later;
    size_t i;

    if (!enc)
        return false;
    if (json_object_get(e, "esi") &&
        !run(sd->conn, record_triage, enc, json_pack("{s:i}", "esi", num(e, "esi"))))
        return false;
    if (json_object_get(e, "vitals") &&
        !run(sd->conn, record_vitals, enc,
             vitals_body(taker, mins > 10 ? mins - 5 : 1, json_object_get(e, "vitals"))))
        return false;
    /* A set charted later (a monitor glance: a heart rate alone) on top of the full one. */
    json_array_foreach (json_object_get(e, "later_vitals"), i, later) {
        if (!run(sd->conn, record_vitals, enc,
                 vitals_body(taker, num(later, "minutes_ago"), later)))
            return false;
    }
    if (bed && !run(sd->conn, record_bed, enc,
                    at(json_pack("{s:I}", "bed_id", (json_int_t)bed_id(sd, bed)), "at",
                       minutes_ago(room))))
        return false;
    if (attending || nurse) {
        json_t *body = json_object();
        if (attending)
            json_object_set_new(body, "attending_id", json_integer(staff_id(sd, attending)));
        if (nurse)
            json_object_set_new(body, "nurse_id", json_integer(staff_id(sd, nurse)));
        if (!run(sd->conn, record_assignment, enc, body))
            return false;
    }
    /* Seen a few minutes after reaching the bed; a decided patient was seen first. */
    if (seen && !run(sd->conn, record_status, enc,
                     at(json_pack("{s:s}", "status", "seen_by_provider"), "at",
                        minutes_ago(room > 3 ? room - 3 : 0))))
        return false;
    if (!strcmp(status, "disposition_decided") &&
        !run(sd->conn, record_status, enc, json_pack("{s:s}", "status", status)))
        return false;
    if (note) {
        const char *author =
            attending ? attending
                      : str(json_array_get(json_object_get(sd->doc, "staff"), 0), "username");
        if (!run(sd->conn, record_note, enc,
                 json_pack("{s:I,s:s}", "author_id", (json_int_t)staff_id(sd, author), "text",
                           note)))
            return false;
    }
    return true;
}

/* ---- the clinical record of the current patients ---- */

static const struct {
    const char *name; /* "write" in the data file */
    record_write_fn *fn;
} record_writes[] = {
    {"allergy", record_allergy},     {"medication", record_medication},
    {"problem", record_problem},     {"order", record_order_create},
    {"comment", record_comment},     {"isolation", record_isolation},
    {"diagnosis", record_diagnosis}, {"news2_scale", record_news2_scale},
};

static record_write_fn *record_write(const char *name)
{
    for (size_t i = 0; name && i < sizeof record_writes / sizeof record_writes[0]; i++)
        if (!strcmp(record_writes[i].name, name))
            return record_writes[i].fn;
    log_error("seed data: unknown record write '%s'", name ? name : "(none)");
    return NULL;
}

/* Record writes, order progress, decisions and bed states, in the file's order. */
static bool seed_record(const struct seed_dept *sd)
{
    PGconn *conn = sd->conn;
    const json_t *r;
    size_t i;

    json_array_foreach (json_object_get(sd->doc, "record"), i, r) {
        record_write_fn *fn = record_write(str(r, "write"));
        if (!fn || !run(conn, fn, record_seed_open_encounter(conn, str(r, "mrn")),
                        json_deep_copy(json_object_get(r, "body"))))
            return false;
    }
    json_array_foreach (json_object_get(sd->doc, "order_steps"), i, r) {
        const char *status = str(r, "status");
        long long order = record_seed_nth_order(
            conn, record_seed_open_encounter(conn, str(r, "mrn")), num(r, "order"));
        json_t *body = json_pack("{s:s}", "status", status);
        if (json_object_get(r, "abnormal"))
            json_object_set(body, "abnormal", json_object_get(r, "abnormal"));
        if (!run(conn, strcmp(status, "seen") ? record_order_status : record_order_seen, order,
                 body))
            return false;
    }
    json_array_foreach (json_object_get(sd->doc, "dispositions"), i, r) {
        json_t *body = json_pack("{s:s}", "kind", str(r, "kind"));
        if (str(r, "destination"))
            json_object_set_new(body, "destination", json_string(str(r, "destination")));
        if (!run(conn, record_disposition, record_seed_open_encounter(conn, str(r, "mrn")),
                 at(body, "decided_at", minutes_ago(num(r, "minutes_ago")))))
            return false;
    }
    json_array_foreach (json_object_get(sd->doc, "bed_status"), i, r) {
        if (!run(conn, record_bed_status, bed_id(sd, str(r, "bed")),
                 json_pack("{s:s}", "status", str(r, "status"))))
            return false;
    }
    return true;
}

/* ---- history: earlier visits, today's departures, the same weekday of prior weeks ---- */

static long long seed_visit(const struct seed_dept *sd, const json_t *patient, const char *mode,
                            const char *complaint, const struct seed_visit *v)
{
    long long enc = seed_arrival(sd, patient, mode, complaint, v->arrived);
    json_t *body;

    if (!enc)
        return 0;
    if (v->bed && !run(sd->conn, record_bed, enc,
                       at(json_pack("{s:I}", "bed_id", (json_int_t)bed_id(sd, v->bed)), "at",
                          v->arrived + (time_t)v->room_min * 60)))
        return 0;
    if (v->seen_min > 0 && !run(sd->conn, record_status, enc,
                                at(json_pack("{s:s}", "status", "seen_by_provider"), "at",
                                   v->arrived + (time_t)v->seen_min * 60)))
        return 0;
    if (v->dx_code && !run(sd->conn, record_diagnosis, enc,
                           json_pack("{s:s,s:s,s:s}", "system", "icd10", "code", v->dx_code,
                                     "display", v->dx_display)))
        return 0;
    body = json_pack("{s:s}", "kind", v->dispo);
    if (v->destination)
        json_object_set_new(body, "destination", json_string(v->destination));
    if (!run(sd->conn, record_disposition, enc,
             at(body, "decided_at", v->arrived + (time_t)v->dispo_min * 60)) ||
        !run(sd->conn, record_departure, enc,
             at(json_object(), "departed_at", v->arrived + (time_t)v->depart_min * 60)))
        return 0;
    /* The departure left the bed needing cleaning; it was cleaned long before now. */
    if (v->bed &&
        !run(sd->conn, record_bed_status, bed_id(sd, v->bed), json_pack("{s:s}", "status", "free")))
        return 0;
    return enc;
}

/* The current encounter (in the file) of the patient with this MRN. */
static const json_t *current_by_mrn(const struct seed_dept *sd, const char *mrn)
{
    const json_t *e;
    size_t i;

    json_array_foreach (sd->encounters, i, e) {
        if (mrn && !strcmp(str(json_object_get(e, "patient"), "mrn"), mrn))
            return e;
    }
    log_error("seed data: no current patient with MRN %s", mrn ? mrn : "(none)");
    return NULL;
}

/* Earlier visits of current patients (the chart shows them when they come back), with the
 * diagnoses an older list coded (kept as they were). */
static bool seed_earlier_visits(const struct seed_dept *sd, const json_t *visits)
{
    const json_t *ev, *dx;
    size_t i, j;

    json_array_foreach (visits, i, ev) {
        const json_t *who = current_by_mrn(sd, str(ev, "mrn"));
        int hour = 0, minute = 0;
        const char *time_of_day = str(ev, "time");
        struct seed_visit v = {0};
        long long enc;

        if (!who || !time_of_day || sscanf(time_of_day, "%d:%d", &hour, &minute) != 2)
            return false;
        v.arrived = days_ago_at(num(ev, "days_ago"), hour, minute);
        v.bed = str(ev, "bed");
        v.room_min = num(ev, "room_min");
        v.seen_min = num(ev, "seen_min");
        v.dispo_min = num(ev, "disposition_min");
        v.depart_min = num(ev, "departure_min");
        v.dispo = str(ev, "disposition");
        v.destination = str(ev, "destination");
        v.dx_code = str(json_object_get(ev, "diagnosis"), "code");
        v.dx_display = str(json_object_get(ev, "diagnosis"), "display");
        enc = seed_visit(sd, json_object_get(who, "patient"), str(who, "arrival_mode"),
                         str(who, "chief_complaint"), &v);
        if (!enc)
            return false;
        json_array_foreach (json_object_get(ev, "legacy_diagnoses"), j, dx) {
            if (!record_seed_legacy_diagnosis(sd->conn, enc, str(dx, "system"), str(dx, "code"),
                                              str(dx, "display")))
                return false;
        }
    }
    return true;
}

/* Invented visits on the same weekday in each of the `weeks` weeks before today (the metrics'
 * comparison), and today's visits that have already left (some without being seen): arrival
 * times, names, complaints and beds from the file, cycled; lengths and outcomes from the
 * visit's serial number. */
static bool seed_weekly(const struct seed_dept *sd, const json_t *w)
{
    const json_t *minutes = json_object_get(w, "arrival_minutes");
    const json_t *beds = json_object_get(w, "beds"), *family = json_object_get(w, "family_names");
    const json_t *given = json_object_get(w, "given_names");
    const json_t *complaints = json_object_get(w, "complaints");
    int serial = 0;

    if (!json_array_size(beds) || !json_array_size(family) || !json_array_size(given) ||
        !json_array_size(complaints))
        return false;
    for (int week = num(w, "weeks"); week >= 0; week--) {
        int minutes_today = (int)((time(NULL) - days_ago_at(0, 0, 0)) / 60);
        for (size_t i = 0; i < json_array_size(minutes); i++) {
            int at_min = (int)json_integer_value(json_array_get(minutes, i)) + week * 7;
            int n = serial++;
            bool lwbs = n % 9 == 4, admit = n % 5 == 2, transfer = n % 17 == 11;
            int length = lwbs ? 70 : admit ? 320 + n % 4 * 40 : 120 + n % 7 * 25;
            const json_t *c = json_array_get(complaints, (size_t)n % json_array_size(complaints));
            struct seed_visit v = {0};
            char mrn[32], birth[48];
            json_t *patient;
            bool ok;

            if (week == 0 && at_min + length + 10 > minutes_today)
                continue; /* today: only visits that have finished by now */
            v.arrived = days_ago_at(7 * week, 0, 0) + (time_t)at_min * 60;
            v.bed =
                lwbs ? NULL
                     : json_string_value(json_array_get(beds, (size_t)n % json_array_size(beds)));
            v.room_min = 6 + n % 6 * 7;
            v.seen_min = lwbs ? 0 : v.room_min + 4 + n % 4 * 5;
            v.dispo = lwbs ? "lwbs" : transfer ? "transfer" : admit ? "admit" : "discharge";
            v.destination = transfer ? str(w, "transfer_destination")
                            : admit  ? str(w, "admit_destination")
                                     : NULL;
            v.dispo_min = lwbs ? length - 5 : admit ? 150 + n % 3 * 20 : length - 25;
            v.depart_min = length;
            if (!lwbs) {
                v.dx_code = str(c, "code");
                v.dx_display = str(c, "display");
            }
            snprintf(mrn, sizeof mrn, "3%02d%03d", week, (int)i);
            snprintf(birth, sizeof birth, "%d-%02d-%02d", 1935 + n * 7 % 70, 1 + n % 12,
                     1 + n % 28);
            patient =
                json_pack("{s:s,s:O,s:O,s:s,s:s}", "mrn", mrn, "family_name",
                          json_array_get(family, (size_t)n % json_array_size(family)), "given_name",
                          json_array_get(given, (size_t)(n / 3) % json_array_size(given)),
                          "birth_date", birth, "sex", n % 2 ? "male" : "female");
            ok = patient && seed_visit(sd, patient, n % 4 == 1 ? "ambulance" : "walk_in",
                                       str(c, "complaint"), &v);
            json_decref(patient);
            if (!ok)
                return false;
        }
    }
    return true;
}

/* ---- departments and accounts ---- */

/* Department, beds, staff and their accounts in one transaction; false on failure. */
static bool seed_reference(struct seed_dept *sd, const char *password)
{
    const json_t *doc = sd->doc, *x;
    char roles[64];
    size_t i;
    bool ok;

    if (!pg_command(sd->conn, "BEGIN"))
        return false;
    sd->id = record_seed_department(sd->conn, str(doc, "code"), str(doc, "name"),
                                    str(doc, "timezone") ? str(doc, "timezone") : "UTC");
    ok = sd->id > 0;
    json_array_foreach (json_object_get(doc, "beds"), i, x) {
        ok = ok && record_seed_bed(sd->conn, sd->id, str(x, "label"), str(x, "area"), (int)i);
    }
    json_array_foreach (json_object_get(doc, "staff"), i, x) {
        long long id = ok ? record_seed_staff(sd->conn, sd->id, str(x, "name"), str(x, "role")) : 0;
        snprintf(roles, sizeof roles, "{%s}", str(x, "role"));
        ok = id > 0 && ctl_account_create(sd->conn, str(x, "username"), password, roles, id, NULL);
        json_object_set_new(sd->staff_ids, str(x, "username"), json_integer(id));
    }
    if (!ok || !pg_command(sd->conn, "COMMIT")) {
        pg_command(sd->conn, "ROLLBACK");
        log_error("seeding department %s failed", str(doc, "code"));
        return false;
    }
    return true;
}

static bool seed_department(struct seed_dept *sd, const char *password)
{
    const json_t *history = json_object_get(sd->doc, "history"), *e;
    size_t i;

    sd->encounters = json_object_get(sd->doc, "encounters");
    if (!seed_reference(sd, password))
        return false;
    if (history && (!seed_earlier_visits(sd, json_object_get(history, "earlier_visits")) ||
                    !seed_weekly(sd, json_object_get(history, "weekly"))))
        return false;
    json_array_foreach (sd->encounters, i, e) {
        if (!seed_encounter(sd, e))
            return false;
    }
    if (!seed_record(sd))
        return false;
    printf("demo department %s seeded: id %lld, %zu beds, %zu staff, %zu encounters\n",
           str(sd->doc, "code"), sd->id, json_array_size(json_object_get(sd->doc, "beds")),
           json_array_size(json_object_get(sd->doc, "staff")), json_array_size(sd->encounters));
    return true;
}

/* The demo accounts of demo staff that have none (no-op for those that do). */
static bool seed_missing_accounts(PGconn *conn, const json_t *depts, const char *password,
                                  const char *admin_secret)
{
    const json_t *d, *s;
    char roles[64];
    size_t i, j;

    json_array_foreach (depts, i, d) {
        json_array_foreach (json_object_get(d, "staff"), j, s) {
            long long id = record_seed_staff_without_account(conn, str(d, "code"), str(s, "name"));
            snprintf(roles, sizeof roles, "{%s}", str(s, "role"));
            if (id > 0 && !ctl_account_create(conn, str(s, "username"), password, roles, id, NULL))
                return false;
        }
    }
    return ctl_account_create(conn, "admin", password, "{admin}", 0, admin_secret);
}

/* Seeds every department of the file; the walls and the admin last. */
static int seed_all(PGconn *conn, const json_t *depts, const char *password,
                    const char *admin_secret)
{
    const json_t *d, *s;
    size_t i, j;
    bool ok = true;

    for (i = 0; ok && i < json_array_size(depts); i++) {
        struct seed_dept sd = {conn, 0, json_array_get(depts, i), json_object(), NULL};
        ok = seed_department(&sd, password);
        json_decref(sd.staff_ids);
    }
    /* Each department's public wall (issue 9 item 11): the masked board only. */
    json_array_foreach (depts, i, d) {
        if (ok && str(d, "wall"))
            ok = ctl_display_account_create(conn, str(d, "wall"), password,
                                            record_seed_department_id(conn, str(d, "code")));
    }
    if (!ok || !ctl_account_create(conn, "admin", password, "{admin}", 0, admin_secret))
        return 1;
    printf("demo accounts, password \"%s\":", password);
    json_array_foreach (depts, i, d) {
        printf(" %s:", str(d, "code"));
        json_array_foreach (json_object_get(d, "staff"), j, s) {
            printf(" %s (%s)", str(s, "username"), str(s, "role"));
        }
        if (str(d, "wall"))
            printf(" %s (display: the public wall, masked)", str(d, "wall"));
        printf(";");
    }
    printf(" admin (TOTP secret %s)\n", admin_secret);
    return 0;
}

int ctl_seed_demo(PGconn *conn, const char *sql_dir, const char *password, const char *admin_secret)
{
    char path[1024];
    json_error_t jerr;
    json_t *doc, *depts;
    long long existing;
    int rc;

    snprintf(path, sizeof path, "%s/%s", sql_dir, DEMO_FILE);
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    depts = json_object_get(doc, "departments");
    if (!json_array_size(depts)) {
        log_error("cannot read the demo data %s: %s (line %d)", path,
                  doc ? "no \"departments\"" : jerr.text, jerr.line);
        json_decref(doc);
        return 1;
    }
    existing = record_seed_department_id(conn, str(json_array_get(depts, 0), "code"));
    if (existing < 0)
        rc = 1;
    else if (existing > 0) {
        printf("demo ED already seeded: department %lld\n", existing);
        /* A deployment seeded before accounts existed gets the demo accounts now. */
        rc = seed_missing_accounts(conn, depts, password, admin_secret) ? 0 : 1;
    } else
        rc = seed_all(conn, depts, password, admin_secret);
    json_decref(doc);
    return rc;
}
