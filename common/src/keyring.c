#include "common/keyring.h"

#include "common/b64.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define KEYRING_SECRET_MIN 16

int keyring_kid_valid(const char *kid, size_t n, size_t kid_max)
{
    /* kid need not end at n: it may be the "kid" of "kid:secret" */
    return n > 0 && n <= kid_max && b64url_alphabet(kid, n);
}

const struct keyring_key *keyring_find(const struct keyring *kr, const char *kid, size_t n)
{
    for (size_t i = 0; i < kr->n; i++) {
        if (strlen(kr->keys[i].kid) == n && memcmp(kr->keys[i].kid, kid, n) == 0)
            return &kr->keys[i];
    }
    return NULL;
}

void keyring_clear(struct keyring *kr)
{
    OPENSSL_cleanse(kr, sizeof(*kr));
}

/* Wipe what was parsed so far: a half-parsed ring must not be used, nor its secrets linger. */
static int keyring_fail(struct keyring *kr)
{
    keyring_clear(kr);
    return -1;
}

int keyring_parse(const char *spec, const struct keyring_rules *rules, struct keyring *kr,
                  char *err, size_t errlen)
{
    const char *p = spec;

    memset(kr, 0, sizeof(*kr));
    while (p && *p) {
        size_t item = strcspn(p, ",");
        const char *colon = memchr(p, ':', item);
        const char *secret = colon ? colon + 1 : p;
        size_t kidlen = colon ? (size_t)(colon - p) : 0;
        struct keyring_key *k;
        long n;

        if (kr->n == KEYRING_MAX_KEYS) {
            snprintf(err, errlen, "more than %d keys", KEYRING_MAX_KEYS);
            return keyring_fail(kr);
        }
        if (colon ? !keyring_kid_valid(p, kidlen, rules->kid_max) : !rules->kid_optional) {
            snprintf(err, errlen,
                     "key %zu: expected kid:base64secret with a kid of 1-%zu characters "
                     "[A-Za-z0-9_-]",
                     kr->n + 1, rules->kid_max);
            return keyring_fail(kr);
        }
        k = &kr->keys[kr->n];
        memcpy(k->kid, p, kidlen);
        if (keyring_find(kr, p, kidlen)) {
            snprintf(err, errlen, "key %zu: kid '%s' given twice", kr->n + 1,
                     kidlen ? k->kid : "(none)");
            return keyring_fail(kr);
        }
        n = b64_decode(secret, item - (size_t)(secret - p), k->secret, rules->secret_max);
        if (n < KEYRING_SECRET_MIN) {
            snprintf(err, errlen, "key %zu '%s': secret must be base64 of %d to %zu bytes",
                     kr->n + 1, k->kid, KEYRING_SECRET_MIN, rules->secret_max);
            return keyring_fail(kr);
        }
        k->len = (size_t)n;
        kr->n++;
        p += item + (p[item] == ',');
    }
    if (kr->n == 0) {
        snprintf(err, errlen, "no keys given");
        return -1;
    }
    return 0;
}
