#include "auth.h"

#include "common/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_TOKEN_MAX 2048

enum auth_source auth_pick(const char *authorization, const char *cookie, const char *query,
                           const char **token, size_t *len)
{
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *t = authorization + 7;
        size_t n;

        t += strspn(t, " ");
        n = strcspn(t, " \t");
        if (n > 0) {
            *token = t;
            *len = n;
            return AUTH_HEADER;
        }
    }
    if (cookie && *cookie) {
        *token = cookie;
        *len = strlen(cookie);
        return AUTH_COOKIE;
    }
    if (query && *query) {
        *token = query;
        *len = strlen(query);
        return AUTH_QUERY;
    }
    *token = NULL;
    *len = 0;
    return AUTH_NONE;
}

int auth_verify(const struct keyring *keys, const char *token, size_t len, long now,
                struct auth_user *who, char *err, size_t errlen)
{
    char buf[AUTH_TOKEN_MAX];
    struct jwt_claims c;
    char *end;
    long long uid;

    memset(who, 0, sizeof(*who));
    if (!token || len == 0) {
        snprintf(err, errlen, "token missing");
        return -1;
    }
    if (len >= sizeof(buf)) {
        snprintf(err, errlen, "token too long");
        return -1;
    }
    memcpy(buf, token, len);
    buf[len] = '\0';
    if (jwt_keyring_verify(keys, buf, now, &c, err, errlen) != JWT_OK)
        return -1;
    if (c.sub[0] < '0' || c.sub[0] > '9') {
        snprintf(err, errlen, "token sub is not a user id");
        return -1;
    }
    uid = strtoll(c.sub, &end, 10);
    if (*end || uid < 0 || strlen(c.tenant) >= sizeof(who->tenant)) {
        snprintf(err, errlen, "token sub is not a user id");
        return -1;
    }
    snprintf(who->tenant, sizeof(who->tenant), "%s", c.tenant);
    snprintf(who->user, sizeof(who->user), "%lld", uid);
    who->exp = c.exp;
    who->gen = c.gen;
    return 0;
}

int auth_user_key(const char *tenant, const char *user, char *out, size_t outlen)
{
    /* \x1f cannot occur in a tenant id, so (a, "b\x1fc") and ("a\x1fb", c) never collide. */
    int n;

    if (strchr(tenant, '\x1f'))
        return -1;
    n = snprintf(out, outlen, "%s\x1f%s", tenant, user);
    return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}
