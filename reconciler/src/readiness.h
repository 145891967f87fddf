/* The reconciler keeps the dial-readiness topic (crm.dial-readiness.v1, common/dial_ready.h)
 * true: crmctl publishes what its commands change, but a lost publication, a key or a link
 * changed by SQL, or a fresh topic would leave the notifier refusing or accepting on stale
 * facts. So every tenant's state is republished at start and then every DIAL_READINESS_S, and a
 * tenant's after each employees sync (which can drop links). */
#ifndef REC_READINESS_H
#define REC_READINESS_H

#include <stddef.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

struct readiness_cfg {
    const char *topic; /* empty: no publication */
    const char *source;
    int timeout_ms;
    /* 1 when tenant is this replica's (RECONCILE_TENANTS), else 0 */
    int (*listed)(const char *list, const char *tenant);
    const char *only;
};

/* Publish every listed tenant's state. Returns the records published, or -1 with the reason in
 * err (the tenants before the failure were published). */
long readiness_round(const struct readiness_cfg *cfg, PGconn *conn, rd_kafka_t *producer, char *err,
                     size_t errlen);

#endif
