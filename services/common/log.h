/* SPDX-License-Identifier: MIT */
/* log.h: one-line logs to stderr with time and level. Never pass patient names, MRNs,
 * birth dates or note text: log ids, sizes and outcomes only. */
#ifndef EDLIVE_LOG_H
#define EDLIVE_LOG_H

void log_init(const char *service_name);
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_info(...)  log_msg("info", __VA_ARGS__)
#define log_warn(...)  log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

#endif
