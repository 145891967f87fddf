#include "common/kafka.h"

#include "common/ids.h"
#include "common/kafka_batch.h"
#include "common/kafka_security.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

static int kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
                     size_t errlen)
{
    char rkerr[256];

    if (rd_kafka_conf_set(conf, key, value, rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka config %s: %s", key, rkerr);
        return -1;
    }
    return 0;
}

static int kafka_set_all(rd_kafka_conf_t *conf, const struct kafka_kv *kv, char *err, size_t errlen)
{
    for (; kv && kv->key; kv++) {
        if (kafka_set(conf, kv->key, kv->value, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static void kafka_on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)opaque;
    log_warn("kafka error", json_pack("{s:s, s:s, s:s, s:b}", "client", rd_kafka_name(rk), "code",
                                      rd_kafka_err2name((rd_kafka_resp_err_t)code), "reason",
                                      reason, "fatal", code == RD_KAFKA_RESP_ERR__FATAL));
}

static void kafka_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    log_write(level <= 3   ? LOG_ERROR
              : level <= 5 ? LOG_WARN
                           : LOG_DEBUG,
              "librdkafka", json_pack("{s:s, s:s}", "facility", fac, "detail", buf));
}

static void kafka_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct kafka_delivery *d = msg->_private;

    (void)rk;
    (void)opaque;
    if (!d)
        return;
    d->err = msg->err;
    d->partition = msg->partition;
    d->offset = msg->offset;
    atomic_store(&d->state, 1);
    if (d->done)
        d->done(d);
}

rd_kafka_conf_t *kafka_conf_new(const char *brokers, const char *client_id,
                                const struct kafka_kv *extra, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (kafka_set(conf, "bootstrap.servers", brokers, err, errlen) < 0 ||
        kafka_set(conf, "client.id", client_id, err, errlen) < 0 ||
        kafka_set_all(conf, extra, err, errlen) < 0 ||
        kafka_security_apply(conf, NULL, err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, kafka_on_error);
    rd_kafka_conf_set_log_cb(conf, kafka_on_log);
    return conf;
}

rd_kafka_t *kafka_producer_new(const char *brokers, const char *client_id,
                               const struct kafka_kv *extra, char *err, size_t errlen)
{
    static const struct kafka_kv durable[] = {
        {"acks", "all"},    {"enable.idempotence", "true"},  {"compression.type", "lz4"},
        {"linger.ms", "2"}, {"message.timeout.ms", "30000"}, {NULL, NULL},
    };
    char rkerr[512];
    rd_kafka_conf_t *conf = kafka_conf_new(brokers, client_id, NULL, err, errlen);
    rd_kafka_t *rk;

    if (!conf)
        return NULL;
    if (kafka_set_all(conf, durable, err, errlen) < 0 ||
        kafka_set_all(conf, extra, err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_on_delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rkerr, sizeof(rkerr));
    if (!rk) {
        snprintf(err, errlen, "kafka producer: %s", rkerr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* rd_kafka_new took ownership of conf. */
    return rk;
}

int kafka_producer_close(rd_kafka_t *rk, int timeout_ms)
{
    int left;

    if (!rk)
        return 0;
    rd_kafka_flush(rk, timeout_ms);
    left = rd_kafka_outq_len(rk);
    if (left > 0) {
        /* Fail what is left now, so that every message's report (and the memory it
         * releases) is served before the handle goes. */
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(rk, 1000);
    }
    rd_kafka_destroy(rk);
    return left;
}

int kafka_produce_sync(rd_kafka_t *rk, const char *topic, const void *key, size_t keylen,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs, int timeout_ms,
                       char *err, size_t errlen)
{
    int64_t t0 = ids_mono_us();
    struct kafka_batch *kb = kafka_batch_new(rk, 1);
    char why[256];
    int left, rc;

    if (!kb) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        snprintf(err, errlen, "produce to %s: out of memory", topic);
        return -1;
    }
    rc = kafka_batch_produce(kb, topic, key, keylen, value, len, hdrs, timeout_ms, err, errlen);
    if (rc == 0) {
        left = timeout_ms - (int)((ids_mono_us() - t0) / 1000);
        rc = kafka_batch_wait(kb, left > 0 ? left : 0, why, sizeof(why));
        if (rc < 0)
            snprintf(err, errlen, "%s: %s", topic, why);
    }
    /* A report still due frees the batch when it comes. */
    kafka_batch_free(kb);
    return rc < 0 ? -1 : 0;
}

int kafka_dlq_send(rd_kafka_t *producer, const char *dlq_topic, const char *service,
                   const rd_kafka_message_t *orig, const char *reason, int timeout_ms, char *err,
                   size_t errlen)
{
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_headers_t *src = NULL;
    char num[32];

    if (rd_kafka_message_headers(orig, &src) == RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = rd_kafka_headers_copy(src);
    else
        hdrs = rd_kafka_headers_new(5);
    if (!hdrs) {
        snprintf(err, errlen, "dead letter: out of memory");
        return -1;
    }
    rd_kafka_header_add(hdrs, "dlq_reason", -1, reason, -1);
    rd_kafka_header_add(hdrs, "dlq_source_topic", -1, rd_kafka_topic_name(orig->rkt), -1);
    snprintf(num, sizeof(num), "%d", (int)orig->partition);
    rd_kafka_header_add(hdrs, "dlq_partition", -1, num, -1);
    snprintf(num, sizeof(num), "%lld", (long long)orig->offset);
    rd_kafka_header_add(hdrs, "dlq_offset", -1, num, -1);
    rd_kafka_header_add(hdrs, "dlq_service", -1, service, -1);
    return kafka_produce_sync(producer, dlq_topic, orig->key, orig->key_len, orig->payload,
                              orig->len, hdrs, timeout_ms, err, errlen);
}

static void kafka_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    rd_kafka_error_t *error = NULL;

    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("partitions assigned", json_pack("{s:i}", "count", parts->cnt));
        if (strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
    } else {
        log_info("partitions revoked", json_pack("{s:i}", "count", parts->cnt));
        /* Commit what is already stored so that the next owner starts after it. */
        rd_kafka_commit(rk, parts, 0);
        if (strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (error) {
        log_error("rebalance failed", json_pack("{s:s}", "reason", rd_kafka_error_string(error)));
        rd_kafka_error_destroy(error);
    }
}

rd_kafka_t *kafka_consumer_new(const char *brokers, const char *group_id, const char *instance_id,
                               const char *const *topics, const struct kafka_kv *extra, char *err,
                               size_t errlen)
{
    static const struct kafka_kv at_least_once[] = {
        {"enable.auto.offset.store", "false"},
        {"enable.auto.commit", "true"},
        {"auto.commit.interval.ms", "1000"},
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"isolation.level", "read_committed"},
        {"session.timeout.ms", "45000"}, /* static members restart within it, no rebalance */
        {NULL, NULL},
    };
    char rkerr[512];
    rd_kafka_conf_t *conf = kafka_conf_new(brokers, group_id, NULL, err, errlen);
    rd_kafka_topic_partition_list_t *subs;
    rd_kafka_resp_err_t rerr;
    rd_kafka_t *rk;
    int n = 0;

    if (!conf)
        return NULL;
    if (kafka_set(conf, "group.id", group_id, err, errlen) < 0 ||
        kafka_set_all(conf, at_least_once, err, errlen) < 0 ||
        (instance_id && instance_id[0] &&
         kafka_set(conf, "group.instance.id", instance_id, err, errlen) < 0) ||
        kafka_set_all(conf, extra, err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, kafka_on_rebalance);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rkerr, sizeof(rkerr));
    if (!rk) {
        snprintf(err, errlen, "kafka consumer: %s", rkerr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    conf = NULL; /* rd_kafka_new took ownership */
    rd_kafka_poll_set_consumer(rk);
    while (topics[n])
        n++;
    subs = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
    rerr = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka subscribe: %s", rd_kafka_err2str(rerr));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

int kafka_consumer_store(rd_kafka_t *rk, const rd_kafka_message_t *msg)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t rerr;

    /* The next offset to read is the one after msg. */
    rd_kafka_topic_partition_list_add(parts, rd_kafka_topic_name(msg->rkt), msg->partition)
        ->offset = msg->offset + 1;
    rerr = rd_kafka_offsets_store(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    /* Local errors are negative and broker errors positive: no arithmetic on the code. */
    return rerr == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

void kafka_consumer_close(rd_kafka_t *rk)
{
    if (!rk)
        return;
    rd_kafka_commit(rk, NULL, 0);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

int kafka_probe(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);

    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    rd_kafka_metadata_destroy(md);
    return 0;
}

int kafka_fatal(rd_kafka_t *rk, char *err, size_t errlen)
{
    char reason[256];
    rd_kafka_resp_err_t rerr = rd_kafka_fatal_error(rk, reason, sizeof(reason));

    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    snprintf(err, errlen, "kafka fatal error %s: %s", rd_kafka_err2name(rerr), reason);
    return 1;
}
