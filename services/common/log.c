/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *service = "edlive";
static const char *const level_names[] = {"debug", "info", "warn", "error"};
#define LEVEL_COUNT 4
static volatile int min_level = 1; /* info */
static volatile bool json_format = true;

/* The file (EDLIVE_LOG_FILE) or stderr; swapped under the lock on a reopen. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;
static char *out_path;

static int level_index(const char *name)
{
    for (int i = 0; name && i < LEVEL_COUNT; i++)
        if (!strcmp(level_names[i], name))
            return i;
    return -1;
}

void log_init(const char *service_name)
{
    service = service_name;
    setvbuf(stderr, NULL, _IOLBF, 0);
}

bool log_set_level(const char *name)
{
    int i = level_index(name);

    if (i < 0)
        return false;
    min_level = i;
    return true;
}

const char *log_level_name(void)
{
    return level_names[min_level];
}

bool log_enabled(const char *level)
{
    int i = level_index(level);

    return i < 0 || i >= min_level; /* an unknown level is never dropped */
}

bool log_set_format(const char *name)
{
    if (!name || (strcmp(name, "json") != 0 && strcmp(name, "text") != 0))
        return false;
    json_format = !strcmp(name, "json");
    return true;
}

static FILE *open_log(const char *path)
{
    FILE *f = fopen(path, "a");

    if (f)
        setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

bool log_set_file(const char *path)
{
    FILE *f = NULL;
    char *copy = NULL;

    if (path && path[0] && (!(copy = strdup(path)) || !(f = open_log(path)))) {
        free(copy);
        return false;
    }
    pthread_mutex_lock(&out_lock);
    if (out)
        fclose(out);
    free(out_path);
    out = f;
    out_path = copy;
    pthread_mutex_unlock(&out_lock);
    return true;
}

void log_reopen(void)
{
    pthread_mutex_lock(&out_lock);
    if (out_path) {
        FILE *f = open_log(out_path);
        if (f) { /* else keep writing where we were */
            fclose(out);
            out = f;
        }
    }
    pthread_mutex_unlock(&out_lock);
}

bool log_json_string(const char *text, char *buf, size_t cap)
{
    size_t n = 0;

#define PUT(c)                \
    do {                      \
        if (n + 1 >= cap)     \
            return false;     \
        buf[n++] = (char)(c); \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') {
            PUT('\\');
            PUT(*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            for (char *e = esc; *e; e++)
                PUT(*e);
        } else {
            PUT(*p); /* UTF-8 passes as is; messages are ASCII in practice */
        }
    }
    PUT('"');
    buf[n] = '\0';
#undef PUT
    return true;
}

static void stamp_now(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    char secs[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03ldZ", secs, ts.tv_nsec / 1000000);
}

/* Writes one whole line (json: the object; text: the readable form) under the lock, so two
 * threads never interleave. fields: "k1", "v1", ... already rendered (json: JSON values;
 * text: plain). */
static void emit(const char *level, const char *msg, const char *const *fields, int nfields)
{
    char stamp[40];
    FILE *f;

    stamp_now(stamp, sizeof stamp);
    pthread_mutex_lock(&out_lock);
    f = out ? out : stderr;
    if (json_format) {
        static char quoted[8192]; /* under out_lock */
        fprintf(f, "{\"time\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"msg\":", stamp, level,
                service);
        fputs(log_json_string(msg, quoted, sizeof quoted) ? quoted : "\"(message too long)\"", f);
        for (int i = 0; i + 1 < nfields; i += 2)
            fprintf(f, ",\"%s\":%s", fields[i], fields[i + 1]);
        fputs("}\n", f);
    } else {
        fprintf(f, "%s %s %s: %s", stamp, service, level, msg);
        for (int i = 0; i + 1 < nfields; i += 2)
            fprintf(f, " %s=%s", fields[i], fields[i + 1]);
        fputc('\n', f);
    }
    pthread_mutex_unlock(&out_lock);
}

void log_msg(const char *level, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, msg, NULL, 0);
}

#define LOG_MAX_FIELDS 16

void log_fields(const char *level, const char *msg, ...)
{
    const char *fields[2 * LOG_MAX_FIELDS];
    char values[LOG_MAX_FIELDS][256];
    int n = 0;
    va_list ap;

    if (!log_enabled(level))
        return;
    va_start(ap, msg);
    for (const char *key; n < 2 * LOG_MAX_FIELDS && (key = va_arg(ap, const char *));) {
        const char *value = va_arg(ap, const char *);
        char *rendered = values[n / 2];
        if (!value || !strcmp(value, LOG_NULL))
            snprintf(rendered, sizeof values[0], "%s", json_format ? "null" : "-");
        else if (value[0] == LOG_NUM[0])
            snprintf(rendered, sizeof values[0], "%s", value + 1);
        else if (!json_format)
            snprintf(rendered, sizeof values[0], "%s", value);
        else if (!log_json_string(value, rendered, sizeof values[0]))
            snprintf(rendered, sizeof values[0], "\"(too long)\"");
        fields[n++] = key;
        fields[n++] = rendered;
    }
    va_end(ap);
    emit(level, msg, fields, n);
}

bool log_request_id_is_sane(const char *id, size_t len)
{
    static const char allowed[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

    return len > 0 && len <= LOG_REQUEST_ID_MAX && strlen(id) == len && strspn(id, allowed) == len;
}
