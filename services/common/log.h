/* SPDX-License-Identifier: MIT */
/* log.h: one line per message, to stderr or EDLIVE_LOG_FILE. Format EDLIVE_LOG_FORMAT: `json`
 * (default: one JSON object a line: time, level, service, msg, and any fields given) or `text`
 * (a readable line). Messages below EDLIVE_LOG_LEVEL are dropped. Never pass patient names,
 * MRNs, birth dates or note text: log ids, sizes and outcomes only. Thread-safe. */
#ifndef EDLIVE_LOG_H
#define EDLIVE_LOG_H

#include <stdbool.h>
#include <stddef.h>

void log_init(const char *service_name);
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg("debug", __VA_ARGS__)
#define log_info(...)  log_msg("info", __VA_ARGS__)
#define log_warn(...)  log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

/* The lowest level written: "debug", "info", "warn" or "error" (default "info"); false, and
 * nothing changed, for any other name. */
bool log_set_level(const char *name);
const char *log_level_name(void);
bool log_enabled(const char *level);
/* "json" or "text"; false for any other name. */
bool log_set_format(const char *name);
/* Appends to path from now on (NULL: stderr); false (nothing changed) when it cannot be
 * opened. log_reopen opens the same path again (after logrotate moved it: SIGHUP). */
bool log_set_file(const char *path);
void log_reopen(void);

/* One event with fields: keys and values in pairs, ended by NULL. A value is written as a JSON
 * string, except one made by LOG_NUM (a number) or LOG_NULL. In text format: "msg k=v k=v". */
#define LOG_NUM  "\x01" /* prefix: LOG_NUM "42" is the number 42 */
#define LOG_NULL "\x02"
void log_fields(const char *level, const char *msg, ...) __attribute__((sentinel));

/* The text to send in json (escaped, quoted) into out; false when it does not fit. */
bool log_json_string(const char *text, char *out, size_t cap);

/* An incoming X-Request-Id worth keeping (ed-api, ed-hub): 1 to LOG_REQUEST_ID_MAX characters
 * of [A-Za-z0-9._-] (nginx's $request_id is 32 hex digits). Anything else is replaced or dropped
 * by the caller, and never logged. */
#define LOG_REQUEST_ID_MAX 64
bool log_request_id_is_sane(const char *id, size_t len);

#endif
