#include "common/jwt.h"

#include "common/b64.h"
#include "common/jstr.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWT_MAC_LEN     32
#define JWT_MAC_B64     43 /* 32 bytes in base64url without padding */
#define JWT_PART_MAX    1024
#define JWT_HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static int jwt_fail(int code, char *err, size_t errlen, const char *reason)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", reason);
    return code;
}

static int jwt_mac(const unsigned char *key, size_t keylen, const char *msg, size_t len,
                   unsigned char mac[JWT_MAC_LEN])
{
    unsigned int maclen = 0;

    if (keylen > INT_MAX)
        return -1;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, len, mac, &maclen) ||
        maclen != JWT_MAC_LEN)
        return -1;
    return 0;
}

/* Decode one base64url part into a NUL-terminated JSON text and parse it. */
static json_t *jwt_part_json(const char *s, size_t n)
{
    unsigned char buf[JWT_PART_MAX];
    long len;

    if (n == 0 || !b64url_canonical(s, n))
        return NULL;
    len = b64_decode(s, n, buf, sizeof(buf) - 1);
    if (len <= 0)
        return NULL;
    return json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
}

static int jwt_sign(const unsigned char *key, size_t keylen, const char *kid, const char *tenant,
                    const char *user, long gen, long exp, char *out, size_t outlen)
{
    char hdr[128], hjson[96], body[JWT_PART_MAX], mac64[JWT_MAC_B64 + 1];
    unsigned char mac[JWT_MAC_LEN];
    json_t *claims;
    char *text;
    long hn, bn;
    size_t total;

    if (!key || keylen == 0 || !tenant || !user || !out || !tenant[0] || !user[0] ||
        strlen(tenant) >= JWT_TENANT_MAX || strlen(user) >= JWT_SUB_MAX || gen < 0)
        return JWT_EINVAL;
    /* kid is a checked [A-Za-z0-9_-] name: no JSON escaping needed */
    if (kid && kid[0])
        snprintf(hjson, sizeof(hjson), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    else
        snprintf(hjson, sizeof(hjson), "%s", JWT_HEADER_JSON);
    claims = json_pack("{s:s, s:s, s:I}", "tenant", tenant, "sub", user, "exp", (json_int_t)exp);
    if (claims && gen > 0)
        json_object_set_new(claims, "gen", json_integer((json_int_t)gen));
    if (!claims)
        return JWT_EINVAL; /* not UTF-8 */
    text = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(claims);
    if (!text)
        return JWT_EINVAL;
    hn = b64_encode((const unsigned char *)hjson, strlen(hjson), hdr, sizeof(hdr), 1);
    bn = b64_encode((const unsigned char *)text, strlen(text), body, sizeof(body), 1);
    free(text);
    if (hn < 0 || bn < 0)
        return JWT_EINVAL;
    total = (size_t)hn + 1 + (size_t)bn + 1 + JWT_MAC_B64;
    if (outlen <= total)
        return JWT_EINVAL;
    snprintf(out, outlen, "%s.%s", hdr, body);
    if (jwt_mac(key, keylen, out, (size_t)hn + 1 + (size_t)bn, mac) < 0)
        return JWT_ECRYPTO;
    if (b64_encode(mac, JWT_MAC_LEN, mac64, sizeof(mac64), 1) != JWT_MAC_B64)
        return JWT_ECRYPTO;
    memcpy(out + hn + 1 + bn, ".", 1);
    memcpy(out + hn + 2 + bn, mac64, JWT_MAC_B64 + 1);
    return (int)total;
}

int jwt_hs256_sign(const unsigned char *key, size_t keylen, const char *tenant, const char *user,
                   long exp, char *out, size_t outlen)
{
    return jwt_sign(key, keylen, NULL, tenant, user, 0, exp, out, outlen);
}

int jwt_keyring_sign(const struct keyring *kr, const char *tenant, const char *user, long gen,
                     long exp, char *out, size_t outlen)
{
    if (!kr || kr->n == 0)
        return JWT_EINVAL;
    return jwt_sign(kr->keys[0].secret, kr->keys[0].len, kr->keys[0].kid, tenant, user, gen, exp,
                    out, outlen);
}

/* A claim that is a string, or an integer written as one. */
static int jwt_copy_str(const json_t *v, char *dst, size_t cap)
{
    if (json_is_integer(v)) {
        int k = snprintf(dst, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));

        return (k > 0 && (size_t)k < cap) ? 0 : -1;
    }
    return jstr_copy(v, dst, cap);
}

/* Verify under key, or under the key of kr that the header's kid names when kr is set. */
static int jwt_verify(const struct keyring *kr, const unsigned char *key, size_t keylen,
                      const char *token, long now, struct jwt_claims *claims, char *err,
                      size_t errlen)
{
    const char *dot1, *dot2, *sig;
    unsigned char mac[JWT_MAC_LEN], given[JWT_MAC_LEN + 2];
    char kid[JWT_KID_MAX + 1] = "";
    json_t *hdr, *body;
    const json_t *alg, *exp, *jkid, *gen;
    size_t siglen;
    int rc;

    if ((!kr && (!key || keylen == 0)) || !token || !claims)
        return jwt_fail(JWT_EINVAL, err, errlen, "token or key missing");
    memset(claims, 0, sizeof(*claims));
    dot1 = strchr(token, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
        return jwt_fail(JWT_EFORMAT, err, errlen, "token is not three dot-separated parts");
    hdr = jwt_part_json(token, (size_t)(dot1 - token));
    if (!json_is_object(hdr)) {
        json_decref(hdr);
        return jwt_fail(JWT_EFORMAT, err, errlen, "token header is not base64url JSON");
    }
    alg = json_object_get(hdr, "alg");
    rc = json_is_string(alg) && strcmp(json_string_value(alg), "HS256") == 0 &&
         json_string_length(alg) == 5;
    /* crit names extensions we would have to understand; we understand none. */
    rc = rc && !json_object_get(hdr, "crit");
    jkid = json_object_get(hdr, "kid");
    if (rc && jkid) {
        rc = json_is_string(jkid) && keyring_kid_valid(json_string_value(jkid),
                                                       json_string_length(jkid), JWT_KID_MAX)
                 ? 1
                 : -1;
        if (rc == 1)
            memcpy(kid, json_string_value(jkid), json_string_length(jkid) + 1);
    }
    json_decref(hdr);
    if (rc == 0)
        return jwt_fail(JWT_EALG, err, errlen, "token alg is not HS256");
    if (rc < 0)
        return jwt_fail(JWT_EFORMAT, err, errlen, "token kid is not a key id");
    if (kr) {
        const struct keyring_key *k = keyring_find(kr, kid, strlen(kid));

        if (!k)
            return jwt_fail(JWT_ESIG, err, errlen, "token key id is unknown");
        key = k->secret;
        keylen = k->len;
    }

    sig = dot2 + 1;
    siglen = strlen(sig);
    if (siglen != JWT_MAC_B64 || !b64url_canonical(sig, siglen) ||
        b64_decode(sig, siglen, given, sizeof(given)) != JWT_MAC_LEN)
        return jwt_fail(JWT_ESIG, err, errlen, "token signature is malformed");
    if (jwt_mac(key, keylen, token, (size_t)(dot2 - token), mac) < 0)
        return jwt_fail(JWT_ECRYPTO, err, errlen, "hmac failed");
    if (CRYPTO_memcmp(mac, given, JWT_MAC_LEN) != 0)
        return jwt_fail(JWT_ESIG, err, errlen, "token signature does not match");

    body = jwt_part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!json_is_object(body)) {
        json_decref(body);
        return jwt_fail(JWT_EFORMAT, err, errlen, "token payload is not base64url JSON");
    }
    exp = json_object_get(body, "exp");
    if (!json_is_integer(exp)) {
        json_decref(body);
        return jwt_fail(JWT_EFORMAT, err, errlen, "token exp is missing or not an integer");
    }
    claims->exp = (long)json_integer_value(exp);
    gen = json_object_get(body, "gen");
    if (gen && (!json_is_integer(gen) || json_integer_value(gen) < 1 ||
                json_integer_value(gen) > LONG_MAX)) {
        json_decref(body);
        memset(claims, 0, sizeof(*claims));
        return jwt_fail(JWT_EFORMAT, err, errlen, "token gen is not a positive integer");
    }
    claims->gen = gen ? (long)json_integer_value(gen) : 0;
    if (jwt_copy_str(json_object_get(body, "tenant"), claims->tenant, sizeof(claims->tenant)) < 0) {
        json_decref(body);
        memset(claims, 0, sizeof(*claims));
        return jwt_fail(JWT_EFORMAT, err, errlen, "token tenant is missing or invalid");
    }
    if (jwt_copy_str(json_object_get(body, "sub"), claims->sub, sizeof(claims->sub)) < 0) {
        json_decref(body);
        memset(claims, 0, sizeof(*claims));
        return jwt_fail(JWT_EFORMAT, err, errlen, "token sub is missing or invalid");
    }
    json_decref(body);
    if (claims->exp <= now) {
        memset(claims, 0, sizeof(*claims));
        return jwt_fail(JWT_EEXPIRED, err, errlen, "token expired");
    }
    memcpy(claims->kid, kid, sizeof(kid));
    return JWT_OK;
}

int jwt_hs256_verify(const unsigned char *key, size_t keylen, const char *token, long now,
                     struct jwt_claims *claims, char *err, size_t errlen)
{
    return jwt_verify(NULL, key, keylen, token, now, claims, err, errlen);
}

int jwt_keyring_verify(const struct keyring *kr, const char *token, long now,
                       struct jwt_claims *claims, char *err, size_t errlen)
{
    if (!kr || kr->n == 0)
        return jwt_fail(JWT_EINVAL, err, errlen, "token or key missing");
    return jwt_verify(kr, NULL, 0, token, now, claims, err, errlen);
}

int jwt_keyring_parse(const char *spec, struct keyring *kr, char *err, size_t errlen)
{
    static const struct keyring_rules rules = {JWT_KID_MAX, JWT_SECRET_MAX, 1};

    return keyring_parse(spec, &rules, kr, err, errlen);
}
