#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dlq_replay.h"

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
    assert_int_equal(dlq_replay_plan(h, topic, sizeof(topic), &clean), 0);
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
    assert_int_equal(dlq_replay_plan(NULL, topic, sizeof(topic), &clean), -1);
    assert_null(clean);
    rd_kafka_header_add(h, "ce_id", -1, "evt-1", -1);
    assert_int_equal(dlq_replay_plan(h, topic, sizeof(topic), &clean), -1);
    rd_kafka_header_add(h, "dlq_source_topic", -1, "a-topic-name-too-long-for-8", -1);
    assert_int_equal(dlq_replay_plan(h, topic, sizeof(topic), &clean), -1);
    assert_null(clean);
    rd_kafka_headers_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_restores_source_and_original_headers),
        cmocka_unit_test(test_plan_refuses_what_is_not_a_dead_letter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
