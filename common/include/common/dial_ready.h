/* What the notifier may know about placing calls before it asks Kafka to carry a request (issue
 * 18): per tenant, whether it has a UIS API key; per CRM user, the UIS employee it is linked to,
 * or none. The facts live in PostgreSQL; the compacted topic crm.dial-readiness.v1 carries them
 * to the notifier (which has no PostgreSQL). This module is the topic's one contract: the records
 * (made by crmctl and the reconciler, read by the notifier) and their publication. */
#ifndef COMMON_DIAL_READY_H
#define COMMON_DIAL_READY_H

#include <stddef.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#define DIALREADY_TENANT_MAX 64
#define DIALREADY_USER_MAX   20

/* One record, parsed. A tenant record has user[0] == '\0'. */
struct dialready_rec {
    char tenant[DIALREADY_TENANT_MAX];
    char user[DIALREADY_USER_MAX]; /* canonical decimal user id; "" in a tenant record */
    int uis_key;                   /* tenant record: 1 when the tenant has a UIS API key */
    long long employee_id;         /* user record: the linked UIS employee, 0 when none */
};

/* Key and value of a tenant record: key "{tenant}", value {"tenant","uis_key"}. The value is a
 * new string (free it); NULL when out of memory or the tenant id does not fit. */
char *dialready_tenant_value(const char *tenant, int uis_key);

/* Key "{tenant}/{user_id}", value {"tenant","user_id","uis_employee_id"} (null when none). */
char *dialready_user_value(const char *tenant, long long user_id, long long employee_id);

/* Parse a record and check it against its key. A tombstone (value NULL) is refused: the notifier
 * then keeps what it knew, and the reconciler's next publication says the truth. Returns 0, or -1
 * with the reason in err. */
int dialready_parse(const char *key, size_t keylen, const char *value, size_t len,
                    struct dialready_rec *out, char *err, size_t errlen);

/* Publish tenant's state (its record and one per user) from PostgreSQL, in a transaction holding
 * the tenant's dial-readiness advisory lock until Kafka acknowledged every record: two
 * publishers of one tenant (crmctl, reconciler replicas) take turns, and the later one read the
 * later state, so the topic's last record is never older than the database. source is the
 * CloudEvents source. Returns the records published (0: no such tenant), or -1 with the reason
 * in err. */
int dialready_publish(PGconn *conn, rd_kafka_t *producer, const char *topic, const char *source,
                      const char *tenant, int timeout_ms, char *err, size_t errlen);

#endif
