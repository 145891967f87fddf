#include "common/ids.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <string.h>
#include <time.h>

/* getrandom(2) costs a system call; a per-thread pool makes it one per 4096 bytes. The bytes
 * are handed out once each and never reused. ingest takes 40 per webhook (event id, trace and
 * span ids): with 256 it refilled every 6 requests (0.15 system calls per request). */
#define IDS_POOL 4096

static _Thread_local unsigned char ids_pool[IDS_POOL];
static _Thread_local size_t ids_pool_left;

static int ids_fill(unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int ids_random(void *buf, size_t len)
{
    unsigned char *out = buf;

    while (len > 0) {
        size_t take;

        if (ids_pool_left == 0) {
            int rc = ids_fill(ids_pool, IDS_POOL);

            if (rc < 0)
                return rc;
            ids_pool_left = IDS_POOL;
        }
        take = len < ids_pool_left ? len : ids_pool_left;
        memcpy(out, ids_pool + IDS_POOL - ids_pool_left, take);
        memset(ids_pool + IDS_POOL - ids_pool_left, 0, take);
        ids_pool_left -= take;
        out += take;
        len -= take;
    }
    return 0;
}

void ids_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int ids_uuid4(char out[IDS_UUID_LEN])
{
    unsigned char b[16];
    char hex[33];
    int rc = ids_random(b, sizeof(b));
    size_t o = 0;

    if (rc < 0)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    ids_hex(b, sizeof(b), hex);
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = hex[i];
    }
    out[o] = '\0';
    return 0;
}

static int64_t ids_clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ids_now_us(void)
{
    return ids_clock_us(CLOCK_REALTIME);
}

int64_t ids_now_ms(void)
{
    return ids_now_us() / 1000;
}

int64_t ids_mono_us(void)
{
    return ids_clock_us(CLOCK_MONOTONIC);
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm):
 * gmtime_r takes the time zone lock, and this runs once per webhook. */
static void ids_civil(int64_t days, int *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static char *ids_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void ids_rfc3339(int64_t us, char out[IDS_TIME_LEN])
{
    int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    unsigned sod = (unsigned)(secs - days * 86400);
    unsigned m, d;
    int y;
    char *p = out;

    ids_civil(days, &y, &m, &d);
    if (y < 0 || y > 9999) { /* outside RFC 3339: the epoch, visibly wrong rather than garbled */
        y = 1970;
        m = d = 1;
        sod = 0;
        ms = 0;
    }
    p = ids_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = ids_digits(p, m, 2);
    *p++ = '-';
    p = ids_digits(p, d, 2);
    *p++ = 'T';
    p = ids_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = ids_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = ids_digits(p, sod % 60, 2);
    *p++ = '.';
    p = ids_digits(p, (unsigned)(ms - secs * 1000), 3);
    *p++ = 'Z';
    *p = '\0';
}
