#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/cloudevents.h"

static void t_expect(rd_kafka_headers_t *h, const char *name, const char *want)
{
    const void *val = NULL;
    size_t size = 0;

    assert_int_equal(rd_kafka_header_get_last(h, name, &val, &size), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(size, strlen(want));
    assert_memory_equal(val, want, size);
}

static void test_headers_carry_every_attribute(void **state)
{
    struct traceparent tp;
    struct ce_attrs ce;
    char tptext[TP_LEN];
    rd_kafka_headers_t *h;

    (void)state;
    assert_int_equal(tp_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp), 0);
    assert_int_equal(ce_attrs_init(&ce, "evt-1", "ru.uis.call.ringing", "/v1/uis/acme", &tp), 0);
    h = ce_headers_new(&ce);
    assert_non_null(h);
    t_expect(h, "ce_specversion", "1.0");
    t_expect(h, "ce_id", "evt-1");
    t_expect(h, "ce_type", "ru.uis.call.ringing");
    t_expect(h, "ce_source", "/v1/uis/acme");
    t_expect(h, "content-type", "application/json");
    tp_format(&tp, tptext);
    t_expect(h, "traceparent", tptext);
    t_expect(h, "ce_time", ce.time);
    assert_int_equal(strlen(ce.time), 24);
    rd_kafka_headers_destroy(h);
}

static void test_random_id_and_limits(void **state)
{
    struct ce_attrs a, b;
    char longsrc[400];

    (void)state;
    assert_int_equal(ce_attrs_init(&a, NULL, "t", "s", NULL), 0);
    assert_int_equal(ce_attrs_init(&b, NULL, "t", "s", NULL), 0);
    assert_int_equal(strlen(a.id), 36);
    assert_string_not_equal(a.id, b.id);
    assert_string_equal(a.traceparent, "");
    memset(longsrc, 'x', sizeof(longsrc) - 1);
    longsrc[sizeof(longsrc) - 1] = '\0';
    assert_int_equal(ce_attrs_init(&a, NULL, "t", longsrc, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_carry_every_attribute),
        cmocka_unit_test(test_random_id_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
