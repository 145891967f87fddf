/* router: uis.call-events.v1 -> crm.call-actions.v1 + crm.popups.v1 by the rules of SPEC §4.
 * Wiring only: configuration, Kafka and PostgreSQL handles, the ops server, the loop that turns
 * the pipeline, and the periodic pruning of old per-call state. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/cfg.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/kafka_watch.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops_http.h"
#include "common/pgconn.h"
#include "common/sig.h"
#include "common/svc.h"
#include "pipeline.h"
#include "store.h"

struct router_cfg {
    struct common_cfg common;
    const char *pg_dsn;
    const char *topic_events;
    const char *topic_actions;
    const char *topic_popups;
    const char *group;
    long batch_max;
    long directory_ttl_ms;
    long retention_s;
    long prune_interval_s;
    long quiet_sweep_s;
    long linger_ms;
};

static const struct cfg_var router_vars[] = {
    CFG_COMMON_VARS(struct router_cfg, common, "9102"),
    {"PG_DSN", CFG_SECRET, NULL, "PostgreSQL connection string",
     offsetof(struct router_cfg, pg_dsn), 0, 0},
    {"TOPIC_CALL_EVENTS", CFG_STR, "uis.call-events.v1", "input: normalised call events",
     offsetof(struct router_cfg, topic_events), 0, 0},
    {"TOPIC_ACTIONS", CFG_STR, "crm.call-actions.v1", "output: the writer's actions",
     offsetof(struct router_cfg, topic_actions), 0, 0},
    {"TOPIC_POPUPS", CFG_STR, "crm.popups.v1", "output: popup messages per user",
     offsetof(struct router_cfg, topic_popups), 0, 0},
    {"CONSUMER_GROUP", CFG_STR, "router", "Kafka consumer group",
     offsetof(struct router_cfg, group), 0, 0},
    {"BATCH_MAX", CFG_INT, "500", "events at most per batch (one transaction per batch)",
     offsetof(struct router_cfg, batch_max), 1, 100000},
    {"DIRECTORY_TTL_MS", CFG_INT, "5000",
     "how long tenant settings are used before settings_version is checked again",
     offsetof(struct router_cfg, directory_ttl_ms), 0, 3600000},
    {"RETENTION_S", CFG_INT, "604800", "per-call state older than this is pruned (7 days)",
     offsetof(struct router_cfg, retention_s), 60, 315360000},
    {"PRUNE_INTERVAL_S", CFG_INT, "600", "how often old per-call state is pruned",
     offsetof(struct router_cfg, prune_interval_s), 1, 86400},
    {"QUIET_SWEEP_S", CFG_INT, "10",
     "how often calls silent for their tenant's quiet_period_s get their popups closed",
     offsetof(struct router_cfg, quiet_sweep_s), 1, 3600},
    {"PRODUCER_LINGER_MS", CFG_INT, "0", "producer linger.ms (latency against batching)",
     offsetof(struct router_cfg, linger_ms), 0, 1000},
};
#define ROUTER_NVARS (sizeof(router_vars) / sizeof(router_vars[0]))

static const struct svc_spec router_spec = {
    "router",
    "usage: router    consume call events, apply the rules, produce actions and popups",
    router_vars,
    ROUTER_NVARS,
    offsetof(struct router_cfg, common),
    NULL};

/* Every handle of the running service; router_close releases what router_open made. */
struct router_state {
    struct rt_pipeline pipeline;
    int pipeline_up;
    struct pgconn pg;
    int pg_up;
    struct metrics_registry *reg;
    struct svc_ops ops;
    rd_kafka_t *consumer, *producer;
    char source[160];
};

static int router_ready(void *ctx, char *why, size_t whylen)
{
    struct router_state *st = ctx;

    if (!kafka_watch_up(st->ops.kafka)) {
        snprintf(why, whylen, "kafka unreachable");
        return 0;
    }
    if (!rt_pipeline_ready(&st->pipeline)) {
        snprintf(why, whylen, "postgresql unreachable or a batch is waiting for a retry");
        return 0;
    }
    return 1;
}

static void router_prune(struct pgconn *pg, long retention_s)
{
    char err[512];
    PGconn *conn = pgconn_get(pg, err, sizeof(err));
    long total = 0, n;

    if (!conn)
        return;
    /* In slices, so that no long transaction holds the table. */
    do {
        n = rt_store_prune(conn, retention_s, 5000, err, sizeof(err));
        if (n < 0) {
            pgconn_check_failure(pg);
            log_warn("prune failed", json_pack("{s:s}", "reason", err));
            return;
        }
        total += n;
    } while (n == 5000 && !sig_stop_requested());
    if (total > 0)
        log_info("pruned old call state", json_pack("{s:i}", "rows", (int)total));
}

/* Kafka, PostgreSQL, the pipeline, the Kafka watch and the ops server. Returns 0, or -1 with
 * the reason logged (router_close releases what was made). */
static int router_open(const struct router_cfg *cfg, struct router_state *st)
{
    const char *topics[] = {cfg->topic_events, NULL};
    char err[512], linger[16], client[128];
    const struct kafka_kv extra[] = {{"linger.ms", linger}, {NULL, NULL}};

    if (pgconn_init(&st->pg, cfg->pg_dsn) < 0) {
        svc_cannot_start("out of memory");
        return -1;
    }
    st->pg_up = 1;
    snprintf(linger, sizeof(linger), "%ld", cfg->linger_ms);
    svc_instance_name("router", "-", cfg->common.instance_id, client, sizeof(client));
    svc_instance_name("/router", "/", cfg->common.instance_id, st->source, sizeof(st->source));
    st->producer = kafka_producer_new(cfg->common.kafka_brokers, client, extra, err, sizeof(err));
    if (st->producer)
        st->consumer = kafka_consumer_new(cfg->common.kafka_brokers, cfg->group,
                                          cfg->common.instance_id, topics, NULL, err, sizeof(err));
    st->reg = metrics_registry_new();
    if (!st->producer || !st->consumer || !st->reg) {
        svc_cannot_start(st->reg ? err : "out of memory");
        return -1;
    }
    {
        const struct rt_pipeline_cfg pcfg = {
            .topic_actions = cfg->topic_actions,
            .topic_popups = cfg->topic_popups,
            .topic_dlq = cfg->common.topic_dlq,
            .source = st->source,
            .batch_max = cfg->batch_max,
        };

        if (rt_pipeline_init(&st->pipeline, &pcfg, st->consumer, st->producer, &st->pg, st->reg,
                             cfg->directory_ttl_ms) < 0) {
            svc_cannot_start("metrics registration");
            rt_pipeline_release(&st->pipeline);
            return -1;
        }
        st->pipeline_up = 1;
    }
    if (svc_ops_start(&st->ops, &cfg->common, st->producer, st->reg, router_ready, st, err,
                      sizeof(err)) < 0) {
        svc_cannot_start(err);
        return -1;
    }
    if (!pgconn_get(&st->pg, err, sizeof(err)))
        log_warn("postgresql not reachable yet", json_pack("{s:s}", "reason", err));
    return 0;
}

/* Turn the pipeline until a signal (0) or a Kafka failure (1). */
static int router_run(const struct router_cfg *cfg, struct router_state *st)
{
    int64_t next_probe = 0, next_quiet = 0, next_prune = ids_mono_us() + 5000000;
    char err[512];

    log_info("running", json_pack("{s:s, s:i}", "topic", cfg->topic_events, "ops_port",
                                  (int)cfg->common.ops_port));
    while (!sig_stop_requested()) {
        ops_http_heartbeat(st->ops.http);
        if (rt_pipeline_turn(&st->pipeline, 100) < 0)
            break;
        if (ids_mono_us() >= next_probe) {
            if (!pgconn_ready(&st->pg))
                pgconn_get(&st->pg, err, sizeof(err)); /* readiness follows PostgreSQL when idle */
            next_probe = ids_mono_us() + 2000000;
        }
        if (ids_mono_us() >= next_quiet) {
            rt_pipeline_quiet(&st->pipeline, 500);
            next_quiet = ids_mono_us() + (int64_t)cfg->quiet_sweep_s * 1000000;
        }
        if (ids_mono_us() >= next_prune) {
            router_prune(&st->pg, cfg->retention_s);
            next_prune = ids_mono_us() + (int64_t)cfg->prune_interval_s * 1000000;
        }
    }
    log_info("stopping", NULL);
    return sig_stop_requested() ? 0 : 1;
}

static void router_close(struct router_state *st)
{
    svc_ops_stop(&st->ops);
    if (st->pipeline_up)
        rt_pipeline_release(&st->pipeline);
    /* Commits the stored offsets (only those whose effects are durable) and leaves the group. */
    kafka_consumer_close(st->consumer);
    svc_producer_close(st->producer, 10000);
    metrics_registry_free(st->reg);
    if (st->pg_up)
        pgconn_release(&st->pg);
    log_info("stopped", NULL);
}

int main(int argc, char **argv)
{
    struct router_cfg cfg;
    struct router_state st = {0};
    int rc = svc_init(&router_spec, argc, argv, &cfg, stdout, stderr);

    if (rc != SVC_RUN)
        return rc;
    rc = router_open(&cfg, &st) < 0 ? 1 : router_run(&cfg, &st);
    router_close(&st);
    return rc;
}
