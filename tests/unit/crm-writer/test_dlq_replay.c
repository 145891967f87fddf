#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dlq_replay.h"

static const char *const ours[] = {"uis.call-events.v1", "crm.call-actions.v1", NULL};

static void test_plan_restores_source_and_original_headers(void **state)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8), *clean = NULL;
    const void *val;
    size_t size;
    char topic[64];

    (void)state;
    rd_kafka_header_add(h, "ce_id", -1, "evt-1", -1);
    rd_kafka_header_add(h, "traceparent", -1, "00-abc", -1);
    rd_kafka_header_add(h, "dlq_reason", -1, "unknown tenant", -1);
    rd_kafka_header_add(h, "dlq_source_topic", -1, "uis.call-events.v1", -1);
    rd_kafka_header_add(h, "dlq_partition", -1, "3", -1);
    rd_kafka_header_add(h, "dlq_offset", -1, "42", -1);
    rd_kafka_header_add(h, "dlq_service", -1, "router", -1);
    assert_int_equal(dlq_replay_plan(h, ours, topic, sizeof(topic), &clean), 0);
    assert_string_equal(topic, "uis.call-events.v1");
    assert_int_equal(rd_kafka_header_cnt(clean), 2);
    assert_int_equal(rd_kafka_header_get_last(clean, "ce_id", &val, &size), 0);
    assert_memory_equal(val, "evt-1", 5);
    assert_int_not_equal(rd_kafka_header_get_last(clean, "dlq_reason", &val, &size), 0);
    rd_kafka_headers_destroy(clean);
    rd_kafka_headers_destroy(h);
}

static void test_plan_refuses_what_is_not_a_dead_letter(void **state)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(2), *clean = NULL;
    char topic[8];

    (void)state;
    assert_int_equal(dlq_replay_plan(NULL, ours, topic, sizeof(topic), &clean), -1);
    assert_null(clean);
    rd_kafka_header_add(h, "ce_id", -1, "evt-1", -1);
    assert_int_equal(dlq_replay_plan(h, ours, topic, sizeof(topic), &clean), -1);
    rd_kafka_header_add(h, "dlq_source_topic", -1, "a-topic-name-too-long-for-8", -1);
    assert_int_equal(dlq_replay_plan(h, ours, topic, sizeof(topic), &clean), -1);
    assert_null(clean);
    rd_kafka_headers_destroy(h);
}

/* Whoever can write the dead-letter topic names the source: only the product's own topics. */
static void test_plan_refuses_foreign_topics(void **state)
{
    static const char *const foreign[] = {"crm.tenant-tokens.v1", "crm.popup-users.v1",
                                          "uis.call-events.v1x", ""};
    char topic[64];

    (void)state;
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(2), *clean = NULL;

        rd_kafka_header_add(h, "dlq_source_topic", -1, foreign[i], -1);
        assert_true(dlq_replay_plan(h, ours, topic, sizeof(topic), &clean) < 0);
        assert_null(clean);
        rd_kafka_headers_destroy(h);
    }
}

static void test_printable_strips_terminal_escapes(void **state)
{
    static const char reason[] = "bad\x1b]0;pwned\x07 \xc2\x9b"
                                 "2J\r\nok \xd0\xb8\x7f";
    char out[64], small[4];

    (void)state;
    dlq_printable(reason, sizeof(reason) - 1, out, sizeof(out));
    assert_string_equal(out, "bad?]0;pwned? ?2J??ok \xd0\xb8?");
    assert_string_equal(dlq_printable("abcdef", 6, small, sizeof(small)), "abc");
    assert_string_equal(dlq_printable(NULL, 0, out, sizeof(out)), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_restores_source_and_original_headers),
        cmocka_unit_test(test_plan_refuses_what_is_not_a_dead_letter),
        cmocka_unit_test(test_plan_refuses_foreign_topics),
        cmocka_unit_test(test_printable_strips_terminal_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
