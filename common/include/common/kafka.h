/* Kafka set-up shared by every service: a producer for durability (acks=all, idempotence,
 * delivery reports routed to a per-message kafka_delivery) and a consumer for at-least-once
 * (offsets stored only after the effect, cooperative-sticky, optional static membership).
 *
 * One error convention for every function here and in kafka_batch.h: 0 on success, a negative
 * value on failure (never a librdkafka code: its local errors are negative and its broker errors
 * positive), with the reason in the caller's err buffer where there is one. */
#ifndef COMMON_KAFKA_H
#define COMMON_KAFKA_H

#include <stdatomic.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* Extra librdkafka properties, terminated by {NULL, NULL}. They override the defaults. */
struct kafka_kv {
    const char *key;
    const char *value;
};

/* Passed as the message opaque (RD_KAFKA_V_OPAQUE) of every produced message. done (may be
 * NULL) runs on the thread that polls the producer; state and err are set before it. */
struct kafka_delivery {
    void (*done)(struct kafka_delivery *d);
    void *ctx;
    atomic_int state; /* 0 pending, 1 delivered (err set) */
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
};

/* A configuration with the bootstrap servers, client id, extra properties and the error and log
 * callbacks that route librdkafka's messages into the JSON log. Every client of the product
 * starts from it: settings every connection needs (security) belong here. For clients that need
 * more than the producer and consumer below (e.g. a consumer that assigns partitions itself). The
 * caller owns the result until rd_kafka_new takes it. NULL with the reason in err. */
rd_kafka_conf_t *kafka_conf_new(const char *brokers, const char *client_id,
                                const struct kafka_kv *extra, char *err, size_t errlen);

/* A new producer. The returned handle is owned by the caller (kafka_producer_close).
 * NULL on error with the reason in err. */
rd_kafka_t *kafka_producer_new(const char *brokers, const char *client_id,
                               const struct kafka_kv *extra, char *err, size_t errlen);

/* Flush for up to timeout_ms, then fail what is left (its delivery reports run, with
 * RD_KAFKA_RESP_ERR__PURGE_*, before this returns) and destroy. Returns the messages that were
 * still undelivered (lost to this process: the caller logs them; a sender that was not
 * acknowledged will retry). */
int kafka_producer_close(rd_kafka_t *rk, int timeout_ms);

/* Produce one message and poll until its delivery report, for at most timeout_ms. hdrs (may be
 * NULL) is taken over in every case. Returns 0 when the broker acknowledged, or -1 with the
 * reason in err (refused, failed, or no report yet: the message may still arrive later). */
int kafka_produce_sync(rd_kafka_t *rk, const char *topic, const void *key, size_t keylen,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs, int timeout_ms,
                       char *err, size_t errlen);

/* Produce to the dead-letter topic: the original key, value and headers plus dlq_reason,
 * dlq_source_topic, dlq_partition, dlq_offset and dlq_service, synchronously (as
 * kafka_produce_sync: 0, or -1 with the reason in err). */
int kafka_dlq_send(rd_kafka_t *producer, const char *dlq_topic, const char *service,
                   const rd_kafka_message_t *orig, const char *reason, int timeout_ms, char *err,
                   size_t errlen);

/* A new consumer subscribed to topics (NULL-terminated). instance_id "" or NULL: dynamic
 * membership. The handle is owned by the caller (kafka_consumer_close). */
rd_kafka_t *kafka_consumer_new(const char *brokers, const char *group_id, const char *instance_id,
                               const char *const *topics, const struct kafka_kv *extra, char *err,
                               size_t errlen);

/* Store the offset after msg (its effect is durable). Returns 0, or -1 (e.g. the partition is
 * no longer assigned). */
int kafka_consumer_store(rd_kafka_t *rk, const rd_kafka_message_t *msg);

/* Commit stored offsets synchronously, leave the group and destroy. */
void kafka_consumer_close(rd_kafka_t *rk);

/* Ask the cluster for metadata within timeout_ms: 0 when a broker answered, else -1. For
 * /readyz. */
int kafka_probe(rd_kafka_t *rk, int timeout_ms);

/* Non-zero when librdkafka raised a fatal error (an idempotent producer that cannot guarantee
 * ordering any more); the reason is in err. The service must flush what it can and stop. */
int kafka_fatal(rd_kafka_t *rk, char *err, size_t errlen);

#endif
