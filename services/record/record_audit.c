/* SPDX-License-Identifier: MIT */
/* record_audit.c: the audit trail. record_audit() appends one row to audit_log, whose
 * trigger (sql/migrations/0002_access_audit.sql) links it into the hash chain under the
 * audit_chain lock; record_audit_report() reads a time range for an admin (itself audited);
 * record_audit_verify() walks the chain and recomputes every hash. The bottom of the record
 * with record_tx.c: it calls nothing else in it. */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "pg.h"

bool record_audit(PGconn *conn, const struct principal *p, const char *username_tried,
                  const char *action, long long patient_id, long long encounter_id,
                  const char *category, const char *outcome, bool high_severity, const char *detail,
                  const char *source_addr)
{
    static const char sql[] =
        "INSERT INTO audit_log (account_id, username, role, action, patient_id, encounter_id, "
        "category, source_addr, outcome, severity, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    char acc[24], pat[24], enc[24];
    const char *params[11];
    PGresult *res;
    bool ok;

    params[0] = p && p->account_id ? pg_int_param(acc, p->account_id) : NULL;
    params[1] = p && p->account_id ? p->username : username_tried;
    params[2] = p && p->account_id ? p->role : NULL;
    params[3] = action;
    params[4] = patient_id ? pg_int_param(pat, patient_id) : NULL;
    params[5] = encounter_id ? pg_int_param(enc, encounter_id) : NULL;
    params[6] = category;
    params[7] = source_addr;
    params[8] = outcome;
    params[9] = high_severity ? "high" : "normal";
    params[10] = detail;
    res = pg_query(conn, sql, 11, params);
    ok = pg_ok(conn, res, "audit");
    PQclear(res);
    return ok;
}
