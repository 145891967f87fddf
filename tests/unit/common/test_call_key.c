/* call_key: the call-events key contract both producers (ingest, reconciler) share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/call_key.h"

static void test_caller_number(void **state)
{
    char k[64];

    (void)state;
    assert_int_equal(call_key_format(k, sizeof(k), "acme", "+74951234567", "3311"), 0);
    assert_string_equal(k, "acme:+74951234567");
}

static void test_hidden_number(void **state)
{
    char k[64];

    (void)state;
    assert_int_equal(call_key_format(k, sizeof(k), "acme", "", "3311"), 0);
    assert_string_equal(k, "acme:call:3311");
    assert_int_equal(call_key_format(k, sizeof(k), "acme", NULL, "3311"), 0);
    assert_string_equal(k, "acme:call:3311");
}

static void test_does_not_fit(void **state)
{
    char k[18]; /* "acme:+74951234567" is 17 bytes and its NUL */

    (void)state;
    assert_int_equal(call_key_format(k, sizeof(k), "acme", "+74951234567", "1"), 0);
    assert_int_equal(call_key_format(k, sizeof(k) - 1, "acme", "+74951234567", "1"), -1);
    assert_int_equal(call_key_format(k, 10, "acme", "", "123456789"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caller_number),
        cmocka_unit_test(test_hidden_number),
        cmocka_unit_test(test_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
