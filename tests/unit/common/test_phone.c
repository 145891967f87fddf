/* phone: one table per function, every written form of a number and the edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/phone.h"

struct phone_norm_case {
    const char *raw;
    int rc;
    const char *e164; /* expected output; "" on anything but PHONE_OK */
};

static const struct phone_norm_case phone_norm_cases[] = {
    /* Russian forms → +7 */
    {"89161234567", PHONE_OK, "+79161234567"},
    {"79161234567", PHONE_OK, "+79161234567"},
    {"+79161234567", PHONE_OK, "+79161234567"},
    {"9161234567", PHONE_OK, "+79161234567"},
    {"+7 (916) 123-45-67", PHONE_OK, "+79161234567"},
    {"8 (916) 123-45-67", PHONE_OK, "+79161234567"},
    {"8-916-123-45-67", PHONE_OK, "+79161234567"},
    {"7.916.123.45.67", PHONE_OK, "+79161234567"},
    {"(916) 123 45 67", PHONE_OK, "+79161234567"},
    {"+7(916)1234567", PHONE_OK, "+79161234567"},
    {"  +7 916 123 45 67  ", PHONE_OK, "+79161234567"},
    {"\t79161234567\r\n", PHONE_OK, "+79161234567"},
    {"8 495 123-45-67", PHONE_OK, "+74951234567"},
    {"74993482958", PHONE_OK, "+74993482958"},
    {"79031112233", PHONE_OK, "+79031112233"},
    {"8 800 555 35 35", PHONE_OK, "+78005553535"},
    {"+7\t916\t1234567", PHONE_OK, "+79161234567"},
    /* other international numbers keep their digits */
    {"+44 20 7946 0958", PHONE_OK, "+442079460958"},
    {"380441234567", PHONE_OK, "+380441234567"},
    {"+380 (44) 123-45-67", PHONE_OK, "+380441234567"},
    {"00442079460958", PHONE_OK, "+442079460958"},
    {"00 380 44 123 45 67", PHONE_OK, "+380441234567"},
    {"810442079460958", PHONE_OK, "+442079460958"},
    {"+1 (212) 555-0100", PHONE_OK, "+12125550100"},
    {"+49 30 123456", PHONE_OK, "+4930123456"},
    {"+123456789012345", PHONE_OK, "+123456789012345"},
    {"+12345", PHONE_OK, "+12345"},
    /* 8 then 0..2 is not the +7 plan: an international number without '+' (Tokyo, Seoul) */
    {"81312345678", PHONE_OK, "+81312345678"},
    {"82212345678", PHONE_OK, "+82212345678"},
    {"8 (495) 123-45-67", PHONE_OK, "+74951234567"},
    {"83012345678", PHONE_OK, "+73012345678"},
    /* 5..9 digits without '+': internal or service numbers, kept raw by the caller */
    {"12345", PHONE_INTERNAL, ""},
    {"123456789", PHONE_INTERNAL, ""},
    {"5-55-12", PHONE_INTERNAL, ""},
    {" 100500 ", PHONE_INTERNAL, ""},
    {"+86 10 1234 5678", PHONE_OK, "+861012345678"},
    {"0079161234567", PHONE_OK, "+79161234567"},
    /* hidden or empty */
    {"", PHONE_EMPTY, ""},
    {"   ", PHONE_EMPTY, ""},
    {"\t\r\n", PHONE_EMPTY, ""},
    {"anonymous", PHONE_EMPTY, ""},
    {"Anonymous", PHONE_EMPTY, ""},
    {"UNKNOWN", PHONE_EMPTY, ""},
    {"null", PHONE_EMPTY, ""},
    {" hidden ", PHONE_EMPTY, ""},
    {"private", PHONE_EMPTY, ""},
    {"Restricted", PHONE_EMPTY, ""},
    /* refused */
    {"abc", PHONE_EINVAL, ""},
    {"8916123456a", PHONE_EINVAL, ""},
    {"+7 916 ABC 45 67", PHONE_EINVAL, ""},
    {"7916+1234567", PHONE_EINVAL, ""},
    {"++79161234567", PHONE_EINVAL, ""},
    {"(916 123 45 67", PHONE_EINVAL, ""},
    {"916) 123 45 67", PHONE_EINVAL, ""},
    {"((916)) 1234567", PHONE_EINVAL, ""},
    {"79161234567;", PHONE_EINVAL, ""},
    {"79161234567 ext 12", PHONE_EINVAL, ""},
    {"\"79161234567\"", PHONE_EINVAL, ""},
    {"7.9161234567e10", PHONE_EINVAL, ""},
    {"+7 916 123 45 67\xc2\xa0", PHONE_EINVAL, ""},
    {"anonymous1", PHONE_EINVAL, ""},
    {"1234", PHONE_ESHORT, ""},
    {"+1", PHONE_ESHORT, ""},
    {"+", PHONE_ESHORT, ""},
    {"---", PHONE_ESHORT, ""},
    {"112", PHONE_ESHORT, ""},
    {"1234567890123456", PHONE_ELONG, ""},
    {"+1234567890123456", PHONE_ELONG, ""},
    {"123456789012345678901234567890", PHONE_ELONG, ""},
    {"+7 916 123 45 6", PHONE_ERUSSIAN, ""},
    {"+7916123456789", PHONE_ERUSSIAN, ""},
    {"791612345678", PHONE_ERUSSIAN, ""},
    {"0079161234", PHONE_ERUSSIAN, ""},
};

static void test_phone_normalize_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(phone_norm_cases) / sizeof(phone_norm_cases[0]); i++) {
        const struct phone_norm_case *c = &phone_norm_cases[i];
        char out[PHONE_E164_LEN];
        int rc = phone_normalize(c->raw, out, sizeof(out));

        if (rc != c->rc || strcmp(out, c->e164) != 0)
            fail_msg("row %zu \"%s\": rc %d out \"%s\", want rc %d out \"%s\"", i, c->raw, rc, out,
                     c->rc, c->e164);
    }
}

/* The one E.164 check and the one extension character set (issue 15). */
static void test_phone_e164_and_ext_valid(void **state)
{
    (void)state;
    assert_true(phone_e164_valid("+79031112233"));
    assert_true(phone_e164_valid("+12345"));
    assert_true(phone_e164_valid("+123456789012345"));
    assert_false(phone_e164_valid("+01234567")); /* no country code starts with 0 */
    assert_false(phone_e164_valid("+1234"));
    assert_false(phone_e164_valid("+1234567890123456"));
    assert_false(phone_e164_valid("79031112233"));
    assert_false(phone_e164_valid("+7903111223a"));
    assert_false(phone_e164_valid(""));
    assert_false(phone_e164_valid(NULL));
    assert_true(phone_ext_valid("101"));
    assert_true(phone_ext_valid("sip_101-a"));
    assert_true(phone_ext_valid("*77#"));
    assert_true(phone_ext_valid("+7"));
    assert_true(phone_ext_valid("1234567890123456"));
    assert_false(phone_ext_valid("12345678901234567"));
    assert_false(phone_ext_valid(""));
    assert_false(phone_ext_valid(NULL));
    assert_false(phone_ext_valid("10 1"));
    assert_false(phone_ext_valid("101;"));
    assert_false(phone_ext_valid("\xd0\x90"));
}

static void test_phone_normalize_edges(void **state)
{
    char out[PHONE_E164_LEN];
    char small[12];

    (void)state;
    assert_int_equal(phone_normalize(NULL, out, sizeof(out)), PHONE_EMPTY);
    assert_int_equal(phone_normalize("79161234567", NULL, 0), PHONE_ENOSPC);
    assert_int_equal(phone_normalize("79161234567", small, sizeof(small)), PHONE_ENOSPC);
    assert_string_equal(small, "");
    /* exactly big enough: 12 characters and the NUL */
    assert_int_equal(phone_normalize("79161234567", out, 13), PHONE_OK);
    assert_string_equal(out, "+79161234567");
    /* a failure leaves an empty string even after a previous success in the same buffer */
    assert_int_equal(phone_normalize("abc", out, sizeof(out)), PHONE_EINVAL);
    assert_string_equal(out, "");
}

struct phone_text_case {
    const char *in;
    const char *out;
};

static const struct phone_text_case phone_mask_cases[] = {
    {"+79161234567", "+7***4567"},
    {"+442079460958", "+44***0958"},
    {"+380441234567", "+380***4567"},
    {"+12025550123", "+1***0123"},
    {"+3726123456", "+372***56"},
    {"+7916", "***16"},
    {"+7 (916) 123-45-67", "***67"},
    {"89161234567", "***67"},
    {"12345", "***45"},
    {"123", "***23"},
    {"12", "***"},
    {"1", "***"},
    {"", ""},
    {"+7916\n1234567", "***67"},
    {"+7\x01\x02\x03xxxxxx\xff\xfe", "***??"},
    {"a very long string that is not a number at all", "***ll"},
};

static void test_phone_mask_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(phone_mask_cases) / sizeof(phone_mask_cases[0]); i++) {
        char out[PHONE_MASK_LEN];

        assert_int_equal(phone_mask(phone_mask_cases[i].in, out, sizeof(out)), PHONE_OK);
        assert_string_equal(out, phone_mask_cases[i].out);
    }
}

static void test_phone_mask_edges(void **state)
{
    char out[PHONE_MASK_LEN];
    char small[PHONE_MASK_LEN - 1];

    (void)state;
    assert_int_equal(phone_mask(NULL, out, sizeof(out)), PHONE_OK);
    assert_string_equal(out, "");
    assert_int_equal(phone_mask("+79161234567", small, sizeof(small)), PHONE_ENOSPC);
    assert_string_equal(small, "");
    assert_int_equal(phone_mask("+79161234567", NULL, 0), PHONE_ENOSPC);
}

static const struct phone_text_case phone_format_cases[] = {
    {"+79161234567", "+7 (916) 123-45-67"},
    {"+74993482958", "+7 (499) 348-29-58"},
    {"+442079460958", "+442079460958"},
    {"+380441234567", "+380441234567"},
    {"+7916123456", "+7916123456"},
    {"+7916123456a", "+7916123456a"},
    {"", ""},
};

static void test_phone_format_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(phone_format_cases) / sizeof(phone_format_cases[0]); i++) {
        char out[PHONE_DISPLAY_LEN];

        assert_int_equal(phone_format(phone_format_cases[i].in, out, sizeof(out)), PHONE_OK);
        assert_string_equal(out, phone_format_cases[i].out);
    }
}

static void test_phone_format_edges(void **state)
{
    char out[PHONE_DISPLAY_LEN];
    char small[18];

    (void)state;
    assert_int_equal(phone_format(NULL, out, sizeof(out)), PHONE_EINVAL);
    assert_string_equal(out, "");
    assert_int_equal(phone_format("+79161234567", small, sizeof(small)), PHONE_ENOSPC);
    assert_string_equal(small, "");
    assert_int_equal(phone_format("+79161234567", out, 19), PHONE_OK);
    assert_string_equal(out, "+7 (916) 123-45-67");
    assert_int_equal(phone_format("+442079460958", out, 13), PHONE_ENOSPC);
}

static void test_phone_strerror(void **state)
{
    static const int codes[] = {PHONE_OK,       PHONE_EMPTY,  PHONE_INTERNAL,
                                PHONE_EINVAL,   PHONE_ESHORT, PHONE_ELONG,
                                PHONE_ERUSSIAN, PHONE_ENOSPC, -99};

    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = phone_strerror(codes[i]);

        assert_non_null(s);
        assert_true(s[0] >= 'a' && s[0] <= 'z');
    }
    assert_string_equal(phone_strerror(PHONE_ESHORT), "has fewer than 5 digits");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone_normalize_table),
        cmocka_unit_test(test_phone_normalize_edges),
        cmocka_unit_test(test_phone_e164_and_ext_valid),
        cmocka_unit_test(test_phone_mask_table),
        cmocka_unit_test(test_phone_mask_edges),
        cmocka_unit_test(test_phone_format_table),
        cmocka_unit_test(test_phone_format_edges),
        cmocka_unit_test(test_phone_strerror),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
