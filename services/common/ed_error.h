/* SPDX-License-Identifier: MIT */
/* ed_error.h: the one error shape of every service: HTTP status, a stable code, the field at
 * fault and a message for people. Rendered as {"error":{...}} (proto/README.md, Errors). */
#ifndef EDLIVE_ED_ERROR_H
#define EDLIVE_ED_ERROR_H

#include <jansson.h>
#include <stdbool.h>

struct ed_error {
    int status;        /* HTTP status, e.g. 422 */
    char code[32];     /* e.g. "out_of_range" */
    char field[128];   /* dotted path, e.g. "patient.birth_date"; empty when none */
    char message[256]; /* never contains patient data */
};

/* Fills err; field may be NULL or "". Always returns false, so callers can
 * `return ed_error_set(...)` from a bool function. */
bool ed_error_set(struct ed_error *err, int status, const char *code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* New reference: {"error":{"status":..,"code":..,"field":..|null,"message":..}}. */
json_t *ed_error_json(const struct ed_error *err);

#endif
