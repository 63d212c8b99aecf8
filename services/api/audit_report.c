/* SPDX-License-Identifier: MIT */
/* audit_report.c: GET /api/v1/audit?from=&to=&user=&patient=&sort=&order=&limit=
 * The audit report for a time range, by user and by patient, sortable by every recorded
 * field. The sort column comes from an allow-list of constants, never from the request
 * text; reading the audit log is itself audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "pg.h"
#include "timefmt.h"

static const char *const sortable[] = {
    "seq",          "at",       "username",    "role",    "action",   "patient_id",
    "encounter_id", "category", "source_addr", "outcome", "severity", NULL,
};

#define AUDIT_REPORT_MAX_ROWS 1000

/* One query argument ("name=" given with its '='), URL-decoded by lws; "" when absent. */
static void arg(struct lws *wsi, const char *name, char *out, size_t cap)
{
    char buf[256];
    const char *v = lws_get_urlarg_by_name(wsi, name, buf, sizeof buf);

    if (v)
        snprintf(out, cap, "%s", v);
}

bool audit_report(struct api *app, const struct request *req, struct principal *who,
                  struct route_result *out, struct ed_error *err)
{
    char from[64] = "", to[64] = "", user[80] = "", patient[32] = "", sort[32] = "seq";
    char order[8] = "asc", limit[16] = "200", sql[1024];
    const char *column = NULL;
    const char *params[5];
    long long lim;
    PGresult *res;
    json_t *rows;

    arg(req->wsi, "from=", from, sizeof from);
    arg(req->wsi, "to=", to, sizeof to);
    arg(req->wsi, "user=", user, sizeof user);
    arg(req->wsi, "patient=", patient, sizeof patient);
    arg(req->wsi, "sort=", sort, sizeof sort);
    arg(req->wsi, "order=", order, sizeof order);
    arg(req->wsi, "limit=", limit, sizeof limit);
    if (from[0] && !timefmt_is_datetime(from))
        return ed_error_set(err, 400, "invalid_value", "from", "must be an RFC 3339 date-time");
    if (to[0] && !timefmt_is_datetime(to))
        return ed_error_set(err, 400, "invalid_value", "to", "must be an RFC 3339 date-time");
    if (patient[0] && strspn(patient, "0123456789") != strlen(patient))
        return ed_error_set(err, 400, "invalid_value", "patient", "must be a patient id");
    for (int i = 0; sortable[i]; i++)
        if (!strcmp(sort, sortable[i]))
            column = sortable[i];
    if (!column)
        return ed_error_set(err, 400, "invalid_value", "sort",
                            "must be one of: seq, at, username, role, action, patient_id, "
                            "encounter_id, category, source_addr, outcome, severity");
    if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return ed_error_set(err, 400, "invalid_value", "order", "must be asc or desc");
    lim = strspn(limit, "0123456789") == strlen(limit) ? atoll(limit) : 0;
    if (lim < 1 || lim > AUDIT_REPORT_MAX_ROWS)
        return ed_error_set(err, 400, "out_of_range", "limit", "must be between 1 and %d",
                            AUDIT_REPORT_MAX_ROWS);

    /* column and order are constants chosen above; every value is a parameter. */
    snprintf(
        sql, sizeof sql,
        "SELECT coalesce(jsonb_agg(r ORDER BY r.%s %s, r.seq), '[]'::jsonb)::text FROM ("
        "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, "
        "username, role, action, patient_id, encounter_id, category, source_addr, outcome, "
        "severity, detail FROM audit_log "
        "WHERE at >= coalesce($1::timestamptz, now() - interval '1 day') "
        "AND at <= coalesce($2::timestamptz, now()) "
        "AND ($3::text IS NULL OR username = $3) AND ($4::bigint IS NULL OR patient_id = $4) "
        "ORDER BY %s %s, seq LIMIT $5) r",
        column, order, column, order);
    params[0] = from[0] ? from : NULL;
    params[1] = to[0] ? to : NULL;
    params[2] = user[0] ? user : NULL;
    params[3] = patient[0] ? patient : NULL;
    params[4] = limit;
    if (!pg_command(app->pg, "BEGIN"))
        return ed_error_set(err, 503, "database_unavailable", NULL, "try again");
    res = pg_query(app->pg, sql, 5, params);
    if (!pg_ok(app->pg, res, "audit report")) {
        PQclear(res);
        pg_command(app->pg, "ROLLBACK");
        return ed_error_set(err, 503, "database_unavailable", NULL, "try again");
    }
    rows = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!rows ||
        !record_audit(app->pg, who, NULL, "audit.read", patient[0] ? atoll(patient) : 0, 0, "audit",
                      "success", false, NULL, who->source_addr) ||
        !pg_command(app->pg, "COMMIT")) {
        json_decref(rows);
        pg_command(app->pg, "ROLLBACK");
        return ed_error_set(err, 503, "database_unavailable", NULL, "try again");
    }
    out->reply = json_pack("{s:s,s:s,s:I,s:o}", "sort", column, "order", order, "count",
                           (json_int_t)json_array_size(rows), "rows", rows);
    return true;
}
