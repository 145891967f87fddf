/* Publication of a tenant's dial readiness (common/dial_ready.h) from PostgreSQL onto the
 * compacted topic: crmctl after its commands, the reconciler at start and on schedule. */
#ifndef COMMON_DIAL_READY_PUB_H
#define COMMON_DIAL_READY_PUB_H

#include <stddef.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

/* Publish tenant's state (its record and one per user) from PostgreSQL, in a transaction holding
 * the tenant's dial-readiness advisory lock until Kafka acknowledged every record: two
 * publishers of one tenant (crmctl, reconciler replicas) take turns, and the later one read the
 * later state, so the topic's last record is never older than the database. source is the
 * CloudEvents source. Returns the records published (0: no such tenant), or -1 with the reason
 * in err. */
int dialready_publish(PGconn *conn, rd_kafka_t *producer, const char *topic, const char *source,
                      const char *tenant, int timeout_ms, char *err, size_t errlen);

#endif
