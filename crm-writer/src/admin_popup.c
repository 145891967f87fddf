#include "admin_popup.h"

#include "common/cloudevents.h"
#include "common/kafka.h"
#include "common/pgconn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADMIN_POPUP_KAFKA_MS 15000

static const char *const admin_popup_sql[] = {
    [ADMIN_POPUP_REVOKE] = "SELECT active FROM users WHERE tenant_id = $1 AND id = $2::bigint"
                           " FOR UPDATE",
    [ADMIN_POPUP_DISABLE] = "UPDATE users SET active = false WHERE tenant_id = $1"
                            " AND id = $2::bigint RETURNING active",
    [ADMIN_POPUP_ENABLE] = "UPDATE users SET active = true WHERE tenant_id = $1"
                           " AND id = $2::bigint RETURNING active",
};

long long admin_popup_generation_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *admin_popup_record(const char *tenant, long long user_id, long long generation, int active)
{
    char uid[24];
    json_t *v;
    char *text;

    snprintf(uid, sizeof(uid), "%lld", user_id);
    v = json_pack("{s:s, s:s, s:I, s:b}", "tenant", tenant, "user_id", uid, "token_generation",
                  (json_int_t)generation, "active", active);
    text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    return text;
}

static int admin_popup_publish(const struct admin_popup_users *pu, const char *tenant,
                               long long user_id, long long generation, int active, char *err,
                               size_t errlen)
{
    char *text = admin_popup_record(tenant, user_id, generation, active);
    char key[96], id[128];
    struct ce_attrs ce;
    struct traceparent tp;
    rd_kafka_headers_t *hdrs = NULL;
    int rc = -1;

    snprintf(key, sizeof(key), "%s/%lld", tenant, user_id);
    snprintf(id, sizeof(id), "%s:%lld", key, generation);
    if (text && tp_generate(&tp) == 0 &&
        ce_attrs_init(&ce, id, "ru.crm.popup.user", "/crmctl", &tp) == 0)
        hdrs = ce_headers_new(&ce);
    if (!hdrs)
        snprintf(err, errlen, "popup-users message: out of memory");
    else /* kafka_produce_sync takes the headers over */
        rc = kafka_produce_sync(pu->producer, pu->topic, key, strlen(key), text, strlen(text), hdrs,
                                ADMIN_POPUP_KAFKA_MS, err, errlen);
    free(text);
    return rc < 0 ? -1 : 0;
}

/* Run sql with (tenant, id); 1 and *active when a row came back, 0 when none, -1 on error. */
static int admin_popup_row(PGconn *conn, const char *sql, const char *tenant, long long user_id,
                           int *active, char *err, size_t errlen)
{
    char num[24];
    const char *p[2] = {tenant, num};
    PGresult *res;
    int n;

    snprintf(num, sizeof(num), "%lld", user_id);
    if (pgconn_query(conn, sql, 2, p, &res, "user", err, errlen) < 0)
        return -1;
    n = PQntuples(res);
    if (n == 1)
        *active = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    else
        snprintf(err, errlen, "user %lld does not exist in tenant %s", user_id, tenant);
    PQclear(res);
    return n == 1;
}

static int admin_popup_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    return pgconn_query(conn, sql, 0, NULL, NULL, sql, err, errlen);
}

int admin_popup_user(PGconn *conn, const struct admin_popup_users *pu, const char *tenant,
                     long long user_id, enum admin_popup_op op, long long *generation, int *active,
                     char *err, size_t errlen)
{
    int rc;

    if (admin_popup_exec(conn, "BEGIN", err, errlen) < 0)
        return -1;
    rc = admin_popup_row(conn, admin_popup_sql[op], tenant, user_id, active, err, errlen);
    *generation = admin_popup_generation_now();
    /* Announced before COMMIT: a failed announcement leaves the database as it was. */
    if (rc != 1 ||
        admin_popup_publish(pu, tenant, user_id, *generation, *active, err, errlen) < 0 ||
        admin_popup_exec(conn, "COMMIT", err, errlen) < 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return -1;
    }
    return 0;
}

int admin_popup_may_mint(PGconn *conn, const char *tenant, long long user_id, char *err,
                         size_t errlen)
{
    int active = 0;
    int rc =
        admin_popup_row(conn, "SELECT active FROM users WHERE tenant_id = $1 AND id = $2::bigint",
                        tenant, user_id, &active, err, errlen);

    if (rc != 1)
        return -1;
    if (!active) {
        snprintf(err, errlen, "user %lld of tenant %s is disabled (crmctl user enable)", user_id,
                 tenant);
        return -1;
    }
    return 0;
}
