#include "inflight.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/call_request.h"

struct inflight_slot {
    char tenant[CALLREQ_TENANT_MAX];
    long long user_id;
    char request_id[IDS_UUID_LEN];
    int64_t until_ms;
};

struct inflight {
    pthread_mutex_t mu;
    long per_user;
    int64_t life_ms;
    size_t cap, n;
    struct inflight_slot *slots;
};

struct inflight *inflight_new(long per_user, int64_t life_ms, size_t cap)
{
    struct inflight *f = calloc(1, sizeof(*f));

    if (!f || !(f->slots = calloc(cap ? cap : 1, sizeof(*f->slots)))) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->per_user = per_user;
    f->life_ms = life_ms;
    f->cap = cap;
    return f;
}

void inflight_free(struct inflight *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f->slots);
    free(f);
}

/* Forget expired slots, keeping the array dense. Under mu. */
static void inflight_prune(struct inflight *f, int64_t now_ms)
{
    size_t w = 0;

    for (size_t i = 0; i < f->n; i++) {
        if (f->slots[i].until_ms > now_ms)
            f->slots[w++] = f->slots[i];
    }
    f->n = w;
}

int inflight_reserve(struct inflight *f, const char *tenant, long long user_id,
                     const char *request_id, int64_t now_ms)
{
    long mine = 0;
    int rc = -1;

    pthread_mutex_lock(&f->mu);
    inflight_prune(f, now_ms);
    for (size_t i = 0; i < f->n; i++)
        mine += f->slots[i].user_id == user_id && strcmp(f->slots[i].tenant, tenant) == 0;
    if (mine < f->per_user && f->n < f->cap) {
        struct inflight_slot *s = &f->slots[f->n++];

        snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
        snprintf(s->request_id, sizeof(s->request_id), "%s", request_id);
        s->user_id = user_id;
        s->until_ms = now_ms + f->life_ms;
        rc = 0;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void inflight_release(struct inflight *f, const char *tenant, const char *request_id)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->slots[i].request_id, request_id) == 0 &&
            strcmp(f->slots[i].tenant, tenant) == 0) {
            f->slots[i] = f->slots[--f->n];
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
}

void inflight_observe(struct inflight *f, const char *popup_id)
{
    static const char mark[] = ":request:";
    const char *at = strstr(popup_id, mark);
    char tenant[CALLREQ_TENANT_MAX];
    size_t tlen;

    if (!at)
        return;
    tlen = (size_t)(at - popup_id);
    if (tlen == 0 || tlen >= sizeof(tenant))
        return;
    memcpy(tenant, popup_id, tlen);
    tenant[tlen] = '\0';
    inflight_release(f, tenant, at + sizeof(mark) - 1);
}

size_t inflight_count(struct inflight *f)
{
    size_t n;

    pthread_mutex_lock(&f->mu);
    n = f->n;
    pthread_mutex_unlock(&f->mu);
    return n;
}
