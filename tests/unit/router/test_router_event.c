/* The router's reading of uis.call-events.v1 values (SPEC §5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"

#define GOOD                                                                                       \
    "{\"call_id\":\"98765432109876543210\",\"call_state\":\"HANGUP\",\"direction\":\"in\","        \
    "\"from_number\":\"+79031112233\",\"from_number_raw\":\"89031112233\","                        \
    "\"diversion\":\"+74993482958\",\"diversion_raw\":\"74993482958\",\"user_extension\":"         \
    "\"101\",\"call_record_urls\":[\"https://rec/1\",\"https://rec/2\"],\"tenant\":\"acme\","      \
    "\"received_at\":\"2026-11-25T11:40:10.123Z\",\"event_id\":\"e-1\",\"extra\":1}"

static void parses_a_full_event(void **state)
{
    struct rt_event ev;
    char err[128];

    (void)state;
    assert_int_equal(rt_event_parse(GOOD, strlen(GOOD), &ev, err, sizeof(err)), 0);
    assert_string_equal(ev.call_id, "98765432109876543210");
    assert_int_equal(ev.state, RT_HANGUP);
    assert_int_equal(ev.out, 0);
    assert_string_equal(ev.from, "+79031112233");
    assert_string_equal(ev.from_raw, "89031112233");
    assert_string_equal(ev.diversion, "+74993482958");
    assert_string_equal(ev.ext, "101");
    assert_int_equal(ev.n_urls, 2);
    assert_string_equal(ev.urls[1], "https://rec/2");
    assert_string_equal(ev.tenant, "acme");
    assert_int_equal(ev.received_us, 1795606810123000LL);
    rt_event_clear(&ev);
}

static void hidden_number_and_nulls(void **state)
{
    const char *v = "{\"call_id\":\"1\",\"call_state\":\"MISSED\",\"direction\":\"out\","
                    "\"from_number\":null,\"from_number_raw\":\"\",\"diversion\":null,"
                    "\"diversion_raw\":\"\",\"user_extension\":null,\"call_record_urls\":[],"
                    "\"tenant\":\"t1\",\"received_at\":\"2026-01-01T00:00:00+03:00\","
                    "\"event_id\":\"x\"}";
    struct rt_event ev;
    char err[128];

    (void)state;
    assert_int_equal(rt_event_parse(v, strlen(v), &ev, err, sizeof(err)), 0);
    assert_string_equal(ev.from, "");
    assert_string_equal(ev.ext, "");
    assert_int_equal(ev.out, 1);
    assert_int_equal(ev.n_urls, 0);
    assert_int_equal(ev.received_us, (1767225600LL - 3 * 3600) * 1000000);
    rt_event_clear(&ev);
}

/* The FINISHED event (UIS "Завершение звонка", the calls report) and its durations. */
static void finished_with_durations(void **state)
{
    const char *v = "{\"call_id\":\"7\",\"call_state\":\"FINISHED\",\"direction\":\"in\","
                    "\"from_number\":\"+79031112233\",\"from_number_raw\":\"89031112233\","
                    "\"diversion\":null,\"diversion_raw\":\"\",\"user_extension\":null,"
                    "\"call_record_urls\":[],\"talk_duration\":95,\"total_duration\":112,"
                    "\"wait_duration\":null,\"source\":\"uis-calls-report\",\"tenant\":\"t1\","
                    "\"received_at\":\"2026-01-01T00:00:00Z\",\"event_id\":\"f\"}";
    const char *neg = "{\"call_id\":\"7\",\"call_state\":\"FINISHED\",\"direction\":\"in\","
                      "\"from_number\":null,\"diversion\":null,\"user_extension\":null,"
                      "\"talk_duration\":-1,\"tenant\":\"t1\","
                      "\"received_at\":\"2026-01-01T00:00:00Z\",\"event_id\":\"f\"}";
    struct rt_event ev;
    char err[128];

    (void)state;
    assert_int_equal(rt_event_parse(v, strlen(v), &ev, err, sizeof(err)), 0);
    assert_int_equal(ev.state, RT_FINISHED);
    assert_string_equal(rt_call_state_name(ev.state), "FINISHED");
    assert_int_equal(ev.talk_s, 95);
    assert_int_equal(ev.total_s, 112);
    assert_int_equal(ev.wait_s, -1);
    rt_event_clear(&ev);
    assert_int_equal(rt_event_parse(GOOD, strlen(GOOD), &ev, err, sizeof(err)), 0);
    assert_int_equal(ev.talk_s, -1); /* absent: unknown */
    rt_event_clear(&ev);
    assert_int_equal(rt_event_parse(neg, strlen(neg), &ev, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "talk_duration"));
}

/* Each bad value is refused with the field named. */
static void refuses_bad_fields(void **state)
{
    static const struct {
        const char *from, *to, *field;
    } cases[] = {
        {"\"call_id\":\"98765432109876543210\"", "\"call_id\":\"12a\"", "call_id"},
        {"\"call_id\":\"98765432109876543210\"", "\"call_id\":123", "call_id"},
        {"\"call_state\":\"HANGUP\"", "\"call_state\":\"DONE\"", "call_state"},
        {"\"direction\":\"in\"", "\"direction\":\"inbound\"", "direction"},
        {"\"from_number\":\"+79031112233\"", "\"from_number\":\"89031112233\"", "from_number"},
        {"\"diversion\":\"+74993482958\"", "\"diversion\":\"+7\"", "diversion"},
        {"\"tenant\":\"acme\"", "\"tenant\":\"Acme!\"", "tenant"},
        {"\"tenant\":\"acme\",", "", "tenant"},
        {"\"received_at\":\"2026-11-25T11:40:10.123Z\"", "\"received_at\":\"yesterday\"",
         "received_at"},
        {"\"event_id\":\"e-1\"", "\"event_id\":\"\"", "event_id"},
        {"[\"https://rec/1\",\"https://rec/2\"]", "[1]", "call_record_urls"},
        {"\"user_extension\":\"101\"",
         "\"user_extension\":\"1234567890123456789012345678901234567890\"", "user_extension"},
    };
    char buf[1024], err[128];
    struct rt_event ev;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *at = strstr(GOOD, cases[i].from);

        assert_non_null(at);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - GOOD), GOOD, cases[i].to,
                 at + strlen(cases[i].from));
        assert_int_equal(rt_event_parse(buf, strlen(buf), &ev, err, sizeof(err)), -1);
        assert_non_null(strstr(err, cases[i].field));
        assert_null(ev.urls);
    }
    assert_int_equal(rt_event_parse("[1]", 3, &ev, err, sizeof(err)), -1);
    assert_int_equal(rt_event_parse("{", 1, &ev, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not JSON"));
}

/* received_at, the numbers and the extension are read by common's one rfc3339 and phone modules,
 * the same rules as crm-writer's (issue 15). */
static void common_rules(void **state)
{
    static const char *const swaps[][3] = {
        {"2026-11-25T11:40:10.123Z", "2026-11-25 11:40:10.123Z", "received_at"},
        {"2026-11-25T11:40:10.123Z", "2026-02-30T11:40:10.123Z", "received_at"},
        {"\"+79031112233\"", "\"+09031112233\"", "from_number"},
        {"\"101\"", "\"10;1\"", "user_extension"},
        {"\"101\"", "\"12345678901234567\"", "user_extension"},
    };
    char doc[1024], err[128];
    struct rt_event ev;

    (void)state;
    for (size_t i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
        const char *at = strstr(GOOD, swaps[i][0]);
        size_t head = (size_t)(at - GOOD);

        assert_non_null(at);
        snprintf(doc, sizeof(doc), "%.*s%s%s", (int)head, GOOD, swaps[i][1],
                 at + strlen(swaps[i][0]));
        if (rt_event_parse(doc, strlen(doc), &ev, err, sizeof(err)) != -1 ||
            strncmp(err, swaps[i][2], strlen(swaps[i][2])) != 0)
            fail_msg("%s: accepted or wrong field (%s)", swaps[i][1], err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_full_event),
        cmocka_unit_test(hidden_number_and_nulls),
        cmocka_unit_test(finished_with_durations),
        cmocka_unit_test(refuses_bad_fields),
        cmocka_unit_test(common_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
