/* SPDX-License-Identifier: MIT */
/* scan.c: the envelope of a hub frame or an API answer without a full JSON parse (edload.h). */
#include "edload.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct cursor {
    const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* After the opening quote: moves past the closing one. *escaped tells whether a backslash was
 * seen. False when the text ends first. */
static bool skip_string(struct cursor *c, bool *escaped)
{
    *escaped = false;
    while (c->p < c->end) {
        const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
        const char *b = memchr(c->p, '\\', q ? (size_t)(q - c->p) : (size_t)(c->end - c->p));
        if (b) {
            *escaped = true;
            c->p = b + 2;
            continue;
        }
        if (!q)
            return false;
        c->p = q + 1;
        return true;
    }
    return false;
}

/* Skips one JSON value of any kind (objects and arrays by depth, strings by their quotes). */
static bool skip_value(struct cursor *c)
{
    bool escaped;
    skip_ws(c);
    if (c->p >= c->end)
        return false;
    if (*c->p == '"') {
        c->p++;
        return skip_string(c, &escaped);
    }
    if (*c->p == '{' || *c->p == '[') {
        /* One pass over the bytes: brackets outside strings, strings by their quotes. */
        int depth = 0;
        const char *p = c->p, *end = c->end;
        while (p < end) {
            char ch = *p++;
            if (ch == '"') {
                for (;;) {
                    if (p >= end)
                        return false;
                    char sc = *p++;
                    if (sc == '\\')
                        p++;
                    else if (sc == '"')
                        break;
                }
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (--depth == 0) {
                    c->p = p;
                    return true;
                }
            }
        }
        return false;
    }
    /* number, true, false, null */
    const char *start = c->p;
    while (c->p < c->end && *c->p != ',' && *c->p != '}' && *c->p != ']' && *c->p != ' ' &&
           *c->p != '\n' && *c->p != '\r' && *c->p != '\t')
        c->p++;
    return c->p > start;
}

/* An integer value; *ok false for null, a fraction or anything else (the value is still
 * skipped). */
static bool read_int(struct cursor *c, long long *out, bool *ok)
{
    const char *start = c->p;
    if (!skip_value(c))
        return false;
    const char *s = start, *e = c->p;
    bool neg = false;
    long long v = 0;
    *ok = false;
    if (s < e && *s == '-') {
        neg = true;
        s++;
    }
    if (s == e || e - s > 18)
        return true;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return true;
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    *ok = true;
    return true;
}

/* A string value copied raw into out (cap bytes); false when it is not a plain string that fits. */
static bool read_str(struct cursor *c, char *out, size_t cap, bool *ok)
{
    bool escaped;
    *ok = false;
    if (c->p >= c->end || *c->p != '"')
        return skip_value(c);
    const char *start = ++c->p;
    if (!skip_string(c, &escaped))
        return false;
    size_t n = (size_t)(c->p - 1 - start);
    if (escaped || n >= cap)
        return false; /* the full parse decodes it */
    memcpy(out, start, n);
    out[n] = '\0';
    *ok = true;
    return true;
}

/* In the tops object's text: the number after "key":, or -1. */
static long long top_in(const char *obj, size_t len, const char *key)
{
    char quoted[48];
    int qn = snprintf(quoted, sizeof quoted, "\"%s\"", key);
    if (qn <= 0 || (size_t)qn >= sizeof quoted)
        return -1;
    const char *end = obj + len, *p = obj;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), quoted, (size_t)qn);
        if (!hit)
            return -1;
        struct cursor c = {hit + qn, end};
        skip_ws(&c);
        if (c.p < c.end && *c.p == ':') {
            c.p++;
            skip_ws(&c);
            long long v;
            bool ok;
            if (read_int(&c, &v, &ok) && ok)
                return v;
            return -1;
        }
        p = hit + 1;
    }
    return -1;
}

static void envelope_clear(struct envelope *env)
{
    memset(env, 0, sizeof *env);
    env->top = -1;
}

bool envelope_scan(const char *text, size_t len, unsigned want, const char *top_key,
                   struct envelope *env)
{
    struct cursor c = {text, text + len};
    envelope_clear(env);
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return false;
    c.p++;
    for (;;) {
        skip_ws(&c);
        if (c.p >= c.end)
            return false;
        if (*c.p == '}')
            return true;
        if (*c.p != '"')
            return false;
        const char *key = ++c.p;
        bool escaped;
        if (!skip_string(&c, &escaped))
            return false;
        size_t klen = (size_t)(c.p - 1 - key);
        skip_ws(&c);
        if (c.p >= c.end || *c.p != ':')
            return false;
        c.p++;
        skip_ws(&c);
        unsigned bit = 0;
        long long *num = NULL;
        char *str = NULL;
        size_t cap = 0;
#define KEY(lit) (klen == sizeof(lit) - 1 && memcmp(key, lit, klen) == 0)
        if (KEY("type"))
            bit = ENV_TYPE, str = env->type, cap = sizeof env->type;
        else if (KEY("department_id"))
            bit = ENV_DEPT, num = &env->department_id;
        else if (KEY("seq"))
            bit = ENV_SEQ, num = &env->seq;
        else if (KEY("encounter_id"))
            bit = ENV_ENC, num = &env->encounter_id;
        else if (KEY("version"))
            bit = ENV_VERSION, num = &env->version;
        else if (KEY("at"))
            bit = ENV_AT, str = env->at, cap = sizeof env->at;
        else if (KEY("mode"))
            bit = ENV_MODE, str = env->mode, cap = sizeof env->mode;
        else if (KEY("code"))
            bit = ENV_CODE, str = env->code, cap = sizeof env->code;
        else if (KEY("since"))
            bit = ENV_SINCE, num = &env->since;
        else if (KEY("tops"))
            bit = ENV_TOPS;
#undef KEY
        bool ok = false;
        if (!(want & bit)) {
            if (!skip_value(&c))
                return false;
        } else if (num) {
            if (!read_int(&c, num, &ok))
                return false;
        } else if (str) {
            if (!read_str(&c, str, cap, &ok))
                return false;
        } else { /* tops */
            const char *start = c.p;
            if (!skip_value(&c))
                return false;
            ok = *start == '{';
            if (ok && top_key)
                env->top = top_in(start, (size_t)(c.p - start), top_key);
        }
        if (ok)
            env->have |= bit;
        if ((env->have & want) == want)
            return true;
        skip_ws(&c);
        if (c.p >= c.end)
            return false;
        if (*c.p == ',')
            c.p++;
        else if (*c.p == '}')
            return true;
        else
            return false;
    }
}

static void full_str(json_t *root, const char *key, char *out, size_t cap, unsigned bit,
                     struct envelope *env)
{
    const char *s = json_string_value(json_object_get(root, key));
    if (s && strlen(s) < cap) {
        strcpy(out, s);
        env->have |= bit;
    }
}

static void full_int(json_t *root, const char *key, long long *out, unsigned bit,
                     struct envelope *env)
{
    json_t *v = json_object_get(root, key);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        env->have |= bit;
    }
}

bool envelope_parse(const char *text, size_t len, unsigned want, const char *top_key,
                    struct envelope *env)
{
    if (envelope_scan(text, len, want, top_key, env))
        return true;
    envelope_clear(env);
    env->full_parse = true;
    json_t *root = json_loadb(text, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return false;
    }
    full_str(root, "type", env->type, sizeof env->type, ENV_TYPE, env);
    full_str(root, "at", env->at, sizeof env->at, ENV_AT, env);
    full_str(root, "mode", env->mode, sizeof env->mode, ENV_MODE, env);
    full_str(root, "code", env->code, sizeof env->code, ENV_CODE, env);
    full_int(root, "department_id", &env->department_id, ENV_DEPT, env);
    full_int(root, "seq", &env->seq, ENV_SEQ, env);
    full_int(root, "encounter_id", &env->encounter_id, ENV_ENC, env);
    full_int(root, "version", &env->version, ENV_VERSION, env);
    full_int(root, "since", &env->since, ENV_SINCE, env);
    json_t *tops = json_object_get(root, "tops");
    if (json_is_object(tops)) {
        env->have |= ENV_TOPS;
        json_t *t = top_key ? json_object_get(tops, top_key) : NULL;
        if (json_is_integer(t))
            env->top = json_integer_value(t);
    }
    json_decref(root);
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool rfc3339_ms(const char *s, int64_t *ms, bool *has_ms)
{
    int y, mo, d, h, mi, se;
    *has_ms = false;
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return false;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
        return false;
    const char *p = s + 19;
    int64_t frac_ms = 0;
    if (*p == '.') {
        int scale = 100, n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (n == 0)
            return false;
        *has_ms = true;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return false;
        offset_s = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
    *ms = secs * 1000 + frac_ms;
    return true;
}
