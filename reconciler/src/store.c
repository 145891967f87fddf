#include "store.h"

#include "common/pgconn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t store_i64(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int store_tenants(PGconn *conn, struct store_tenant **out, size_t *n, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT t.id, t.uis_api_key, COALESCE(t.uis_timezone, ''),"
        " (extract(epoch FROM r.watermark) * 1000000)::bigint,"
        " (extract(epoch FROM r.pass_from) * 1000000)::bigint,"
        " (extract(epoch FROM r.pass_till) * 1000000)::bigint, COALESCE(r.pass_offset, 0),"
        " COALESCE(r.status, 'ok'), (extract(epoch FROM r.status_at) * 1000000)::bigint"
        " FROM tenants t LEFT JOIN uis_reconcile r ON r.tenant_id = t.id"
        " WHERE t.uis_api_key <> '' ORDER BY t.id";
    PGresult *res = NULL;
    struct store_tenant *t;
    int rows;

    *out = NULL;
    *n = 0;
    if (pgconn_query(conn, sql, 0, NULL, &res, "tenants", err, errlen) < 0)
        return -1;
    rows = PQntuples(res);
    t = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*t));
    if (!t) {
        PQclear(res);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        snprintf(t[i].id, sizeof(t[i].id), "%s", PQgetvalue(res, i, 0));
        snprintf(t[i].key, sizeof(t[i].key), "%s", PQgetvalue(res, i, 1));
        snprintf(t[i].tz, sizeof(t[i].tz), "%s", PQgetvalue(res, i, 2));
        t[i].watermark_us = store_i64(res, i, 3);
        t[i].pass_from_us = store_i64(res, i, 4);
        t[i].pass_till_us = store_i64(res, i, 5);
        t[i].pass_offset = (long)store_i64(res, i, 6);
        snprintf(t[i].status, sizeof(t[i].status), "%s", PQgetvalue(res, i, 7));
        t[i].status_at_us = store_i64(res, i, 8);
    }
    PQclear(res);
    *out = t;
    *n = (size_t)rows;
    return 0;
}

int store_claim(PGconn *conn, const char *tenant, char *err, size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;
    int ours;

    /* 24092: the reconciler's class of advisory locks. */
    if (pgconn_query(conn, "SELECT pg_try_advisory_lock(24092, hashtext($1))", 1, p, &res, "claim",
                     err, errlen) < 0)
        return -1;
    ours = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return ours;
}

int store_pass_begin(PGconn *conn, const char *tenant, int64_t from_us, int64_t till_us, char *err,
                     size_t errlen)
{
    char from[24], till[24];
    const char *p[3] = {tenant, from, till};

    snprintf(from, sizeof(from), "%" PRId64, from_us);
    snprintf(till, sizeof(till), "%" PRId64, till_us);
    return pgconn_query(
        conn,
        "INSERT INTO uis_reconcile AS r (tenant_id, pass_from, pass_till, pass_offset)"
        " VALUES ($1, to_timestamp($2::bigint / 1e6), to_timestamp($3::bigint / 1e6), 0)"
        " ON CONFLICT (tenant_id) DO UPDATE SET pass_from = EXCLUDED.pass_from,"
        " pass_till = EXCLUDED.pass_till, pass_offset = 0",
        3, p, NULL, "begin a pass", err, errlen);
}

int store_pass_progress(PGconn *conn, const char *tenant, long offset, long calls_seen,
                        long calls_filled, long events, long points, char *err, size_t errlen)
{
    char v[5][24];
    const char *p[6] = {tenant, v[0], v[1], v[2], v[3], v[4]};

    snprintf(v[0], sizeof(v[0]), "%ld", offset);
    snprintf(v[1], sizeof(v[1]), "%ld", calls_seen);
    snprintf(v[2], sizeof(v[2]), "%ld", calls_filled);
    snprintf(v[3], sizeof(v[3]), "%ld", events);
    snprintf(v[4], sizeof(v[4]), "%ld", points);
    return pgconn_query(
        conn,
        "UPDATE uis_reconcile SET pass_offset = $2::integer,"
        " calls_seen = calls_seen + $3::bigint, calls_filled = calls_filled + $4::bigint,"
        " events_produced = events_produced + $5::bigint,"
        " points_spent = points_spent + $6::bigint WHERE tenant_id = $1",
        6, p, NULL, "page progress", err, errlen);
}

int store_pass_done(PGconn *conn, const char *tenant, int64_t till_us, char *err, size_t errlen)
{
    char till[24];
    const char *p[2] = {tenant, till};

    snprintf(till, sizeof(till), "%" PRId64, till_us);
    return pgconn_query(
        conn,
        "UPDATE uis_reconcile SET watermark = to_timestamp($2::bigint / 1e6),"
        " pass_from = NULL, pass_till = NULL, pass_offset = 0, last_pass_at = now(),"
        " status = 'ok', status_detail = NULL WHERE tenant_id = $1",
        2, p, NULL, "finish a pass", err, errlen);
}

int store_mark(PGconn *conn, const char *tenant, const char *status, const char *detail, char *err,
               size_t errlen)
{
    const char *p[3] = {tenant, status, detail};

    return pgconn_query(
        conn,
        "INSERT INTO uis_reconcile AS r (tenant_id, status, status_detail, status_at)"
        " VALUES ($1, $2, $3, now()) ON CONFLICT (tenant_id) DO UPDATE SET"
        " status = $2, status_detail = $3,"
        " status_at = CASE WHEN r.status = $2 THEN r.status_at ELSE now() END",
        3, p, NULL, "mark the tenant", err, errlen);
}

int store_known(PGconn *conn, const char *tenant, const char *const *call_ids, size_t n,
                struct rm_known *known, PGresult **hold, const char ***url_space, char *err,
                size_t errlen)
{
    static const char sql[] =
        "SELECT p.i, COALESCE((c.facts->>'ringing_us')::bigint, 0) > 0,"
        " COALESCE((c.facts->>'answered_us')::bigint, 0) > 0,"
        " COALESCE((c.facts->>'hangup_us')::bigint, 0) > 0,"
        " COALESCE((c.facts->>'missed_us')::bigint, 0) > 0,"
        " COALESCE((c.facts->>'finished_us')::bigint, 0) > 0,"
        " COALESCE((c.facts->>'talk_s')::bigint, -1) >= 0, u.url"
        " FROM unnest($2::text[]) WITH ORDINALITY AS p(call_id, i)"
        " JOIN router_calls c ON c.tenant_id = $1 AND c.call_id = p.call_id"
        " LEFT JOIN LATERAL jsonb_array_elements_text(c.facts->'urls') AS u(url) ON true"
        " ORDER BY p.i";
    /* "{", the ids and their commas, "}" and the NUL: "{}" when the page is empty. */
    size_t cap = 3 + n * (RM_CALL_ID_LEN + 1);
    char *arr = malloc(cap);
    const char *p[2] = {tenant, arr};
    const char **urls;
    size_t used = 0;
    PGresult *res = NULL;
    int rows;

    memset(known, 0, n * sizeof(*known));
    *hold = NULL;
    *url_space = NULL;
    if (!arr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    arr[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(arr + used, cap - used, "%s%s", i ? "," : "", call_ids[i]);
    snprintf(arr + used, cap - used, "}");
    if (pgconn_query(conn, sql, 2, p, &res, "known calls", err, errlen) < 0) {
        free(arr);
        return -1;
    }
    free(arr);
    rows = PQntuples(res);
    urls = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*urls));
    if (!urls) {
        PQclear(res);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* One row per URL (or one without), grouped by the call's position in call_ids: each
     * call's URLs are contiguous in urls. */
    for (int r = 0; r < rows; r++) {
        long long i = strtoll(PQgetvalue(res, r, 0), NULL, 10) - 1;
        struct rm_known *k;

        if (i < 0 || (size_t)i >= n)
            continue;
        k = &known[i];
        k->ringing = PQgetvalue(res, r, 1)[0] == 't';
        k->answered = PQgetvalue(res, r, 2)[0] == 't';
        k->hangup = PQgetvalue(res, r, 3)[0] == 't';
        k->missed = PQgetvalue(res, r, 4)[0] == 't';
        k->finished = PQgetvalue(res, r, 5)[0] == 't';
        k->durations = PQgetvalue(res, r, 6)[0] == 't';
        if (!PQgetisnull(res, r, 7)) {
            if (!k->urls)
                k->urls = urls + r;
            urls[r] = PQgetvalue(res, r, 7);
            k->n_urls++;
        }
    }
    *hold = res;
    *url_space = urls;
    return 0;
}

int store_exts_load(PGconn *conn, const char *tenant, struct store_exts *out, char *err,
                    size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;
    int rows;

    memset(out, 0, sizeof(*out));
    if (pgconn_query(conn,
                     "SELECT employee_id, COALESCE(extension, '') FROM uis_employees"
                     " WHERE tenant_id = $1",
                     1, p, &res, "employees", err, errlen) < 0)
        return -1;
    rows = PQntuples(res);
    out->ids = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*out->ids));
    out->exts = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*out->exts));
    if (!out->ids || !out->exts) {
        PQclear(res);
        store_exts_release(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        out->ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        snprintf(out->exts[i], RM_EXT_LEN, "%s", PQgetvalue(res, i, 1));
    }
    out->n = (size_t)rows;
    PQclear(res);
    return 0;
}

void store_exts_release(struct store_exts *x)
{
    free(x->ids);
    free(x->exts);
    memset(x, 0, sizeof(*x));
}

const char *store_exts_get(void *ctx, long long employee_id)
{
    const struct store_exts *x = ctx;

    for (size_t i = 0; i < x->n; i++) {
        if (x->ids[i] == employee_id)
            return x->exts[i];
    }
    return "";
}

int store_exts_has(const struct store_exts *x, long long employee_id)
{
    for (size_t i = 0; i < x->n; i++) {
        if (x->ids[i] == employee_id)
            return 1;
    }
    return 0;
}
