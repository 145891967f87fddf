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
    int done; /* its outcome came: kept until until_ms only to ignore a late note */
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

/* The slot of request_id in tenant, or NULL. Under mu. */
static struct inflight_slot *inflight_find(struct inflight *f, const char *tenant,
                                           const char *request_id)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->slots[i].request_id, request_id) == 0 &&
            strcmp(f->slots[i].tenant, tenant) == 0)
            return &f->slots[i];
    }
    return NULL;
}

/* Append a slot; the caller checked n < cap. Under mu. */
static void inflight_add(struct inflight *f, const char *tenant, long long user_id,
                         const char *request_id, int64_t until_ms, int done)
{
    struct inflight_slot *s = &f->slots[f->n++];

    snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
    snprintf(s->request_id, sizeof(s->request_id), "%s", request_id);
    s->user_id = user_id;
    s->until_ms = until_ms;
    s->done = done;
}

int inflight_reserve(struct inflight *f, const char *tenant, long long user_id,
                     const char *request_id, int64_t now_ms)
{
    long mine = 0;
    int rc = -1;

    pthread_mutex_lock(&f->mu);
    inflight_prune(f, now_ms);
    for (size_t i = 0; i < f->n; i++)
        mine += !f->slots[i].done && f->slots[i].user_id == user_id &&
                strcmp(f->slots[i].tenant, tenant) == 0;
    if (mine < f->per_user && f->n < f->cap) {
        inflight_add(f, tenant, user_id, request_id, now_ms + f->life_ms, 0);
        rc = 0;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int inflight_note(struct inflight *f, const char *tenant, long long user_id, const char *request_id,
                  int64_t until_ms, int64_t now_ms)
{
    int rc = 0;

    pthread_mutex_lock(&f->mu);
    inflight_prune(f, now_ms);
    if (until_ms > now_ms && !inflight_find(f, tenant, request_id)) {
        if (f->n < f->cap)
            inflight_add(f, tenant, user_id, request_id, until_ms, 0);
        else
            rc = -1;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void inflight_release(struct inflight *f, const char *tenant, const char *request_id)
{
    struct inflight_slot *s;

    pthread_mutex_lock(&f->mu);
    s = inflight_find(f, tenant, request_id);
    if (s)
        *s = f->slots[--f->n];
    pthread_mutex_unlock(&f->mu);
}

/* The outcome of request_id came: it stops counting, and a note read later is ignored. */
static void inflight_done(struct inflight *f, const char *tenant, const char *request_id,
                          int64_t now_ms)
{
    struct inflight_slot *s;

    pthread_mutex_lock(&f->mu);
    inflight_prune(f, now_ms);
    s = inflight_find(f, tenant, request_id);
    if (s)
        s->done = 1;
    else if (f->n < f->cap)
        inflight_add(f, tenant, 0, request_id, now_ms + f->life_ms, 1);
    pthread_mutex_unlock(&f->mu);
}

void inflight_observe(struct inflight *f, const char *popup_id, int64_t now_ms)
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
    inflight_done(f, tenant, at + sizeof(mark) - 1, now_ms);
}

size_t inflight_count(struct inflight *f)
{
    size_t n;

    pthread_mutex_lock(&f->mu);
    n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += !f->slots[i].done;
    pthread_mutex_unlock(&f->mu);
    return n;
}
