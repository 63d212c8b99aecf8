/* SPDX-License-Identifier: MIT */
/* department.c: `edlivectl department set <department-id> <key> <value>`, the per-department
 * settings of issue 9 (services/ctl/README.md). The command line only: the settings table,
 * the checks and the audited change are the record's (record_department_set). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "record.h"

static int usage(void)
{
    size_t n;
    const struct record_department_setting *s = record_department_settings(&n);

    fprintf(stderr, "usage: edlivectl department set <department-id> <key> <value>\n"
                    "keys:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %-17s %s\n", s[i].key, s[i].help);
    return 2;
}

int ctl_department(PGconn *conn, int argc, char **argv)
{
    struct ed_error err = {0};
    char detail[160];
    char *end;
    long long id;

    if (argc != 4 || strcmp(argv[0], "set"))
        return usage();
    id = strtoll(argv[1], &end, 10);
    if (!*argv[1] || *end || id <= 0) {
        fprintf(stderr, "edlivectl: department id must be a positive integer, not %s\n", argv[1]);
        return 2;
    }
    if (!record_department_set(conn, id, argv[2], argv[3], detail, sizeof detail, &err)) {
        fprintf(stderr, "edlivectl: %s\n", err.message);
        if (err.status == 400)
            return usage();
        return err.status == 422 ? 2 : 1;
    }
    printf("%s\n", detail);
    return 0;
}
