/* kafka_hop: the Kafka hop of a popup alone, with the librdkafka the services link. A producer
 * made as the router makes its popups producer (kafka_producer_new, linger.ms 0) sends M
 * messages at RATE/s to TOPIC; a consumer set up as the notifier's feed reads them. Prints, in
 * ms, p50/p99 of produce() → delivery report (the broker's acknowledgement) and of produce() →
 * the consumer's poll returning the message (the hop the notifier pays before its own work).
 *
 *   kafka_hop BROKERS TOPIC [M] [RATE]
 * PRODUCER_PROPS / CONSUMER_PROPS ("k=v,k=v"): properties added to the producer's / consumer's
 * (e.g. CONSUMER_PROPS=socket.nagle.disable=false to measure a default); FETCH_WAIT_MAX_MS as
 * the notifier's (default 100).
 *
 *   kafka_hop BROKERS TOPIC 0
 * reads only, until its standard input ends: the Kafka hop of the notifier bench's popups
 * (their "bench_ts", the publisher's wall clock before produce → this consumer's poll), as the
 * notifier's consumer sees it, in a process of its own. Prints {"n", "p50_ms", "p99_ms"}. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "common/kafka.h"

#define HOP_MAX 100000

static int64_t hop_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t sent_us[HOP_MAX], acked_us[HOP_MAX], read_us[HOP_MAX];
static atomic_int stop;
static int64_t stamped_us[HOP_MAX]; /* read-only mode: publisher's stamp → poll */
static atomic_int nstamped;

static int64_t hop_wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A bench popup's "bench_ts" (seconds since the epoch, as Python's time.time()), or 0. */
static int64_t hop_stamp(const rd_kafka_message_t *m)
{
    static const char key[] = "\"bench_ts\":";
    const char *p = m->payload, *end = p + m->len;
    char num[40];
    size_t n = 0;

    for (; p && p + sizeof(key) - 1 <= end; p++) {
        if (memcmp(p, key, sizeof(key) - 1) == 0)
            break;
    }
    if (!p || p + sizeof(key) - 1 > end)
        return 0;
    for (p += sizeof(key) - 1; p < end && *p == ' '; p++)
        ;
    while (p < end && n + 1 < sizeof(num) && ((*p >= '0' && *p <= '9') || *p == '.'))
        num[n++] = *p++;
    num[n] = '\0';
    return n ? (int64_t)(strtod(num, NULL) * 1e6) : 0;
}

static struct kafka_delivery delivered[HOP_MAX];
static char *pcopy, *ccopy; /* the property lists' strings (hop_props) */

/* Fills kv (room for max pairs and the terminator) from "k=v,k=v" in the environment variable
 * name, after the pairs already there (n of them). The strings stay in the environment's copy,
 * owned by the caller through *copy. Returns the pairs in kv, or -1. */
static int hop_props(const char *name, struct kafka_kv *kv, int n, int max, char **copy)
{
    const char *env = getenv(name);
    char *save = NULL;

    *copy = strdup(env ? env : "");
    for (char *p = strtok_r(*copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');

        if (!eq || n >= max) {
            fprintf(stderr, "kafka_hop: %s: bad property %s\n", name, p);
            return -1;
        }
        *eq = '\0';
        kv[n].key = p;
        kv[n++].value = eq + 1;
    }
    kv[n].key = kv[n].value = NULL;
    return n;
}

static void hop_acked(struct kafka_delivery *d)
{
    if (!d->err)
        acked_us[d - delivered] = hop_now_us();
}

static void *hop_poller(void *rk)
{
    while (!atomic_load(&stop))
        rd_kafka_poll(rk, 100);
    return NULL;
}

/* The notifier's feed: assign every partition at its end and read. */
static void *hop_reader(void *rk)
{
    while (!atomic_load(&stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int64_t now = hop_wall_us(), stamp;
        long i;

        if (!m)
            continue;
        stamp = m->err ? 0 : hop_stamp(m);
        if (stamp > 0) {
            int k = atomic_fetch_add(&nstamped, 1);

            if (k < HOP_MAX)
                stamped_us[k] = now - stamp;
        } else if (!m->err && m->len >= 16) {
            char buf[16];

            memcpy(buf, m->payload, 15);
            buf[15] = '\0';
            i = strtol(buf, NULL, 10);
            if (i >= 0 && i < HOP_MAX)
                read_us[i] = hop_now_us();
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static double hop_ms(int64_t us)
{
    return (double)us / 1000.0;
}

/* The element of sorted d[n] at fraction num/den. */
static int64_t hop_at(const int64_t *d, int n, int num, int den)
{
    int i = n * num / den;

    return d[i < n ? i : n - 1];
}

static int hop_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void hop_print(const char *what, const int64_t *end, int m)
{
    static int64_t d[HOP_MAX];
    int n = 0;

    for (int i = 0; i < m; i++) {
        if (end[i] > 0)
            d[n++] = end[i] - sent_us[i];
    }
    qsort(d, (size_t)n, sizeof(d[0]), hop_cmp);
    if (n == 0) {
        printf("%-26s none\n", what);
        return;
    }
    printf("%-26s p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms  (%d of %d)\n", what,
           hop_ms(hop_at(d, n, 1, 2)), hop_ms(hop_at(d, n, 9, 10)), hop_ms(hop_at(d, n, 99, 100)),
           hop_ms(d[n - 1]), n, m);
}

/* Reads until standard input ends, then prints the stamps' percentiles. */
static int hop_read_only(rd_kafka_t *cons)
{
    pthread_t reader;
    char buf[64];
    int n;

    pthread_create(&reader, NULL, hop_reader, cons);
    printf("{\"reading\": true}\n");
    fflush(stdout);
    while (fread(buf, 1, sizeof(buf), stdin) > 0)
        ;
    atomic_store(&stop, 1);
    pthread_join(reader, NULL);
    n = atomic_load(&nstamped);
    n = n < HOP_MAX ? n : HOP_MAX;
    qsort(stamped_us, (size_t)n, sizeof(stamped_us[0]), hop_cmp);
    if (n > 0)
        printf("{\"n\": %d, \"p50_ms\": %.2f, \"p99_ms\": %.2f}\n", n,
               hop_ms(hop_at(stamped_us, n, 1, 2)), hop_ms(hop_at(stamped_us, n, 99, 100)));
    else
        printf("{\"n\": 0}\n");
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    free(ccopy);
    return 0;
}

int main(int argc, char **argv)
{
    const char *wait = getenv("FETCH_WAIT_MAX_MS");
    struct kafka_kv pkv[17] = {{"linger.ms", "0"}},
                    ckv[17] = {{"group.id", "kafka-hop"},
                               {"enable.auto.commit", "false"},
                               {"fetch.wait.max.ms", wait && *wait ? wait : "100"},
                               {"socket.nagle.disable", "true"}};
    char err[512], val[320];
    rd_kafka_t *prod, *cons;
    rd_kafka_conf_t *cconf;
    rd_kafka_topic_partition_list_t *parts;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt;
    pthread_t poller, reader;
    int m, rate;

    if (argc < 3) {
        fprintf(stderr, "usage: kafka_hop BROKERS TOPIC [M] [RATE]\n");
        return 2;
    }
    m = argc > 3 ? atoi(argv[3]) : 1000;
    rate = argc > 4 ? atoi(argv[4]) : 100;
    if (m < 0 || m > HOP_MAX || rate <= 0) {
        fprintf(stderr, "kafka_hop: M in 0..%d, RATE > 0\n", HOP_MAX);
        return 2;
    }
    if (hop_props("PRODUCER_PROPS", pkv, 1, 16, &pcopy) < 0 ||
        hop_props("CONSUMER_PROPS", ckv, 4, 16, &ccopy) < 0) {
        free(pcopy);
        free(ccopy);
        return 2;
    }
    /* The consumer as the notifier's feed sets it up (notifier/src/feed.c). */
    cconf = kafka_conf_new(argv[1], "kafka-hop", ckv, err, sizeof(err));
    if (!cconf) {
        fprintf(stderr, "kafka_hop: consumer: %s\n", err);
        return 1;
    }
    cons = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof(err));
    if (!cons) {
        fprintf(stderr, "kafka_hop: consumer: %s\n", err);
        return 1;
    }
    rkt = rd_kafka_topic_new(cons, argv[2], NULL);
    if (rd_kafka_metadata(cons, 0, rkt, &md, 10000) || md->topic_cnt != 1 ||
        md->topics[0].partition_cnt <= 0) {
        fprintf(stderr, "kafka_hop: no metadata for %s\n", argv[2]);
        return 1;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int p = 0; p < md->topics[0].partition_cnt; p++)
        rd_kafka_topic_partition_list_add(parts, argv[2], p)->offset = RD_KAFKA_OFFSET_END;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (rd_kafka_assign(cons, parts)) {
        fprintf(stderr, "kafka_hop: assign failed\n");
        return 1;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    if (m == 0) {
        free(pcopy);
        return hop_read_only(cons);
    }
    /* The producer as the router makes its popups producer (router/src/main.c). */
    prod = kafka_producer_new(argv[1], "kafka-hop", pkv, err, sizeof(err));
    if (!prod) {
        fprintf(stderr, "kafka_hop: producer: %s\n", err);
        return 1;
    }
    pthread_create(&poller, NULL, hop_poller, prod);
    pthread_create(&reader, NULL, hop_reader, cons);
    memset(val, ' ', sizeof(val)); /* about a popup message's size */
    /* Warm up: the producer's id and the topic's leaders known, the first fetches waiting. */
    snprintf(val, 16, "%d", -1);
    for (int i = 0; i < 10; i++)
        rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY(&i, sizeof(i)),
                          RD_KAFKA_V_VALUE(val, sizeof(val)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(prod, 10000);
    sleep(1);
    for (int i = 0; i < m; i++) {
        char key[32];
        int klen = snprintf(key, sizeof(key), "k%d", rand());
        rd_kafka_resp_err_t e;

        snprintf(val, 16, "%d", i);
        delivered[i].done = hop_acked;
        sent_us[i] = hop_now_us();
        e = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY(key, (size_t)klen),
                              RD_KAFKA_V_VALUE(val, sizeof(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE(&delivered[i]), RD_KAFKA_V_END);
        if (e)
            fprintf(stderr, "kafka_hop: produce: %s\n", rd_kafka_err2str(e));
        usleep((useconds_t)(1000000 / rate));
    }
    rd_kafka_flush(prod, 10000);
    usleep(300000);
    atomic_store(&stop, 1);
    pthread_join(poller, NULL);
    pthread_join(reader, NULL);
    hop_print("produce -> acknowledged", acked_us, m);
    hop_print("produce -> consumer poll", read_us, m);
    rd_kafka_destroy(prod);
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    free(pcopy);
    free(ccopy);
    return 0;
}
