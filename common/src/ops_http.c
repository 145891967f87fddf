#include "common/ops_http.h"

#include "common/ids.h"
#include "common/listen_addr.h"
#include "common/metrics.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ops_http {
    struct MHD_Daemon *daemon;
    struct metrics_registry *reg;
    ops_ready_fn ready;
    void *ctx;
    _Atomic int64_t last_beat_us;
    _Atomic long stall_ms;
};

static enum MHD_Result ops_reply(struct MHD_Connection *conn, unsigned status, const char *type,
                                 char *body, int owned)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(body), body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result ops_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct ops_http *ops = cls;
    char why[200];

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return ops_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n",
                         0);
    if (strcmp(url, "/healthz") == 0) {
        int64_t age_ms = (ids_mono_us() - atomic_load(&ops->last_beat_us)) / 1000;

        if (age_ms > atomic_load(&ops->stall_ms)) {
            snprintf(why, sizeof(why), "service loop stalled for %lld ms\n", (long long)age_ms);
            return ops_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", why, 0);
        }
        return ops_reply(conn, MHD_HTTP_OK, "text/plain", "ok\n", 0);
    }
    if (strcmp(url, "/readyz") == 0) {
        size_t n;

        why[0] = '\0';
        if (ops->ready && !ops->ready(ops->ctx, why, sizeof(why) - 1)) {
            n = strlen(why);
            why[n] = '\n';
            why[n + 1] = '\0';
            return ops_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", why, 0);
        }
        return ops_reply(conn, MHD_HTTP_OK, "text/plain", "ready\n", 0);
    }
    if (strcmp(url, "/metrics") == 0) {
        char *text = metrics_render(ops->reg);

        if (!text)
            return ops_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                             "metrics unavailable\n", 0);
        return ops_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, 1);
    }
    return ops_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 0);
}

struct ops_http *ops_http_start(const char *addr, unsigned port, struct metrics_registry *reg,
                                ops_ready_fn ready, void *ctx, char *err, size_t errlen)
{
    struct ops_http *ops = calloc(1, sizeof(*ops));
    struct sockaddr_in sin;
    char why[128];

    if (!ops) {
        snprintf(err, errlen, "ops server: out of memory");
        return NULL;
    }
    if (listen_addr_ipv4(addr, port, &sin, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "ops server: %s", why);
        free(ops);
        return NULL;
    }
    ops->reg = reg;
    ops->ready = ready;
    ops->ctx = ctx;
    atomic_store(&ops->last_beat_us, ids_mono_us());
    atomic_store(&ops->stall_ms, 60000);
    ops->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port,
                                   NULL, NULL, ops_handle, ops, MHD_OPTION_SOCK_ADDR, &sin,
                                   MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_CONNECTION_LIMIT,
                                   64U, MHD_OPTION_END);
    if (!ops->daemon) {
        snprintf(err, errlen, "ops server: cannot listen on %s:%u (port in use?)", addr, port);
        free(ops);
        return NULL;
    }
    return ops;
}

void ops_http_heartbeat(struct ops_http *ops)
{
    if (ops)
        atomic_store(&ops->last_beat_us, ids_mono_us());
}

void ops_http_set_stall_ms(struct ops_http *ops, long stall_ms)
{
    if (ops)
        atomic_store(&ops->stall_ms, stall_ms);
}

void ops_http_stop(struct ops_http *ops)
{
    if (!ops)
        return;
    MHD_stop_daemon(ops->daemon);
    free(ops);
}
