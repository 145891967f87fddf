/* The dialer's PostgreSQL edge: what a request needs (the tenant's key, the user's UIS
 * employee, the number callbacks show) and the durable row of each request (call_requests),
 * claimed before UIS is asked. SQL only through parameters; every PGresult cleared. */
#ifndef RECONCILER_DIAL_STORE_H
#define RECONCILER_DIAL_STORE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "common/call_request.h"
#include "dial_msg.h"
#include "store.h"

struct dial_ctx {
    int tenant_found;
    char key[STORE_KEY_LEN];             /* secret: never logged; "" when none */
    long long employee_id;               /* 0: the user is linked to no UIS employee */
    char virtual_number[PHONE_E164_LEN]; /* E.164; "" when none is set or was seen */
};

/* Fill ctx for r's tenant and user. The virtual number is the tenant's setting, else the one
 * its most recent notification (of the last 30 days) carried. Returns 0 or -1 (err). */
int dial_store_context(PGconn *conn, const struct callreq *r, struct dial_ctx *ctx, char *err,
                       size_t errlen);

/* Claim r: 1 when this call made the row (UIS may now be asked, once), 0 when a row was there
 * already (prior is its outcome: claimed rows come back as DIAL_UNKNOWN with *was_claimed
 * set), -1 on error. */
int dial_store_claim(PGconn *conn, const struct callreq *r, struct dial_outcome *prior,
                     int *was_claimed, char *err, size_t errlen);

/* Record the outcome of a claimed (or unknown) row, with what was asked. A row that already
 * holds a definite outcome is left alone. Returns 0 or -1. */
int dial_store_finish(PGconn *conn, const struct callreq *r, const struct dial_outcome *o,
                      long long employee_id, const char *virtual_number, char *err, size_t errlen);

#endif
