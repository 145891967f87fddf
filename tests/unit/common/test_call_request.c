#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/call_request.h"

static int from_body(const char *body, struct callreq *r, const char **field)
{
    char err[160];

    memset(r, 0, sizeof(*r));
    return callreq_from_body(body, strlen(body), r, field, err, sizeof(err));
}

static void test_body_forms(void **state)
{
    struct callreq r;
    const char *field;

    (void)state;
    /* Whatever a person types for one Russian number gives one E.164 number. */
    assert_int_equal(from_body("{\"phone\": \"8 (916) 123-45-67\"}", &r, &field), 0);
    assert_string_equal(r.phone, "+79161234567");
    assert_string_equal(r.phone_raw, "8 (916) 123-45-67");
    assert_true(r.counterparty_id == 0);
    assert_null(field);
    assert_int_equal(from_body("{\"phone\":\"9161234567\",\"counterparty_id\":42}", &r, &field), 0);
    assert_string_equal(r.phone, "+79161234567");
    assert_true(r.counterparty_id == 42);
    assert_int_equal(
        from_body("{\"phone\":\"+44 20 7946 0958\",\"counterparty_id\":null}", &r, &field), 0);
    assert_string_equal(r.phone, "+442079460958");
}

static void test_body_refused(void **state)
{
    struct callreq r;
    const char *field;
    char big[CALLREQ_BODY_MAX + 40];

    (void)state;
    assert_int_equal(from_body("{\"phone\":\"\"}", &r, &field), -1);
    assert_string_equal(field, "phone");
    assert_int_equal(from_body("{\"phone\":\"12\"}", &r, &field), -1);
    assert_string_equal(field, "phone");
    assert_int_equal(from_body("{\"phone\":\"8916abc4567\"}", &r, &field), -1);
    assert_string_equal(field, "phone");
    assert_int_equal(from_body("{\"phone\":79161234567}", &r, &field), -1);
    assert_string_equal(field, "phone");
    assert_int_equal(from_body("{\"phone\":\"89161234567\",\"counterparty_id\":-1}", &r, &field),
                     -1);
    assert_string_equal(field, "counterparty_id");
    assert_int_equal(from_body("[1]", &r, &field), -1);
    assert_string_equal(field, "body");
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    assert_int_equal(from_body(big, &r, &field), -1);
    assert_string_equal(field, "body");
}

static void test_round_trip(void **state)
{
    struct callreq r, back;
    char err[160], key[160];
    char *json;

    (void)state;
    memset(&r, 0, sizeof(r));
    strcpy(r.request_id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    strcpy(r.tenant, "acme");
    r.user_id = 5;
    strcpy(r.phone, "+79161234567");
    strcpy(r.phone_raw, "8 916 123 45 67");
    r.counterparty_id = 42;
    strcpy(r.requested_at, "2026-12-01T22:00:00.000000Z");
    json = callreq_to_json(&r);
    assert_non_null(json);
    assert_int_equal(callreq_parse(json, strlen(json), &back, err, sizeof(err)), 0);
    assert_memory_equal(&r, &back, sizeof(r));
    free(json);
    assert_int_equal(callreq_key(&r, key, sizeof(key)), 6);
    assert_string_equal(key, "acme:5");
}

static void test_parse_refused(void **state)
{
    static const char *const bad[] = {
        "not json",
        "{\"tenant\":\"acme\",\"user_id\":5,\"phone\":\"+79161234567\",\"requested_at\":\"x\"}",
        "{\"request_id\":\"r\",\"tenant\":\"acme\",\"user_id\":0,\"phone\":\"+79161234567\","
        "\"requested_at\":\"x\"}",
        /* Not E.164: the notifier normalises, nobody else may skip that. */
        "{\"request_id\":\"r\",\"tenant\":\"acme\",\"user_id\":5,\"phone\":\"89161234567\","
        "\"requested_at\":\"x\"}",
        "{\"request_id\":\"r\",\"tenant\":\"acme\",\"user_id\":5,\"phone\":\"+79161234567\","
        "\"counterparty_id\":\"7\",\"requested_at\":\"x\"}",
        "{\"request_id\":\"r\",\"tenant\":\"acme\",\"user_id\":5,\"phone\":\"+79161234567\"}",
    };
    struct callreq r;
    char err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(callreq_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        assert_true(r.user_id == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_forms),
        cmocka_unit_test(test_body_refused),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
