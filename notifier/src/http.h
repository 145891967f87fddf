/* The HTTP edge (libmicrohttpd, one epoll thread): the SSE stream GET /v1/popups/stream, its
 * CORS preflight, POST /v1/calls (click-to-call, calls.h), and the popup page compiled into the
 * binary (/ and /popup). Streams are responses fed by a content reader that suspends the connection
 * when the hub has nothing queued, so 10,000 idle streams cost no thread and no wake-up; events
 * for a suspended stream are written straight to its socket (http_write), without resuming it. */
#ifndef NOTIFIER_HTTP_H
#define NOTIFIER_HTTP_H

#include <stddef.h>

struct hub;
struct calls;
struct dialready;
struct keyring;
struct hub_ops;
struct http;

struct http_cfg {
    const char *addr;
    unsigned port;
    const struct keyring *keys; /* popup token keys; kept by the caller */
    const char *cors;           /* cors.h: "", "*" or a list of origins */
    unsigned conn_limit;        /* sockets the library accepts (above the hub's stream limit, so
                                   refusals can still be answered) */
    unsigned per_ip_limit;      /* connections from one address, 0: no limit */
    unsigned idle_timeout_s;
    size_t conn_memory; /* per-connection buffer pool */
    long retry_after_s;
    struct calls *calls;     /* POST /v1/calls; NULL: click-to-call is off. Kept by the caller */
    struct dialready *ready; /* what may refuse a call at once; NULL: none. Kept by the caller */
};

/* How the hub suspends and resumes streams (libmicrohttpd calls). */
const struct hub_ops *http_hub_ops(void);

/* Listen. hub stays owned by the caller and must outlive the server. NULL with the reason in
 * err. */
struct http *http_start(const struct http_cfg *cfg, struct hub *hub, char *err, size_t errlen);

/* Stop accepting connections (the streams already open continue). */
void http_quiesce(struct http *s);

/* Stop the server: call after hub_close_all, once streams ended or the drain time is over. */
void http_stop(struct http *s);

#endif
