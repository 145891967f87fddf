/* check_run: what `ingest check` prints and returns, over in-memory streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"

#define RINGING_BODY                                                                               \
    "{\n  \"from_number\":79031112233,\n  \"diversion\":74993482958,\n  \"direction\":in,\n"       \
    "  \"call_id\":2981734650,\n  \"user_extension\":,\n  \"call_state\":\"RINGING\"\n}\n"

struct check_out {
    int rc;
    char *text; /* what was printed, owned by the test */
    size_t len;
};

static struct check_out check_on(const char *body, size_t len)
{
    struct check_out r = {0};
    FILE *in = fmemopen((void *)body, len, "r");
    FILE *out = open_memstream(&r.text, &r.len);

    /* fmemopen refuses a zero size before glibc 2.22; an empty file stands in for it */
    if (in == NULL && len == 0)
        in = fopen("/dev/null", "r");
    assert_non_null(in);
    assert_non_null(out);
    r.rc = check_run(in, out);
    fclose(in);
    fclose(out);
    return r;
}

/* The single line as JSON, after checking that it is exactly one line. */
static json_t *one_line(const struct check_out *r)
{
    json_error_t jerr;
    json_t *j;

    assert_true(r->len > 2);
    assert_int_equal(r->text[r->len - 1], '\n');
    assert_null(memchr(r->text, '\n', r->len - 1));
    j = json_loadb(r->text, r->len, 0, &jerr);
    if (j == NULL)
        fail_msg("not JSON: %s (%s)", r->text, jerr.text);
    return j;
}

static void test_check_prints_event(void **state)
{
    struct check_out r = check_on(RINGING_BODY, strlen(RINGING_BODY));
    json_t *j = one_line(&r);
    const char *at;
    char *rest;

    (void)state;
    assert_int_equal(r.rc, CHECK_OK);
    assert_true(json_is_null(json_object_get(j, "tenant")));
    assert_true(json_is_null(json_object_get(j, "event_id")));
    at = json_string_value(json_object_get(j, "received_at"));
    assert_non_null(at);
    /* RFC 3339 UTC with milliseconds: 2026-11-25T11:40:10.123Z */
    assert_int_equal(strlen(at), 24);
    assert_true(at[4] == '-' && at[10] == 'T' && at[19] == '.' && at[23] == 'Z');
    json_object_del(j, "received_at");
    rest = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(
        rest, "{\"call_id\":\"2981734650\",\"call_record_urls\":[],\"call_state\":\"RINGING\","
              "\"direction\":\"in\",\"diversion\":\"+74993482958\",\"diversion_raw\":"
              "\"74993482958\",\"event_id\":null,\"from_number\":\"+79031112233\","
              "\"from_number_raw\":\"79031112233\",\"tenant\":null,\"user_extension\":null}");
    /* the SPEC's order, so that an admin reads it top to bottom */
    assert_true(strncmp(r.text, "{\"call_id\":\"2981734650\",\"call_state\":\"RINGING\"", 45) == 0);
    free(rest);
    json_decref(j);
    free(r.text);
}

/* The fifth template an admin may add, «Завершение звонка» (docs/architecture.md), checked
 * offline like the guide's four. */
static void test_check_finished_template(void **state)
{
    static const char body[] =
        "{\n    \"from_number\":79031112233,\n    \"diversion\":74993482958,\n"
        "    \"direction\":in,\n    \"call_id\":2981734650,\n"
        "    \"user_extension\":,\n    \"talk_time_duration\":95,\n"
        "    \"total_time_duration\":112,\n    \"wait_time_duration\":17,\n"
        "    \"call_state\":\"FINISHED\"\n}";
    struct check_out r = check_on(body, sizeof(body) - 1);
    json_t *j = one_line(&r);

    (void)state;
    assert_int_equal(r.rc, CHECK_OK);
    assert_string_equal(json_string_value(json_object_get(j, "call_state")), "FINISHED");
    assert_int_equal(json_integer_value(json_object_get(j, "talk_duration")), 95);
    assert_int_equal(json_integer_value(json_object_get(j, "total_duration")), 112);
    assert_int_equal(json_integer_value(json_object_get(j, "wait_duration")), 17);
    json_decref(j);
    free(r.text);
}

static void test_check_prints_refusal(void **state)
{
    static const char body[] = "{\"from_number\":79031112233,\"direction\":in,"
                               "\"call_state\":\"RINGING\"}";
    struct check_out r = check_on(body, sizeof(body) - 1);

    (void)state;
    assert_int_equal(r.rc, CHECK_REFUSED);
    assert_string_equal(
        r.text,
        "{\"error\":\"missing field\",\"field\":\"call_id\",\"reason\":\"call_id is missing\"}\n");
    free(r.text);
}

static void test_check_refuses_garbage(void **state)
{
    static const char body[] = "\x00\xff not json";
    struct check_out r = check_on(body, sizeof(body) - 1);
    json_t *j = one_line(&r);

    (void)state;
    assert_int_equal(r.rc, CHECK_REFUSED);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid webhook body");
    assert_true(json_is_null(json_object_get(j, "field")));
    assert_string_equal(json_string_value(json_object_get(j, "reason")),
                        "body contains a NUL byte");
    json_decref(j);
    free(r.text);

    r = check_on("", 0);
    assert_int_equal(r.rc, CHECK_REFUSED);
    assert_non_null(strstr(r.text, "body is empty"));
    free(r.text);
}

/* The cap is exact: 1 MiB is read, one byte more is refused. */
static void test_check_size_cap(void **state)
{
    char *body = malloc(CHECK_BODY_MAX + 1);
    struct check_out r;

    (void)state;
    assert_non_null(body);
    memset(body, ' ', CHECK_BODY_MAX + 1);
    memcpy(body, RINGING_BODY, strlen(RINGING_BODY));
    r = check_on(body, CHECK_BODY_MAX);
    assert_int_equal(r.rc, CHECK_OK);
    free(r.text);
    r = check_on(body, CHECK_BODY_MAX + 1);
    assert_int_equal(r.rc, CHECK_REFUSED);
    assert_string_equal(r.text, "{\"error\":\"invalid webhook body\",\"field\":null,\"reason\":"
                                "\"body is larger than 1 MiB\"}\n");
    free(r.text);
    free(body);
}

static void test_check_io_errors(void **state)
{
    FILE *in;
    FILE *out;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    /* unreadable input: a stream opened for writing only */
    in = fopen("/dev/null", "w");
    out = open_memstream(&text, &len);
    assert_non_null(in);
    assert_non_null(out);
    assert_int_equal(check_run(in, out), CHECK_EIO);
    fclose(in);
    fclose(out);
    assert_non_null(strstr(text, "\"error\":\"cannot read input\""));
    free(text);

    /* unwritable output */
    in = fmemopen((void *)RINGING_BODY, strlen(RINGING_BODY), "r");
    out = fopen("/dev/full", "w");
    if (out == NULL) {
        fclose(in);
        skip();
    }
    assert_int_equal(check_run(in, out), CHECK_EIO);
    fclose(in);
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_prints_event),
        cmocka_unit_test(test_check_prints_refusal),
        cmocka_unit_test(test_check_refuses_garbage),
        cmocka_unit_test(test_check_size_cap),
        cmocka_unit_test(test_check_io_errors),
        cmocka_unit_test(test_check_finished_template),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
