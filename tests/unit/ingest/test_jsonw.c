/* jsonw: every byte equal to what jansson's json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER)
 * gives for the same values, escaping and UTF-8 included; invalid UTF-8 fails as json_string
 * does; a text larger than the inline buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonw.h"

/* jansson's text for {"k": s} against the writer's. */
static void assert_same_as_jansson(const char *s)
{
    json_t *o = json_object();
    char *want;
    struct jsonw w;
    const char *got;
    size_t len;

    assert_non_null(o);
    assert_int_equal(json_object_set_new(o, "k", json_string(s)), 0);
    want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(want);
    jsonw_init(&w);
    jsonw_object_open(&w);
    jsonw_key(&w, "k");
    jsonw_string(&w, s);
    jsonw_object_close(&w);
    got = jsonw_finish(&w, &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    jsonw_release(&w);
    free(want);
    json_decref(o);
}

static void test_jsonw_escapes_like_jansson(void **state)
{
    char all[160];
    size_t n = 0;

    (void)state;
    for (int c = 1; c < 128; c++) /* every control character, '"', '\\', '/', DEL */
        all[n++] = (char)c;
    all[n] = '\0';
    assert_same_as_jansson(all);
    assert_same_as_jansson("");
    assert_same_as_jansson("a\"b\\c\nd\te\x01\x1f");
    assert_same_as_jansson("https://app.uiscom.ru/system/media/talk/1/0f4e2a/");
}

static void test_jsonw_keeps_utf8(void **state)
{
    struct jsonw w;
    const char *got;
    size_t len;

    (void)state;
    /* Cyrillic, a three-byte sign, a four-byte emoji, U+2028: kept as they are. */
    assert_same_as_jansson("Звонок \xe2\x82\xac \xf0\x9f\x93\x9e \xe2\x80\xa8 ok");
    jsonw_init(&w);
    jsonw_string(&w, "Привет");
    got = jsonw_finish(&w, &len);
    assert_non_null(got);
    assert_string_equal(got, "\"Привет\"");
    jsonw_release(&w);
}

static void test_jsonw_refuses_invalid_utf8(void **state)
{
    static const char *const bad[] = {
        "\x80",             /* a lone continuation byte */
        "\xc3",             /* cut short */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, three bytes */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "ok\xff",
    };
    struct jsonw w;
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(json_string(bad[i])); /* the same verdict as jansson's */
        jsonw_init(&w);
        jsonw_object_open(&w);
        jsonw_key(&w, "k");
        jsonw_string(&w, bad[i]);
        jsonw_object_close(&w);
        assert_null(jsonw_finish(&w, &len));
        jsonw_release(&w);
    }
}

static void test_jsonw_nesting_and_numbers(void **state)
{
    json_t *o = json_pack("{s:[s,s], s:[], s:n, s:I, s:I, s:{s:i}}", "a", "x", "y", "b", "c", "d",
                          (json_int_t)604800, "e", (json_int_t)-3, "f", "g", 0);
    char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    struct jsonw w;
    const char *got;
    size_t len;

    (void)state;
    assert_non_null(want);
    jsonw_init(&w);
    jsonw_object_open(&w);
    jsonw_key(&w, "a");
    jsonw_array_open(&w);
    jsonw_string(&w, "x");
    jsonw_string(&w, "y");
    jsonw_array_close(&w);
    jsonw_key(&w, "b");
    jsonw_array_open(&w);
    jsonw_array_close(&w);
    jsonw_key(&w, "c");
    jsonw_null(&w);
    jsonw_key(&w, "d");
    jsonw_int(&w, 604800);
    jsonw_key(&w, "e");
    jsonw_int(&w, -3);
    jsonw_key(&w, "f");
    jsonw_object_open(&w);
    jsonw_key(&w, "g");
    jsonw_int(&w, 0);
    jsonw_object_close(&w);
    jsonw_object_close(&w);
    got = jsonw_finish(&w, &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    jsonw_release(&w);
    free(want);
    json_decref(o);
}

static void test_jsonw_grows_past_inline(void **state)
{
    size_t n = 5 * JSONW_INLINE;
    char *big = malloc(n + 1);

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i % 7 == 0 ? '\n' : 'a' + (int)(i % 26)); /* escapes grow it more */
    big[n] = '\0';
    assert_same_as_jansson(big);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonw_escapes_like_jansson),
        cmocka_unit_test(test_jsonw_keeps_utf8),
        cmocka_unit_test(test_jsonw_refuses_invalid_utf8),
        cmocka_unit_test(test_jsonw_nesting_and_numbers),
        cmocka_unit_test(test_jsonw_grows_past_inline),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
