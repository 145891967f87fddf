/* Popup tokens: compact JWS (RFC 7515/7519) with HS256 only, claims {tenant, sub, exp} and an
 * optional gen (the user's token generation: crmctl user revoke-tokens bumps it and the
 * notifier refuses older ones). Signed by the CRM side (crmctl popup-token), verified by the
 * notifier. The header must say alg HS256 ("none" and every other alg are rejected: the key
 * decides, never the token); its kid names the key of a keyring, so keys can rotate. */
#ifndef COMMON_JWT_H
#define COMMON_JWT_H

#include <stddef.h>

#include "common/keyring.h"

#define JWT_TENANT_MAX 128
#define JWT_SUB_MAX    128
#define JWT_KID_MAX    32
#define JWT_SECRET_MAX 128

/* Verified claims; plain buffers, nothing to free. */
struct jwt_claims {
    char tenant[JWT_TENANT_MAX]; /* tenant id exactly as signed */
    char sub[JWT_SUB_MAX];       /* CRM user id as a decimal string (or other string id) */
    long exp;                    /* seconds since the epoch */
    long gen;                    /* token generation (>= 1), 0 when the token has none */
    char kid[JWT_KID_MAX + 1];   /* the header's kid, "" when it has none */
};

/* Signing and verification keys: the first signs, every one verifies the tokens whose kid
 * names it; the one key without a kid (if any) verifies tokens without one. */
enum jwt_error {
    JWT_OK = 0,
    JWT_EINVAL = -1,   /* bad arguments or out buffer too small */
    JWT_EFORMAT = -2,  /* not three base64url parts, bad JSON, missing/mistyped claim */
    JWT_EALG = -3,     /* header alg is not HS256 (includes "none") */
    JWT_ESIG = -4,     /* signature does not match */
    JWT_EEXPIRED = -5, /* exp <= now */
    JWT_ECRYPTO = -6,  /* HMAC failed in libcrypto */
};

/* Sign {"tenant":tenant,"sub":user,"exp":exp} with HMAC-SHA256 under key into out (NUL
 * terminated). tenant and user must be non-empty and shorter than JWT_TENANT_MAX/JWT_SUB_MAX.
 * Returns the token length (> 0) or a negative enum jwt_error. */
int jwt_hs256_sign(const unsigned char *key, size_t keylen, const char *tenant, const char *user,
                   long exp, char *out, size_t outlen);

/* Verify token under key at time now (seconds since the epoch): alg must be HS256, the MAC is
 * compared in constant time, exp is required and must be > now, tenant and sub are required
 * non-empty strings (sub may also be a JSON integer; it is returned as its decimal string).
 * On success fills claims and returns JWT_OK; otherwise returns a negative enum jwt_error and a
 * lowercase reason in err (never echoing the token). */
int jwt_hs256_verify(const unsigned char *key, size_t keylen, const char *token, long now,
                     struct jwt_claims *claims, char *err, size_t errlen);

/* Parse "kid:base64secret[,kid:base64secret...]" (kids of 1 to JWT_KID_MAX characters
 * [A-Za-z0-9_-], secrets of 16 to JWT_SECRET_MAX bytes); an item without "kid:" is the one
 * key without a kid (so a plain base64 secret, the old form, still works). Returns 0, or -1
 * with the reason in err (never quoting a secret). */
int jwt_keyring_parse(const char *spec, struct keyring *kr, char *err, size_t errlen);

/* Sign with the first key of kr, its kid in the header; gen > 0 adds the gen claim. Returns
 * the token length (> 0) or a negative enum jwt_error. */
int jwt_keyring_sign(const struct keyring *kr, const char *tenant, const char *user, long gen,
                     long exp, char *out, size_t outlen);

/* jwt_hs256_verify under the key the token's kid names (JWT_ESIG "token key id is unknown"
 * when none does). gen must be a positive integer when present. */
int jwt_keyring_verify(const struct keyring *kr, const char *token, long now,
                       struct jwt_claims *claims, char *err, size_t errlen);

#endif
