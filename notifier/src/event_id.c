#include "event_id.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int evid_format(const struct evid *id, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%" PRId32 "-%" PRId64, id->partition, id->offset);

    return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

/* Parse digits [s, s+n) into a non-negative value not above max. */
static int evid_digits(const char *s, size_t n, int64_t max, int64_t *out)
{
    int64_t v = 0;

    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d;

        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = s[i] - '0';
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int evid_parse(const char *s, struct evid *out)
{
    const char *dash;
    int64_t p, o;

    if (!s)
        return -1;
    dash = strchr(s, '-');
    if (!dash || evid_digits(s, (size_t)(dash - s), INT32_MAX, &p) < 0 ||
        evid_digits(dash + 1, strlen(dash + 1), INT64_MAX, &o) < 0)
        return -1;
    out->partition = (int32_t)p;
    out->offset = o;
    return 0;
}

int evid_cmp(const struct evid *a, const struct evid *b)
{
    if (a->partition != b->partition)
        return a->partition < b->partition ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return 0;
}

int evid_from_request(const char *header, const char *query, struct evid *out)
{
    const char *s = (header && *header) ? header : (query && *query) ? query : NULL;

    if (!s)
        return 0;
    return evid_parse(s, out) == 0 ? 1 : -1;
}
