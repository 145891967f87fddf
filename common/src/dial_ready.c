#include "common/dial_ready.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dialready_fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -1;
}

/* A tenant id never holds '/', the separator of a user record's key. */
static int dialready_tenant_valid(const char *t)
{
    size_t n = strlen(t);

    return n > 0 && n < DIALREADY_TENANT_MAX && !strchr(t, '/');
}

static char *dialready_dump(json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(v);
    return text;
}

char *dialready_tenant_value(const char *tenant, int uis_key)
{
    if (!dialready_tenant_valid(tenant))
        return NULL;
    return dialready_dump(json_pack("{s:s, s:b}", "tenant", tenant, "uis_key", uis_key));
}

char *dialready_user_value(const char *tenant, long long user_id, long long employee_id)
{
    char uid[24];

    if (!dialready_tenant_valid(tenant) || user_id < 1)
        return NULL;
    snprintf(uid, sizeof(uid), "%lld", user_id);
    return dialready_dump(json_pack("{s:s, s:s, s:o}", "tenant", tenant, "user_id", uid,
                                    "uis_employee_id",
                                    employee_id > 0 ? json_integer(employee_id) : json_null()));
}

static int dialready_user_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= DIALREADY_USER_MAX || s[0] == '0')
        return 0;
    return strspn(s, "0123456789") == n;
}

/* The user record's fields into out; 0 or -1 with the reason. */
static int dialready_parse_user(json_t *v, struct dialready_rec *out, char *err, size_t errlen)
{
    const char *user;
    json_t *emp = json_object_get(v, "uis_employee_id");

    if (json_unpack(v, "{s:s}", "user_id", &user) < 0 || !dialready_user_valid(user))
        return dialready_fail(err, errlen, "user_id is not a positive decimal string");
    if (!emp || (!json_is_null(emp) && (!json_is_integer(emp) || json_integer_value(emp) < 1)))
        return dialready_fail(err, errlen, "uis_employee_id is neither null nor a positive id");
    memcpy(out->user, user, strlen(user) + 1);
    out->employee_id = json_is_null(emp) ? 0 : (long long)json_integer_value(emp);
    return 0;
}

int dialready_parse(const char *key, size_t keylen, const char *value, size_t len,
                    struct dialready_rec *out, char *err, size_t errlen)
{
    char expect[DIALREADY_TENANT_MAX + DIALREADY_USER_MAX + 1];
    const char *tenant;
    json_t *v;
    int n, rc = 0;

    memset(out, 0, sizeof(*out));
    if (!value)
        return dialready_fail(err, errlen, "a tombstone says nothing (ignored)");
    v = json_loadb(value, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_unpack(v, "{s:s}", "tenant", &tenant) < 0 || !dialready_tenant_valid(tenant)) {
        json_decref(v);
        return dialready_fail(err, errlen, "not a JSON object with a valid tenant");
    }
    memcpy(out->tenant, tenant, strlen(tenant) + 1);
    if (json_object_get(v, "user_id")) {
        rc = dialready_parse_user(v, out, err, errlen);
    } else if (json_unpack(v, "{s:b}", "uis_key", &out->uis_key) < 0) {
        rc = dialready_fail(err, errlen, "neither a user record nor a tenant record (uis_key)");
    }
    json_decref(v);
    if (rc < 0)
        return -1;
    n = out->user[0] ? snprintf(expect, sizeof(expect), "%s/%s", out->tenant, out->user)
                     : snprintf(expect, sizeof(expect), "%s", out->tenant);
    if (!key || n < 0 || (size_t)n != keylen || memcmp(expect, key, keylen) != 0)
        return dialready_fail(err, errlen,
                              "the key is not {tenant} or {tenant}/{user_id} of the value");
    return 0;
}
