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
    if (!record_audit(conn, who, who ? NULL : "system", action, 0, 0,
                      strncmp(action, "department", 10) ? "account" : "department", "success",
                      high_severity, detail, who ? who->source_addr : "edlivectl") ||
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
