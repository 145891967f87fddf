/* Popup token revocation (crmctl user disable / enable / revoke-tokens): a popup token carries
 * its generation, the time crmctl minted it in milliseconds (the gen claim). Revoking a
 * user's tokens announces "generations below now are void" on the compacted popup-users topic,
 * which the notifier follows (notifier/src/revoke.h); disabling also clears users.active, so
 * that no new token is minted. Only the topic (kept forever, like the tenant-token topic)
 * remembers the revocation time: tokens expire, the topic outlives them. */
#ifndef CRMW_ADMIN_POPUP_H
#define CRMW_ADMIN_POPUP_H

#include <stddef.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

enum admin_popup_op {
    ADMIN_POPUP_REVOKE,  /* every token minted before now is void */
    ADMIN_POPUP_DISABLE, /* the same, and no new token until enabled */
    ADMIN_POPUP_ENABLE,  /* new tokens may be minted (the old ones stay void) */
};

/* Where the state is announced. */
struct admin_popup_users {
    rd_kafka_t *producer; /* borrowed */
    const char *topic;
};

/* The generation a token minted now carries: the wall clock in milliseconds. */
long long admin_popup_generation_now(void);

/* The record announcing (tenant, user_id) with generation and active: key "{tenant}/{id}".
 * Returns a new string (free it) or NULL when out of memory. */
char *admin_popup_record(const char *tenant, long long user_id, long long generation, int active);

/* Apply op to the user in one transaction that commits only after the broker acknowledged the
 * record. *active receives the user's state. */
int admin_popup_user(PGconn *conn, const struct admin_popup_users *pu, const char *tenant,
                     long long user_id, enum admin_popup_op op, long long *generation, int *active,
                     char *err, size_t errlen);

/* 0 when the user exists and is active (popup-token may mint), else -1 with the reason. */
int admin_popup_may_mint(PGconn *conn, const char *tenant, long long user_id, char *err,
                         size_t errlen);

#endif
