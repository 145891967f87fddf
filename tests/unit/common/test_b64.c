#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/b64.h"

static void test_rfc4648_vectors(void **state)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[32];
    unsigned char back[32];

    (void)state;
    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);

        assert_int_equal(b64_encode((const unsigned char *)plain[i], n, out, sizeof(out), 0),
                         (long)strlen(std[i]));
        assert_string_equal(out, std[i]);
        b64_encode((const unsigned char *)plain[i], n, out, sizeof(out), 1);
        assert_string_equal(out, url[i]);
        assert_int_equal(b64_decode(std[i], strlen(std[i]), back, sizeof(back)), (long)n);
        assert_memory_equal(back, plain[i], n);
        assert_int_equal(b64_decode(url[i], strlen(url[i]), back, sizeof(back)), (long)n);
    }
}

static void test_url_alphabet_and_errors(void **state)
{
    const unsigned char bin[] = {0xfb, 0xff, 0xfe};
    char out[8];
    unsigned char back[8];

    (void)state;
    b64_encode(bin, 3, out, sizeof(out), 0);
    assert_string_equal(out, "+//+");
    b64_encode(bin, 3, out, sizeof(out), 1);
    assert_string_equal(out, "-__-");
    assert_int_equal(b64_decode("a$bc", 4, back, sizeof(back)), -1);
    assert_int_equal(b64_decode("Z", 1, back, sizeof(back)), -1);
    assert_int_equal(b64_encode(bin, 3, out, 4, 0), -1);
    assert_int_equal(b64_decode("Zm9vYmFy", 8, back, 2), -1);
}

/* One byte string, one spelling: the unused low bits of the last character must be zero. */
static void test_url_canonical(void **state)
{
    (void)state;
    assert_true(b64url_canonical("", 0));
    assert_true(b64url_canonical("e30", 3));  /* "{}" */
    assert_false(b64url_canonical("e31", 3)); /* the same bytes, a low bit set */
    assert_true(b64url_canonical("QQ", 2));   /* "A" */
    assert_false(b64url_canonical("QR", 2));
    assert_false(b64url_canonical("QQ==", 4)); /* padding */
    assert_false(b64url_canonical("a+b/", 4)); /* standard alphabet */
    assert_false(b64url_canonical("abcde", 5));
    assert_true(b64url_canonical("e30.rest", 3)); /* a part of a longer string */
    assert_false(b64url_canonical("e3", 3));      /* shorter than said */
}

static void test_url_alphabet(void **state)
{
    (void)state;
    assert_int_equal(b64url_alphabet("Az09-_", 6), 1);
    assert_int_equal(b64url_alphabet("", 0), 1);
    assert_int_equal(b64url_alphabet("key1:c2VjcmV0", 4), 1); /* only the first n bytes count */
    assert_int_equal(b64url_alphabet("key1:c2VjcmV0", 5), 0);
    assert_int_equal(b64url_alphabet("a+b", 3), 0);
    assert_int_equal(b64url_alphabet("a/b", 3), 0);
    assert_int_equal(b64url_alphabet("ab", 3), 0); /* the NUL is not of the alphabet */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet_and_errors),
        cmocka_unit_test(test_url_canonical),
        cmocka_unit_test(test_url_alphabet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
