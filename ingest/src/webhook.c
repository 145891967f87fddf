#include "webhook.h"

#include "common/cloudevents.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/listen_addr.h"
#include "common/log.h"
#include "event.h"
#include "route.h"
#include "uis_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

struct webhook {
    struct webhook_cfg cfg;
    struct MHD_Daemon *daemon;
    rd_kafka_t *producer;
    const struct keyring *keys;
    struct token_map *tokens;
    struct webhook_metrics *mx;
    /* One thread (webhook_run's caller) runs libmicrohttpd's handlers and the delivery
     * reports: a batch of reports resumes its connections, and their answers are sent, in one
     * loop iteration, with no lock and no wake-up of another thread. */
    int epfd;       /* libmicrohttpd's epoll fd and dr_pipe[0] */
    int dr_pipe[2]; /* librdkafka writes a byte when the producer's main queue gets reports */
    atomic_int in_flight;
    atomic_int stopping;
    /* Requests waiting for a delivery report, oldest first (deadlines are in the same order). */
    struct wh_ticket *head, *tail;
    /* Connections suspended and not yet back in a handler. libmicrohttpd must not be stopped
     * while one exists: the drain waits for 0, and after webhook_quiesce none is added. */
    int suspended;
};

enum wh_stage { WH_READING, WH_WAITING, WH_ANSWERED };

struct wh_req;

/* What the message in flight points at. It outlives its request when the deadline answered
 * first: the delivery report then finds req == NULL and frees the ticket alone. */
struct wh_ticket {
    struct wh_ticket *prev, *next;
    struct wh_req *req; /* NULL once detached */
    int64_t deadline_us;
    struct kafka_delivery dr;
};

/* One request from its first byte to its completion; owned by MHD's request slot and freed in
 * wh_completed. While WH_WAITING its ticket links it to the message in flight. */
struct wh_req {
    struct webhook *wh;
    struct MHD_Connection *conn;
    enum wh_stage stage;
    struct route route;
    char *body;
    size_t len, total;
    int64_t start_us;
    struct wh_ticket *ticket; /* while WH_WAITING */
    int suspended;            /* counted in wh->suspended */
    rd_kafka_resp_err_t outcome;
    int refused;             /* the message in flight is a refusal for the rejected topic */
    unsigned refusal_status; /* 400 or 413 */
    struct uis_error perr;
    char event_id[IDS_UUID_LEN];
    /* The 200's body, sent from here without a copy (MHD_RESPMEM_PERSISTENT): libmicrohttpd is
     * done with it before wh_completed frees the request. */
    char ack[IDS_UUID_LEN + 16];
};

static const char wh_not_found[] = "{\"error\":\"not found\"}";

/* The metrics label of a status: the common ones without snprintf (one per request). */
static const char *wh_code(unsigned status, char buf[8])
{
    switch (status) {
    case MHD_HTTP_OK:
        return "200";
    case MHD_HTTP_SERVICE_UNAVAILABLE:
        return "503";
    case MHD_HTTP_NOT_FOUND:
        return "404";
    default:
        snprintf(buf, 8, "%u", status);
        return buf;
    }
}

static enum MHD_Result wh_reply_mem(struct wh_req *req, unsigned status, const char *body,
                                    size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, mode);
    char code[8], retry[16];
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        snprintf(retry, sizeof(retry), "%u", req->wh->cfg.retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
        if (atomic_load(&req->wh->stopping))
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    metrics_inc(req->wh->mx->requests, wh_code(status, code));
    req->stage = WH_ANSWERED;
    return ret;
}

static enum MHD_Result wh_reply(struct wh_req *req, unsigned status, const char *body)
{
    return wh_reply_mem(req, status, body, strlen(body), MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result wh_reply_json(struct wh_req *req, unsigned status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    enum MHD_Result ret;

    json_decref(obj);
    if (!text)
        return wh_reply(req, MHD_HTTP_SERVICE_UNAVAILABLE, "{\"error\":\"out of memory\"}");
    ret = wh_reply(req, status, text);
    free(text);
    return ret;
}

static enum MHD_Result wh_unavailable(struct wh_req *req, const char *reason)
{
    return wh_reply_json(
        req, MHD_HTTP_SERVICE_UNAVAILABLE,
        json_pack("{s:s, s:s}", "error", "temporarily unavailable", "reason", reason));
}

static void wh_unlink(struct webhook *wh, struct wh_ticket *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        wh->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        wh->tail = t->prev;
    t->prev = t->next = NULL;
}

/* Give req its outcome and wake its connection (answered in this loop iteration's MHD_run). */
static void wh_finish(struct webhook *wh, struct wh_ticket *t, rd_kafka_resp_err_t outcome)
{
    struct wh_req *req = t->req;

    wh_unlink(wh, t);
    if (!req) /* only attached tickets are listed */
        return;
    t->req = NULL;
    req->ticket = NULL;
    req->outcome = outcome;
    metrics_observe(wh->mx->delivery, NULL, (double)(ids_mono_us() - req->start_us) / 1e6);
    MHD_resume_connection(req->conn);
}

/* Runs in webhook_run's rd_kafka_poll (or the producer's close, once the server is gone and
 * every ticket detached). */
static void wh_delivered(struct kafka_delivery *d)
{
    struct wh_ticket *t = d->ctx;

    if (t->req) /* else answered by the deadline already */
        wh_finish(t->req->wh, t, d->err);
    free(t);
}

static void wh_expire(struct webhook *wh)
{
    int64_t now = ids_mono_us();

    /* The ticket stays with its message (detached) until the delivery report frees it. */
    while (wh->head && wh->head->deadline_us <= now)
        wh_finish(wh, wh->head, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
}

static enum MHD_Result wh_collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    (void)kind;
    /* Credentials and URLs never reach a topic. */
    if (event_header_kept(key))
        json_object_set_new(cls, key, json_string(value ? value : ""));
    return MHD_YES;
}

/* Produce the len bytes of text (copied into the message) and suspend the connection until its
 * delivery report or the deadline (a produce error resumes it at once with that outcome).
 * Returns 0 when suspended, -1 when nothing happened (out of memory) or -2 (shutting down), and
 * the caller answers now. */
static int wh_produce(struct wh_req *req, const char *topic, const char *key, const char *ce_type,
                      const char *text, size_t len)
{
    struct webhook *wh = req->wh;
    struct traceparent tp;
    struct ce_attrs ce;
    char source[96] = "/v1/uis/";
    size_t tlen = strlen(req->route.tenant);
    rd_kafka_headers_t *hdrs;
    rd_kafka_resp_err_t err;
    struct wh_ticket *t;

    tp_continue(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "traceparent"), &tp);
    /* route_parse bounds the tenant (63 characters); memcpy, not snprintf, on this path. */
    _Static_assert(sizeof(req->route.tenant) + 8 <= sizeof(source), "source fits a tenant");
    memcpy(source + 8, req->route.tenant, tlen + 1);
    t = calloc(1, sizeof(*t));
    if (!t || ce_attrs_init(&ce, req->event_id, ce_type, source, &tp) < 0 ||
        !(hdrs = ce_headers_new(&ce))) {
        free(t);
        return -1;
    }
    t->req = req;
    t->deadline_us = req->start_us + (int64_t)wh->cfg.deadline_ms * 1000;
    t->dr.done = wh_delivered;
    t->dr.ctx = t;
    if (atomic_load(&wh->stopping)) {
        /* Shutting down: nothing may be suspended any more (webhook_quiesce). */
        rd_kafka_headers_destroy(hdrs);
        free(t);
        return -2;
    }
    /* Suspended before the message exists, so its report can never resume a live handler. */
    MHD_suspend_connection(req->conn);
    req->suspended = 1;
    wh->suspended++;
    err = rd_kafka_producev(wh->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                            RD_KAFKA_V_VALUE((void *)text, len),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                            RD_KAFKA_V_OPAQUE(&t->dr), RD_KAFKA_V_END);
    req->stage = WH_WAITING;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Not enqueued (queue full, unknown topic): the headers and the ticket are still ours; the
         * handler, called again, answers 503. */
        req->outcome = err;
        MHD_resume_connection(req->conn);
        rd_kafka_headers_destroy(hdrs);
        free(t);
        return 0;
    }
    t->prev = wh->tail;
    if (wh->tail)
        wh->tail->next = t;
    else
        wh->head = t;
    wh->tail = t;
    req->ticket = t;
    return 0;
}

/* Queue the refusal on the rejected topic; the 400/413 is sent once the broker has it. */
static enum MHD_Result wh_refuse(struct wh_req *req, unsigned status)
{
    char received_at[IDS_TIME_LEN];
    json_t *headers = json_object();
    json_t *value;
    char *text;
    int rc;

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, wh_collect_header, headers);
    ids_rfc3339(ids_now_us(), received_at);
    value = event_rejected(req->route.tenant, received_at, req->event_id, status, &req->perr,
                           req->body, req->len, req->total, headers);
    json_decref(headers);
    if (!value)
        return wh_unavailable(req, "out of memory");
    metrics_inc(req->wh->mx->refusals, req->perr.field[0] ? req->perr.field : "body");
    log_info("webhook refused", json_pack("{s:s, s:s, s:s, s:i, s:s}", "tenant", req->route.tenant,
                                          "event_id", req->event_id, "field", req->perr.field,
                                          "status", (int)status, "reason", req->perr.reason));
    req->refused = 1;
    req->refusal_status = status;
    text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(value);
    rc = text ? wh_produce(req, req->wh->cfg.topic_rejected, req->route.tenant,
                           "ru.uis.call.rejected", text, strlen(text))
              : -1;
    free(text);
    return rc == -2 ? wh_unavailable(req, "shutting down")
           : rc < 0 ? wh_unavailable(req, "out of memory")
                    : MHD_YES;
}

static enum MHD_Result wh_accept(struct wh_req *req)
{
    struct uis_event ev;
    char received_at[IDS_TIME_LEN];
    char key[128];
    struct jsonw value;
    const char *text = NULL;
    size_t len = 0;
    int rc;

    if (req->total > req->wh->cfg.max_body) {
        req->perr.code = UIS_ESYNTAX;
        snprintf(req->perr.reason, sizeof(req->perr.reason),
                 "body of %zu bytes exceeds the limit of %zu bytes", req->total,
                 req->wh->cfg.max_body);
        return wh_refuse(req, MHD_HTTP_CONTENT_TOO_LARGE);
    }
    rc = uis_parse(req->body ? req->body : "", req->len, &ev, &req->perr);
    if (rc == UIS_ENOMEM)
        return wh_unavailable(req, "out of memory");
    if (rc != UIS_OK)
        return wh_refuse(req, MHD_HTTP_BAD_REQUEST);
    ids_rfc3339(ids_now_us(), received_at);
    jsonw_init(&value);
    if (event_write(&ev, req->route.tenant, received_at, req->event_id, &value) < 0 ||
        !(text = jsonw_finish(&value, &len)) ||
        event_key(&ev, req->route.tenant, key, sizeof(key)) < 0) {
        jsonw_release(&value);
        uis_event_release(&ev);
        return wh_unavailable(req, "out of memory");
    }
    if (log_enabled(LOG_DEBUG))
        log_debug("webhook accepted",
                  json_pack("{s:s, s:s, s:s, s:s, s:o}", "tenant", req->route.tenant, "event_id",
                            req->event_id, "call_id", ev.call_id, "state", uis_state_name(ev.state),
                            "from", log_phone(ev.from_number)));
    rc = wh_produce(req, req->wh->cfg.topic_events, key, event_ce_type(&ev), text, len);
    jsonw_release(&value);
    uis_event_release(&ev);
    return rc == -2 ? wh_unavailable(req, "shutting down")
           : rc < 0 ? wh_unavailable(req, "out of memory")
                    : MHD_YES;
}

/* After the delivery report (or the deadline) resumed the connection. */
static enum MHD_Result wh_answer(struct wh_req *req)
{
    if (req->outcome != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("webhook not delivered",
                 json_pack("{s:s, s:s, s:s}", "tenant", req->route.tenant, "event_id",
                           req->event_id, "reason", rd_kafka_err2str(req->outcome)));
        return wh_unavailable(req, "the event could not be stored in time; retry");
    }
    if (req->refused)
        return wh_reply_json(req, req->refusal_status, uis_error_to_json(&req->perr));
    {
        /* The id is 36 characters of hex and dashes: nothing to escape. */
        size_t n = sizeof("{\"event_id\":\"") - 1;

        memcpy(req->ack, "{\"event_id\":\"", n);
        memcpy(req->ack + n, req->event_id, IDS_UUID_LEN - 1);
        n += IDS_UUID_LEN - 1;
        memcpy(req->ack + n, "\"}", 2);
        return wh_reply_mem(req, MHD_HTTP_OK, req->ack, n + 2, MHD_RESPMEM_PERSISTENT);
    }
}

/* Per HTTP thread (there is one): a busy tenant's token is checked with HMAC once, not on every
 * request. */
static _Thread_local struct wtoken_cache wh_tokens_seen;

static int wh_authorized(struct webhook *wh, const struct route *route)
{
    unsigned long version = 0;
    int ok =
        wtoken_verify_cached(&wh_tokens_seen, wh->keys, route->tenant, route->token, &version) == 0;

    return ok && token_map_get(wh->tokens, route->tenant) == version;
}

/* A suspended connection is back (its handler runs again, or it completes). */
static void wh_unsuspended(struct webhook *wh, struct wh_req *req)
{
    if (req->suspended) {
        req->suspended = 0;
        wh->suspended--;
    }
}

static enum MHD_Result wh_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    struct webhook *wh = cls;
    struct wh_req *req = *req_cls;

    (void)version;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        req->wh = wh;
        req->conn = conn;
        req->start_us = ids_mono_us();
        *req_cls = req;
        atomic_fetch_add(&wh->in_flight, 1);
        metrics_add(wh->mx->in_flight, NULL, 1);
        /* After in_flight counts the request: webhook_quiesce then waits for it. */
        if (atomic_load(&wh->stopping))
            return wh_unavailable(req, "shutting down");
        route_parse(url, &req->route);
        if (req->route.kind != ROUTE_WEBHOOK)
            return wh_reply(req, MHD_HTTP_NOT_FOUND, wh_not_found);
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return wh_reply(req, MHD_HTTP_METHOD_NOT_ALLOWED,
                            "{\"error\":\"method not allowed\",\"reason\":\"use POST\"}");
        /* A wrong token and an unknown tenant get the same answer as an unknown path. */
        if (!wh_authorized(wh, &req->route))
            return wh_reply(req, MHD_HTTP_NOT_FOUND, wh_not_found);
        if (ids_uuid4(req->event_id) < 0)
            return MHD_NO;
        return MHD_YES;
    }
    if (req->stage == WH_ANSWERED) {
        *upload_data_size = 0; /* the rest of a refused body is discarded */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t room = wh->cfg.max_body - req->len;
        size_t take = *upload_data_size < room ? *upload_data_size : room;

        if (take > 0) {
            char *grown = realloc(req->body, req->len + take + 1);

            if (!grown)
                return MHD_NO;
            req->body = grown;
            memcpy(req->body + req->len, upload_data, take);
            req->len += take;
            req->body[req->len] = '\0';
        }
        req->total += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->stage == WH_WAITING && !req->ticket) {
        wh_unsuspended(wh, req);
        return wh_answer(req);
    }
    if (req->stage == WH_WAITING) /* woken spuriously: still waiting */
        return MHD_YES;
    return wh_accept(req);
}

static void wh_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct webhook *wh = cls;
    struct wh_req *req = *req_cls;

    (void)conn;
    (void)toe;
    if (!req)
        return;
    wh_unsuspended(wh, req);
    free(req->body);
    free(req);
    *req_cls = NULL;
    atomic_fetch_sub(&wh->in_flight, 1);
    metrics_add(wh->mx->in_flight, NULL, -1);
}

int webhook_metrics_init(struct webhook_metrics *mx, struct metrics_registry *reg)
{
    mx->requests =
        metrics_counter(reg, "ingest_requests_total", "Webhook requests by HTTP status.", "code");
    mx->refusals = metrics_counter(reg, "ingest_refusals_total",
                                   "Webhook bodies refused, by the field at fault.", "field");
    mx->delivery = metrics_histogram(reg, "ingest_delivery_seconds",
                                     "From the request to Kafka's delivery report.", NULL,
                                     metrics_latency_buckets, metrics_latency_nbuckets);
    mx->in_flight =
        metrics_gauge(reg, "ingest_in_flight", "Requests being read or awaiting Kafka.", NULL);
    return (mx->requests && mx->refusals && mx->delivery && mx->in_flight) ? 0 : -1;
}

/* A pipe whose ends never block (librdkafka drops a signal to a full one: one byte is
 * enough) and are not inherited. pipe2 is not POSIX. Returns 0 or -1 (errno set). */
static int wh_pipe(int fds[2])
{
    if (pipe(fds) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(fds[i], F_GETFL);

        if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0)
            return -1;
    }
    return 0;
}

/* librdkafka signals delivery reports on a pipe that the loop's epoll watches. */
static int wh_watch(struct webhook *wh, char *err, size_t errlen)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(wh->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event mhd_ev = {.events = EPOLLIN, .data.fd = -1};
    struct epoll_event dr_ev = {.events = EPOLLIN, .data.fd = 0};
    rd_kafka_queue_t *mainq;

    wh->dr_pipe[0] = wh->dr_pipe[1] = -1;
    wh->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!info || wh->epfd < 0 || wh_pipe(wh->dr_pipe) < 0) {
        snprintf(err, errlen, "webhook server: cannot set up its event loop: %s", strerror(errno));
        return -1;
    }
    dr_ev.data.fd = wh->dr_pipe[0];
    if (epoll_ctl(wh->epfd, EPOLL_CTL_ADD, info->epoll_fd, &mhd_ev) < 0 ||
        epoll_ctl(wh->epfd, EPOLL_CTL_ADD, wh->dr_pipe[0], &dr_ev) < 0) {
        snprintf(err, errlen, "webhook server: cannot watch its descriptors: %s", strerror(errno));
        return -1;
    }
    mainq = rd_kafka_queue_get_main(wh->producer);
    rd_kafka_queue_io_event_enable(mainq, wh->dr_pipe[1], "1", 1);
    rd_kafka_queue_destroy(mainq);
    return 0;
}

/* Undo wh_watch: librdkafka must not write to the pipe once it is closed. */
static void wh_unwatch(struct webhook *wh)
{
    rd_kafka_queue_t *mainq;

    if (wh->dr_pipe[1] >= 0) {
        mainq = rd_kafka_queue_get_main(wh->producer);
        rd_kafka_queue_io_event_enable(mainq, -1, NULL, 0);
        rd_kafka_queue_destroy(mainq);
        close(wh->dr_pipe[1]);
    }
    if (wh->dr_pipe[0] >= 0)
        close(wh->dr_pipe[0]);
    if (wh->epfd >= 0)
        close(wh->epfd);
}

struct webhook *webhook_start(const struct webhook_cfg *cfg, rd_kafka_t *producer,
                              const struct keyring *keys, struct token_map *tokens,
                              struct webhook_metrics *mx, char *err, size_t errlen)
{
    struct webhook *wh = calloc(1, sizeof(*wh));
    struct sockaddr_in sin;
    char why[128];

    if (!wh) {
        snprintf(err, errlen, "webhook server: out of memory");
        return NULL;
    }
    if (listen_addr_ipv4(cfg->addr, cfg->port, &sin, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "webhook server: %s", why);
        free(wh);
        return NULL;
    }
    wh->cfg = *cfg;
    wh->producer = producer;
    wh->keys = keys;
    wh->tokens = tokens;
    wh->mx = mx;
    wh->epfd = wh->dr_pipe[0] = wh->dr_pipe[1] = -1;
    /* No thread of libmicrohttpd's own: webhook_run drives it. */
    wh->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC, (uint16_t)cfg->port, NULL, NULL,
        wh_handle, wh, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        cfg->conn_memory, MHD_OPTION_NOTIFY_COMPLETED, wh_completed, wh,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        cfg->per_ip_limit, MHD_OPTION_END);
    if (!wh->daemon) {
        snprintf(err, errlen, "webhook server: cannot listen on %s:%u (port in use?)", cfg->addr,
                 cfg->port);
        free(wh);
        return NULL;
    }
    if (wh_watch(wh, err, errlen) < 0) {
        webhook_stop(wh);
        return NULL;
    }
    return wh;
}

int webhook_run(struct webhook *wh, int timeout_ms)
{
    struct epoll_event evs[2];
    MHD_UNSIGNED_LONG_LONG mhd_ms;
    char drained[64];
    int n;

    if (MHD_get_timeout(wh->daemon, &mhd_ms) == MHD_YES && mhd_ms < (unsigned)timeout_ms)
        timeout_ms = (int)mhd_ms;
    n = epoll_wait(wh->epfd, evs, 2, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -1;
    for (int i = 0; i < n; i++) {
        /* Emptied before the poll: a report queued after it writes again. */
        if (evs[i].data.fd == wh->dr_pipe[0])
            while (read(wh->dr_pipe[0], drained, sizeof(drained)) > 0)
                ;
    }
    rd_kafka_poll(wh->producer, 0);
    wh_expire(wh);
    return MHD_run(wh->daemon) == MHD_YES ? 0 : -1;
}

void webhook_quiesce(struct webhook *wh)
{
    atomic_store(&wh->stopping, 1);
    MHD_socket fd = MHD_quiesce_daemon(wh->daemon);

    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

int webhook_in_flight(struct webhook *wh)
{
    return atomic_load(&wh->in_flight);
}

int webhook_suspended(struct webhook *wh)
{
    return wh->suspended;
}

void webhook_stop(struct webhook *wh)
{
    if (!wh)
        return;
    wh_unwatch(wh);
    MHD_stop_daemon(wh->daemon);
    free(wh);
}
