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
#include "common/jwt.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops_http.h"
#include "common/sig.h"
#include "feed.h"
#include "http.h"
#include "hub.h"
#include "revoke.h"

struct notifier_cfg {
    struct common_cfg common;
    const char *http_addr;
    long http_port;
    const char *topic_popups;
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
};

#define NCFG(f) offsetof(struct notifier_cfg, f)
static const struct cfg_var notifier_vars[] = {
    CFG_COMMON_VARS(struct notifier_cfg, common, "9104"),
    {"HTTP_ADDR", CFG_STR, "127.0.0.1", "address the stream and page server listens on",
     NCFG(http_addr), 0, 0},
    {"HTTP_PORT", CFG_INT, "8090", "stream and page port", NCFG(http_port), 1, 65535},
    {"TOPIC_POPUPS", CFG_STR, "crm.popups.v1", "popup messages topic (every partition is read)",
     NCFG(topic_popups), 0, 0},
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
};
#define NOTIFIER_NVARS (sizeof(notifier_vars) / sizeof(notifier_vars[0]))

static const char notifier_usage[] =
    "usage: notifier   serve popups to CRM users over Server-Sent Events\n"
    "  GET /v1/popups/stream (token: Authorization Bearer, cookie popup_token or ?token=;\n"
    "  Last-Event-ID header or ?lastEventId=), the popup page at / and /popup";

static int64_t notifier_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct notifier_feeds {
    struct feed *popups;
    struct compact_feed *users; /* NULL when revocation is off */
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

/* Every stream is a descriptor: take what the hard limit allows. */
static void notifier_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    struct notifier_cfg cfg;
    char err[256];
    static struct jwt_keyring keys;
    struct notifier_feeds feeds = {NULL, NULL};
    enum log_level level;
    struct mx_registry *reg = NULL;
    struct hub *hub = NULL;
    struct feed *feed = NULL;
    struct http *http = NULL;
    struct ops_http *ops = NULL;
    int64_t next_tick = 0, deadline;
    int rc = 1;

    if (cfg_wants_help(argc, argv)) {
        cfg_help(stdout, notifier_usage, notifier_vars, NOTIFIER_NVARS);
        return 0;
    }
    if (cfg_load(notifier_vars, NOTIFIER_NVARS, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "notifier: %s\n", err);
        return 2;
    }
    if (log_level_parse(cfg.common.log_level, &level) < 0) {
        fprintf(stderr, "notifier: LOG_LEVEL: '%s' is not debug, info, warn or error\n",
                cfg.common.log_level);
        return 2;
    }
    if (jwt_keyring_parse(cfg.jwt_secret, &keys, err, sizeof(err)) < 0) {
        fprintf(stderr, "notifier: POPUP_JWT_SECRET: %s\n", err);
        return 2;
    }
    log_init("notifier", level, NULL);
    log_info("starting", cfg_to_json(notifier_vars, NOTIFIER_NVARS, &cfg));
    sig_install();
    notifier_raise_nofile();

    reg = mx_registry_new();
    {
        const struct hub_cfg hcfg = {
            .ring_cap = (size_t)cfg.replay_per_user,
            .popups_cap = (size_t)cfg.popups_per_user,
            .queue_max = (size_t)cfg.queue_max,
            .max_conns = (size_t)cfg.max_conns,
            .max_per_user = (size_t)cfg.max_per_user,
            .heartbeat_ms = cfg.heartbeat_s * 1000,
            .retry_ms = cfg.retry_ms,
            .window_s = cfg.window_s,
            .open_max_s = cfg.open_max_s,
        };

        hub = reg ? hub_new(&hcfg, http_hub_ops(), reg) : NULL;
    }
    if (!hub) {
        log_error("cannot start", json_pack("{s:s}", "reason", "out of memory"));
        goto out;
    }
    {
        char client_id[128];
        const struct feed_cfg fcfg = {cfg.common.kafka_brokers, cfg.topic_popups, client_id,
                                      cfg.window_s};

        snprintf(client_id, sizeof(client_id), "notifier%s%s", *cfg.common.instance_id ? "-" : "",
                 cfg.common.instance_id);
        feed = feed_new(&fcfg, hub, reg, err, sizeof(err));
    }
    if (!feed) {
        log_error("cannot start", json_pack("{s:s}", "reason", err));
        goto out;
    }
    feeds.popups = feed;
    if (cfg.topic_popup_users[0]) {
        char client_id[128];

        snprintf(client_id, sizeof(client_id), "notifier-users%s%s",
                 *cfg.common.instance_id ? "-" : "", cfg.common.instance_id);
        feeds.users = compact_feed_start(cfg.common.kafka_brokers, cfg.topic_popup_users, client_id,
                                         notifier_user_record, hub, err, sizeof(err));
        if (!feeds.users) {
            log_error("cannot start", json_pack("{s:s}", "reason", err));
            goto out;
        }
    } else {
        log_warn("popup tokens cannot be revoked",
                 json_pack("{s:s}", "reason", "TOPIC_POPUP_USERS is empty"));
    }
    ops = ops_http_start(cfg.common.ops_addr, (unsigned)cfg.common.ops_port, reg, notifier_ready,
                         &feeds, err, sizeof(err));
    if (!ops) {
        log_error("cannot start", json_pack("{s:s}", "reason", err));
        goto out;
    }
    {
        const struct http_cfg wcfg = {
            .addr = cfg.http_addr,
            .port = (unsigned)cfg.http_port,
            .keys = &keys,
            .cors = cfg.cors_origin,
            .conn_limit = (unsigned)(cfg.max_conns + 256),
            .per_ip_limit = (unsigned)cfg.max_per_ip,
            .idle_timeout_s = (unsigned)cfg.idle_timeout_s,
            .conn_memory = (size_t)cfg.conn_memory,
            .retry_after_s = cfg.retry_after_s,
        };

        http = http_start(&wcfg, hub, err, sizeof(err));
    }
    if (!http) {
        log_error("cannot start", json_pack("{s:s}", "reason", err));
        goto out;
    }
    log_info("listening", json_pack("{s:s, s:i, s:i}", "addr", cfg.http_addr, "port",
                                    (int)cfg.http_port, "ops_port", (int)cfg.common.ops_port));

    while (!sig_stop_requested()) {
        int64_t now;

        if (feed_poll(feed, 100) < 0)
            break;
        ops_http_heartbeat(ops);
        now = notifier_now_ms();
        if (now >= next_tick) {
            hub_tick(hub, now);
            next_tick = now + 1000;
        }
    }
    log_info("stopping", json_pack("{s:i}", "streams", (int)hub_stream_count(hub)));
    /* No new streams; every open one ends cleanly (its client reconnects to another replica
     * with its Last-Event-ID). */
    http_quiesce(http);
    hub_close_all(hub);
    deadline = notifier_now_ms() + cfg.drain_ms;
    while (hub_stream_count(hub) > 0 && notifier_now_ms() < deadline)
        usleep(20000);
    rc = sig_stop_requested() ? 0 : 1;
out:
    http_stop(http);
    ops_http_stop(ops);
    compact_feed_stop(feeds.users); /* its callback uses the hub */
    feed_close(feed);
    hub_free(hub);
    mx_registry_free(reg);
    log_info("stopped", json_pack("{s:i}", "exit", rc));
    return rc;
}
