/* keyring: the rotating-key list both token kinds parse, with each kind's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/keyring.h"

/* base64 of 16 bytes "0123456789abcdef" and of 32 bytes (twice that). */
#define S16 "MDEyMzQ1Njc4OWFiY2RlZg=="
#define S32 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

static const struct keyring_rules named = {16, 64, 0};
static const struct keyring_rules optional = {32, 128, 1};

static void test_parse_in_order(void **state)
{
    struct keyring kr;
    char err[160];

    (void)state;
    assert_int_equal(keyring_parse("new:" S32 ",old-1:" S16, &named, &kr, err, sizeof(err)), 0);
    assert_int_equal(kr.n, 2);
    assert_string_equal(kr.keys[0].kid, "new");
    assert_int_equal(kr.keys[0].len, 32);
    assert_string_equal(kr.keys[1].kid, "old-1");
    assert_memory_equal(kr.keys[1].secret, "0123456789abcdef", 16);
    assert_ptr_equal(keyring_find(&kr, "old-1.x", 5), &kr.keys[1]);
    assert_null(keyring_find(&kr, "old", 3));
    assert_null(keyring_find(&kr, "", 0));
}

static void test_kid_optional_only_when_allowed(void **state)
{
    struct keyring kr;
    char err[160];

    (void)state;
    assert_int_equal(keyring_parse(S16, &optional, &kr, err, sizeof(err)), 0);
    assert_string_equal(kr.keys[0].kid, "");
    assert_ptr_equal(keyring_find(&kr, "", 0), &kr.keys[0]);
    assert_int_equal(keyring_parse(S16, &named, &kr, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected kid:base64secret"));
    assert_int_equal(keyring_parse(S16 "," S32, &optional, &kr, err, sizeof(err)), -1);
    assert_string_equal(err, "key 2: kid '(none)' given twice");
}

static void test_refusals_wipe_and_never_quote_secrets(void **state)
{
    static const char *const bad[] = {
        "",                           /* nothing */
        "k:" S16 ",k:" S32,           /* a kid twice */
        "k:c2hvcnQ=",                 /* 5 bytes */
        "k:" S32 S32 S32,             /* over 64 bytes */
        "k/1:" S16,                   /* kid outside [A-Za-z0-9_-] */
        "abcdefghijklmnopq:" S16,     /* kid of 17 */
        ":" S16,                      /* empty kid */
        "k:%%%%%%%%%%%%%%%%%%%%%%%%", /* not base64 */
        "a:" S16 ",b:" S16 ",c:" S16 ",d:" S16 ",e:" S16 ",f:" S16 ",g:" S16 ",h:" S16 ",i:" S16,
    };
    struct keyring kr;
    char err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(err, 0, sizeof(err));
        assert_int_equal(keyring_parse(bad[i], &named, &kr, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        assert_null(strstr(err, "MDEy"));
        assert_null(strstr(err, "c2hv"));
        assert_int_equal(kr.n, 0);
        assert_int_equal(kr.keys[0].secret[0], 0);
    }
}

static void test_kid_valid(void **state)
{
    (void)state;
    assert_true(keyring_kid_valid("a-Z_9", 5, 16));
    assert_false(keyring_kid_valid("", 0, 16));
    assert_false(keyring_kid_valid("a.b", 3, 16));
    assert_true(keyring_kid_valid("a.b", 1, 16)); /* only the first n bytes count */
    assert_false(keyring_kid_valid("abcdefghijklmnopq", 17, 16));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_in_order),
        cmocka_unit_test(test_kid_optional_only_when_allowed),
        cmocka_unit_test(test_refusals_wipe_and_never_quote_secrets),
        cmocka_unit_test(test_kid_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
