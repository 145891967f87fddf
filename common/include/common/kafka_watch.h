/* Whether the Kafka cluster answers, for /readyz. A metadata request blocks for up to its
 * timeout while the broker is away, so it runs on a thread of its own every interval, never in
 * a service loop or on the ops server's thread. */
#ifndef COMMON_KAFKA_WATCH_H
#define COMMON_KAFKA_WATCH_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

struct kafka_watch;

/* Probe rk (borrowed; it must outlive the watch) every interval_ms. The caller owns the result
 * (kafka_watch_stop). NULL with the reason in err. */
struct kafka_watch *kafka_watch_start(rd_kafka_t *rk, int interval_ms, char *err, size_t errlen);

/* 1 when the last probe got an answer; 0 before the first one. Safe from any thread. */
int kafka_watch_up(const struct kafka_watch *w);

/* Stop the thread and free. NULL is ignored. */
void kafka_watch_stop(struct kafka_watch *w);

#endif
