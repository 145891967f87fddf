#include "kafka_mock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/ids.h"
#include "common/kafka.h"

void t_mock_start(struct t_mock *m, int brokers, const char *topic)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    /* The cluster's own handle connects nowhere: no warning about it. */
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    m->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(m->owner);
    m->mc = rd_kafka_mock_cluster_new(m->owner, brokers);
    assert_non_null(m->mc);
    m->bootstraps = rd_kafka_mock_cluster_bootstraps(m->mc);
    assert_int_equal(rd_kafka_mock_topic_create(m->mc, topic, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_mock_partition_set_leader(m->mc, topic, 0, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
}

void t_mock_stop(struct t_mock *m)
{
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->owner);
}

void t_mock_down(struct t_mock *m, int brokers, int down)
{
    for (int32_t id = 1; id <= brokers; id++) {
        if (down)
            rd_kafka_mock_broker_set_down(m->mc, id);
        else
            rd_kafka_mock_broker_set_up(m->mc, id);
    }
}

rd_kafka_t *t_mock_producer(const struct t_mock *m, const char *message_timeout_ms)
{
    const struct kafka_kv extra[] = {
        {"message.timeout.ms", message_timeout_ms}, {"linger.ms", "0"}, {NULL, NULL}};
    char err[256];
    rd_kafka_t *rk = kafka_producer_new(m->bootstraps, "test-kafka", extra, err, sizeof(err));

    assert_non_null(rk);
    return rk;
}

rd_kafka_message_t *t_mock_read(const struct t_mock *m, const char *topic, int64_t offset,
                                rd_kafka_t **consumer)
{
    char err[256];
    static const struct kafka_kv reader[] = {
        {"group.id", "test-read"}, {"enable.auto.commit", "false"}, {NULL, NULL}};
    rd_kafka_conf_t *conf = kafka_conf_new(m->bootstraps, "test-read", reader, err, sizeof(err));
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    int64_t until = ids_mono_us() + 10 * 1000000LL;
    rd_kafka_message_t *msg = NULL;

    assert_non_null(conf);
    *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    assert_non_null(*consumer);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = offset;
    assert_int_equal(rd_kafka_assign(*consumer, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    while (!msg && ids_mono_us() < until) {
        msg = rd_kafka_consumer_poll(*consumer, 100);
        if (msg && msg->err) {
            rd_kafka_message_destroy(msg);
            msg = NULL;
        }
    }
    assert_non_null(msg);
    return msg;
}
