/* SPDX-License-Identifier: MIT */
/* record_access.c: the permission matrix, the session token and client address of a request,
 * sessions, sign-in with back-off, emergency access. The only SQL text for sessions; accounts
 * are record_admin.c, audit rows record_audit.c. */
#include "record.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "pg.h"
#include "record_internal.h"

#define PHYS   ROLE_PHYSICIAN
#define NURSE  ROLE_NURSE
#define CHARGE ROLE_CHARGE_NURSE
#define REG    ROLE_REGISTRATION
#define ADMIN  ROLE_ADMIN
#define SVC    ROLE_SERVICE
#define WALL   ROLE_DISPLAY

/* The permission matrix: deny by default; proto/README.md "Permissions" states the same.
 * Triage (ESI) is a nursing assessment, so nurses triage as well as physicians.
 * Assigning staff: charge nurses assign anyone; a physician or nurse may assign only
 * themself (checked where the body is known, in ed-api). Admins read no chart.
 * Issue 5: the NEWS2 SpO2 scale 2 is prescribed by a clinician (RCP, ed-domain.md 3.2) and
 * diagnoses are coded by the physician; beds are cleaned on a nurse's or the charge nurse's
 * word; only the charge nurse sets the alert thresholds.
 * Issue 9: a display account (the public wall) reads the board and nothing else. */
static const unsigned matrix[ACT_COUNT] = {
    [ACT_BOARD_READ] = PHYS | NURSE | CHARGE | REG | WALL, /* a wall: masked (board_mask.c) */
    [ACT_CHART_READ] = PHYS | NURSE | CHARGE,
    [ACT_ARRIVAL] = REG | CHARGE | SVC,
    [ACT_TRIAGE] = PHYS | NURSE | CHARGE,
    [ACT_BED] = CHARGE,
    [ACT_ASSIGN] = CHARGE | PHYS | NURSE,
    [ACT_VITALS] = PHYS | NURSE | CHARGE,
    [ACT_NOTE] = PHYS | NURSE | CHARGE,
    [ACT_STATUS] = PHYS | NURSE | CHARGE,
    [ACT_BREAK_GLASS] = PHYS | NURSE | CHARGE,
    [ACT_AUDIT_READ] = ADMIN,
    [ACT_ACCOUNT_MANAGE] = ADMIN,
    [ACT_ORDER] = PHYS | NURSE | CHARGE,
    [ACT_DISPOSITION] = PHYS | NURSE | CHARGE,
    [ACT_BOARD_EDIT] = PHYS | NURSE | CHARGE,
    [ACT_NEWS2_SCALE] = PHYS,
    [ACT_RECORD] = PHYS | NURSE | CHARGE,
    [ACT_DIAGNOSIS] = PHYS,
    [ACT_BED_STATUS] = CHARGE | NURSE,
    [ACT_METRICS_READ] = PHYS | NURSE | CHARGE | REG,
    [ACT_THRESHOLDS_READ] = PHYS | NURSE | CHARGE | REG,
    [ACT_THRESHOLDS_WRITE] = CHARGE,
};

static const char *const action_names[ACT_COUNT] = {
    [ACT_BOARD_READ] = "board.read",
    [ACT_CHART_READ] = "chart.read",
    [ACT_ARRIVAL] = "arrival.create",
    [ACT_TRIAGE] = "encounter.triage",
    [ACT_BED] = "encounter.bed",
    [ACT_ASSIGN] = "encounter.assign",
    [ACT_VITALS] = "vitals.create",
    [ACT_NOTE] = "note.create",
    [ACT_STATUS] = "encounter.status",
    [ACT_BREAK_GLASS] = "break_glass",
    [ACT_AUDIT_READ] = "audit.read",
    [ACT_ACCOUNT_MANAGE] = "account.manage",
    [ACT_ORDER] = "order",
    [ACT_DISPOSITION] = "encounter.disposition",
    [ACT_BOARD_EDIT] = "encounter.board_edit",
    [ACT_NEWS2_SCALE] = "encounter.news2_scale",
    [ACT_RECORD] = "record",
    [ACT_DIAGNOSIS] = "record.diagnosis",
    [ACT_BED_STATUS] = "bed.status",
    [ACT_METRICS_READ] = "metrics.read",
    [ACT_THRESHOLDS_READ] = "alert_thresholds.read",
    [ACT_THRESHOLDS_WRITE] = "alert_thresholds.write",
};

static const struct {
    const char *name;
    unsigned bit;
} role_names[] = {
    {"physician", ROLE_PHYSICIAN},       {"nurse", ROLE_NURSE}, {"charge_nurse", ROLE_CHARGE_NURSE},
    {"registration", ROLE_REGISTRATION}, {"admin", ROLE_ADMIN}, {"service", ROLE_SERVICE},
    {"display", ROLE_DISPLAY},
};

/* Set once at start-up from the service's settings (EDLIVE_SESSION_IDLE_S, _MAX_S). */
static int session_idle_s = 900, session_max_s = 43200;

/* Verifying against this keeps an unknown username as slow as a wrong password. Made once,
 * whichever of ed-api's worker threads signs in first. */
static char dummy_hash[AUTH_HASH_MAX];
static pthread_once_t dummy_hash_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    auth_password_hash("edlive-timing-equaliser", dummy_hash, sizeof dummy_hash);
}

void record_set_session_limits(int idle_s, int max_s)
{
    session_idle_s = idle_s;
    session_max_s = max_s;
}

int record_session_idle_seconds(void)
{
    return session_idle_s;
}

int record_session_max_seconds(void)
{
    return session_max_s;
}

const char *record_action_name(enum record_action a)
{
    return a < ACT_COUNT ? action_names[a] : "?";
}

bool record_allows(const struct principal *p, enum record_action a)
{
    return p && a < ACT_COUNT && (p->roles & matrix[a]) != 0;
}

json_t *record_allowed_actions(const struct principal *p)
{
    json_t *names = json_array();

    for (int a = 0; names && a < ACT_COUNT; a++)
        if (record_allows(p, (enum record_action)a) &&
            json_array_append_new(names, json_string(action_names[a]))) {
            json_decref(names);
            return NULL;
        }
    return names;
}

bool record_origin_allowed(const char *allowed, const char *origin)
{
    size_t n = strlen(origin);

    for (const char *p = allowed; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        if (len == n && !strncmp(p, origin, n))
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

bool record_session_token(const char *authorization, const char *cookies, char *out, size_t cap,
                          bool *from_cookie)
{
    static const char name[] = RECORD_SESSION_COOKIE;
    size_t name_len = sizeof name - 1;

    *from_cookie = false;
    if (authorization && !strncasecmp(authorization, "Bearer ", 7)) {
        snprintf(out, cap, "%.*s", (int)(cap - 1), authorization + 7);
        return out[0] != '\0';
    }
    for (const char *p = cookies ? strstr(cookies, name) : NULL; p; p = strstr(p + 1, name)) {
        if ((p == cookies || p[-1] == ' ' || p[-1] == ';') && p[name_len] == '=') {
            const char *v = p + name_len + 1;
            snprintf(out, cap, "%.*s", (int)strcspn(v, "; "), v);
            *from_cookie = true;
            return out[0] != '\0';
        }
    }
    return false;
}

/* Set once at start, before any thread reads it. */
static struct config_cidr trusted_proxies[CONFIG_MAX_CIDRS] = {
    {.family = AF_INET, .addr = {127, 0, 0, 1}, .prefix = 32},
    {.family = AF_INET6, .addr = {[15] = 1}, .prefix = 128},
};
static int trusted_proxy_count = 2;

bool record_set_trusted_proxies(const char *list)
{
    struct config_cidr parsed[CONFIG_MAX_CIDRS];
    char bad[160];
    int n = config_parse_cidr_list(list, parsed, CONFIG_MAX_CIDRS, bad, sizeof bad);

    if (n < 0)
        return false;
    memcpy(trusted_proxies, parsed, sizeof parsed);
    trusted_proxy_count = n;
    return true;
}

bool record_trusted_proxy(const char *peer)
{
    return config_cidr_match(trusted_proxies, trusted_proxy_count, peer);
}

void record_client_address(const char *peer, const char *real_ip, char *out, size_t cap)
{
    snprintf(out, cap, "%s", record_trusted_proxy(peer) && real_ip && real_ip[0] ? real_ip : peer);
}

/* "{physician,nurse}" -> bits and the first name for audit rows. */
static void parse_roles(const char *text, struct principal *p)
{
    p->roles = 0;
    p->role[0] = '\0';
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++) {
        const char *at = strstr(text, role_names[i].name);
        size_t n = strlen(role_names[i].name);
        if (at && (at[-1] == '{' || at[-1] == ',') && (at[n] == '}' || at[n] == ',')) {
            p->roles |= role_names[i].bit;
            if (!p->role[0])
                snprintf(p->role, sizeof p->role, "%s", role_names[i].name);
        }
    }
}

/* ---- sessions ---- */

/* "{1,2,3}" (a bigint[] as text) into ids; false when malformed or longer than max. */
static bool parse_ids(const char *text, long long *ids, int max, int *n)
{
    const char *p = text;
    char *end;

    *n = 0;
    if (*p++ != '{')
        return false;
    if (*p == '}')
        return p[1] == '\0';
    for (;;) {
        long long v = strtoll(p, &end, 10);
        if (end == p || *n >= max)
            return false;
        ids[(*n)++] = v;
        if (*end == '}')
            return end[1] == '\0';
        if (*end != ',')
            return false;
        p = end + 1;
    }
}

static const char session_sql[] =
    "SELECT a.id, coalesce(a.staff_id, 0), a.username, a.roles::text, s.mfa, "
    "coalesce((SELECT array_agg(sd.department_id ORDER BY sd.department_id) "
    "          FROM staff_department sd WHERE sd.staff_id = a.staff_id), "
    "         CASE WHEN a.display_department_id IS NOT NULL "
    "              THEN ARRAY[a.display_department_id] END, '{}')::text, "
    "coalesce((SELECT array_agg(DISTINCT bg.patient_id) FROM break_glass bg "
    "          WHERE bg.account_id = a.id AND bg.expires_at > now()), '{}')::text, "
    "s.last_active_at < now() - interval '10 seconds', s.idle_seconds, "
    "floor(extract(epoch FROM s.last_active_at + make_interval(secs => s.idle_seconds) - now()))"
    "::int "
    "FROM session s JOIN account a ON a.id = s.account_id "
    "WHERE s.token_hash = $1::bytea AND s.revoked_at IS NULL AND s.expires_at > now() "
    "AND s.last_active_at + make_interval(secs => s.idle_seconds) > now() AND NOT a.disabled";

/* The account of the last session this thread loaded (record_request_account). */
static _Thread_local long long session_account_id;

long long record_request_account(void)
{
    return session_account_id;
}

void record_request_account_clear(void)
{
    session_account_id = 0;
}

static enum record_session_result load_session(PGconn *conn, struct principal *p, bool touch)
{
    char hex[2 + 65] = "\\x";
    const char *params[1];
    PGresult *res;

    auth_hex(p->token_hash, 32, hex + 2);
    params[0] = hex;
    if (!pg_ensure(conn))
        return SESSION_DB_ERROR;
    res = pg_query(conn, session_sql, 1, params);
    if (!pg_ok(conn, res, "session")) {
        PQclear(res);
        return SESSION_DB_ERROR;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return SESSION_NONE;
    }
    p->account_id = atoll(PQgetvalue(res, 0, 0));
    p->staff_id = atoll(PQgetvalue(res, 0, 1));
    snprintf(p->username, sizeof p->username, "%s", PQgetvalue(res, 0, 2));
    parse_roles(PQgetvalue(res, 0, 3), p);
    p->mfa = PQgetvalue(res, 0, 4)[0] == 't';
    if (!parse_ids(PQgetvalue(res, 0, 5), p->departments, RECORD_MAX_DEPARTMENTS,
                   &p->n_departments) ||
        !parse_ids(PQgetvalue(res, 0, 6), p->patients, RECORD_MAX_GRANTS, &p->n_patients)) {
        /* Refused, not cut short: a shorter list would silently narrow (or, for a wall, change)
         * what the session sees. */
        log_error("account %lld: more than %d departments or %d break-glass grants; session "
                  "refused",
                  p->account_id, RECORD_MAX_DEPARTMENTS, RECORD_MAX_GRANTS);
        PQclear(res);
        return SESSION_DB_ERROR;
    }
    /* The idle clock is kept to 10 s: not one row write per request on a busy tablet. */
    touch = touch && PQgetvalue(res, 0, 7)[0] == 't';
    p->idle_seconds = atoi(PQgetvalue(res, 0, 8));
    p->idle_remaining_s = touch ? p->idle_seconds : atoi(PQgetvalue(res, 0, 9));
    PQclear(res);
    if (touch) {
        res =
            pg_query(conn, "UPDATE session SET last_active_at = now() WHERE token_hash = $1::bytea",
                     1, params);
        pg_ok(conn, res, "touch session");
        PQclear(res);
    }
    session_account_id = p->account_id;
    return SESSION_OK;
}

enum record_session_result record_session(PGconn *conn, const char *token, bool touch,
                                          struct principal *p)
{
    char addr[sizeof p->source_addr];

    if (!token || strlen(token) != AUTH_TOKEN_CHARS)
        return SESSION_NONE;
    snprintf(addr, sizeof addr, "%s", p->source_addr);
    memset(p, 0, sizeof *p);
    snprintf(p->source_addr, sizeof p->source_addr, "%s", addr);
    auth_sha256(token, strlen(token), p->token_hash);
    return load_session(conn, p, touch);
}

enum record_session_result record_session_check(PGconn *conn, struct principal *p)
{
    return load_session(conn, p, false);
}

bool record_sessions_alive(PGconn *conn, const unsigned char (*hashes)[32], size_t n, bool *live,
                           bool keep_walls)
{
    static const char sql[] =
        "WITH asked AS (SELECT h, i FROM unnest($1::bytea[]) WITH ORDINALITY AS u(h, i)), "
        "alive AS (SELECT asked.i, s.token_hash, 'display' = ANY(a.roles) AS wall "
        "  FROM asked JOIN session s ON s.token_hash = asked.h "
        "  JOIN account a ON a.id = s.account_id "
        "  WHERE s.revoked_at IS NULL "
        "  AND s.expires_at > now() "
        "  AND s.last_active_at + make_interval(secs => s.idle_seconds) > now() "
        "  AND NOT a.disabled), "
        "kept AS (UPDATE session s SET last_active_at = now() FROM alive "
        "  WHERE $2::boolean AND alive.wall AND s.token_hash = alive.token_hash) "
        "SELECT i FROM alive";
    /* {"\\x<64 hex>",...}: each element 70 bytes */
    char *array = malloc(3 + n * 72);
    char *p = array, hex[65];
    const char *params[2];
    PGresult *res;

    if (!array)
        return false;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        auth_hex(hashes[i], 32, hex);
        p += sprintf(p, "%s\"\\\\x%s\"", i ? "," : "", hex);
        live[i] = false;
    }
    *p++ = '}';
    *p = '\0';
    params[0] = array;
    params[1] = keep_walls ? "true" : "false";
    res = pg_query(conn, sql, 2, params);
    free(array);
    if (!pg_ok(conn, res, "sessions alive")) {
        PQclear(res);
        return false;
    }
    /* Each live row names its place in the array asked (1-based): one pass. */
    for (int r = 0; r < PQntuples(res); r++) {
        long long i = atoll(PQgetvalue(res, r, 0));
        if (i >= 1 && (size_t)i <= n)
            live[i - 1] = true;
    }
    PQclear(res);
    return true;
}

bool record_sign_out(PGconn *conn, const struct principal *p)
{
    char hex[2 + 65] = "\\x";
    const char *params[1] = {hex};
    PGresult *res;
    bool ok;

    auth_hex(p->token_hash, 32, hex + 2);
    res = pg_query(conn, "UPDATE session SET revoked_at = now() WHERE token_hash = $1::bytea", 1,
                   params);
    ok = pg_ok(conn, res, "sign out");
    PQclear(res);
    return ok && record_audit(conn, p, NULL, "session.sign_out", 0, 0, "session", "success", false,
                              NULL, p->source_addr);
}

/* ---- sign-in ---- */

/* Back-off after repeated failures (in SQL below): 30 s doubling per failure past the
 * threshold, up to 15 min. A soft lock: it delays, it never disables an account. */
#define ACCOUNT_FAILURES_BEFORE_LOCK 5
#define ADDRESS_FAILURES_BEFORE_LOCK 20

static bool record_failure(PGconn *conn, long long account_id, const char *addr, const char *why,
                           const char *username, struct ed_error *err)
{
    static const char addr_sql[] =
        "INSERT INTO signin_throttle AS t (address, failures, updated_at) VALUES ($1, 1, now()) "
        "ON CONFLICT (address) DO UPDATE SET failures = t.failures + 1, updated_at = now(), "
        "locked_until = CASE WHEN t.failures + 1 >= $2 THEN now() + make_interval(secs => "
        "LEAST(900, 30 * power(2, LEAST(t.failures + 1 - $2, 5)))) ELSE t.locked_until END";
    static const char account_sql[] =
        "UPDATE account SET failed_count = failed_count + 1, locked_until = CASE WHEN "
        "failed_count + 1 >= $2 THEN now() + make_interval(secs => LEAST(900, 30 * "
        "power(2, LEAST(failed_count + 1 - $2, 5)))) ELSE locked_until END WHERE id = $1";
    char idbuf[24], addr_limit[24], account_limit[24];
    (void)err;
    const char *ap[] = {addr, pg_int_param(addr_limit, ADDRESS_FAILURES_BEFORE_LOCK)};
    PGresult *res = pg_query(conn, addr_sql, 2, ap);

    pg_ok(conn, res, "throttle address");
    PQclear(res);
    if (account_id) {
        const char *params[] = {pg_int_param(idbuf, account_id),
                                pg_int_param(account_limit, ACCOUNT_FAILURES_BEFORE_LOCK)};
        res = pg_query(conn, account_sql, 2, params);
        pg_ok(conn, res, "throttle account");
        PQclear(res);
    }
    record_audit(conn, NULL, username, "session.sign_in", 0, 0, "session", "failure", false, why,
                 addr);
    return false;
}

/* Seconds left on a lock, 0 when none; -1 on database error. */
static long seconds_locked(PGconn *conn, const char *sql, const char *key)
{
    const char *params[] = {key};
    PGresult *res = pg_query(conn, sql, 1, params);
    long left = -1;

    if (pg_ok(conn, res, "lock check"))
        left = PQntuples(res) && !PQgetisnull(res, 0, 0) ? atol(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return left;
}

static bool too_many(long left, int *retry_after_s, struct ed_error *err)
{
    *retry_after_s = (int)left;
    return ed_error_set(err, ED_ERR_TOO_MANY_ATTEMPTS, NULL,
                        "too many failed sign-ins; try again in %ld s", left);
}

bool record_sign_in(PGconn *conn, const char *username, const char *password, const char *totp,
                    const char *source_addr, char *token, struct principal *p, int *retry_after_s,
                    struct ed_error *err)
{
    static const char addr_lock_sql[] =
        "SELECT ceil(extract(epoch FROM locked_until - now()))::bigint FROM signin_throttle "
        "WHERE address = $1 AND locked_until > now()";
    static const char account_sql[] =
        "SELECT id, password_hash, totp_secret, totp_last_step, disabled, "
        "ceil(extract(epoch FROM locked_until - now()))::bigint, 'admin' = ANY(roles) "
        "FROM account WHERE username = lower($1)";
    static const char session_insert_sql[] =
        "INSERT INTO session (token_hash, account_id, expires_at, idle_seconds, mfa, source_addr) "
        "VALUES ($1::bytea, $2, now() + make_interval(secs => $3), $4, $5, $6)";
    char idbuf[24], stepbuf[24], hex[2 + 65] = "\\x", idle[24], max[24];
    long long account_id;
    uint64_t step = 0;
    bool has_totp, is_admin, disabled;
    long left;
    PGresult *res;
    char hash[AUTH_HASH_MAX], secret[80];
    long long last_step;

    *retry_after_s = 0;
    if (!pg_ensure(conn))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    left = seconds_locked(conn, addr_lock_sql, source_addr);
    if (left > 0) {
        record_audit(conn, NULL, username, "session.sign_in", 0, 0, "session", "denied", false,
                     "address locked", source_addr);
        return too_many(left, retry_after_s, err);
    }
    {
        const char *params[] = {username};
        res = pg_query(conn, account_sql, 1, params);
    }
    if (!pg_ok(conn, res, "find account")) {
        PQclear(res);
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        pthread_once(&dummy_hash_once, make_dummy_hash);
        auth_password_verify(dummy_hash, password);
        record_failure(conn, 0, source_addr, "unknown user", username, err);
        return ed_error_set(err, ED_ERR_WRONG_CREDENTIALS, NULL, "wrong username or password");
    }
    account_id = atoll(PQgetvalue(res, 0, 0));
    snprintf(hash, sizeof hash, "%s", PQgetvalue(res, 0, 1));
    has_totp = !PQgetisnull(res, 0, 2);
    snprintf(secret, sizeof secret, "%s", PQgetvalue(res, 0, 2));
    last_step = atoll(PQgetvalue(res, 0, 3));
    disabled = PQgetvalue(res, 0, 4)[0] == 't';
    left = PQgetisnull(res, 0, 5) ? 0 : atol(PQgetvalue(res, 0, 5));
    is_admin = PQgetvalue(res, 0, 6)[0] == 't';
    PQclear(res);

    if (left > 0) {
        record_audit(conn, NULL, username, "session.sign_in", 0, 0, "session", "denied", false,
                     "account locked", source_addr);
        return too_many(left, retry_after_s, err);
    }
    if (!auth_password_verify(hash, password)) {
        record_failure(conn, account_id, source_addr, "wrong password", username, err);
        return ed_error_set(err, ED_ERR_WRONG_CREDENTIALS, NULL, "wrong username or password");
    }
    if (disabled) {
        record_audit(conn, NULL, username, "session.sign_in", 0, 0, "session", "denied", false,
                     "account disabled", source_addr);
        return ed_error_set(err, ED_ERR_ACCOUNT_DISABLED, NULL, "this account is disabled");
    }
    if (is_admin && !has_totp)
        return ed_error_set(err, ED_ERR_SECOND_FACTOR_NOT_ENROLLED, NULL,
                            "admins must enrol a second factor");
    if (has_totp) {
        if (!totp || !totp[0])
            return ed_error_set(err, ED_ERR_TOTP_REQUIRED, "totp",
                                "enter the 6-digit code from your authenticator");
        step = auth_totp_check(secret, totp, (uint64_t)time(NULL) / AUTH_TOTP_STEP_S,
                               (uint64_t)last_step);
        if (!step) {
            record_failure(conn, account_id, source_addr, "wrong or reused code", username, err);
            return ed_error_set(err, ED_ERR_TOTP_INVALID, "totp",
                                "the code is wrong or was already used");
        }
    }
    if (!auth_token_new(token, p->token_hash))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "no randomness");
    auth_hex(p->token_hash, 32, hex + 2);
    {
        /* The step only moves forward, so a code can serve one sign-in only. */
        const char *params[] = {pg_int_param(idbuf, account_id),
                                pg_int_param(stepbuf, (long long)step)};
        /* "totp_last_step < $2": of two sign-ins racing with one code, one wins. */
        res = pg_query(conn,
                       "UPDATE account SET failed_count = 0, locked_until = NULL, "
                       "totp_last_step = GREATEST(totp_last_step, $2) WHERE id = $1 "
                       "AND ($2 = 0 OR totp_last_step < $2)",
                       2, params);
        if (!pg_ok(conn, res, "reset failures") || strcmp(PQcmdTuples(res), "1") != 0) {
            PQclear(res);
            return ed_error_set(err, ED_ERR_TOTP_INVALID, "totp",
                                "the code is wrong or was already used");
        }
        PQclear(res);
    }
    {
        const char *params[] = {hex,
                                idbuf,
                                pg_int_param(max, record_session_max_seconds()),
                                pg_int_param(idle, record_session_idle_seconds()),
                                has_totp ? "true" : "false",
                                source_addr};
        res = pg_query(conn, session_insert_sql, 6, params);
        if (!pg_ok(conn, res, "create session")) {
            PQclear(res);
            return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
        }
        PQclear(res);
    }
    snprintf(p->source_addr, sizeof p->source_addr, "%s", source_addr);
    if (load_session(conn, p, false) != SESSION_OK)
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    record_audit(conn, p, NULL, "session.sign_in", 0, 0, "session", "success", false, NULL,
                 source_addr);
    return true;
}

/* ---- emergency access ---- */

bool record_break_glass(PGconn *conn, struct principal *p, long long encounter_id,
                        const char *reason, const char *totp, int minutes, long long *patient_id,
                        struct ed_error *err)
{
    static const char secret_sql[] =
        "SELECT totp_secret, totp_last_step FROM account WHERE id = $1 AND totp_secret IS NOT NULL";
    static const char patient_sql[] = "SELECT patient_id FROM encounter WHERE id = $1";
    static const char grant_sql[] =
        "INSERT INTO break_glass (account_id, patient_id, reason, expires_at) "
        "VALUES ($1, $2, $3, now() + make_interval(mins => $4))";
    char acc[24], enc[24], pat[24], mins[24], stepbuf[24];
    const char *params[4];
    uint64_t step;
    PGresult *res;

    params[0] = pg_int_param(acc, p->account_id);
    res = pg_query(conn, secret_sql, 1, params);
    if (!pg_ok(conn, res, "break-glass factor")) {
        PQclear(res);
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        record_audit(conn, p, NULL, "break_glass", 0, encounter_id, "chart", "denied", true,
                     "no second factor enrolled", p->source_addr);
        return ed_error_set(err, ED_ERR_SECOND_FACTOR_NOT_ENROLLED, "totp",
                            "emergency access needs an enrolled second factor");
    }
    step = auth_totp_check(PQgetvalue(res, 0, 0), totp ? totp : "",
                           (uint64_t)time(NULL) / AUTH_TOTP_STEP_S,
                           (uint64_t)atoll(PQgetvalue(res, 0, 1)));
    PQclear(res);
    if (!step) {
        record_audit(conn, p, NULL, "break_glass", 0, encounter_id, "chart", "denied", true,
                     "wrong or reused code", p->source_addr);
        return ed_error_set(err, ED_ERR_TOTP_INVALID, "totp",
                            "the code is wrong or was already used");
    }
    params[0] = pg_int_param(enc, encounter_id);
    res = pg_query(conn, patient_sql, 1, params);
    if (!pg_ok(conn, res, "break-glass patient") || PQntuples(res) != 1) {
        PQclear(res);
        return ed_error_set(err, ED_ERR_NOT_FOUND, NULL, "no such encounter");
    }
    *patient_id = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    params[0] = pg_int_param(acc, p->account_id);
    params[1] = pg_int_param(pat, *patient_id);
    params[2] = reason;
    params[3] = pg_int_param(mins, minutes);
    if (!record_tx_begin(conn))
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    res = pg_query(conn, grant_sql, 4, params);
    if (!pg_ok(conn, res, "break-glass grant")) {
        PQclear(res);
        record_tx_rollback(conn);
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    }
    PQclear(res);
    {
        const char *step_params[] = {acc, pg_int_param(stepbuf, (long long)step)};
        res = pg_query(conn,
                       "UPDATE account SET totp_last_step = GREATEST(totp_last_step, $2) "
                       "WHERE id = $1",
                       2, step_params);
        pg_ok(conn, res, "break-glass step");
        PQclear(res);
    }
    if (!record_audit(conn, p, NULL, "break_glass", *patient_id, encounter_id, "chart", "success",
                      true, reason, p->source_addr) ||
        !record_tx_commit(conn)) {
        record_tx_rollback(conn);
        return ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
    }
    return load_session(conn, p, false) == SESSION_OK ||
           ed_error_set(err, ED_ERR_UNAVAILABLE, NULL, "try again");
}
