#include "common/ids.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

int ids_random(void *buf, size_t len)
{
    unsigned char *p = buf;

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

    if (rc < 0)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    ids_hex(b, sizeof(b), hex);
    snprintf(out, IDS_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
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

int64_t ids_mono_us(void)
{
    return ids_clock_us(CLOCK_MONOTONIC);
}

void ids_rfc3339(int64_t us, char out[IDS_TIME_LEN])
{
    time_t secs = (time_t)(us / 1000000);
    char base[24];
    struct tm tm;

    gmtime_r(&secs, &tm);
    if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        base[0] = '\0';
    snprintf(out, IDS_TIME_LEN, "%s.%03dZ", base, (int)((us / 1000) % 1000));
}
