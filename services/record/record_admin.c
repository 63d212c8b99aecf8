/* SPDX-License-Identifier: MIT */
/* record_admin.c: changes to accounts and departments, each with its audit row in the same
 * transaction: an admin's through ed-api (who is the admin), an operator's through edlivectl
 * (who == NULL: audited as "system" from "edlivectl"). A function called inside the caller's
 * transaction (edlivectl seed-demo) joins it instead of opening its own. */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "pg.h"

/* BEGIN unless the caller has a transaction open; *own says whether this function does. */
static bool begin(PGconn *conn, bool *own)
{
    *own = PQtransactionStatus(conn) == PQTRANS_IDLE;
    return !*own || record_tx_begin(conn);
}

/* Rolls back what this function began; the caller's transaction is the caller's (a failed
 * statement has already aborted it). Always false. */
static bool undo(PGconn *conn, bool own)
{
    if (own)
        record_tx_rollback(conn);
    return false;
}

static bool unavailable(PGconn *conn, bool own, struct ed_error *err)
{
    undo(conn, own);
    return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
}

/* The change's audit row, then COMMIT when this function began the transaction. */
static bool audit_and_commit(PGconn *conn, bool own, const struct principal *who,
                             const char *action, bool high_severity, const char *detail,
                             struct ed_error *err)
{
    bool place = !strncmp(action, "department", 10) || !strncmp(action, "bed.", 4);

    if (!record_audit(conn, who, who ? NULL : "system", action, 0, 0,
                      place ? "department" : "account", "success", high_severity, detail,
                      who ? who->source_addr : "edlivectl") ||
        (own && !record_tx_commit(conn)))
        return unavailable(conn, own, err);
    return true;
}

/* ---- accounts ---- */

bool record_account_create(PGconn *conn, const struct principal *admin, const char *username,
                           const char *password, const char *role, long long staff_id,
                           long long *account_id, struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO account (username, staff_id, roles, password_hash) "
        "SELECT lower($1), $2, ARRAY[$3]::text[], $4 "
        "WHERE $2::bigint IS NULL OR EXISTS (SELECT 1 FROM staff WHERE id = $2) "
        "ON CONFLICT (username) DO NOTHING RETURNING id";
    char hash[AUTH_HASH_MAX], staffbuf[24], detail[160];
    const char *params[4];
    PGresult *res;
    bool own;

    if (!strcmp(role, "admin"))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "role",
                            "admin accounts are made with edlivectl, which enrols their TOTP");
    if (!auth_password_hash(password, hash, sizeof hash))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    params[0] = username;
    params[1] = staff_id ? pg_int_param(staffbuf, staff_id) : NULL;
    params[2] = role;
    params[3] = hash;
    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 4, params);
    if (!pg_ok(conn, res, "create account")) {
        PQclear(res);
        undo(conn, own);
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "username",
                            "2-64 characters: lower-case letters, digits, '.', '_' or '-'");
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        undo(conn, own);
        return staff_id ? ed_error_set(err, ED_ERR_CONFLICT, "username",
                                       "this username exists, or staff_id is unknown")
                        : ed_error_set(err, ED_ERR_CONFLICT, "username", "this username exists");
    }
    *account_id = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(detail, sizeof detail, "account %lld (%s) created with role %s", *account_id, username,
             role);
    return audit_and_commit(conn, own, admin, "account.create", false, detail, err);
}

bool record_account_add(PGconn *conn, const char *username, const char *password, const char *roles,
                        long long staff_id, const char *totp_secret, bool *created,
                        struct ed_error *err)
{
    static const char sql[] =
        "INSERT INTO account (username, staff_id, roles, password_hash, totp_secret) "
        "VALUES ($1, $2, $3::text[], $4, $5) ON CONFLICT (username) DO NOTHING RETURNING id";
    char hash[AUTH_HASH_MAX], staffbuf[24], detail[200];
    const char *params[5];
    PGresult *res;
    bool own;

    *created = false;
    if (!auth_password_hash(password, hash, sizeof hash))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "password hashing failed");
    params[0] = username;
    params[1] = staff_id ? pg_int_param(staffbuf, staff_id) : NULL;
    params[2] = roles;
    params[3] = hash;
    params[4] = totp_secret;
    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 5, params);
    if (!pg_ok(conn, res, "create account")) {
        ed_error_set(err, ED_ERR_INVALID_VALUE, "username", "%s", PQresultErrorMessage(res));
        PQclear(res);
        return undo(conn, own);
    }
    *created = PQntuples(res) == 1;
    if (*created)
        snprintf(detail, sizeof detail, "account %s (%s) created with roles %s",
                 PQgetvalue(res, 0, 0), username, roles);
    PQclear(res);
    if (!*created) /* it exists: nothing changed, nothing to audit */
        return !own || record_tx_commit(conn) || unavailable(conn, own, err);
    return audit_and_commit(conn, own, NULL, "account.create", totp_secret != NULL, detail, err);
}

bool record_display_account_add(PGconn *conn, const char *username, const char *password,
                                long long department_id, struct ed_error *err)
{
    /* A public wall: no staff member, one department (sql/migrations/0009_display.sql). */
    static const char sql[] =
        "INSERT INTO account (username, roles, display_department_id, password_hash) "
        "SELECT $1, '{display}', d.id, $3 FROM department d WHERE d.id = $2 "
        "ON CONFLICT (username) DO NOTHING RETURNING id";
    char hash[AUTH_HASH_MAX], deptbuf[24], detail[200];
    const char *params[3];
    PGresult *res;
    bool own;

    if (!auth_password_hash(password, hash, sizeof hash))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "password hashing failed");
    params[0] = username;
    params[1] = pg_int_param(deptbuf, department_id);
    params[2] = hash;
    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 3, params);
    if (!pg_ok(conn, res, "create display account")) {
        ed_error_set(err, ED_ERR_INVALID_VALUE, "username", "%s", PQresultErrorMessage(res));
        PQclear(res);
        return undo(conn, own);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        undo(conn, own);
        return ed_error_set(err, ED_ERR_CONFLICT, "username",
                            "no department %lld, or the username %s is taken", department_id,
                            username);
    }
    snprintf(detail, sizeof detail, "display account %s (%s) created for department %lld",
             PQgetvalue(res, 0, 0), username, department_id);
    PQclear(res);
    return audit_and_commit(conn, own, NULL, "account.create", false, detail, err);
}

bool record_account_set_totp(PGconn *conn, const char *username, const char *secret,
                             struct ed_error *err)
{
    static const char sql[] =
        "UPDATE account SET totp_secret = $2, totp_last_step = 0 WHERE username = $1";
    const char *params[2] = {username, secret};
    char detail[120];
    PGresult *res;
    bool own, found;

    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 2, params);
    found = pg_ok(conn, res, "totp") && !strcmp(PQcmdTuples(res), "1");
    PQclear(res);
    if (!found) {
        undo(conn, own);
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no account %s", username);
    }
    snprintf(detail, sizeof detail, "account %s: new second factor", username);
    return audit_and_commit(conn, own, NULL, "account.totp", true, detail, err);
}

/* A new password (the sign-in's counters cleared) ends the account's sessions: whoever held
 * one with the old password must sign in again. */
bool record_account_set_password(PGconn *conn, const char *username, const char *password,
                                 struct ed_error *err)
{
    static const char sql[] =
        "WITH acc AS (UPDATE account SET password_hash = $2, failed_count = 0, locked_until = NULL "
        "WHERE username = $1 RETURNING id), "
        "ended AS (UPDATE session SET revoked_at = now() WHERE revoked_at IS NULL "
        "AND account_id IN (SELECT id FROM acc)) SELECT id FROM acc";
    char hash[AUTH_HASH_MAX], detail[120];
    PGresult *res;
    bool own, found;

    if (!auth_password_hash(password, hash, sizeof hash))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "password hashing failed");
    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 2, (const char *[]){username, hash});
    if (!pg_ok(conn, res, "set password")) {
        PQclear(res);
        return unavailable(conn, own, err);
    }
    found = PQntuples(res) == 1;
    if (found)
        snprintf(detail, sizeof detail, "account %s (%s): password reset, sessions ended",
                 PQgetvalue(res, 0, 0), username);
    PQclear(res);
    if (!found) {
        undo(conn, own);
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no account %s", username);
    }
    return audit_and_commit(conn, own, NULL, "account.password", true, detail, err);
}

json_t *record_accounts_list(PGconn *conn, struct ed_error *err)
{
    /* What an operator needs to manage accounts; never a password hash or a TOTP secret. */
    static const char sql[] =
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'username', a.username, "
        "'roles', a.roles, 'staff_id', a.staff_id, 'display_department_id', "
        "a.display_department_id, 'totp', a.totp_secret IS NOT NULL, 'disabled', a.disabled, "
        "'locked', coalesce(a.locked_until > now(), false), 'created_at', utc_text(a.created_at)) "
        "ORDER BY a.username), '[]'::jsonb)::text FROM account a";
    PGresult *res;
    json_t *rows = NULL;
    bool own;

    if (!begin(conn, &own)) {
        unavailable(conn, own, err);
        return NULL;
    }
    res = pg_query(conn, sql, 0, NULL);
    if (pg_ok(conn, res, "list accounts"))
        rows = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!rows ||
        !audit_and_commit(conn, own, NULL, "account.list", false, "accounts listed", err)) {
        json_decref(rows);
        if (!rows)
            unavailable(conn, own, err);
        return NULL;
    }
    return rows;
}

bool record_staff_set_hl7_id(PGconn *conn, long long staff_id, const char *hl7_id,
                             struct ed_error *err)
{
    static const char sql[] = "UPDATE staff SET hl7_id = $2 WHERE id = $1";
    char idbuf[24], detail[160];
    const char *params[] = {pg_int_param(idbuf, staff_id), hl7_id};
    PGresult *res;
    bool own, found;

    if (hl7_id && (!*hl7_id || strlen(hl7_id) > 64 || strpbrk(hl7_id, "|^~\\&\r\n")))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "hl7_id",
                            "1-64 characters, none of the HL7 delimiters |^~\\&");
    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 2, params);
    if (!pg_ok(conn, res, "staff hl7_id")) {
        /* The unique index: one staff member per HL7 id. */
        bool taken = !strcmp(pg_sqlstate(res), "23505"); /* unique_violation */
        PQclear(res);
        if (!taken)
            return unavailable(conn, own, err);
        undo(conn, own);
        return ed_error_set(err, ED_ERR_CONFLICT, "hl7_id", "another staff member has this HL7 id");
    }
    found = !strcmp(PQcmdTuples(res), "1");
    PQclear(res);
    if (!found) {
        undo(conn, own);
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no staff member %lld", staff_id);
    }
    snprintf(detail, sizeof detail, "staff %lld: hl7_id = %s", staff_id,
             hl7_id ? hl7_id : "(none)");
    return audit_and_commit(conn, own, NULL, "staff.hl7_id", false, detail, err);
}

/* Disabling ends the account's sessions for good: enabling it again does not revive them.
 * The account by id, or by username when id is 0. */
static bool set_disabled(PGconn *conn, const struct principal *who, long long account_id,
                         const char *username, bool disabled, struct ed_error *err)
{
    static const char sql[] =
        "WITH acc AS (UPDATE account SET disabled = $2::boolean WHERE "
        "($1::bigint IS NOT NULL AND id = $1) OR ($1::bigint IS NULL AND username = $3) "
        "RETURNING id), "
        "ended AS (UPDATE session SET revoked_at = now() WHERE $2::boolean AND revoked_at IS NULL "
        "AND account_id IN (SELECT id FROM acc)) SELECT id FROM acc";
    char idbuf[24], detail[120];
    const char *params[] = {account_id ? pg_int_param(idbuf, account_id) : NULL,
                            disabled ? "true" : "false", username};
    PGresult *res;
    bool own, found;

    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 3, params);
    found = pg_ok(conn, res, "disable account") && PQntuples(res) == 1;
    if (found)
        snprintf(detail, sizeof detail, "account %s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found) {
        undo(conn, own);
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such account");
    }
    return audit_and_commit(conn, own, who, disabled ? "account.disable" : "account.enable", true,
                            detail, err);
}

bool record_account_set_disabled(PGconn *conn, const struct principal *admin, long long account_id,
                                 bool disabled, struct ed_error *err)
{
    return set_disabled(conn, admin, account_id, NULL, disabled, err);
}

bool record_account_set_disabled_by_name(PGconn *conn, const char *username, bool disabled,
                                         struct ed_error *err)
{
    return set_disabled(conn, NULL, 0, username, disabled, err);
}

/* ---- department settings (edlivectl department set) ---- */

static bool valid_window(PGconn *conn, const char *value)
{
    char *end;
    long v = strtol(value, &end, 10);

    (void)conn;
    return *value && !*end && v >= 15 && v <= 1440;
}

static bool valid_early_warning(PGconn *conn, const char *value)
{
    (void)conn;
    return !strcmp(value, "auto") || !strcmp(value, "news2") || !strcmp(value, "pews");
}

static bool valid_bool(PGconn *conn, const char *value)
{
    (void)conn;
    return !strcmp(value, "true") || !strcmp(value, "false");
}

/* An IANA zone PostgreSQL knows (the one that converts the department's local day). */
static bool valid_time_zone(PGconn *conn, const char *value)
{
    PGresult *res = pg_query(conn, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1,
                             (const char *[]){value});
    bool ok = pg_ok(conn, res, "time zones") && PQntuples(res) == 1;

    PQclear(res);
    return ok;
}

/* Each key is a column of `department` added by the migration of the feature that reads it. */
static const struct record_department_setting department_settings[] = {
    {"ews_window_min", NULL, "int", "minutes, 15 to 1440"},
    {"early_warning", NULL, "text", "auto, news2 or pews"},
    {"timezone", NULL, "text", "an IANA time zone such as Europe/London"},
    /* The spelling of the same setting (the column was named timezone earlier). */
    {"time_zone", "timezone", "text", "an IANA time zone (another name for timezone)"},
    {"wall_shows_flags", NULL, "boolean", "true or false"},
};

static bool (*const department_valid[])(PGconn *, const char *) = {
    valid_window, valid_early_warning, valid_time_zone, valid_time_zone, valid_bool,
};

const struct record_department_setting *record_department_settings(size_t *n)
{
    *n = sizeof department_settings / sizeof department_settings[0];
    return department_settings;
}

/* True when department has the column (its migration has run). */
static bool has_column(PGconn *conn, const char *column, bool *exists)
{
    PGresult *res = pg_query(conn,
                             "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                             "current_schema() AND table_name = 'department' AND column_name = $1",
                             1, (const char *[]){column});
    bool ok = pg_ok(conn, res, "department columns");

    *exists = ok && PQntuples(res) == 1;
    PQclear(res);
    return ok;
}

bool record_department_set(PGconn *conn, long long department_id, const char *key,
                           const char *value, char *detail, size_t detail_cap, struct ed_error *err)
{
    const struct record_department_setting *s = NULL;
    char sql[256], idbuf[24];
    const char *column;
    PGresult *res;
    bool exists, own, found;
    size_t i;

    for (i = 0; i < sizeof department_settings / sizeof department_settings[0]; i++)
        if (!strcmp(key, department_settings[i].key)) {
            s = &department_settings[i];
            break;
        }
    if (!s)
        return ed_error_set(err, ED_ERR_INVALID_PARAMETER, "key", "unknown department setting %s",
                            key);
    column = s->column ? s->column : s->key;
    if (!has_column(conn, column, &exists))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    if (!exists)
        return ed_error_set(err, ED_ERR_CONFLICT, "key",
                            "department setting %s is not available in this database yet (no "
                            "column department.%s: run `edlivectl migrate` with the release "
                            "that adds it)",
                            s->key, column);
    if (!department_valid[i](conn, value))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "value",
                            "invalid value for %s: %s (expected %s)", s->key, value, s->help);
    /* The column name comes from the table above, never from the caller's text. */
    snprintf(sql, sizeof sql, "UPDATE department SET %s = $2::%s WHERE id = $1", column, s->cast);
    snprintf(detail, detail_cap, "department %lld: %s = %s", department_id, column, value);
    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    res = pg_query(conn, sql, 2, (const char *[]){pg_int_param(idbuf, department_id), value});
    if (!pg_ok(conn, res, "department set")) {
        PQclear(res);
        return unavailable(conn, own, err);
    }
    found = !strcmp(PQcmdTuples(res), "1");
    PQclear(res);
    if (!found) {
        undo(conn, own);
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no department %lld", department_id);
    }
    return audit_and_commit(conn, own, NULL, "department.set", false, detail, err);
}

/* ---- departments and beds (edlivectl department|bed create, rename, retire) ---- */

/* One change of a department or a bed, in its own transaction: sql returns one row
 * (department id, the row's id, why it is refused or NULL, the board's timeline summary or NULL),
 * after lock_sql (when given, with params[0]) has locked the row, so that sql's snapshot sees
 * every write that held the row before;
 * with a summary the department's boards get a department.layout event (they read a fresh
 * snapshot); then the audit row, and COMMIT. */
static bool place_change(PGconn *conn, const char *lock_sql, const char *sql, int n,
                         const char *const *params, const char *unique_field,
                         const char *unique_msg, const char *not_found, const char *action,
                         const char *noun, const char *done, long long *id, struct ed_error *err)
{
    static const char event_sql[] =
        "SELECT append_department_event($1, 'department.layout', "
        "jsonb_build_object('layout', jsonb_build_object('summary', $2::text)))";
    char deptbuf[24], detail[200];
    PGresult *res;
    bool own;

    if (!begin(conn, &own))
        return unavailable(conn, own, err);
    if (lock_sql) {
        res = pg_query(conn, lock_sql, 1, params);
        if (!pg_ok(conn, res, action)) {
            PQclear(res);
            return unavailable(conn, own, err);
        }
        PQclear(res);
    }
    res = pg_query(conn, sql, n, params);
    if (!pg_ok(conn, res, action)) {
        const char *state = pg_sqlstate(res);
        bool unique = !strcmp(state, "23505"), check = !strcmp(state, "23514");
        PQclear(res);
        if (!unique && !check)
            return unavailable(conn, own, err);
        undo(conn, own);
        return unique ? ed_error_set(err, ED_ERR_CONFLICT, unique_field, "%s", unique_msg)
                      : ed_error_set(err, ED_ERR_INVALID_VALUE, NULL, "a value is out of range");
    }
    if (PQntuples(res) != 1 || !PQgetisnull(res, 0, 2)) {
        bool refused = PQntuples(res) == 1;
        if (refused)
            ed_error_set(err, ED_ERR_CONFLICT, NULL, "%s", PQgetvalue(res, 0, 2));
        else
            ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "%s", not_found);
        PQclear(res);
        return undo(conn, own);
    }
    *id = atoll(PQgetvalue(res, 0, 1));
    snprintf(deptbuf, sizeof deptbuf, "%s", PQgetvalue(res, 0, 0));
    snprintf(detail, sizeof detail, "%s %lld %s", noun, *id, done);
    if (!PQgetisnull(res, 0, 3)) {
        const char *event_params[] = {deptbuf, PQgetvalue(res, 0, 3)};
        PGresult *ev = pg_query(conn, event_sql, 2, event_params);
        bool ok = pg_ok(conn, ev, "layout event");
        PQclear(ev);
        if (!ok) {
            PQclear(res);
            return unavailable(conn, own, err);
        }
    }
    PQclear(res);
    return audit_and_commit(conn, own, NULL, action, false, detail, err);
}

static bool valid_text(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool valid_code(const char *code)
{
    size_t n = strlen(code);

    if (n < 1 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9') ||
              code[i] == '_'))
            return false;
    return true;
}

bool record_department_create(PGconn *conn, const char *code, const char *name, long long *id,
                              struct ed_error *err)
{
    /* department_seq_init (90_triggers.sql) gives it its event log; nothing shows it yet. */
    static const char sql[] = "INSERT INTO department (code, name) VALUES ($1, $2) "
                              "RETURNING id, id, NULL::text, NULL::text";

    if (!valid_code(code))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "code",
                            "department code: 1-16 of A-Z, 0-9 and _, not %s", code);
    if (!valid_text(name, 200))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "name",
                            "department name: 1-200 characters, no control characters");
    return place_change(conn, NULL, sql, 2, (const char *[]){code, name}, "code",
                        "a department with this code exists", "", "department.create", "department",
                        "created", id, err);
}

bool record_department_rename(PGconn *conn, long long department_id, const char *name,
                              struct ed_error *err)
{
    static const char sql[] =
        "WITH d AS (SELECT id, name, retired_at FROM department WHERE id = $1 FOR UPDATE), "
        "u AS (UPDATE department SET name = $2 WHERE id = (SELECT id FROM d WHERE retired_at IS "
        "NULL) RETURNING id) "
        "SELECT id, id, CASE WHEN retired_at IS NOT NULL THEN 'department ' || id || "
        "' is retired' END, 'Department renamed ' || $2 FROM d";
    char idbuf[24];
    long long id;

    if (!valid_text(name, 200))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "name",
                            "department name: 1-200 characters, no control characters");
    return place_change(
        conn, NULL, sql, 2, (const char *[]){pg_int_param(idbuf, department_id), name}, "name", "",
        "no such department", "department.rename", "department", "renamed", &id, err);
}

bool record_department_retire(PGconn *conn, long long department_id, struct ed_error *err)
{
    /* The department's event-log row: every write of the department holds it from its event to
     * its commit, so the count, a statement later, sees a patient registered meanwhile; an
     * arrival that appends after this commits sees the retirement (append_event refuses it). */
    static const char lock_sql[] =
        "SELECT 1 FROM department_seq WHERE department_id = $1 FOR UPDATE";
    static const char sql[] =
        "WITH d AS (SELECT id, retired_at, (SELECT count(*) FROM encounter e WHERE "
        "e.department_id = department.id AND NOT is_ended_status(e.status)) AS active "
        "FROM department WHERE id = $1), "
        "u AS (UPDATE department SET retired_at = now() WHERE id = (SELECT id FROM d WHERE "
        "retired_at IS NULL AND active = 0) RETURNING id) "
        "SELECT id, id, CASE WHEN retired_at IS NOT NULL THEN 'department ' || id || "
        "' is retired already' WHEN active > 0 THEN 'department ' || id || ' has ' || active || "
        "' patients on its board: discharge or move them first' END, 'Department retired' FROM d";
    char idbuf[24];
    long long id;

    return place_change(
        conn, lock_sql, sql, 1, (const char *[]){pg_int_param(idbuf, department_id)}, NULL, "",
        "no such department", "department.retire", "department", "retired", &id, err);
}

static bool valid_area(const char *area)
{
    static const char *const areas[] = {"resus", "acute", "fast_track", "hallway", "waiting_room"};

    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++)
        if (!strcmp(area, areas[i]))
            return true;
    return false;
}

bool record_bed_create(PGconn *conn, long long department_id, const char *label, const char *area,
                       long long *id, struct ed_error *err)
{
    /* Last in its area on the board (sort order). */
    static const char sql[] =
        "INSERT INTO bed (department_id, label, area, sort_order) "
        "SELECT d.id, $2, $3, (SELECT coalesce(max(b.sort_order), 0) + 1 FROM bed b "
        "WHERE b.department_id = d.id AND b.area = $3) "
        "FROM department d WHERE d.id = $1 AND d.retired_at IS NULL "
        "RETURNING department_id, id, NULL::text, 'Bed ' || label || ' added'";
    char idbuf[24];

    if (!valid_text(label, 32))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "label",
                            "bed label: 1-32 characters, no control characters");
    if (!valid_area(area))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "area",
                            "bed area: resus, acute, fast_track, hallway or waiting_room, not %s",
                            area);
    return place_change(
        conn, NULL, sql, 3, (const char *[]){pg_int_param(idbuf, department_id), label, area},
        "label", "the department has a current bed with this label",
        "no such department, or it is retired", "bed.create", "bed", "created", id, err);
}

bool record_bed_rename(PGconn *conn, long long bed_id, const char *label, struct ed_error *err)
{
    static const char sql[] =
        "WITH b AS (SELECT id, department_id, label, retired_at FROM bed WHERE id = $1 FOR "
        "UPDATE), "
        "u AS (UPDATE bed SET label = $2 WHERE id = (SELECT id FROM b WHERE retired_at IS NULL) "
        "RETURNING id) "
        "SELECT department_id, id, CASE WHEN retired_at IS NOT NULL THEN 'bed ' || id || "
        "' is retired' END, 'Bed ' || label || ' renamed ' || $2 FROM b";
    char idbuf[24];
    long long id;

    if (!valid_text(label, 32))
        return ed_error_set(err, ED_ERR_INVALID_VALUE, "label",
                            "bed label: 1-32 characters, no control characters");
    return place_change(conn, NULL, sql, 2, (const char *[]){pg_int_param(idbuf, bed_id), label},
                        "label", "the department has a current bed with this label", "no such bed",
                        "bed.rename", "bed", "renamed", &id, err);
}

bool record_bed_retire(PGconn *conn, long long bed_id, struct ed_error *err)
{
    /* The lock: a move into the bed (record_bed locks it too) is either seen by the next
     * statement or waits and then finds the bed retired (trigger encounter_refuse_retired). */
    static const char lock_sql[] = "SELECT 1 FROM bed WHERE id = $1 FOR UPDATE";
    static const char sql[] =
        "WITH b AS (SELECT id, department_id, label, retired_at, EXISTS (SELECT 1 FROM encounter "
        "e WHERE e.bed_id = bed.id AND NOT is_ended_status(e.status)) AS occupied FROM bed "
        "WHERE id = $1), "
        "u AS (UPDATE bed SET retired_at = now(), cleaning_since = NULL WHERE id = (SELECT id "
        "FROM b WHERE retired_at IS NULL AND NOT occupied) RETURNING id) "
        "SELECT department_id, id, CASE WHEN retired_at IS NOT NULL THEN 'bed ' || id || "
        "' is retired already' WHEN occupied THEN 'a patient is in bed ' || id || "
        "': move the patient first' END, 'Bed ' || label || ' retired' FROM b";
    char idbuf[24];
    long long id;

    return place_change(conn, lock_sql, sql, 1, (const char *[]){pg_int_param(idbuf, bed_id)}, NULL,
                        "", "no such bed", "bed.retire", "bed", "retired", &id, err);
}

json_t *record_places_list(PGconn *conn, long long department_id, struct ed_error *err)
{
    /* department_id 0: the departments; else that department's beds, retired ones too. */
    static const char departments_sql[] =
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'code', d.code, 'name', "
        "d.name, 'retired_at', utc_text(d.retired_at), 'beds', (SELECT count(*) FROM bed b "
        "WHERE b.department_id = d.id AND b.retired_at IS NULL)) ORDER BY d.id), "
        "'[]'::jsonb)::text FROM department d WHERE $1::bigint IS NOT NULL";
    static const char beds_sql[] =
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', b.id, 'label', b.label, 'area', "
        "b.area, 'retired_at', utc_text(b.retired_at)) ORDER BY b.retired_at IS NOT NULL, "
        "area_rank(b.area), b.sort_order, b.label), '[]'::jsonb)::text FROM bed b "
        "WHERE b.department_id = $1";
    char idbuf[24];
    const char *params[] = {pg_int_param(idbuf, department_id)};
    PGresult *res = pg_query(conn, department_id ? beds_sql : departments_sql, 1, params);
    json_t *rows = NULL;

    if (pg_ok(conn, res, "list places"))
        rows = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!rows)
        ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "cannot read the departments");
    return rows;
}
