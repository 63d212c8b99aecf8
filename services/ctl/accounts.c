/* SPDX-License-Identifier: MIT */
/* accounts.c: `edlivectl user add|totp|disable|enable` for operators, and the demo accounts.
 * The command line only: the account changes and their audit rows are the record's
 * (record_admin.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctl.h"
#include "record.h"

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
    struct ed_error err = {0};
    bool created;

    if (record_account_add(conn, username, password, roles, staff_id, totp_secret, &created, &err))
        return true;
    fprintf(stderr, "edlivectl: %s\n", err.message);
    return false;
}

bool ctl_display_account_create(PGconn *conn, const char *username, const char *password,
                                long long department_id)
{
    struct ed_error err = {0};

    if (record_display_account_add(conn, username, password, department_id, &err))
        return true;
    fprintf(stderr, "edlivectl: %s\n", err.message);
    return false;
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
        struct ed_error err = {0};
        if (!new_totp_secret(secret))
            return 1;
        if (!record_account_set_totp(conn, argv[1], secret, &err)) {
            fprintf(stderr, "edlivectl: %s\n", err.message);
            return 1;
        }
        printf("otpauth://totp/edlive:%s?secret=%s&issuer=edlive\n", argv[1], secret);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[0], "disable") || !strcmp(argv[0], "enable"))) {
        struct ed_error err = {0};
        /* Disabling also ends the account's sessions, for good. */
        bool ok =
            record_account_set_disabled_by_name(conn, argv[1], !strcmp(argv[0], "disable"), &err);
        printf("%s\n", ok ? "done" : "no such account");
        return ok ? 0 : 1;
    }
    fprintf(stderr, "usage: edlivectl user add <username> <role[,role]> [staff_id] < password\n"
                    "       edlivectl user add <username> display <department_id> < password\n"
                    "       edlivectl user totp <username>\n"
                    "       edlivectl user disable|enable <username>\n");
    return 2;
}
