/* SPDX-License-Identifier: MIT */
/* ed_error.h: the one error shape of every service: a code from the contract's table (which
 * fixes its HTTP status), the field at fault and a message for people. Rendered as
 * {"error":{...}}. The table is proto/README.md "Errors"; the enum is made from it. */
#ifndef EDLIVE_ED_ERROR_H
#define EDLIVE_ED_ERROR_H

#include <jansson.h>
#include <stdbool.h>

/* ED_ERROR_CODES(X): X(ED_ERR_<CODE>, HTTP status, "code") for each row of the error table in
 * proto/README.md, generated from it at build time (error_codes.cmake). */
#include "ed_error_codes.h"

enum ed_code {
    ED_OK = 0, /* no error: a zeroed struct ed_error */
#define ED_ERROR_ENUM(name, status, code) name,
    ED_ERROR_CODES(ED_ERROR_ENUM)
#undef ED_ERROR_ENUM
        ED_ERR_COUNT
};

struct ed_code_info {
    int status;
    const char *code;
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
