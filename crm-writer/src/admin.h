/* crmctl's operations on the CRM store (SPEC §9). Each runs in its own transaction, names
 * what is wrong in err ("tenant acme does not exist", "user 7 does not exist in tenant acme"),
 * and bumps tenants.settings_version whenever it changes what the router caches (settings,
 * users, employees, extensions). */
#ifndef CRMW_ADMIN_H
#define CRMW_ADMIN_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "admin_settings.h"
#include "common/webhook_token.h"

/* Where a new webhook token is announced (ingest reads the compacted topic). */
struct admin_tokens {
    rd_kafka_t *producer; /* borrowed */
    const char *topic;
    const struct keyring *keys;
    const char *key_id;
};

/* Create the tenant, or re-install it (settings replaced, users kept). Either way a new token
 * version is issued and announced before COMMIT; token receives the new token. */
int admin_tenant_install(PGconn *conn, const struct admin_tokens *tk, const char *tenant,
                         const char *name, const struct tenant_settings *s, char *token,
                         size_t tokenlen, int *created, char *err, size_t errlen);

/* Issue the next token version (voids the old one) and announce it. */
int admin_tenant_token(PGconn *conn, const struct admin_tokens *tk, const char *tenant, char *token,
                       size_t tokenlen, char *err, size_t errlen);

/* The tenant's settings, users, employees and extensions as a new JSON object; the UIS API
 * key masked. */
int admin_tenant_show(PGconn *conn, const char *tenant, json_t **out, char *err, size_t errlen);

int admin_tenant_set(PGconn *conn, const char *tenant, const struct setting_kv *kv, size_t n,
                     char *err, size_t errlen);

int admin_user_add(PGconn *conn, const char *tenant, const char *login, const char *name,
                   long long *id, char *err, size_t errlen);

/* Replace the ordered employees list. */
int admin_employees_set(PGconn *conn, const char *tenant, const long long *ids, size_t n, char *err,
                        size_t errlen);

int admin_extension_set(PGconn *conn, const char *tenant, const char *ext, long long user_id,
                        char *err, size_t errlen);
int admin_extension_rm(PGconn *conn, const char *tenant, const char *ext, char *err, size_t errlen);

/* Phones are raw; they are normalised (phone_normalize) and both forms stored. */
int admin_counterparty_add(PGconn *conn, const char *tenant, const char *name,
                           const char *work_phone, const char *mobile_phone, long long responsible,
                           long long *id, char *err, size_t errlen);

/* stage NULL: open; last_activity NULL: now. */
int admin_deal_add(PGconn *conn, const char *tenant, long long counterparty, const char *title,
                   const char *stage, const char *last_activity, long long *id, char *err,
                   size_t errlen);

enum admin_list {
    ADMIN_LIST_CONTACTS,
    ADMIN_LIST_TASKS,
    ADMIN_LIST_DEAL_HISTORY,
    ADMIN_LIST_COUNTERPARTIES,
    ADMIN_LIST_DEALS,
    ADMIN_LIST_USERS,
};

/* A new JSON array of the tenant's rows, oldest first. */
int admin_list(PGconn *conn, enum admin_list what, const char *tenant, json_t **out, char *err,
               size_t errlen);

/* 0 when user_id is a user of tenant, -1 with the reason otherwise. */
int admin_user_check(PGconn *conn, const char *tenant, long long user_id, char *err, size_t errlen);

#endif
