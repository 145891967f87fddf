#include "revoke.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct revoke_entry {
    struct revoke_entry *next;
    long generation;
    int active;
    char key[]; /* tenant \x1f user */
};

struct revoke {
    struct revoke_entry **buckets;
    size_t nbuckets, n;
};

static int revoke_fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -1;
}

static int revoke_user_valid(const char *s, size_t n)
{
    if (n == 0 || n >= POPUP_USER_MAX || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

int revoke_parse(const char *key, size_t keylen, const char *value, size_t len,
                 struct revoke_update *out, char *err, size_t errlen)
{
    char expect[POPUP_TENANT_MAX + POPUP_USER_MAX + 1];
    json_t *v;
    const char *tenant, *user;
    json_int_t gen;
    int active, n;

    memset(out, 0, sizeof(*out));
    if (!value)
        return revoke_fail(err, errlen, "a tombstone cannot lift a revocation");
    v = json_loadb(value, len, JSON_REJECT_DUPLICATES, NULL);
    if (json_unpack(v, "{s:s, s:s, s:I, s:b}", "tenant", &tenant, "user_id", &user,
                    "token_generation", &gen, "active", &active) < 0) {
        json_decref(v);
        return revoke_fail(err, errlen, "not {tenant, user_id, token_generation, active}");
    }
    if (strlen(tenant) >= sizeof(out->tenant) || !revoke_user_valid(user, strlen(user)) ||
        gen < 1 || gen > (json_int_t)1 << 53) {
        json_decref(v);
        return revoke_fail(err, errlen, "tenant, user_id or token_generation out of range");
    }
    n = snprintf(expect, sizeof(expect), "%s/%s", tenant, user);
    if (!key || n < 0 || (size_t)n != keylen || memcmp(expect, key, keylen) != 0) {
        json_decref(v);
        return revoke_fail(err, errlen, "the key is not {tenant}/{user_id} of the value");
    }
    memcpy(out->tenant, tenant, strlen(tenant) + 1);
    memcpy(out->user, user, strlen(user) + 1);
    out->generation = (long)gen;
    out->active = active;
    json_decref(v);
    return 0;
}

struct revoke *revoke_new(void)
{
    struct revoke *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->nbuckets = 256;
    r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
    if (!r->buckets) {
        free(r);
        return NULL;
    }
    return r;
}

void revoke_free(struct revoke *r)
{
    if (!r)
        return;
    for (size_t b = 0; b < r->nbuckets; b++) {
        struct revoke_entry *e = r->buckets[b];

        while (e) {
            struct revoke_entry *next = e->next;

            free(e);
            e = next;
        }
    }
    free(r->buckets);
    free(r);
}

static size_t revoke_hash(const char *s, size_t nbuckets)
{
    unsigned long long h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return (size_t)(h % nbuckets);
}

static struct revoke_entry *revoke_find(const struct revoke *r, const char *key)
{
    for (struct revoke_entry *e = r->buckets[revoke_hash(key, r->nbuckets)]; e; e = e->next) {
        if (strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static void revoke_grow(struct revoke *r)
{
    size_t ncap = r->nbuckets * 2;
    struct revoke_entry **nb = calloc(ncap, sizeof(*nb));

    if (!nb)
        return; /* longer chains, still correct */
    for (size_t b = 0; b < r->nbuckets; b++) {
        struct revoke_entry *e = r->buckets[b];

        while (e) {
            struct revoke_entry *next = e->next;
            size_t i = revoke_hash(e->key, ncap);

            e->next = nb[i];
            nb[i] = e;
            e = next;
        }
    }
    free(r->buckets);
    r->buckets = nb;
    r->nbuckets = ncap;
}

int revoke_set(struct revoke *r, const char *user_key, long generation, int active)
{
    struct revoke_entry *e = revoke_find(r, user_key);
    size_t klen;

    if (e) {
        if (generation < e->generation)
            return 0;
        e->generation = generation;
        e->active = active;
        return 0;
    }
    klen = strlen(user_key);
    e = malloc(sizeof(*e) + klen + 1);
    if (!e)
        return -1;
    memcpy(e->key, user_key, klen + 1);
    e->generation = generation;
    e->active = active;
    if (r->n >= r->nbuckets * 2)
        revoke_grow(r);
    {
        size_t i = revoke_hash(user_key, r->nbuckets);

        e->next = r->buckets[i];
        r->buckets[i] = e;
    }
    r->n++;
    return 0;
}

int revoke_allows(const struct revoke *r, const char *user_key, long gen)
{
    const struct revoke_entry *e = revoke_find(r, user_key);

    if (!e)
        return 1;
    return e->active && (gen > 0 ? gen : 1) >= e->generation;
}

size_t revoke_size(const struct revoke *r)
{
    return r->n;
}
