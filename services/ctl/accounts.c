/* SPDX-License-Identifier: MIT */
/* accounts.c: `edlivectl user add|totp|disable|enable` for operators, and the demo accounts.
 * The command line only: the account changes and their audit rows are the record's
 * (record_admin.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

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

/* Reads one line from stdin without its newline; on a terminal, prompted on stderr and not
 * echoed. A password never comes from the command line (ps and shell history show it). */
static bool read_line(const char *prompt, char *buf, size_t cap)
{
    struct termios saved, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    bool ok;

    if (tty) {
        fprintf(stderr, "%s", prompt);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    ok = fgets(buf, (int)cap, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (!ok)
        return false;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] != '\0';
}

/* The password: from stdin, or typed twice on a terminal. */
static bool read_secret_line(char *buf, size_t cap)
{
    char again[256];

    if (!read_line("password: ", buf, cap))
        return false;
    if (!isatty(STDIN_FILENO))
        return true;
    if (!read_line("again: ", again, sizeof again) || strcmp(buf, again)) {
        fprintf(stderr, "edlivectl: the two passwords differ\n");
        return false;
    }
    return true;
}

/* `user list`: one line per account, no secret. */
static int list_accounts(PGconn *conn)
{
    struct ed_error err = {0};
    json_t *rows = record_accounts_list(conn, &err), *row;
    size_t i;

    if (!rows) {
        fprintf(stderr, "edlivectl: %s\n", err.message);
        return 1;
    }
    printf("%-6s %-24s %-28s %-6s %-5s %-9s %s\n", "id", "username", "roles", "staff", "totp",
           "state", "created");
    json_array_foreach (rows, i, row) {
        char roles[128] = "", staff[24] = "-";
        json_t *role;
        size_t r;
        json_array_foreach (json_object_get(row, "roles"), r, role) {
            size_t used = strlen(roles);
            snprintf(roles + used, sizeof roles - used, "%s%s", r ? "," : "",
                     json_string_value(role));
        }
        if (json_is_integer(json_object_get(row, "display_department_id")))
            snprintf(roles + strlen(roles), sizeof roles - strlen(roles), "(dept %lld)",
                     (long long)json_integer_value(json_object_get(row, "display_department_id")));
        if (json_is_integer(json_object_get(row, "staff_id")))
            snprintf(staff, sizeof staff, "%lld",
                     (long long)json_integer_value(json_object_get(row, "staff_id")));
        printf("%-6lld %-24s %-28s %-6s %-5s %-9s %s\n",
               (long long)json_integer_value(json_object_get(row, "id")),
               json_string_value(json_object_get(row, "username")), roles, staff,
               json_is_true(json_object_get(row, "totp")) ? "yes" : "no",
               json_is_true(json_object_get(row, "disabled"))
                   ? "disabled"
                   : (json_is_true(json_object_get(row, "locked")) ? "locked" : "active"),
               json_string_value(json_object_get(row, "created_at")));
    }
    json_decref(rows);
    return 0;
}

void ctl_user_forms(void)
{
    fprintf(stderr, "usage: edlivectl user add <username> <role[,role]> [staff_id] < password\n"
                    "       edlivectl user add <username> display <department_id> < password\n"
                    "       edlivectl user password <username> < password  (ends its sessions)\n"
                    "       edlivectl user totp <username>     (prints the otpauth URI once)\n"
                    "       edlivectl user disable|enable <username>\n"
                    "       edlivectl user list\n"
                    "  (add is also called create; a password is read from standard input, or\n"
                    "  typed twice without echo on a terminal, never from the command line)\n");
}

int ctl_user(PGconn *conn, int argc, char **argv)
{
    char password[256], secret[33];

    if (argc == 1 && !strcmp(argv[0], "list"))
        return list_accounts(conn);
    if (argc == 2 && !strcmp(argv[0], "password")) {
        struct ed_error err = {0};
        if (!read_secret_line(password, sizeof password)) {
            fprintf(stderr, "edlivectl: give the new password on standard input\n");
            return 2;
        }
        if (!record_account_set_password(conn, argv[1], password, &err)) {
            fprintf(stderr, "edlivectl: %s\n", err.message);
            return 1;
        }
        printf("account %s: password reset, its sessions ended\n", argv[1]);
        return 0;
    }
    if ((argc == 3 || argc == 4) && (!strcmp(argv[0], "add") || !strcmp(argv[0], "create"))) {
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
        {
            struct ed_error err = {0};
            bool created;
            char *end;
            long long staff_id = argc > 3 ? strtoll(argv[3], &end, 10) : 0;
            if (argc > 3 && (!*argv[3] || *end || staff_id <= 0)) {
                fprintf(stderr, "edlivectl: staff id must be a positive integer, not %s\n",
                        argv[3]);
                return 2;
            }
            if (!record_account_add(conn, argv[1], password, roles, staff_id,
                                    strstr(argv[2], "admin") ? secret : NULL, &created, &err)) {
                fprintf(stderr, "edlivectl: %s\n", err.message);
                return 1;
            }
            /* Idempotent (scripts run it again); the message says which it was, and an
             * existing account's second factor is not replaced (no secret printed). */
            if (!created) {
                printf("account %s exists: nothing changed\n", argv[1]);
                return 0;
            }
        }
        /* An admin signs in with a second factor: its secret, shown this once. */
        if (strstr(argv[2], "admin"))
            printf("otpauth://totp/edlive:%s?secret=%s&issuer=edlive\n", argv[1], secret);
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
    ctl_user_forms();
    return 2;
}
