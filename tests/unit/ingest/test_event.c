#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/b64.h"
#include "event.h"

static void t_parse(const char *body, struct uis_event *ev)
{
    struct uis_error err;

    assert_int_equal(uis_parse(body, strlen(body), ev, &err), UIS_OK);
}

static void test_event_has_envelope(void **state)
{
    struct uis_event ev;
    json_t *j;

    (void)state;
    t_parse("{\"from_number\":79031112233,\"diversion\":74993482958,\"direction\":in,"
            "\"call_id\":2981734650,\"user_extension\":,\"call_state\":\"RINGING\"}",
            &ev);
    j = event_build(&ev, "acme", "2026-11-25T11:40:10.123Z", "e-1");
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(j, "received_at")),
                        "2026-11-25T11:40:10.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "event_id")), "e-1");
    assert_string_equal(json_string_value(json_object_get(j, "call_id")), "2981734650");
    assert_string_equal(json_string_value(json_object_get(j, "from_number")), "+79031112233");
    assert_string_equal(event_ce_type(&ev), "ru.uis.call.ringing");
    json_decref(j);
    uis_event_release(&ev);
}

static void test_key_by_caller_or_call(void **state)
{
    struct uis_event ev;
    char key[64];

    (void)state;
    t_parse("{\"from_number\":\"8 (903) 111-22-33\",\"direction\":\"in\",\"call_id\":\"7\","
            "\"call_state\":\"ANSWERED\"}",
            &ev);
    assert_int_equal(event_key(&ev, "acme", key, sizeof(key)), 0);
    assert_string_equal(key, "acme:+79031112233");
    assert_string_equal(event_ce_type(&ev), "ru.uis.call.answered");
    assert_int_equal(event_key(&ev, "acme", key, 8), -1);
    uis_event_release(&ev);
    t_parse("{\"from_number\":,\"direction\":\"in\",\"call_id\":\"77\",\"call_state\":\"MISSED\"}",
            &ev);
    assert_int_equal(event_key(&ev, "acme", key, sizeof(key)), 0);
    assert_string_equal(key, "acme:call:77");
    uis_event_release(&ev);
}

static void test_rejected_text_and_binary(void **state)
{
    struct uis_error err = {UIS_EVALUE, "call_id", "call_id must be digits"};
    json_t *hdrs = json_pack("{s:s}", "content-type", "application/json");
    const char bin[] = {'{', '\0', '\xff', '}'};
    unsigned char back[8];
    json_t *j;

    (void)state;
    j = event_rejected("acme", "t", "e-2", 400, &err, "{\"call_id\":\"x\"}", 15, 15, hdrs);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "call_id");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "call_id must be digits");
    assert_string_equal(json_string_value(json_object_get(j, "body")), "{\"call_id\":\"x\"}");
    assert_string_equal(json_string_value(json_object_get(j, "body_encoding")), "utf-8");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    assert_false(json_is_true(json_object_get(j, "body_truncated")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "headers"), "content-type")),
        "application/json");
    json_decref(j);

    j = event_rejected("acme", "t", "e-3", 413, &err, bin, sizeof(bin), 100000, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "body_encoding")), "base64");
    assert_true(json_is_true(json_object_get(j, "body_truncated")));
    assert_int_equal(json_integer_value(json_object_get(j, "body_size")), 100000);
    assert_int_equal(b64_decode(json_string_value(json_object_get(j, "body")),
                                strlen(json_string_value(json_object_get(j, "body"))), back,
                                sizeof(back)),
                     4);
    assert_memory_equal(back, bin, 4);
    json_decref(j);
    json_decref(hdrs);
}

/* An allow-list: credentials and every header that may carry the webhook URL are dropped. */
static void test_rejected_headers_allow_list(void **state)
{
    static const char *const dropped[] = {
        "Authorization",         "Cookie",         "Proxy-Authorization", "X-Forwarded-Uri",
        "X-Original-URL",        "X-Original-URI", "X-Rewrite-URL",       "Referer",
        "X-Envoy-Original-Path", "Forwarded",      "X-Api-Key",           "",
    };
    static const char *const kept[] = {"Content-Type", "user-agent", "traceparent",
                                       "X-Forwarded-For", "X-Request-ID"};

    (void)state;
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        assert_false(event_header_kept(dropped[i]));
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        assert_true(event_header_kept(kept[i]));
    assert_false(event_header_kept(NULL));
}

/* The worst body (every byte a control character: six bytes each in JSON) with the longest
 * allowed headers stays within event_rejected_max_size, and the largest configuration ingest
 * accepts (MAX_BODY_BYTES 131072, CONN_MEMORY_BYTES 16384) fits a Kafka record. */
static void test_rejected_worst_case_fits(void **state)
{
    enum { BODY = 4096, HDR = 2048 };
    struct uis_error err = {UIS_EVALUE, "call_id", "call_id must be digits"};
    static char body[BODY], hval[HDR / 2];
    json_t *hdrs, *j;
    char *text;

    (void)state;
    memset(body, 0x01, sizeof(body));
    memset(hval, 0x02, sizeof(hval) - 1);
    hdrs = json_pack("{s:s, s:s}", "user-agent", hval, "x-request-id", hval);
    j = event_rejected("acme", "2026-12-01T00:00:00.000000Z",
                       "0193a8f0-0000-7000-8000-000000000000", 413, &err, body, sizeof(body),
                       1 << 30, hdrs);
    text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(text);
    assert_true(strlen(text) > 6 * BODY);
    assert_true(strlen(text) <= event_rejected_max_size(BODY, HDR));
    free(text);
    json_decref(j);
    json_decref(hdrs);
    assert_true(event_rejected_max_size(131072, 16384) <= EVENT_RECORD_MAX);
    assert_true(event_rejected_max_size(16777216, 16384) > EVENT_RECORD_MAX);
}

/* The webhook's text (event_write) is byte for byte jansson's dump of event_build: the fixtures
 * and bodies with durations, escapes and UTF-8 in the raw values. */
static void assert_write_is_dump(const char *body, size_t len)
{
    struct uis_event ev;
    struct uis_error err;
    struct jsonw w;
    json_t *j;
    char *want;
    const char *got;
    size_t n;

    assert_int_equal(uis_parse(body, len, &ev, &err), UIS_OK);
    j = event_build(&ev, "acme", "2026-11-25T11:40:10.123456Z", "e-\"1\"");
    want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(want);
    jsonw_init(&w);
    assert_int_equal(event_write(&ev, "acme", "2026-11-25T11:40:10.123456Z", "e-\"1\"", &w), 0);
    got = jsonw_finish(&w, &n);
    assert_non_null(got);
    assert_string_equal(got, want);
    jsonw_release(&w);
    free(want);
    json_decref(j);
    uis_event_release(&ev);
}

static void test_write_is_dump(void **state)
{
    static const char *const fixtures[] = {
        "01-ringing-guide-template.body", "02-answered-unquoted.body",
        "03-hangup-quoted.body",          "04-missed.body",
        "06-hangup-two-links-crlf.body",  "07-ringing-formatted-numbers.body",
    };
    static const char *const bodies[] = {
        "{\"call_id\":7,\"call_state\":\"FINISHED\",\"direction\":\"out\",\"from_number\":null,"
        "\"talk_time_duration\":95,\"total_time_duration\":100,\"wait_time_duration\":0}",
        "{\"call_id\":8,\"call_state\":\"RINGING\",\"direction\":\"in\","
        "\"from_number\":\"+7 (903) 111-22-33\\t\",\"diversion\":\"\\u0442\u0435\u043b 8 800 "
        "555-35-35\"}",
        "{\"call_id\":9,\"call_state\":\"HANGUP\",\"direction\":\"in\",\"from_number\":79031112233,"
        "\"call_record_urls\":[\"https://x/\\\"q\\\"/\",\"https://y/\u0436\"]}",
    };
    const char *dir = getenv("FIXTURES_DIR");
    char path[1024], buf[65536];

    (void)state;
    assert_non_null(dir);
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        FILE *f;
        size_t len;

        snprintf(path, sizeof(path), "%s/%s", dir, fixtures[i]);
        f = fopen(path, "rb");
        assert_non_null(f);
        len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        assert_write_is_dump(buf, len);
    }
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_write_is_dump(bodies[i], strlen(bodies[i]));
}

static void test_write_refuses_unfilled(void **state)
{
    struct uis_event ev = {0};
    struct jsonw w;

    (void)state;
    jsonw_init(&w);
    assert_int_equal(event_write(&ev, "acme", "t", "e", &w), -1);
    jsonw_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_has_envelope),
        cmocka_unit_test(test_key_by_caller_or_call),
        cmocka_unit_test(test_rejected_text_and_binary),
        cmocka_unit_test(test_rejected_headers_allow_list),
        cmocka_unit_test(test_rejected_worst_case_fits),
        cmocka_unit_test(test_write_is_dump),
        cmocka_unit_test(test_write_refuses_unfilled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
