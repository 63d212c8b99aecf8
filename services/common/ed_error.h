/* SPDX-License-Identifier: MIT */
/* ed_error.h: the one error shape of every service: a code from the table below (which fixes
 * its HTTP status), the field at fault and a message for people. Rendered as {"error":{...}}.
 * The table is the contract: proto/README.md "Errors" lists the same rows, and a unit test
 * (test_ed_error) fails when the two differ. */
#ifndef EDLIVE_ED_ERROR_H
#define EDLIVE_ED_ERROR_H

#include <jansson.h>
#include <stdbool.h>

/* X(name, HTTP status, code on the wire, when) */
#define ED_ERROR_CODES(X)                                                                          \
    X(ED_ERR_MALFORMED_JSON, 400, "malformed_json",                                                \
      "the body (or a WebSocket message) is not JSON, or is nested deeper than 8 levels")          \
    X(ED_ERR_INVALID_HEADER, 400, "invalid_header",                                                \
      "a malformed `If-Match` or `Idempotency-Key` (field names the header)")                      \
    X(ED_ERR_INVALID_PARAMETER, 400, "invalid_parameter",                                          \
      "a query parameter is malformed or out of range (field names it)")                           \
    X(ED_ERR_UNAUTHENTICATED, 401, "unauthenticated",                                              \
      "no session, or it has expired, idled out or been ended: sign in again")                     \
    X(ED_ERR_WRONG_CREDENTIALS, 401, "wrong_credentials", "wrong username or password")            \
    X(ED_ERR_TOTP_REQUIRED, 401, "totp_required",                                                  \
      "the account has a second factor: send `totp`, the 6-digit code")                            \
    X(ED_ERR_TOTP_INVALID, 401, "totp_invalid", "the 6-digit code is wrong or already used")       \
    X(ED_ERR_FORBIDDEN, 403, "forbidden",                                                          \
      "the account's role may not do this (the audit log records the refusal)")                    \
    X(ED_ERR_ORIGIN_NOT_ALLOWED, 403, "origin_not_allowed",                                        \
      "a write with the session cookie, or a WebSocket, from a page not in "                       \
      "`EDLIVE_ALLOWED_ORIGINS`")                                                                  \
    X(ED_ERR_ACCOUNT_DISABLED, 403, "account_disabled", "the account is disabled")                 \
    X(ED_ERR_SECOND_FACTOR_NOT_ENROLLED, 403, "second_factor_not_enrolled",                        \
      "an admin account, or emergency (break-glass) access, needs an enrolled second factor")      \
    X(ED_ERR_ACCESS_ENDED, 403, "access_ended",                                                    \
      "a followed chart is no longer in the account's scope (its break-glass grant ended)")        \
    X(ED_ERR_NOT_FOUND, 404, "not_found",                                                          \
      "unknown route, or an id that does not exist or is outside the account's scope")             \
    X(ED_ERR_METHOD_NOT_ALLOWED, 405, "method_not_allowed",                                        \
      "known path, wrong method (the `Allow` header lists the right ones)")                        \
    X(ED_ERR_CONFLICT, 409, "conflict",                                                            \
      "the bed is occupied, the encounter has already departed, the MRN exists with another name") \
    X(ED_ERR_VERSION_CONFLICT, 409, "version_conflict",                                            \
      "`If-Match` names an older version: the body also has `\"current\"`, the row now")           \
    X(ED_ERR_LENGTH_REQUIRED, 411, "length_required",                                              \
      "a body sent chunked (send `Content-Length`)")                                               \
    X(ED_ERR_BODY_TOO_LARGE, 413, "body_too_large", "a body over 16 KiB")                          \
    X(ED_ERR_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type",                                \
      "a body without `Content-Type: application/json`")                                           \
    X(ED_ERR_MISSING_FIELD, 422, "missing_field", "a required field is absent")                    \
    X(ED_ERR_UNKNOWN_FIELD, 422, "unknown_field", "a field the schema does not have")              \
    X(ED_ERR_WRONG_TYPE, 422, "wrong_type", "a field of the wrong JSON type")                      \
    X(ED_ERR_OUT_OF_RANGE, 422, "out_of_range", "a number or time outside its allowed range")      \
    X(ED_ERR_INVALID_VALUE, 422, "invalid_value",                                                  \
      "a value that is not one of those allowed (an enum, a date, a pattern)")                     \
    X(ED_ERR_TOO_LONG, 422, "too_long", "a string longer than its schema allows")                  \
    X(ED_ERR_UNKNOWN_REFERENCE, 422, "unknown_reference",                                          \
      "a bed or staff id that does not exist in the department")                                   \
    X(ED_ERR_IMPLAUSIBLE_VALUE, 422, "implausible_value",                                          \
      "a vital sign outside the plausible range: resend with `confirm: {field: true}`")            \
    X(ED_ERR_IDEMPOTENCY_REPLAY, 409, "idempotency_replay",                                        \
      "never sent: a retry that raced its original is answered with the original's reply")         \
    X(ED_ERR_IDEMPOTENCY_KEY_REUSED, 422, "idempotency_key_reused",                                \
      "the `Idempotency-Key` was used for a different request")                                    \
    X(ED_ERR_TOO_MANY_ATTEMPTS, 429, "too_many_attempts",                                          \
      "too many failed sign-ins from this address or for this account: wait (`Retry-After`)")      \
    X(ED_ERR_TOO_MANY_SUBSCRIPTIONS, 429, "too_many_subscriptions",                                \
      "a WebSocket may follow at most 8 topics")                                                   \
    X(ED_ERR_SCHEMA_ERROR, 500, "schema_error",                                                    \
      "the service's own JSON Schemas (proto/) are missing or broken: an operator's fault")        \
    X(ED_ERR_UNAVAILABLE, 503, "unavailable",                                                      \
      "the record (PostgreSQL) cannot be reached, or the service is out of a resource: try again")

enum ed_code {
    ED_OK = 0, /* no error: a zeroed struct ed_error */
#define ED_ERROR_ENUM(name, status, code, when) name,
    ED_ERROR_CODES(ED_ERROR_ENUM)
#undef ED_ERROR_ENUM
        ED_ERR_COUNT
};

struct ed_code_info {
    int status;
    const char *code;
    const char *when;
};

/* Indexed by enum ed_code (ED_OK's row is empty). */
extern const struct ed_code_info ed_codes[ED_ERR_COUNT];

struct ed_error {
    enum ed_code id;   /* ED_OK when no error */
    int status;        /* HTTP status, from the table */
    const char *code;  /* e.g. "out_of_range", from the table */
    char field[128];   /* dotted path, e.g. "patient.birth_date"; empty when none */
    char message[256]; /* never contains patient data */
};

/* Fills err; field may be NULL or "". Always returns false, so callers can
 * `return ed_error_set(...)` from a bool function. */
bool ed_error_set(struct ed_error *err, enum ed_code id, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* New reference: {"error":{"status":..,"code":..,"field":..|null,"message":..}}. */
json_t *ed_error_json(const struct ed_error *err);

#endif
