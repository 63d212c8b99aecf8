/* SPDX-License-Identifier: MIT */
/* timefmt.h: strict checks of the date formats on the wire (proto/README.md). */
#ifndef EDLIVE_TIMEFMT_H
#define EDLIVE_TIMEFMT_H

#include <stdbool.h>

/* "YYYY-MM-DD", a real calendar date, years 1850-2999. */
bool timefmt_is_date(const char *s);

/* RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". */
bool timefmt_is_datetime(const char *s);

#endif
