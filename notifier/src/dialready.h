/* What the notifier knows of a tenant's and a user's readiness to place calls (issue 18), from
 * the compacted topic crm.dial-readiness.v1 (common/dial_ready.h). POST /v1/calls refuses a
 * request only when a record says it cannot succeed; what no record names is the dialer's to
 * judge. Thread-safe: the feed's thread writes, the HTTP thread reads. */
#ifndef NOTIFIER_DIALREADY_H
#define NOTIFIER_DIALREADY_H

#include <stddef.h>

#include "common/dial_ready.h"

enum dialready_verdict {
    DIALREADY_UNKNOWN,    /* no record says otherwise: ask the dialer */
    DIALREADY_NO_KEY,     /* the tenant has no UIS API key */
    DIALREADY_NOT_LINKED, /* the user is linked to no UIS employee */
    DIALREADY_LINKED,     /* the tenant has a key (or is unknown) and the user is linked */
};

struct dialready;

/* Owned by the caller (dialready_free). NULL when out of memory. */
struct dialready *dialready_new(void);
void dialready_free(struct dialready *d);

/* Remember rec (the last record of a key wins). 0, or -1 when out of memory. */
int dialready_apply(struct dialready *d, const struct dialready_rec *rec);

/* What the records say of user (decimal id) of tenant. */
enum dialready_verdict dialready_check(struct dialready *d, const char *tenant, const char *user);

size_t dialready_size(struct dialready *d);

#endif
