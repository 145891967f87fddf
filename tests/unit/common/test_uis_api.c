#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "common/uis_api.h"

#define LIMITS                                                                                     \
    "\"limits\":{\"day_limit\":10000,\"day_remaining\":9000,\"day_reset\":3600,"                   \
    "\"minute_limit\":100,\"minute_remaining\":0,\"minute_reset\":17}"

#define ERR(code, mn)                                                                              \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":" #code ",\"message\":\"m\","               \
    "\"data\":{\"mnemonic\":\"" mn "\",\"field\":null,\"value\":null,\"params\":{},"               \
    "\"extended_helper\":null,\"metadata\":{}}}}"

static void parse(const char *body, struct uis_api_answer *ans)
{
    uis_api_answer_parse(200, body, strlen(body), NULL, ans);
}

/* Every mnemonic of UIS-API.md's table, as UIS writes the answer. */
static void test_error_kinds(void **state)
{
    static const struct {
        const char *body;
        enum uis_api_action action;
        const char *mnemonic;
    } cases[] = {
        {ERR(-32700, "parse_error"), UIS_API_BUG, "parse_error"},
        {ERR(-32600, "invalid_request"), UIS_API_BUG, "invalid_request"},
        {ERR(-32601, "method_not_found"), UIS_API_BUG, "method_not_found"},
        {ERR(-32099, "batch_opreations_not_supported"), UIS_API_BUG,
         "batch_opreations_not_supported"},
        {ERR(-32099, "notifications_not_supported"), UIS_API_BUG, "notifications_not_supported"},
        {ERR(-32602, "required_parameter_missed"), UIS_API_BAD_REQUEST,
         "required_parameter_missed"},
        {ERR(-32602, "invalid_parameter_value"), UIS_API_BAD_REQUEST, "invalid_parameter_value"},
        {ERR(-32602, "unexpected_parameters"), UIS_API_BAD_REQUEST, "unexpected_parameters"},
        {ERR(-32602, "data_type_error"), UIS_API_BAD_REQUEST, "data_type_error"},
        {ERR(-32602, "invalid_parameters_combination"), UIS_API_BAD_REQUEST,
         "invalid_parameters_combination"},
        {ERR(-32602, "date_interval_limit_reached"), UIS_API_BAD_REQUEST,
         "date_interval_limit_reached"},
        {ERR(-32602, "entity_not_found"), UIS_API_BAD_REQUEST, "entity_not_found"},
        {ERR(-32602, "employee_not_found"), UIS_API_CALL_REFUSED, "employee_not_found"},
        {ERR(-32602, "no_active_phone_number"), UIS_API_CALL_REFUSED, "no_active_phone_number"},
        {ERR(-32001, "access_token_invalid"), UIS_API_KEY_REJECTED, "access_token_invalid"},
        {ERR(-32001, "access_token_expired"), UIS_API_KEY_REJECTED, "access_token_expired"},
        {ERR(-32001, "access_token_blocked"), UIS_API_KEY_REJECTED, "access_token_blocked"},
        {ERR(-32001, "auth_error"), UIS_API_KEY_REJECTED, "auth_error"},
        {ERR(-32003, "ip_not_whitelisted"), UIS_API_IP_DENIED, "ip_not_whitelisted"},
        {ERR(-32003, "forbidden"), UIS_API_IP_DENIED, "forbidden"},
        {ERR(-32008, "method_component_disabled"), UIS_API_DISABLED, "method_component_disabled"},
        {ERR(-32009, "account_inactive"), UIS_API_ACCOUNT_INACTIVE, "account_inactive"},
        {ERR(-32029, "limit_exceeded"), UIS_API_BACKOFF, "limit_exceeded"},
        {ERR(-32603, "internal_error"), UIS_API_RETRY, "internal_error"},
        {ERR(-32007, "virtual_phone_number_not_found"), UIS_API_CALL_REFUSED,
         "virtual_phone_number_not_found"},
        {ERR(-32002, "contact_in_blacklist"), UIS_API_CALL_REFUSED, "contact_in_blacklist"},
        /* An unknown mnemonic falls back on its code's group. */
        {ERR(-32001, "access_token_from_the_future"), UIS_API_KEY_REJECTED,
         "access_token_from_the_future"},
        {ERR(-32029, "something_new"), UIS_API_BACKOFF, "something_new"},
        {ERR(-32602, "sort_prohibited"), UIS_API_BAD_REQUEST, "sort_prohibited"},
        {ERR(-31000, "what"), UIS_API_BUG, "what"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct uis_api_answer ans;

        parse(cases[i].body, &ans);
        assert_int_equal(ans.action, cases[i].action);
        assert_string_equal(ans.mnemonic, cases[i].mnemonic);
        assert_string_equal(ans.message, "m");
        assert_null(ans.result);
        assert_int_equal(ans.limits.known, 0);
        uis_api_answer_release(&ans);
    }
}

static void test_success_with_limits(void **state)
{
    const char *body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"data\":[{\"id\":998677427}],"
                       "\"metadata\":{\"total_items\":1234," LIMITS "}}}";
    struct uis_api_answer ans;

    (void)state;
    parse(body, &ans);
    assert_int_equal(ans.action, UIS_API_OK);
    assert_int_equal(ans.code, 0);
    assert_int_equal(ans.total_items, 1234);
    assert_int_equal(ans.limits.known, 1);
    assert_int_equal(ans.limits.day_limit, 10000);
    assert_int_equal(ans.limits.day_remaining, 9000);
    assert_int_equal(ans.limits.day_reset, 3600);
    assert_int_equal(ans.limits.minute_limit, 100);
    assert_int_equal(ans.limits.minute_remaining, 0);
    assert_int_equal(ans.limits.minute_reset, 17);
    assert_non_null(ans.result);
    assert_int_equal(json_array_size(json_object_get(ans.result, "data")), 1);
    uis_api_answer_release(&ans);
    assert_null(ans.result);
}

/* limit_exceeded waits for the exhausted window: the minute's, or the day's when the day is spent.
 */
static void test_limit_exceeded_backoff(void **state)
{
    const char *minute =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32029,\"message\":\"Limit per minute "
        "has been exceeded\",\"data\":{\"mnemonic\":\"limit_exceeded\",\"metadata\":{" LIMITS
        "}}}}";
    const char *day =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32029,\"message\":\"x\",\"data\":{"
        "\"mnemonic\":\"limit_exceeded\",\"metadata\":{\"limits\":{\"day_limit\":10,"
        "\"day_remaining\":0,\"day_reset\":5000,\"minute_limit\":5,\"minute_remaining\":5,"
        "\"minute_reset\":3}}}}}";
    struct uis_api_answer ans;

    (void)state;
    parse(minute, &ans);
    assert_int_equal(ans.action, UIS_API_BACKOFF);
    assert_int_equal(ans.retry_after_s, 17);
    assert_int_equal(ans.limits.known, 1);
    parse(day, &ans);
    assert_int_equal(ans.retry_after_s, 5000);
    parse(ERR(-32029, "limit_exceeded"), &ans);
    assert_int_equal(ans.retry_after_s, 60);
}

static void test_not_json_rpc(void **state)
{
    struct uis_api_answer ans;

    (void)state;
    uis_api_answer_parse(502, "<html>bad gateway</html>", 24, NULL, &ans);
    assert_int_equal(ans.action, UIS_API_RETRY);
    assert_string_equal(ans.mnemonic, "http_502");
    assert_true(ans.retry_after_s > 0);
    uis_api_answer_parse(404, "not found", 9, NULL, &ans);
    assert_int_equal(ans.action, UIS_API_BUG);
    assert_string_equal(ans.mnemonic, "http_404");
    uis_api_answer_parse(200, "[1,2]", 5, NULL, &ans);
    assert_int_equal(ans.action, UIS_API_BUG);
    assert_string_equal(ans.mnemonic, "bad_answer");
    uis_api_answer_parse(200, "{\"jsonrpc\":\"2.0\",\"id\":1}", 24, NULL, &ans);
    assert_int_equal(ans.action, UIS_API_BUG);
    uis_api_answer_parse(200, "", 0, NULL, &ans);
    assert_int_equal(ans.action, UIS_API_BUG);
    uis_api_answer_parse(0, NULL, 0, "Connection refused", &ans);
    assert_int_equal(ans.action, UIS_API_RETRY);
    assert_string_equal(ans.mnemonic, "transport");
    assert_string_equal(ans.message, "Connection refused");
    /* An error without data: the code decides. */
    parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"x\"}}", &ans);
    assert_int_equal(ans.action, UIS_API_KEY_REJECTED);
    assert_string_equal(ans.mnemonic, "unknown");
}

static void test_request_body(void **state)
{
    json_t *params = json_pack("{s:s, s:i}", "date_from", "2024-03-01 00:00:00", "limit", 1000);
    char *body = uis_api_request_body("get.calls_report", 42, "k3y", params);
    json_t *req = json_loads(body, 0, NULL);

    (void)state;
    assert_non_null(req);
    assert_string_equal(json_string_value(json_object_get(req, "jsonrpc")), "2.0");
    assert_int_equal(json_integer_value(json_object_get(req, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(req, "method")), "get.calls_report");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(req, "params"), "access_token")), "k3y");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(req, "params"), "limit")),
                     1000);
    /* The caller's params are not touched. */
    assert_null(json_object_get(params, "access_token"));
    json_decref(req);
    json_decref(params);
    free(body);
}

static void test_budget(void **state)
{
    struct uis_api_limits l = {1, 10000, 6000, 3000, 100, 60, 40};

    (void)state;
    /* 50 %: the others keep 50 points a minute and 5,000 a day. */
    assert_int_equal(uis_api_budget_wait(&l, 0, 50, 50), 0);
    l.minute_remaining = 50;
    assert_int_equal(uis_api_budget_wait(&l, 0, 50, 50), 40);
    assert_int_equal(uis_api_budget_wait(&l, 10, 50, 50), 30);
    assert_int_equal(uis_api_budget_wait(&l, 45, 50, 50), 0); /* the minute has reset since */
    assert_int_equal(uis_api_budget_wait(&l, 0, 100, 100), 0);
    l.day_remaining = 5000;
    assert_int_equal(uis_api_budget_wait(&l, 0, 50, 50), 3000);
    assert_int_equal(uis_api_budget_wait(&l, 0, 100, 60), 0); /* 60 % of the day: 4,000 kept */
    l.known = 0;
    assert_int_equal(uis_api_budget_wait(&l, 0, 50, 50), 0);
}

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(uis_api_action_name(UIS_API_KEY_REJECTED), "key_rejected");
    assert_string_equal(uis_api_action_name(UIS_API_BUG), "bug");
    for (int a = UIS_API_OK; a <= UIS_API_BUG; a++)
        assert_true(strlen(uis_api_action_advice((enum uis_api_action)a)) > 5);
}

/* ---- transport, against a local HTTP server ---- */

struct seen {
    char body[4096];
    size_t len;
    char content_type[128];
    const char *answer;
    unsigned status;
};

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **con_cls)
{
    struct seen *s = cls;
    struct MHD_Response *resp;
    const char *ct;
    enum MHD_Result rc;

    (void)url;
    (void)method;
    (void)version;
    if (!*con_cls) {
        *con_cls = s;
        s->len = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size < sizeof(s->body) - 1 - s->len ? *upload_size
                                                               : sizeof(s->body) - 1 - s->len;
        memcpy(s->body + s->len, upload, n);
        s->len += n;
        s->body[s->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    snprintf(s->content_type, sizeof(s->content_type), "%s", ct ? ct : "");
    resp = MHD_create_response_from_buffer(strlen(s->answer), (void *)s->answer,
                                           MHD_RESPMEM_PERSISTENT);
    rc = MHD_queue_response(conn, s->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void test_transport(void **state)
{
    struct seen s = {.answer =
                         "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"data\":[{\"name\":\"a\","
                         "\"timezone\":\"Europe/Moscow\"}],\"metadata\":{}}}",
                     .status = 200};
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve, &s, MHD_OPTION_END);
    const union MHD_DaemonInfo *info;
    struct uis_api_answer ans;
    struct uis_api_client *c;
    char url[64], err[128];

    (void)state;
    assert_non_null(d);
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v2.0", info->port);
    c = uis_api_client_new(url, url, 2000, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(uis_api_call(c, UIS_API_DATA, "get.account", "s3cr3t-key", NULL, &ans), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(ans.result, "data"), 0), "timezone")),
                        "Europe/Moscow");
    assert_string_equal(s.content_type, "application/json; charset=UTF-8");
    assert_non_null(strstr(s.body, "\"access_token\":\"s3cr3t-key\""));
    assert_non_null(strstr(s.body, "\"method\":\"get.account\""));
    uis_api_answer_release(&ans);

    s.answer = "upstream down";
    s.status = 503;
    assert_int_equal(uis_api_call(c, UIS_API_DATA, "get.account", "s3cr3t-key", NULL, &ans), -1);
    assert_int_equal(ans.action, UIS_API_RETRY);
    assert_string_equal(ans.mnemonic, "http_503");
    uis_api_client_free(c);
    MHD_stop_daemon(d);

    /* Nobody listens there any more: a transport failure, without the key in its text. */
    c = uis_api_client_new(url, url, 2000, err, sizeof(err));
    assert_int_equal(uis_api_call(c, UIS_API_CALL, "start.employee_call", "s3cr3t-key", NULL, &ans),
                     -1);
    assert_int_equal(ans.action, UIS_API_RETRY);
    assert_string_equal(ans.mnemonic, "transport");
    assert_null(strstr(ans.message, "s3cr3t"));
    uis_api_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_success_with_limits),
        cmocka_unit_test(test_limit_exceeded_backoff),
        cmocka_unit_test(test_not_json_rpc),
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_action_names),
        cmocka_unit_test(test_transport),
    };
    int rc;

    if (uis_api_global_init() < 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    uis_api_global_cleanup();
    return rc;
}
