#include "writer.h"

#include "batch.h"

#include "common/cloudevents.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/kafka_batch.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/traceparent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITER_BACKOFF_MIN_MS 100
#define WRITER_BACKOFF_MAX_MS 5000
#define WRITER_POLL_MS        200
#define WRITER_PG_CHECK_US    1000000
#define WRITER_KAFKA_SYNC_MS  15000
#define WRITER_SERVICE        "crm-writer"

static const double writer_batch_buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

void writer_init(struct writer *w, const struct writer_cfg *cfg, rd_kafka_t *consumer,
                 rd_kafka_t *producer, struct pgconn *pg, struct metrics_registry *reg)
{
    memset(w, 0, sizeof(*w));
    w->cfg = *cfg;
    w->consumer = consumer;
    w->producer = producer;
    w->pg = pg;
    w->backoff_ms = WRITER_BACKOFF_MIN_MS;
    w->applied = metrics_counter(reg, "crmw_actions_applied_total",
                                 "Actions committed to PostgreSQL, by type", "type");
    w->dead = metrics_counter(reg, "crmw_dead_letters_total",
                              "Actions sent to the dead-letter topic, by stage (parse or apply)",
                              "stage");
    w->batch_size = metrics_histogram(
        reg, "crmw_batch_size", "Messages per applied batch", NULL, writer_batch_buckets,
        sizeof(writer_batch_buckets) / sizeof(writer_batch_buckets[0]));
    w->apply_s =
        metrics_histogram(reg, "crmw_batch_apply_seconds", "Time from BEGIN to COMMIT of one batch",
                          NULL, metrics_latency_buckets, metrics_latency_nbuckets);
    w->reconnects = metrics_counter(reg, "crmw_pg_reconnects_total",
                                    "PostgreSQL connections re-established after a loss", NULL);
    w->retries = metrics_counter(reg, "crmw_batch_retries_total",
                                 "Batches rolled back and rewound, by cause", "cause");
    w->events = metrics_counter(reg, "crmw_contact_events_total",
                                "crm.contacts.v1 events acknowledged by Kafka", NULL);
    w->slow =
        metrics_counter(reg, "crmw_batch_savepoint_path_total",
                        "Batches re-run with a savepoint per action after a data failure", NULL);
    w->raced =
        metrics_counter(reg, "crmw_counterparty_races_total",
                        "New numbers whose counterparty a concurrent writer created first", NULL);
    w->blocked =
        metrics_gauge(reg, "crmw_blocked",
                      "1 while a batch fails for a reason that is not its data (PostgreSQL "
                      "state, Kafka) and is retried: alert when it stays 1",
                      NULL);
}

static long writer_backoff(struct writer *w)
{
    long ms = w->backoff_ms;

    w->backoff_ms *= 2;
    if (w->backoff_ms > WRITER_BACKOFF_MAX_MS)
        w->backoff_ms = WRITER_BACKOFF_MAX_MS;
    return ms;
}

/* Seek every partition of the batch back to its first message: the next polls deliver the
 * batch again, and whatever was fetched beyond it is discarded by the seek. */
static void writer_rewind(struct writer *w, rd_kafka_message_t **msgs, size_t n)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new((int)n);
    rd_kafka_error_t *error;

    for (size_t i = 0; i < n; i++) {
        const char *topic = rd_kafka_topic_name(msgs[i]->rkt);

        if (!rd_kafka_topic_partition_list_find(parts, topic, msgs[i]->partition))
            rd_kafka_topic_partition_list_add(parts, topic, msgs[i]->partition)->offset =
                msgs[i]->offset;
    }
    error = rd_kafka_seek_partitions(w->consumer, parts, 5000);
    if (error) {
        log_error("rewind failed", json_pack("{s:s}", "reason", rd_kafka_error_string(error)));
        rd_kafka_error_destroy(error);
    }
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
            log_warn("rewind of a partition failed (revoked?)",
                     json_pack("{s:s, s:i, s:s}", "topic", parts->elems[i].topic, "partition",
                               parts->elems[i].partition, "reason",
                               rd_kafka_err2str(parts->elems[i].err)));
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

static int writer_dead_letters(struct writer *w, rd_kafka_message_t **msgs,
                               struct batch_item *items, size_t n)
{
    char err[256];

    for (size_t i = 0; i < n; i++) {
        if (items[i].status != BATCH_DEAD)
            continue;
        if (kafka_dlq_send(w->producer, w->cfg.topic_dlq, WRITER_SERVICE, msgs[i], items[i].reason,
                           WRITER_KAFKA_SYNC_MS, err, sizeof(err)) < 0) {
            log_error("dead letter not delivered", json_pack("{s:s}", "reason", err));
            return -1;
        }
        log_warn("action dead-lettered",
                 json_pack("{s:s, s:i, s:I, s:s}", "topic", rd_kafka_topic_name(msgs[i]->rkt),
                           "partition", msgs[i]->partition, "offset", (json_int_t)msgs[i]->offset,
                           "reason", items[i].reason));
    }
    return 0;
}

/* The contact of item i is superseded when a later item of the batch upserted the same call:
 * one event per contact and batch, with its latest revision. */
static int writer_superseded(const struct batch_item *items, size_t n, size_t i)
{
    for (size_t k = i + 1; k < n; k++) {
        if (items[k].status == BATCH_APPLIED && items[k].out.contact_json &&
            strcmp(items[k].act.call_id, items[i].act.call_id) == 0 &&
            strcmp(items[k].act.tenant, items[i].act.tenant) == 0)
            return 1;
    }
    return 0;
}

static int writer_produce_event(struct writer *w, const rd_kafka_message_t *msg,
                                const struct batch_item *item, struct kafka_batch *kb, char *err,
                                size_t errlen)
{
    struct ce_attrs in, ce;
    struct traceparent parent, child;
    char key[128], id[160];
    rd_kafka_headers_t *hdrs;

    snprintf(key, sizeof(key), "%s:%s", item->act.tenant, item->act.call_id);
    snprintf(id, sizeof(id), "%s:%lld", key, item->out.revision);
    ce_headers_read(msg, &in);
    if (tp_continue(in.traceparent, &parent) < 0 || tp_child(&parent, &child) < 0)
        tp_generate(&child);
    /* The id names the contact's revision, so a replayed event carries the same id; a key
     * too long for it falls back to a random id. */
    if (ce_attrs_init(&ce, strlen(id) < sizeof(ce.id) ? id : NULL, "ru.crm.contact.upserted",
                      "/crm-writer", &child) < 0 ||
        !(hdrs = ce_headers_new(&ce))) {
        snprintf(err, errlen, "contact event headers: cannot build");
        return -1;
    }
    /* kafka_batch_produce takes the headers over in every case. */
    return kafka_batch_produce(kb, w->cfg.topic_contacts, key, strlen(key), item->out.contact_json,
                               strlen(item->out.contact_json), hdrs, KAFKA_WAIT_ALL, err, errlen);
}

/* Publish the batch's contact events and wait for every acknowledgement. */
static int writer_events(struct writer *w, rd_kafka_message_t **msgs, struct batch_item *items,
                         size_t n)
{
    struct kafka_batch *kb;
    char err[256] = "";
    int rc = 0;

    if (!w->cfg.topic_contacts[0])
        return 0;
    kb = kafka_batch_new(w->producer, n);
    if (!kb)
        return -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (items[i].status != BATCH_APPLIED || !items[i].out.contact_json ||
            writer_superseded(items, n, i))
            continue;
        rc = writer_produce_event(w, msgs[i], &items[i], kb, err, sizeof(err));
    }
    /* Even after a failure: a retry must not overtake an event still in flight. */
    if (kafka_batch_wait(kb, KAFKA_WAIT_ALL, rc == 0 ? err : NULL, sizeof(err)) < 0)
        rc = -1;
    if (rc < 0)
        log_error("contact events not delivered", json_pack("{s:s, s:I}", "reason", err, "queued",
                                                            (json_int_t)kafka_batch_count(kb)));
    else
        metrics_add(w->events, NULL, (double)kafka_batch_count(kb));
    kafka_batch_free(kb);
    return rc;
}

/* Store the offset after the last message of each partition of the batch. */
static void writer_store(struct writer *w, rd_kafka_message_t **msgs, size_t n)
{
    rd_kafka_topic_partition_list_t *done = rd_kafka_topic_partition_list_new(8);

    for (size_t k = n; k-- > 0;) {
        const char *topic = rd_kafka_topic_name(msgs[k]->rkt);

        if (rd_kafka_topic_partition_list_find(done, topic, msgs[k]->partition))
            continue;
        rd_kafka_topic_partition_list_add(done, topic, msgs[k]->partition);
        if (kafka_consumer_store(w->consumer, msgs[k]) < 0)
            log_warn("offset not stored (partition revoked?): it will be applied again",
                     json_pack("{s:s, s:i}", "topic", topic, "partition", msgs[k]->partition));
    }
    rd_kafka_topic_partition_list_destroy(done);
}

static void writer_count(struct writer *w, const struct batch_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].status == BATCH_APPLIED) {
            metrics_inc(w->applied, action_type_name(items[i].act.type));
            if (items[i].out.cp_raced)
                metrics_inc(w->raced, NULL);
        } else if (items[i].status == BATCH_DEAD)
            metrics_inc(w->dead, items[i].act.root ? "apply" : "parse");
    }
}

/* Returns 0 when the batch is done (offsets stored), or the milliseconds to wait after a
 * rewind. */
static long writer_batch(struct writer *w, PGconn *conn, rd_kafka_message_t **msgs, size_t n)
{
    struct batch_item *items = calloc(n, sizeof(*items));
    const char *cause = NULL;
    char err[512] = "";
    int64_t t0;
    int slow = 0;
    long wait = 0;

    if (!items) {
        writer_rewind(w, msgs, n);
        return writer_backoff(w);
    }
    for (size_t i = 0; i < n; i++)
        batch_item_init(&items[i], msgs[i]->payload, msgs[i]->len);
    t0 = ids_mono_us();
    if (batch_apply(conn, items, n, &slow, err, sizeof(err)) != APPLY_OK) {
        if (pgconn_check_failure(w->pg))
            log_warn("postgresql connection lost", json_pack("{s:s}", "reason", err));
        else
            log_warn("batch rolled back", json_pack("{s:s}", "reason", err));
        cause = "postgresql";
    } else {
        metrics_observe(w->apply_s, NULL, (double)(ids_mono_us() - t0) / 1e6);
        metrics_observe(w->batch_size, NULL, (double)n);
        if (slow)
            metrics_inc(w->slow, NULL);
        if (writer_dead_letters(w, msgs, items, n) < 0)
            cause = "dead_letter";
        else if (writer_events(w, msgs, items, n) < 0)
            cause = "contact_events";
    }
    if (cause) {
        /* Nothing of the batch counts as done: what was committed applies again as a no-op. */
        metrics_inc(w->retries, cause);
        metrics_set(w->blocked, NULL, 1);
        writer_rewind(w, msgs, n);
        wait = writer_backoff(w);
    } else {
        writer_store(w, msgs, n);
        writer_count(w, items, n);
        metrics_set(w->blocked, NULL, 0);
        w->backoff_ms = WRITER_BACKOFF_MIN_MS;
    }
    for (size_t i = 0; i < n; i++)
        batch_item_release(&items[i]);
    free(items);
    return wait;
}

/* While idle, notice a lost PostgreSQL (for /readyz) without waiting for a message. */
static void writer_idle_check(struct writer *w, PGconn *conn)
{
    PGresult *res;

    if (ids_mono_us() - w->last_pg_check_us < WRITER_PG_CHECK_US)
        return;
    w->last_pg_check_us = ids_mono_us();
    res = PQexec(conn, "SELECT 1");
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (pgconn_check_failure(w->pg))
            log_warn("postgresql connection lost", NULL);
    }
    PQclear(res);
}

/* The next message, or NULL; a fatal consumer error (e.g. this static member was fenced by
 * another with the same INSTANCE_ID) sets w->fatal: the consumer will never deliver again. */
static rd_kafka_message_t *writer_poll(struct writer *w, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(w->consumer, timeout_ms);

    if (m && m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[256];

            kafka_fatal(w->consumer, reason, sizeof(reason));
            log_error(
                "fatal consumer error",
                json_pack("{s:s, s:s}", "reason", rd_kafka_message_errstr(m), "fatal", reason));
            w->fatal = 1;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn("consumer error", json_pack("{s:s, s:s}", "code", rd_kafka_err2name(m->err),
                                                 "reason", rd_kafka_message_errstr(m)));
        }
        rd_kafka_message_destroy(m);
        return NULL;
    }
    return m;
}

long writer_step(struct writer *w)
{
    char err[512];
    int was_ready = pgconn_ready(w->pg);
    PGconn *conn = pgconn_get(w->pg, err, sizeof(err));
    rd_kafka_message_t **msgs;
    size_t n = 0;
    int64_t deadline;
    long wait;

    if (!conn) {
        if (was_ready || !w->connected_once)
            log_warn("postgresql unreachable: not consuming", json_pack("{s:s}", "reason", err));
        wait = pgconn_wait_ms(w->pg);
        return wait < 50 ? 50 : wait > 1000 ? 1000 : wait;
    }
    if (!was_ready && w->connected_once) {
        metrics_inc(w->reconnects, NULL);
        log_info("postgresql reconnected", NULL);
    }
    w->connected_once = 1;
    if (!was_ready)
        w->prepared = 0;
    if (!w->prepared) {
        if (apply_prepare(conn, err, sizeof(err)) != APPLY_OK) {
            pgconn_check_failure(w->pg);
            log_warn("cannot prepare statements", json_pack("{s:s}", "reason", err));
            return writer_backoff(w);
        }
        w->prepared = 1;
    }

    msgs = calloc((size_t)w->cfg.batch_max, sizeof(rd_kafka_message_t *));
    if (!msgs)
        return 100;
    msgs[0] = writer_poll(w, WRITER_POLL_MS);
    if (!msgs[0]) {
        free(msgs);
        if (w->fatal)
            return -1;
        writer_idle_check(w, conn);
        return 0;
    }
    n = 1;
    deadline = ids_mono_us() + w->cfg.batch_wait_ms * 1000;
    while (n < (size_t)w->cfg.batch_max && !w->fatal) {
        int64_t left_ms = (deadline - ids_mono_us()) / 1000;
        rd_kafka_message_t *m;

        if (left_ms <= 0)
            break;
        m = writer_poll(w, (int)left_ms);
        if (m)
            msgs[n++] = m;
    }
    w->last_pg_check_us = ids_mono_us();
    /* Fenced: another member owns these partitions now and applies them again. */
    wait = w->fatal ? -1 : writer_batch(w, conn, msgs, n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    free(msgs);
    return wait;
}
