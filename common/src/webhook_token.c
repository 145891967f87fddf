#include "common/webhook_token.h"

#include "common/b64.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WTOKEN_MAC_B64        43 /* 32 bytes in base64url without padding */
#define WTOKEN_VERSION_DIGITS 19 /* at most 19 digits always fit 64 bits */

int wtoken_tenant_valid(const char *tenant)
{
    size_t n = tenant ? strlen(tenant) : 0;

    if (n == 0 || n > 63 || tenant[0] == '-' || tenant[0] == '_')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = tenant[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int wtoken_keyring_parse(const char *spec, struct keyring *kr, char *err, size_t errlen)
{
    static const struct keyring_rules rules = {WTOKEN_KID_MAX, WTOKEN_SECRET_MAX, 0};

    return keyring_parse(spec, &rules, kr, err, errlen);
}

static int wtoken_mac(const struct keyring_key *k, const char *tenant, unsigned long version,
                      char out[WTOKEN_MAC_B64 + 1])
{
    unsigned char msg[128];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    int n = snprintf((char *)msg, sizeof(msg), "uis-webhook%c%s%c%lu", 0, tenant, 0, version);

    if (n < 0 || (size_t)n >= sizeof(msg))
        return -1;
    if (!HMAC(EVP_sha256(), k->secret, (int)k->len, msg, (size_t)n, mac, &maclen) || maclen != 32)
        return -1;
    return b64_encode(mac, 32, out, WTOKEN_MAC_B64 + 1, 1) == WTOKEN_MAC_B64 ? 0 : -1;
}

int wtoken_mint(const struct keyring *kr, const char *kid, const char *tenant,
                unsigned long version, char *out, size_t outlen)
{
    const struct keyring_key *k = keyring_find(kr, kid, strlen(kid));
    char mac[WTOKEN_MAC_B64 + 1];
    int n;

    if (!k || !wtoken_tenant_valid(tenant) || version == 0 ||
        wtoken_mac(k, tenant, version, mac) < 0)
        return -1;
    n = snprintf(out, outlen, "%s.%lu.%s", kid, version, mac);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int wtoken_verify(const struct keyring *kr, const char *tenant, const char *token,
                  unsigned long *version)
{
    static const struct keyring_key dummy = {"", {0}, 32};
    const struct keyring_key *k;
    char expect[WTOKEN_MAC_B64 + 1];
    const char *dot1, *dot2, *given;
    char *end = NULL;
    unsigned long ver;
    int ok = 1;

    if (!token || !wtoken_tenant_valid(tenant) || strlen(token) >= WTOKEN_LEN)
        return -1;
    dot1 = strchr(token, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2)
        return -1;
    /* Canonical digits only: strtoul alone would take " 1", "+1" and "-18446744073709551615"
     * (which wraps to 1), so one version would have many spellings. */
    if (dot2 - dot1 - 1 < 1 || dot2 - dot1 - 1 > WTOKEN_VERSION_DIGITS || dot1[1] == '0')
        return -1;
    for (const char *d = dot1 + 1; d < dot2; d++) {
        if (*d < '0' || *d > '9')
            return -1;
    }
    errno = 0;
    ver = strtoul(dot1 + 1, &end, 10);
    if (end != dot2 || ver == 0 || errno == ERANGE)
        return -1;
    k = keyring_find(kr, token, (size_t)(dot1 - token));
    /* An unknown kid still costs one HMAC so that timing does not tell kids apart. */
    if (!k) {
        k = &dummy;
        ok = 0;
    }
    if (wtoken_mac(k, tenant, ver, expect) < 0)
        return -1;
    given = dot2 + 1;
    if (strlen(given) != WTOKEN_MAC_B64 || CRYPTO_memcmp(given, expect, WTOKEN_MAC_B64) != 0)
        ok = 0;
    if (!ok)
        return -1;
    *version = ver;
    return 0;
}

int wtoken_verify_cached(struct wtoken_cache *cache, const struct keyring *kr, const char *tenant,
                         const char *token, unsigned long *version)
{
    unsigned h = 2166136261u; /* FNV-1a of the tenant picks the slot */
    struct wtoken_cache_slot *s;
    size_t tlen;

    if (!token || !wtoken_tenant_valid(tenant) || (tlen = strlen(token)) >= WTOKEN_LEN)
        return -1;
    for (const char *c = tenant; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    s = &cache->slot[h % WTOKEN_CACHE_SLOTS];
    if (strcmp(s->tenant, tenant) == 0 && strlen(s->token) == tlen &&
        CRYPTO_memcmp(s->token, token, tlen) == 0) {
        *version = s->version;
        return 0;
    }
    if (wtoken_verify(kr, tenant, token, version) < 0)
        return -1;
    memcpy(s->tenant, tenant, strlen(tenant) + 1); /* valid tenants are < 64 characters */
    memcpy(s->token, token, tlen + 1);
    s->version = *version;
    return 0;
}
