#include "directory.h"

#include "common/ids.h"
#include "common/pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define OID_TEXT  25
#define OID_JSONB 3802

struct rt_dir_entry {
    char tenant[RT_TENANT_LEN];
    int exists;
    int64_t checked_us; /* monotonic time of the last look at PostgreSQL */
    struct rt_tenant t;
};

void rt_directory_init(struct rt_directory *d, long ttl_ms)
{
    memset(d, 0, sizeof(*d));
    d->ttl_ms = ttl_ms;
}

void rt_directory_release(struct rt_directory *d)
{
    for (size_t i = 0; i < d->n; i++) {
        rt_tenant_clear(&d->entries[i]->t);
        free(d->entries[i]);
    }
    free(d->entries);
    memset(d, 0, sizeof(*d));
}

/* Run a query with one text parameter. Returns the result (caller PQclears) or NULL. */
static PGresult *rt_query1(PGconn *conn, const char *sql, const char *param, const char *what,
                           char *err, size_t errlen)
{
    const Oid types[1] = {OID_TEXT};
    const char *values[1] = {param};
    PGresult *res = NULL;

    if (pgconn_query_typed(conn, sql, 1, types, values, &res, what, err, errlen) < 0)
        return NULL;
    return res;
}

static int64_t rt_int8(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int rt_bool(PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* Load settings and lists into t. Returns 0, 1 (no such tenant) or -1. */
static int rt_tenant_load(PGconn *conn, const char *tenant, struct rt_tenant *t, char *err,
                          size_t errlen)
{
    PGresult *res;
    int n;

    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", tenant);
    res = rt_query1(conn,
                    "SELECT notify_responsible_only, create_contact_on_call, "
                    "add_call_to_last_active_deal, create_missed_call_task, "
                    "unknown_to_fixed_counterparty, fixed_counterparty_id, settings_version "
                    "FROM tenants WHERE id = $1",
                    tenant, "tenant settings", err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 1;
    }
    t->settings.notify_responsible_only =
        rt_bool(res, 0, PQfnumber(res, "notify_responsible_only"));
    t->settings.create_contact_on_call = rt_bool(res, 0, PQfnumber(res, "create_contact_on_call"));
    t->settings.add_call_to_last_active_deal =
        rt_bool(res, 0, PQfnumber(res, "add_call_to_last_active_deal"));
    t->settings.create_missed_call_task =
        rt_bool(res, 0, PQfnumber(res, "create_missed_call_task"));
    t->settings.unknown_to_fixed_counterparty =
        rt_bool(res, 0, PQfnumber(res, "unknown_to_fixed_counterparty"));
    t->settings.fixed_counterparty_id = rt_int8(res, 0, PQfnumber(res, "fixed_counterparty_id"));
    t->settings.version = rt_int8(res, 0, PQfnumber(res, "settings_version"));
    PQclear(res);

    res = rt_query1(conn, "SELECT id, name FROM users WHERE tenant_id = $1", tenant, "users", err,
                    errlen);
    if (!res)
        return -1;
    n = PQntuples(res);
    t->users = calloc((size_t)n + 1, sizeof(*t->users));
    if (!t->users)
        goto oom;
    for (int i = 0; i < n; i++) {
        t->users[i].id = rt_int8(res, i, PQfnumber(res, "id"));
        t->users[i].name = strdup(PQgetvalue(res, i, PQfnumber(res, "name")));
        t->n_users++;
        if (!t->users[i].name)
            goto oom;
    }
    PQclear(res);

    /* The explicit list when set, else the users of the extension table in the order the admin
     * entered them (guide §2.3: the plugin's settings name users only there). */
    res = rt_query1(conn,
                    "SELECT user_id FROM (SELECT user_id, position::bigint AS ord "
                    "  FROM settings_employees WHERE tenant_id = $1 "
                    "  UNION ALL "
                    "  SELECT user_id, min(entered_seq) FROM extensions WHERE tenant_id = $1 "
                    "  AND NOT EXISTS (SELECT 1 FROM settings_employees WHERE tenant_id = $1) "
                    "  GROUP BY user_id) e ORDER BY ord",
                    tenant, "settings employees", err, errlen);
    if (!res)
        return -1;
    n = PQntuples(res);
    t->employees = calloc((size_t)n + 1, sizeof(*t->employees));
    if (!t->employees)
        goto oom;
    for (int i = 0; i < n; i++)
        t->employees[t->n_employees++] = rt_int8(res, i, PQfnumber(res, "user_id"));
    PQclear(res);

    res = rt_query1(conn, "SELECT extension, user_id FROM extensions WHERE tenant_id = $1", tenant,
                    "extensions", err, errlen);
    if (!res)
        return -1;
    n = PQntuples(res);
    t->exts = calloc((size_t)n + 1, sizeof(*t->exts));
    if (!t->exts)
        goto oom;
    for (int i = 0; i < n; i++) {
        const char *ext = PQgetvalue(res, i, PQfnumber(res, "extension"));

        if (strlen(ext) >= RT_EXT_LEN)
            continue; /* longer than any event can carry: it can never match */
        memcpy(t->exts[t->n_exts].ext, ext, strlen(ext) + 1);
        t->exts[t->n_exts++].user_id = rt_int8(res, i, PQfnumber(res, "user_id"));
    }
    PQclear(res);
    rt_tenant_sort(t);
    return 0;
oom:
    PQclear(res);
    snprintf(err, errlen, "tenant %s: out of memory", tenant);
    return -1;
}

static struct rt_dir_entry *rt_dir_find(struct rt_directory *d, const char *tenant)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->entries[i]->tenant, tenant) == 0)
            return d->entries[i];
    }
    return NULL;
}

static struct rt_dir_entry *rt_dir_add(struct rt_directory *d, const char *tenant)
{
    struct rt_dir_entry *e;

    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct rt_dir_entry **grown = realloc(d->entries, cap * sizeof(*grown));

        if (!grown)
            return NULL;
        d->entries = grown;
        d->cap = cap;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
    d->entries[d->n++] = e;
    return e;
}

int rt_directory_tenant(struct rt_directory *d, PGconn *conn, const char *tenant,
                        const struct rt_tenant **out, char *err, size_t errlen)
{
    struct rt_dir_entry *e = rt_dir_find(d, tenant);
    int64_t now = ids_mono_us();
    struct rt_tenant fresh;
    int rc;

    if (e && now - e->checked_us < (int64_t)d->ttl_ms * 1000) {
        *out = &e->t;
        return e->exists ? 0 : 1;
    }
    if (e && e->exists) {
        /* Cheap check first: reload only when an admin changed something. */
        PGresult *res = rt_query1(conn, "SELECT settings_version FROM tenants WHERE id = $1",
                                  tenant, "settings version", err, errlen);

        if (!res)
            return -1;
        if (PQntuples(res) == 1 && rt_int8(res, 0, 0) == e->t.settings.version) {
            PQclear(res);
            e->checked_us = now;
            *out = &e->t;
            return 0;
        }
        PQclear(res);
    }
    rc = rt_tenant_load(conn, tenant, &fresh, err, errlen);
    if (rc < 0) {
        rt_tenant_clear(&fresh);
        return -1;
    }
    if (!e && !(e = rt_dir_add(d, tenant))) {
        rt_tenant_clear(&fresh);
        snprintf(err, errlen, "tenant cache: out of memory");
        return -1;
    }
    rt_tenant_clear(&e->t);
    e->t = fresh;
    e->exists = rc == 0;
    e->checked_us = now;
    *out = &e->t;
    return rc;
}

void rt_lookup_clear(struct rt_lookup *q)
{
    free(q->name);
    free(q->deal_title);
    q->name = q->deal_title = NULL;
    memset(&q->party, 0, sizeof(q->party));
}

int rt_directory_parties(PGconn *conn, struct rt_lookup *q, size_t n, char *err, size_t errlen)
{
    /* Several counterparties with the number (docs/decisions.md): one a person created beats
     * one the pipeline auto-created (auto_created_number set), then the one whose open deal was
     * active most recently, then the lowest id. The deal: open, latest activity, then highest
     * id. n counts the matches, for the ambiguity metric. A counterparty created by the asking
     * call itself is not seen (a replayed first decision must not find it). */
    static const char sql[] =
        "SELECT x.i, c.id, c.name, c.responsible_user_id, c.n, d.id AS deal_id, d.title "
        "FROM jsonb_to_recordset($1::jsonb) AS x(i int, t text, p text, c text) "
        "JOIN LATERAL (SELECT cp.id, cp.name, cp.responsible_user_id, count(*) OVER () AS n "
        "  FROM counterparties cp "
        "  LEFT JOIN LATERAL (SELECT max(last_activity_at) AS act FROM deals "
        "    WHERE tenant_id = cp.tenant_id AND counterparty_id = cp.id AND stage = 'open') a "
        "    ON true "
        "  WHERE cp.tenant_id = x.t AND (cp.work_phone = x.p OR cp.mobile_phone = x.p) "
        "  AND cp.created_by_call_id IS DISTINCT FROM x.c "
        "  ORDER BY (cp.auto_created_number IS NULL) DESC, a.act DESC NULLS LAST, cp.id "
        "  LIMIT 1) c ON true "
        "LEFT JOIN LATERAL (SELECT id, title FROM deals WHERE tenant_id = x.t "
        "  AND counterparty_id = c.id AND stage = 'open' "
        "  ORDER BY last_activity_at DESC, id DESC LIMIT 1) d ON true";
    const Oid types[1] = {OID_JSONB};
    json_t *arr = json_array();
    const char *values[1];
    PGresult *res = NULL;
    char *param;
    int rows, rc;

    for (size_t i = 0; i < n; i++)
        rt_lookup_clear(&q[i]);
    if (n == 0) {
        json_decref(arr);
        return 0;
    }
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:s}", "i", (int)i, "t",
                                                 q[i].tenant, "p", q[i].phone, "c", q[i].call_id)) <
            0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    param = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!param) {
        snprintf(err, errlen, "counterparty lookup: out of memory");
        return -1;
    }
    values[0] = param;
    rc = pgconn_query_typed(conn, sql, 1, types, values, &res, "counterparty lookup", err, errlen);
    free(param);
    if (rc < 0)
        return -1;
    rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        long i = strtol(PQgetvalue(res, r, PQfnumber(res, "i")), NULL, 10);
        struct rt_lookup *l;

        if (i < 0 || (size_t)i >= n)
            continue;
        l = &q[i];
        l->name = strdup(PQgetvalue(res, r, PQfnumber(res, "name")));
        l->deal_title = strdup(PQgetvalue(res, r, PQfnumber(res, "title")));
        if (!l->name || !l->deal_title) {
            PQclear(res);
            snprintf(err, errlen, "counterparty lookup: out of memory");
            return -1;
        }
        l->party.found = 1;
        l->party.id = rt_int8(res, r, PQfnumber(res, "id"));
        l->party.name = l->name;
        l->party.responsible = rt_int8(res, r, PQfnumber(res, "responsible_user_id"));
        l->party.deal_id = rt_int8(res, r, PQfnumber(res, "deal_id"));
        l->party.deal_title = l->deal_title;
        l->party.matches = (int)rt_int8(res, r, PQfnumber(res, "n"));
    }
    PQclear(res);
    return 0;
}
