/* The secret in the webhook address (SPEC §7): "<kid>.<version>.<mac>", where mac is
 * base64url(HMAC-SHA256(key[kid], "uis-webhook" NUL tenant NUL version)). Ingest checks it with
 * the keys from its environment alone; the key id lets keys rotate, and the version lets a
 * re-issued token void the old one (ingest learns each tenant's current version from the
 * compacted tenant-token topic). */
#ifndef COMMON_WEBHOOK_TOKEN_H
#define COMMON_WEBHOOK_TOKEN_H

#include <stddef.h>

#include "common/keyring.h"

#define WTOKEN_KID_MAX    16
#define WTOKEN_SECRET_MAX 64
#define WTOKEN_LEN        96

/* Parse "kid:base64secret[,kid:base64secret...]" (secrets of 16 to 64 bytes, kids of
 * [A-Za-z0-9_-]). Returns 0, or -1 with the reason in err (which never quotes a secret). */
int wtoken_keyring_parse(const char *spec, struct keyring *kr, char *err, size_t errlen);

/* Mint the token for tenant at version under key kid. Returns 0 or -1 (unknown kid, bad tenant,
 * short buffer). */
int wtoken_mint(const struct keyring *kr, const char *kid, const char *tenant,
                unsigned long version, char *out, size_t outlen);

/* Check token for tenant in constant time with respect to the secret. Returns 0 and the token's
 * version, or -1 for any mismatch (the caller must not tell which). */
int wtoken_verify(const struct keyring *kr, const char *tenant, const char *token,
                  unsigned long *version);

/* Tokens wtoken_verify accepted, so that a busy tenant's requests skip the HMAC. Only a token
 * equal (compared in constant time) to one accepted before for the same tenant hits; anything
 * else is verified in full. The keyring must not change while the cache is in use. Not
 * thread-safe: one per thread (zeroed is empty). */
#define WTOKEN_CACHE_SLOTS 64

struct wtoken_cache_slot {
    char tenant[64];
    char token[WTOKEN_LEN];
    unsigned long version;
};

struct wtoken_cache {
    struct wtoken_cache_slot slot[WTOKEN_CACHE_SLOTS];
};

/* wtoken_verify through cache: the same answers, remembered. */
int wtoken_verify_cached(struct wtoken_cache *cache, const struct keyring *kr, const char *tenant,
                         const char *token, unsigned long *version);

/* A tenant id is 1..63 characters of [a-z0-9_-], starting with a letter or digit. */
int wtoken_tenant_valid(const char *tenant);

#endif
