#include "common/dial_ready_pub.h"

#include "common/dial_ready.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cloudevents.h"
#include "common/kafka_batch.h"
#include "common/pgconn.h"

/* The lock's first half names the use (two-key advisory locks: the reconciler's passes take the
 * one-key form). */
static const char DIALREADY_SQL_LOCK[] =
    "SELECT pg_advisory_xact_lock(hashtext('dial-readiness'), hashtext($1))";
static const char DIALREADY_SQL_STATE[] =
    "SELECT NULL::bigint, NULL::bigint, coalesce(t.uis_api_key, '') <> ''"
    " FROM tenants t WHERE t.id = $1"
    " UNION ALL"
    " SELECT u.id, e.employee_id, false FROM users u"
    "  LEFT JOIN uis_employees e ON e.tenant_id = u.tenant_id AND e.user_id = u.id"
    "  WHERE u.tenant_id = $1";

static int dialready_queue(struct kafka_batch *kb, const char *topic, const char *source,
                           const char *key, char *value, int timeout_ms, char *err, size_t errlen)
{
    struct ce_attrs ce;
    struct traceparent tp;
    rd_kafka_headers_t *hdrs = NULL;
    int rc;

    if (!value) {
        snprintf(err, errlen, "dial-readiness record of %s: out of memory or bad id", key);
        return -1;
    }
    if (tp_generate(&tp) == 0 &&
        ce_attrs_init(&ce, NULL, "ru.crm.dial.readiness", source, &tp) == 0)
        hdrs = ce_headers_new(&ce);
    /* kafka_batch_produce copies the value and takes the headers over. */
    rc = hdrs ? kafka_batch_produce(kb, topic, key, strlen(key), value, strlen(value), hdrs,
                                    timeout_ms, err, errlen)
              : -1;
    if (!hdrs)
        snprintf(err, errlen, "dial-readiness headers: out of memory");
    free(value);
    return rc < 0 ? -1 : 0;
}

/* Queue every row of res (tenant first) onto kb. */
static int dialready_queue_all(struct kafka_batch *kb, const PGresult *res, const char *topic,
                               const char *source, const char *tenant, int timeout_ms, char *err,
                               size_t errlen)
{
    char key[DIALREADY_TENANT_MAX + DIALREADY_USER_MAX + 1];

    for (int i = 0; i < PQntuples(res); i++) {
        char *value;

        if (PQgetisnull(res, i, 0)) {
            snprintf(key, sizeof(key), "%s", tenant);
            value = dialready_tenant_value(tenant, strcmp(PQgetvalue(res, i, 2), "t") == 0);
        } else {
            long long uid = strtoll(PQgetvalue(res, i, 0), NULL, 10);

            snprintf(key, sizeof(key), "%s/%lld", tenant, uid);
            value = dialready_user_value(
                tenant, uid, PQgetisnull(res, i, 1) ? 0 : strtoll(PQgetvalue(res, i, 1), NULL, 10));
        }
        if (dialready_queue(kb, topic, source, key, value, timeout_ms, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int dialready_publish(PGconn *conn, rd_kafka_t *producer, const char *topic, const char *source,
                      const char *tenant, int timeout_ms, char *err, size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;
    struct kafka_batch *kb = NULL;
    int n = -1;

    if (pgconn_query(conn, "BEGIN", 0, NULL, NULL, "dial readiness", err, errlen) < 0)
        return -1;
    if (pgconn_query(conn, DIALREADY_SQL_LOCK, 1, p, NULL, "dial readiness lock", err, errlen) <
            0 ||
        pgconn_query(conn, DIALREADY_SQL_STATE, 1, p, &res, "dial readiness", err, errlen) < 0)
        goto out;
    /* No tenant row: the users' rows went with it (cascade), nothing to say. */
    if (PQntuples(res) == 0) {
        n = 0;
        goto out;
    }
    kb = kafka_batch_new(producer, (size_t)PQntuples(res));
    if (!kb)
        snprintf(err, errlen, "dial readiness: out of memory");
    else if (dialready_queue_all(kb, res, topic, source, tenant, timeout_ms, err, errlen) == 0 &&
             kafka_batch_wait(kb, timeout_ms, err, errlen) == 0)
        n = PQntuples(res);
out:
    kafka_batch_free(kb);
    PQclear(res);
    /* Nothing was written: the transaction only held the lock (a failed ROLLBACK leaves the
     * connection broken, which its next query reports). */
    if (n < 0)
        PQclear(PQexec(conn, "ROLLBACK"));
    else if (pgconn_query(conn, "COMMIT", 0, NULL, NULL, "dial readiness", err, errlen) < 0)
        n = -1;
    return n;
}
