/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *service = "edlive";

/* Stub (helper L implements the real one): levels in order, the lowest written. */
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static volatile int min_level = 1;

static int level_index(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(level_names[i], name))
            return i;
    return -1;
}

bool log_set_level(const char *name)
{
    int i = name ? level_index(name) : -1;

    if (i < 0)
        return false;
    min_level = i;
    return true;
}

const char *log_level_name(void)
{
    return level_names[min_level];
}

void log_reopen(void)
{
}

void log_init(const char *service_name)
{
    service = service_name;
    setvbuf(stderr, NULL, _IOLBF, 0);
}

void log_msg(const char *level, const char *fmt, ...)
{
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int level_i = level_index(level);

    if (level_i >= 0 && level_i < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    flockfile(stderr); /* one line, whole, when two threads log at once (ed-hub, ed-mllp) */
    fprintf(stderr, "%s.%03ldZ %s %s: ", stamp, ts.tv_nsec / 1000000, service, level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}
