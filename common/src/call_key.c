#include "common/call_key.h"

#include <stdio.h>

int call_key_format(char *out, size_t outlen, const char *tenant, const char *from,
                    const char *call_id)
{
    int n;

    if (from && from[0])
        n = snprintf(out, outlen, "%s:%s", tenant, from);
    else
        n = snprintf(out, outlen, "%s:call:%s", tenant, call_id);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
