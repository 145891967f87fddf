#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "popup.h"

static const char good[] =
    "{\"popup_id\": \"acme:2981734650:5\", \"tenant\": \"acme\", \"user_id\": 5,\n"
    " \"call_id\": \"2981734650\", \"action\": \"show\", \"state\": \"ringing\",\n"
    " \"event_id\": \"e1\", \"caller\": {\"number\": \"+79031112233\", \"formatted\": \"+7 (903) "
    "111-22-33\"},\n"
    " \"virtual_number\": null, \"counterparty\": {\"id\": 42, \"name\": \"ООО Ромашка\"},\n"
    " \"responsible\": null, \"deal\": null, \"answered_by\": null, \"direction\": \"in\",\n"
    " \"ringing_at\": \"2024-05-01T10:00:00Z\", \"answered_at\": null, \"ended_at\": null}";

static void test_parse_good(void **state)
{
    struct popup_msg m;
    char err[128];

    (void)state;
    assert_int_equal(popup_parse(good, strlen(good), &m, err, sizeof(err)), 0);
    assert_string_equal(m.popup_id, "acme:2981734650:5");
    assert_string_equal(m.tenant, "acme");
    assert_string_equal(m.user, "5");
    assert_int_equal(m.action, POPUP_SHOW);
    assert_int_equal(m.state, POPUP_STATE_RINGING);
    /* one line, the other fields kept, UTF-8 kept */
    assert_null(strchr(m.json, '\n'));
    assert_non_null(strstr(m.json, "\"ООО Ромашка\""));
    assert_non_null(strstr(m.json, "\"call_id\":\"2981734650\""));
    popup_msg_clear(&m);
}

static void check_bad(const char *json, const char *want_err)
{
    struct popup_msg m;
    char err[128];

    assert_int_equal(popup_parse(json, strlen(json), &m, err, sizeof(err)), -1);
    assert_string_equal(err, want_err);
    assert_null(m.json);
}

static void test_parse_bad(void **state)
{
    (void)state;
    check_bad("[]", "popup message is not a JSON object");
    check_bad("{", "popup message is not a JSON object");
    check_bad("{\"tenant\":\"a\",\"user_id\":1,\"action\":\"show\",\"state\":\"ringing\"}",
              "popup_id is missing or not a non-empty string");
    check_bad("{\"popup_id\":\"p\",\"user_id\":1,\"action\":\"show\",\"state\":\"ringing\"}",
              "tenant is missing or not a non-empty string");
    check_bad("{\"popup_id\":\"p\",\"tenant\":\"a\",\"user_id\":\"1\",\"action\":\"show\","
              "\"state\":\"ringing\"}",
              "user_id is missing or not a non-negative integer");
    check_bad("{\"popup_id\":\"p\",\"tenant\":\"a\",\"user_id\":-1,\"action\":\"show\","
              "\"state\":\"ringing\"}",
              "user_id is missing or not a non-negative integer");
    check_bad("{\"popup_id\":\"p\",\"tenant\":\"a\",\"user_id\":1,\"action\":\"hide\","
              "\"state\":\"ringing\"}",
              "action is not show, update or close");
    check_bad("{\"popup_id\":\"p\",\"tenant\":\"a\",\"user_id\":1,\"action\":\"show\","
              "\"state\":\"gone\"}",
              "state is not ringing, in_call or closed");
    check_bad("{\"popup_id\":\"p\",\"tenant\":\"a\",\"user_id\":1,\"action\":\"close\","
              "\"state\":\"in_call\"}",
              "action and state disagree (close goes with closed, only close)");
    check_bad("{\"popup_id\":\"p\",\"tenant\":\"a\",\"user_id\":1,\"action\":\"show\","
              "\"state\":\"closed\"}",
              "action and state disagree (close goes with closed, only close)");
    check_bad("{\"popup_id\":\"p\",\"popup_id\":\"q\",\"tenant\":\"a\",\"user_id\":1,"
              "\"action\":\"show\",\"state\":\"ringing\"}",
              "popup message is not a JSON object");
}

/* popup_id + action + state seen before: a router replay. A step back: stale. */
static void test_judge(void **state)
{
    unsigned seen = 0;
    enum popup_state cur = POPUP_STATE_RINGING;

    (void)state;
    assert_int_equal(popup_judge(seen, cur, POPUP_SHOW, POPUP_STATE_RINGING), POPUP_ACCEPT);
    seen |= popup_seen_bit(POPUP_SHOW, POPUP_STATE_RINGING);
    assert_int_equal(popup_judge(seen, cur, POPUP_SHOW, POPUP_STATE_RINGING), POPUP_DUPLICATE);
    assert_int_equal(popup_judge(seen, cur, POPUP_UPDATE, POPUP_STATE_RINGING), POPUP_ACCEPT);
    assert_int_equal(popup_judge(seen, cur, POPUP_UPDATE, POPUP_STATE_IN_CALL), POPUP_ACCEPT);
    seen |= popup_seen_bit(POPUP_UPDATE, POPUP_STATE_IN_CALL);
    cur = POPUP_STATE_IN_CALL;
    assert_int_equal(popup_judge(seen, cur, POPUP_UPDATE, POPUP_STATE_IN_CALL), POPUP_DUPLICATE);
    assert_int_equal(popup_judge(seen, cur, POPUP_UPDATE, POPUP_STATE_RINGING), POPUP_STALE);
    assert_int_equal(popup_judge(seen, cur, POPUP_CLOSE, POPUP_STATE_CLOSED), POPUP_ACCEPT);
    seen |= popup_seen_bit(POPUP_CLOSE, POPUP_STATE_CLOSED);
    cur = POPUP_STATE_CLOSED;
    assert_int_equal(popup_judge(seen, cur, POPUP_CLOSE, POPUP_STATE_CLOSED), POPUP_DUPLICATE);
    assert_int_equal(popup_judge(seen, cur, POPUP_SHOW, POPUP_STATE_RINGING), POPUP_DUPLICATE);
    assert_int_equal(popup_judge(seen, cur, POPUP_UPDATE, POPUP_STATE_RINGING), POPUP_STALE);
    assert_int_equal(popup_judge(seen, cur, POPUP_SHOW, POPUP_STATE_IN_CALL), POPUP_STALE);
    /* answered first: shown straight in call */
    assert_int_equal(popup_judge(0, POPUP_STATE_RINGING, POPUP_SHOW, POPUP_STATE_IN_CALL),
                     POPUP_ACCEPT);
    /* all nine bits are distinct */
    {
        unsigned all = 0;

        for (int a = POPUP_SHOW; a <= POPUP_CLOSE; a++)
            for (int s = POPUP_STATE_RINGING; s <= POPUP_STATE_CLOSED; s++) {
                unsigned b = popup_seen_bit((enum popup_action)a, (enum popup_state)s);

                assert_int_equal(all & b, 0);
                all |= b;
            }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
