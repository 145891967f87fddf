#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/ids.h"

/* What libc makes of the same instant. */
static void libc_rfc3339(int64_t us, char *out, size_t outlen)
{
    time_t secs = (time_t)(us / 1000000);
    char base[24];
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03dZ", base, (int)((us / 1000) % 1000));
}

static void test_rfc3339_known(void **state)
{
    char out[IDS_TIME_LEN];

    (void)state;
    ids_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    ids_rfc3339(951782400123456, out); /* leap day of a year divisible by 400 */
    assert_string_equal(out, "2000-02-29T00:00:00.123Z");
    ids_rfc3339(4107542399999999, out); /* 2100 is not a leap year */
    assert_string_equal(out, "2100-02-28T23:59:59.999Z");
    ids_rfc3339(4107542400000000, out);
    assert_string_equal(out, "2100-03-01T00:00:00.000Z");
    ids_rfc3339(253402300799999000, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    ids_rfc3339(-1000, out); /* before the epoch: floors, like gmtime */
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void test_rfc3339_matches_libc(void **state)
{
    char ours[IDS_TIME_LEN], theirs[IDS_TIME_LEN];
    uint64_t x = 88172645463325252ULL;

    (void)state;
    for (int i = 0; i < 200000; i++) {
        int64_t us;

        x ^= x << 13; /* xorshift: a reproducible spread over 0000..9999 */
        x ^= x >> 7;
        x ^= x << 17;
        us = (int64_t)(x % 253402300800000000ULL);
        ids_rfc3339(us, ours);
        libc_rfc3339(us, theirs, sizeof(theirs));
        assert_string_equal(ours, theirs);
    }
}

static void test_uuid4_form(void **state)
{
    char a[IDS_UUID_LEN], b[IDS_UUID_LEN];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(ids_uuid4(a), 0);
        assert_int_equal(strlen(a), 36);
        for (int k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                assert_int_equal(a[k], '-');
            else
                assert_non_null(strchr("0123456789abcdef", a[k]));
        }
        assert_int_equal(a[14], '4');
        assert_non_null(strchr("89ab", a[19]));
        assert_int_equal(ids_uuid4(b), 0);
        assert_string_not_equal(a, b);
    }
}

static void test_random_across_the_pool(void **state)
{
    unsigned char big[1000], again[1000];
    size_t zeros = 0;

    (void)state;
    assert_int_equal(ids_random(big, 7), 0); /* leave the pool at an odd offset */
    assert_int_equal(ids_random(big, sizeof(big)), 0);
    assert_int_equal(ids_random(again, sizeof(again)), 0);
    assert_memory_not_equal(big, again, sizeof(big));
    for (size_t i = 0; i < sizeof(big); i++)
        zeros += big[i] == 0;
    assert_true(zeros < 30); /* about 4 expected; a pool handed out twice would show zeros */
}

static void test_now_ms_is_the_wall_clock(void **state)
{
    int64_t before = (int64_t)time(NULL) * 1000, now = ids_now_ms(), us = ids_now_us();

    (void)state;
    assert_true(now >= before && now < before + 2000);
    assert_true(us / 1000 >= now && us / 1000 < now + 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_ms_is_the_wall_clock), cmocka_unit_test(test_rfc3339_known),
        cmocka_unit_test(test_rfc3339_matches_libc),     cmocka_unit_test(test_uuid4_form),
        cmocka_unit_test(test_random_across_the_pool),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
