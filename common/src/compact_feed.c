#include "common/compact_feed.h"

#include "common/kafka.h"
#include "common/log.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct compact_feed {
    rd_kafka_t *rk;
    compact_feed_apply_fn apply;
    void *ctx;
    char *topic;
    int64_t since_ms; /* 0: from the beginning */
    pthread_t thread;
    atomic_int ready;
    atomic_int stop;
};

/* Assign every partition of the topic at its beginning. Returns the partition count, 0 while
 * the topic is not there yet, -1 on error. */
static int compact_feed_assign(struct compact_feed *feed)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(feed->rk, feed->topic, NULL);
    rd_kafka_resp_err_t err;
    int n = 0;

    if (!rkt)
        return -1;
    err = rd_kafka_metadata(feed->rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
        return 0;
    }
    n = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(parts, feed->topic, md->topics[0].partitions[i].id)
            ->offset = feed->since_ms > 0 ? feed->since_ms : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    /* A time becomes the first offset at or after it (the end when none is). */
    err = feed->since_ms > 0 ? rd_kafka_offsets_for_times(feed->rk, parts, 5000)
                             : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        err = rd_kafka_assign(feed->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? n : -1;
}

static void *compact_feed_run(void *arg)
{
    struct compact_feed *feed = arg;
    int nparts = 0, at_end = 0;
    char *eof_seen = NULL;

    while (!atomic_load(&feed->stop) && nparts <= 0) {
        nparts = compact_feed_assign(feed);
        if (nparts <= 0) {
            log_warn("compacted topic not readable yet", json_pack("{s:s}", "topic", feed->topic));
            for (int i = 0; i < 10 && !atomic_load(&feed->stop); i++)
                rd_kafka_poll(feed->rk, 100);
        }
    }
    eof_seen = calloc((size_t)(nparts > 0 ? nparts : 1), 1);
    while (!atomic_load(&feed->stop)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(feed->rk, 200);

        if (!msg)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (eof_seen && msg->partition >= 0 && msg->partition < nparts &&
                !eof_seen[msg->partition]) {
                eof_seen[msg->partition] = 1;
                if (++at_end == nparts) {
                    atomic_store(&feed->ready, 1);
                    log_info("compacted topic loaded", json_pack("{s:s}", "topic", feed->topic));
                }
            }
        } else if (msg->err) {
            log_warn("compacted topic", json_pack("{s:s, s:s}", "topic", feed->topic, "reason",
                                                  rd_kafka_message_errstr(msg)));
        } else if (feed->apply(feed->ctx, msg->key, msg->key_len, msg->payload, msg->len) < 0) {
            log_warn("compacted topic record ignored",
                     json_pack("{s:s, s:i, s:I}", "topic", feed->topic, "partition",
                               (int)msg->partition, "offset", (json_int_t)msg->offset));
        }
        rd_kafka_message_destroy(msg);
    }
    free(eof_seen);
    return NULL;
}

struct compact_feed *compact_feed_start(const char *brokers, const char *topic,
                                        const char *client_id, compact_feed_apply_fn apply,
                                        void *ctx, char *err, size_t errlen)
{
    return compact_feed_start_since(brokers, topic, client_id, 0, apply, ctx, err, errlen);
}

struct compact_feed *compact_feed_start_since(const char *brokers, const char *topic,
                                              const char *client_id, int64_t since_ms,
                                              compact_feed_apply_fn apply, void *ctx, char *err,
                                              size_t errlen)
{
    /* group.id is required by the consumer API, but partitions are assigned, never committed. */
    const struct kafka_kv props[] = {
        {"enable.partition.eof", "true"},
        {"group.id", client_id},
        {"enable.auto.commit", "false"},
        {NULL, NULL},
    };
    struct compact_feed *feed = calloc(1, sizeof(*feed));
    rd_kafka_conf_t *conf;
    char rkerr[256];

    if (!feed) {
        snprintf(err, errlen, "%s: out of memory", topic);
        return NULL;
    }
    conf = kafka_conf_new(brokers, client_id, props, err, errlen);
    if (!conf) {
        free(feed);
        return NULL;
    }
    feed->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rkerr, sizeof(rkerr));
    if (!feed->rk) {
        snprintf(err, errlen, "%s consumer: %s", topic, rkerr);
        rd_kafka_conf_destroy(conf);
        free(feed);
        return NULL;
    }
    conf = NULL; /* rd_kafka_new took ownership */
    rd_kafka_poll_set_consumer(feed->rk);
    feed->apply = apply;
    feed->ctx = ctx;
    feed->since_ms = since_ms;
    feed->topic = strdup(topic);
    if (!feed->topic || pthread_create(&feed->thread, NULL, compact_feed_run, feed) != 0) {
        snprintf(err, errlen, "%s: cannot start its thread", topic);
        rd_kafka_destroy(feed->rk);
        free(feed->topic);
        free(feed);
        return NULL;
    }
    return feed;
}

int compact_feed_ready(struct compact_feed *feed)
{
    return feed && atomic_load(&feed->ready);
}

void compact_feed_stop(struct compact_feed *feed)
{
    if (!feed)
        return;
    atomic_store(&feed->stop, 1);
    pthread_join(feed->thread, NULL);
    rd_kafka_consumer_close(feed->rk);
    rd_kafka_destroy(feed->rk);
    free(feed->topic);
    free(feed);
}
