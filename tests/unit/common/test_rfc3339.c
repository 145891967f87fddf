/* rfc3339: the one reading of the date-times every topic carries (the router and crm-writer had
 * one each, with different rules: a space for 'T', Feb 30, ten fraction digits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/rfc3339.h"

static void test_rfc3339_values(void **state)
{
    int64_t us = 0;

    (void)state;
    assert_int_equal(rfc3339_parse("1970-01-01T00:00:01Z", &us), 0);
    assert_int_equal(us, 1000000);
    assert_int_equal(rfc3339_parse("1970-01-01T00:00:01.5Z", &us), 0);
    assert_int_equal(us, 1500000);
    assert_int_equal(rfc3339_parse("1970-01-01T03:00:00+03:00", &us), 0);
    assert_int_equal(us, 0);
    assert_int_equal(rfc3339_parse("1970-01-01T00:00:00-01:30", &us), 0);
    assert_int_equal(us, 5400LL * 1000000);
    assert_int_equal(rfc3339_parse("2026-11-25T11:40:10.123Z", &us), 0);
    assert_int_equal(us, 1795606810123000LL);
    assert_int_equal(rfc3339_parse("2026-11-25t11:40:10.123456789z", &us), 0);
    assert_int_equal(us, 1795606810123456LL); /* beyond microseconds: dropped */
    assert_int_equal(rfc3339_parse("2024-02-29T00:00:00Z", &us), 0);
    assert_int_equal(rfc3339_parse("2000-02-29T00:00:00Z", &us), 0);
    assert_int_equal(rfc3339_parse("1969-12-31T23:59:59Z", &us), 0);
    assert_int_equal(us, -1000000);
    assert_int_equal(rfc3339_parse("2016-12-31T23:59:60Z", &us), 0); /* leap second */
}

static void test_rfc3339_refusals(void **state)
{
    static const char *const bad[] = {
        "1970-01-01 00:00:00Z",            /* space for T */
        "1970-13-01T00:00:00Z",            /* month */
        "2026-02-30T00:00:00Z",            /* no such day */
        "2023-02-29T00:00:00Z",            /* not a leap year */
        "1900-02-29T00:00:00Z",            /* not a leap year either */
        "2026-11-25T24:00:00Z",            /* hour */
        "2026-11-25T11:60:00Z",            /* minute */
        "2026-11-25T11:40:61Z",            /* second */
        "1970-01-01T00:00:00",             /* no offset */
        "1970-01-01T00:00:00.Z",           /* empty fraction */
        "1970-01-01T00:00:00.1234567890Z", /* ten fraction digits */
        "1970-01-01T00:00:00Zjunk",
        "2026-11-25T11:40:10+0300",
        "2026-11-25T11:40:10+24:00",
        "2026-11-25T11:40:10+03:60",
        "2026-11-25",
        "2026-1-25T11:40:10Z",
        "",
        NULL,
    };
    int64_t us = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rfc3339_parse(bad[i], &us) != -1 || rfc3339_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i] ? bad[i] : "(null)");
    }
    assert_int_equal(us, 42); /* untouched on refusal */
    assert_true(rfc3339_valid("2026-11-25T11:40:10.5-05:30"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_values),
        cmocka_unit_test(test_rfc3339_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
