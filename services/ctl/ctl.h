/* SPDX-License-Identifier: MIT */
#ifndef EDLIVE_CTL_H
#define EDLIVE_CTL_H

#include <libpq-fe.h>
#include <stdbool.h>

/* Each returns a process exit code. */
int ctl_migrate(PGconn *conn, const char *sql_dir);
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

/* `department set <department-id> <key> <value>` (department.c). */
int ctl_department(PGconn *conn, int argc, char **argv);

/* `staff hl7-id <staff-id> <id|->` (staff.c). */
int ctl_staff(PGconn *conn, int argc, char **argv);

#endif
