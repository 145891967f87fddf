/* crmctl's settings: JSON file, key=value pairs, the masked key, the webhook address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "admin_settings.h"

static void test_defaults_and_json(void **state)
{
    struct tenant_settings s;
    char err[256];
    json_t *j = json_loads("{\"uis_api_key\":\"k\",\"create_contact_on_call\":false,"
                           "\"notify_responsible_only\":true,\"fixed_counterparty_id\":7,"
                           "\"unknown_to_fixed_counterparty\":true}",
                           0, NULL);

    (void)state;
    settings_defaults(&s);
    assert_true(s.create_contact_on_call && s.add_call_to_last_active_deal &&
                s.create_missed_call_task);
    assert_false(s.notify_responsible_only || s.unknown_to_fixed_counterparty);
    assert_null(s.uis_api_key);
    assert_int_equal(settings_from_json(&s, j, err, sizeof(err)), 0);
    assert_string_equal(s.uis_api_key, "k");
    assert_false(s.create_contact_on_call);
    assert_true(s.notify_responsible_only && s.unknown_to_fixed_counterparty);
    assert_int_equal(s.fixed_counterparty_id, 7);
    json_decref(j);

    j = json_loads("{\"create_contact_on_call\":\"yes\"}", 0, NULL);
    assert_int_equal(settings_from_json(&s, j, err, sizeof(err)), -1);
    assert_string_equal(err, "settings.create_contact_on_call: must be true or false");
    json_decref(j);
    j = json_loads("{\"colour\":1}", 0, NULL);
    assert_int_equal(settings_from_json(&s, j, err, sizeof(err)), -1);
    assert_true(strncmp(err, "settings: unknown key 'colour'", 30) == 0);
    json_decref(j);
    j = json_loads("{\"fixed_counterparty_id\":-1}", 0, NULL);
    assert_int_equal(settings_from_json(&s, j, err, sizeof(err)), -1);
    json_decref(j);
}

static void test_kv(void **state)
{
    struct setting_kv kv;
    char err[256];

    (void)state;
    assert_int_equal(settings_kv_parse("notify_responsible_only=yes", &kv, err, sizeof(err)), 0);
    assert_string_equal(kv.def->key, "notify_responsible_only");
    assert_string_equal(kv.value, "true");
    assert_non_null(strstr(kv.def->sql, "$2::boolean"));
    assert_int_equal(settings_kv_parse("fixed_counterparty_id=12", &kv, err, sizeof(err)), 0);
    assert_string_equal(kv.value, "12");
    assert_int_equal(settings_kv_parse("fixed_counterparty_id=null", &kv, err, sizeof(err)), 0);
    assert_null(kv.value);
    assert_int_equal(settings_kv_parse("name=ООО Ромашка", &kv, err, sizeof(err)), 0);
    assert_string_equal(kv.value, "ООО Ромашка");
    assert_int_equal(settings_kv_parse("uis_api_key=s3cr3t-value", &kv, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "uis_api_key cannot be given on the command line"));
    assert_null(strstr(err, "s3cr3t"));

    assert_int_equal(settings_kv_parse("name=", &kv, err, sizeof(err)), -1);
    assert_string_equal(err, "name: must not be empty");
    assert_int_equal(settings_kv_parse("create_missed_call_task=maybe", &kv, err, sizeof(err)), -1);
    assert_string_equal(err, "create_missed_call_task: 'maybe' is not true or false");
    assert_int_equal(settings_kv_parse("fixed_counterparty_id=x", &kv, err, sizeof(err)), -1);
    assert_int_equal(settings_kv_parse("colour=red", &kv, err, sizeof(err)), -1);
    assert_true(strncmp(err, "unknown setting 'colour'", 24) == 0);
    assert_int_equal(settings_kv_parse("novalue", &kv, err, sizeof(err)), -1);
    /* The quiet period that closes a silent call's popups (issue 15). */
    assert_int_equal(settings_kv_parse("quiet_period_s=300", &kv, err, sizeof(err)), 0);
    assert_string_equal(kv.value, "300");
    assert_non_null(strstr(kv.def->sql, "$2::integer"));
    assert_int_equal(settings_kv_parse("quiet_period_s=4", &kv, err, sizeof(err)), -1);
    assert_string_equal(err, "quiet_period_s: '4' is not a number of seconds from 5 to 86400");
    assert_int_equal(settings_kv_parse("quiet_period_s=86401", &kv, err, sizeof(err)), -1);
}

static void test_mask_and_url(void **state)
{
    char out[64];

    (void)state;
    settings_mask("abcdefghijklmnop", out, sizeof(out));
    assert_string_equal(out, "****mnop");
    settings_mask("short", out, sizeof(out));
    assert_string_equal(out, "****");
    settings_mask("", out, sizeof(out));
    assert_string_equal(out, "");
    assert_int_equal(
        settings_webhook_url("https://h.example/", "acme", "k1.1.mac", out, sizeof(out)), 0);
    assert_string_equal(out, "https://h.example/v1/uis/acme/k1.1.mac");
    assert_int_equal(settings_webhook_url("http://h", "acme", "k", out, sizeof(out)), 0);
    assert_string_equal(out, "http://h/v1/uis/acme/k");
    assert_int_equal(settings_webhook_url("http://h", "acme", "k", out, 10), -1);
}

static void test_ids(void **state)
{
    long long id = 0;

    (void)state;
    assert_int_equal(settings_id("42", &id), 0);
    assert_int_equal(id, 42);
    assert_int_equal(settings_id("0", &id), -1);
    assert_int_equal(settings_id("-3", &id), -1);
    assert_int_equal(settings_id("4x", &id), -1);
    assert_int_equal(settings_id("99999999999999999999", &id), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_json),
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_mask_and_url),
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
