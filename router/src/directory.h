/* PostgreSQL reads for the rules: a tenant's settings, users, settings employees and extension
 * map (cached per tenant, re-read when settings_version changes, checked after a short TTL), and
 * the counterparties of a batch of numbers with their last active deals (one query per batch). */
#ifndef ROUTER_DIRECTORY_H
#define ROUTER_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "tenant.h"

struct rt_dir_entry;

struct rt_directory {
    long ttl_ms;
    size_t n, cap;
    struct rt_dir_entry **entries; /* owned */
};

void rt_directory_init(struct rt_directory *d, long ttl_ms);
void rt_directory_release(struct rt_directory *d);

/* The tenant's data in *out (owned by the cache, valid until the next call for that tenant).
 * Returns 0, 1 when the tenant does not exist, or -1 with the reason in err (a query failed:
 * the caller checks the connection and retries later). */
int rt_directory_tenant(struct rt_directory *d, PGconn *conn, const char *tenant,
                        const struct rt_tenant **out, char *err, size_t errlen);

/* One (tenant, phone) question and its answer. name and deal_title are owned by the lookup
 * (rt_lookup_clear); party's strings point at them. */
struct rt_lookup {
    char tenant[RT_TENANT_LEN];
    char phone[PHONE_E164_LEN];
    struct rt_party party;
    char *name;
    char *deal_title;
};

void rt_lookup_clear(struct rt_lookup *q);

/* Fill every q[i].party: the counterparty whose work or mobile phone is the number — several:
 * a person's before an auto-created one, then the most recently active open deal, then the
 * lowest id — and its open deal with the latest last_activity_at (ties: the highest id).
 * Returns 0 or -1 with the reason in err. */
int rt_directory_parties(PGconn *conn, struct rt_lookup *q, size_t n, char *err, size_t errlen);

#endif
