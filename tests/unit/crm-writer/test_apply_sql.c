/* The action -> SQL parameter mapping: each statement gets exactly the values of the action,
 * in placeholder order, NULLs where the action has none; links travel as one text[] literal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "apply_sql.h"

/* The highest $n of a statement: the parameter count PQexecParams must get. */
static int max_placeholder(const char *sql)
{
    int max = 0;

    for (const char *p = strchr(sql, '$'); p; p = strchr(p + 1, '$')) {
        int n = atoi(p + 1);

        if (n > max)
            max = n;
    }
    return max;
}

static void parse(const char *json, struct action *a)
{
    char err[256];

    if (action_parse(json, strlen(json), a, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
}

static const char contact_json[] =
    "{\"type\":\"contact.upsert\",\"action_id\":\"t1:77:contact.upsert:e\",\"tenant\":\"t1\","
    "\"call_id\":\"77\",\"event_id\":\"e\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
    "\"direction\":\"in\",\"caller\":null,\"caller_raw\":\"\",\"virtual_number\":\"+74993482958\","
    "\"state\":\"missed\",\"answered_by\":null,\"ringing_at\":\"2026-01-01T00:00:00Z\","
    "\"answered_at\":null,\"ended_at\":\"2026-01-01T00:01:00Z\","
    "\"record_urls\":[\"https://r/a\\\"b\",\"https://r/c\\\\d\"],"
    "\"counterparty\":{\"mode\":\"existing\",\"id\":42}}";

static void test_contact_params(void **state)
{
    struct action a;
    struct sqlp p;

    (void)state;
    parse(contact_json, &a);
    assert_int_equal(apply_sql_contact(&a, 42, &p), 0);
    assert_int_equal(p.n, max_placeholder(APPLY_SQL_CONTACT));
    assert_int_equal(p.n, 16);
    assert_string_equal(p.values[0], "t1");
    assert_string_equal(p.values[1], "77");
    assert_string_equal(p.values[2], "in");
    assert_null(p.values[3]); /* hidden caller */
    assert_string_equal(p.values[4], "");
    assert_string_equal(p.values[5], "+74993482958");
    assert_string_equal(p.values[6], "42");
    assert_null(p.values[7]); /* nobody answered */
    assert_string_equal(p.values[8], "missed");
    assert_string_equal(p.values[9], "2026-01-01T00:00:00Z");
    assert_null(p.values[10]);
    assert_string_equal(p.values[11], "2026-01-01T00:01:00Z");
    assert_string_equal(p.values[12], "{\"https://r/a\\\"b\",\"https://r/c\\\\d\"}");
    /* Durations unknown: SQL NULL. */
    assert_null(p.values[13]);
    assert_null(p.values[14]);
    assert_null(p.values[15]);
    sqlp_release(&p);
    /* No counterparty: SQL NULL, not "0". */
    assert_int_equal(apply_sql_contact(&a, 0, &p), 0);
    assert_null(p.values[6]);
    sqlp_release(&p);
    action_release(&a);
    /* A FINISHED event's durations (issue 15). */
    {
        char with[sizeof(contact_json) + 96];
        size_t n = strlen(contact_json) - 1;

        memcpy(with, contact_json, n);
        snprintf(with + n, sizeof(with) - n,
                 ",\"talk_duration_s\":95,\"total_duration_s\":112,\"wait_duration_s\":null}");
        parse(with, &a);
        assert_int_equal(apply_sql_contact(&a, 42, &p), 0);
        assert_string_equal(p.values[13], "95");
        assert_string_equal(p.values[14], "112");
        assert_null(p.values[15]);
        sqlp_release(&p);
        action_release(&a);
    }
}

static void test_counterparty_create_params(void **state)
{
    const char *json =
        "{\"type\":\"task.missed_call\",\"action_id\":\"t1:77:task.missed_call:e\","
        "\"tenant\":\"t1\",\"call_id\":\"77\",\"event_id\":\"e\","
        "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"title\":\"Пропущенный звонок\","
        "\"phone\":\"+79031112233\",\"counterparty\":{\"mode\":\"create\","
        "\"phone\":\"+79031112233\",\"phone_raw\":\"8 903 111-22-33\","
        "\"name\":\"+7 (903) 111-22-33\",\"responsible_user_id\":5},\"assignee_user_id\":null}";
    struct action a;
    struct sqlp p;

    (void)state;
    parse(json, &a);
    apply_sql_cp_lookup(&a, &p);
    assert_int_equal(p.n, max_placeholder(APPLY_SQL_CP_LOOKUP));
    assert_string_equal(p.values[0], "t1");
    assert_string_equal(p.values[1], "+79031112233");
    apply_sql_cp_insert(&a, &p);
    assert_int_equal(p.n, max_placeholder(APPLY_SQL_CP_INSERT));
    assert_string_equal(p.values[1], "+7 (903) 111-22-33");
    assert_string_equal(p.values[2], "8 903 111-22-33");
    assert_string_equal(p.values[3], "+79031112233");
    assert_string_equal(p.values[4], "5");
    apply_sql_task(&a, 99, &p);
    assert_int_equal(p.n, max_placeholder(APPLY_SQL_TASK));
    assert_string_equal(p.values[2], "Пропущенный звонок");
    assert_string_equal(p.values[3], "+79031112233");
    assert_string_equal(p.values[4], "99");
    assert_null(p.values[5]);
    sqlp_release(&p);
    action_release(&a);
}

static void test_history_params(void **state)
{
    const char *json =
        "{\"type\":\"deal.history.add\",\"action_id\":\"t1:77:deal.history.add:e\","
        "\"tenant\":\"t1\",\"call_id\":\"77\",\"event_id\":\"e\","
        "\"occurred_at\":\"2026-01-01T00:02:00Z\",\"deal_id\":9,\"direction\":\"in\","
        "\"phone\":\"+79031112233\",\"user_id\":6,\"duration_s\":null,"
        "\"record_urls\":[\"https://r/1\"]}";
    struct action a;
    struct sqlp p;

    (void)state;
    parse(json, &a);
    assert_int_equal(apply_sql_history(&a, &p), 0);
    assert_int_equal(p.n, max_placeholder(APPLY_SQL_HISTORY));
    assert_string_equal(p.values[0], "t1");
    assert_string_equal(p.values[1], "9");
    assert_string_equal(p.values[2], "77");
    assert_string_equal(p.values[3], "in");
    assert_string_equal(p.values[4], "+79031112233");
    assert_string_equal(p.values[5], "6");
    assert_null(p.values[6]); /* duration unknown */
    assert_string_equal(p.values[7], "{\"https://r/1\"}");
    assert_string_equal(p.values[8], "2026-01-01T00:02:00Z");
    sqlp_release(&p);
    action_release(&a);
}

static void test_text_array(void **state)
{
    const char *items[] = {"a", "", "x,y", "{z}"};
    char *s;

    (void)state;
    s = apply_sql_text_array(items, 0);
    assert_string_equal(s, "{}");
    free(s);
    s = apply_sql_text_array(items, 4);
    assert_string_equal(s, "{\"a\",\"\",\"x,y\",\"{z}\"}");
    free(s);
}

/* The statements carry the merge rules of the contract. */
static void test_statements_merge_forward(void **state)
{
    (void)state;
    assert_non_null(strstr(APPLY_SQL_CONTACT, "ON CONFLICT (tenant_id, call_id)"));
    assert_non_null(strstr(APPLY_SQL_CONTACT, "GREATEST(c.state, EXCLUDED.state)"));
    assert_non_null(strstr(APPLY_SQL_CONTACT, "LEAST(c.ringing_at, EXCLUDED.ringing_at)"));
    assert_non_null(strstr(APPLY_SQL_CONTACT, "COALESCE(c.answered_by, EXCLUDED.answered_by)"));
    assert_non_null(strstr(APPLY_SQL_CP_INSERT, "DO NOTHING RETURNING id"));
    assert_non_null(strstr(APPLY_SQL_TASK, "ON CONFLICT (tenant_id, call_id, kind) DO NOTHING"));
    assert_non_null(strstr(APPLY_SQL_HISTORY, "ON CONFLICT (tenant_id, call_id, deal_id)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact_params),
        cmocka_unit_test(test_counterparty_create_params),
        cmocka_unit_test(test_history_params),
        cmocka_unit_test(test_text_array),
        cmocka_unit_test(test_statements_merge_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
