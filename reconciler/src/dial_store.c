#include "dial_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pgconn.h"

static const char DIAL_SQL_CONTEXT[] =
    "SELECT coalesce(t.uis_api_key, ''),"
    " (SELECT e.employee_id FROM uis_employees e WHERE e.tenant_id = t.id AND e.user_id = $2),"
    " coalesce(nullif(t.uis_virtual_number, ''),"
    "  (SELECT c.facts->>'virt' FROM router_calls c"
    "    WHERE c.tenant_id = t.id AND c.updated_at > now() - interval '30 days'"
    "      AND coalesce(c.facts->>'virt', '') <> ''"
    "    ORDER BY c.updated_at DESC LIMIT 1), '')"
    " FROM tenants t WHERE t.id = $1";

int dial_store_context(PGconn *conn, const struct callreq *r, struct dial_ctx *ctx, char *err,
                       size_t errlen)
{
    char uid[24];
    const char *p[2] = {r->tenant, uid};
    PGresult *res;

    memset(ctx, 0, sizeof(*ctx));
    snprintf(uid, sizeof(uid), "%lld", r->user_id);
    if (pgconn_query(conn, DIAL_SQL_CONTEXT, 2, p, &res, "call request context", err, errlen) < 0)
        return -1;
    if (PQntuples(res) == 1) {
        ctx->tenant_found = 1;
        snprintf(ctx->key, sizeof(ctx->key), "%s", PQgetvalue(res, 0, 0));
        if (!PQgetisnull(res, 0, 1))
            ctx->employee_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        /* A stored number that is not E.164 (edited by hand) is not used. */
        if (phone_normalize(PQgetvalue(res, 0, 2), ctx->virtual_number,
                            sizeof(ctx->virtual_number)) != PHONE_OK)
            ctx->virtual_number[0] = '\0';
    }
    PQclear(res);
    return 0;
}

static const char DIAL_SQL_CLAIM[] =
    "INSERT INTO call_requests (tenant_id, request_id, user_id, phone, counterparty_id)"
    " VALUES ($1, $2, $3::bigint, $4, nullif($5, '0')::bigint)"
    " ON CONFLICT (tenant_id, request_id) DO NOTHING RETURNING 1";
static const char DIAL_SQL_PRIOR[] =
    "SELECT status, coalesce(reason, ''), coalesce(call_session_id, ''), coalesce(detail, '')"
    " FROM call_requests WHERE tenant_id = $1 AND request_id = $2";

/* The reason words a stored row may hold, as static strings. */
static const char *dial_store_word(const char *w)
{
    static const char *const words[] = {"calling",
                                        "not_linked",
                                        "employee_not_found",
                                        "contact_in_blacklist",
                                        "no_active_phone_number",
                                        "no_uis_key",
                                        "no_virtual_number",
                                        "virtual_phone_number_not_found",
                                        "key_rejected",
                                        "ip_denied",
                                        "account_inactive",
                                        "call_api_disabled",
                                        "limit_exceeded",
                                        "number_not_callable",
                                        "expired",
                                        "no_answer"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(words[i], w) == 0)
            return words[i];
    }
    return "uis_error";
}

static int dial_store_prior(PGconn *conn, const char *const *p, struct dial_outcome *prior,
                            int *was_claimed, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, DIAL_SQL_PRIOR, 2, NULL, p, NULL, NULL, 0);
    const char *status;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pgconn_error(conn, res, "call request read", err, errlen);
        PQclear(res);
        return -1;
    }
    status = PQgetvalue(res, 0, 0);
    *was_claimed = strcmp(status, "claimed") == 0;
    if (*was_claimed || strcmp(status, "unknown") == 0)
        dial_outcome_set(prior, DIAL_UNKNOWN, "no_answer");
    else if (strcmp(status, "calling") == 0)
        dial_outcome_set(prior, DIAL_CALLING, "calling");
    else
        dial_outcome_set(prior, DIAL_FAILED, dial_store_word(PQgetvalue(res, 0, 1)));
    snprintf(prior->call_session_id, sizeof(prior->call_session_id), "%s", PQgetvalue(res, 0, 2));
    snprintf(prior->detail, sizeof(prior->detail), "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    return 0;
}

int dial_store_claim(PGconn *conn, const struct callreq *r, struct dial_outcome *prior,
                     int *was_claimed, char *err, size_t errlen)
{
    char uid[24], cp[24];
    const char *p[5] = {r->tenant, r->request_id, uid, r->phone, cp};
    PGresult *res;
    int made;

    *was_claimed = 0;
    snprintf(uid, sizeof(uid), "%lld", r->user_id);
    snprintf(cp, sizeof(cp), "%lld", r->counterparty_id);
    if (pgconn_query(conn, DIAL_SQL_CLAIM, 5, p, &res, "call request claim", err, errlen) < 0)
        return -1;
    made = PQntuples(res) == 1;
    PQclear(res);
    if (made)
        return 1;
    return dial_store_prior(conn, p, prior, was_claimed, err, errlen) < 0 ? -1 : 0;
}

static const char DIAL_SQL_FINISH[] =
    "UPDATE call_requests SET status = $3, reason = nullif($4, 'calling'), detail = nullif($5, ''),"
    " employee_id = nullif($6, '0')::bigint, virtual_number = nullif($7, ''),"
    " call_session_id = nullif($8, ''), finished_at = now()"
    " WHERE tenant_id = $1 AND request_id = $2 AND status IN ('claimed', 'unknown')";

int dial_store_finish(PGconn *conn, const struct callreq *r, const struct dial_outcome *o,
                      long long employee_id, const char *virtual_number, char *err, size_t errlen)
{
    char emp[24];
    const char *p[8] = {r->tenant,      r->request_id,     dial_status_name(o->status),
                        o->reason,      o->detail,         emp,
                        virtual_number, o->call_session_id};

    snprintf(emp, sizeof(emp), "%lld", employee_id);
    return pgconn_query(conn, DIAL_SQL_FINISH, 8, p, NULL, "call request finish", err, errlen);
}
