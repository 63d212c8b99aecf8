/* SPDX-License-Identifier: MIT */
#ifndef EDLIVE_CTL_H
#define EDLIVE_CTL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* edlivectl's settings (main.c's table), for the commands that read more than EDLIVE_PG. */
enum ctl_setting {
    CTL_PG,
    CTL_SQL_DIR,
    CTL_DEMO_PASSWORD,
    CTL_DEMO_ADMIN_TOTP,
    CTL_PG_APP,
    CTL_REDIS,
    CTL_TLS_CERT,
    CTL_SETTING_COUNT
};
extern struct config ctl_config;

/* Each returns a process exit code. */
int ctl_migrate(PGconn *conn, const char *sql_dir);
/* `migrate status`: one line per migration; 0 current, 3 some pending, 1 cannot tell. */
int ctl_migrate_status(PGconn *conn, const char *sql_dir);
/* How many of sql_dir's migrations the database lacks (lines printed when verbose). */
bool ctl_migrations_pending(PGconn *conn, const char *sql_dir, bool verbose, size_t *pending,
                            size_t *available);
/* The demo ED from sql_dir/demo/demo-ed.json (seed.c); its accounts get password, the demo
 * admin the TOTP secret admin_secret. */
int ctl_seed_demo(PGconn *conn, const char *sql_dir, const char *password,
                  const char *admin_secret);
int ctl_audit_verify(PGconn *conn);
/* user add|totp|disable|enable ...; argv starts after "user". */
int ctl_user(PGconn *conn, int argc, char **argv);

/* Creates an account (no-op when the username exists). roles: "{physician}". */
bool ctl_account_create(PGconn *conn, const char *username, const char *password, const char *roles,
                        long long staff_id, const char *totp_secret);
/* A display account (the public wall of department_id); false with a message on error. */
bool ctl_display_account_create(PGconn *conn, const char *username, const char *password,
                                long long department_id);

/* `department list|create|rename|retire|set ...` and `bed list|create|rename|retire ...`
 * (department.c). */
int ctl_department(PGconn *conn, int argc, char **argv);
int ctl_bed(PGconn *conn, int argc, char **argv);
/* The forms of `user`, `department` and `bed`, on stderr (also part of --help). */
void ctl_user_forms(void);
void ctl_department_forms(void);
void ctl_bed_forms(void);

/* `backup <file>`, `restore <file> [--force]` (backup.c) and `doctor [cert ...]` (doctor.c):
 * conn is NULL, they connect themselves. */
int ctl_backup(PGconn *conn, int argc, char **argv);
int ctl_restore(PGconn *conn, int argc, char **argv);
int ctl_doctor(PGconn *conn, int argc, char **argv);

/* `staff hl7-id <staff-id> <id|->` (staff.c). */
int ctl_staff(PGconn *conn, int argc, char **argv);

#endif
