#include "token_feed.h"

#include "common/kafka.h"
#include "common/log.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct token_feed {
    rd_kafka_t *rk;
    struct token_map *map;
    char *topic;
    pthread_t thread;
    atomic_int ready;
    atomic_int stop;
};

/* Assign every partition of the topic at its beginning. Returns the partition count, 0 while
 * the topic is not there yet, -1 on error. */
static int token_feed_assign(struct token_feed *feed)
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
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    err = rd_kafka_assign(feed->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? n : -1;
}

static void *token_feed_run(void *arg)
{
    struct token_feed *feed = arg;
    int nparts = 0, at_end = 0;
    char *eof_seen = NULL;

    while (!atomic_load(&feed->stop) && nparts <= 0) {
        nparts = token_feed_assign(feed);
        if (nparts <= 0) {
            log_warn("tenant-token topic not readable yet",
                     json_pack("{s:s}", "topic", feed->topic));
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
                    log_info("tenant tokens loaded",
                             json_pack("{s:i}", "tenants", (int)token_map_size(feed->map)));
                }
            }
        } else if (msg->err) {
            log_warn("tenant-token topic",
                     json_pack("{s:s}", "reason", rd_kafka_message_errstr(msg)));
        } else if (token_map_apply(feed->map, msg->key, msg->key_len, msg->payload, msg->len) < 0) {
            log_warn("tenant-token record ignored",
                     json_pack("{s:i, s:I}", "partition", (int)msg->partition, "offset",
                               (json_int_t)msg->offset));
        }
        rd_kafka_message_destroy(msg);
    }
    free(eof_seen);
    return NULL;
}

struct token_feed *token_feed_start(const char *brokers, const char *topic, struct token_map *map,
                                    char *err, size_t errlen)
{
    /* group.id is required by the consumer API, but partitions are assigned, never committed. */
    static const struct kafka_kv props[] = {
        {"enable.partition.eof", "true"},
        {"group.id", "ingest-token-feed"},
        {"enable.auto.commit", "false"},
        {NULL, NULL},
    };
    struct token_feed *feed = calloc(1, sizeof(*feed));
    rd_kafka_conf_t *conf;
    char rkerr[256];

    if (!feed) {
        snprintf(err, errlen, "token feed: out of memory");
        return NULL;
    }
    conf = kafka_conf_new(brokers, "ingest-token-feed", props, err, errlen);
    if (!conf) {
        free(feed);
        return NULL;
    }
    feed->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rkerr, sizeof(rkerr));
    if (!feed->rk) {
        snprintf(err, errlen, "token feed consumer: %s", rkerr);
        rd_kafka_conf_destroy(conf);
        free(feed);
        return NULL;
    }
    conf = NULL; /* rd_kafka_new took ownership */
    rd_kafka_poll_set_consumer(feed->rk);
    feed->map = map;
    feed->topic = strdup(topic);
    if (!feed->topic || pthread_create(&feed->thread, NULL, token_feed_run, feed) != 0) {
        snprintf(err, errlen, "token feed: cannot start its thread");
        rd_kafka_destroy(feed->rk);
        free(feed->topic);
        free(feed);
        return NULL;
    }
    return feed;
}

int token_feed_ready(struct token_feed *feed)
{
    return feed && atomic_load(&feed->ready);
}

void token_feed_stop(struct token_feed *feed)
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
