/* SPDX-License-Identifier: MIT */
/* edlivectl: operator commands. `migrate` applies the pending sql/migrations/NNNN_*.sql in
 * order, then re-applies every sql/functions file, all in one transaction (migrate.c);
 * `seed-demo` creates the demo ED through the same write path the API uses. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "pg.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: edlivectl migrate | seed-demo | audit verify | user ... | department set ...\n"
            "  EDLIVE_PG      libpq connection string (default dbname=edlive)\n"
            "  EDLIVE_SQL_DIR folder with migrations/ and functions/ (default: the source tree's "
            "sql/)\n");
    return 2;
}

int main(int argc, char **argv)
{
    PGconn *conn;
    int rc;

    log_init("edlivectl");
    if (argc < 2)
        return usage();
    conn = pg_connect(config_str("EDLIVE_PG", "dbname=edlive"), 10);
    if (!conn)
        return 1;
    if (!strcmp(argv[1], "migrate"))
        rc = ctl_migrate(conn, config_str("EDLIVE_SQL_DIR", EDLIVE_DEFAULT_SQL_DIR));
    else if (!strcmp(argv[1], "seed-demo"))
        rc = ctl_seed_demo(conn, config_str("EDLIVE_SQL_DIR", EDLIVE_DEFAULT_SQL_DIR));
    else if (!strcmp(argv[1], "audit") && argc == 3 && !strcmp(argv[2], "verify"))
        rc = ctl_audit_verify(conn);
    else if (!strcmp(argv[1], "user"))
        rc = ctl_user(conn, argc - 2, argv + 2);
    else if (!strcmp(argv[1], "department"))
        rc = ctl_department(conn, argc - 2, argv + 2);
    else
        rc = usage();
    PQfinish(conn);
    return rc;
}
