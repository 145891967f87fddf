#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "revoke.h"

#define REC(k, v) k, strlen(k), v, strlen(v)

static void test_parse(void **state)
{
    struct revoke_update u;
    char err[128];

    (void)state;
    assert_int_equal(
        revoke_parse(REC("acme/7", "{\"tenant\":\"acme\",\"user_id\":\"7\",\"token_generation\":3,"
                                   "\"active\":false,\"updated_at\":\"x\"}"),
                     &u, err, sizeof(err)),
        0);
    assert_string_equal(u.tenant, "acme");
    assert_string_equal(u.user, "7");
    assert_int_equal(u.generation, 3);
    assert_int_equal(u.active, 0);
}

static void test_parse_refusals(void **state)
{
    static const char *const bad[][2] = {
        {"acme/7",
         "{\"tenant\":\"acme\",\"user_id\":\"7\",\"token_generation\":0,\"active\":true}"},
        {"acme/7",
         "{\"tenant\":\"acme\",\"user_id\":\"07\",\"token_generation\":2,\"active\":true}"},
        {"acme/7",
         "{\"tenant\":\"acme\",\"user_id\":\"7\",\"token_generation\":\"2\",\"active\":1}"},
        {"acme/8",
         "{\"tenant\":\"acme\",\"user_id\":\"7\",\"token_generation\":2,\"active\":true}"},
        {"beta/7",
         "{\"tenant\":\"acme\",\"user_id\":\"7\",\"token_generation\":2,\"active\":true}"},
        {"acme/7", "{\"tenant\":\"acme\",\"user_id\":\"7\",\"active\":true}"},
        {"acme/7", "not json"},
    };
    struct revoke_update u;
    char err[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(revoke_parse(REC(bad[i][0], bad[i][1]), &u, err, sizeof(err)), -1);
    /* a tombstone must not lift a revocation */
    assert_int_equal(revoke_parse("acme/7", 6, NULL, 0, &u, err, sizeof(err)), -1);
}

static void test_allows(void **state)
{
    struct revoke *r = revoke_new();
    char k7[64], k8[64];

    (void)state;
    assert_non_null(r);
    auth_user_key("acme", "7", k7, sizeof(k7));
    auth_user_key("acme", "8", k8, sizeof(k8));
    assert_true(revoke_allows(r, k7, 0)); /* never named: every token */
    assert_int_equal(revoke_set(r, k7, 2, 1), 0);
    assert_false(revoke_allows(r, k7, 0)); /* no gen claim: the first generation */
    assert_false(revoke_allows(r, k7, 1));
    assert_true(revoke_allows(r, k7, 2));
    assert_true(revoke_allows(r, k7, 3));
    assert_true(revoke_allows(r, k8, 1));
    assert_int_equal(revoke_set(r, k7, 1, 1), 0); /* older: ignored */
    assert_false(revoke_allows(r, k7, 1));
    assert_int_equal(revoke_set(r, k7, 2, 0), 0); /* disabled */
    assert_false(revoke_allows(r, k7, 2));
    for (int i = 0; i < 2000; i++) { /* growth keeps every entry */
        char k[64], u[16];

        snprintf(u, sizeof(u), "%d", 100 + i);
        auth_user_key("acme", u, k, sizeof(k));
        assert_int_equal(revoke_set(r, k, 5, 1), 0);
    }
    assert_int_equal(revoke_size(r), 2001);
    assert_false(revoke_allows(r, k7, 2));
    {
        char k[64];

        auth_user_key("acme", "1999", k, sizeof(k));
        assert_false(revoke_allows(r, k, 4));
        assert_true(revoke_allows(r, k, 5));
    }
    revoke_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_allows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
