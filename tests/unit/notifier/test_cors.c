#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cors.h"

static void test_list(void **state)
{
    const char *allowed = "https://crm.example.com, https://b.example:8443";

    (void)state;
    assert_true(cors_allowed(allowed, "https://crm.example.com"));
    assert_true(cors_allowed(allowed, "https://b.example:8443"));
    assert_false(cors_allowed(allowed, "https://crm.example.co"));
    assert_false(cors_allowed(allowed, "https://crm.example.com.evil"));
    assert_false(cors_allowed(allowed, "http://crm.example.com"));
    assert_false(cors_allowed(allowed, ""));
    assert_false(cors_allowed(allowed, NULL));
    assert_true(cors_credentials(allowed));
}

static void test_none_and_any(void **state)
{
    (void)state;
    assert_false(cors_allowed("", "https://crm.example.com"));
    assert_false(cors_credentials(""));
    assert_true(cors_allowed("*", "https://anything.example"));
    assert_false(cors_credentials("*"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_none_and_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
