#include "common/rfc3339.h"

#include <string.h>

/* n digits at s into *out. Returns 0, or -1 when one is not a digit. */
static int rfc3339_digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int rfc3339_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (no timegm: it depends on
 * the C library's range and is not in C17). */
static int64_t rfc3339_days(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

int rfc3339_parse(const char *s, int64_t *us)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, off_s = 0;
    int64_t frac_us = 0;
    const char *p;

    if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    if (rfc3339_digits(s, 4, &y) || rfc3339_digits(s + 5, 2, &mo) || rfc3339_digits(s + 8, 2, &d) ||
        rfc3339_digits(s + 11, 2, &h) || rfc3339_digits(s + 14, 2, &mi) ||
        rfc3339_digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && rfc3339_leap(y)) || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        int64_t scale = 100000;
        int n = 0;

        for (p++; *p >= '0' && *p <= '9'; p++, n++) {
            frac_us += (*p - '0') * scale;
            scale /= 10;
        }
        if (n == 0 || n > 9)
            return -1;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;

        if (strlen(p) != 6 || p[3] != ':' || rfc3339_digits(p + 1, 2, &oh) ||
            rfc3339_digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off_s = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *us = ((rfc3339_days(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec) - off_s) *
              1000000 +
          frac_us;
    return 0;
}

int rfc3339_valid(const char *s)
{
    int64_t us;

    return rfc3339_parse(s, &us) == 0;
}
