#include "dlq_replay.h"

#include "common/ids.h"
#include "common/kafka.h"

#include <stdlib.h>
#include <string.h>

char *dlq_printable(const void *s, size_t n, char *out, size_t outlen)
{
    const unsigned char *p = s;
    size_t o = 0;

    if (!outlen)
        return out;
    for (size_t i = 0; p && i < n && o + 1 < outlen; i++) {
        unsigned char c = p[i];

        if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
            i++; /* U+0080..U+009F: C1 controls, CSI among them */
            c = '?';
        } else if (c < 0x20 || c == 0x7f) {
            c = '?';
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

int dlq_replay_plan(rd_kafka_headers_t *hdrs, const char *const *allowed, char *topic,
                    size_t topiclen, rd_kafka_headers_t **out)
{
    const void *val = NULL;
    size_t size = 0, idx = 0;
    const char *name;
    int known = 0;

    *out = NULL;
    if (!hdrs ||
        rd_kafka_header_get_last(hdrs, "dlq_source_topic", &val, &size) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        !val || size == 0 || size >= topiclen)
        return -1;
    memcpy(topic, val, size);
    topic[size] = '\0';
    for (size_t i = 0; allowed && allowed[i]; i++)
        known |= allowed[i][0] && strlen(allowed[i]) == size && memcmp(allowed[i], val, size) == 0;
    if (!known)
        return -2;
    *out = rd_kafka_headers_new(rd_kafka_header_cnt(hdrs));
    while (rd_kafka_header_get_all(hdrs, idx++, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (strncmp(name, "dlq_", 4) != 0)
            rd_kafka_header_add(*out, name, -1, val, (ssize_t)size);
    }
    return 0;
}

/* 1 once every assigned partition reported its end. */
static int dlq_all_at_end(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *ends)
{
    rd_kafka_topic_partition_list_t *asg = NULL;
    int done = 1;

    if (rd_kafka_assignment(rk, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    if (asg->cnt == 0)
        done = 0;
    for (int i = 0; done && i < asg->cnt; i++) {
        if (!rd_kafka_topic_partition_list_find(ends, asg->elems[i].topic, asg->elems[i].partition))
            done = 0;
    }
    rd_kafka_topic_partition_list_destroy(asg);
    return done;
}

static int dlq_replay_one(rd_kafka_t *producer, rd_kafka_message_t *msg, const char *const *allowed,
                          int dry_run, FILE *out, struct dlq_replay_stats *stats, char *err,
                          size_t errlen)
{
    rd_kafka_headers_t *hdrs = NULL, *clean = NULL;
    char topic[256], shown[256], why[512];
    const void *reason = NULL;
    size_t rlen = 0;
    int plan;

    rd_kafka_message_headers(msg, &hdrs);
    plan = dlq_replay_plan(hdrs, allowed, topic, sizeof(topic), &clean);
    if (plan < 0) {
        stats->skipped++;
        fprintf(out, "skipped partition %d offset %lld: %s%s\n", (int)msg->partition,
                (long long)msg->offset,
                plan == -1 ? "no dlq_source_topic header" : "not a topic of ours: ",
                plan == -1 ? "" : dlq_printable(topic, strlen(topic), shown, sizeof(shown)));
        return 0;
    }
    if (hdrs)
        rd_kafka_header_get_last(hdrs, "dlq_reason", &reason, &rlen);
    /* the reason is anyone's text: never let it drive the admin's terminal */
    fprintf(out, "%s partition %d offset %lld -> %s (reason: %s)\n",
            dry_run ? "would replay" : "replay", (int)msg->partition, (long long)msg->offset, topic,
            dlq_printable(reason, reason ? rlen : 0, why, sizeof(why)));
    if (dry_run) {
        rd_kafka_headers_destroy(clean);
        stats->replayed++;
        return 0;
    }
    /* kafka_produce_sync takes the headers over in every case. */
    if (kafka_produce_sync(producer, topic, msg->key, msg->key_len, msg->payload, msg->len, clean,
                           15000, err, errlen) < 0)
        return -1;
    stats->replayed++;
    return 0;
}

int dlq_replay_run(const char *brokers, const char *dlq_topic, const char *const *allowed,
                   const char *group, int dry_run, FILE *out, struct dlq_replay_stats *stats,
                   char *err, size_t errlen)
{
    static const struct kafka_kv props[] = {{"enable.partition.eof", "true"}, {NULL, NULL}};
    const char *topics[] = {dlq_topic, NULL};
    rd_kafka_t *consumer = NULL, *producer = NULL;
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_new(8);
    int64_t idle_until = ids_mono_us() + 30 * 1000000LL;
    int rc = 0;

    memset(stats, 0, sizeof(*stats));
    consumer = kafka_consumer_new(brokers, group, NULL, topics, props, err, errlen);
    if (!consumer || (!dry_run && !(producer = kafka_producer_new(brokers, "crmctl-dlq-replay",
                                                                  NULL, err, errlen)))) {
        rc = -1;
        goto out;
    }
    while (!dlq_all_at_end(consumer, ends)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, 500);

        if (!msg) {
            if (ids_mono_us() > idle_until) {
                snprintf(err, errlen, "dead-letter topic %s: no partition assigned in 30 s",
                         dlq_topic);
                rc = -1;
                break;
            }
            continue;
        }
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_topic_partition_list_add(ends, rd_kafka_topic_name(msg->rkt), msg->partition);
        } else if (msg->err) {
            snprintf(err, errlen, "dead-letter topic %s: %s", dlq_topic,
                     rd_kafka_message_errstr(msg));
            rc = -1;
        } else if (dlq_replay_one(producer, msg, allowed, dry_run, out, stats, err, errlen) < 0) {
            rc = -1;
        } else if (!dry_run) {
            /* Stored only once its copy is acknowledged: a crash replays it again, harmlessly. */
            kafka_consumer_store(consumer, msg);
        }
        rd_kafka_message_destroy(msg);
        if (rc < 0)
            break;
    }
out:
    rd_kafka_topic_partition_list_destroy(ends);
    if (producer)
        kafka_producer_close(producer, 10000);
    if (consumer)
        kafka_consumer_close(consumer); /* commits what was stored */
    return rc;
}
