#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

static void test_webhook_paths(void **state)
{
    struct route r;

    (void)state;
    route_parse("/v1/uis/acme/k1.1.abc", &r);
    assert_int_equal(r.kind, ROUTE_WEBHOOK);
    assert_string_equal(r.tenant, "acme");
    assert_string_equal(r.token, "k1.1.abc");
    route_parse("/v1/uis/acme/k1.1.abc/", &r); /* pasted with a trailing slash */
    assert_int_equal(r.kind, ROUTE_WEBHOOK);
    assert_string_equal(r.token, "k1.1.abc");
}

static void test_everything_else_is_not_found(void **state)
{
    static const char *const bad[] = {
        "/",
        "/v1/uis/",
        "/v1/uis/acme",
        "/v1/uis/acme/",
        "/v1/uis//tok",
        "/v1/uis/acme/tok/extra",
        "/v1/uis/ACME/tok",
        "/v1/uis/a b/tok",
        "/v2/uis/acme/tok",
        "/healthz",
        "/v1/uis/-acme/tok",
    };
    struct route r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        route_parse(bad[i], &r);
        assert_int_equal(r.kind, ROUTE_NOT_FOUND);
        assert_string_equal(r.tenant, "");
    }
    route_parse(NULL, &r);
    assert_int_equal(r.kind, ROUTE_NOT_FOUND);
}

static void test_overlong_segments(void **state)
{
    char url[512];
    struct route r;

    (void)state;
    strcpy(url, "/v1/uis/acme/");
    memset(url + strlen(url), 'a', 200);
    url[13 + 200] = '\0';
    route_parse(url, &r);
    assert_int_equal(r.kind, ROUTE_NOT_FOUND);
    strcpy(url, "/v1/uis/");
    memset(url + 8, 'a', 100);
    strcpy(url + 108, "/tok");
    route_parse(url, &r);
    assert_int_equal(r.kind, ROUTE_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_paths),
        cmocka_unit_test(test_everything_else_is_not_found),
        cmocka_unit_test(test_overlong_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
