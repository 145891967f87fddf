#include "admin_uis.h"

#include "common/pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The router caches extensions and settings by this version. */
static const char UISA_SQL_BUMP[] = "UPDATE tenants SET settings_version = settings_version + 1,"
                                    " updated_at = now() WHERE id = $1";

struct admin_uis_employee *admin_uis_employees_from_json(const json_t *rows, size_t *n)
{
    struct admin_uis_employee *e;

    *n = json_array_size(rows);
    e = calloc(*n ? *n : 1, sizeof(*e));
    for (size_t i = 0; e && i < *n; i++) {
        const json_t *r = json_array_get(rows, i);

        e[i].id = (long long)json_integer_value(json_object_get(r, "id"));
        e[i].full_name = json_string_value(json_object_get(r, "full_name"));
        e[i].status = json_string_value(json_object_get(r, "status"));
        e[i].extension = json_string_value(
            json_object_get(json_object_get(r, "extension"), "extension_phone_number"));
    }
    return e;
}

static int uisa_abort(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
    return -1;
}

static int uisa_commit(PGconn *conn, char *err, size_t errlen)
{
    if (pgconn_query(conn, "COMMIT", 0, NULL, NULL, "commit", err, errlen) < 0)
        return uisa_abort(conn);
    return 0;
}

/* BEGIN, and lock the tenant's row so that two admins' changes do not interleave. */
static int uisa_begin(PGconn *conn, const char *tenant, char *err, size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;
    int found;

    if (pgconn_query(conn, "BEGIN", 0, NULL, NULL, "begin", err, errlen) < 0)
        return -1;
    if (pgconn_query(conn, "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", 1, p, &res, "tenant",
                     err, errlen) < 0)
        return uisa_abort(conn);
    found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        snprintf(err, errlen, "tenant %s does not exist", tenant);
        return uisa_abort(conn);
    }
    return 0;
}

int admin_uis_key_store(PGconn *conn, const char *tenant, const char *key, const char *timezone,
                        const char *account_name, char *err, size_t errlen)
{
    const char *p[4] = {tenant, key, timezone, account_name};

    if (uisa_begin(conn, tenant, err, errlen) < 0)
        return -1;
    if (pgconn_query(
            conn,
            "UPDATE tenants SET uis_api_key = $2, uis_timezone = $3, uis_account_name = $4,"
            " uis_key_accepted_at = now(), settings_version = settings_version + 1,"
            " updated_at = now() WHERE id = $1",
            4, p, NULL, "store the key", err, errlen) < 0 ||
        pgconn_query(
            conn,
            "UPDATE uis_reconcile SET status = 'ok', status_detail = NULL, status_at = now()"
            " WHERE tenant_id = $1 AND status <> 'ok'",
            1, p, NULL, "reconciliation status", err, errlen) < 0)
        return uisa_abort(conn);
    return uisa_commit(conn, err, errlen);
}

int admin_uis_key_get(PGconn *conn, const char *tenant, char *key, size_t keylen, char *err,
                      size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;

    key[0] = '\0';
    if (pgconn_query(conn, "SELECT uis_api_key FROM tenants WHERE id = $1", 1, p, &res, "tenant",
                     err, errlen) < 0)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "tenant %s does not exist", tenant);
        return -1;
    }
    snprintf(key, keylen, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int uisa_conflict(struct admin_uis_sync *out, long long employee_id, const char *user_id,
                         const char *ext, const char *reason)
{
    json_t *c = json_pack("{s:I, s:s, s:s, s:s}", "employee_id", (json_int_t)employee_id, "user_id",
                          user_id, "extension", ext, "reason", reason);

    return c ? json_array_append_new(out->conflicts, c) : -1;
}

/* Make the extension table follow UIS for one linked employee whose UIS extension went from
 * old_ext to new_ext. Returns 1 when it changed a row, 0 when not, -1 on error. */
static int uisa_follow(PGconn *conn, const char *tenant, long long employee_id, const char *user,
                       const char *old_ext, const char *new_ext, struct admin_uis_sync *out,
                       char *err, size_t errlen)
{
    const char *p[3] = {tenant, new_ext, user};
    PGresult *res = NULL;
    int changed = 0;

    if (new_ext[0]) {
        if (pgconn_query(conn,
                         "SELECT user_id FROM extensions WHERE tenant_id = $1 AND extension = $2",
                         2, p, &res, "extensions", err, errlen) < 0)
            return -1;
        if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), user) != 0) {
            PQclear(res);
            /* Someone else holds the number in the CRM: the admin decides, not us. */
            return uisa_conflict(out, employee_id, user, new_ext,
                                 "the extension is mapped to another CRM user") < 0
                       ? -1
                       : 0;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            res = NULL;
            if (pgconn_query(
                    conn,
                    "INSERT INTO extensions (tenant_id, extension, user_id) VALUES ($1, $2,"
                    " $3::bigint)",
                    3, p, NULL, "map the extension", err, errlen) < 0)
                return -1;
            changed = 1;
        }
        PQclear(res);
    }
    if (old_ext[0] && strcmp(old_ext, new_ext) != 0) {
        const char *q[3] = {tenant, old_ext, user};

        if (pgconn_query(conn,
                         "DELETE FROM extensions WHERE tenant_id = $1 AND extension = $2"
                         " AND user_id = $3::bigint",
                         3, q, &res, "unmap the old extension", err, errlen) < 0)
            return -1;
        changed |= atoi(PQcmdTuples(res)) > 0;
        PQclear(res);
    }
    return changed;
}

int admin_uis_employees_sync(PGconn *conn, const char *tenant, const struct admin_uis_employee *e,
                             size_t n, struct admin_uis_sync *out, char *err, size_t errlen)
{
    static const char upsert[] =
        "WITH old AS (SELECT extension FROM uis_employees WHERE tenant_id = $1"
        " AND employee_id = $2::bigint)"
        " INSERT INTO uis_employees AS u (tenant_id, employee_id, full_name, extension, status)"
        " VALUES ($1, $2::bigint, $3, NULLIF($4, ''), $5)"
        " ON CONFLICT (tenant_id, employee_id) DO UPDATE SET full_name = EXCLUDED.full_name,"
        " extension = EXCLUDED.extension, status = EXCLUDED.status, synced_at = now()"
        " RETURNING COALESCE((SELECT extension FROM old), ''), u.user_id";
    const char *p[5];
    char id[24];
    size_t idslen = 2 + n * 21;
    char *ids = malloc(idslen);
    size_t used = 0;
    PGresult *res = NULL;

    memset(out, 0, sizeof(*out));
    out->conflicts = json_array();
    if (!ids || !out->conflicts) {
        free(ids);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (uisa_begin(conn, tenant, err, errlen) < 0) {
        free(ids);
        return -1;
    }
    ids[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        const char *ext = e[i].extension ? e[i].extension : "";
        int rc;

        snprintf(id, sizeof(id), "%lld", e[i].id);
        used += (size_t)snprintf(ids + used, idslen - used, "%s%s", i ? "," : "", id);
        p[0] = tenant;
        p[1] = id;
        p[2] = e[i].full_name ? e[i].full_name : "";
        p[3] = ext;
        p[4] = e[i].status;
        if (pgconn_query(conn, upsert, 5, p, &res, "store an employee", err, errlen) < 0)
            goto fail;
        rc = PQgetisnull(res, 0, 1) ? 0
                                    : uisa_follow(conn, tenant, e[i].id, PQgetvalue(res, 0, 1),
                                                  PQgetvalue(res, 0, 0), ext, out, err, errlen);
        PQclear(res);
        res = NULL;
        if (rc < 0)
            goto fail;
        out->ext_updated += (size_t)rc;
    }
    snprintf(ids + used, idslen - used, "}");
    p[1] = ids;
    if (pgconn_query(conn,
                     "DELETE FROM uis_employees WHERE tenant_id = $1"
                     " AND employee_id <> ALL ($2::bigint[])",
                     2, p, NULL, "forget employees", err, errlen) < 0)
        goto fail;
    if (out->ext_updated && pgconn_query(conn, UISA_SQL_BUMP, 1, p, NULL, "bump", err, errlen) < 0)
        goto fail;
    free(ids);
    out->employees = n;
    return uisa_commit(conn, err, errlen);
fail:
    free(ids);
    return uisa_abort(conn);
}

int admin_uis_employees_list(PGconn *conn, const char *tenant, json_t **out, char *err,
                             size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;

    *out = NULL;
    if (pgconn_query(
            conn,
            "SELECT COALESCE(json_agg(json_build_object('employee_id', e.employee_id,"
            " 'full_name', e.full_name, 'extension', e.extension, 'status', e.status,"
            " 'user_id', e.user_id, 'user_name', u.name) ORDER BY e.employee_id), '[]')::text"
            " FROM uis_employees e LEFT JOIN users u ON u.tenant_id = e.tenant_id"
            " AND u.id = e.user_id WHERE e.tenant_id = $1",
            1, p, &res, "employees", err, errlen) < 0)
        return -1;
    *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!*out) {
        snprintf(err, errlen, "employees: bad JSON from the database");
        return -1;
    }
    return 0;
}

int admin_uis_link(PGconn *conn, const char *tenant, long long user_id, long long employee_id,
                   char *err, size_t errlen)
{
    char uid[24], eid[24];
    const char *p[3] = {tenant, uid, eid};
    struct admin_uis_sync sync = {0};
    PGresult *res = NULL;
    int rc;

    snprintf(uid, sizeof(uid), "%lld", user_id);
    snprintf(eid, sizeof(eid), "%lld", employee_id);
    if (uisa_begin(conn, tenant, err, errlen) < 0)
        return -1;
    if (pgconn_query(conn, "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2::bigint", 2, p,
                     &res, "user", err, errlen) < 0)
        return uisa_abort(conn);
    rc = PQntuples(res);
    PQclear(res);
    if (rc != 1) {
        snprintf(err, errlen, "user %lld does not exist in tenant %s", user_id, tenant);
        return uisa_abort(conn);
    }
    if (pgconn_query(conn,
                     "UPDATE uis_employees SET user_id = NULL WHERE tenant_id = $1"
                     " AND user_id = $2::bigint AND employee_id <> $3::bigint",
                     3, p, NULL, "unlink", err, errlen) < 0 ||
        pgconn_query(conn,
                     "UPDATE uis_employees SET user_id = $2::bigint WHERE tenant_id = $1"
                     " AND employee_id = $3::bigint RETURNING COALESCE(extension, '')",
                     3, p, &res, "link", err, errlen) < 0)
        return uisa_abort(conn);
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen,
                 "UIS employee %lld is not known for tenant %s (run 'crmctl uis employees %s' "
                 "to fetch them)",
                 employee_id, tenant, tenant);
        return uisa_abort(conn);
    }
    sync.conflicts = json_array();
    rc = uisa_follow(conn, tenant, employee_id, uid, "", PQgetvalue(res, 0, 0), &sync, err, errlen);
    PQclear(res);
    if (rc >= 0 && json_array_size(sync.conflicts) > 0) {
        snprintf(err, errlen, "extension %s of UIS employee %lld is mapped to another CRM user",
                 json_string_value(json_object_get(json_array_get(sync.conflicts, 0), "extension")),
                 employee_id);
        rc = -1;
    }
    json_decref(sync.conflicts);
    if (rc < 0 || pgconn_query(conn, UISA_SQL_BUMP, 1, p, NULL, "bump", err, errlen) < 0)
        return uisa_abort(conn);
    return uisa_commit(conn, err, errlen);
}
