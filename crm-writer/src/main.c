/* crm-writer: applies crm.call-actions.v1 to the CRM store (PostgreSQL). */
#include "migrate.h"
#include "migrate_db.h"
#include "writer.h"

#include "common/cfg.h"
#include "common/kafka.h"
#include "common/kafka_watch.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops_http.h"
#include "common/pgconn.h"
#include "common/sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct crmw_cfg {
    struct common_cfg common;
    const char *pg_dsn;
    const char *topic_actions;
    const char *topic_contacts;
    const char *group;
    long batch_max;
    long batch_wait_ms;
};

static const struct cfg_var crmw_vars[] = {
    CFG_COMMON_VARS(struct crmw_cfg, common, "9103"),
    {"PG_DSN", CFG_SECRET, NULL, "PostgreSQL connection string (libpq)",
     offsetof(struct crmw_cfg, pg_dsn), 0, 0},
    {"TOPIC_ACTIONS", CFG_STR, "crm.call-actions.v1", "topic of the router's actions",
     offsetof(struct crmw_cfg, topic_actions), 0, 0},
    {"TOPIC_CONTACTS", CFG_STR, "crm.contacts.v1",
     "topic of the contact events this service emits; empty: none",
     offsetof(struct crmw_cfg, topic_contacts), 0, 0},
    {"CONSUMER_GROUP", CFG_STR, "crm-writer", "Kafka consumer group",
     offsetof(struct crmw_cfg, group), 0, 0},
    {"BATCH_MAX", CFG_INT, "500", "most actions applied in one transaction",
     offsetof(struct crmw_cfg, batch_max), 1, 10000},
    {"BATCH_WAIT_MS", CFG_INT, "50", "longest wait to fill a batch after its first action",
     offsetof(struct crmw_cfg, batch_wait_ms), 0, 10000},
};
#define CRMW_NVARS (sizeof(crmw_vars) / sizeof(crmw_vars[0]))

struct crmw_ready {
    struct pgc *pg;
    struct kafka_watch *kafka;
    atomic_int schema_ok;
};

static int crmw_ready_fn(void *ctx, char *why, size_t whylen)
{
    struct crmw_ready *r = ctx;

    if (!atomic_load(&r->schema_ok)) {
        snprintf(why, whylen, "schema not checked yet");
        return 0;
    }
    if (!pgc_ready(r->pg)) {
        snprintf(why, whylen, "postgresql unreachable");
        return 0;
    }
    if (!kafka_watch_up(r->kafka)) {
        snprintf(why, whylen, "kafka unreachable");
        return 0;
    }
    return 1;
}

static void crmw_sleep_ms(struct ops_http *ops, long ms)
{
    while (ms > 0 && !sig_stop_requested()) {
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = {0, step * 1000000L};

        nanosleep(&ts, NULL);
        ops_http_heartbeat(ops);
        ms -= step;
    }
}

/* Wait for PostgreSQL, then refuse a schema older than the migrations built in. Returns 0 to
 * go on, 1 to exit with an error, 2 when stopped meanwhile. */
static int crmw_check_schema(struct pgc *pg, struct ops_http *ops, int needed)
{
    char err[512];
    int version = 0, warned = 0;
    PGconn *conn;

    while (!(conn = pgc_get(pg, err, sizeof(err)))) {
        if (!warned++)
            log_warn("waiting for postgresql", json_pack("{s:s}", "reason", err));
        crmw_sleep_ms(ops, pgc_wait_ms(pg) + 50);
        if (sig_stop_requested())
            return 2;
    }
    if (migrate_db_version(conn, &version, err, sizeof(err)) < 0) {
        log_error("cannot read the schema version", json_pack("{s:s}", "reason", err));
        return 1;
    }
    if (version < needed) {
        snprintf(err, sizeof(err),
                 "schema at version %d, this crm-writer needs %d: run crmctl migrate", version,
                 needed);
        log_error(err, json_pack("{s:i, s:i}", "schema_version", version, "needed", needed));
        return 1;
    }
    log_info("schema checked",
             json_pack("{s:i, s:i}", "schema_version", version, "needed", needed));
    return 0;
}

int main(int argc, char **argv)
{
    static struct migration_set migrations;
    struct crmw_cfg cfg;
    struct crmw_ready ready = {0};
    struct mx_registry *reg = NULL;
    struct ops_http *ops = NULL;
    rd_kafka_t *consumer = NULL, *producer = NULL;
    struct pgc pg;
    struct writer w;
    struct writer_cfg wcfg;
    enum log_level level;
    char err[512];
    int rc = 1;

    if (cfg_wants_help(argc, argv)) {
        cfg_help(stdout,
                 "crm-writer: applies crm.call-actions.v1 to PostgreSQL, emits crm.contacts.v1",
                 crmw_vars, CRMW_NVARS);
        return 0;
    }
    if (cfg_load(crmw_vars, CRMW_NVARS, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "crm-writer: %s\n", err);
        return 2;
    }
    if (log_level_parse(cfg.common.log_level, &level) < 0) {
        fprintf(stderr, "crm-writer: LOG_LEVEL: '%s' is not debug, info, warn or error\n",
                cfg.common.log_level);
        return 2;
    }
    log_init("crm-writer", level, NULL);
    log_info("starting", cfg_to_json(crmw_vars, CRMW_NVARS, &cfg));
    if (migrate_load_embedded(&migrations, err, sizeof(err)) < 0) {
        log_error("built-in migrations are broken", json_pack("{s:s}", "reason", err));
        return 1;
    }
    if (sig_install() < 0 || pgc_init(&pg, cfg.pg_dsn) < 0)
        return 1;
    reg = mx_registry_new();
    producer = kafka_producer_new(cfg.common.kafka_brokers, "crm-writer", NULL, err, sizeof(err));
    if (!reg || !producer) {
        log_error("start failed", json_pack("{s:s}", "reason", err));
        goto out;
    }
    ready.pg = &pg;
    /* Probed on its own thread, not on the ops server's at every /readyz. */
    ready.kafka = kafka_watch_start(producer, 2000, err, sizeof(err));
    if (!ready.kafka) {
        log_error("start failed", json_pack("{s:s}", "reason", err));
        goto out;
    }
    ops = ops_http_start(cfg.common.ops_addr, (unsigned)cfg.common.ops_port, reg, crmw_ready_fn,
                         &ready, err, sizeof(err));
    if (!ops) {
        log_error("ops server failed", json_pack("{s:s}", "reason", err));
        goto out;
    }
    rc = crmw_check_schema(&pg, ops, migrate_newest(&migrations));
    if (rc != 0) {
        rc = rc == 2 ? 0 : 1;
        goto out;
    }
    atomic_store(&ready.schema_ok, 1);
    consumer =
        kafka_consumer_new(cfg.common.kafka_brokers, cfg.group, cfg.common.instance_id,
                           (const char *const[]){cfg.topic_actions, NULL}, NULL, err, sizeof(err));
    if (!consumer) {
        log_error("consumer failed", json_pack("{s:s}", "reason", err));
        rc = 1;
        goto out;
    }
    wcfg = (struct writer_cfg){cfg.topic_actions, cfg.topic_contacts, cfg.common.topic_dlq,
                               cfg.batch_max, cfg.batch_wait_ms};
    writer_init(&w, &wcfg, consumer, producer, &pg, reg);
    log_info("consuming", json_pack("{s:s, s:s}", "topic", cfg.topic_actions, "group", cfg.group));
    while (!sig_stop_requested()) {
        long wait;

        ops_http_heartbeat(ops);
        if (kafka_fatal(producer, err, sizeof(err))) {
            log_error("stopping", json_pack("{s:s}", "reason", err));
            rc = 1;
            break;
        }
        wait = writer_step(&w);
        if (wait > 0)
            crmw_sleep_ms(ops, wait);
    }
    if (sig_stop_requested())
        rc = 0;
    log_info("stopping: committing stored offsets", NULL);
out:
    /* The ops server reads the watch, the watch the producer: stop them in that order. */
    ops_http_stop(ops);
    kafka_watch_stop(ready.kafka);
    kafka_consumer_close(consumer);
    if (producer && kafka_producer_close(producer, 10000) > 0)
        log_error("messages left undelivered at exit", NULL);
    mx_registry_free(reg);
    pgc_release(&pg);
    log_info("stopped", json_pack("{s:i}", "exit", rc));
    return rc;
}
