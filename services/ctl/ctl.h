/* SPDX-License-Identifier: MIT */
#ifndef EDLIVE_CTL_H
#define EDLIVE_CTL_H

#include <libpq-fe.h>

/* Each returns a process exit code. */
int ctl_migrate(PGconn *conn, const char *sql_dir);
int ctl_seed_demo(PGconn *conn);

#endif
