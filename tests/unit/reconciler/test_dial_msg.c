#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dial_msg.h"

static void answer(const char *body, long http, const char *transport, struct uis_api_answer *ans)
{
    uis_api_answer_parse(http, body, body ? strlen(body) : 0, transport, ans);
}

static const char *error_body(int code, const char *mnemonic, const char *field)
{
    static char buf[512];

    snprintf(buf, sizeof(buf),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":%d,\"message\":\"m\",\"data\":{"
             "\"mnemonic\":\"%s\",\"field\":%s%s%s,\"value\":null,\"params\":{},"
             "\"extended_helper\":null,\"metadata\":{}}}}",
             code, mnemonic, field ? "\"" : "", field ? field : "null", field ? "\"" : "");
    return buf;
}

static void test_success(void **state)
{
    struct uis_api_answer ans;
    struct dial_outcome o;

    (void)state;
    answer("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"data\":{\"call_session_id\":237859081}}}",
           200, NULL, &ans);
    dial_from_answer(&ans, &o);
    assert_int_equal(o.status, DIAL_CALLING);
    assert_string_equal(o.reason, "calling");
    assert_string_equal(o.call_session_id, "237859081");
    assert_string_equal(dial_message(o.reason), "Звоним…");
    assert_false(dial_may_retry(&ans));
    uis_api_answer_release(&ans);
}

static void test_refusals(void **state)
{
    static const struct {
        int code;
        const char *mnemonic, *field, *reason, *message;
    } cases[] = {
        {-32002, "contact_in_blacklist", NULL, "contact_in_blacklist", "Номер в чёрном списке"},
        {-32602, "employee_not_found", "employee.id", "employee_not_found",
         "Сотрудник не привязан к UIS"},
        {-32007, "virtual_phone_number_not_found", NULL, "virtual_phone_number_not_found", NULL},
        {-32001, "access_token_blocked", NULL, "key_rejected", NULL},
        {-32008, "method_component_disabled", NULL, "call_api_disabled",
         "В аккаунте UIS не подключён Call API"},
        {-32602, "invalid_parameter_value", "contact", "number_not_callable",
         "На этот номер нельзя позвонить"},
        {-32602, "invalid_parameter_value", "virtual_phone_number", "uis_error", NULL},
        {-32029, "limit_exceeded", NULL, "limit_exceeded", NULL},
    };
    struct uis_api_answer ans;
    struct dial_outcome o;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        answer(error_body(cases[i].code, cases[i].mnemonic, cases[i].field), 200, NULL, &ans);
        dial_from_answer(&ans, &o);
        assert_int_equal(o.status, DIAL_FAILED);
        assert_string_equal(o.reason, cases[i].reason);
        assert_non_null(strstr(o.detail, cases[i].mnemonic));
        if (cases[i].message)
            assert_string_equal(dial_message(o.reason), cases[i].message);
        uis_api_answer_release(&ans);
    }
}

static void test_retry_only_on_proof(void **state)
{
    struct uis_api_answer ans;
    struct dial_outcome o;

    (void)state;
    /* UIS answered that it started nothing: asking again is safe. */
    answer(error_body(-32603, "internal_error", NULL), 200, NULL, &ans);
    assert_true(dial_may_retry(&ans));
    uis_api_answer_release(&ans);
    answer(error_body(-32029, "limit_exceeded", NULL), 200, NULL, &ans);
    assert_true(dial_may_retry(&ans));
    uis_api_answer_release(&ans);
    /* No answer, or an HTTP error: UIS may have started the call. Never again. */
    answer(NULL, 0, "Operation timed out", &ans);
    assert_false(dial_may_retry(&ans));
    dial_from_answer(&ans, &o);
    assert_int_equal(o.status, DIAL_UNKNOWN);
    assert_string_equal(o.reason, "no_answer");
    uis_api_answer_release(&ans);
    answer("<html>bad gateway</html>", 502, NULL, &ans);
    assert_false(dial_may_retry(&ans));
    dial_from_answer(&ans, &o);
    assert_int_equal(o.status, DIAL_UNKNOWN);
    uis_api_answer_release(&ans);
}

static void test_params_and_result(void **state)
{
    struct callreq r;
    struct dial_outcome o;
    json_t *p, *res;
    char *s;

    (void)state;
    memset(&r, 0, sizeof(r));
    strcpy(r.request_id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    strcpy(r.tenant, "acme");
    r.user_id = 5;
    strcpy(r.phone, "+79161234567");
    p = dial_params(&r, 323409, "+74993482958");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "first_call")), "employee");
    assert_string_equal(json_string_value(json_object_get(p, "virtual_phone_number")),
                        "74993482958");
    assert_string_equal(json_string_value(json_object_get(p, "contact")), "79161234567");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "employee"), "id")),
                     323409);
    assert_string_equal(json_string_value(json_object_get(p, "direction")), "out");
    assert_string_equal(json_string_value(json_object_get(p, "external_id")), r.request_id);
    assert_null(json_object_get(p, "access_token"));
    json_decref(p);

    dial_outcome_set(&o, DIAL_CALLING, "calling");
    strcpy(o.call_session_id, "900000001");
    s = dial_result_json(&r, &o, "2026-12-01T22:00:00.000000Z");
    res = json_loads(s, 0, NULL);
    assert_non_null(res);
    assert_string_equal(json_string_value(json_object_get(res, "kind")), "call_request");
    assert_string_equal(json_string_value(json_object_get(res, "popup_id")),
                        "acme:request:0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_string_equal(json_string_value(json_object_get(res, "action")), "close");
    assert_string_equal(json_string_value(json_object_get(res, "state")), "closed");
    assert_string_equal(json_string_value(json_object_get(res, "status")), "calling");
    assert_string_equal(json_string_value(json_object_get(res, "message")), "Звоним…");
    assert_string_equal(json_string_value(json_object_get(res, "call_id")), "900000001");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(res, "phone"), "formatted")),
        "+7 (916) 123-45-67");
    json_decref(res);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_retry_only_on_proof),
        cmocka_unit_test(test_params_and_result),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
