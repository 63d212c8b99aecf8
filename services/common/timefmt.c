/* SPDX-License-Identifier: MIT */
#include "timefmt.h"

#include <ctype.h>
#include <string.h>

/* Reads exactly n digits at s into *out. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

static bool date_prefix(const char *s)
{
    int y, m, d;

    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    return y >= 1850 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

bool timefmt_is_date(const char *s)
{
    return strlen(s) == 10 && date_prefix(s);
}

bool timefmt_is_datetime(const char *s)
{
    int h, mi, sec, oh, om;
    const char *p;

    if (strlen(s) < 20 || !date_prefix(s) || (s[10] != 'T' && s[10] != 't'))
        return false;
    if (!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return false;
    if (h > 23 || mi > 59 || sec > 59)
        return false;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        for (int n = 0; isdigit((unsigned char)*p); p++)
            if (++n > 9)
                return false;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    if ((*p != '+' && *p != '-') || !digits(p + 1, 2, &oh) || p[3] != ':' ||
        !digits(p + 4, 2, &om) || p[6] != '\0')
        return false;
    return oh <= 23 && om <= 59;
}
