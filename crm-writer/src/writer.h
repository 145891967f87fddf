/* The crm-writer loop: poll a batch of actions, apply it in one PostgreSQL transaction,
 * dead-letter what can never apply, publish crm.contacts.v1 events, and only then store the
 * offsets. A transient failure (PostgreSQL down, deadlock, Kafka refusing the dead letters
 * or events) rewinds the consumer to the batch's first offsets, so nothing is skipped. */
#ifndef CRMW_WRITER_H
#define CRMW_WRITER_H

#include <stdatomic.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "common/pgconn.h"

struct metrics_registry;
struct metrics_family;

struct writer_cfg {
    const char *topic_actions;
    const char *topic_contacts; /* "" disables the events */
    const char *topic_dlq;
    long batch_max;
    long batch_wait_ms;
};

/* Handles are borrowed: the caller (main) creates and closes them. */
struct writer {
    struct writer_cfg cfg;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    struct pgconn *pg;

    long backoff_ms;
    int connected_once;
    int prepared; /* the statements exist on the current connection */
    int64_t last_pg_check_us;
    int fatal; /* the consumer raised a fatal error: stop */

    struct metrics_family *applied;    /* crmw_actions_applied_total{type} */
    struct metrics_family *dead;       /* crmw_dead_letters_total{stage} */
    struct metrics_family *batch_size; /* crmw_batch_size */
    struct metrics_family *apply_s;    /* crmw_batch_apply_seconds */
    struct metrics_family *reconnects; /* crmw_pg_reconnects_total */
    struct metrics_family *retries;    /* crmw_batch_retries_total{reason} */
    struct metrics_family *events;     /* crmw_contact_events_total */
    struct metrics_family *slow;       /* crmw_batch_savepoint_path_total */
    struct metrics_family *raced;      /* crmw_counterparty_races_total */
    struct metrics_family *blocked;    /* crmw_blocked */
};

/* Register the metrics in reg. */
void writer_init(struct writer *w, const struct writer_cfg *cfg, rd_kafka_t *consumer,
                 rd_kafka_t *producer, struct pgconn *pg, struct metrics_registry *reg);

/* One turn: returns the milliseconds the caller should wait before the next turn (0: go on),
 * or -1 after a fatal consumer error (the caller stops; nothing polled was stored). Never
 * blocks longer than about a second plus the batch's own work. */
long writer_step(struct writer *w);

#endif
