#include "store.h"

#include "common/log.h"
#include "common/pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OID_INT8  20
#define OID_JSONB 3802

int rt_store_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    return pgconn_query(conn, sql, 0, NULL, NULL, sql, err, errlen);
}

/* A jsonb parameter [{"t":tenant,"c":call_id}, ...]; NULL on allocation failure. */
static char *rt_keys_param(const struct rt_call_slot *slots, size_t n, int with_facts)
{
    json_t *arr = json_array();
    char *text;

    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s}", "t", slots[i].tenant, "c", slots[i].call_id);

        if (o && with_facts) {
            json_t *f = rt_facts_to_json(&slots[i].facts);

            if (!f || json_object_set_new(o, "f", f) < 0 ||
                json_object_set_new(o, "s", json_string(rt_facts_state(&slots[i].facts))) < 0) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (!arr)
        return NULL;
    text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* Run sql with the batch's keys (and facts, with_facts) as its one jsonb parameter $1. */
static int rt_store_batch(PGconn *conn, const char *sql, const struct rt_call_slot *slots, size_t n,
                          int with_facts, PGresult **out, const char *what, char *err,
                          size_t errlen)
{
    const Oid types[1] = {OID_JSONB};
    const char *values[1];
    char *param = rt_keys_param(slots, n, with_facts);
    int rc;

    if (!param) {
        snprintf(err, errlen, "router_calls: out of memory");
        return -1;
    }
    values[0] = param;
    rc = pgconn_query_typed(conn, sql, 1, types, values, out, what, err, errlen);
    free(param);
    return rc;
}

int rt_store_load(PGconn *conn, struct rt_call_slot *slots, size_t n, char *err, size_t errlen)
{
    PGresult *res = NULL;

    if (n == 0)
        return 0;
    /* One statement: a placeholder row for a call seen for the first time, and a row lock on
     * every call of the batch (the no-op update locks an existing row and returns its facts).
     * Two replicas racing on a new call then serialise instead of overwriting each other; the
     * ORDER BY keeps the lock order the same everywhere. */
    if (rt_store_batch(conn,
                       "INSERT INTO router_calls AS r (tenant_id, call_id, state, facts) "
                       "SELECT x.t, x.c, 'ringing', '{}'::jsonb "
                       "FROM jsonb_to_recordset($1::jsonb) AS x(t text, c text) ORDER BY 1, 2 "
                       "ON CONFLICT (tenant_id, call_id) DO UPDATE SET state = r.state "
                       "RETURNING r.tenant_id, r.call_id, r.facts::text AS facts",
                       slots, n, 0, &res, "router_calls lock", err, errlen) < 0)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *tenant = PQgetvalue(res, r, PQfnumber(res, "tenant_id"));
        const char *call_id = PQgetvalue(res, r, PQfnumber(res, "call_id"));
        const char *text = PQgetvalue(res, r, PQfnumber(res, "facts"));
        json_t *j;
        char why[160];

        for (size_t i = 0; i < n; i++) {
            if (strcmp(slots[i].tenant, tenant) != 0 || strcmp(slots[i].call_id, call_id) != 0)
                continue;
            j = json_loads(text, 0, NULL);
            if (j && json_object_size(j) == 0) {
                rt_facts_clear(&slots[i].facts); /* a new call */
            } else if (!j || rt_facts_from_json(j, &slots[i].facts, why, sizeof(why)) < 0) {
                log_error("router_calls facts unreadable, starting afresh",
                          json_pack("{s:s, s:s, s:s}", "tenant", tenant, "call_id", call_id,
                                    "reason", j ? why : "not JSON"));
                rt_facts_clear(&slots[i].facts);
            }
            json_decref(j);
        }
    }
    PQclear(res);
    return 0;
}

int rt_store_save(PGconn *conn, const struct rt_call_slot *slots, size_t n, char *err,
                  size_t errlen)
{
    if (n == 0)
        return 0;
    return rt_store_batch(
        conn,
        "INSERT INTO router_calls (tenant_id, call_id, state, facts, updated_at) "
        "SELECT x.t, x.c, x.s::contact_state, x.f, now() "
        "FROM jsonb_to_recordset($1::jsonb) AS x(t text, c text, s text, f jsonb) "
        "ON CONFLICT (tenant_id, call_id) DO UPDATE SET state = EXCLUDED.state, "
        "facts = EXCLUDED.facts, updated_at = now()",
        slots, n, 1, NULL, "router_calls save", err, errlen);
}

long rt_store_prune(PGconn *conn, long retention_s, long limit, char *err, size_t errlen)
{
    const Oid types[2] = {OID_INT8, OID_INT8};
    char a[24], b[24];
    const char *values[2] = {a, b};
    PGresult *res;
    long count;

    snprintf(a, sizeof(a), "%ld", retention_s);
    snprintf(b, sizeof(b), "%ld", limit);
    if (pgconn_query_typed(conn,
                           "DELETE FROM router_calls WHERE (tenant_id, call_id) IN ("
                           "SELECT tenant_id, call_id FROM router_calls "
                           "WHERE updated_at < now() - $1::int8 * interval '1 second' LIMIT $2)",
                           2, types, values, &res, "router_calls prune", err, errlen) < 0)
        return -1;
    count = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return count;
}
