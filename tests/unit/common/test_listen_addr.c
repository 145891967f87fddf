#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "common/listen_addr.h"

static void test_ipv4_with_port(void **state)
{
    struct sockaddr_in sin;
    char err[128] = "";

    (void)state;
    assert_int_equal(listen_addr_ipv4("127.0.0.1", 8080, &sin, err, sizeof(err)), 0);
    assert_int_equal(sin.sin_family, AF_INET);
    assert_int_equal(ntohs(sin.sin_port), 8080);
    assert_int_equal(ntohl(sin.sin_addr.s_addr), 0x7f000001);
    assert_string_equal(err, "");
    assert_int_equal(listen_addr_ipv4("0.0.0.0", 65535, &sin, err, sizeof(err)), 0);
    assert_int_equal(sin.sin_addr.s_addr, htonl(INADDR_ANY));
    assert_int_equal(ntohs(sin.sin_port), 65535);
}

static void test_refuses_what_is_not_ipv4(void **state)
{
    static const char *const bad[] = {"",          "localhost",  "::1",         "1.2.3",
                                      "256.0.0.1", "127.0.0.1 ", "127.0.0.1:80"};
    struct sockaddr_in sin;
    char err[128], want[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(listen_addr_ipv4(bad[i], 80, &sin, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "'%s' is not an IPv4 address", bad[i]);
        assert_string_equal(err, want);
    }
    assert_int_equal(listen_addr_ipv4(NULL, 80, &sin, err, sizeof(err)), -1);
    assert_string_equal(err, "'' is not an IPv4 address");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_with_port),
        cmocka_unit_test(test_refuses_what_is_not_ipv4),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
