#include "cors.h"

#include <string.h>

int cors_allowed(const char *allowed, const char *origin)
{
    size_t olen;
    const char *p;

    if (!allowed || !origin || !*origin)
        return 0;
    if (strcmp(allowed, "*") == 0)
        return 1;
    olen = strlen(origin);
    for (p = allowed; *p;) {
        size_t n = strcspn(p, ",");
        const char *s = p;
        size_t k = n;

        while (k && *s == ' ') {
            s++;
            k--;
        }
        while (k && s[k - 1] == ' ')
            k--;
        if (k == olen && memcmp(s, origin, olen) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

int cors_credentials(const char *allowed)
{
    return allowed && *allowed && strcmp(allowed, "*") != 0;
}
