#include "dialready.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str_slot.h"

#define DIALREADY_KEY_MAX (DIALREADY_TENANT_MAX + DIALREADY_USER_MAX + 1)

/* One key's fact: a tenant's key ("{tenant}") or a user's employee ("{tenant}/{user}"). */
struct dialready_fact {
    char key[DIALREADY_KEY_MAX];
    long long value; /* tenant: uis_key 0/1; user: employee id, 0 when none */
};

/* A sorted array: lookups are binary searches, and a new key (rare after the start) moves the
 * tail once. */
struct dialready {
    pthread_mutex_t mu;
    struct dialready_fact *facts;
    size_t n, cap;
};

struct dialready *dialready_new(void)
{
    struct dialready *d = calloc(1, sizeof(*d));

    if (d)
        pthread_mutex_init(&d->mu, NULL);
    return d;
}

void dialready_free(struct dialready *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->mu);
    free(d->facts);
    free(d);
}

static const char *dialready_key_at(const void *facts, size_t i)
{
    return ((const struct dialready_fact *)facts)[i].key;
}

/* The index of key, or where it would go (*found 0). Under mu. */
static size_t dialready_find(const struct dialready *d, const char *key, int *found)
{
    return str_slot(d->facts, d->n, dialready_key_at, key, found);
}

static int dialready_key(char *key, const char *tenant, const char *user)
{
    int n = user ? snprintf(key, DIALREADY_KEY_MAX, "%s/%s", tenant, user)
                 : snprintf(key, DIALREADY_KEY_MAX, "%s", tenant);

    return n < 0 || n >= DIALREADY_KEY_MAX ? -1 : 0;
}

int dialready_apply(struct dialready *d, const struct dialready_rec *rec)
{
    char key[DIALREADY_KEY_MAX];
    size_t at;
    int found, rc = 0;

    if (dialready_key(key, rec->tenant, rec->user[0] ? rec->user : NULL) < 0)
        return -1;
    pthread_mutex_lock(&d->mu);
    at = dialready_find(d, key, &found);
    if (!found && d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 256;
        struct dialready_fact *grown = realloc(d->facts, ncap * sizeof(*grown));

        if (grown) {
            d->facts = grown;
            d->cap = ncap;
        } else {
            rc = -1;
        }
    }
    if (rc == 0 && !found) {
        memmove(&d->facts[at + 1], &d->facts[at], (d->n - at) * sizeof(*d->facts));
        memcpy(d->facts[at].key, key, sizeof(key));
        d->n++;
    }
    if (rc == 0)
        d->facts[at].value = rec->user[0] ? rec->employee_id : rec->uis_key;
    pthread_mutex_unlock(&d->mu);
    return rc;
}

/* The fact of key into *value: 1 when known, 0 when not. Under mu. */
static int dialready_get(const struct dialready *d, const char *key, long long *value)
{
    int found;
    size_t at = dialready_find(d, key, &found);

    if (found)
        *value = d->facts[at].value;
    return found;
}

enum dialready_verdict dialready_check(struct dialready *d, const char *tenant, const char *user)
{
    char tkey[DIALREADY_KEY_MAX], ukey[DIALREADY_KEY_MAX];
    long long has_key = 1, employee = 0;
    int user_known;

    if (dialready_key(tkey, tenant, NULL) < 0 || dialready_key(ukey, tenant, user) < 0)
        return DIALREADY_UNKNOWN;
    pthread_mutex_lock(&d->mu);
    (void)dialready_get(d, tkey, &has_key);
    user_known = dialready_get(d, ukey, &employee);
    pthread_mutex_unlock(&d->mu);
    if (!has_key)
        return DIALREADY_NO_KEY;
    if (!user_known)
        return DIALREADY_UNKNOWN;
    return employee > 0 ? DIALREADY_LINKED : DIALREADY_NOT_LINKED;
}

size_t dialready_size(struct dialready *d)
{
    size_t n;

    pthread_mutex_lock(&d->mu);
    n = d->n;
    pthread_mutex_unlock(&d->mu);
    return n;
}
