/* SPDX-License-Identifier: MIT */
#include "ed_error.h"

#include <stdarg.h>
#include <stdio.h>

bool ed_error_set(struct ed_error *err, int status, const char *code, const char *field,
                  const char *fmt, ...)
{
    va_list ap;

    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

json_t *ed_error_json(const struct ed_error *err)
{
    return json_pack("{s:{s:i,s:s,s:o,s:s}}", "error", "status", err->status, "code", err->code,
                     "field", err->field[0] ? json_string(err->field) : json_null(), "message",
                     err->message);
}
