/* The router's consume-decide-produce loop, one batch at a time: poll what is there, read the
 * directory, BEGIN, lock and read the calls' facts, decide every event in order, produce every
 * output, save the facts while the broker acknowledges, wait for all delivery reports, COMMIT,
 * then store the input offsets. A crash anywhere before the COMMIT replays the batch, and the
 * replay produces the same messages with the same ids (docs/decisions.md). When PostgreSQL or Kafka
 * fails, the batch is kept, the assignment is paused and the batch is retried with backoff: nothing
 * is skipped. */
#ifndef ROUTER_PIPELINE_H
#define ROUTER_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/metrics.h"
#include "common/pgconn.h"
#include "directory.h"

struct rt_pipeline_cfg {
    const char *topic_actions;
    const char *topic_popups;
    const char *topic_dlq;
    const char *source; /* CloudEvents source */
    long batch_max;
};

struct rt_batch;

struct rt_pipeline {
    struct rt_pipeline_cfg cfg;
    rd_kafka_t *consumer; /* borrowed */
    rd_kafka_t *producer; /* borrowed */
    struct pgconn *pg;    /* borrowed */
    struct rt_directory dir;
    struct rt_batch *held; /* a batch waiting for a retry (owned) */
    long retry_ms;         /* current backoff */
    int64_t retry_at_us;   /* monotonic */
    atomic_int degraded;   /* 1 while a batch waits for PostgreSQL or Kafka */
    struct metrics_family *m_events, *m_outputs, *m_decision, *m_popup_latency, *m_dlq,
        *m_no_open_deal, *m_retries, *m_batch, *m_contradictions, *m_ambiguous, *m_quiet;
};

/* Register metrics in reg and set up; the handles stay owned by the caller. Returns 0 or -1. */
int rt_pipeline_init(struct rt_pipeline *p, const struct rt_pipeline_cfg *cfg, rd_kafka_t *consumer,
                     rd_kafka_t *producer, struct pgconn *pg, struct metrics_registry *reg,
                     long directory_ttl_ms);

/* Free what the pipeline owns. A held batch is dropped unprocessed (its offsets were never
 * stored, so the next owner of the partitions reads it again). */
void rt_pipeline_release(struct rt_pipeline *p);

/* One turn: retry the held batch when its backoff elapsed, else poll up to batch_max messages
 * (waiting at most poll_ms for the first) and process them. Returns 0, or -1 after a fatal
 * Kafka error (the caller stops). */
int rt_pipeline_turn(struct rt_pipeline *p, int poll_ms);

/* Close the popups of up to limit calls that went silent for their tenant's quiet period (SPEC
 * §4). Skipped while a batch waits for a retry. Returns the number of calls closed, or -1 (logged;
 * the next sweep retries). */
long rt_pipeline_quiet(struct rt_pipeline *p, long limit);

/* 1 while the pipeline can work (no batch held for a retry and PostgreSQL reachable). */
int rt_pipeline_ready(struct rt_pipeline *p);

#endif
