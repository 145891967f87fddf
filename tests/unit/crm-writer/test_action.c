/* action_parse: every field of the contract, and errors that name the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "action.h"

#define ENV(type)                                                                                  \
    "\"type\":\"" type "\",\"action_id\":\"acme:123:" type ":ev1\",\"tenant\":\"acme\","           \
    "\"call_id\":\"123\",\"event_id\":\"ev1\",\"occurred_at\":\"2026-11-25T11:40:10.123Z\""

static const char contact_ok[] =
    "{" ENV("contact.upsert") ",\"direction\":\"in\",\"caller\":\"+79031112233\","
                              "\"caller_raw\":\"89031112233\",\"virtual_number\":\"+74993482958\","
                              "\"state\":\"answered\","
                              "\"answered_by\":5,\"ringing_at\":\"2026-11-25T11:40:00Z\","
                              "\"answered_at\":\"2026-11-25T11:40:10+03:00\",\"ended_at\":null,"
                              "\"record_urls\":[\"https://r.example/1\",\"https://r.example/"
                              "1\",\"http://r.example/2\"],"
                              "\"counterparty\":{\"mode\":\"create\",\"phone\":\"+79031112233\","
                              "\"phone_raw\":\"89031112233\",\"name\":\"+7 (903) 111-22-33\","
                              "\"responsible_user_id\":null},\"future_field\":1}";

static void test_contact_parses(void **state)
{
    struct action a;
    char err[256] = "";

    (void)state;
    assert_int_equal(action_parse(contact_ok, strlen(contact_ok), &a, err, sizeof(err)), 0);
    assert_int_equal(a.type, ACTION_CONTACT_UPSERT);
    assert_string_equal(a.tenant, "acme");
    assert_string_equal(a.call_id, "123");
    assert_string_equal(a.caller, "+79031112233");
    assert_string_equal(a.state, "answered");
    assert_int_equal(a.answered_by, 5);
    assert_string_equal(a.ringing_at, "2026-11-25T11:40:00Z");
    assert_null(a.ended_at);
    /* The duplicate link is dropped. */
    assert_int_equal(a.nurls, 2);
    assert_string_equal(a.record_urls[1], "http://r.example/2");
    assert_int_equal(a.cp.mode, ACTION_CP_CREATE);
    assert_string_equal(a.cp.phone, "+79031112233");
    assert_string_equal(a.cp.name, "+7 (903) 111-22-33");
    assert_int_equal(a.cp.responsible_user_id, 0);
    action_release(&a);
    assert_null(a.root);
}

static void test_history_and_task_parse(void **state)
{
    const char *h = "{" ENV(
        "deal.history.add") ",\"deal_id\":9,\"direction\":\"out\","
                            "\"phone\":null,\"user_id\":null,\"duration_s\":0,\"record_urls\":[]}";
    const char *t = "{" ENV("task.missed_call") ",\"title\":\"Пропущенный звонок\","
                                                "\"phone\":\"+79031112233\",\"counterparty\":{"
                                                "\"mode\":\"fixed\",\"id\":7},"
                                                "\"assignee_user_id\":3}";
    struct action a;
    char err[256] = "";

    (void)state;
    assert_int_equal(action_parse(h, strlen(h), &a, err, sizeof(err)), 0);
    assert_int_equal(a.type, ACTION_DEAL_HISTORY_ADD);
    assert_int_equal(a.deal_id, 9);
    assert_int_equal(a.duration_s, 0);
    assert_null(a.phone);
    assert_int_equal(a.nurls, 0);
    action_release(&a);
    assert_int_equal(action_parse(t, strlen(t), &a, err, sizeof(err)), 0);
    assert_int_equal(a.type, ACTION_TASK_MISSED_CALL);
    assert_int_equal(a.cp.mode, ACTION_CP_FIXED);
    assert_int_equal(a.cp.id, 7);
    assert_int_equal(a.assignee_user_id, 3);
    assert_string_equal(a.title, "Пропущенный звонок");
    assert_int_equal(a.cancel, 0);
    action_release(&a);
}

/* A task withdrawn because the call was talked after all (issue 15). */
static void test_task_cancel_parses(void **state)
{
    const char *t = "{" ENV("task.missed_call") ",\"title\":\"Пропущенный звонок\","
                                                "\"phone\":\"+79031112233\",\"counterparty\":{"
                                                "\"mode\":\"none\"},"
                                                "\"assignee_user_id\":3,\"cancel\":true}";
    const char *bad = "{" ENV("task.missed_call") ",\"title\":\"Пропущенный звонок\","
                                                  "\"phone\":null,\"counterparty\":{"
                                                  "\"mode\":\"none\"},"
                                                  "\"assignee_user_id\":3,\"cancel\":1}";
    struct action a;
    char err[256] = "";

    (void)state;
    assert_int_equal(action_parse(t, strlen(t), &a, err, sizeof(err)), 0);
    assert_int_equal(a.cancel, 1);
    action_release(&a);
    assert_int_equal(action_parse(bad, strlen(bad), &a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cancel"));
}

/* Replace the first occurrence of from in contact_ok by to, parse, expect the error prefix. */
static void expect_error(const char *from, const char *to, const char *want)
{
    char doc[2048], err[256] = "";
    const char *at = strstr(contact_ok, from);
    struct action a;

    assert_non_null(at);
    snprintf(doc, sizeof(doc), "%.*s%s%s", (int)(at - contact_ok), contact_ok, to,
             at + strlen(from));
    assert_int_equal(action_parse(doc, strlen(doc), &a, err, sizeof(err)), -1);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("for %s -> %s: got '%s', want '%s...'", from, to, err, want);
    assert_null(a.root);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    expect_error("\"type\":\"contact.upsert\"", "\"type\":\"contact.delete\"", "type: unknown");
    expect_error("\"tenant\":\"acme\"", "\"tenant\":\"ACME\"", "tenant: not a tenant id");
    expect_error("\"call_id\":\"123\"", "\"call_id\":123", "call_id: must be a string");
    expect_error("\"call_id\":\"123\"", "\"call_id\":\"12a\"", "call_id: must be 1..32 digits");
    expect_error("\"event_id\":\"ev1\",", "", "event_id: missing");
    expect_error("2026-11-25T11:40:10.123Z", "yesterday", "occurred_at: not an RFC 3339");
    expect_error("\"direction\":\"in\"", "\"direction\":\"sideways\"", "direction: must be");
    expect_error("\"caller\":\"+79031112233\"", "\"caller\":\"89031112233\"",
                 "caller: not an E.164");
    expect_error("\"state\":\"answered\"", "\"state\":\"ANSWERED\"", "state: must be");
    expect_error("\"answered_by\":5", "\"answered_by\":\"5\"", "answered_by: must be an integer");
    expect_error("\"answered_by\":5", "\"answered_by\":0", "answered_by: must be a positive id");
    expect_error("\"ringing_at\":\"2026-11-25T11:40:00Z\"",
                 "\"ringing_at\":\"2026-02-30T11:40:00Z\"", "ringing_at: not an RFC 3339");
    expect_error("\"https://r.example/1\",", "\"ftp://x/1\",", "record_urls[0]: not an http");
    expect_error("\"http://r.example/2\"", "\"http://r.example/a b\"", "record_urls[2]:");
    expect_error("\"record_urls\":[", "\"record_urls\":\"x\",\"unused\":[",
                 "record_urls: must be an array");
    expect_error("\"mode\":\"create\"", "\"mode\":\"guess\"", "counterparty.mode: must be");
    expect_error("\"phone\":\"+79031112233\"", "\"phone\":\"+0123\"", "counterparty.phone:");
    expect_error("\"name\":\"+7 (903) 111-22-33\"", "\"name\":\"\"", "counterparty.name:");
    expect_error(",\"responsible_user_id\":null", "", "counterparty.responsible_user_id: missing");
}

static void test_not_json_or_not_object(void **state)
{
    struct action a;
    char err[256] = "";

    (void)state;
    assert_int_equal(action_parse("{\"type\":", 8, &a, err, sizeof(err)), -1);
    assert_true(strncmp(err, "value: not JSON", 15) == 0);
    assert_int_equal(action_parse("[1]", 3, &a, err, sizeof(err)), -1);
    assert_string_equal(err, "value: must be a JSON object");
    assert_int_equal(action_parse("{\"type\":\"a\",\"type\":\"b\"}", 23, &a, err, sizeof(err)), -1);
}

static void test_too_many_links(void **state)
{
    char doc[4096], urls[2048] = "";
    struct action a;
    char err[256];
    const char *at = strstr(contact_ok, "\"record_urls\":[");
    const char *end = strchr(at, ']');

    (void)state;
    for (int i = 0; i < 17; i++) {
        size_t n = strlen(urls);

        snprintf(urls + n, sizeof(urls) - n, "%s\"https://r/%d\"", i ? "," : "", i);
    }
    snprintf(doc, sizeof(doc), "%.*s\"record_urls\":[%s%s", (int)(at - contact_ok), contact_ok,
             urls, end);
    assert_int_equal(action_parse(doc, strlen(doc), &a, err, sizeof(err)), -1);
    assert_string_equal(err, "record_urls: more than 16 links");
}

/* The contract's times and numbers are read by common's one rfc3339 and phone modules, the same
 * rules as the router's (issue 15): a '+0' number and a space for 'T' are refused here too. */
static void test_rfc3339_and_e164(void **state)
{
    (void)state;
    expect_error("\"caller\":\"+79031112233\"", "\"caller\":\"+09031112233\"", "caller");
    expect_error("\"ringing_at\":\"2026-11-25T11:40:00Z\"",
                 "\"ringing_at\":\"2026-11-25 11:40:00Z\"", "ringing_at");
    expect_error("\"ringing_at\":\"2026-11-25T11:40:00Z\"",
                 "\"ringing_at\":\"2026-02-30T11:40:00Z\"", "ringing_at");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact_parses),
        cmocka_unit_test(test_history_and_task_parse),
        cmocka_unit_test(test_task_cancel_parses),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_not_json_or_not_object),
        cmocka_unit_test(test_too_many_links),
        cmocka_unit_test(test_rfc3339_and_e164),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
