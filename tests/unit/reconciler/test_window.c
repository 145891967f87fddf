#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tz.h"
#include "window.h"

#define S(x) ((int64_t)(x)*1000000)

static void test_window(void **state)
{
    struct window_cfg cfg = {S(7200), S(120), WINDOW_MAX_SPAN_US};
    int64_t from, till, now = S(1709300000) + 123456;

    (void)state;
    /* First pass: the last two hours before the settle time. */
    assert_int_equal(window_next(&cfg, 0, now, &from, &till), 1);
    assert_true(till == S(1709300000 - 120));
    assert_true(from == till - S(7200));
    /* Next: from two hours before the watermark to now. */
    assert_int_equal(window_next(&cfg, till, now + S(60), &from, &till), 1);
    assert_true(from == S(1709300000 - 120 - 7200) && till == S(1709300000 - 60));
    /* Nothing new yet. */
    assert_int_equal(window_next(&cfg, till, now + S(60), &from, &till), 0);
    /* Away for half a year: slices of at most 89 days, each starting before the last end. */
    assert_int_equal(window_next(&cfg, now - S(182 * 86400), now, &from, &till), 1);
    assert_true(till - from == WINDOW_MAX_SPAN_US);
    assert_true(from == now - S(182 * 86400) - S(7200) - (now % 1000000));
}

static void test_tz(void **state)
{
    char local[TZ_LOCAL_LEN];
    int64_t us;

    (void)state;
    assert_int_equal(tz_local_to_us("Europe/Moscow", "2024-03-01 14:40:24", &us), 0);
    assert_true(us == S(1709293224));
    assert_int_equal(tz_us_to_local("Asia/Yekaterinburg", us, local), 0);
    assert_string_equal(local, "2024-03-01 16:40:24");
    assert_int_equal(tz_us_to_local("UTC", us, local), 0);
    assert_string_equal(local, "2024-03-01 11:40:24");
    /* A zone with daylight saving time, both sides of the change. */
    assert_int_equal(tz_local_to_us("Europe/Berlin", "2024-07-01 12:00:00", &us), 0);
    assert_true(us == S(1719828000));
    assert_int_equal(tz_local_to_us("Europe/Berlin", "2024-01-01 12:00:00", &us), 0);
    assert_true(us == S(1704106800));
    assert_int_equal(tz_local_to_us("Mars/Olympus", "2024-01-01 12:00:00", &us), -1);
    assert_int_equal(tz_local_to_us("../../etc/passwd", "2024-01-01 12:00:00", &us), -1);
    assert_int_equal(tz_local_to_us("UTC", "2024-01-01T12:00:00", &us), -1);
    assert_int_equal(tz_local_to_us("UTC", "2024-01-01 12:00:00x", &us), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_tz),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
