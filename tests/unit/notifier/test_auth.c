#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "common/jwt.h"

static const unsigned char key[] = "notifier-test-key-0123456789abcd";
#define KEYLEN (sizeof(key) - 1)
#define NOW    1700000000L

/* The same key as a keyring (the one key without kid, as a plain POPUP_JWT_SECRET gives). */
static struct keyring ring;

static void test_pick_order(void **state)
{
    const char *t;
    size_t n;

    (void)state;
    assert_int_equal(auth_pick("Bearer hdr", "cookie", "query", &t, &n), AUTH_HEADER);
    assert_int_equal(n, 3);
    assert_memory_equal(t, "hdr", 3);
    assert_int_equal(auth_pick("bearer  hdr2 ", NULL, NULL, &t, &n), AUTH_HEADER);
    assert_int_equal(n, 4);
    assert_int_equal(auth_pick("Basic Zm9vOmJhcg==", "cookie", "query", &t, &n), AUTH_COOKIE);
    assert_string_equal(t, "cookie");
    assert_int_equal(auth_pick("Bearer ", "", "query", &t, &n), AUTH_QUERY);
    assert_string_equal(t, "query");
    assert_int_equal(auth_pick(NULL, NULL, NULL, &t, &n), AUTH_NONE);
    assert_null(t);
}

static void test_verify(void **state)
{
    char tok[512], err[128];
    struct auth_user who;

    (void)state;
    jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW + 60, tok, sizeof(tok));
    assert_int_equal(auth_verify(&ring, tok, strlen(tok), NOW, &who, err, sizeof(err)), 0);
    assert_string_equal(who.tenant, "acme");
    assert_string_equal(who.user, "5");
    assert_int_equal(who.exp, NOW + 60);
    assert_int_equal(who.gen, 0);

    /* the token is one part of a longer header value */
    {
        char hdr[600];
        const char *t;
        size_t n;

        strcpy(hdr, "Bearer ");
        strcat(hdr, tok);
        strcat(hdr, " trailing");
        auth_pick(hdr, NULL, NULL, &t, &n);
        assert_int_equal(auth_verify(&ring, t, n, NOW, &who, err, sizeof(err)), 0);
    }
}

static void test_refusals(void **state)
{
    const unsigned char other[] = "another-key-another-key-another!";
    char tok[512], err[128];
    struct auth_user who;

    (void)state;
    assert_int_equal(auth_verify(&ring, NULL, 0, NOW, &who, err, sizeof(err)), -1);
    assert_string_equal(err, "token missing");

    jwt_hs256_sign(other, sizeof(other) - 1, "acme", "5", NOW + 60, tok, sizeof(tok));
    assert_int_equal(auth_verify(&ring, tok, strlen(tok), NOW, &who, err, sizeof(err)), -1);
    assert_string_equal(err, "token signature does not match");
    assert_string_equal(who.tenant, "");

    jwt_hs256_sign(key, KEYLEN, "acme", "5", NOW - 1, tok, sizeof(tok));
    assert_int_equal(auth_verify(&ring, tok, strlen(tok), NOW, &who, err, sizeof(err)), -1);
    assert_string_equal(err, "token expired");

    jwt_hs256_sign(key, KEYLEN, "acme", "anna", NOW + 60, tok, sizeof(tok));
    assert_int_equal(auth_verify(&ring, tok, strlen(tok), NOW, &who, err, sizeof(err)), -1);
    assert_string_equal(err, "token sub is not a user id");
}

/* "05" and "5" are the same user: the key is canonical, as popup_parse writes user_id. */
static void test_canonical_user(void **state)
{
    char tok[512], err[128];
    struct auth_user who;

    (void)state;
    jwt_hs256_sign(key, KEYLEN, "acme", "05", NOW + 60, tok, sizeof(tok));
    assert_int_equal(auth_verify(&ring, tok, strlen(tok), NOW, &who, err, sizeof(err)), 0);
    assert_string_equal(who.user, "5");
}

/* The tenant comes from the token: a user of tenant beta is filed under beta whatever else. */
static void test_user_key_separates_tenants(void **state)
{
    char a[64], b[64];

    (void)state;
    assert_true(auth_user_key("acme", "5", a, sizeof(a)) > 0);
    assert_true(auth_user_key("beta", "5", b, sizeof(b)) > 0);
    assert_string_not_equal(a, b);
    assert_int_equal(auth_user_key("ac\x1fme", "5", a, sizeof(a)), -1);
    assert_int_equal(auth_user_key("acme", "5", a, 4), -1);
}

int main(void)
{
    ring.n = 1;
    memcpy(ring.keys[0].secret, key, KEYLEN);
    ring.keys[0].len = KEYLEN;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_order),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_canonical_user),
        cmocka_unit_test(test_user_key_separates_tenants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
