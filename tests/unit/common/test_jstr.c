#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/jstr.h"

static void test_copies_a_string_that_fits(void **state)
{
    json_t *v = json_string("abc");
    char dst[4] = "zzz";

    (void)state;
    assert_int_equal(jstr_copy(v, dst, sizeof(dst)), 0);
    assert_string_equal(dst, "abc");
    json_decref(v);
}

static void test_refuses_without_touching_dst(void **state)
{
    json_t *tight = json_string("abcd");
    json_t *empty = json_string("");
    json_t *nul = json_stringn("a\0b", 3);
    json_t *num = json_integer(7);
    char dst[4] = "zzz";

    (void)state;
    assert_int_equal(jstr_copy(tight, dst, sizeof(dst)), -1); /* needs 5 bytes with its NUL */
    assert_int_equal(jstr_copy(empty, dst, sizeof(dst)), -1);
    assert_int_equal(jstr_copy(nul, dst, sizeof(dst)), -1);
    assert_int_equal(jstr_copy(num, dst, sizeof(dst)), -1);
    assert_int_equal(jstr_copy(NULL, dst, sizeof(dst)), -1);
    assert_string_equal(dst, "zzz");
    json_decref(tight);
    json_decref(empty);
    json_decref(nul);
    json_decref(num);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_a_string_that_fits),
        cmocka_unit_test(test_refuses_without_touching_dst),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
