/* SPDX-License-Identifier: MIT */
/* record_seed.c: reference data and look-ups for `edlivectl seed-demo` (record_seed.h). */
#include "record_seed.h"

#include <stdio.h>
#include <stdlib.h>

#include "pg.h"

/* The first column of the first row as an id; 0 when there is no row or on error. */
static long long one_id(PGconn *conn, const char *sql, int n, const char *const *params,
                        const char *what)
{
    PGresult *res = pg_query(conn, sql, n, params);
    long long id = pg_ok(conn, res, what) && PQntuples(res) > 0 ? atoll(PQgetvalue(res, 0, 0)) : 0;

    PQclear(res);
    return id;
}

long long record_seed_department(PGconn *conn, const char *code, const char *name,
                                 const char *timezone)
{
    const char *params[] = {code, name, timezone};

    return one_id(conn,
                  "INSERT INTO department (code, name, timezone) VALUES ($1, $2, $3) RETURNING id",
                  3, params, "seed department");
}

long long record_seed_bed(PGconn *conn, long long department_id, const char *label,
                          const char *area, int sort_order)
{
    char dept[24], sort[24];
    const char *params[] = {pg_int_param(dept, department_id), label, area,
                            pg_int_param(sort, sort_order)};

    return one_id(conn,
                  "INSERT INTO bed (department_id, label, area, sort_order) "
                  "VALUES ($1, $2, $3, $4) RETURNING id",
                  4, params, "seed bed");
}

long long record_seed_staff(PGconn *conn, long long department_id, const char *display_name,
                            const char *role)
{
    char dept[24];
    const char *params[] = {display_name, role, pg_int_param(dept, department_id)};

    return one_id(conn,
                  "WITH s AS (INSERT INTO staff (display_name, role) VALUES ($1, $2) "
                  "RETURNING id) INSERT INTO staff_department (staff_id, department_id) "
                  "SELECT id, $3 FROM s RETURNING staff_id",
                  3, params, "seed staff");
}

long long record_seed_department_id(PGconn *conn, const char *code)
{
    const char *params[] = {code};
    PGresult *res = pg_query(conn, "SELECT id FROM department WHERE code = $1", 1, params);
    long long id = -1;

    if (pg_ok(conn, res, "find department"))
        id = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return id;
}

long long record_seed_bed_id(PGconn *conn, long long department_id, const char *label)
{
    char dept[24];
    const char *params[] = {pg_int_param(dept, department_id), label};

    return one_id(conn, "SELECT id FROM bed WHERE department_id = $1 AND label = $2", 2, params,
                  "find bed");
}

long long record_seed_open_encounter(PGconn *conn, const char *mrn)
{
    const char *params[] = {mrn};

    return one_id(conn,
                  "SELECT e.id FROM encounter e JOIN patient p ON p.id = e.patient_id "
                  "WHERE p.mrn = $1 AND e.departed_at IS NULL",
                  1, params, "find encounter");
}

long long record_seed_nth_order(PGconn *conn, long long encounter_id, int n)
{
    char enc[24], offset[24];
    const char *params[] = {pg_int_param(enc, encounter_id), pg_int_param(offset, n - 1)};

    return one_id(conn,
                  "SELECT id FROM clinical_order WHERE encounter_id = $1 ORDER BY id "
                  "OFFSET $2 LIMIT 1",
                  2, params, "find order");
}

long long record_seed_staff_without_account(PGconn *conn, const char *department_code,
                                            const char *display_name)
{
    const char *params[] = {department_code, display_name};

    return one_id(conn,
                  "SELECT s.id FROM staff s JOIN staff_department sd ON sd.staff_id = s.id "
                  "JOIN department d ON d.id = sd.department_id WHERE d.code = $1 "
                  "AND s.display_name = $2 "
                  "AND NOT EXISTS (SELECT 1 FROM account a WHERE a.staff_id = s.id)",
                  2, params, "find staff without account");
}

bool record_seed_legacy_diagnosis(PGconn *conn, long long encounter_id, const char *system,
                                  const char *code, const char *display)
{
    char enc[24];
    const char *params[] = {pg_int_param(enc, encounter_id), system, code, display};

    return one_id(conn,
                  "INSERT INTO encounter_diagnosis (encounter_id, system, code, display) "
                  "VALUES ($1, $2, $3, $4) RETURNING id",
                  4, params, "seed legacy diagnosis") != 0;
}
