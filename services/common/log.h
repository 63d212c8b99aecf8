/* SPDX-License-Identifier: MIT */
/* log.h: one-line logs to stderr with time and level. Never pass patient names, MRNs,
 * birth dates or note text: log ids, sizes and outcomes only. */
#ifndef EDLIVE_LOG_H
#define EDLIVE_LOG_H

#include <stdbool.h>

void log_init(const char *service_name);
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The lowest level written: "debug", "info", "warn" or "error" (default "info"); false, and
 * nothing changed, for any other name. */
bool log_set_level(const char *name);
const char *log_level_name(void);
/* Reopens the log file, if logs go to one (SIGHUP, after logrotate); stderr: nothing to do. */
void log_reopen(void);

#define log_debug(...) log_msg("debug", __VA_ARGS__)
#define log_info(...)  log_msg("info", __VA_ARGS__)
#define log_warn(...)  log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

#endif
