#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/traceparent.h"

static void test_parse_valid(void **state)
{
    struct traceparent tp;

    (void)state;
    assert_int_equal(tp_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp), 0);
    assert_string_equal(tp.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(tp.parent_id, "00f067aa0ba902b7");
    assert_int_equal(tp.flags, 1);
}

static void test_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
    };
    struct traceparent tp;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tp_parse(bad[i], &tp), -1);
    assert_int_equal(tp_parse(NULL, &tp), -1);
}

static void test_generate_roundtrip(void **state)
{
    struct traceparent a, b;
    char text[TP_LEN];

    (void)state;
    assert_int_equal(tp_generate(&a), 0);
    tp_format(&a, text);
    assert_int_equal(strlen(text), TP_LEN - 1);
    assert_int_equal(tp_parse(text, &b), 0);
    assert_string_equal(a.trace_id, b.trace_id);
    assert_string_equal(a.parent_id, b.parent_id);
}

static void test_continue_keeps_trace_new_span(void **state)
{
    const char *in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    struct traceparent out, fresh;

    (void)state;
    assert_int_equal(tp_continue(in, &out), 0);
    assert_string_equal(out.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_not_equal(out.parent_id, "00f067aa0ba902b7");
    assert_int_equal(tp_continue("garbage", &fresh), 0);
    assert_string_not_equal(fresh.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_int_equal(tp_continue(NULL, &fresh), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_generate_roundtrip),
        cmocka_unit_test(test_continue_keeps_trace_new_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
