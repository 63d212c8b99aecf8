/* SPDX-License-Identifier: MIT */
/* staff.c: `edlivectl staff hl7-id <staff-id> <id|->`, the id a registration system uses for a
 * staff member (PV1-7 attending, OBX-16), read by ed-mllp (proto/hl7/ADT_MAPPING.md §3.4). The
 * command line only: the check and the audited change are the record's
 * (record_staff_set_hl7_id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "record.h"

static int usage(void)
{
    fprintf(stderr, "usage: edlivectl staff hl7-id <staff-id> <id>   (\"-\" removes it)\n");
    return 2;
}

int ctl_staff(PGconn *conn, int argc, char **argv)
{
    struct ed_error err = {0};
    const char *id;
    char *end;
    long long staff_id;

    if (argc != 3 || strcmp(argv[0], "hl7-id"))
        return usage();
    staff_id = strtoll(argv[1], &end, 10);
    if (!*argv[1] || *end || staff_id <= 0) {
        fprintf(stderr, "edlivectl: staff id must be a positive integer, not %s\n", argv[1]);
        return 2;
    }
    id = strcmp(argv[2], "-") ? argv[2] : NULL;
    if (!record_staff_set_hl7_id(conn, staff_id, id, &err)) {
        fprintf(stderr, "edlivectl: %s\n", err.message);
        return err.status == 422 ? 2 : 1;
    }
    printf("staff %lld: hl7_id = %s\n", staff_id, id ? id : "(none)");
    return 0;
}
