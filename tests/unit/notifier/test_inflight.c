#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inflight.h"

#define R1 "0f8fad5b-d9cb-469f-a165-70867728950e"
#define R2 "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define R3 "16fd2706-8baf-433b-82eb-8c7fada847da"
#define R4 "886313e1-3b8a-5372-9b90-0c9aee199e5d"
#define R5 "a8098c1a-f86e-41d1-a7c7-b04c68d1ea5f"

static void test_per_user_limit(void **state)
{
    struct inflight *f = inflight_new(3, 60000, 100);

    (void)state;
    assert_non_null(f);
    assert_int_equal(inflight_reserve(f, "acme", 5, R1, 1000), 0);
    assert_int_equal(inflight_reserve(f, "acme", 5, R2, 1000), 0);
    assert_int_equal(inflight_reserve(f, "acme", 5, R3, 1000), 0);
    assert_int_equal(inflight_reserve(f, "acme", 5, R4, 1000), -1);
    /* another user, and the same user id in another tenant, are not counted together */
    assert_int_equal(inflight_reserve(f, "acme", 6, R4, 1000), 0);
    assert_int_equal(inflight_reserve(f, "beta", 5, R4, 1000), 0);
    /* the outcome of R2 comes back on the feed: anna may ask again */
    inflight_observe(f, "acme:request:" R2, 1000);
    assert_int_equal(inflight_reserve(f, "acme", 5, R4, 1000), 0);
    /* a call's popup, or another tenant's outcome, releases nothing */
    inflight_observe(f, "acme:2981734650:5", 1000);
    inflight_observe(f, "beta:request:" R1, 1000);
    assert_int_equal(inflight_reserve(f, "acme", 5, R2, 1000), -1);
    /* a request whose outcome never came stops counting after its life */
    assert_int_equal(inflight_reserve(f, "acme", 5, R2, 61001), 0);
    assert_int_equal(inflight_count(f), 1);
    inflight_free(f);
}

static void test_bounded(void **state)
{
    struct inflight *f = inflight_new(3, 60000, 2);

    (void)state;
    assert_int_equal(inflight_reserve(f, "acme", 1, R1, 0), 0);
    assert_int_equal(inflight_reserve(f, "acme", 2, R2, 0), 0);
    assert_int_equal(inflight_reserve(f, "acme", 3, R3, 0), -1);
    inflight_release(f, "acme", R1);
    inflight_release(f, "acme", "not-there");
    assert_int_equal(inflight_reserve(f, "acme", 3, R3, 0), 0);
    inflight_free(f);
}

static void test_requests_of_other_replicas_count(void **state)
{
    struct inflight *f = inflight_new(2, 60000, 100);

    (void)state;
    /* another replica's request read on the topic counts; this replica's own is not counted
     * twice when it comes back */
    assert_int_equal(inflight_note(f, "acme", 5, R1, 61000, 1000), 0);
    assert_int_equal(inflight_reserve(f, "acme", 5, R2, 1000), 0);
    assert_int_equal(inflight_note(f, "acme", 5, R2, 61000, 1000), 0);
    assert_int_equal(inflight_count(f), 2);
    assert_int_equal(inflight_reserve(f, "acme", 5, R3, 1000), -1);
    /* the other replica's request is answered: room again */
    inflight_observe(f, "acme:request:" R1, 2000);
    assert_int_equal(inflight_reserve(f, "acme", 5, R3, 2000), 0);
    /* an outcome read before its request (two feeds): the late note does not count */
    inflight_observe(f, "acme:request:" R4, 2000);
    assert_int_equal(inflight_note(f, "acme", 6, R4, 61000, 2000), 0);
    assert_int_equal(inflight_reserve(f, "acme", 6, R1, 2000), 0);
    assert_int_equal(inflight_reserve(f, "acme", 6, R5, 2000), 0);
    assert_int_equal(inflight_count(f), 4);
    /* a request read back after its life is not counted */
    assert_int_equal(inflight_note(f, "beta", 1, R1, 1500, 2000), 0);
    assert_int_equal(inflight_count(f), 4);
    inflight_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_user_limit),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_requests_of_other_replicas_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
