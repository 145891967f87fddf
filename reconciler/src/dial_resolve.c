#include "dial_resolve.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cloudevents.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/pgconn.h"
#include "dial_msg.h"

/* The row is locked until the outcome is on Kafka: two passes never both send it. */
static const char DIAL_RESOLVE_SQL_FIND[] =
    "SELECT user_id, phone, coalesce(counterparty_id, 0) FROM call_requests"
    " WHERE tenant_id = $1 AND request_id = $2 AND status = 'unknown' FOR UPDATE";
static const char DIAL_RESOLVE_SQL_SET[] =
    "UPDATE call_requests SET status = 'calling', reason = NULL, call_session_id = $3,"
    " detail = 'resolved by the calls report (call_api_external_id)', finished_at = now()"
    " WHERE tenant_id = $1 AND request_id = $2 AND status = 'unknown'";

/* 1 when s has the form of a request id (a UUID): anything else is another system's id. */
static int dial_resolve_is_uuid(const char *s)
{
    if (strlen(s) != IDS_UUID_LEN - 1)
        return 0;
    for (size_t i = 0; s[i]; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return 0;
    }
    return 1;
}

/* The dialer's outcome message, under the popup id of a later outcome: the notifier lets a
 * popup close once, and the request's was closed by its `unknown`. A new string, or NULL. */
static char *dial_resolve_json(const struct callreq *r, const struct dial_outcome *o,
                               const char *at)
{
    char *first = dial_result_json(r, o, at), *s = NULL;
    json_t *obj = first ? json_loads(first, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(obj, "popup_id"));
    char later[IDS_UUID_LEN + CALLREQ_TENANT_MAX + 32];

    if (id) {
        snprintf(later, sizeof(later), "%s:resolved", id);
        if (json_object_set_new(obj, "popup_id", json_string(later)) == 0)
            s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(obj);
    free(first);
    return s;
}

/* The outcome on the user's stream (same ce_id as the dialer's "calling": a duplicate then). */
static int dial_resolve_send(const struct dial_resolve_cfg *cfg, rd_kafka_t *producer,
                             const struct callreq *r, const struct dial_outcome *o, char *err,
                             size_t errlen)
{
    char at[IDS_TIME_LEN], key[CALLREQ_TENANT_MAX + 24], ce_id[IDS_UUID_LEN + 16];
    struct ce_attrs ce;
    struct traceparent tp;
    rd_kafka_headers_t *hdrs = NULL;
    char *value;
    int rc = -1;

    ids_rfc3339(ids_now_us(), at);
    callreq_key(r, key, sizeof(key));
    snprintf(ce_id, sizeof(ce_id), "%s:%s", r->request_id, dial_status_name(o->status));
    value = dial_resolve_json(r, o, at);
    if (value && tp_generate(&tp) == 0 &&
        ce_attrs_init(&ce, ce_id, "ru.crm.popup.call_request", cfg->source, &tp) == 0)
        hdrs = ce_headers_new(&ce);
    if (!hdrs) /* kafka_produce_sync takes the headers over */
        snprintf(err, errlen, "call request outcome: out of memory");
    else
        rc = kafka_produce_sync(producer, cfg->topic_popups, key, strlen(key), value, strlen(value),
                                hdrs, cfg->timeout_ms, err, errlen);
    free(value);
    return rc < 0 ? -1 : 0;
}

int dial_resolve(const struct dial_resolve_cfg *cfg, PGconn *conn, rd_kafka_t *producer,
                 const char *tenant, const char *external_id, const char *call_id, char *err,
                 size_t errlen)
{
    const char *p[3] = {tenant, external_id, call_id};
    struct callreq r = {0};
    struct dial_outcome o;
    PGresult *res = NULL;
    int rc = -1;

    if (!cfg->topic_popups || !cfg->topic_popups[0] || !dial_resolve_is_uuid(external_id))
        return 0;
    if (pgconn_query(conn, "BEGIN", 0, NULL, NULL, "call request resolution", err, errlen) < 0)
        return -1;
    if (pgconn_query(conn, DIAL_RESOLVE_SQL_FIND, 2, p, &res, "call request resolution", err,
                     errlen) < 0)
        goto out;
    if (PQntuples(res) != 1) {
        rc = 0;
        goto out;
    }
    snprintf(r.request_id, sizeof(r.request_id), "%s", external_id);
    snprintf(r.tenant, sizeof(r.tenant), "%s", tenant);
    r.user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(r.phone, sizeof(r.phone), "%s", PQgetvalue(res, 0, 1));
    r.counterparty_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    dial_outcome_set(&o, DIAL_CALLING, "calling");
    snprintf(o.call_session_id, sizeof(o.call_session_id), "%s", call_id);
    if (dial_resolve_send(cfg, producer, &r, &o, err, errlen) == 0 &&
        pgconn_query(conn, DIAL_RESOLVE_SQL_SET, 3, p, NULL, "call request resolution", err,
                     errlen) == 0 &&
        pgconn_query(conn, "COMMIT", 0, NULL, NULL, "call request resolution", err, errlen) == 0)
        rc = 1;
out:
    PQclear(res);
    if (rc != 1)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}
