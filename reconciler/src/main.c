/* reconciler: UIS's calls report -> the normalised events the webhooks missed, onto
 * uis.call-events.v1 (issue 17). Wiring only: configuration, the UIS client, Kafka and PostgreSQL
 * handles, the ops server and the loop that lets every tenant with a key take its steps. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/kafka_watch.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops_http.h"
#include "common/pgconn.h"
#include "common/sig.h"
#include "common/uis_api.h"
#include "dialer.h"
#include "pass.h"
#include "readiness.h"
#include "store.h"

struct rec_cfg {
    struct common_cfg common;
    const char *pg_dsn;
    const char *topic_events;
    const char *data_url;
    const char *call_url;
    long timeout_ms;
    long interval_s;
    long window_s;
    long settle_s;
    long page_limit;
    long minute_share;
    long day_share;
    long employees_sync_s;
    long stop_retry_s;
    const char *only_tenants;
    const char *topic_requests;
    const char *topic_popups;
    const char *topic_dlq;
    const char *dialer_group;
    long dial_max_age_s;
    const char *topic_ready;
    long ready_s;
};

static const struct cfg_var rec_vars[] = {
    CFG_COMMON_VARS(struct rec_cfg, common, "9105"),
    {"PG_DSN", CFG_SECRET, "host=127.0.0.1 port=15432 dbname=crm user=crm password=crm",
     "PostgreSQL connection string", offsetof(struct rec_cfg, pg_dsn), 0, 0},
    {"TOPIC_CALL_EVENTS", CFG_STR, "uis.call-events.v1", "output: normalised call events",
     offsetof(struct rec_cfg, topic_events), 0, 0},
    {"UIS_DATA_API_URL", CFG_STR, "https://dataapi.uiscom.ru/v2.0", "UIS Data API endpoint",
     offsetof(struct rec_cfg, data_url), 0, 0},
    {"UIS_CALL_API_URL", CFG_STR, "https://callapi.uiscom.ru/v4.0", "UIS Call API endpoint",
     offsetof(struct rec_cfg, call_url), 0, 0},
    {"UIS_API_TIMEOUT_MS", CFG_INT, "30000", "bound of one UIS API call",
     offsetof(struct rec_cfg, timeout_ms), 100, 600000},
    {"RECONCILE_INTERVAL_S", CFG_INT, "60", "between two passes over a tenant's report",
     offsetof(struct rec_cfg, interval_s), 1, 86400},
    {"RECONCILE_WINDOW_S", CFG_INT, "7200",
     "how far before the last pass's end a pass reads again (overlap)",
     offsetof(struct rec_cfg, window_s), 60, 7776000},
    {"RECONCILE_SETTLE_S", CFG_INT, "120",
     "calls that started later than this before now wait for the next pass (webhooks in flight)",
     offsetof(struct rec_cfg, settle_s), 0, 86400},
    {"RECONCILE_PAGE_LIMIT", CFG_INT, "10000",
     "rows per get.calls_report and get.employees page (UIS: <= 10,000)",
     offsetof(struct rec_cfg, page_limit), 1, 10000},
    {"RECONCILE_MINUTE_SHARE_PCT", CFG_INT, "50",
     "share of the account's per-minute UIS points the reconciler may use",
     offsetof(struct rec_cfg, minute_share), 1, 100},
    {"RECONCILE_DAY_SHARE_PCT", CFG_INT, "50",
     "share of the account's per-day UIS points the reconciler may use",
     offsetof(struct rec_cfg, day_share), 1, 100},
    {"EMPLOYEES_SYNC_S", CFG_INT, "600", "how often UIS's employees (extensions) are re-read",
     offsetof(struct rec_cfg, employees_sync_s), 10, 86400},
    {"STOP_RETRY_S", CFG_INT, "1800",
     "how often a tenant whose key UIS refused is tried again (a new key resumes at once)",
     offsetof(struct rec_cfg, stop_retry_s), 5, 604800},
    {"RECONCILE_TENANTS", CFG_STR, "",
     "comma-separated tenant ids to reconcile; empty: every tenant with a UIS key",
     offsetof(struct rec_cfg, only_tenants), 0, 0},
    {"TOPIC_CALL_REQUESTS", CFG_STR, "crm.call-requests.v1",
     "click-to-call requests the dialer consumes (empty: no dialer in this process)",
     offsetof(struct rec_cfg, topic_requests), 0, 0},
    {"TOPIC_POPUPS", CFG_STR, "crm.popups.v1", "where the dialer sends each request's outcome",
     offsetof(struct rec_cfg, topic_popups), 0, 0},
    {"TOPIC_DLQ", CFG_STR, "pipeline.dead-letter.v1", "call requests that break the contract",
     offsetof(struct rec_cfg, topic_dlq), 0, 0},
    {"DIALER_GROUP", CFG_STR, "dialer", "consumer group of the dialer",
     offsetof(struct rec_cfg, dialer_group), 0, 0},
    {"DIAL_MAX_AGE_S", CFG_INT, "60",
     "a call request older than this is not dialled (the manager has stopped waiting)",
     offsetof(struct rec_cfg, dial_max_age_s), 5, 3600},
    {"TOPIC_DIAL_READINESS", CFG_STR, "crm.dial-readiness.v1",
     "compacted topic of tenants' UIS keys and users' UIS links for the notifier (empty: none)",
     offsetof(struct rec_cfg, topic_ready), 0, 0},
    {"DIAL_READINESS_S", CFG_INT, "600",
     "how often every tenant's dial readiness is republished (also at start)",
     offsetof(struct rec_cfg, ready_s), 10, 86400},
};
#define REC_NVARS (sizeof(rec_vars) / sizeof(rec_vars[0]))

static const char rec_usage[] =
    "usage: reconciler    read UIS's calls report per tenant with a key and produce the call\n"
    "                     events the webhooks missed";

struct rec_state {
    struct kafka_watch *kafka;
    struct pgconn *pg;
    struct dialer *dialer;
};

static int rec_ready(void *ctx, char *why, size_t whylen)
{
    struct rec_state *st = ctx;

    if (!kafka_watch_up(st->kafka)) {
        snprintf(why, whylen, "kafka unreachable");
        return 0;
    }
    if (!pgconn_ready(st->pg)) {
        snprintf(why, whylen, "postgresql unreachable");
        return 0;
    }
    if (!dialer_ready(st->dialer)) {
        snprintf(why, whylen, "the dialer cannot reach postgresql");
        return 0;
    }
    return 1;
}

/* The memory of tenant id, made on first sight. Returns NULL on allocation failure. */
static struct pass_memory *rec_memory(struct pass_memory **mems, size_t *n, const char *id)
{
    struct pass_memory *grown;

    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*mems)[i].tenant, id) == 0)
            return &(*mems)[i];
    }
    grown = realloc(*mems, (*n + 1) * sizeof(**mems));
    if (!grown)
        return NULL;
    *mems = grown;
    memset(&grown[*n], 0, sizeof(grown[*n]));
    snprintf(grown[*n].tenant, sizeof(grown[*n].tenant), "%s", id);
    return &grown[(*n)++];
}

static void rec_nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* 1 when id is in the comma-separated list (an empty list holds every id). */
static int rec_listed(const char *list, const char *id)
{
    size_t n = strlen(id);

    if (!list[0])
        return 1;
    for (const char *p = list; p; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (strncmp(p, id, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return 1;
    }
    return 0;
}

/* Republish every tenant's dial readiness when due; *next_us moves on only after a complete
 * round (a failed one is tried again in 5 s). */
static void rec_readiness(const struct readiness_cfg *rc, struct pgconn *pg, rd_kafka_t *producer,
                          long every_s, int64_t *next_us)
{
    char err[512];
    PGconn *conn;
    long n;

    if (!rc->topic[0] || ids_mono_us() < *next_us)
        return;
    conn = pgconn_get(pg, err, sizeof(err));
    n = conn ? readiness_round(rc, conn, producer, err, sizeof(err)) : -1;
    if (n < 0) {
        if (conn)
            pgconn_check_failure(pg);
        log_warn("dial readiness not republished", json_pack("{s:s}", "reason", err));
        *next_us = ids_mono_us() + 5000000;
        return;
    }
    log_info("dial readiness republished", json_pack("{s:I}", "records", (json_int_t)n));
    *next_us = ids_mono_us() + (int64_t)every_s * 1000000;
}

/* One round: every tenant takes at most one step. Returns 1 when any worked. */
static int rec_round(struct pass_ctx *ctx, const char *only, struct pass_memory **mems,
                     size_t *nmems)
{
    struct store_tenant *tenants = NULL;
    size_t n = 0;
    char err[512];
    PGconn *conn = pgconn_get(ctx->pg, err, sizeof(err));
    int worked = 0;

    if (!conn)
        return 0;
    if (store_tenants(conn, &tenants, &n, err, sizeof(err)) < 0) {
        pgconn_check_failure(ctx->pg);
        log_warn("cannot list tenants", json_pack("{s:s}", "reason", err));
        return 0;
    }
    for (size_t i = 0; i < n && !sig_stop_requested(); i++) {
        struct pass_memory *m;
        int claim;

        if (!rec_listed(only, tenants[i].id))
            continue;
        /* A step may have dropped a broken connection: take the current one. */
        conn = pgconn_get(ctx->pg, err, sizeof(err));
        if (!conn)
            break;
        /* Several replicas: each tenant is worked by the one holding its lock. */
        claim = store_claim(conn, tenants[i].id, err, sizeof(err));
        if (claim < 0) {
            pgconn_check_failure(ctx->pg);
            break;
        }
        m = claim ? rec_memory(mems, nmems, tenants[i].id) : NULL;
        if (m && pass_step(ctx, &tenants[i], m) == PASS_WORKED)
            worked = 1;
    }
    /* The keys leave memory with the round. */
    memset(tenants, 0, n * sizeof(*tenants));
    free(tenants);
    return worked;
}

int main(int argc, char **argv)
{
    struct rec_cfg cfg;
    struct rec_state st = {0};
    struct pass_cfg pcfg;
    struct pass_ctx ctx = {0};
    struct pass_memory *mems = NULL;
    size_t nmems = 0;
    struct pgconn pg;
    struct metrics_registry *reg = NULL;
    struct ops_http *ops = NULL;
    rd_kafka_t *producer = NULL;
    struct readiness_cfg rcfg;
    int64_t ready_next_us = 0;
    char err[512], source[160], client[128];
    enum log_level level;
    int rc = 1;

    if (cfg_wants_help(argc, argv)) {
        cfg_help(stdout, rec_usage, rec_vars, REC_NVARS);
        return 0;
    }
    if (cfg_load(rec_vars, REC_NVARS, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "reconciler: %s\n", err);
        return 2;
    }
    if (log_level_parse(cfg.common.log_level, &level) < 0) {
        fprintf(stderr, "reconciler: LOG_LEVEL: '%s' is not debug, info, warn or error\n",
                cfg.common.log_level);
        return 2;
    }
    log_init("reconciler", level, NULL);
    log_info("starting", cfg_to_json(rec_vars, REC_NVARS, &cfg));
    sig_install();
    if (uis_api_global_init() < 0 || pgconn_init(&pg, cfg.pg_dsn) < 0) {
        log_error("cannot start", json_pack("{s:s}", "reason", "libcurl or memory"));
        return 1;
    }
    snprintf(client, sizeof(client), "reconciler%s%s", cfg.common.instance_id[0] ? "-" : "",
             cfg.common.instance_id);
    snprintf(source, sizeof(source), "/reconciler%s%s", cfg.common.instance_id[0] ? "/" : "",
             cfg.common.instance_id);
    producer = kafka_producer_new(cfg.common.kafka_brokers, client, NULL, err, sizeof(err));
    reg = metrics_registry_new();
    ctx.uis = producer
                  ? uis_api_client_new(cfg.data_url, cfg.call_url, cfg.timeout_ms, err, sizeof(err))
                  : NULL;
    if (!producer || !reg || !ctx.uis) {
        log_error("cannot start", json_pack("{s:s}", "reason", reg ? err : "out of memory"));
        goto out;
    }
    memset(&pcfg, 0, sizeof(pcfg));
    pcfg.topic = cfg.topic_events;
    pcfg.source = source;
    pcfg.window.lookback_us = (int64_t)cfg.window_s * 1000000;
    pcfg.window.settle_us = (int64_t)cfg.settle_s * 1000000;
    pcfg.window.max_span_us = WINDOW_MAX_SPAN_US;
    pcfg.page_limit = cfg.page_limit;
    pcfg.minute_share_pct = (int)cfg.minute_share;
    pcfg.day_share_pct = (int)cfg.day_share;
    pcfg.interval_s = cfg.interval_s;
    pcfg.employees_sync_s = cfg.employees_sync_s;
    pcfg.stop_retry_s = cfg.stop_retry_s;
    pcfg.produce_timeout_ms = 30000;
    pcfg.ready_topic = cfg.topic_ready;
    /* Only a process that dials resolves: without a dialer, requests are another's business. */
    pcfg.resolve =
        (struct dial_resolve_cfg){cfg.topic_requests[0] ? cfg.topic_popups : "", source, 30000};
    rcfg = (struct readiness_cfg){cfg.topic_ready, source, 30000, rec_listed, cfg.only_tenants};
    ctx.cfg = &pcfg;
    ctx.pg = &pg;
    ctx.producer = producer;
    ctx.mx.uis_calls = metrics_counter(reg, "reconciler_uis_calls_total",
                                       "UIS API calls by method and outcome (ok: one point spent)",
                                       "method,result");
    ctx.mx.events = metrics_counter(reg, "reconciler_events_total",
                                    "events produced for what the webhooks missed", "state");
    ctx.mx.calls =
        metrics_counter(reg, "reconciler_calls_total",
                        "report rows compared: complete, filled, ongoing, unreadable", "outcome");
    ctx.mx.passes = metrics_counter(reg, "reconciler_passes_total", "complete passes", NULL);
    ctx.mx.stopped =
        metrics_gauge(reg, "reconciler_tenant_stopped",
                      "1 while UIS refuses the tenant's key, account or address", "tenant");
    ctx.mx.backoffs = metrics_counter(reg, "reconciler_backoffs_total",
                                      "waits: limit_exceeded, budget, retry ...", "reason");
    ctx.mx.conflicts =
        metrics_counter(reg, "reconciler_extension_conflicts_total",
                        "UIS extensions mapped to another CRM user (left alone)", NULL);
    st.pg = &pg;
    if (cfg.topic_requests[0]) {
        const struct dialer_cfg dcfg = {
            .brokers = cfg.common.kafka_brokers,
            .group = cfg.dialer_group,
            .instance_id = cfg.common.instance_id,
            .topic_requests = cfg.topic_requests,
            .topic_popups = cfg.topic_popups,
            .topic_dlq = cfg.topic_dlq,
            .pg_dsn = cfg.pg_dsn,
            .data_url = cfg.data_url,
            .call_url = cfg.call_url,
            .timeout_ms = cfg.timeout_ms,
            .max_age_s = cfg.dial_max_age_s,
            .source = source,
            .reg = reg,
        };

        st.dialer = dialer_start(&dcfg, err, sizeof(err));
        if (!st.dialer) {
            log_error("cannot start", json_pack("{s:s}", "reason", err));
            goto out;
        }
    }
    st.kafka = kafka_watch_start(producer, 2000, err, sizeof(err));
    if (!st.kafka) {
        log_error("cannot start", json_pack("{s:s}", "reason", err));
        goto out;
    }
    ops = ops_http_start(cfg.common.ops_addr, (unsigned)cfg.common.ops_port, reg, rec_ready, &st,
                         err, sizeof(err));
    if (!ops) {
        log_error("cannot start", json_pack("{s:s}", "reason", err));
        goto out;
    }
    /* A UIS call may take UIS_API_TIMEOUT_MS; liveness must allow for a few in one round. */
    ops_http_set_stall_ms(ops, cfg.timeout_ms * 4 + 30000);
    if (!pgconn_get(&pg, err, sizeof(err)))
        log_warn("postgresql not reachable yet", json_pack("{s:s}", "reason", err));
    log_info("running", json_pack("{s:s, s:i}", "topic", cfg.topic_events, "ops_port",
                                  (int)cfg.common.ops_port));
    while (!sig_stop_requested()) {
        ops_http_heartbeat(ops);
        rec_readiness(&rcfg, &pg, producer, cfg.ready_s, &ready_next_us);
        if (!rec_round(&ctx, cfg.only_tenants, &mems, &nmems)) {
            for (int i = 0; i < 5 && !sig_stop_requested(); i++)
                rec_nap(100);
        }
        if (kafka_fatal(producer, err, sizeof(err))) {
            log_error("kafka producer failed", json_pack("{s:s}", "reason", err));
            break;
        }
    }
    rc = sig_stop_requested() ? 0 : 1;
    log_info("stopping", NULL);
out:
    dialer_stop(st.dialer);
    ops_http_stop(ops);
    kafka_watch_stop(st.kafka);
    if (producer) {
        int left = kafka_producer_close(producer, 10000);

        if (left > 0)
            log_error("messages not delivered at exit", json_pack("{s:i}", "count", left));
    }
    uis_api_client_free(ctx.uis);
    uis_api_global_cleanup();
    free(mems);
    metrics_registry_free(reg);
    pgconn_release(&pg);
    log_info("stopped", NULL);
    return rc;
}
