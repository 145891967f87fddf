#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"

static char *t_capture(enum log_level min, enum log_level level, const char *msg, json_t *fields)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    log_init("test-svc", min, f);
    log_write(level, msg, fields);
    fclose(f);
    log_init("test-svc", LOG_INFO, NULL);
    return buf;
}

static void test_line_is_one_json_object(void **state)
{
    char *out = t_capture(LOG_INFO, LOG_INFO, "hello", json_pack("{s:s, s:i}", "k", "v", "n", 3));
    json_error_t jerr;
    json_t *j;

    (void)state;
    assert_non_null(out);
    assert_int_equal(out[strlen(out) - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
    j = json_loads(out, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "service")), "test-svc");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "hello");
    assert_string_equal(json_string_value(json_object_get(j, "k")), "v");
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 3);
    assert_non_null(json_object_get(j, "ts"));
    json_decref(j);
    free(out);
}

static void test_level_filter(void **state)
{
    char *out = t_capture(LOG_WARN, LOG_INFO, "quiet", json_pack("{s:s}", "k", "v"));

    (void)state;
    assert_true(out == NULL || out[0] == '\0');
    free(out);
}

static void test_enabled_follows_the_minimum(void **state)
{
    (void)state;
    log_init("test-svc", LOG_WARN, NULL);
    assert_false(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
    log_init("test-svc", LOG_DEBUG, NULL);
    assert_true(log_enabled(LOG_DEBUG));
    log_init("test-svc", LOG_INFO, NULL);
    assert_false(log_enabled(LOG_DEBUG));
}

static void test_fields_cannot_override_envelope(void **state)
{
    char *out = t_capture(LOG_DEBUG, LOG_ERROR, "real", json_pack("{s:s}", "msg", "forged"));

    (void)state;
    assert_non_null(strstr(out, "\"msg\":\"real\""));
    assert_null(strstr(out, "forged"));
    free(out);
}

static void test_phone_is_masked(void **state)
{
    char *out = t_capture(LOG_INFO, LOG_INFO, "call",
                          json_pack("{s:o}", "from", log_phone("+79161234567")));

    (void)state;
    assert_non_null(strstr(out, "+7***4567"));
    assert_null(strstr(out, "1234567"));
    free(out);
}

static void test_level_parse(void **state)
{
    enum log_level l;

    (void)state;
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("loud", &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_is_one_json_object),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_enabled_follows_the_minimum),
        cmocka_unit_test(test_fields_cannot_override_envelope),
        cmocka_unit_test(test_phone_is_masked),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
