#include "admin.h"

#include "action.h"

#include "common/cloudevents.h"
#include "common/kafka.h"
#include "common/pgconn.h"
#include "common/phone.h"
#include "common/rfc3339.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_KAFKA_MS 15000

static const char ADMIN_SQL_BUMP[] = "UPDATE tenants SET settings_version = settings_version + 1,"
                                     " updated_at = now() WHERE id = $1";

static int admin_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    return pgconn_query(conn, sql, 0, NULL, NULL, sql, err, errlen);
}

static void admin_rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

static int admin_begin(PGconn *conn, char *err, size_t errlen)
{
    return admin_exec(conn, "BEGIN", err, errlen);
}

static int admin_commit(PGconn *conn, char *err, size_t errlen)
{
    if (admin_exec(conn, "COMMIT", err, errlen) < 0) {
        admin_rollback(conn);
        return -1;
    }
    return 0;
}

/* Roll back and pass -1 on. */
static int admin_abort(PGconn *conn)
{
    admin_rollback(conn);
    return -1;
}

static int admin_tenant_exists(PGconn *conn, const char *tenant, char *err, size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;
    int found;

    if (pgconn_query(conn, "SELECT 1 FROM tenants WHERE id = $1", 1, p, &res, "tenant", err,
                     errlen) < 0)
        return -1;
    found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        snprintf(err, errlen, "tenant %s does not exist", tenant);
        return -1;
    }
    return 0;
}

static int admin_bump(PGconn *conn, const char *tenant, char *err, size_t errlen)
{
    const char *p[1] = {tenant};

    return pgconn_query(conn, ADMIN_SQL_BUMP, 1, p, NULL, "settings version", err, errlen);
}

/* 0 when the row of `what` (a statement "SELECT 1 FROM t WHERE tenant_id = $1 AND id = $2")
 * exists; else err says "<noun> <id> does not exist in tenant <t>". */
static int admin_row_exists(PGconn *conn, const char *sql, const char *noun, const char *tenant,
                            long long id, char *err, size_t errlen)
{
    char num[24];
    const char *p[2] = {tenant, num};
    PGresult *res = NULL;
    int found;

    snprintf(num, sizeof(num), "%lld", id);
    if (pgconn_query(conn, sql, 2, p, &res, noun, err, errlen) < 0)
        return -1;
    found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        snprintf(err, errlen, "%s %lld does not exist in tenant %s", noun, id, tenant);
        return -1;
    }
    return 0;
}

int admin_user_check(PGconn *conn, const char *tenant, long long user_id, char *err, size_t errlen)
{
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0)
        return -1;
    return admin_row_exists(conn, "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2::bigint",
                            "user", tenant, user_id, err, errlen);
}

static int admin_counterparty_check(PGconn *conn, const char *tenant, long long id, char *err,
                                    size_t errlen)
{
    return admin_row_exists(conn,
                            "SELECT 1 FROM counterparties WHERE tenant_id = $1 AND id = $2::bigint",
                            "counterparty", tenant, id, err, errlen);
}

/* Announce {tenant, token_version, key_id} on the compacted topic (key: tenant). */
static int admin_publish_token(const struct admin_tokens *tk, const char *tenant, long long version,
                               char *err, size_t errlen)
{
    json_t *v = json_pack("{s:s, s:I, s:s}", "tenant", tenant, "token_version", (json_int_t)version,
                          "key_id", tk->key_id);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    struct ce_attrs ce;
    struct traceparent tp;
    char id[96];
    rd_kafka_headers_t *hdrs = NULL;
    int rc = -1;

    json_decref(v);
    snprintf(id, sizeof(id), "%s:%lld", tenant, version);
    if (text && tp_generate(&tp) == 0 &&
        ce_attrs_init(&ce, id, "ru.crm.tenant.token", "/crmctl", &tp) == 0)
        hdrs = ce_headers_new(&ce);
    if (!hdrs) {
        snprintf(err, errlen, "tenant token message: out of memory");
    } else {
        /* kafka_produce_sync takes the headers over. */
        rc = kafka_produce_sync(tk->producer, tk->topic, tenant, strlen(tenant), text, strlen(text),
                                hdrs, ADMIN_KAFKA_MS, err, errlen);
    }
    free(text);
    return rc < 0 ? -1 : 0;
}

static int admin_mint(const struct admin_tokens *tk, const char *tenant, long long version,
                      char *token, size_t tokenlen, char *err, size_t errlen)
{
    if (wtoken_mint(tk->keys, tk->key_id, tenant, (unsigned long)version, token, tokenlen) < 0) {
        snprintf(err, errlen,
                 "cannot mint the webhook token (WEBHOOK_KEY_ID %s not in "
                 "WEBHOOK_KEYS?)",
                 tk->key_id);
        return -1;
    }
    return 0;
}

static const char ADMIN_SQL_INSTALL[] =
    "INSERT INTO tenants AS t (id, name, uis_api_key, notify_responsible_only,"
    " create_contact_on_call, add_call_to_last_active_deal, create_missed_call_task,"
    " unknown_to_fixed_counterparty, fixed_counterparty_id, webhook_key_id)"
    " VALUES ($1, $2, COALESCE($3, ''), $4::boolean, $5::boolean, $6::boolean, $7::boolean,"
    " $8::boolean, $9::bigint, $10)"
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,"
    " uis_api_key = COALESCE($3, t.uis_api_key),"
    " uis_key_accepted_at = CASE WHEN $3 IS NULL OR $3 = t.uis_api_key"
    "   THEN t.uis_key_accepted_at END,"
    " notify_responsible_only = EXCLUDED.notify_responsible_only,"
    " create_contact_on_call = EXCLUDED.create_contact_on_call,"
    " add_call_to_last_active_deal = EXCLUDED.add_call_to_last_active_deal,"
    " create_missed_call_task = EXCLUDED.create_missed_call_task,"
    " unknown_to_fixed_counterparty = EXCLUDED.unknown_to_fixed_counterparty,"
    " fixed_counterparty_id = EXCLUDED.fixed_counterparty_id,"
    " webhook_key_id = EXCLUDED.webhook_key_id,"
    " webhook_token_version = t.webhook_token_version + 1,"
    " settings_version = t.settings_version + 1, updated_at = now()"
    " RETURNING webhook_token_version, (xmax = 0)";

int admin_tenant_install(PGconn *conn, const struct admin_tokens *tk, const char *tenant,
                         const char *name, const struct tenant_settings *s, char *token,
                         size_t tokenlen, int *created, char *err, size_t errlen)
{
    char fixed[24];
    const char *p[10] = {tenant,
                         name,
                         s->uis_api_key,
                         s->notify_responsible_only ? "true" : "false",
                         s->create_contact_on_call ? "true" : "false",
                         s->add_call_to_last_active_deal ? "true" : "false",
                         s->create_missed_call_task ? "true" : "false",
                         s->unknown_to_fixed_counterparty ? "true" : "false",
                         NULL,
                         tk->key_id};
    PGresult *res = NULL;
    long long version;

    if (!wtoken_tenant_valid(tenant)) {
        snprintf(err, errlen,
                 "tenant id '%.70s' is invalid: 1..63 of a-z 0-9 _ -, starting "
                 "with a letter or digit",
                 tenant);
        return -1;
    }
    if (s->fixed_counterparty_id > 0) {
        snprintf(fixed, sizeof(fixed), "%lld", s->fixed_counterparty_id);
        p[8] = fixed;
    }
    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (pgconn_query(conn, ADMIN_SQL_INSTALL, 10, p, &res, "tenant install", err, errlen) < 0)
        return admin_abort(conn);
    version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    *created = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    if (s->fixed_counterparty_id > 0 &&
        admin_counterparty_check(conn, tenant, s->fixed_counterparty_id, err, errlen) < 0) {
        if (*created) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n,
                     " (a new tenant has none yet: install it, add the counterparty, then "
                     "`crmctl tenant set %s fixed_counterparty_id=ID`)",
                     tenant);
        }
        return admin_abort(conn);
    }
    /* The token is announced before COMMIT: a failed announcement leaves the database at the
     * old version, and a failed COMMIT after it is repaired by the next re-issue (which
     * announces the same version again). */
    if (admin_mint(tk, tenant, version, token, tokenlen, err, errlen) < 0 ||
        admin_publish_token(tk, tenant, version, err, errlen) < 0)
        return admin_abort(conn);
    return admin_commit(conn, err, errlen);
}

int admin_tenant_token(PGconn *conn, const struct admin_tokens *tk, const char *tenant, char *token,
                       size_t tokenlen, char *err, size_t errlen)
{
    const char *p[2] = {tenant, tk->key_id};
    PGresult *res = NULL;
    long long version;

    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (pgconn_query(conn,
                     "UPDATE tenants SET webhook_token_version = webhook_token_version + 1,"
                     " webhook_key_id = $2, updated_at = now() WHERE id = $1"
                     " RETURNING webhook_token_version",
                     2, p, &res, "tenant token", err, errlen) < 0)
        return admin_abort(conn);
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "tenant %s does not exist", tenant);
        return admin_abort(conn);
    }
    version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (admin_mint(tk, tenant, version, token, tokenlen, err, errlen) < 0 ||
        admin_publish_token(tk, tenant, version, err, errlen) < 0)
        return admin_abort(conn);
    return admin_commit(conn, err, errlen);
}

static const char ADMIN_SQL_SHOW[] =
    "SELECT json_build_object('id', t.id, 'name', t.name,"
    " 'notify_responsible_only', t.notify_responsible_only,"
    " 'create_contact_on_call', t.create_contact_on_call,"
    " 'add_call_to_last_active_deal', t.add_call_to_last_active_deal,"
    " 'create_missed_call_task', t.create_missed_call_task,"
    " 'unknown_to_fixed_counterparty', t.unknown_to_fixed_counterparty,"
    " 'fixed_counterparty_id', t.fixed_counterparty_id, 'quiet_period_s', t.quiet_period_s,"
    " 'uis_virtual_number', t.uis_virtual_number,"
    " 'webhook_key_id', t.webhook_key_id, 'webhook_token_version', t.webhook_token_version,"
    " 'settings_version', t.settings_version,"
    " 'created_at', rfc3339(t.created_at), 'updated_at', rfc3339(t.updated_at),"
    /* The list in force (issue 15): the explicit one, else the extension table's users in
     * the order they were entered; employees_source says which. */
    " 'employees_source', CASE WHEN EXISTS (SELECT 1 FROM settings_employees e"
    "   WHERE e.tenant_id = t.id) THEN 'explicit' ELSE 'extensions' END,"
    " 'employees', COALESCE((SELECT json_agg(json_build_object('user_id', e.user_id,"
    "   'login', u.login, 'name', u.name) ORDER BY e.ord)"
    "   FROM (SELECT user_id, position::bigint AS ord FROM settings_employees"
    "     WHERE tenant_id = t.id UNION ALL SELECT user_id, min(entered_seq) FROM extensions"
    "     WHERE tenant_id = t.id AND NOT EXISTS (SELECT 1 FROM settings_employees s"
    "       WHERE s.tenant_id = t.id) GROUP BY user_id) e"
    "   JOIN users u ON u.tenant_id = t.id AND u.id = e.user_id), '[]'),"
    " 'extensions', COALESCE((SELECT json_agg(json_build_object('extension', x.extension,"
    "   'user_id', x.user_id) ORDER BY x.extension) FROM extensions x WHERE x.tenant_id = t.id),"
    "   '[]'),"
    " 'users', (SELECT count(*) FROM users u WHERE u.tenant_id = t.id),"
    " 'uis_api_key_set', t.uis_api_key <> '',"
    " 'uis_key_accepted_at', rfc3339(t.uis_key_accepted_at), 'uis_timezone', t.uis_timezone,"
    " 'uis_reconcile', (SELECT json_build_object('status', r.status, 'detail', r.status_detail,"
    "   'since', rfc3339(r.status_at), 'watermark', rfc3339(r.watermark),"
    "   'last_pass_at', rfc3339(r.last_pass_at), 'calls_filled', r.calls_filled)"
    "   FROM uis_reconcile r WHERE r.tenant_id = t.id))::text, t.uis_api_key"
    " FROM tenants t WHERE t.id = $1";

int admin_tenant_show(PGconn *conn, const char *tenant, json_t **out, char *err, size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;
    json_t *obj;
    char masked[16];

    *out = NULL;
    if (pgconn_query(conn, ADMIN_SQL_SHOW, 1, p, &res, "tenant show", err, errlen) < 0)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "tenant %s does not exist", tenant);
        return -1;
    }
    obj = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    settings_mask(PQgetvalue(res, 0, 1), masked, sizeof(masked));
    PQclear(res);
    if (!obj) {
        snprintf(err, errlen, "tenant show: bad JSON from the database");
        return -1;
    }
    json_object_set_new(obj, "uis_api_key", json_string(masked));
    *out = obj;
    return 0;
}

int admin_tenant_set(PGconn *conn, const char *tenant, const struct setting_kv *kv, size_t n,
                     char *err, size_t errlen)
{
    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0)
        return admin_abort(conn);
    for (size_t i = 0; i < n; i++) {
        const char *p[2] = {tenant, kv[i].value};

        if (pgconn_query(conn, kv[i].def->sql, 2, p, NULL, kv[i].def->key, err, errlen) < 0)
            return admin_abort(conn);
        if (strcmp(kv[i].def->key, "fixed_counterparty_id") == 0 && kv[i].value) {
            long long id = strtoll(kv[i].value, NULL, 10);

            if (admin_counterparty_check(conn, tenant, id, err, errlen) < 0)
                return admin_abort(conn);
        }
    }
    if (admin_bump(conn, tenant, err, errlen) < 0)
        return admin_abort(conn);
    return admin_commit(conn, err, errlen);
}

int admin_user_add(PGconn *conn, const char *tenant, const char *login, const char *name,
                   long long *id, char *err, size_t errlen)
{
    const char *p[3] = {tenant, login, name};
    PGresult *res = NULL;

    if (!login[0] || !name[0]) {
        snprintf(err, errlen, "user: login and name must not be empty");
        return -1;
    }
    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0)
        return admin_abort(conn);
    if (pgconn_query(conn,
                     "INSERT INTO users (tenant_id, login, name) VALUES ($1, $2, $3)"
                     " ON CONFLICT (tenant_id, login) DO NOTHING RETURNING id",
                     3, p, &res, "user add", err, errlen) < 0)
        return admin_abort(conn);
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "login %s already exists in tenant %s", login, tenant);
        return admin_abort(conn);
    }
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (admin_bump(conn, tenant, err, errlen) < 0)
        return admin_abort(conn);
    return admin_commit(conn, err, errlen);
}

int admin_employees_set(PGconn *conn, const char *tenant, const long long *ids, size_t n, char *err,
                        size_t errlen)
{
    char pos[24], uid[24];
    const char *p[3] = {tenant, pos, uid};

    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < i; k++) {
            if (ids[k] == ids[i]) {
                snprintf(err, errlen, "user %lld is listed twice", ids[i]);
                return -1;
            }
        }
    }
    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0 ||
        pgconn_query(conn, "DELETE FROM settings_employees WHERE tenant_id = $1", 1, p, NULL,
                     "employees", err, errlen) < 0)
        return admin_abort(conn);
    for (size_t i = 0; i < n; i++) {
        if (admin_row_exists(conn, "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2::bigint",
                             "user", tenant, ids[i], err, errlen) < 0)
            return admin_abort(conn);
        snprintf(pos, sizeof(pos), "%zu", i);
        snprintf(uid, sizeof(uid), "%lld", ids[i]);
        if (pgconn_query(conn,
                         "INSERT INTO settings_employees (tenant_id, position, user_id)"
                         " VALUES ($1, $2::integer, $3::bigint)",
                         3, p, NULL, "employees", err, errlen) < 0)
            return admin_abort(conn);
    }
    if (admin_bump(conn, tenant, err, errlen) < 0)
        return admin_abort(conn);
    return admin_commit(conn, err, errlen);
}

int admin_extension_set(PGconn *conn, const char *tenant, const char *ext, long long user_id,
                        char *err, size_t errlen)
{
    char uid[24];
    const char *p[3] = {tenant, ext, uid};

    if (!phone_ext_valid(ext)) {
        snprintf(err, errlen, "extension '%.40s' is invalid: 1..%d of 0-9 a-z A-Z * # + _ -", ext,
                 PHONE_EXT_MAX);
        return -1;
    }
    snprintf(uid, sizeof(uid), "%lld", user_id);
    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (admin_user_check(conn, tenant, user_id, err, errlen) < 0 ||
        pgconn_query(
            conn,
            "INSERT INTO extensions (tenant_id, extension, user_id) VALUES ($1, $2, $3::bigint)"
            " ON CONFLICT (tenant_id, extension) DO UPDATE SET user_id = EXCLUDED.user_id",
            3, p, NULL, "extension set", err, errlen) < 0 ||
        admin_bump(conn, tenant, err, errlen) < 0)
        return admin_abort(conn);
    return admin_commit(conn, err, errlen);
}

int admin_extension_rm(PGconn *conn, const char *tenant, const char *ext, char *err, size_t errlen)
{
    const char *p[2] = {tenant, ext};
    PGresult *res = NULL;
    int gone;

    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0 ||
        pgconn_query(conn, "DELETE FROM extensions WHERE tenant_id = $1 AND extension = $2", 2, p,
                     &res, "extension rm", err, errlen) < 0)
        return admin_abort(conn);
    gone = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!gone) {
        snprintf(err, errlen, "extension %.40s is not mapped in tenant %s", ext, tenant);
        return admin_abort(conn);
    }
    if (admin_bump(conn, tenant, err, errlen) < 0)
        return admin_abort(conn);
    return admin_commit(conn, err, errlen);
}

/* Normalise a phone flag: NULL stays NULL; a bad number is an error naming the flag. */
static int admin_phone(const char *raw, const char *flag, char *e164, char *err, size_t errlen)
{
    int rc;

    if (!raw)
        return 0;
    rc = phone_normalize(raw, e164, PHONE_E164_LEN);
    if (rc != PHONE_OK) {
        snprintf(err, errlen, "%s: %s", flag, rc == PHONE_EMPTY ? "empty" : phone_strerror(rc));
        return -1;
    }
    return 0;
}

int admin_counterparty_add(PGconn *conn, const char *tenant, const char *name,
                           const char *work_phone, const char *mobile_phone, long long responsible,
                           long long *id, char *err, size_t errlen)
{
    char work[PHONE_E164_LEN], mobile[PHONE_E164_LEN], resp[24];
    const char *p[6] = {tenant,       name,
                        work_phone,   work_phone ? work : NULL,
                        mobile_phone, mobile_phone ? mobile : NULL};
    const char *p7[7];
    PGresult *res = NULL;

    if (!name[0]) {
        snprintf(err, errlen, "--name must not be empty");
        return -1;
    }
    if (admin_phone(work_phone, "--work-phone", work, err, errlen) < 0 ||
        admin_phone(mobile_phone, "--mobile-phone", mobile, err, errlen) < 0)
        return -1;
    memcpy(p7, p, sizeof(p));
    p7[6] = NULL;
    if (responsible > 0) {
        snprintf(resp, sizeof(resp), "%lld", responsible);
        p7[6] = resp;
    }
    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0 ||
        (responsible > 0 && admin_user_check(conn, tenant, responsible, err, errlen) < 0) ||
        pgconn_query(conn,
                     "INSERT INTO counterparties (tenant_id, name, work_phone_raw, work_phone,"
                     " mobile_phone_raw, mobile_phone, responsible_user_id)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7::bigint) RETURNING id",
                     7, p7, &res, "counterparty add", err, errlen) < 0)
        return admin_abort(conn);
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return admin_commit(conn, err, errlen);
}

int admin_deal_add(PGconn *conn, const char *tenant, long long counterparty, const char *title,
                   const char *stage, const char *last_activity, long long *id, char *err,
                   size_t errlen)
{
    static const char *const stages[] = {"open", "won", "lost", "closed"};
    char cp[24];
    const char *p[5] = {tenant, cp, title, stage ? stage : "open", last_activity};
    PGresult *res = NULL;
    int known = 0;

    for (size_t i = 0; i < 4; i++)
        known |= strcmp(p[3], stages[i]) == 0;
    if (!known) {
        snprintf(err, errlen, "--stage must be open, won, lost or closed");
        return -1;
    }
    if (!title[0]) {
        snprintf(err, errlen, "--title must not be empty");
        return -1;
    }
    if (last_activity && !rfc3339_valid(last_activity)) {
        snprintf(err, errlen, "--last-activity: not an RFC 3339 date-time");
        return -1;
    }
    snprintf(cp, sizeof(cp), "%lld", counterparty);
    if (admin_begin(conn, err, errlen) < 0)
        return -1;
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0 ||
        admin_counterparty_check(conn, tenant, counterparty, err, errlen) < 0 ||
        pgconn_query(
            conn,
            "INSERT INTO deals (tenant_id, counterparty_id, title, stage, last_activity_at)"
            " VALUES ($1, $2::bigint, $3, $4::deal_stage,"
            " COALESCE($5::timestamptz, now())) RETURNING id",
            5, p, &res, "deal add", err, errlen) < 0)
        return admin_abort(conn);
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return admin_commit(conn, err, errlen);
}

#define ADMIN_LIST_SQL(cols, from)                                                                 \
    "SELECT COALESCE(json_agg(r ORDER BY r.id), '[]')::text FROM (SELECT " cols " FROM " from      \
    " WHERE tenant_id = $1) r"

static const char *const admin_list_sql[] = {
    [ADMIN_LIST_CONTACTS] = ADMIN_LIST_SQL(
        "id, call_id, direction, caller, caller_raw, virtual_number, counterparty_id,"
        " answered_by, state, rfc3339(ringing_at) AS ringing_at,"
        " rfc3339(answered_at) AS answered_at, rfc3339(ended_at) AS ended_at, record_urls,"
        " talk_duration_s, total_duration_s, wait_duration_s,"
        " revision, rfc3339(created_at) AS created_at, rfc3339(updated_at) AS updated_at",
        "contacts"),
    [ADMIN_LIST_TASKS] =
        ADMIN_LIST_SQL("id, call_id, kind, title, phone, counterparty_id, assignee_user_id, done,"
                       " rfc3339(created_at) AS created_at, closed_by_call_id, closed_by_user_id,"
                       " rfc3339(closed_at) AS closed_at",
                       "tasks"),
    [ADMIN_LIST_DEAL_HISTORY] = ADMIN_LIST_SQL(
        "id, deal_id, call_id, kind, direction, phone, user_id, duration_s, record_urls,"
        " rfc3339(occurred_at) AS occurred_at, rfc3339(created_at) AS created_at",
        "deal_history"),
    [ADMIN_LIST_COUNTERPARTIES] =
        ADMIN_LIST_SQL("id, name, work_phone, work_phone_raw, mobile_phone, mobile_phone_raw,"
                       " responsible_user_id, auto_created_number IS NOT NULL AS auto_created,"
                       " rfc3339(created_at) AS created_at",
                       "counterparties"),
    [ADMIN_LIST_DEALS] = ADMIN_LIST_SQL(
        "id, counterparty_id, title, stage, rfc3339(last_activity_at) AS last_activity_at",
        "deals"),
    [ADMIN_LIST_USERS] = ADMIN_LIST_SQL("id, login, name, active", "users"),
};

int admin_list(PGconn *conn, enum admin_list what, const char *tenant, json_t **out, char *err,
               size_t errlen)
{
    const char *p[1] = {tenant};
    PGresult *res = NULL;

    *out = NULL;
    if (admin_tenant_exists(conn, tenant, err, errlen) < 0 ||
        pgconn_query(conn, admin_list_sql[what], 1, p, &res, "list", err, errlen) < 0)
        return -1;
    *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!*out) {
        snprintf(err, errlen, "list: bad JSON from the database");
        return -1;
    }
    return 0;
}
