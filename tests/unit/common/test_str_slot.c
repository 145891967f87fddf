#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/str_slot.h"

static const char *at(const void *set, size_t i)
{
    return ((const char *const *)set)[i];
}

static void test_found_and_insertion_points(void **state)
{
    static const char *const s[] = {"acme", "acme/5", "beta", "beta/10"};
    int found;

    (void)state;
    assert_int_equal(str_slot(s, 4, at, "acme/5", &found), 1);
    assert_true(found);
    assert_int_equal(str_slot(s, 4, at, "a", &found), 0);
    assert_false(found);
    assert_int_equal(str_slot(s, 4, at, "acme/6", &found), 2);
    assert_false(found);
    assert_int_equal(str_slot(s, 4, at, "zeta", &found), 4);
    assert_false(found);
    assert_int_equal(str_slot(s, 0, at, "acme", &found), 0);
    assert_false(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_and_insertion_points),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
