#include "common/kafka_batch.h"

#include "common/ids.h"
#include "common/kafka.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct kafka_batch {
    rd_kafka_t *rk;
    /* One for the owner and one per queued message until its report: whoever drops the last
     * reference frees, so a report that comes after the owner gave up touches live memory. */
    atomic_size_t refs;
    size_t n, cap;
    struct kafka_delivery dr[];
};

static void kafka_batch_unref(struct kafka_batch *kb)
{
    if (atomic_fetch_sub(&kb->refs, 1) == 1)
        free(kb);
}

/* Runs on the thread that polls rk, after kafka_on_delivery set the record. */
static void kafka_batch_on_report(struct kafka_delivery *d)
{
    kafka_batch_unref(d->ctx);
}

static int64_t kafka_batch_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? INT64_MAX : ids_mono_us() + (int64_t)timeout_ms * 1000;
}

/* Milliseconds left before deadline, at most cap; 0 when it passed. */
static int kafka_batch_left(int64_t deadline, int cap)
{
    int64_t left;

    if (deadline == INT64_MAX)
        return cap;
    left = (deadline - ids_mono_us() + 999) / 1000;
    return left <= 0 ? 0 : left < cap ? (int)left : cap;
}

struct kafka_batch *kafka_batch_new(rd_kafka_t *rk, size_t cap)
{
    struct kafka_batch *kb = calloc(1, sizeof(*kb) + (cap + 1) * sizeof(kb->dr[0]));

    if (!kb)
        return NULL;
    kb->rk = rk;
    kb->cap = cap;
    atomic_init(&kb->refs, 1);
    return kb;
}

int kafka_batch_produce(struct kafka_batch *kb, const char *topic, const void *key, size_t keylen,
                        const void *value, size_t len, rd_kafka_headers_t *hdrs, int timeout_ms,
                        char *err, size_t errlen)
{
    int64_t deadline = kafka_batch_deadline(timeout_ms);
    struct kafka_delivery *d;
    rd_kafka_resp_err_t rerr;

    if (kb->n == kb->cap) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        snprintf(err, errlen, "produce to %s: batch full (%zu messages)", topic, kb->cap);
        return -1;
    }
    d = &kb->dr[kb->n];
    d->done = kafka_batch_on_report;
    d->ctx = kb;
    atomic_fetch_add(&kb->refs, 1);
    for (;;) {
        rerr = rd_kafka_producev(kb->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
                                 RD_KAFKA_V_VALUE((void *)value, len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                                 RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
        if (rerr != RD_KAFKA_RESP_ERR__QUEUE_FULL || kafka_batch_left(deadline, 10) == 0)
            break;
        /* Serving reports empties the queue. */
        rd_kafka_poll(kb->rk, kafka_batch_left(deadline, 10));
    }
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Not queued: no report will come, and the headers were not taken over. */
        atomic_fetch_sub(&kb->refs, 1);
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        snprintf(err, errlen, "produce to %s: %s", topic, rd_kafka_err2str(rerr));
        return -1;
    }
    kb->n++;
    return 0;
}

int kafka_batch_wait(struct kafka_batch *kb, int timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = kafka_batch_deadline(timeout_ms);
    size_t pending, failed, first_failed;

    for (;;) {
        pending = failed = 0;
        first_failed = kb->n;
        for (size_t i = 0; i < kb->n; i++) {
            if (!atomic_load(&kb->dr[i].state))
                pending++;
            else if (kb->dr[i].err != RD_KAFKA_RESP_ERR_NO_ERROR && failed++ == 0)
                first_failed = i;
        }
        if (pending == 0 || kafka_batch_left(deadline, 1) == 0)
            break;
        /* Returns as soon as a report was served. */
        rd_kafka_poll(kb->rk, kafka_batch_left(deadline, 100));
    }
    if (failed) {
        if (err)
            snprintf(err, errlen, "delivery failed for %zu of %zu messages (%s)", failed, kb->n,
                     rd_kafka_err2str(kb->dr[first_failed].err));
        return -1;
    }
    if (pending) {
        if (err)
            snprintf(err, errlen, "delivery: %zu of %zu messages unacknowledged after %d ms",
                     pending, kb->n, timeout_ms);
        return -1;
    }
    return 0;
}

size_t kafka_batch_count(const struct kafka_batch *kb)
{
    return kb->n;
}

void kafka_batch_free(struct kafka_batch *kb)
{
    if (kb)
        kafka_batch_unref(kb);
}
