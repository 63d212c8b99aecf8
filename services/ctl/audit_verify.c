/* SPDX-License-Identifier: MIT */
/* audit_verify.c: `edlivectl audit verify`: the record walks the hash-chained audit log
 * (record_audit_verify, services/record/record_audit.c); this prints the verdict naming the
 * first row whose hash or link does not hold. Exit 0 intact, 3 broken, 1 database error. */
#include <stdio.h>

#include "ctl.h"
#include "record.h"

int ctl_audit_verify(PGconn *conn)
{
    struct record_audit_check check;

    switch (record_audit_verify(conn, &check)) {
    case AUDIT_INTACT:
        printf("audit verify: OK, %lld rows, chain intact\n", check.rows);
        return 0;
    case AUDIT_BROKEN:
        printf("audit verify: FAILED at row %lld: %s\n", check.failed_at, check.why);
        return 3;
    case AUDIT_DB_ERROR:
        break;
    }
    fprintf(stderr, "audit verify: cannot read the audit log\n");
    return 1;
}
