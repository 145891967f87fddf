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
#include "pipeline.h"
#include "state_store.h"

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
    {"PG_DSN", CFG_SECRET, "host=127.0.0.1 port=15432 dbname=crm user=crm password=crm",
     "PostgreSQL connection string", offsetof(struct router_cfg, pg_dsn), 0, 0},
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

static const char router_usage[] =
    "usage: router    consume call events, apply the rules, produce actions and popups";

struct router_state {
    struct rt_pipeline *pipeline;
    struct kafka_watch *kafka;
};

static int router_ready(void *ctx, char *why, size_t whylen)
{
    struct router_state *st = ctx;

    if (!kafka_watch_up(st->kafka)) {
        snprintf(why, whylen, "kafka unreachable");
        return 0;
    }
    if (!rt_pipeline_ready(st->pipeline)) {
        snprintf(why, whylen, "postgresql unreachable or a batch is waiting for a retry");
        return 0;
    }
    return 1;
}

static void router_prune(struct pgc *pg, long retention_s)
{
    char err[512];
    PGconn *conn = pgc_get(pg, err, sizeof(err));
    long total = 0, n;

    if (!conn)
        return;
    /* In slices, so that no long transaction holds the table. */
    do {
        n = rt_store_prune(conn, retention_s, 5000, err, sizeof(err));
        if (n < 0) {
            pgc_check_failure(pg);
            log_warn("prune failed", json_pack("{s:s}", "reason", err));
            return;
        }
        total += n;
    } while (n == 5000 && !sig_stop_requested());
    if (total > 0)
        log_info("pruned old call state", json_pack("{s:i}", "rows", (int)total));
}

int main(int argc, char **argv)
{
    struct router_cfg cfg;
    struct router_state st = {0};
    struct rt_pipeline pipeline;
    struct pgc pg;
    struct mx_registry *reg = NULL;
    struct ops_http *ops = NULL;
    rd_kafka_t *consumer = NULL, *producer = NULL;
    const char *topics[2];
    char err[512], linger[16], source[160], client[128];
    enum log_level level;
    int64_t next_probe = 0, next_prune = 0, next_quiet = 0;
    int rc = 1, pipeline_up = 0;

    if (cfg_wants_help(argc, argv)) {
        cfg_help(stdout, router_usage, router_vars, ROUTER_NVARS);
        return 0;
    }
    if (cfg_load(router_vars, ROUTER_NVARS, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "router: %s\n", err);
        return 2;
    }
    if (log_level_parse(cfg.common.log_level, &level) < 0) {
        fprintf(stderr, "router: LOG_LEVEL: '%s' is not debug, info, warn or error\n",
                cfg.common.log_level);
        return 2;
    }
    log_init("router", level, NULL);
    log_info("starting", cfg_to_json(router_vars, ROUTER_NVARS, &cfg));
    sig_install();
    if (pgc_init(&pg, cfg.pg_dsn) < 0) {
        log_error("cannot start", json_pack("{s:s}", "reason", "out of memory"));
        return 1;
    }
    snprintf(linger, sizeof(linger), "%ld", cfg.linger_ms);
    snprintf(client, sizeof(client), "router%s%s", cfg.common.instance_id[0] ? "-" : "",
             cfg.common.instance_id);
    snprintf(source, sizeof(source), "/router%s%s", cfg.common.instance_id[0] ? "/" : "",
             cfg.common.instance_id);
    {
        const struct kafka_kv extra[] = {{"linger.ms", linger}, {NULL, NULL}};

        producer = kafka_producer_new(cfg.common.kafka_brokers, client, extra, err, sizeof(err));
    }
    topics[0] = cfg.topic_events;
    topics[1] = NULL;
    if (producer)
        consumer = kafka_consumer_new(cfg.common.kafka_brokers, cfg.group, cfg.common.instance_id,
                                      topics, NULL, err, sizeof(err));
    reg = mx_registry_new();
    if (!producer || !consumer || !reg) {
        log_error("cannot start", json_pack("{s:s}", "reason", reg ? err : "out of memory"));
        goto out;
    }
    {
        const struct rt_pipeline_cfg pcfg = {
            .topic_actions = cfg.topic_actions,
            .topic_popups = cfg.topic_popups,
            .topic_dlq = cfg.common.topic_dlq,
            .source = source,
            .batch_max = cfg.batch_max,
        };

        if (rt_pipeline_init(&pipeline, &pcfg, consumer, producer, &pg, reg, cfg.directory_ttl_ms) <
            0) {
            log_error("cannot start", json_pack("{s:s}", "reason", "metrics registration"));
            rt_pipeline_release(&pipeline);
            goto out;
        }
        pipeline_up = 1;
    }
    st.pipeline = &pipeline;
    /* Probed on its own thread: a broker that is away must not stall the consume loop. */
    st.kafka = kafka_watch_start(producer, 2000, err, sizeof(err));
    if (!st.kafka) {
        log_error("cannot start", json_pack("{s:s}", "reason", err));
        goto out;
    }
    ops = ops_http_start(cfg.common.ops_addr, (unsigned)cfg.common.ops_port, reg, router_ready, &st,
                         err, sizeof(err));
    if (!ops) {
        log_error("cannot start", json_pack("{s:s}", "reason", err));
        goto out;
    }
    if (!pgc_get(&pg, err, sizeof(err)))
        log_warn("postgresql not reachable yet", json_pack("{s:s}", "reason", err));
    next_prune = ids_mono_us() + 5000000;
    log_info("running", json_pack("{s:s, s:i}", "topic", cfg.topic_events, "ops_port",
                                  (int)cfg.common.ops_port));

    while (!sig_stop_requested()) {
        ops_http_heartbeat(ops);
        if (rt_pipeline_turn(&pipeline, 100) < 0)
            break;
        if (ids_mono_us() >= next_probe) {
            if (!pgc_ready(&pg))
                pgc_get(&pg, err, sizeof(err)); /* readiness follows PostgreSQL when idle */
            next_probe = ids_mono_us() + 2000000;
        }
        if (ids_mono_us() >= next_quiet) {
            rt_pipeline_quiet(&pipeline, 500);
            next_quiet = ids_mono_us() + (int64_t)cfg.quiet_sweep_s * 1000000;
        }
        if (ids_mono_us() >= next_prune) {
            router_prune(&pg, cfg.retention_s);
            next_prune = ids_mono_us() + (int64_t)cfg.prune_interval_s * 1000000;
        }
    }
    rc = sig_stop_requested() ? 0 : 1;
    log_info("stopping", NULL);
out:
    ops_http_stop(ops);
    kafka_watch_stop(st.kafka); /* after the ops server that reads it */
    if (pipeline_up)
        rt_pipeline_release(&pipeline);
    /* Commits the stored offsets (only those whose effects are durable) and leaves the group. */
    kafka_consumer_close(consumer);
    if (producer) {
        int left = kafka_producer_close(producer, 10000);

        if (left > 0)
            log_error("messages not delivered at exit", json_pack("{s:i}", "count", left));
    }
    mx_registry_free(reg);
    pgc_release(&pg);
    log_info("stopped", NULL);
    return rc;
}
