#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int tz_known(const char *tz)
{
    char path[256];
    int n;

    if (!tz || !tz[0] || tz[0] == '/' || strstr(tz, ".."))
        return 0;
    if (strcmp(tz, "UTC") == 0)
        return 1;
    n = snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
    return n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0;
}

static int tz_set(const char *tz)
{
    if (!tz_known(tz) || setenv("TZ", tz, 1) != 0)
        return -1;
    tzset();
    return 0;
}

int tz_local_to_us(const char *tz, const char *local, int64_t *us)
{
    struct tm tm;
    char tail;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(local, "%4d-%2d-%2d %2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 6 ||
        tz_set(tz) < 0)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1; /* the zone's rules decide */
    t = mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *us = (int64_t)t * 1000000;
    return 0;
}

int tz_us_to_local(const char *tz, int64_t us, char out[TZ_LOCAL_LEN])
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    if (tz_set(tz) < 0 || !localtime_r(&t, &tm))
        return -1;
    return strftime(out, TZ_LOCAL_LEN, "%Y-%m-%d %H:%M:%S", &tm) == TZ_LOCAL_LEN - 1 ? 0 : -1;
}
