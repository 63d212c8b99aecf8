/* SPDX-License-Identifier: MIT */
/* record_seed.h: the reference data of a department (the department, its beds, its staff) and
 * the look-ups `edlivectl seed-demo` needs to address what it wrote, each one parameterized
 * statement on conn (in the caller's transaction, if any). Encounters and the clinical record
 * are written through store.h, never here. Ids are > 0; 0 means "none" or a failure, which is
 * logged (SQLSTATE only, never data). */
#ifndef EDLIVE_RECORD_SEED_H
#define EDLIVE_RECORD_SEED_H

#include <libpq-fe.h>
#include <stdbool.h>

/* A new department with its local time zone (IANA name); its id. */
long long record_seed_department(PGconn *conn, const char *code, const char *name,
                                 const char *timezone);
/* A bed (or hallway or waiting-room space) of a department; its id. */
long long record_seed_bed(PGconn *conn, long long department_id, const char *label,
                          const char *area, int sort_order);
/* A staff member working in a department; the staff id. */
long long record_seed_staff(PGconn *conn, long long department_id, const char *display_name,
                            const char *role);

/* The department with this code: its id, 0 when there is none, -1 on a database error. */
long long record_seed_department_id(PGconn *conn, const char *code);
/* The bed labelled so in the department, or 0. */
long long record_seed_bed_id(PGconn *conn, long long department_id, const char *label);
/* The current (not departed) encounter of the patient with this MRN, or 0. */
long long record_seed_open_encounter(PGconn *conn, const char *mrn);
/* The encounter's n-th order (1-based, in the order they were placed), or 0. */
long long record_seed_nth_order(PGconn *conn, long long encounter_id, int n);
/* The staff member of that name in the department with that code, if they have no account
 * yet; else 0. */
long long record_seed_staff_without_account(PGconn *conn, const char *department_code,
                                            const char *display_name);
/* A diagnosis as an older list coded it (ICD-9, which the write path no longer accepts), kept
 * exactly as it was: no event, no audit row. */
bool record_seed_legacy_diagnosis(PGconn *conn, long long encounter_id, const char *system,
                                  const char *code, const char *display);

#endif
