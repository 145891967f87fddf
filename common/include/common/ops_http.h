/* The operations endpoint every service serves on its own port: /healthz (the process loop is
 * alive), /readyz (it can do its work now: dependencies reachable) and /metrics. */
#ifndef COMMON_OPS_HTTP_H
#define COMMON_OPS_HTTP_H

#include <stddef.h>

struct metrics_registry;
struct ops_http;

/* Readiness check: return 1 when ready, 0 when not, with a short reason in why. Called from
 * the ops server's thread: it must only read state that is safe to read concurrently. */
typedef int (*ops_ready_fn)(void *ctx, char *why, size_t whylen);

/* Start serving on addr:port. reg and ctx stay owned by the caller and must outlive the
 * server. Returns NULL with a reason in err. */
struct ops_http *ops_http_start(const char *addr, unsigned port, struct metrics_registry *reg,
                                ops_ready_fn ready, void *ctx, char *err, size_t errlen);

/* Liveness: the service loop calls this on each turn; /healthz fails when the loop has not
 * beaten for stall_ms (a stuck loop is restarted by Kubernetes). */
void ops_http_heartbeat(struct ops_http *ops);
void ops_http_set_stall_ms(struct ops_http *ops, long stall_ms);

/* Stop and free. NULL is ignored. */
void ops_http_stop(struct ops_http *ops);

#endif
