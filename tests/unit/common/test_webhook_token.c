#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/webhook_token.h"

/* 32 bytes each, base64. */
#define T_KEYS                                                                                     \
    "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,k2:"                                          \
    "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="

static void test_mint_verify(void **state)
{
    struct keyring kr;
    char err[128], tok[WTOKEN_LEN];
    unsigned long ver = 0;

    (void)state;
    assert_int_equal(wtoken_keyring_parse(T_KEYS, &kr, err, sizeof(err)), 0);
    assert_int_equal(kr.n, 2);
    assert_int_equal(wtoken_mint(&kr, "k1", "acme", 3, tok, sizeof(tok)), 0);
    assert_true(strncmp(tok, "k1.3.", 5) == 0);
    assert_int_equal(wtoken_verify(&kr, "acme", tok, &ver), 0);
    assert_int_equal(ver, 3);
}

static void test_refusals(void **state)
{
    struct keyring kr, other;
    char err[128], tok[WTOKEN_LEN], bad[WTOKEN_LEN];
    unsigned long ver = 0;

    (void)state;
    wtoken_keyring_parse(T_KEYS, &kr, err, sizeof(err));
    wtoken_mint(&kr, "k2", "acme", 1, tok, sizeof(tok));
    assert_int_equal(wtoken_verify(&kr, "acme2", tok, &ver), -1); /* other tenant */
    strcpy(bad, tok);
    bad[strlen(bad) - 1] ^= 1; /* one bit of the mac */
    assert_int_equal(wtoken_verify(&kr, "acme", bad, &ver), -1);
    strcpy(bad, tok);
    bad[3] = '2'; /* version changed: mac no longer matches */
    assert_int_equal(wtoken_verify(&kr, "acme", bad, &ver), -1);
    assert_int_equal(
        wtoken_verify(&kr, "acme", "k9.1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &ver), -1);
    assert_int_equal(wtoken_verify(&kr, "acme", "", &ver), -1);
    assert_int_equal(wtoken_verify(&kr, "acme", "k1..x", &ver), -1);
    assert_int_equal(wtoken_verify(&kr, "ACME", tok, &ver), -1); /* invalid tenant id */
    /* Rotation: a keyring without k2 refuses tokens minted under it. */
    assert_int_equal(wtoken_keyring_parse("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", &other,
                                          err, sizeof(err)),
                     0);
    assert_int_equal(wtoken_verify(&other, "acme", tok, &ver), -1);
}

static void test_keyring_errors_never_quote_secret(void **state)
{
    struct keyring kr;
    char err[128];

    (void)state;
    assert_int_equal(wtoken_keyring_parse("", &kr, err, sizeof(err)), -1);
    assert_int_equal(wtoken_keyring_parse("nocolon", &kr, err, sizeof(err)), -1);
    assert_int_equal(wtoken_keyring_parse("k1:c2hvcnQ=", &kr, err, sizeof(err)), -1);
    assert_null(strstr(err, "c2hvcnQ"));
    assert_non_null(strstr(err, "k1"));
    assert_int_equal(wtoken_keyring_parse("bad kid:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                                          &kr, err, sizeof(err)),
                     -1);
}

static void test_tenant_ids(void **state)
{
    (void)state;
    assert_true(wtoken_tenant_valid("acme"));
    assert_true(wtoken_tenant_valid("demo-2_x"));
    assert_false(wtoken_tenant_valid(""));
    assert_false(wtoken_tenant_valid("-x"));
    assert_false(wtoken_tenant_valid("a/b"));
    assert_false(wtoken_tenant_valid("Acme"));
}

static void test_cache_same_answers(void **state)
{
    struct keyring kr, none = {0};
    struct wtoken_cache cache;
    char tok[WTOKEN_LEN], other[WTOKEN_LEN], err[128];
    unsigned long v = 0;

    (void)state;
    memset(&cache, 0, sizeof(cache));
    assert_int_equal(wtoken_keyring_parse(T_KEYS, &kr, err, sizeof(err)), 0);
    assert_int_equal(wtoken_mint(&kr, "k1", "acme", 3, tok, sizeof(tok)), 0);
    assert_int_equal(wtoken_mint(&kr, "k1", "acme", 4, other, sizeof(other)), 0);
    assert_int_equal(wtoken_verify_cached(&cache, &kr, "acme", tok, &v), 0);
    assert_int_equal(v, 3);
    /* Remembered: the same token passes without the keyring (which must not change). */
    v = 0;
    assert_int_equal(wtoken_verify_cached(&cache, &none, "acme", tok, &v), 0);
    assert_int_equal(v, 3);
    /* Anything else is verified in full: another tenant, a changed character, a prefix. */
    assert_int_equal(wtoken_verify_cached(&cache, &none, "acme2", tok, &v), -1);
    tok[strlen(tok) - 1] ^= 1;
    assert_int_equal(wtoken_verify_cached(&cache, &kr, "acme", tok, &v), -1);
    tok[strlen(tok) - 1] ^= 1;
    tok[strlen(tok) - 1] = '\0';
    assert_int_equal(wtoken_verify_cached(&cache, &none, "acme", tok, &v), -1);
    assert_int_equal(wtoken_verify_cached(&cache, &kr, "acme", other, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(wtoken_verify_cached(&cache, &kr, "Bad tenant", other, &v), -1);
    assert_int_equal(wtoken_verify_cached(&cache, &kr, "acme", NULL, &v), -1);
}

/* One version has one spelling: strtoul's sign, blanks and wrap-around are refused, though the
 * MAC is computed over the parsed number and would match. */
static void test_version_canonical_digits(void **state)
{
    static const char *const spellings[] = {
        "+1", " 1", "\t1", "-18446744073709551615", "01", "1 ", "0x1", "18446744073709551617",
    };
    struct keyring kr;
    char err[128], tok[WTOKEN_LEN], alt[WTOKEN_LEN * 2];
    unsigned long ver = 0;
    const char *mac;

    (void)state;
    assert_int_equal(wtoken_keyring_parse(T_KEYS, &kr, err, sizeof(err)), 0);
    assert_int_equal(wtoken_mint(&kr, "k1", "acme", 1, tok, sizeof(tok)), 0);
    assert_int_equal(wtoken_verify(&kr, "acme", tok, &ver), 0);
    mac = strrchr(tok, '.') + 1;
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        snprintf(alt, sizeof(alt), "k1.%s.%s", spellings[i], mac);
        assert_int_equal(wtoken_verify(&kr, "acme", alt, &ver), -1);
    }
    /* the largest canonical versions still work */
    assert_int_equal(wtoken_mint(&kr, "k1", "acme", 9999999999999999999UL, tok, sizeof(tok)), 0);
    assert_int_equal(wtoken_verify(&kr, "acme", tok, &ver), 0);
    assert_true(ver == 9999999999999999999UL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_verify),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_keyring_errors_never_quote_secret),
        cmocka_unit_test(test_tenant_ids),
        cmocka_unit_test(test_cache_same_answers),
        cmocka_unit_test(test_version_canonical_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
