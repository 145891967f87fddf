/* ingest: UIS webhooks → uis.call-events.v1. Wiring only: configuration, the producer, the
 * tenant-token feed, the HTTP servers and the poll loop that drives delivery reports. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "event.h"
#include "common/cfg.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/kafka_watch.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops_http.h"
#include "common/sig.h"
#include "common/svc.h"
#include "common/webhook_token.h"
#include "token_feed.h"
#include "token_map.h"
#include "webhook.h"

struct ingest_cfg {
    struct common_cfg common;
    const char *http_addr;
    long http_port;
    long max_body;
    long conn_limit;
    long per_ip_limit;
    long conn_timeout_s;
    long conn_memory;
    long deadline_ms;
    long retry_after_s;
    long drain_ms;
    const char *topic_events;
    const char *topic_rejected;
    const char *topic_tokens;
    const char *webhook_keys;
    long linger_ms;
    const char *compression;
    struct keyring keys; /* parsed from webhook_keys */
};

static const struct cfg_var ingest_vars[] = {
    CFG_COMMON_VARS(struct ingest_cfg, common, "9101"),
    {"HTTP_ADDR", CFG_STR, "127.0.0.1", "address the webhook server listens on",
     offsetof(struct ingest_cfg, http_addr), 0, 0},
    {"HTTP_PORT", CFG_INT, "8080", "webhook port", offsetof(struct ingest_cfg, http_port), 1,
     65535},
    {"MAX_BODY_BYTES", CFG_INT, "65536",
     "largest body accepted; larger gets 413 (with CONN_MEMORY_BYTES, bounded so that a refused "
     "body always fits on the rejected topic)",
     offsetof(struct ingest_cfg, max_body), 1024, 131072},
    {"CONN_LIMIT", CFG_INT, "4096", "concurrent connections at most",
     offsetof(struct ingest_cfg, conn_limit), 1, 1000000},
    {"MAX_CONNECTIONS_PER_IP", CFG_INT, "0",
     "concurrent connections from one client address (0: no limit; behind a proxy every "
     "connection comes from the proxy: limit there)",
     offsetof(struct ingest_cfg, per_ip_limit), 0, 1000000},
    {"CONN_MEMORY_BYTES", CFG_INT, "16384",
     "buffer pool per connection (request line and headers; the body is copied out)",
     offsetof(struct ingest_cfg, conn_memory), 4096, 1048576},
    {"CONN_TIMEOUT_S", CFG_INT, "10", "idle or slow client timeout",
     offsetof(struct ingest_cfg, conn_timeout_s), 1, 3600},
    {"DELIVERY_DEADLINE_MS", CFG_INT, "5000",
     "how long a webhook waits for Kafka before 503 (message.timeout.ms)",
     offsetof(struct ingest_cfg, deadline_ms), 100, 300000},
    {"RETRY_AFTER_S", CFG_INT, "5", "Retry-After of a 503",
     offsetof(struct ingest_cfg, retry_after_s), 1, 3600},
    {"DRAIN_MS", CFG_INT, "15000",
     "on SIGTERM, how long to wait for requests in flight (requests waiting for Kafka are "
     "always answered, within DELIVERY_DEADLINE_MS)",
     offsetof(struct ingest_cfg, drain_ms), 0, 600000},
    {"TOPIC_CALL_EVENTS", CFG_STR, "uis.call-events.v1", "normalised events topic",
     offsetof(struct ingest_cfg, topic_events), 0, 0},
    {"TOPIC_REJECTED", CFG_STR, "uis.call-events.rejected.v1", "refused bodies topic",
     offsetof(struct ingest_cfg, topic_rejected), 0, 0},
    {"TOPIC_TENANT_TOKENS", CFG_STR, "crm.tenant-tokens.v1",
     "compacted topic of each tenant's current token version",
     offsetof(struct ingest_cfg, topic_tokens), 0, 0},
    {"WEBHOOK_KEYS", CFG_SECRET, NULL, "token keys: kid:base64secret[,kid:base64secret...]",
     offsetof(struct ingest_cfg, webhook_keys), 0, 0},
    {"PRODUCER_LINGER_MS", CFG_INT, "1", "producer linger.ms: batching against latency",
     offsetof(struct ingest_cfg, linger_ms), 0, 1000},
    {"PRODUCER_COMPRESSION", CFG_STR, "lz4",
     "producer compression.type (none, gzip, snappy, lz4, zstd): CPU here and on the broker "
     "against bytes on the wire and on disk",
     offsetof(struct ingest_cfg, compression), 0, 0},
};
#define INGEST_NVARS (sizeof(ingest_vars) / sizeof(ingest_vars[0]))

static int ingest_check_cfg(void *c, char *err, size_t errlen)
{
    struct ingest_cfg *cfg = c;
    char why[256];

    if (wtoken_keyring_parse(cfg->webhook_keys, &cfg->keys, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "WEBHOOK_KEYS: %s", why);
        return -1;
    }
    /* Request headers live in the connection's pool, so it bounds them. */
    if (event_rejected_max_size((size_t)cfg->max_body, (size_t)cfg->conn_memory) >
        EVENT_RECORD_MAX) {
        snprintf(err, errlen,
                 "MAX_BODY_BYTES %ld with CONN_MEMORY_BYTES %ld: a refused body could exceed the "
                 "%d bytes a record on the rejected topic may have; lower them",
                 cfg->max_body, cfg->conn_memory, EVENT_RECORD_MAX);
        return -1;
    }
    return 0;
}

static const struct svc_spec ingest_spec = {
    "ingest",
    "usage: ingest            run the webhook service\n"
    "       ingest check [FILE]  parse a webhook body (stdin when no FILE) and print the\n"
    "                            normalised event, or the refusal (exit 1)",
    ingest_vars,
    INGEST_NVARS,
    offsetof(struct ingest_cfg, common),
    ingest_check_cfg};

/* Every handle of the running service; ingest_close releases what ingest_open made. */
struct ingest_state {
    rd_kafka_t *producer;
    struct token_feed *feed;
    struct metrics_registry *reg;
    struct metrics_family *queue_len;
    struct webhook_metrics wmx;
    struct token_map *tokens;
    struct svc_ops ops;
    struct webhook *wh;
};

static int ingest_ready(void *ctx, char *why, size_t whylen)
{
    struct ingest_state *st = ctx;

    if (!kafka_watch_up(st->ops.kafka)) {
        snprintf(why, whylen, "kafka unreachable");
        return 0;
    }
    if (!token_feed_ready(st->feed)) {
        snprintf(why, whylen, "tenant tokens not loaded yet");
        return 0;
    }
    return 1;
}

static int ingest_check(int argc, char **argv)
{
    FILE *in = stdin;
    int rc;

    if (argc > 2 && !(in = fopen(argv[2], "rb"))) {
        fprintf(stderr, "ingest check: cannot open %s\n", argv[2]);
        return 2;
    }
    rc = check_run(in, stdout);
    if (in != stdin)
        fclose(in);
    return rc;
}

/* Wait up to drain_ms for the requests in flight, and in any case until no connection is
 * suspended: each waiting request is answered by its delivery report or, at the latest, at its
 * delivery deadline, so the drain covers the deadline whatever DRAIN_MS says and libmicrohttpd
 * is never stopped with a request still waiting. */
static void ingest_drain(struct webhook *wh, long drain_ms)
{
    int64_t until = ids_mono_us() + (int64_t)drain_ms * 1000;

    webhook_quiesce(wh);
    while (webhook_in_flight(wh) > 0 && (ids_mono_us() < until || webhook_suspended(wh) > 0)) {
        if (webhook_run(wh, 20) < 0) {
            log_error("webhook server failed while draining", NULL);
            break;
        }
    }
    log_info("draining done", json_pack("{s:i}", "left_in_flight", webhook_in_flight(wh)));
}

/* The producer, the token feed, the Kafka watch, the ops server and the webhook server.
 * Returns 0, or -1 with the reason logged (ingest_close releases what was made). */
static int ingest_open(struct ingest_cfg *cfg, struct ingest_state *st)
{
    char err[512], timeout[24], linger[24];
    const struct kafka_kv extra[] = {{"message.timeout.ms", timeout},
                                     {"linger.ms", linger},
                                     {"compression.type", cfg->compression},
                                     {NULL, NULL}};
    const struct webhook_cfg wcfg = {
        .addr = cfg->http_addr,
        .port = (unsigned)cfg->http_port,
        .max_body = (size_t)cfg->max_body,
        .conn_limit = (unsigned)cfg->conn_limit,
        .per_ip_limit = (unsigned)cfg->per_ip_limit,
        .conn_timeout_s = (unsigned)cfg->conn_timeout_s,
        .conn_memory = (size_t)cfg->conn_memory,
        .retry_after_s = (unsigned)cfg->retry_after_s,
        .deadline_ms = cfg->deadline_ms,
        .topic_events = cfg->topic_events,
        .topic_rejected = cfg->topic_rejected,
    };

    snprintf(timeout, sizeof(timeout), "%ld",
             cfg->deadline_ms > 1000 ? cfg->deadline_ms - 500 : cfg->deadline_ms);
    snprintf(linger, sizeof(linger), "%ld", cfg->linger_ms);
    st->producer = kafka_producer_new(cfg->common.kafka_brokers, "ingest", extra, err, sizeof(err));
    st->reg = metrics_registry_new();
    st->tokens = token_map_new();
    if (!st->producer || !st->reg || !st->tokens || webhook_metrics_init(&st->wmx, st->reg) < 0) {
        svc_cannot_start(st->producer ? "out of memory" : err);
        return -1;
    }
    st->queue_len = metrics_gauge(st->reg, "ingest_kafka_queue_length",
                                  "Messages waiting in the producer.", NULL);
    st->feed = token_feed_start(cfg->common.kafka_brokers, cfg->topic_tokens, st->tokens, err,
                                sizeof(err));
    if (st->feed && svc_ops_start(&st->ops, &cfg->common, st->producer, st->reg, ingest_ready, st,
                                  err, sizeof(err)) == 0)
        st->wh =
            webhook_start(&wcfg, st->producer, &cfg->keys, st->tokens, &st->wmx, err, sizeof(err));
    if (!st->wh) {
        svc_cannot_start(err);
        return -1;
    }
    svc_listening(cfg->http_addr, cfg->http_port, cfg->common.ops_port);
    return 0;
}

/* The webhook server's loop, which also runs the delivery reports that resume suspended
 * requests; on a signal (0), a fatal producer error or a failed loop (1), the requests in
 * flight are drained. */
static int ingest_run(const struct ingest_cfg *cfg, struct ingest_state *st)
{
    int64_t next_gauge = 0;
    char err[512];

    while (!sig_stop_requested()) {
        if (webhook_run(st->wh, 20) < 0) {
            log_error("webhook server failed", NULL);
            break;
        }
        ops_http_heartbeat(st->ops.http);
        if (kafka_fatal(st->producer, err, sizeof(err))) {
            log_error("kafka producer failed", json_pack("{s:s}", "reason", err));
            break;
        }
        if (ids_mono_us() >= next_gauge) {
            metrics_set(st->queue_len, NULL, rd_kafka_outq_len(st->producer));
            next_gauge = ids_mono_us() + 1000000;
        }
    }
    log_info("stopping", json_pack("{s:i}", "in_flight", webhook_in_flight(st->wh)));
    ingest_drain(st->wh, cfg->drain_ms);
    return sig_stop_requested() ? 0 : 1;
}

static void ingest_close(struct ingest_state *st)
{
    webhook_stop(st->wh);
    svc_ops_stop(&st->ops); /* its readiness reads the watch and the feed */
    token_feed_stop(st->feed);
    svc_producer_close(st->producer, 10000);
    token_map_free(st->tokens);
    metrics_registry_free(st->reg);
    log_info("stopped", NULL);
}

int main(int argc, char **argv)
{
    struct ingest_cfg cfg;
    struct ingest_state st = {0};
    int rc;

    if (argc > 1 && strcmp(argv[1], "check") == 0)
        return ingest_check(argc, argv);
    rc = svc_init(&ingest_spec, argc, argv, &cfg, stdout, stderr);
    if (rc != SVC_RUN)
        return rc;
    rc = ingest_open(&cfg, &st) < 0 ? 1 : ingest_run(&cfg, &st);
    ingest_close(&st);
    return rc;
}
