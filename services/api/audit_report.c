/* SPDX-License-Identifier: MIT */
/* audit_report.c: GET /api/v1/audit?from=&to=&user=&patient=&sort=&order=&limit=
 * The HTTP side of the audit report: reads and checks the query arguments and shapes the
 * reply. The query (a time range, by user and by patient, sortable by every recorded field)
 * and the audit row of the read are the record's: record_audit_report(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "record.h"
#include "timefmt.h"

/* One query argument ("name=" given with its '='), URL-decoded by lws; "" when absent. */
static void arg(const struct request *req, const char *name, char *out, size_t cap)
{
    char buf[256];
    const char *v = request_query_arg(req, name, buf, sizeof buf);

    if (v)
        snprintf(out, cap, "%s", v);
}

bool audit_report(struct api *app, const struct request *req, struct principal *who,
                  struct route_result *out, struct ed_error *err)
{
    char from[64] = "", to[64] = "", user[80] = "", patient[32] = "", sort[32] = "seq";
    char order[8] = "asc", limit[16] = "200";
    struct record_audit_query q;
    json_t *rows;

    arg(req, "from=", from, sizeof from);
    arg(req, "to=", to, sizeof to);
    arg(req, "user=", user, sizeof user);
    arg(req, "patient=", patient, sizeof patient);
    arg(req, "sort=", sort, sizeof sort);
    arg(req, "order=", order, sizeof order);
    arg(req, "limit=", limit, sizeof limit);
    if (from[0] && !timefmt_is_datetime(from))
        return ed_error_set(err, ED_ERR_INVALID_PARAMETER, "from", "must be an RFC 3339 date-time");
    if (to[0] && !timefmt_is_datetime(to))
        return ed_error_set(err, ED_ERR_INVALID_PARAMETER, "to", "must be an RFC 3339 date-time");
    if (patient[0] && (strlen(patient) > 18 || strspn(patient, "0123456789") != strlen(patient)))
        return ed_error_set(err, ED_ERR_INVALID_PARAMETER, "patient", "must be a patient id");
    if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return ed_error_set(err, ED_ERR_INVALID_PARAMETER, "order", "must be asc or desc");
    q = (struct record_audit_query){
        .from = from[0] ? from : NULL,
        .to = to[0] ? to : NULL,
        .user = user[0] ? user : NULL,
        .patient_id = patient[0] ? atoll(patient) : 0,
        .sort = sort,
        .descending = !strcmp(order, "desc"),
        /* anything but 1-4 digits is out of range: the record refuses 0 */
        .limit =
            strlen(limit) <= 4 && strspn(limit, "0123456789") == strlen(limit) ? atoi(limit) : 0,
    };
    rows = record_audit_report(app->pg, who, &q, err);
    if (!rows)
        return false;
    out->reply = json_pack("{s:s,s:s,s:I,s:o}", "sort", sort, "order", order, "count",
                           (json_int_t)json_array_size(rows), "rows", rows);
    return true;
}
