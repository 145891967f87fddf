/* A librdkafka mock cluster for the Kafka helpers' unit tests: brokers that answer like Kafka in
 * this process, and can be taken down to make deliveries fail. */
#ifndef TEST_KAFKA_MOCK_H
#define TEST_KAFKA_MOCK_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

struct t_mock {
    rd_kafka_t *owner; /* the handle the cluster lives in */
    rd_kafka_mock_cluster_t *mc;
    const char *bootstraps;
};

/* A cluster of brokers with topic (one partition, on broker 1). Aborts the test on failure. */
void t_mock_start(struct t_mock *m, int brokers, const char *topic);
void t_mock_stop(struct t_mock *m);

/* Take every broker down (1) or up again (0). */
void t_mock_down(struct t_mock *m, int brokers, int down);

/* A producer made by kafka_producer_new on the cluster, with message.timeout.ms. */
rd_kafka_t *t_mock_producer(const struct t_mock *m, const char *message_timeout_ms);

/* The next message of topic (partition 0, from the start), read by a consumer of its own that
 * *consumer receives (destroy the message first, then rd_kafka_destroy the consumer). */
rd_kafka_message_t *t_mock_read(const struct t_mock *m, const char *topic, int64_t offset,
                                rd_kafka_t **consumer);

#endif
