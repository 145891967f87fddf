/* The Kafka helpers against librdkafka's mock cluster: each returns 0 on success and a negative
 * value on every failure (a delivery that timed out is a failure, never a success), with the
 * reason in err, and each honours its timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/ids.h"
#include "common/kafka.h"
#include "kafka_mock.h"

#define T_TOPIC "t.in"

static int64_t t_elapsed_ms(int64_t t0)
{
    return (ids_mono_us() - t0) / 1000;
}

static const char *t_header(const rd_kafka_message_t *msg, const char *name, char *out, size_t n)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *val = NULL;
    size_t size = 0;

    if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    snprintf(out, n, "%.*s", (int)size, (const char *)val);
    return out;
}

static void test_produce_sync_acknowledged(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk, *c;
    rd_kafka_message_t *msg;
    char err[256] = "";

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = t_mock_producer(&m, "5000");
    assert_int_equal(kafka_produce_sync(rk, T_TOPIC, "k", 1, "v1", 2, NULL, 5000, err, sizeof(err)),
                     0);
    msg = t_mock_read(&m, T_TOPIC, 0, &c);
    assert_int_equal(msg->len, 2);
    assert_memory_equal(msg->payload, "v1", 2);
    rd_kafka_message_destroy(msg);
    rd_kafka_destroy(c);
    assert_int_equal(kafka_producer_close(rk, 1000), 0);
    t_mock_stop(&m);
}

/* librdkafka's local errors are negative (__MSG_TIMED_OUT is -192): a timed-out delivery once
 * came back as +191 and read as success. */
static void test_produce_sync_delivery_timeout_is_a_failure(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk;
    char err[256] = "";
    int rc;

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = t_mock_producer(&m, "200");
    t_mock_down(&m, 1, 1);
    rc = kafka_produce_sync(rk, T_TOPIC, "k", 1, "v", 1, NULL, 5000, err, sizeof(err));
    assert_true(rc < 0);
    assert_non_null(strstr(err, T_TOPIC));
    assert_non_null(strstr(err, "timed out"));
    kafka_producer_close(rk, 0);
    t_mock_stop(&m);
}

/* timeout_ms bounds the call even when message.timeout.ms is much longer. */
static void test_produce_sync_honours_timeout(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk;
    char err[256] = "";
    int64_t t0;

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = t_mock_producer(&m, "20000");
    t_mock_down(&m, 1, 1);
    t0 = ids_mono_us();
    assert_true(kafka_produce_sync(rk, T_TOPIC, "k", 1, "v", 1, NULL, 300, err, sizeof(err)) < 0);
    assert_true(t_elapsed_ms(t0) < 3000);
    assert_non_null(strstr(err, "unacknowledged"));
    /* The message still waits in the queue: closing fails it and frees its record (ASan). */
    t0 = ids_mono_us();
    assert_int_equal(kafka_producer_close(rk, 100), 1);
    assert_true(t_elapsed_ms(t0) < 3000);
    t_mock_stop(&m);
}

/* A message refused before queueing (too large) is a failure and the headers are freed. */
static void test_produce_sync_refused(void **state)
{
    static const struct kafka_kv small[] = {{"message.max.bytes", "1000"}, {NULL, NULL}};
    struct t_mock m;
    rd_kafka_t *rk;
    char err[256] = "", big[4000];
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = kafka_producer_new(m.bootstraps, "test-kafka", small, err, sizeof(err));
    assert_non_null(rk);
    memset(big, 'x', sizeof(big));
    rd_kafka_header_add(hdrs, "h", -1, "v", -1);
    assert_true(kafka_produce_sync(rk, T_TOPIC, "k", 1, big, sizeof(big), hdrs, 1000, err,
                                   sizeof(err)) < 0);
    assert_non_null(strstr(err, "produce to " T_TOPIC));
    kafka_producer_close(rk, 0);
    t_mock_stop(&m);
}

static void test_dlq_send_copies_message_and_adds_headers(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk, *c1, *c2;
    rd_kafka_message_t *orig, *dead;
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
    char err[256] = "", h[64];

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "t.dlq", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    rk = t_mock_producer(&m, "5000");
    rd_kafka_header_add(hdrs, "traceparent", -1, "tp", -1);
    assert_int_equal(
        kafka_produce_sync(rk, T_TOPIC, "key", 3, "bad", 3, hdrs, 5000, err, sizeof(err)), 0);
    orig = t_mock_read(&m, T_TOPIC, 0, &c1);
    assert_int_equal(kafka_dlq_send(rk, "t.dlq", "svc", orig, "value: bad", 5000, err, sizeof(err)),
                     0);
    dead = t_mock_read(&m, "t.dlq", 0, &c2);
    assert_memory_equal(dead->payload, "bad", 3);
    assert_memory_equal(dead->key, "key", 3);
    assert_string_equal(t_header(dead, "dlq_reason", h, sizeof(h)), "value: bad");
    assert_string_equal(t_header(dead, "dlq_source_topic", h, sizeof(h)), T_TOPIC);
    assert_string_equal(t_header(dead, "dlq_partition", h, sizeof(h)), "0");
    assert_string_equal(t_header(dead, "dlq_offset", h, sizeof(h)), "0");
    assert_string_equal(t_header(dead, "dlq_service", h, sizeof(h)), "svc");
    assert_string_equal(t_header(dead, "traceparent", h, sizeof(h)), "tp");
    rd_kafka_message_destroy(dead);
    rd_kafka_destroy(c2);

    /* The dead letter that never arrived must not read as sent (the caller would store the
     * offset and the message would be gone). */
    t_mock_down(&m, 1, 1);
    assert_true(kafka_dlq_send(rk, "t.dlq", "svc", orig, "value: bad", 500, err, sizeof(err)) < 0);
    rd_kafka_message_destroy(orig);
    rd_kafka_destroy(c1);
    kafka_producer_close(rk, 0);
    t_mock_stop(&m);
}

static rd_kafka_message_t *t_poll_one(rd_kafka_t *c)
{
    int64_t until = ids_mono_us() + 20 * 1000000LL;

    while (ids_mono_us() < until) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c, 100);

        if (msg && !msg->err)
            return msg;
        if (msg)
            rd_kafka_message_destroy(msg);
    }
    fail_msg("no message within 20 s");
    return NULL;
}

static void test_consumer_store(void **state)
{
    static const char *const topics[] = {T_TOPIC, NULL};
    static const char *const other[] = {"t.other", NULL};
    static const struct kafka_kv fast[] = {{"session.timeout.ms", "6000"}, {NULL, NULL}};
    struct t_mock m;
    rd_kafka_t *rk, *c, *stranger;
    rd_kafka_message_t *msg;
    char err[256] = "";

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "t.other", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    rk = t_mock_producer(&m, "5000");
    assert_int_equal(kafka_produce_sync(rk, T_TOPIC, "k", 1, "v", 1, NULL, 5000, err, sizeof(err)),
                     0);
    c = kafka_consumer_new(m.bootstraps, "g1", NULL, topics, fast, err, sizeof(err));
    assert_non_null(c);
    msg = t_poll_one(c);
    assert_int_equal(kafka_consumer_store(c, msg), 0);
    /* A partition this consumer was never assigned: librdkafka's local error (-172) once came
     * back positive. */
    stranger = kafka_consumer_new(m.bootstraps, "g2", NULL, other, fast, err, sizeof(err));
    assert_non_null(stranger);
    assert_true(kafka_consumer_store(stranger, msg) < 0);
    rd_kafka_message_destroy(msg);
    kafka_consumer_close(stranger);
    kafka_consumer_close(c);
    kafka_producer_close(rk, 1000);
    t_mock_stop(&m);
}

static void test_consumer_new_refuses_a_bad_property(void **state)
{
    static const char *const topics[] = {T_TOPIC, NULL};
    static const struct kafka_kv bad[] = {{"no.such.property", "1"}, {NULL, NULL}};
    char err[256] = "";

    (void)state;
    assert_null(kafka_consumer_new("127.0.0.1:1", "g", NULL, topics, bad, err, sizeof(err)));
    assert_non_null(strstr(err, "no.such.property"));
    assert_null(kafka_producer_new("127.0.0.1:1", "p", bad, err, sizeof(err)));
}

static void test_probe_up_down_and_timeout(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk;
    int64_t t0;

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = t_mock_producer(&m, "5000");
    assert_int_equal(kafka_probe(rk, 5000), 0);
    t_mock_down(&m, 1, 1);
    t0 = ids_mono_us();
    assert_true(kafka_probe(rk, 300) < 0);
    assert_true(t_elapsed_ms(t0) < 3000);
    kafka_producer_close(rk, 0);
    t_mock_stop(&m);
}

static void test_fatal(void **state)
{
    struct t_mock m;
    rd_kafka_t *rk;
    char err[256] = "";

    (void)state;
    t_mock_start(&m, 1, T_TOPIC);
    rk = t_mock_producer(&m, "5000");
    assert_int_equal(kafka_fatal(rk, err, sizeof(err)), 0);
    rd_kafka_test_fatal_error(rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "injected");
    assert_true(kafka_fatal(rk, err, sizeof(err)) != 0);
    assert_non_null(strstr(err, "OUT_OF_ORDER_SEQUENCE_NUMBER"));
    kafka_producer_close(rk, 0);
    t_mock_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_sync_acknowledged),
        cmocka_unit_test(test_produce_sync_delivery_timeout_is_a_failure),
        cmocka_unit_test(test_produce_sync_honours_timeout),
        cmocka_unit_test(test_produce_sync_refused),
        cmocka_unit_test(test_dlq_send_copies_message_and_adds_headers),
        cmocka_unit_test(test_consumer_store),
        cmocka_unit_test(test_consumer_new_refuses_a_bad_property),
        cmocka_unit_test(test_probe_up_down_and_timeout),
        cmocka_unit_test(test_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
