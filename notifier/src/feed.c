#include "feed.h"

#include "common/ids.h"
#include "common/kafka_security.h"
#include "common/log.h"
#include "common/metrics.h"
#include "hub.h"
#include "popup.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FEED_META_EVERY_MS 30000 /* look for added partitions */
#define FEED_TIMEOUT_MS    10000

struct feed {
    rd_kafka_t *rk;
    struct hub *hub;
    char *topic;
    long window_s;
    int32_t nparts;     /* assigned so far */
    int32_t eof_needed; /* partitions not yet read to their end */
    unsigned char *at_eof;
    atomic_int caught_up;
    int64_t next_meta_ms;
    struct metrics_family *m_invalid, *m_lag_ready;
    void (*observe)(void *ctx, const char *popup_id);
    void *observe_ctx;
};

struct feed *feed_new(const struct feed_cfg *cfg, struct hub *hub, struct metrics_registry *reg,
                      char *err, size_t errlen)
{
    char wait[24];
    const char *const props[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        /* A popup is worth nothing late: the broker answers a fetch as soon as one byte is
         * there (fetch.min.bytes 1); the wait only bounds an empty fetch, so a shorter one buys
         * latency with the broker's CPU (docs/performance.md, notifier, "Kafka hop"). */
        {"fetch.wait.max.ms", wait},
        /* librdkafka leaves Nagle on: a fetch request sent while the last one's bytes are
         * unacknowledged would wait for that ack. */
        {"socket.nagle.disable", "true"},
        {"auto.offset.reset", "earliest"},
    };
    struct feed *f = calloc(1, sizeof(*f));
    rd_kafka_conf_t *conf;

    snprintf(wait, sizeof(wait), "%ld", cfg->fetch_wait_ms);

    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->brokers, err, errlen) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "client.id", cfg->client_id, err, errlen) != RD_KAFKA_CONF_OK ||
        /* librdkafka's assign() wants a group id; nothing joins or commits under it. */
        rd_kafka_conf_set(conf, "group.id", cfg->client_id, err, errlen) != RD_KAFKA_CONF_OK ||
        kafka_security_apply(conf, NULL, err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        free(f);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, errlen) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            free(f);
            return NULL;
        }
    }
    f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!f->rk) {
        rd_kafka_conf_destroy(conf);
        free(f);
        return NULL;
    }
    conf = NULL; /* owned by rk */
    f->topic = strdup(cfg->topic);
    f->hub = hub;
    f->window_s = cfg->window_s;
    f->m_invalid =
        metrics_counter(reg, "notifier_popups_invalid_total",
                        "popup messages that break the crm.popups.v1 contract (skipped)", NULL);
    f->m_lag_ready =
        metrics_gauge(reg, "notifier_caught_up", "1 once the start-up read-back is complete", NULL);
    if (!f->topic) {
        feed_close(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return f;
}

/* Assign partitions [from, n) starting at the first offset at or after now - window (the end
 * when nothing is that recent). */
static int feed_assign(struct feed *f, int32_t n)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n - f->nparts);
    int64_t since = ids_now_ms() - (int64_t)f->window_s * 1000;
    unsigned char *eof;
    rd_kafka_resp_err_t e;

    for (int32_t p = f->nparts; p < n; p++)
        rd_kafka_topic_partition_list_add(parts, f->topic, p)->offset = since;
    e = rd_kafka_offsets_for_times(f->rk, parts, FEED_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("popup offsets lookup failed",
                 json_pack("{s:s, s:s}", "topic", f->topic, "error", rd_kafka_err2str(e)));
        rd_kafka_topic_partition_list_destroy(parts);
        return -1;
    }
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_warn("popup partition offset lookup failed",
                     json_pack("{s:s, s:i, s:s}", "topic", f->topic, "partition",
                               (int)parts->elems[i].partition, "error",
                               rd_kafka_err2str(parts->elems[i].err)));
            rd_kafka_topic_partition_list_destroy(parts);
            return -1;
        }
        if (parts->elems[i].offset < 0) /* nothing that recent */
            parts->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
    eof = realloc(f->at_eof, n > 0 ? (size_t)n : 1);
    if (!eof) {
        rd_kafka_topic_partition_list_destroy(parts);
        return -1;
    }
    f->at_eof = eof;
    memset(f->at_eof + f->nparts, 0, (size_t)(n - f->nparts));
    /* Assignment without a group replaces the whole set: the partitions already read keep
     * their positions, the new ones start at the window. */
    if (f->nparts > 0) {
        rd_kafka_topic_partition_list_t *cur = NULL;

        e = rd_kafka_assignment(f->rk, &cur);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            e = rd_kafka_position(f->rk, cur);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_warn("popup assignment position unavailable",
                     json_pack("{s:s, s:s}", "topic", f->topic, "error", rd_kafka_err2str(e)));
            if (cur)
                rd_kafka_topic_partition_list_destroy(cur);
            rd_kafka_topic_partition_list_destroy(parts);
            return -1;
        }
        for (int i = 0; i < parts->cnt; i++)
            rd_kafka_topic_partition_list_add(cur, f->topic, parts->elems[i].partition)->offset =
                parts->elems[i].offset;
        rd_kafka_topic_partition_list_destroy(parts);
        parts = cur;
    }
    e = rd_kafka_assign(f->rk, parts);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("popup partitions assignment failed",
                  json_pack("{s:s, s:s}", "topic", f->topic, "error", rd_kafka_err2str(e)));
        rd_kafka_topic_partition_list_destroy(parts);
        return -1;
    }
    log_info("popup partitions assigned",
             json_pack("{s:s, s:i, s:i, s:I}", "topic", f->topic, "from", (int)f->nparts,
                       "partitions", (int)n, "read_back_s", (json_int_t)f->window_s));
    f->eof_needed += n - f->nparts;
    f->nparts = n;
    rd_kafka_topic_partition_list_destroy(parts);
    return 0;
}

/* Learn the partition count; assign what is new. */
static void feed_refresh(struct feed *f)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(f->rk, f->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e;
    int32_t n = 0;

    if (!rkt)
        return;
    e = rd_kafka_metadata(f->rk, 0, rkt, &md, FEED_TIMEOUT_MS);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
        md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
    else
        log_warn("popup topic metadata unavailable",
                 json_pack("{s:s, s:s}", "topic", f->topic, "error",
                           rd_kafka_err2str(e ? e : md->topics[0].err)));
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (n > f->nparts)
        feed_assign(f, n);
}

static void feed_message(struct feed *f, const rd_kafka_message_t *msg)
{
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    struct evid id = {msg->partition, msg->offset};
    struct popup_msg m;
    char err[160];

    if (popup_parse(msg->payload ? msg->payload : "", msg->len, &m, err, sizeof(err)) < 0) {
        metrics_inc(f->m_invalid, NULL);
        log_warn("popup message skipped",
                 json_pack("{s:s, s:i, s:I, s:s}", "topic", f->topic, "partition",
                           (int)msg->partition, "offset", (json_int_t)msg->offset, "error", err));
        return;
    }
    if (ts <= 0)
        ts = ids_now_ms();
    if (f->observe)
        f->observe(f->observe_ctx, m.popup_id);
    if (hub_publish(f->hub, &m, &id, ts, atomic_load(&f->caught_up)) < 0)
        log_error("popup not stored: out of memory",
                  json_pack("{s:i, s:I}", "partition", (int)msg->partition, "offset",
                            (json_int_t)msg->offset));
    popup_msg_clear(&m);
}

int feed_poll(struct feed *f, int timeout_ms)
{
    int64_t now = ids_now_ms();
    rd_kafka_message_t *msg;
    int budget = 2000; /* then back to the loop: heartbeats must not wait for a read-back */

    if (now >= f->next_meta_ms) {
        feed_refresh(f);
        f->next_meta_ms = now + (f->nparts ? FEED_META_EVERY_MS : 2000);
    }
    if (f->nparts == 0)
        return 0;
    msg = rd_kafka_consumer_poll(f->rk, timeout_ms);
    while (msg) {
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (msg->partition >= 0 && msg->partition < f->nparts && !f->at_eof[msg->partition]) {
                f->at_eof[msg->partition] = 1;
                if (--f->eof_needed == 0 && !atomic_load(&f->caught_up)) {
                    atomic_store(&f->caught_up, 1);
                    metrics_set(f->m_lag_ready, NULL, 1);
                    log_info("popup read-back complete", json_pack("{s:s, s:i}", "topic", f->topic,
                                                                   "partitions", (int)f->nparts));
                }
            }
        } else if (msg->err) {
            int fatal = msg->err == RD_KAFKA_RESP_ERR__FATAL;

            log_write(
                fatal ? LOG_ERROR : LOG_WARN, "popup consumer error",
                json_pack("{s:s, s:s}", "topic", f->topic, "error", rd_kafka_message_errstr(msg)));
            if (fatal) {
                rd_kafka_message_destroy(msg);
                return -1;
            }
        } else {
            feed_message(f, msg);
        }
        rd_kafka_message_destroy(msg);
        /* Drain what is already here without waiting. */
        msg = --budget > 0 ? rd_kafka_consumer_poll(f->rk, 0) : NULL;
    }
    return 0;
}

int feed_caught_up(const struct feed *f)
{
    return atomic_load(&((struct feed *)f)->caught_up);
}

void feed_observe(struct feed *f, void (*fn)(void *ctx, const char *popup_id), void *ctx)
{
    f->observe = fn;
    f->observe_ctx = ctx;
}

void feed_close(struct feed *f)
{
    if (!f)
        return;
    if (f->rk) {
        rd_kafka_consumer_close(f->rk);
        rd_kafka_destroy(f->rk);
    }
    free(f->at_eof);
    free(f->topic);
    free(f);
}
