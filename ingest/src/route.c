#include "route.h"

#include <string.h>

#define ROUTE_PREFIX "/v1/uis/"

void route_parse(const char *url, struct route *out)
{
    const char *tenant, *slash, *token;
    size_t tlen, klen;

    memset(out, 0, sizeof(*out));
    out->kind = ROUTE_NOT_FOUND;
    if (!url || strncmp(url, ROUTE_PREFIX, strlen(ROUTE_PREFIX)) != 0)
        return;
    tenant = url + strlen(ROUTE_PREFIX);
    slash = strchr(tenant, '/');
    if (!slash)
        return;
    tlen = (size_t)(slash - tenant);
    token = slash + 1;
    klen = strlen(token);
    if (klen > 0 && token[klen - 1] == '/') /* a trailing slash pasted with the address */
        klen--;
    if (tlen == 0 || tlen >= sizeof(out->tenant) || klen == 0 || klen >= sizeof(out->token) ||
        memchr(token, '/', klen))
        return;
    memcpy(out->tenant, tenant, tlen);
    memcpy(out->token, token, klen);
    if (!wtoken_tenant_valid(out->tenant)) {
        memset(out, 0, sizeof(*out));
        out->kind = ROUTE_NOT_FOUND;
        return;
    }
    out->kind = ROUTE_WEBHOOK;
}
