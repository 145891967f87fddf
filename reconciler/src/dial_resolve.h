/* An `unknown` call request resolved by the calls report (issue 18): a crash or a lost answer
 * between UIS starting the call and the dialer recording it leaves the request `unknown` (never
 * asked again). UIS reports the call it started with the request id it was given as external_id
 * (get.calls_report's call_api_external_id); the reconciler's pass hands each such row here,
 * which marks the request `calling` with the call's session id and tells the requesting user's
 * stream, as the dialer would have. */
#ifndef RECONCILER_DIAL_RESOLVE_H
#define RECONCILER_DIAL_RESOLVE_H

#include <stddef.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

struct dial_resolve_cfg {
    const char *topic_popups; /* "" or NULL: resolution is off */
    const char *source;       /* ce_source */
    int timeout_ms;
};

/* The report row of call session call_id carried external_id: when it is the id of an
 * `unknown` request of tenant, the request becomes `calling` with call_id, and the outcome is
 * sent to the user's stream (Kafka first: a failed send leaves the row `unknown` for the next
 * pass). Returns 1 when resolved, 0 when there was nothing to resolve, -1 with the reason in
 * err. */
int dial_resolve(const struct dial_resolve_cfg *cfg, PGconn *conn, rd_kafka_t *producer,
                 const char *tenant, const char *external_id, const char *call_id, char *err,
                 size_t errlen);

#endif
