/* notifier: crm.popups.v1 → Server-Sent Events to CRM users, and the popup page. Wiring only:
 * configuration, the hub, the Kafka feed, the HTTP servers, and the loop that polls Kafka and
 * ticks heartbeats. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/compact_feed.h"
#include "common/ids.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops_http.h"
#include "common/sig.h"
#include "common/svc.h"
#include "calls.h"
#include "dialready.h"
#include "feed.h"
#include "http.h"
#include "hub.h"
#include "revoke.h"

struct notifier_cfg {
    struct common_cfg common;
    const char *http_addr;
    long http_port;
    const char *topic_popups;
    long fetch_wait_ms;
    const char *jwt_secret;
    const char *topic_popup_users;
    const char *cors_origin;
    long window_s;
    long replay_per_user;
    long popups_per_user;
    long queue_max;
    long max_conns;
    long max_per_user;
    long max_per_ip;
    long heartbeat_s;
    long retry_ms;
    long open_max_s;
    long conn_memory;
    long idle_timeout_s;
    long retry_after_s;
    long drain_ms;
    const char *topic_call_requests;
    long calls_in_flight;
    long calls_in_flight_s;
    const char *topic_dial_readiness;
    struct keyring keys; /* parsed from jwt_secret */
};

#define NCFG(f) offsetof(struct notifier_cfg, f)
static const struct cfg_var notifier_vars[] = {
    CFG_COMMON_VARS(struct notifier_cfg, common, "9104"),
    {"HTTP_ADDR", CFG_STR, "127.0.0.1", "address the stream and page server listens on",
     NCFG(http_addr), 0, 0},
    {"HTTP_PORT", CFG_INT, "8090", "stream and page port", NCFG(http_port), 1, 65535},
    {"TOPIC_POPUPS", CFG_STR, "crm.popups.v1", "popup messages topic (every partition is read)",
     NCFG(topic_popups), 0, 0},
    {"FETCH_WAIT_MAX_MS", CFG_INT, "100",
     "longest wait of a popup fetch with nothing to read (a popup is answered at once; lower "
     "trades broker CPU for latency)",
     NCFG(fetch_wait_ms), 1, 500},
    {"POPUP_JWT_SECRET", CFG_SECRET, NULL,
     "HS256 keys of popup tokens: kid:base64key,... (a token's kid picks the key; a plain "
     "base64 key checks tokens without kid)",
     NCFG(jwt_secret), 0, 0},
    {"TOPIC_POPUP_USERS", CFG_STR, "crm.popup-users.v1",
     "compacted topic of revoked popup tokens and disabled users (empty: tokens cannot be "
     "revoked)",
     NCFG(topic_popup_users), 0, 0},
    {"CORS_ORIGIN", CFG_STR, "",
     "origins that may read streams cross-origin and frame the page: empty, * or a list",
     NCFG(cors_origin), 0, 0},
    {"REPLAY_WINDOW_S", CFG_INT, "3600",
     "how far back events are read at start and remembered for replay", NCFG(window_s), 0,
     7L * 86400},
    {"REPLAY_PER_USER", CFG_INT, "100", "events kept per user for Last-Event-ID replay",
     NCFG(replay_per_user), 1, 100000},
    {"POPUPS_PER_USER", CFG_INT, "64", "popups remembered per user (duplicates, open state)",
     NCFG(popups_per_user), 1, 100000},
    {"QUEUE_MAX", CFG_INT, "64", "events queued for a stream before it is cut off as too slow",
     NCFG(queue_max), 1, 100000},
    {"MAX_CONNECTIONS", CFG_INT, "20000", "streams in total (more get 503)", NCFG(max_conns), 1,
     1000000},
    {"MAX_CONNECTIONS_PER_USER", CFG_INT, "8", "streams per user (more get 429)",
     NCFG(max_per_user), 1, 10000},
    {"MAX_CONNECTIONS_PER_IP", CFG_INT, "0",
     "connections from one client address (0: no limit; behind a proxy every connection "
     "comes from the proxy: limit there)",
     NCFG(max_per_ip), 0, 1000000},
    {"HEARTBEAT_S", CFG_INT, "15", "idle seconds before a heartbeat comment", NCFG(heartbeat_s), 1,
     3600},
    {"RETRY_MS", CFG_INT, "2000", "reconnection delay suggested to EventSource", NCFG(retry_ms),
     100, 600000},
    {"OPEN_POPUP_MAX_S", CFG_INT, "14400",
     "an open popup without news for this long is no longer shown", NCFG(open_max_s), 60,
     7L * 86400},
    {"CONN_MEMORY_BYTES", CFG_INT, "8192", "buffer pool per connection (request headers)",
     NCFG(conn_memory), 4096, 1048576},
    {"IDLE_TIMEOUT_S", CFG_INT, "60", "a connection that moves no bytes this long is closed",
     NCFG(idle_timeout_s), 5, 86400},
    {"RETRY_AFTER_S", CFG_INT, "5", "Retry-After of a 429 or 503", NCFG(retry_after_s), 1, 3600},
    {"DRAIN_MS", CFG_INT, "5000", "on SIGTERM, how long streams get to end", NCFG(drain_ms), 0,
     600000},
    {"TOPIC_CALL_REQUESTS", CFG_STR, "crm.call-requests.v1",
     "where POST /v1/calls puts click-to-call requests (empty: click-to-call is off)",
     NCFG(topic_call_requests), 0, 0},
    {"CALLS_MAX_IN_FLIGHT", CFG_INT, "3", "call requests a user may have awaiting their result",
     NCFG(calls_in_flight), 1, 100},
    {"CALLS_IN_FLIGHT_S", CFG_INT, "60", "a call request without a result stops counting after",
     NCFG(calls_in_flight_s), 1, 3600},
    {"TOPIC_DIAL_READINESS", CFG_STR, "crm.dial-readiness.v1",
     "compacted topic of tenants' UIS keys and users' UIS links: POST /v1/calls answers 409 when "
     "it says a call cannot be placed (empty: the dialer alone says so)",
     NCFG(topic_dial_readiness), 0, 0},
};
#define NOTIFIER_NVARS (sizeof(notifier_vars) / sizeof(notifier_vars[0]))

static int notifier_check_cfg(void *c, char *err, size_t errlen)
{
    struct notifier_cfg *cfg = c;
    char why[200];

    if (jwt_keyring_parse(cfg->jwt_secret, &cfg->keys, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "POPUP_JWT_SECRET: %s", why);
        return -1;
    }
    return 0;
}

static const struct svc_spec notifier_spec = {
    "notifier",
    "usage: notifier   serve popups to CRM users over Server-Sent Events\n"
    "  GET /v1/popups/stream (token: Authorization Bearer, cookie popup_token or ?token=;\n"
    "  Last-Event-ID header or ?lastEventId=), the popup page at / and /popup",
    notifier_vars,
    NOTIFIER_NVARS,
    offsetof(struct notifier_cfg, common),
    notifier_check_cfg};

struct notifier_feeds {
    struct feed *popups;
    struct compact_feed *users; /* NULL when revocation is off */
    struct compact_feed *ready; /* NULL when click-to-call or its readiness topic is off */
};

static int notifier_ready(void *ctx, char *why, size_t whylen)
{
    const struct notifier_feeds *f = ctx;

    if (!feed_caught_up(f->popups)) {
        snprintf(why, whylen, "reading back the popup topic");
        return 0;
    }
    /* Until the whole topic is read, a revoked token would still open a stream. */
    if (f->users && !compact_feed_ready(f->users)) {
        snprintf(why, whylen, "reading the popup-users topic");
        return 0;
    }
    return 1;
}

/* A popup-users record: remember it and end the streams it revokes. */
static int notifier_user_record(void *ctx, const char *key, size_t keylen, const char *value,
                                size_t len)
{
    struct revoke_update u;
    char err[128];
    int closed;

    if (revoke_parse(key, keylen, value, len, &u, err, sizeof(err)) < 0) {
        log_warn("popup-users record refused", json_pack("{s:s}", "reason", err));
        return -1;
    }
    closed = hub_user_tokens(ctx, u.tenant, u.user, u.generation, u.active);
    if (closed < 0)
        return -1;
    log_info("popup tokens of a user changed",
             json_pack("{s:s, s:s, s:I, s:b, s:i}", "tenant", u.tenant, "user", u.user,
                       "token_generation", (json_int_t)u.generation, "active", u.active,
                       "streams_closed", closed));
    return 0;
}

/* A dial-readiness record: remember it. */
static int notifier_ready_record(void *ctx, const char *key, size_t keylen, const char *value,
                                 size_t len)
{
    struct dialready_rec rec;
    char err[128];

    if (dialready_parse(key, keylen, value, len, &rec, err, sizeof(err)) < 0) {
        log_warn("dial-readiness record refused", json_pack("{s:s}", "reason", err));
        return -1;
    }
    return dialready_apply(ctx, &rec);
}

/* Every stream is a descriptor: take what the hard limit allows. */
static void notifier_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* A popup message read: a call request's result ends its flight. */
static void notifier_call_result(void *calls, const char *popup_id)
{
    calls_observe(calls, popup_id);
}

/* Every handle of the running service; notifier_close releases what notifier_open made. */
struct notifier_state {
    struct metrics_registry *reg;
    struct hub *hub;
    struct notifier_feeds feeds;
    struct http *http;
    struct calls *calls; /* NULL when click-to-call is off */
    struct dialready *ready;
    struct svc_ops ops;
};

/* The dial-readiness table and its feed. It does not gate readiness: what is not read yet is
 * unknown, and unknown means 202 (the dialer still checks). */
static int notifier_open_ready(const struct notifier_cfg *cfg, struct notifier_state *st, char *err,
                               size_t errlen)
{
    char ready_id[160];

    if (!cfg->topic_dial_readiness[0])
        return 0;
    if (!(st->ready = dialready_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    svc_instance_name("notifier-dial-readiness", "-", cfg->common.instance_id, ready_id,
                      sizeof(ready_id));
    st->feeds.ready = compact_feed_start(cfg->common.kafka_brokers, cfg->topic_dial_readiness,
                                         ready_id, notifier_ready_record, st->ready, err, errlen);
    return st->feeds.ready ? 0 : -1;
}

/* The hub, the feed, the ops server and the stream server. Returns 0, or -1 with the reason
 * logged (notifier_close releases what was made). */
static int notifier_open(const struct notifier_cfg *cfg, struct notifier_state *st)
{
    char err[256], client_id[128];
    const struct hub_cfg hcfg = {
        .ring_cap = (size_t)cfg->replay_per_user,
        .popups_cap = (size_t)cfg->popups_per_user,
        .queue_max = (size_t)cfg->queue_max,
        .max_conns = (size_t)cfg->max_conns,
        .max_per_user = (size_t)cfg->max_per_user,
        .heartbeat_ms = cfg->heartbeat_s * 1000,
        .retry_ms = cfg->retry_ms,
        .window_s = cfg->window_s,
        .open_max_s = cfg->open_max_s,
    };
    const struct feed_cfg fcfg = {cfg->common.kafka_brokers, cfg->topic_popups, client_id,
                                  cfg->window_s, cfg->fetch_wait_ms};
    struct http_cfg wcfg = {
        .addr = cfg->http_addr,
        .port = (unsigned)cfg->http_port,
        .keys = &cfg->keys,
        .cors = cfg->cors_origin,
        .conn_limit = (unsigned)(cfg->max_conns + 256),
        .per_ip_limit = (unsigned)cfg->max_per_ip,
        .idle_timeout_s = (unsigned)cfg->idle_timeout_s,
        .conn_memory = (size_t)cfg->conn_memory,
        .retry_after_s = cfg->retry_after_s,
    };

    st->reg = metrics_registry_new();
    st->hub = st->reg ? hub_new(&hcfg, http_hub_ops(), st->reg) : NULL;
    if (!st->hub) {
        svc_cannot_start("out of memory");
        return -1;
    }
    svc_instance_name("notifier", "-", cfg->common.instance_id, client_id, sizeof(client_id));
    st->feeds.popups = feed_new(&fcfg, st->hub, st->reg, err, sizeof(err));
    if (!st->feeds.popups) {
        svc_cannot_start(err);
        return -1;
    }
    if (cfg->topic_popup_users[0]) {
        char users_id[160];

        svc_instance_name("notifier-users", "-", cfg->common.instance_id, users_id,
                          sizeof(users_id));
        st->feeds.users =
            compact_feed_start(cfg->common.kafka_brokers, cfg->topic_popup_users, users_id,
                               notifier_user_record, st->hub, err, sizeof(err));
        if (!st->feeds.users) {
            svc_cannot_start(err);
            return -1;
        }
    } else {
        log_warn("popup tokens cannot be revoked",
                 json_pack("{s:s}", "reason", "TOPIC_POPUP_USERS is empty"));
    }
    if (cfg->topic_call_requests[0]) {
        char calls_id[160], source[160];
        const struct calls_cfg ccfg = {
            cfg->common.kafka_brokers, cfg->topic_call_requests, calls_id, source,
            cfg->calls_in_flight,      cfg->calls_in_flight_s};

        svc_instance_name("notifier-calls", "-", cfg->common.instance_id, calls_id,
                          sizeof(calls_id));
        svc_instance_name("/notifier", "/", cfg->common.instance_id, source, sizeof(source));
        st->calls = calls_new(&ccfg, st->reg, err, sizeof(err));
        if (!st->calls) {
            svc_cannot_start(err);
            return -1;
        }
        feed_observe(st->feeds.popups, notifier_call_result, st->calls);
        wcfg.calls = st->calls;
        if (notifier_open_ready(cfg, st, err, sizeof(err)) < 0) {
            svc_cannot_start(err);
            return -1;
        }
        wcfg.ready = st->ready;
    }
    if (svc_ops_start(&st->ops, &cfg->common, NULL, st->reg, notifier_ready, &st->feeds, err,
                      sizeof(err)) == 0)
        st->http = http_start(&wcfg, st->hub, err, sizeof(err));
    if (!st->http) {
        svc_cannot_start(err);
        return -1;
    }
    svc_listening(cfg->http_addr, cfg->http_port, cfg->common.ops_port);
    return 0;
}

/* Feed the hub until a signal (0) or a Kafka failure (1); then end every stream cleanly. */
static int notifier_run(const struct notifier_cfg *cfg, struct notifier_state *st)
{
    int64_t next_tick = 0, deadline;
    int ticking = 0; /* the last tick left heartbeats due */

    while (!sig_stop_requested()) {
        int64_t now;

        /* A popup never waits for a tick: librdkafka wakes the poll when one arrives, and a
         * tick with many heartbeats due is written in slices with a poll between them. */
        if (feed_poll(st->feeds.popups, ticking ? 0 : 100) < 0)
            break;
        ops_http_heartbeat(st->ops.http);
        now = ids_now_ms();
        if (ticking || now >= next_tick) {
            ticking = hub_tick(st->hub, now);
            /* Often, so that each tick's heartbeats (written under the hub lock, on this
             * thread) are a quarter of a second's worth. */
            if (now >= next_tick)
                next_tick = now + 250;
        }
    }
    log_info("stopping", json_pack("{s:i}", "streams", (int)hub_stream_count(st->hub)));
    /* No new streams; every open one ends cleanly (its client reconnects to another replica
     * with its Last-Event-ID). */
    http_quiesce(st->http);
    hub_close_all(st->hub);
    deadline = ids_now_ms() + cfg->drain_ms;
    while (hub_stream_count(st->hub) > 0 && ids_now_ms() < deadline)
        usleep(20000);
    return sig_stop_requested() ? 0 : 1;
}

static void notifier_close(struct notifier_state *st)
{
    calls_free(st->calls); /* answers every request still waiting for Kafka: before http_stop */
    http_stop(st->http);
    svc_ops_stop(&st->ops);
    compact_feed_stop(st->feeds.users); /* its callback uses the hub */
    compact_feed_stop(st->feeds.ready);
    dialready_free(st->ready);
    feed_close(st->feeds.popups);
    hub_free(st->hub);
    metrics_registry_free(st->reg);
}

int main(int argc, char **argv)
{
    static struct notifier_cfg cfg; /* the key ring is large */
    struct notifier_state st = {0};
    int rc = svc_init(&notifier_spec, argc, argv, &cfg, stdout, stderr);

    if (rc != SVC_RUN)
        return rc;
    notifier_raise_nofile();
    rc = notifier_open(&cfg, &st) < 0 ? 1 : notifier_run(&cfg, &st);
    notifier_close(&st);
    log_info("stopped", json_pack("{s:i}", "exit", rc));
    return rc;
}
