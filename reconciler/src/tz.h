/* UIS writes report dates as "YYYY-MM-DD hh:mm:ss" in the account's IANA time zone
 * (get.account's timezone). Conversions go through the C library's zone database (TZ + tzset):
 * not thread-safe, so only the reconciler's single work thread calls them. */
#ifndef RECONCILER_TZ_H
#define RECONCILER_TZ_H

#include <stdint.h>

#define TZ_LOCAL_LEN 20

/* 1 when the zone exists in the system's database (a wrong name would silently mean UTC). */
int tz_known(const char *tz);

/* Local time in tz -> microseconds since the epoch. Returns 0 or -1 (bad text or zone). */
int tz_local_to_us(const char *tz, const char *local, int64_t *us);

/* Microseconds since the epoch -> local "YYYY-MM-DD hh:mm:ss" in tz. Returns 0 or -1. */
int tz_us_to_local(const char *tz, int64_t us, char out[TZ_LOCAL_LEN]);

#endif
