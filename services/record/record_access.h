/* SPDX-License-Identifier: MIT */
/* record_access.h: who is asking, what they may do, and the audit trail of it (part of the
 * record's public API; record.h includes it).
 * - Sessions: looked up by the SHA-256 of the token; idle time-out and absolute lifetime.
 * - Sign-in: argon2id, optional TOTP (required when enrolled; admins must enrol), back-off
 *   per account and per source address.
 * - The permission matrix (one table, record_access.c) and the department scope every
 *   patient-scoped statement carries.
 * - Audit rows: appended to the hash-chained audit_log (sql/migrations/0002). */
#ifndef EDLIVE_RECORD_ACCESS_H
#define EDLIVE_RECORD_ACCESS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "ed_error.h"

enum record_role {
    ROLE_PHYSICIAN = 1 << 0,
    ROLE_NURSE = 1 << 1,
    ROLE_CHARGE_NURSE = 1 << 2,
    ROLE_REGISTRATION = 1 << 3,
    ROLE_ADMIN = 1 << 4,
    ROLE_SERVICE = 1 << 5,
    ROLE_DISPLAY = 1 << 6, /* a public wall: the masked board of one department, nothing else */
};

/* Every action a route or topic performs; the matrix in record_access.c says who may. */
enum record_action {
    ACT_BOARD_READ,
    ACT_CHART_READ,
    ACT_ARRIVAL,
    ACT_TRIAGE,
    ACT_BED,
    ACT_ASSIGN,
    ACT_VITALS,
    ACT_NOTE,
    ACT_STATUS,
    ACT_BREAK_GLASS,
    ACT_AUDIT_READ,
    ACT_ACCOUNT_MANAGE,
    ACT_ORDER,           /* place an order, mark it collected / resulted / seen */
    ACT_DISPOSITION,     /* disposition and departure */
    ACT_BOARD_EDIT,      /* board comment, isolation, reassessment interval */
    ACT_NEWS2_SCALE,     /* SpO2 scale 2 is prescribed by a clinician */
    ACT_RECORD,          /* allergies, home medications, problem list */
    ACT_DIAGNOSIS,       /* coded diagnoses of the visit */
    ACT_BED_STATUS,      /* mark a bed for cleaning, clean */
    ACT_METRICS_READ,    /* today's metrics (aggregates, no patient) */
    ACT_THRESHOLDS_READ, /* the charge nurse's alert thresholds */
    ACT_THRESHOLDS_WRITE,
    ACT_COUNT
};

/* The most departments one account works in, and the most patients one account holds an
 * active break-glass grant for. A session beyond either is refused (logged), never cut short. */
#define RECORD_MAX_DEPARTMENTS 32
#define RECORD_MAX_GRANTS      64

/* The signed-in user of one request or connection. */
struct principal {
    long long account_id;
    long long staff_id; /* 0 when the account is not a staff member (admin, service) */
    char username[72];
    char role[32];                                 /* the role written to audit rows */
    unsigned roles;                                /* enum record_role bits */
    bool mfa;                                      /* the session was opened with a second factor */
    long long departments[RECORD_MAX_DEPARTMENTS]; /* the departments it works in, ascending */
    int n_departments;
    long long patients[RECORD_MAX_GRANTS]; /* patients under an active break-glass grant */
    int n_patients;
    unsigned char token_hash[32];
    char source_addr[64];
    int idle_seconds;     /* this session's idle time-out */
    int idle_remaining_s; /* seconds until it idles out, as of this request */
};

/* Session time-outs in seconds: EDLIVE_SESSION_IDLE_S and EDLIVE_SESSION_MAX_S, given by the
 * service at start-up (defaults 900 and 43200 until then). */
void record_set_session_limits(int idle_s, int max_s);
int record_session_idle_seconds(void);
int record_session_max_seconds(void);

const char *record_action_name(enum record_action a);

/* True when one of p's roles may perform a (the matrix; scope is checked separately). */
bool record_allows(const struct principal *p, enum record_action a);

/* The names of every action p may perform, in matrix order: a new JSON array (GET
 * /api/v1/session "allowed", so the pages keep no copy of the matrix), or NULL (no memory). */
json_t *record_allowed_actions(const struct principal *p);

/* True when origin is in the comma-separated allow-list (exact match). */
bool record_origin_allowed(const char *allowed, const char *origin);

/* True when department_id is one of p's own departments (not a break-glass reach). */
bool record_in_department(const struct principal *p, long long department_id);

/* The cookie that carries the session token, for ed-api (Set-Cookie) and ed-hub alike. */
#define RECORD_SESSION_COOKIE "__Host-edlive_session"

/* The session token of a request or upgrade: "Authorization: Bearer <t>" or the
 * RECORD_SESSION_COOKIE in a Cookie header (either may be NULL). Copies it into out
 * (cap >= 64); false when none. */
bool record_session_token(const char *authorization, const char *cookies, char *out, size_t cap,
                          bool *from_cookie);

/* The reverse proxies whose X-Real-IP is believed (EDLIVE_TRUSTED_PROXIES, checked by
 * config_load as a CONFIG_CIDR_LIST): set once at start, before other threads run. Until then,
 * and by default, 127.0.0.1 and ::1 (nginx on this machine). False for a bad list (kept). */
bool record_set_trusted_proxies(const char *list);

/* True when peer (lws_get_peer_simple) is one of the trusted proxies, whose X-Real-IP header
 * is then the client's address. */
bool record_trusted_proxy(const char *peer);

/* The client's address for audit rows and sign-in back-off: real_ip (X-Real-IP, may be NULL or
 * empty) when the peer is the trusted proxy, else the peer itself. */
void record_client_address(const char *peer, const char *real_ip, char *out, size_t cap);

enum record_session_result { SESSION_OK, SESSION_NONE, SESSION_DB_ERROR };

/* Finds the live session of token; touch counts this as activity (REST requests do,
 * WebSocket traffic does not). Fills p on SESSION_OK. */
enum record_session_result record_session(PGconn *conn, const char *token, bool touch,
                                          struct principal *p);

/* Re-reads the session of p by its token hash: still valid? (no touch). */
enum record_session_result record_session_check(PGconn *conn, struct principal *p);

/* Signs in; on success token gets a new session token and p the principal. On failure err
 * says why: 401 (wrong credentials, totp_required, totp_invalid), 403 disabled, 429 with
 * retry_after_s set. Every outcome is audited. */
bool record_sign_in(PGconn *conn, const char *username, const char *password, const char *totp,
                    const char *source_addr, char *token, struct principal *p, int *retry_after_s,
                    struct ed_error *err);

/* Revokes p's session. */
bool record_sign_out(PGconn *conn, const struct principal *p);

/* Emergency access to one patient (through one of their encounters) for minutes, after a
 * TOTP code and a reason. Audited at high severity; the grant joins p->patients. */
bool record_break_glass(PGconn *conn, struct principal *p, long long encounter_id,
                        const char *reason, const char *totp, int minutes, long long *patient_id,
                        struct ed_error *err);

/* Batch check of many sessions in one query: live[i] is set to whether the session with
 * hashes[i] (SHA-256, 32 bytes each) is still valid. The live sessions of display accounts
 * are touched at the same time when keep_walls (ed-hub's periodic 5 s check, not the check
 * before each event, which would write a row per event): an open wall does not time out; a
 * clinician's socket is not activity. False on database error. */
bool record_sessions_alive(PGconn *conn, const unsigned char (*hashes)[32], size_t n, bool *live,
                           bool keep_walls);

/* Appends one audit row. p may be NULL (an unknown user); patient/encounter 0 for none.
 * Runs inside the caller's transaction when there is one. */
/* Many audit rows in one statement (ed-hub's subscriptions, batched): rows is a JSON array of
 * objects with account_id, username, role, action, patient_id, encounter_id, category,
 * source_addr, outcome, detail and request_id (absent: NULL), severity normal. False on a database
 * error (then none is written). */
bool record_audit_many(PGconn *conn, const json_t *rows);
/* The request (its id: X-Request-Id) this thread is serving from now on, written into every
 * audit row it causes (audit_log.request_id); NULL: none. The caller keeps the text alive. */
void record_request_id_set(const char *request_id);
/* The account whose session this thread last loaded (record_session), for the access log;
 * 0 after record_request_account_clear or when none was. */
long long record_request_account(void);
void record_request_account_clear(void);

bool record_audit(PGconn *conn, const struct principal *p, const char *username_tried,
                  const char *action, long long patient_id, long long encounter_id,
                  const char *category, const char *outcome, bool high_severity, const char *detail,
                  const char *source_addr);

/* ---- accounts and departments (record_admin.c): every change audited in its transaction;
 * a function called inside the caller's transaction joins it ---- */

/* Admin account changes, each audited (account.create / account.disable / account.enable).
 * Create: role is one of the six role names; 409 when the username exists. */
bool record_account_create(PGconn *conn, const struct principal *admin, const char *username,
                           const char *password, const char *role, long long staff_id,
                           long long *account_id, struct ed_error *err);
bool record_account_set_disabled(PGconn *conn, const struct principal *admin, long long account_id,
                                 bool disabled, struct ed_error *err);

/* edlivectl's account changes, audited as "system" from "edlivectl". */
/* Creates an account unless the username exists (*created false, not an error: seed-demo
 * runs twice). roles: a text[] literal, "{physician}"; totp_secret NULL for none. */
bool record_account_add(PGconn *conn, const char *username, const char *password, const char *roles,
                        long long staff_id, const char *totp_secret, bool *created,
                        struct ed_error *err);
/* A display account: the public wall of department_id (409 when no such department or the
 * username is taken). */
bool record_display_account_add(PGconn *conn, const char *username, const char *password,
                                long long department_id, struct ed_error *err);
/* Enrols a new TOTP secret (base32) for username (404 when none). */
bool record_account_set_totp(PGconn *conn, const char *username, const char *secret,
                             struct ed_error *err);
bool record_account_set_disabled_by_name(PGconn *conn, const char *username, bool disabled,
                                         struct ed_error *err);

/* A new password for username (failed sign-ins and the lock cleared, its sessions ended), audited
 * high (account.password). 404 when no such account. */
bool record_account_set_password(PGconn *conn, const char *username, const char *password,
                                 struct ed_error *err);
/* Every account as [{"id","username","roles","staff_id","display_department_id","totp","disabled",
 * "locked","created_at"}] by username (no hash, no secret), audited (account.list). */
json_t *record_accounts_list(PGconn *conn, struct ed_error *err);

/* `edlivectl staff hl7-id`: the id a registration system gives the staff member (PV1-7,
 * OBX-16; proto/hl7/ADT_MAPPING.md §3.4), NULL to remove it; audited (staff.hl7_id). err: 422
 * a bad id, 404 no such staff member, 409 another staff member has it, 503. */
bool record_staff_set_hl7_id(PGconn *conn, long long staff_id, const char *hl7_id,
                             struct ed_error *err);

/* The per-department settings of `edlivectl department set` (issue 9): each key is a column of
 * `department`. */
struct record_department_setting {
    const char *key;    /* also the column name */
    const char *column; /* when the column's name differs from the key: an alias */
    const char *cast;   /* the value's SQL type */
    const char *help;   /* the values it takes, for the operator */
};
const struct record_department_setting *record_department_settings(size_t *n);

/* Sets one setting, audited (department.set, with detail: what changed, also written to
 * detail). err: 400 unknown key, 409 not_available (the column's migration has not run),
 * 422 invalid value, 404 no such department, 503. */
bool record_department_set(PGconn *conn, long long department_id, const char *key,
                           const char *value, char *detail, size_t detail_cap,
                           struct ed_error *err);

/* Departments and beds (edlivectl), each change in one transaction with its audit row
 * (department.create|rename|retire, bed.create|rename|retire) and, when a board shows it, a
 * department.layout event (every screen then reads a fresh snapshot). A retired row stays (its
 * history refers to it); it takes no new encounter or patient (0019). err: 422 a bad value
 * (field: code, name, label, area), 404 no such row, 409 refused (retired, patients still there,
 * label or code taken), 503. */
bool record_department_create(PGconn *conn, const char *code, const char *name, long long *id,
                              struct ed_error *err);
bool record_department_rename(PGconn *conn, long long department_id, const char *name,
                              struct ed_error *err);
bool record_department_retire(PGconn *conn, long long department_id, struct ed_error *err);
bool record_bed_create(PGconn *conn, long long department_id, const char *label, const char *area,
                       long long *id, struct ed_error *err);
bool record_bed_rename(PGconn *conn, long long bed_id, const char *label, struct ed_error *err);
bool record_bed_retire(PGconn *conn, long long bed_id, struct ed_error *err);
/* department_id 0: [{"id","code","name","retired_at","beds"}]; else the department's beds
 * [{"id","label","area","retired_at"}], current first. Not patient data; not audited. */
json_t *record_places_list(PGconn *conn, long long department_id, struct ed_error *err);

/* ---- the audit report and the chain check (record_audit.c) ---- */

#define RECORD_AUDIT_REPORT_MAX_ROWS 1000

/* GET /api/v1/audit: rows of [from, to] (RFC 3339, NULL: the last day up to now), of one
 * user and one patient when given, sorted by one recorded field. */
struct record_audit_query {
    const char *from, *to; /* already checked as date-times, or NULL */
    const char *user;      /* username, or NULL for every user */
    long long patient_id;  /* 0: every patient */
    const char *sort;      /* one of the recorded fields (seq, at, username, ...): else 400 */
    bool descending;
    int limit; /* 1..RECORD_AUDIT_REPORT_MAX_ROWS, else 400 */
};

/* The rows as a new JSON array, the read audited (audit.read) in the same transaction; NULL
 * with err (400 naming the parameter, 503). */
json_t *record_audit_report(PGconn *conn, const struct principal *who,
                            const struct record_audit_query *q, struct ed_error *err);

enum record_audit_verdict { AUDIT_INTACT, AUDIT_BROKEN, AUDIT_DB_ERROR };

/* What record_audit_verify() found. */
struct record_audit_check {
    long long rows;      /* rows whose hash and link hold */
    long long last;      /* the last such row's seq */
    long long failed_at; /* AUDIT_BROKEN: the first row that does not hold */
    char why[128];       /* AUDIT_BROKEN: what does not hold, for the operator */
};

/* Walks the audit log in seq order and recomputes each row's hash from the previous row's
 * hash and the row's canonical text (SQL audit_canonical), here with OpenSSL, so a row edited,
 * inserted or removed behind the services' back is named; then checks the chain head. */
enum record_audit_verdict record_audit_verify(PGconn *conn, struct record_audit_check *c);

#endif
