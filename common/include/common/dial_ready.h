/* What the notifier may know about placing calls before it asks Kafka to carry a request (issue
 * 18): per tenant, whether it has a UIS API key; per CRM user, the UIS employee it is linked to,
 * or none. The facts live in PostgreSQL; the compacted topic crm.dial-readiness.v1 carries them
 * to the notifier (which has no PostgreSQL). This module is the topic's one contract: the records
 * (made by crmctl and the reconciler, read by the notifier); dial_ready_pub.h publishes them. */
#ifndef COMMON_DIAL_READY_H
#define COMMON_DIAL_READY_H

#include <stddef.h>

#define DIALREADY_TENANT_MAX 64
#define DIALREADY_USER_MAX   20

/* One record, parsed. A tenant record has user[0] == '\0'. */
struct dialready_rec {
    char tenant[DIALREADY_TENANT_MAX];
    char user[DIALREADY_USER_MAX]; /* canonical decimal user id; "" in a tenant record */
    int uis_key;                   /* tenant record: 1 when the tenant has a UIS API key */
    long long employee_id;         /* user record: the linked UIS employee, 0 when none */
};

/* Key and value of a tenant record: key "{tenant}", value {"tenant","uis_key"}. The value is a
 * new string (free it); NULL when out of memory or the tenant id does not fit. */
char *dialready_tenant_value(const char *tenant, int uis_key);

/* Key "{tenant}/{user_id}", value {"tenant","user_id","uis_employee_id"} (null when none). */
char *dialready_user_value(const char *tenant, long long user_id, long long employee_id);

/* Parse a record and check it against its key. A tombstone (value NULL) is refused: the notifier
 * then keeps what it knew, and the reconciler's next publication says the truth. Returns 0, or -1
 * with the reason in err. */
int dialready_parse(const char *key, size_t keylen, const char *value, size_t len,
                    struct dialready_rec *out, char *err, size_t errlen);

#endif
