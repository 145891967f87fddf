#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "event_id.h"

static void test_format_parse_roundtrip(void **state)
{
    const struct evid ids[] = {{0, 0}, {3, 120}, {INT32_MAX, INT64_MAX}};
    char buf[EVID_MAX];
    struct evid back;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_true(evid_format(&ids[i], buf, sizeof(buf)) > 0);
        assert_int_equal(evid_parse(buf, &back), 0);
        assert_int_equal(evid_cmp(&back, &ids[i]), 0);
    }
    evid_format(&ids[1], buf, sizeof(buf));
    assert_string_equal(buf, "3-120");
    assert_int_equal(evid_format(&ids[2], buf, 5), -1);
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",     "3",    "-3",    "3-",           "a-1",
        "1-b",  " 1-2", "1-2 ",  "01-2",         "1-02",
        "+1-2", "1--2", "1-2-3", "2147483648-1", "1-9223372036854775808"};
    struct evid id;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(evid_parse(bad[i], &id), -1);
    assert_int_equal(evid_parse("0-0", &id), 0);
    assert_int_equal(evid_parse(NULL, &id), -1);
}

static void test_order(void **state)
{
    struct evid a = {1, 50}, b = {1, 51}, c = {2, 0};

    (void)state;
    assert_int_equal(evid_cmp(&a, &b), -1);
    assert_int_equal(evid_cmp(&b, &a), 1);
    assert_int_equal(evid_cmp(&b, &c), -1);
    assert_int_equal(evid_cmp(&a, &a), 0);
}

static void test_from_request(void **state)
{
    struct evid id;

    (void)state;
    assert_int_equal(evid_from_request(NULL, NULL, &id), 0);
    assert_int_equal(evid_from_request("", "", &id), 0);
    assert_int_equal(evid_from_request("2-7", "5-9", &id), 1);
    assert_int_equal(id.partition, 2);
    assert_int_equal(id.offset, 7);
    assert_int_equal(evid_from_request(NULL, "5-9", &id), 1);
    assert_int_equal(id.partition, 5);
    assert_int_equal(evid_from_request("", "5-9", &id), 1);
    assert_int_equal(evid_from_request("garbage", "5-9", &id), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse_roundtrip),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_from_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
