/* SPDX-License-Identifier: MIT */
/* accounts.c: `edlivectl user add|totp|disable` for operators, and the demo accounts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "ctl.h"
#include "log.h"
#include "pg.h"

/* 20 random bytes as base32 (RFC 4648, no padding): 32 characters. */
static bool new_totp_secret(char out[33])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char raw[20];

    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return false;
    for (int i = 0; i < 32; i++) {
        int bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)raw[byte] << 8 | (byte + 1 < 20 ? raw[byte + 1] : 0u));
        out[i] = alphabet[(v >> (11 - shift)) & 31];
    }
    out[32] = '\0';
    return true;
}

bool ctl_account_create(PGconn *conn, const char *username, const char *password, const char *roles,
                        long long staff_id, const char *totp_secret)
{
    static const char sql[] =
        "INSERT INTO account (username, staff_id, roles, password_hash, totp_secret) "
        "VALUES ($1, $2, $3::text[], $4, $5) ON CONFLICT (username) DO NOTHING";
    char hash[AUTH_HASH_MAX], staffbuf[24];
    const char *params[5];
    PGresult *res;
    bool ok;

    if (!auth_password_hash(password, hash, sizeof hash)) {
        log_error("password hashing failed");
        return false;
    }
    params[0] = username;
    params[1] = staff_id ? pg_int_param(staffbuf, staff_id) : NULL;
    params[2] = roles;
    params[3] = hash;
    params[4] = totp_secret;
    res = pg_query(conn, sql, 5, params);
    ok = pg_ok(conn, res, "create account");
    if (!ok)
        fprintf(stderr, "edlivectl: %s", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

bool ctl_display_account_create(PGconn *conn, const char *username, const char *password,
                                long long department_id)
{
    /* A public wall: no staff member, one department (sql/migrations/0009_display.sql). */
    static const char sql[] =
        "INSERT INTO account (username, roles, display_department_id, password_hash) "
        "SELECT $1, '{display}', d.id, $3 FROM department d WHERE d.id = $2 "
        "ON CONFLICT (username) DO NOTHING RETURNING id";
    char hash[AUTH_HASH_MAX], deptbuf[24];
    const char *params[3];
    PGresult *res;
    bool ok;

    if (!auth_password_hash(password, hash, sizeof hash)) {
        log_error("password hashing failed");
        return false;
    }
    params[0] = username;
    params[1] = pg_int_param(deptbuf, department_id);
    params[2] = hash;
    res = pg_query(conn, sql, 3, params);
    ok = pg_ok(conn, res, "create display account");
    if (!ok)
        fprintf(stderr, "edlivectl: %s", PQresultErrorMessage(res));
    else if (PQntuples(res) != 1) {
        fprintf(stderr, "edlivectl: no department %lld, or the username %s is taken\n",
                department_id, username);
        ok = false;
    }
    PQclear(res);
    return ok;
}

/* Reads one line (a password) from stdin without its newline. */
static bool read_secret_line(char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, stdin))
        return false;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] != '\0';
}

int ctl_user(PGconn *conn, int argc, char **argv)
{
    char password[256], secret[33];

    if ((argc == 3 || argc == 4) && !strcmp(argv[0], "add")) {
        /* user add <username> <roles,comma> [staff_id]  (password on stdin) */
        char roles[128];
        if (!read_secret_line(password, sizeof password)) {
            fprintf(stderr, "edlivectl: give the password on standard input\n");
            return 2;
        }
        if (!strcmp(argv[2], "display")) {
            /* user add <username> display <department_id>: a public wall */
            if (argc != 4 || atoll(argv[3]) <= 0) {
                fprintf(stderr, "edlivectl: a display account needs its department id: "
                                "user add <username> display <department_id>\n");
                return 2;
            }
            if (!ctl_display_account_create(conn, argv[1], password, atoll(argv[3])))
                return 1;
            printf("display account %s created for department %s\n", argv[1], argv[3]);
            return 0;
        }
        snprintf(roles, sizeof roles, "{%s}", argv[2]);
        if (strstr(argv[2], "admin") && !new_totp_secret(secret))
            return 1;
        if (!ctl_account_create(conn, argv[1], password, roles, argc > 3 ? atoll(argv[3]) : 0,
                                strstr(argv[2], "admin") ? secret : NULL))
            return 1;
        if (strstr(argv[2], "admin"))
            printf("TOTP secret (enter it in an authenticator app): %s\n", secret);
        printf("account %s created\n", argv[1]);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[0], "totp")) {
        const char *params[2] = {argv[1], secret};
        PGresult *res;
        if (!new_totp_secret(secret))
            return 1;
        res = pg_query(
            conn, "UPDATE account SET totp_secret = $2, totp_last_step = 0 WHERE username = $1", 2,
            params);
        if (!pg_ok(conn, res, "totp") || strcmp(PQcmdTuples(res), "1") != 0) {
            PQclear(res);
            fprintf(stderr, "edlivectl: no account %s\n", argv[1]);
            return 1;
        }
        PQclear(res);
        printf("otpauth://totp/edlive:%s?secret=%s&issuer=edlive\n", argv[1], secret);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[0], "disable") || !strcmp(argv[0], "enable"))) {
        const char *params[2] = {argv[1], !strcmp(argv[0], "disable") ? "true" : "false"};
        /* Disabling also ends the account's sessions, for good. */
        PGresult *res = pg_query(
            conn,
            "WITH acc AS (UPDATE account SET disabled = $2::boolean WHERE username = $1 "
            "RETURNING id), ended AS (UPDATE session SET revoked_at = now() WHERE $2::boolean "
            "AND revoked_at IS NULL AND account_id IN (SELECT id FROM acc)) "
            "SELECT count(*) FROM acc",
            2, params);
        bool ok = pg_ok(conn, res, "disable") && PQntuples(res) == 1 &&
                  !strcmp(PQgetvalue(res, 0, 0), "1");
        PQclear(res);
        if (ok) {
            res = pg_query(conn,
                           "INSERT INTO audit_log (username, action, category, outcome, detail, "
                           "source_addr) VALUES ('system', 'account.' || $2, 'account', "
                           "'success', $1, 'edlivectl')",
                           2, (const char *[]){argv[1], argv[0]});
            ok = pg_ok(conn, res, "audit account change");
            PQclear(res);
        }
        printf("%s\n", ok ? "done" : "no such account");
        return ok ? 0 : 1;
    }
    fprintf(stderr, "usage: edlivectl user add <username> <role[,role]> [staff_id] < password\n"
                    "       edlivectl user add <username> display <department_id> < password\n"
                    "       edlivectl user totp <username>\n"
                    "       edlivectl user disable|enable <username>\n");
    return 2;
}
