#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "token_map.h"

static void test_set_get_remove(void **state)
{
    struct token_map *m = token_map_new();

    (void)state;
    assert_int_equal(token_map_get(m, "acme"), 0);
    assert_int_equal(token_map_set(m, "acme", 1), 0);
    assert_int_equal(token_map_set(m, "beta", 4), 0);
    assert_int_equal(token_map_get(m, "acme"), 1);
    assert_int_equal(token_map_set(m, "acme", 2), 0); /* re-issued: the old version is void */
    assert_int_equal(token_map_get(m, "acme"), 2);
    assert_int_equal(token_map_size(m), 2);
    assert_int_equal(token_map_set(m, "acme", 0), 0);
    assert_int_equal(token_map_get(m, "acme"), 0);
    assert_int_equal(token_map_size(m), 1);
    assert_int_not_equal(token_map_set(m, "Bad Tenant", 1), 0);
    token_map_free(m);
}

static void test_apply_records(void **state)
{
    struct token_map *m = token_map_new();
    const char *v3 = "{\"tenant\":\"acme\",\"token_version\":3,\"key_id\":\"k1\"}";

    (void)state;
    assert_int_equal(token_map_apply(m, "acme", 4, v3, strlen(v3)), 0);
    assert_int_equal(token_map_get(m, "acme"), 3);
    assert_int_not_equal(token_map_apply(m, "acme", 4, "{}", 2), 0);
    assert_int_not_equal(token_map_apply(m, "acme", 4, "{\"token_version\":0}", 19), 0);
    assert_int_not_equal(token_map_apply(m, "acme", 4, "not json", 8), 0);
    assert_int_equal(token_map_get(m, "acme"), 3);               /* a bad record changes nothing */
    assert_int_equal(token_map_apply(m, "acme", 4, NULL, 0), 0); /* tombstone */
    assert_int_equal(token_map_get(m, "acme"), 0);
    assert_int_not_equal(token_map_apply(m, NULL, 0, v3, strlen(v3)), 0);
    token_map_free(m);
}

static void test_many_tenants(void **state)
{
    struct token_map *m = token_map_new();
    char name[32];

    (void)state;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(token_map_set(m, name, (unsigned long)i + 1), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(token_map_get(m, name), (unsigned long)i + 1);
    }
    assert_int_equal(token_map_size(m), 5000);
    token_map_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_remove),
        cmocka_unit_test(test_apply_records),
        cmocka_unit_test(test_many_tenants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
