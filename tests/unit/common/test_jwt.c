#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/b64.h"
#include "common/jwt.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN (sizeof(key) - 1)
#define NOW    1700000000L

/* Build a token from raw header and payload JSON, signed under k (NULL: signature "sig"). */
static void forge(const char *hdr, const char *body, const unsigned char *k, size_t klen, char *out,
                  size_t outlen)
{
    char h[512], b[512], s[64];
    unsigned char mac[32];
    unsigned int maclen = 0;
    char signing[1100];

    b64_encode((const unsigned char *)hdr, strlen(hdr), h, sizeof(h), 1);
    b64_encode((const unsigned char *)body, strlen(body), b, sizeof(b), 1);
    snprintf(signing, sizeof(signing), "%s.%s", h, b);
    if (k) {
        HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)signing, strlen(signing), mac,
             &maclen);
        b64_encode(mac, 32, s, sizeof(s), 1);
    } else {
        s[0] = '\0';
    }
    /* Test tokens are short; a cut one would fail the assertions that use it. */
    if ((size_t)snprintf(out, outlen, "%.500s.%s", signing, s) >= outlen)
        out[0] = '\0';
}

static void test_roundtrip(void **state)
{
    char tok[512], err[128];
    struct jwt_claims c;
    int n;

    (void)state;
    n = jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW + 60, tok, sizeof(tok));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(tok));
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_OK);
    assert_string_equal(c.tenant, "acme");
    assert_string_equal(c.sub, "5");
    assert_int_equal(c.exp, NOW + 60);
}

/* A token minted by another JWT library (jwt.io's HS256 example shape, our claims). */
static void test_foreign_token_with_integer_sub(void **state)
{
    char tok[512], err[128];
    struct jwt_claims c;

    (void)state;
    forge("{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
          "{\"sub\":42,\"tenant\":\"beta\",\"exp\":1700000100,\"iat\":1700000000}", key, KEYLEN,
          tok, sizeof(tok));
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_OK);
    assert_string_equal(c.sub, "42");
    assert_string_equal(c.tenant, "beta");
}

static void test_bad_signature(void **state)
{
    const unsigned char other[] = "another-key-another-key-another!";
    char tok[512], err[128];
    struct jwt_claims c;
    size_t n;

    (void)state;
    jwt_hs256_sign(other, sizeof(other) - 1, "acme", "5", NOW + 60, tok, sizeof(tok));
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_ESIG);
    assert_string_equal(err, "token signature does not match");
    assert_string_equal(c.tenant, "");

    /* one flipped character in the signature */
    jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW + 60, tok, sizeof(tok));
    n = strlen(tok);
    tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_ESIG);

    /* the payload changed to another tenant, signature kept */
    {
        char forged[512], good[512];
        const char *sig;

        jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW + 60, good, sizeof(good));
        sig = strrchr(good, '.');
        forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
              "{\"tenant\":\"beta\",\"sub\":\"5\",\"exp\":1700000060}", NULL, 0, forged,
              sizeof(forged));
        forged[strlen(forged) - 1] = '\0'; /* drop the trailing '.' of the empty signature */
        strcat(forged, sig);
        assert_int_equal(jwt_hs256_verify(key, KEYLEN, forged, NOW, &c, err, sizeof(err)),
                         JWT_ESIG);
    }
}

static void test_expired(void **state)
{
    char tok[512], err[128];
    struct jwt_claims c;

    (void)state;
    jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW, tok, sizeof(tok));
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_EEXPIRED);
    assert_string_equal(err, "token expired");
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW - 1, &c, err, sizeof(err)), JWT_OK);
}

static void test_alg_none_and_others_rejected(void **state)
{
    static const char *const hdrs[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\"}",
        "{\"alg\":\"RS256\"}",
        "{\"alg\":\"hs256\"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}",
    };
    char tok[512], err[128];
    struct jwt_claims c;

    (void)state;
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        /* even correctly MAC'd under our key: the header decides nothing */
        forge(hdrs[i], "{\"tenant\":\"acme\",\"sub\":\"5\",\"exp\":1800000000}", key, KEYLEN, tok,
              sizeof(tok));
        assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_EALG);
    }
    forge("{\"alg\":\"none\"}", "{\"tenant\":\"acme\",\"sub\":\"5\",\"exp\":1800000000}", NULL, 0,
          tok, sizeof(tok));
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_EALG);
}

static void test_required_claims(void **state)
{
    static const char *const bodies[] = {
        "{\"sub\":\"5\",\"exp\":1800000000}",
        "{\"tenant\":\"acme\",\"exp\":1800000000}",
        "{\"tenant\":\"acme\",\"sub\":\"5\"}",
        "{\"tenant\":\"acme\",\"sub\":\"5\",\"exp\":\"1800000000\"}",
        "{\"tenant\":\"\",\"sub\":\"5\",\"exp\":1800000000}",
        "{\"tenant\":\"acme\",\"sub\":true,\"exp\":1800000000}",
        "[1,2]",
        "not json",
    };
    char tok[512], err[128];
    struct jwt_claims c;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        forge("{\"alg\":\"HS256\"}", bodies[i], key, KEYLEN, tok, sizeof(tok));
        assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)),
                         JWT_EFORMAT);
    }
}

static void test_malformed(void **state)
{
    static const char *const toks[] = {"",   "abc",      "a.b",          "a.b.c.d",
                                       "..", "e30.e30.", "e30=.e30.AAAA"};
    char err[128];
    struct jwt_claims c;

    (void)state;
    for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
        assert_true(jwt_hs256_verify(key, KEYLEN, toks[i], NOW, &c, err, sizeof(err)) < 0);
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, NULL, NOW, &c, err, sizeof(err)), JWT_EINVAL);
}

static void test_sign_arguments(void **state)
{
    char tok[512], small[40];
    char longname[JWT_TENANT_MAX + 1];

    (void)state;
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(jwt_hs256_sign(key, KEYLEN, "", "5", NOW, tok, sizeof(tok)), JWT_EINVAL);
    assert_int_equal(jwt_hs256_sign(key, KEYLEN, "acme", "", NOW, tok, sizeof(tok)), JWT_EINVAL);
    assert_int_equal(jwt_hs256_sign(key, KEYLEN, longname, "5", NOW, tok, sizeof(tok)), JWT_EINVAL);
    assert_int_equal(jwt_hs256_sign(key, 0, "acme", "5", NOW, tok, sizeof(tok)), JWT_EINVAL);
    assert_int_equal(jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW, small, sizeof(small)),
                     JWT_EINVAL);
}

/* The 43-character signature holds 256 bits in 258: the last character's two low bits carry
 * nothing, so four characters decode to one MAC. Only the canonical one (low bits zero) is
 * accepted; the same holds for the header and payload parts. */
static void test_signature_canonical_base64url(void **state)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char tok[512], alt[512], err[128];
    struct jwt_claims c;
    size_t n;
    int value, accepted = 0;

    (void)state;
    n = (size_t)jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW + 60, tok, sizeof(tok));
    value = (int)(strchr(alphabet, tok[n - 1]) - alphabet);
    assert_int_equal(value & 3, 0);
    for (int low = 0; low < 4; low++) {
        strcpy(alt, tok);
        alt[n - 1] = alphabet[(value & ~3) | low];
        if (jwt_hs256_verify(key, KEYLEN, alt, NOW, &c, err, sizeof(err)) == JWT_OK)
            accepted++;
        else
            assert_string_equal(err, "token signature is malformed");
    }
    assert_int_equal(accepted, 1);

    /* header "{}" is e30 (18 bits, two low bits zero); e31 spells the same bytes */
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, "e31.e30.AAAA", NOW, &c, err, sizeof(err)),
                     JWT_EFORMAT);
}

/* Rotation: the first key signs with its kid; every key of the ring verifies the tokens its
 * kid names; a key removed from the ring voids its tokens. */
static void test_keyring_rotation(void **state)
{
    /* 32 bytes each, base64 */
    static const char old_ring[] = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    static const char new_ring[] = "k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=,"
                                   "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    static const char only_new[] = "k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    struct keyring a, b, c;
    char t1[512], t2[512], err[128];
    struct jwt_claims cl;

    (void)state;
    assert_int_equal(jwt_keyring_parse(old_ring, &a, err, sizeof(err)), 0);
    assert_int_equal(jwt_keyring_parse(new_ring, &b, err, sizeof(err)), 0);
    assert_int_equal(jwt_keyring_parse(only_new, &c, err, sizeof(err)), 0);
    assert_true(jwt_keyring_sign(&a, "acme", "5", 3, NOW + 60, t1, sizeof(t1)) > 0);
    assert_true(jwt_keyring_sign(&b, "acme", "5", 0, NOW + 60, t2, sizeof(t2)) > 0);
    assert_int_equal(jwt_keyring_verify(&b, t1, NOW, &cl, err, sizeof(err)), JWT_OK);
    assert_string_equal(cl.kid, "k1");
    assert_int_equal(cl.gen, 3);
    assert_int_equal(jwt_keyring_verify(&b, t2, NOW, &cl, err, sizeof(err)), JWT_OK);
    assert_string_equal(cl.kid, "k2");
    assert_int_equal(cl.gen, 0);
    assert_int_equal(jwt_keyring_verify(&a, t2, NOW, &cl, err, sizeof(err)), JWT_ESIG);
    assert_string_equal(err, "token key id is unknown");
    assert_int_equal(jwt_keyring_verify(&c, t1, NOW, &cl, err, sizeof(err)), JWT_ESIG);
    /* a token without kid needs the ring's unnamed key (the old one-secret form) */
    jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW + 60, t1, sizeof(t1));
    assert_int_equal(jwt_keyring_verify(&b, t1, NOW, &cl, err, sizeof(err)), JWT_ESIG);
    assert_int_equal(jwt_keyring_parse("k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=,"
                                       "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                                       &c, err, sizeof(err)),
                     0);
    assert_int_equal(jwt_keyring_verify(&c, t1, NOW, &cl, err, sizeof(err)), JWT_OK);
    assert_string_equal(cl.kid, "");
}

static void test_keyring_parse_errors(void **state)
{
    static const char *const bad[] = {
        "", "k1:c2hvcnQ=",                                  /* 5 bytes */
        "k 1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", /* bad kid */
        ("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,"
         "k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="), /* kid twice */
    };
    struct keyring kr;
    char err[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(jwt_keyring_parse(bad[i], &kr, err, sizeof(err)), -1);
        assert_null(strstr(err, "MDEy"));
    }
}

/* gen, when present, is a positive integer; kid, when present, a key id. */
static void test_gen_and_kid_claims_checked(void **state)
{
    static const char *const bodies[] = {
        "{\"tenant\":\"acme\",\"sub\":\"5\",\"exp\":1800000000,\"gen\":0}",
        "{\"tenant\":\"acme\",\"sub\":\"5\",\"exp\":1800000000,\"gen\":-2}",
        "{\"tenant\":\"acme\",\"sub\":\"5\",\"exp\":1800000000,\"gen\":\"2\"}",
    };
    char tok[512], err[128];
    struct jwt_claims c;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        forge("{\"alg\":\"HS256\"}", bodies[i], key, KEYLEN, tok, sizeof(tok));
        assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)),
                         JWT_EFORMAT);
    }
    forge("{\"alg\":\"HS256\",\"kid\":\"a b\"}",
          "{\"tenant\":\"acme\",\"sub\":\"5\",\"exp\":1800000000}", key, KEYLEN, tok, sizeof(tok));
    assert_int_equal(jwt_hs256_verify(key, KEYLEN, tok, NOW, &c, err, sizeof(err)), JWT_EFORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_foreign_token_with_integer_sub),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_alg_none_and_others_rejected),
        cmocka_unit_test(test_required_claims),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_sign_arguments),
        cmocka_unit_test(test_signature_canonical_base64url),
        cmocka_unit_test(test_keyring_rotation),
        cmocka_unit_test(test_keyring_parse_errors),
        cmocka_unit_test(test_gen_and_kid_claims_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
