/* kafka_batch on librdkafka's mock cluster: every report awaited, any failed or missing one is
 * a failure, a full local queue is waited out, and the batch may be given up with messages
 * still in flight (their reports free it later). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/ids.h"
#include "common/kafka.h"
#include "common/kafka_batch.h"
#include "kafka_mock.h"

#define T_TOPIC "t.out"

static int t_produce(struct kafka_batch *kb, int i, int timeout_ms, char *err, size_t errlen)
{
    char v[32];
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);

    snprintf(v, sizeof(v), "v%d", i);
    rd_kafka_header_add(hdrs, "n", -1, v, -1);
    return kafka_batch_produce(kb, T_TOPIC, "k", 1, v, strlen(v), hdrs, timeout_ms, err, errlen);
}

static void test_every_report_awaited(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk, *c;
    rd_kafka_message_t *last;
    struct kafka_batch *kb;
    char err[256] = "";

    (void)state;
    t_mock_start(&m, 3, T_TOPIC);
    rk = t_mock_producer(&m, "5000");
    kb = kafka_batch_new(rk, 20);
    assert_non_null(kb);
    for (int i = 0; i < 20; i++)
        assert_int_equal(t_produce(kb, i, KAFKA_WAIT_ALL, err, sizeof(err)), 0);
    assert_int_equal(kafka_batch_count(kb), 20);
    assert_int_equal(kafka_batch_wait(kb, KAFKA_WAIT_ALL, err, sizeof(err)), 0);
    /* Beyond its capacity the batch refuses, and frees the headers. */
    assert_true(t_produce(kb, 20, 1000, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "batch full"));
    kafka_batch_free(kb);
    last = t_mock_read(&m, T_TOPIC, 19, &c);
    assert_memory_equal(last->payload, "v19", 3);
    rd_kafka_message_destroy(last);
    rd_kafka_destroy(c);
    assert_int_equal(kafka_producer_close(rk, 1000), 0);
    t_mock_stop(&m);
}

static void test_failed_delivery_is_a_failure(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk;
    struct kafka_batch *kb;
    char err[256] = "";

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = t_mock_producer(&m, "200");
    t_mock_down(&m, 1, 1);
    kb = kafka_batch_new(rk, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(t_produce(kb, i, KAFKA_WAIT_ALL, err, sizeof(err)), 0);
    assert_true(kafka_batch_wait(kb, KAFKA_WAIT_ALL, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "3 of 3"));
    assert_non_null(strstr(err, "timed out"));
    /* err may be NULL for a caller that already failed. */
    assert_true(kafka_batch_wait(kb, 0, NULL, 0) < 0);
    kafka_batch_free(kb);
    kafka_producer_close(rk, 0);
    t_mock_stop(&m);
}

/* Giving up before the reports: the later reports must find live memory (ASan) and free it. */
static void test_given_up_with_messages_in_flight(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk;
    struct kafka_batch *kb;
    char err[256] = "";
    int64_t t0;

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = t_mock_producer(&m, "20000");
    t_mock_down(&m, 1, 1);
    kb = kafka_batch_new(rk, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(t_produce(kb, i, KAFKA_WAIT_ALL, err, sizeof(err)), 0);
    t0 = ids_mono_us();
    assert_true(kafka_batch_wait(kb, 200, err, sizeof(err)) < 0);
    assert_true(ids_mono_us() - t0 < 3000000);
    assert_non_null(strstr(err, "4 of 4 messages unacknowledged"));
    kafka_batch_free(kb);
    /* The broker comes back: the reports arrive after the owner left. */
    t_mock_down(&m, 1, 0);
    assert_int_equal(kafka_producer_close(rk, 10000), 0);
    t_mock_stop(&m);
}

/* A queue smaller than the batch: produce waits for room instead of failing. */
static void test_full_queue_is_waited_out(void **state)
{
    static const struct kafka_kv tiny[] = {
        {"queue.buffering.max.messages", "4"}, {"linger.ms", "0"}, {NULL, NULL}};
    struct t_mock m;
    rd_kafka_t *rk;
    struct kafka_batch *kb;
    char err[256] = "";

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = kafka_producer_new(m.bootstraps, "test-batch", tiny, err, sizeof(err));
    assert_non_null(rk);
    kb = kafka_batch_new(rk, 40);
    for (int i = 0; i < 40; i++)
        assert_int_equal(t_produce(kb, i, 10000, err, sizeof(err)), 0);
    assert_int_equal(kafka_batch_wait(kb, 10000, err, sizeof(err)), 0);
    kafka_batch_free(kb);
    kafka_producer_close(rk, 1000);
    t_mock_stop(&m);
}

/* A full queue that never drains: produce gives up at its timeout. */
static void test_full_queue_times_out(void **state)
{
    static const struct kafka_kv tiny[] = {
        {"queue.buffering.max.messages", "1"}, {"message.timeout.ms", "20000"}, {NULL, NULL}};
    struct t_mock m;
    rd_kafka_t *rk;
    struct kafka_batch *kb;
    char err[256] = "";
    int64_t t0;

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    t_mock_down(&m, 1, 1);
    rk = kafka_producer_new(m.bootstraps, "test-batch", tiny, err, sizeof(err));
    assert_non_null(rk);
    kb = kafka_batch_new(rk, 2);
    assert_int_equal(t_produce(kb, 0, 1000, err, sizeof(err)), 0);
    t0 = ids_mono_us();
    assert_true(t_produce(kb, 1, 300, err, sizeof(err)) < 0);
    assert_true(ids_mono_us() - t0 < 3000000);
    assert_non_null(strstr(err, "full"));
    assert_int_equal(kafka_batch_count(kb), 1);
    kafka_batch_free(kb);
    assert_int_equal(kafka_producer_close(rk, 0), 1);
    t_mock_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_report_awaited),
        cmocka_unit_test(test_failed_delivery_is_a_failure),
        cmocka_unit_test(test_given_up_with_messages_in_flight),
        cmocka_unit_test(test_full_queue_is_waited_out),
        cmocka_unit_test(test_full_queue_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
