#include "http.h"

#include "assets.h"
#include "auth.h"
#include "calls.h"
#include "dialready.h"
#include "common/listen_addr.h"
#include "common/log.h"
#include "cors.h"
#include "common/ids.h"
#include "event_id.h"
#include "hub.h"

#include <errno.h>
#include <linux/sockios.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HTTP_STREAM_PATH "/v1/popups/stream"
#define HTTP_CALLS_PATH  "/v1/calls"
#define HTTP_BLOCK       512  /* only HTTP/1.0 streams use it: chunked ones write into the pool */
#define HTTP_DIRECT_MAX  4096 /* larger events go through libmicrohttpd (http_write) */

struct http {
    struct MHD_Daemon *daemon;
    struct hub *hub;
    struct http_cfg cfg;
    char csp[512];
};

struct http_stream {
    struct http *srv;
    struct hub_conn *hc;
    struct MHD_Connection *conn;
    int fd;
    int chunked; /* HTTP/1.1: the body is chunked; HTTP/1.0: it ends with the connection */
};

static void http_suspend(void *handle)
{
    struct http_stream *st = handle;

    MHD_suspend_connection(st->conn);
}

static void http_resume(void *handle)
{
    struct http_stream *st = handle;

    MHD_resume_connection(st->conn);
}

/* A suspended stream's socket is idle in libmicrohttpd: it wrote everything it had before it
 * asked for more (and suspended), and neither reads, writes nor closes the socket until the
 * stream is resumed. So an event goes straight to the socket, framed as the library frames
 * its own chunks, and the stream stays suspended. Only a frame that surely fits is written:
 * a socket with bytes still unsent or unacknowledged, or a large event, is left to the
 * library (0) — a frame cut in the middle could not be finished by it. */
static int http_write(void *handle, const char *data, size_t len)
{
    struct http_stream *st = handle;
    char head[24], b;
    struct iovec iov[3];
    struct msghdr msg = {0};
    size_t total = len;
    ssize_t n;
    int outq = 0;

    if (st->fd < 0)
        return 0;
    /* The client hung up: what the library would see on its next read. */
    n = recv(st->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return -1;
    if (len > HTTP_DIRECT_MAX || ioctl(st->fd, SIOCOUTQ, &outq) < 0 || outq > 0)
        return 0;
    iov[0] = (struct iovec){(void *)data, len};
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    if (st->chunked) {
        int hl = snprintf(head, sizeof(head), "%zx\r\n", len);

        iov[0] = (struct iovec){head, (size_t)hl};
        iov[1] = (struct iovec){(void *)data, len};
        iov[2] = (struct iovec){"\r\n", 2};
        msg.msg_iovlen = 3;
        total = (size_t)hl + len + 2;
    }
    do {
        n = sendmsg(st->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)total)
        return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return -1;
}

const struct hub_ops *http_hub_ops(void)
{
    static const struct hub_ops ops = {http_suspend, http_resume, http_write};

    return &ops;
}

static void http_cors(struct http *s, struct MHD_Connection *conn, struct MHD_Response *resp)
{
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");

    MHD_add_response_header(resp, "Vary", "Origin");
    if (!cors_allowed(s->cfg.cors, origin))
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    if (cors_credentials(s->cfg.cors))
        MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
}

/* Answer with the JSON object o (taken over). */
static enum MHD_Result http_reply(struct http *s, struct MHD_Connection *conn, unsigned status,
                                  json_t *o)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    json_decref(o);
    if (!body)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    http_cors(s, conn, resp);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer error=\"invalid_token\"");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE || status == MHD_HTTP_TOO_MANY_REQUESTS) {
        char retry[24];

        snprintf(retry, sizeof(retry), "%ld", s->cfg.retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, OPTIONS");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result http_json(struct http *s, struct MHD_Connection *conn, unsigned status,
                                 const char *error, const char *reason)
{
    json_t *o = json_pack("{s:s}", "error", error);

    if (o && reason)
        json_object_set_new(o, "reason", json_string(reason));
    return http_reply(s, conn, status, o);
}

static ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_stream *st = cls;
    ssize_t n = hub_read(st->srv->hub, st->hc, buf, max);

    (void)pos;
    if (n == HUB_READ_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == HUB_READ_ABORT)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void http_stream_free(void *cls)
{
    struct http_stream *st = cls;

    hub_disconnect(st->srv->hub, st->hc);
    free(st);
}

static enum MHD_Result http_stream(struct http *s, struct MHD_Connection *conn, const char *version)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const char *token;
    size_t toklen;
    struct auth_user who;
    char err[128];
    struct evid last;
    int last_state;
    struct http_stream *st;
    struct MHD_Response *resp;
    enum hub_connect_result rc;
    enum MHD_Result ret;

    auth_pick(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
              MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "popup_token"),
              MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token"), &token, &toklen);
    if (auth_verify(s->cfg.keys, token, toklen, (long)time(NULL), &who, err, sizeof(err)) < 0) {
        hub_count_connect(s->hub, "unauthorized");
        return http_json(s, conn, MHD_HTTP_UNAUTHORIZED, "unauthorized", err);
    }
    last_state = evid_from_request(
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID"),
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "lastEventId"), &last);
    st = calloc(1, sizeof(*st));
    if (!st)
        return http_json(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "out of memory");
    st->srv = s;
    st->conn = conn;
    st->fd = ci ? ci->connect_fd : -1;
    /* What libmicrohttpd 0.9.75 does for a response of unknown size (setup_reply_properties). */
    st->chunked = strcmp(version, MHD_HTTP_VERSION_1_0) != 0;
    rc = hub_connect(s->hub, &who, last_state, &last, st, &st->hc);
    if (rc != HUB_CONNECTED) {
        free(st);
        if (rc == HUB_REVOKED)
            return http_json(s, conn, MHD_HTTP_UNAUTHORIZED, "unauthorized", "token revoked");
        if (rc == HUB_USER_LIMIT)
            return http_json(s, conn, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_streams",
                             "this user has the most streams allowed open");
        return http_json(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                         rc == HUB_CLOSING ? "shutting down" : "too many streams");
    }
    /* The block is allocated with every response but used only by HTTP/1.0 streams (chunked
     * ones are read straight into the connection's pool): 512 bytes a stream saved. */
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, st->chunked ? 1 : HTTP_BLOCK,
                                             http_stream_read, st, http_stream_free);
    if (!resp) {
        http_stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* nginx and similar proxies must pass events through, not buffer them. */
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    http_cors(s, conn, resp);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp); /* the connection holds it; http_stream_free runs at its end */
    log_debug("stream opened", json_pack("{s:s, s:s, s:i}", "tenant", who.tenant, "user", who.user,
                                         "replay", last_state));
    return ret;
}

static enum MHD_Result http_preflight(struct http *s, struct MHD_Connection *conn,
                                      const char *methods, const char *headers)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    http_cors(s, conn, resp);
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", methods);
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", headers);
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result http_asset(struct http *s, struct MHD_Connection *conn, const char *url)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (strcmp(url, "/") == 0 || strcmp(url, "/popup") == 0)
        url = "/index.html";
    for (size_t i = 0; i < assets_count; i++) {
        if (strcmp(assets[i].path, url) != 0)
            continue;
        resp = MHD_create_response_from_buffer(assets[i].len, (void *)assets[i].data,
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, assets[i].type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        MHD_add_response_header(resp, "Content-Security-Policy", s->csp);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        /* The page's address holds the token: never send it to anyone as a referrer. */
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    return http_json(s, conn, MHD_HTTP_NOT_FOUND, "not_found", NULL);
}

/* ---- POST /v1/calls (issue 18): the body is read, the request produced, and the connection
 * suspended until Kafka acknowledges it (the answer promises it is durably there). ---- */

enum { HTTP_CALL_READING, HTTP_CALL_WAITING, HTTP_CALL_DONE };

struct http_call {
    struct kafka_delivery d; /* its report resumes the connection */
    struct MHD_Connection *conn;
    atomic_int phase;
    int send_failed;
    size_t len;
    int too_large;
    struct callreq r;
    char body[CALLREQ_BODY_MAX + 1];
};

static int http_seen; /* the con_cls of every request but a call request */

static void http_call_delivered(struct kafka_delivery *d)
{
    struct http_call *hc = d->ctx;

    atomic_store(&hc->phase, HTTP_CALL_DONE);
    MHD_resume_connection(hc->conn);
}

/* 409 when a dial-readiness record says the call cannot be placed: -1 with the answer in
 * *answer. 0 when nothing says so (the dialer checks again). */
static int http_call_ready(struct http *s, struct MHD_Connection *conn, const struct callreq *r,
                           const char *user, enum MHD_Result *answer)
{
    enum dialready_verdict v =
        s->cfg.ready ? dialready_check(s->cfg.ready, r->tenant, user) : DIALREADY_UNKNOWN;

    if (v == DIALREADY_NO_KEY) {
        calls_count(s->cfg.calls, "no_uis_key");
        *answer = http_json(s, conn, MHD_HTTP_CONFLICT, "no_uis_key",
                            "the company has no UIS API key (crmctl tenant uis-key)");
        return -1;
    }
    if (v == DIALREADY_NOT_LINKED) {
        calls_count(s->cfg.calls, "not_linked");
        *answer = http_json(s, conn, MHD_HTTP_CONFLICT, "not_linked",
                            "the user is not linked to a UIS employee (crmctl uis link)");
        return -1;
    }
    return 0;
}

/* The whole body is in: check who asks and what, then hand the request to Kafka. */
static enum MHD_Result http_call_begin(struct http *s, struct MHD_Connection *conn,
                                       struct http_call *hc)
{
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *token, *field = "body";
    size_t toklen;
    struct auth_user who;
    char err[160] = "";
    enum MHD_Result refused;

    auth_pick(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
              MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "popup_token"),
              MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token"), &token, &toklen);
    if (auth_verify(s->cfg.keys, token, toklen, (long)time(NULL), &who, err, sizeof(err)) < 0 ||
        !hub_token_allowed(s->hub, &who)) {
        calls_count(s->cfg.calls, "unauthorized");
        return http_json(s, conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                         err[0] ? err : "token revoked");
    }
    /* A JSON content type cannot be sent cross-origin without a preflight: with the cookie
     * accepted, that is what keeps other sites from placing calls (CSRF). */
    if (!ctype || strncmp(ctype, "application/json", 16) != 0) {
        calls_count(s->cfg.calls, "bad_request");
        return http_json(s, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                         "send the body as application/json");
    }
    if (hc->too_large ||
        callreq_from_body(hc->body, hc->len, &hc->r, &field, err, sizeof(err)) < 0) {
        calls_count(s->cfg.calls, "bad_request");
        return http_json(s, conn, MHD_HTTP_BAD_REQUEST,
                         field && strcmp(field, "phone") == 0 ? "number_not_callable"
                                                              : "bad_request",
                         hc->too_large ? "body is larger than 1024 bytes" : err);
    }
    snprintf(hc->r.tenant, sizeof(hc->r.tenant), "%s", who.tenant);
    hc->r.user_id = strtoll(who.user, NULL, 10);
    ids_rfc3339(ids_now_us(), hc->r.requested_at);
    if (ids_uuid4(hc->r.request_id) < 0)
        return http_json(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "no randomness");
    if (http_call_ready(s, conn, &hc->r, who.user, &refused) < 0)
        return refused;
    if (calls_reserve(s->cfg.calls, &hc->r) < 0) {
        calls_count(s->cfg.calls, "too_many");
        return http_json(s, conn, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_calls",
                         "wait for the answer to your earlier calls");
    }
    hc->conn = conn;
    hc->d.done = http_call_delivered;
    hc->d.ctx = hc;
    atomic_store(&hc->phase, HTTP_CALL_WAITING);
    /* Suspended before the produce: the report may come at once, on the polling thread. */
    MHD_suspend_connection(conn);
    if (calls_send(s->cfg.calls, &hc->r,
                   MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent"), &hc->d, err,
                   sizeof(err)) < 0) {
        log_warn("call request not produced", json_pack("{s:s}", "reason", err));
        hc->send_failed = 1;
        atomic_store(&hc->phase, HTTP_CALL_DONE);
        MHD_resume_connection(conn);
    }
    return MHD_YES;
}

static enum MHD_Result http_call_step(struct http *s, struct MHD_Connection *conn,
                                      struct http_call *hc, const char *upload_data,
                                      size_t *upload_size)
{
    int phase = atomic_load(&hc->phase);

    if (*upload_size) {
        if (hc->len + *upload_size > CALLREQ_BODY_MAX)
            hc->too_large = 1;
        else
            memcpy(hc->body + hc->len, upload_data, *upload_size);
        hc->len += hc->too_large ? 0 : *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (phase == HTTP_CALL_READING)
        return http_call_begin(s, conn, hc);
    if (phase == HTTP_CALL_WAITING)
        return MHD_YES;
    if (hc->send_failed || hc->d.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        calls_release(s->cfg.calls, hc->r.tenant, hc->r.request_id);
        calls_count(s->cfg.calls, "unavailable");
        return http_json(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                         "the call request could not be stored: try again");
    }
    calls_count(s->cfg.calls, "accepted");
    return http_reply(s, conn, MHD_HTTP_ACCEPTED,
                      json_pack("{s:s}", "request_id", hc->r.request_id));
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    if (*con_cls && *con_cls != &http_seen)
        free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_size, void **con_cls)
{
    struct http *s = cls;

    if (*con_cls == NULL) {
        *con_cls = &http_seen;
        if (s->cfg.calls && strcmp(url, HTTP_CALLS_PATH) == 0 &&
            strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
            *con_cls = calloc(1, sizeof(struct http_call));
            if (!*con_cls)
                return MHD_NO;
        }
        return MHD_YES;
    }
    if (*con_cls != &http_seen)
        return http_call_step(s, conn, *con_cls, upload_data, upload_size);
    if (*upload_size) {
        *upload_size = 0; /* no endpoint takes a body */
        return MHD_YES;
    }
    if (strcmp(url, HTTP_STREAM_PATH) == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0)
            return http_preflight(s, conn, "GET, OPTIONS",
                                  "Authorization, Last-Event-ID, Cache-Control");
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
            return http_json(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL);
        return http_stream(s, conn, version);
    }
    if (strcmp(url, HTTP_CALLS_PATH) == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0)
            return http_preflight(s, conn, "POST, OPTIONS",
                                  "Authorization, Content-Type, traceparent");
        if (!s->cfg.calls)
            return http_json(s, conn, MHD_HTTP_NOT_FOUND, "not_found", "click-to-call is off");
        return http_json(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return http_json(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL);
    return http_asset(s, conn, url);
}

/* frame-ancestors: the CRM's listed origins may embed the page; nobody else may. */
static void http_build_csp(struct http *s)
{
    char anc[256] = "'self'";
    const char *p = s->cfg.cors;

    while (p && *p && strcmp(s->cfg.cors, "*") != 0) {
        size_t n = strcspn(p, ",");
        size_t used = strlen(anc);

        if (used + n + 2 < sizeof(anc)) {
            anc[used] = ' ';
            memcpy(anc + used + 1, p, n);
            anc[used + 1 + n] = '\0';
        }
        p += n + (p[n] == ',');
    }
    snprintf(s->csp, sizeof(s->csp),
             "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors %s",
             anc);
}

struct http *http_start(const struct http_cfg *cfg, struct hub *hub, char *err, size_t errlen)
{
    struct http *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    char why[128];

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->hub = hub;
    http_build_csp(s);
    if (listen_addr_ipv4(cfg->addr, cfg->port, &sin, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "HTTP_ADDR: %s", why);
        free(s);
        return NULL;
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC,
        (uint16_t)cfg->port, NULL, NULL, http_handle, s, MHD_OPTION_SOCK_ADDR, &sin,
        MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->conn_memory,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096U, MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_limit, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "stream server: cannot listen on %s:%u (port in use?)", cfg->addr,
                 cfg->port);
        free(s);
        return NULL;
    }
    return s;
}

void http_quiesce(struct http *s)
{
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);

    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void http_stop(struct http *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
