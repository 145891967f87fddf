/* RFC 3339 date-times as every topic carries them ("2026-11-25T11:40:10.123Z",
 * "...10+03:00"): the one reading of the contract, for every service. Strict on purpose: 'T' (or
 * 't') between date and time, seconds required, 1..9 fraction digits, 'Z'/'z' or ±HH:MM; the day
 * must exist in its month (leap years counted); second 60 (a leap second) is accepted. */
#ifndef COMMON_RFC3339_H
#define COMMON_RFC3339_H

#include <stdint.h>

/* Parse s into microseconds since the epoch (UTC); fraction digits beyond the sixth are
 * dropped. Returns 0, or -1 when s is not such a date-time (*us untouched). */
int rfc3339_parse(const char *s, int64_t *us);

/* 1 when rfc3339_parse accepts s. */
int rfc3339_valid(const char *s);

#endif
