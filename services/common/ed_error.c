/* SPDX-License-Identifier: MIT */
#include "ed_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A field path cut to fit (here or by the caller's buffer) may end inside a multi-byte
 * character; drop that partial character so the field stays a valid JSON string. */
static void trim_partial_utf8(char *s)
{
    size_t n = strlen(s), lead = n;
    size_t need;

    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0 || !((unsigned char)s[lead - 1] & 0x80))
        return; /* ends in ASCII (or has no lead byte at all) */
    lead--;
    need = ((unsigned char)s[lead] & 0xE0) == 0xC0   ? 2
           : ((unsigned char)s[lead] & 0xF0) == 0xE0 ? 3
                                                     : 4;
    if (n - lead < need)
        s[lead] = '\0';
}

const struct ed_code_info ed_codes[ED_ERR_COUNT] = {
#define ED_ERROR_ROW(name, status, code) [name] = {status, code},
    ED_ERROR_CODES(ED_ERROR_ROW)
#undef ED_ERROR_ROW
};

bool ed_error_set(struct ed_error *err, enum ed_code id, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (id <= ED_OK || id >= ED_ERR_COUNT)
        id = ED_ERR_UNAVAILABLE; /* a caller's bug must still read as an error */
    err->id = id;
    err->status = ed_codes[id].status;
    err->code = ed_codes[id].code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    trim_partial_utf8(err->field);
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
