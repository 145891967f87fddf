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
#include "common/svc.h"

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

static const struct svc_spec crmw_spec = {
    "crm-writer",
    "crm-writer: applies crm.call-actions.v1 to PostgreSQL, emits crm.contacts.v1",
    crmw_vars,
    CRMW_NVARS,
    offsetof(struct crmw_cfg, common),
    NULL};

struct crmw_ready {
    struct pgconn *pg;
    const struct svc_ops *ops; /* its Kafka watch, set before the ops server starts */
    atomic_int schema_ok;
};

static int crmw_ready_fn(void *ctx, char *why, size_t whylen)
{
    struct crmw_ready *r = ctx;

    if (!atomic_load(&r->schema_ok)) {
        snprintf(why, whylen, "schema not checked yet");
        return 0;
    }
    if (!pgconn_ready(r->pg)) {
        snprintf(why, whylen, "postgresql unreachable");
        return 0;
    }
    if (!kafka_watch_up(r->ops->kafka)) {
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
static int crmw_check_schema(struct pgconn *pg, struct ops_http *ops, int needed)
{
    char err[512];
    int version = 0, warned = 0;
    PGconn *conn;

    while (!(conn = pgconn_get(pg, err, sizeof(err)))) {
        if (!warned++)
            log_warn("waiting for postgresql", json_pack("{s:s}", "reason", err));
        crmw_sleep_ms(ops, pgconn_wait_ms(pg) + 50);
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

/* Every handle of the running service; crmw_close releases what crmw_open made. */
struct crmw_state {
    struct crmw_ready ready; /* what /readyz reads */
    struct pgconn pg;
    int pg_up;
    struct metrics_registry *reg;
    struct svc_ops ops;
    rd_kafka_t *consumer, *producer;
    struct writer w;
};

/* PostgreSQL, the producer, the Kafka watch, the ops server; then, once the schema is recent
 * enough, the consumer. Returns -1 to run, else the exit status (reason logged). */
static int crmw_open(const struct crmw_cfg *cfg, struct crmw_state *st)
{
    static struct migration_set migrations;
    const char *const topics[] = {cfg->topic_actions, NULL};
    struct writer_cfg wcfg = {cfg->topic_actions, cfg->topic_contacts, cfg->common.topic_dlq,
                              cfg->batch_max, cfg->batch_wait_ms};
    char err[512];
    int rc;

    if (migrate_load_embedded(&migrations, err, sizeof(err)) < 0) {
        log_error("built-in migrations are broken", json_pack("{s:s}", "reason", err));
        return 1;
    }
    if (pgconn_init(&st->pg, cfg->pg_dsn) < 0) {
        svc_cannot_start("out of memory");
        return 1;
    }
    st->pg_up = 1;
    st->ready.pg = &st->pg;
    st->ready.ops = &st->ops;
    st->reg = metrics_registry_new();
    st->producer =
        kafka_producer_new(cfg->common.kafka_brokers, "crm-writer", NULL, err, sizeof(err));
    if (!st->reg || !st->producer ||
        svc_ops_start(&st->ops, &cfg->common, st->producer, st->reg, crmw_ready_fn, &st->ready, err,
                      sizeof(err)) < 0) {
        svc_cannot_start(st->reg ? err : "out of memory");
        return 1;
    }
    rc = crmw_check_schema(&st->pg, st->ops.http, migrate_newest(&migrations));
    if (rc != 0)
        return rc == 2 ? 0 : 1;
    atomic_store(&st->ready.schema_ok, 1);
    st->consumer = kafka_consumer_new(cfg->common.kafka_brokers, cfg->group,
                                      cfg->common.instance_id, topics, NULL, err, sizeof(err));
    if (!st->consumer) {
        svc_cannot_start(err);
        return 1;
    }
    writer_init(&st->w, &wcfg, st->consumer, st->producer, &st->pg, st->reg);
    return -1;
}

/* Apply batches until a signal (0) or a fatal producer error (1). */
static int crmw_run(const struct crmw_cfg *cfg, struct crmw_state *st)
{
    char err[512];

    log_info("consuming",
             json_pack("{s:s, s:s}", "topic", cfg->topic_actions, "group", cfg->group));
    while (!sig_stop_requested()) {
        long wait;

        ops_http_heartbeat(st->ops.http);
        if (kafka_fatal(st->producer, err, sizeof(err))) {
            log_error("stopping", json_pack("{s:s}", "reason", err));
            break;
        }
        wait = writer_step(&st->w);
        if (wait < 0)
            break; /* writer_step logged why: stop, the offset stays */
        if (wait > 0)
            crmw_sleep_ms(st->ops.http, wait);
    }
    log_info("stopping: committing stored offsets", NULL);
    return sig_stop_requested() ? 0 : 1;
}

static void crmw_close(struct crmw_state *st)
{
    /* The ops server reads the watch, the watch the producer: stop them in that order. */
    svc_ops_stop(&st->ops);
    kafka_consumer_close(st->consumer);
    svc_producer_close(st->producer, 10000);
    metrics_registry_free(st->reg);
    if (st->pg_up)
        pgconn_release(&st->pg);
}

int main(int argc, char **argv)
{
    static struct crmw_state st;
    struct crmw_cfg cfg;
    int rc = svc_init(&crmw_spec, argc, argv, &cfg, stdout, stderr);

    if (rc != SVC_RUN)
        return rc;
    rc = crmw_open(&cfg, &st);
    if (rc < 0)
        rc = crmw_run(&cfg, &st);
    crmw_close(&st);
    log_info("stopped", json_pack("{s:i}", "exit", rc));
    return rc;
}
