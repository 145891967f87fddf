/* One step of reconciliation for one tenant: at most one UIS call (a page of the calls report,
 * or the employees list when it is due), its missing events produced and acknowledged, then the
 * durable progress. Small steps keep SIGTERM prompt (the page in hand is finished, never
 * dropped) and let tenants take turns. */
#ifndef RECONCILER_PASS_H
#define RECONCILER_PASS_H

#include "dial_resolve.h"
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/pgconn.h"
#include "common/uis_api.h"
#include "store.h"
#include "window.h"

struct metrics_family;

struct pass_cfg {
    const char *topic;  /* uis.call-events.v1 */
    const char *source; /* ce_source */
    struct window_cfg window;
    long page_limit;
    int minute_share_pct, day_share_pct;
    long interval_s;       /* between complete passes of a tenant */
    long employees_sync_s; /* how old the employees list may get */
    long stop_retry_s;     /* how often a stopped tenant is tried again */
    int produce_timeout_ms;
    const char *ready_topic; /* dial readiness, republished after an employees sync ("": not) */
    struct dial_resolve_cfg resolve; /* unknown call requests the report resolves */
};

struct pass_metrics {
    struct metrics_family *uis_calls; /* reconciler_uis_calls_total{method,result} */
    struct metrics_family *events;    /* reconciler_events_total{state} */
    struct metrics_family *calls;     /* reconciler_calls_total{outcome} */
    struct metrics_family *passes;    /* reconciler_passes_total */
    struct metrics_family *stopped;   /* reconciler_tenant_stopped{tenant} */
    struct metrics_family *backoffs;  /* reconciler_backoffs_total{reason} */
    struct metrics_family *conflicts; /* reconciler_extension_conflicts_total */
};

/* What the reconciler remembers of a tenant between steps (not durable: a restart only costs an
 * earlier UIS call). */
struct pass_memory {
    char tenant[64];
    int64_t next_pass_us;     /* monotonic: when the next pass may start */
    int64_t backoff_until_us; /* monotonic */
    long retry_s;             /* growing wait after RETRY answers */
    struct uis_api_limits limits;
    int64_t limits_seen_us;
    int64_t employees_synced_us;
    int employees_stale; /* a call named an employee we do not know */
    int stopped;         /* UIS refused the key/account/IP: waiting for the admin */
};

struct pass_ctx {
    const struct pass_cfg *cfg;
    struct pgconn *pg;
    struct uis_api_client *uis;
    rd_kafka_t *producer;
    struct pass_metrics mx;
};

enum pass_result {
    PASS_IDLE,    /* nothing due for this tenant now */
    PASS_WORKED,  /* did a step; more may follow at once */
    PASS_WAITING, /* backing off (limits, UIS or PostgreSQL trouble) */
    PASS_STOPPED, /* the tenant's key/account/IP is refused: marked */
    PASS_FAILED,  /* Kafka did not take the events: nothing advanced */
};

/* One step for t (its row as just read) with mem (found or made by the caller). */
enum pass_result pass_step(struct pass_ctx *ctx, const struct store_tenant *t,
                           struct pass_memory *mem);

#endif
