/* The webhook HTTP server: POST /v1/uis/{tenant}/{token} → uis.call-events.v1, answered only
 * once the broker has the event (the connection is suspended meanwhile, never a blocked
 * thread). Refusals go to the rejected topic before their 400/413 is sent. */
#ifndef INGEST_WEBHOOK_H
#define INGEST_WEBHOOK_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "common/metrics.h"
#include "common/webhook_token.h"
#include "token_map.h"

struct webhook_cfg {
    const char *addr;
    unsigned port;
    size_t max_body;
    unsigned conn_limit;
    unsigned per_ip_limit; /* connections from one address, 0: no limit */
    unsigned conn_timeout_s;
    size_t conn_memory; /* libmicrohttpd's pool per connection, cleared for every request */
    unsigned retry_after_s;
    long deadline_ms; /* a request not acknowledged by then gets 503 */
    const char *topic_events;
    const char *topic_rejected;
};

struct webhook_metrics {
    struct metrics_family *requests;  /* by code */
    struct metrics_family *refusals;  /* by field */
    struct metrics_family *delivery;  /* seconds from request to delivery report */
    struct metrics_family *in_flight; /* requests being read or waiting for Kafka */
};

/* Register the metrics in reg. Returns 0 or -1. */
int webhook_metrics_init(struct webhook_metrics *mx, struct metrics_registry *reg);

struct webhook;

/* Start listening. Every pointer is borrowed and must outlive the server; the producer must
 * have been made by kafka_producer_new (its delivery reports resume the connections) and is
 * polled by webhook_run only: every function here runs on the one thread that calls
 * webhook_run. Returns NULL with the reason in err. */
struct webhook *webhook_start(const struct webhook_cfg *cfg, rd_kafka_t *producer,
                              const struct keyring *keys, struct token_map *tokens,
                              struct webhook_metrics *mx, char *err, size_t errlen);

/* One iteration of the server's loop: wait up to timeout_ms for HTTP traffic or delivery
 * reports, run the reports (resuming their connections), answer 503 to every request whose
 * delivery deadline passed, then let libmicrohttpd read, call the handlers and send the
 * answers. Returns 0, or -1 when the loop cannot go on (epoll or libmicrohttpd failed). */
int webhook_run(struct webhook *wh, int timeout_ms);

/* Stop accepting new connections and suspending requests (a request that reaches Kafka from
 * now on gets 503 at once); requests already waiting go on. */
void webhook_quiesce(struct webhook *wh);

/* Requests accepted and not yet completed. */
int webhook_in_flight(struct webhook *wh);

/* Requests whose connection is suspended (waiting for their delivery report or deadline, or
 * answered and not yet picked up by their HTTP thread). After webhook_quiesce it only falls,
 * and webhook_run brings it to 0 within the delivery deadline. */
int webhook_suspended(struct webhook *wh);

/* Close every connection and free. Call after webhook_quiesce, once webhook_suspended() is 0
 * (libmicrohttpd aborts when stopped with a suspended connection). Delivery reports that come
 * later find their tickets detached and touch nothing of the server. NULL is ignored. */
void webhook_stop(struct webhook *wh);

#endif
