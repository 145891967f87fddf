/* Messages produced together and awaited together: the one "produce, retry while the local
 * queue is full, wait for every delivery report" of the shared library (the router's outputs,
 * the crm-writer's contact events, kafka_produce_sync). Every function returns 0 or a negative
 * value, with the reason in the caller's err buffer. */
#ifndef COMMON_KAFKA_BATCH_H
#define COMMON_KAFKA_BATCH_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* Wait for every report: librdkafka reports each message within its message.timeout.ms. */
#define KAFKA_WAIT_ALL (-1)

struct kafka_batch;

/* A batch of up to cap messages on the producer rk (made by kafka_producer_new: its delivery
 * reports carry struct kafka_delivery). The caller owns the result (kafka_batch_free). NULL when
 * out of memory. */
struct kafka_batch *kafka_batch_new(rd_kafka_t *rk, size_t cap);

/* Queue one message, polling rk while librdkafka's queue is full, for at most timeout_ms
 * (KAFKA_WAIT_ALL: no limit). hdrs (may be NULL) is taken over in every case. */
int kafka_batch_produce(struct kafka_batch *kb, const char *topic, const void *key, size_t keylen,
                        const void *value, size_t len, rd_kafka_headers_t *hdrs, int timeout_ms,
                        char *err, size_t errlen);

/* Poll rk until every queued message has its report, for at most timeout_ms (KAFKA_WAIT_ALL:
 * until the last report). 0 when the broker acknowledged every message; negative when one
 * failed or a report is missing at the deadline (err says which and why; err may be NULL). */
int kafka_batch_wait(struct kafka_batch *kb, int timeout_ms, char *err, size_t errlen);

/* Messages queued so far. */
size_t kafka_batch_count(const struct kafka_batch *kb);

/* Give the batch up. Messages still awaiting their report keep it alive: the last report
 * frees it, so the caller may stop waiting at any time. NULL is allowed. */
void kafka_batch_free(struct kafka_batch *kb);

#endif
