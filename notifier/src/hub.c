#include "hub.h"

#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "replay.h"
#include "revoke.h"
#include "sse.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HUB_KEY_MAX     (POPUP_TENANT_MAX + POPUP_USER_MAX + 2)
#define HUB_PRUNE_EVERY 10000 /* ms between prunes of users' memory */

struct hub_slot {
    struct sse_chunk *chunk;
    int kind; /* HUB_START (preamble, replay, snapshot, heartbeat), HUB_PUBLISHED, HUB_LIVE */
};

/* Published events count towards the queue bound; live ones are also timed when written. */
enum { HUB_START, HUB_PUBLISHED, HUB_LIVE };

struct hub_user;

struct hub_conn {
    struct hub_user *user;
    void *handle;
    struct hub_conn *prev, *next;         /* the user's streams */
    struct hub_conn *all_prev, *all_next; /* every stream, oldest last write first */
    struct hub_slot *q;                   /* ring of queued chunks */
    size_t qhead, qn, qcap;
    size_t qoff;       /* bytes of the head chunk already read */
    size_t pub_queued; /* published events queued: the bound */
    long exp;
    long gen; /* the token's generation (revoke.h) */
    int64_t last_write_ms;
    int suspended;
    int closing; /* 1: end cleanly after the queue, 2: abort now */
};

struct hub_user {
    char *key;
    struct hub_user *next; /* hash chain */
    struct replay_user *replay;
    struct hub_conn *conns;
    size_t nconns;
};

struct hub {
    pthread_mutex_t mu;
    struct hub_cfg cfg;
    struct hub_ops ops;
    struct hub_user **buckets;
    size_t nbuckets, nusers;
    struct hub_conn *all, *all_tail; /* by last write: a tick visits only the streams due */
    size_t nconns;
    uint64_t seq;
    int closing;
    int64_t last_prune_ms;
    struct sse_chunk *heartbeat;
    struct revoke *revoked;
    struct metrics_family *m_streams, *m_users, *m_connects, *m_received, *m_delivered, *m_dropped,
        *m_latency, *m_replay;
};

/* Fan-out latency, Kafka timestamp to bytes handed to the socket: 0.25 ms .. 5 s. */
static const double hub_latency_buckets[] = {0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                             0.05,    0.1,    0.25,  0.5,   1,     2.5,  5};

static uint64_t hub_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

struct hub *hub_new(const struct hub_cfg *cfg, const struct hub_ops *ops,
                    struct metrics_registry *reg)
{
    struct hub *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->cfg = *cfg;
    h->ops = *ops;
    h->nbuckets = 1024;
    h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
    h->heartbeat = sse_comment_new("hb", 0);
    h->revoked = revoke_new();
    if (!h->buckets || !h->heartbeat || !h->revoked || pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h->buckets);
        sse_chunk_unref(h->heartbeat);
        revoke_free(h->revoked);
        free(h);
        return NULL;
    }
    h->m_streams = metrics_gauge(reg, "notifier_connections", "open SSE streams", NULL);
    h->m_users = metrics_gauge(reg, "notifier_users", "users remembered (replay buffers)", NULL);
    h->m_connects =
        metrics_counter(reg, "notifier_connects_total",
                        "stream requests by outcome (accepted, unauthorized, user_limit, "
                        "total_limit, closing, revoked)",
                        "result");
    h->m_received = metrics_counter(
        reg, "notifier_popups_received_total",
        "popup messages consumed by verdict (accepted, duplicate, stale, invalid)", "result");
    h->m_delivered = metrics_counter(reg, "notifier_popups_delivered_total",
                                     "popup events written to streams (live and replayed)", "kind");
    h->m_dropped = metrics_counter(reg, "notifier_popups_dropped_total",
                                   "popup events dropped with a stream cut off for being too slow "
                                   "(the client replays them on reconnect)",
                                   NULL);
    h->m_latency = metrics_histogram(
        reg, "notifier_fanout_latency_seconds",
        "Kafka message timestamp to the event's bytes written to a stream", NULL,
        hub_latency_buckets, sizeof(hub_latency_buckets) / sizeof(hub_latency_buckets[0]));
    h->m_replay = metrics_counter(reg, "notifier_replay_total",
                                  "stream starts by replay outcome: hit (events after "
                                  "Last-Event-ID), miss (id unknown or too old: snapshot), fresh "
                                  "(no id: snapshot)",
                                  "result");
    return h;
}

static void hub_queue_clear(struct hub_conn *c)
{
    for (size_t i = 0; i < c->qn; i++)
        sse_chunk_unref(c->q[(c->qhead + i) % c->qcap].chunk);
    c->qhead = c->qn = c->qoff = c->pub_queued = 0;
}

static void hub_user_free(struct hub_user *u)
{
    replay_user_free(u->replay);
    free(u->key);
    free(u);
}

void hub_free(struct hub *h)
{
    if (!h)
        return;
    for (size_t b = 0; b < h->nbuckets; b++) {
        while (h->buckets[b]) {
            struct hub_user *u = h->buckets[b];

            h->buckets[b] = u->next;
            hub_user_free(u);
        }
    }
    free(h->buckets);
    sse_chunk_unref(h->heartbeat);
    revoke_free(h->revoked);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void hub_rehash(struct hub *h)
{
    size_t nb = h->nbuckets * 2;
    struct hub_user **nbk = calloc(nb, sizeof(*nbk));

    if (!nbk)
        return; /* longer chains, still correct */
    for (size_t b = 0; b < h->nbuckets; b++) {
        while (h->buckets[b]) {
            struct hub_user *u = h->buckets[b];
            size_t i = hub_hash(u->key) % nb;

            h->buckets[b] = u->next;
            u->next = nbk[i];
            nbk[i] = u;
        }
    }
    free(h->buckets);
    h->buckets = nbk;
    h->nbuckets = nb;
}

/* Find the user filed under key; create it when create is set. */
static struct hub_user *hub_user_get(struct hub *h, const char *key, int create)
{
    size_t b = hub_hash(key) % h->nbuckets;
    struct hub_user *u;

    for (u = h->buckets[b]; u; u = u->next) {
        if (strcmp(u->key, key) == 0)
            return u;
    }
    if (!create)
        return NULL;
    u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->key = strdup(key);
    u->replay = replay_user_new(h->cfg.ring_cap, h->cfg.popups_cap);
    if (!u->key || !u->replay) {
        hub_user_free(u);
        return NULL;
    }
    if (h->nusers >= h->nbuckets * 2) {
        hub_rehash(h);
        b = hub_hash(key) % h->nbuckets;
    }
    u->next = h->buckets[b];
    h->buckets[b] = u;
    h->nusers++;
    metrics_set(h->m_users, NULL, (double)h->nusers);
    return u;
}

static void hub_user_drop(struct hub *h, struct hub_user *u)
{
    struct hub_user **pp = &h->buckets[hub_hash(u->key) % h->nbuckets];

    while (*pp != u)
        pp = &(*pp)->next;
    *pp = u->next;
    hub_user_free(u);
    h->nusers--;
    metrics_set(h->m_users, NULL, (double)h->nusers);
}

static void hub_all_remove(struct hub *h, struct hub_conn *c)
{
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        h->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    else
        h->all_tail = c->all_prev;
    c->all_prev = c->all_next = NULL;
}

static void hub_all_append(struct hub *h, struct hub_conn *c)
{
    c->all_prev = h->all_tail;
    c->all_next = NULL;
    if (h->all_tail)
        h->all_tail->all_next = c;
    else
        h->all = c;
    h->all_tail = c;
}

/* c wrote at ms: it moves to the end of the last-write order. */
static void hub_wrote(struct hub *h, struct hub_conn *c, int64_t ms)
{
    c->last_write_ms = ms;
    if (h->all_tail != c) {
        hub_all_remove(h, c);
        hub_all_append(h, c);
    }
}

static int hub_push(struct hub_conn *c, struct sse_chunk *chunk, int kind)
{
    if (c->qn == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 4;
        struct hub_slot *nq = malloc(ncap * sizeof(*nq));

        if (!nq)
            return -1;
        for (size_t i = 0; i < c->qn; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qn) % c->qcap] = (struct hub_slot){sse_chunk_ref(chunk), kind};
    c->qn++;
    c->pub_queued += kind != HUB_START;
    return 0;
}

/* Collected streams to resume once the lock is released. */
struct hub_wake {
    void **v;
    size_t n, cap;
    void *one[8];
};

static void hub_wake_add(struct hub_wake *w, struct hub_conn *c)
{
    if (!c->suspended)
        return;
    if (w->n == w->cap) {
        size_t ncap = w->cap * 2;
        void **nv = w->v == w->one ? malloc(ncap * sizeof(*nv)) : realloc(w->v, ncap * sizeof(*nv));

        if (!nv)
            return; /* stays suspended until the next heartbeat wakes it */
        if (w->v == w->one)
            memcpy(nv, w->one, sizeof(w->one));
        w->v = nv;
        w->cap = ncap;
    }
    c->suspended = 0;
    w->v[w->n++] = c->handle;
}

static void hub_wake_run(struct hub *h, struct hub_wake *w)
{
    for (size_t i = 0; i < w->n; i++)
        h->ops.resume(w->v[i]);
    if (w->v != w->one)
        free(w->v);
}

#define HUB_WAKE_INIT(w) ((w).v = (w).one, (w).n = 0, (w).cap = 8)

/* Cut a stream off: what it had queued is dropped (it replays on reconnect). */
static void hub_abort(struct hub *h, struct hub_conn *c, struct hub_wake *w)
{
    metrics_add(h->m_dropped, NULL, (double)c->pub_queued);
    hub_queue_clear(c);
    c->closing = 2;
    hub_wake_add(w, c);
}

/* The token ran out: the stream ends cleanly (the client reconnects, gets 401 and asks the
 * CRM anew). Checked by ticks (streams idle for a heartbeat interval) and by every write. */
static int hub_expired(struct hub_conn *c, int64_t now_ms, struct hub_wake *w)
{
    if (c->exp * 1000 > now_ms)
        return 0;
    c->closing = 1;
    hub_wake_add(w, c);
    return 1;
}

/* Count one chunk whose bytes all went to a stream (now: 0 until read once). */
static void hub_sent(struct hub *h, const struct sse_chunk *chunk, int kind, int64_t *now)
{
    if (kind == HUB_LIVE) {
        if (!*now)
            *now = ids_now_ms();
        metrics_observe(h->m_latency, NULL,
                        (double)(*now > chunk->ts_ms ? *now - chunk->ts_ms : 0) / 1000.0);
    }
    if (kind != HUB_START)
        metrics_inc(h->m_delivered, "live");
    else if (chunk->ts_ms)
        metrics_inc(h->m_delivered, "replay");
}

/* Hand chunk to c: straight to its socket when the stream is suspended with nothing queued
 * (no resume: see hub_ops), else queued for the HTTP thread, which is woken. -1 when out of
 * memory (nothing was done). */
static int hub_deliver(struct hub *h, struct hub_conn *c, struct sse_chunk *chunk, int kind,
                       struct hub_wake *w, int64_t *now)
{
    if (!*now)
        *now = ids_now_ms();
    if (hub_expired(c, *now, w))
        return 0; /* not for an expired token: the client replays it with its new one */
    if (c->suspended && c->qn == 0 && h->ops.write) {
        int rc = h->ops.write(c->handle, chunk->data, chunk->len);

        if (rc > 0) {
            hub_sent(h, chunk, kind, now);
            hub_wrote(h, c, *now ? *now : ids_now_ms());
            return 0;
        }
        if (rc < 0) {
            hub_abort(h, c, w); /* nothing queued: nothing dropped but this chunk */
            return 0;
        }
    }
    if (hub_push(c, chunk, kind) < 0)
        return -1;
    hub_wake_add(w, c);
    return 0;
}

int hub_publish(struct hub *h, const struct popup_msg *m, const struct evid *id, int64_t ts_ms,
                int live)
{
    static const char *const verdicts[] = {"accepted", "duplicate", "stale"};
    char key[HUB_KEY_MAX], idtext[EVID_MAX];
    struct sse_chunk *chunk;
    struct hub_user *u;
    struct hub_wake w;
    int64_t now = 0;
    int v;

    if (auth_user_key(m->tenant, m->user, key, sizeof(key)) < 0 ||
        evid_format(id, idtext, sizeof(idtext)) < 0)
        return -1;
    chunk = sse_event_new(idtext, "popup", m->json, ts_ms);
    if (!chunk)
        return -1;
    HUB_WAKE_INIT(w);
    pthread_mutex_lock(&h->mu);
    u = hub_user_get(h, key, 1);
    v = u ? replay_offer(u->replay, m, id, ts_ms, live ? ++h->seq : 0, chunk) : -1;
    if (v == POPUP_ACCEPT) {
        for (struct hub_conn *c = u->conns; c; c = c->next) {
            if (c->closing)
                continue;
            if (c->pub_queued >= h->cfg.queue_max ||
                hub_deliver(h, c, chunk, live ? HUB_LIVE : HUB_PUBLISHED, &w, &now) < 0) {
                metrics_inc(h->m_dropped, NULL);
                hub_abort(h, c, &w);
            }
        }
    }
    if (v >= 0)
        metrics_inc(h->m_received, verdicts[v]);
    /* The replay buffer and the queues now hold the chunk and the HTTP threads change its
     * count under the lock: ours is dropped under it too. */
    sse_chunk_unref(chunk);
    pthread_mutex_unlock(&h->mu);
    hub_wake_run(h, &w);
    return v;
}

/* The first bytes of a stream: the replay after last, or the snapshot of open popups. */
static int hub_start(struct hub *h, struct hub_conn *c, int last_state, const struct evid *last)
{
    struct replay_user *r = c->user->replay;
    struct sse_chunk *pre = sse_comment_new(NULL, h->cfg.retry_ms), *snap;
    char idtext[EVID_MAX] = "", *json;
    struct evid newest;
    int has_newest;

    if (!pre || hub_push(c, pre, HUB_START) < 0) {
        sse_chunk_unref(pre);
        return -1;
    }
    sse_chunk_unref(pre);
    if (last_state == 1) {
        size_t n = 0;
        struct sse_chunk **ev = malloc((replay_count(r) + 1) * sizeof(*ev));

        if (!ev)
            return -1;
        if (replay_since(r, last, ev, &n) == 0) {
            int rc = 0;

            for (size_t i = 0; i < n; i++) {
                if (rc == 0 && hub_push(c, ev[i], HUB_START) < 0)
                    rc = -1;
                sse_chunk_unref(ev[i]);
            }
            free(ev);
            metrics_inc(h->m_replay, "hit");
            return rc;
        }
        free(ev);
    }
    metrics_inc(h->m_replay, last_state == 0 ? "fresh" : "miss");
    json = replay_snapshot(r, &newest, &has_newest);
    if (!json)
        return -1;
    if (has_newest)
        evid_format(&newest, idtext, sizeof(idtext));
    snap = sse_event_new(idtext, "snapshot", json, 0);
    free(json);
    if (!snap || hub_push(c, snap, HUB_START) < 0) {
        sse_chunk_unref(snap);
        return -1;
    }
    sse_chunk_unref(snap);
    return 0;
}

static void hub_unlink(struct hub *h, struct hub_conn *c)
{
    struct hub_user *u = c->user;

    if (c->prev)
        c->prev->next = c->next;
    else
        u->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub_all_remove(h, c);
    u->nconns--;
    h->nconns--;
    metrics_set(h->m_streams, NULL, (double)h->nconns);
}

enum hub_connect_result hub_connect(struct hub *h, const struct auth_user *who, int last_state,
                                    const struct evid *last, void *handle, struct hub_conn **out)
{
    char key[HUB_KEY_MAX];
    struct hub_user *u;
    struct hub_conn *c;
    enum hub_connect_result rc = HUB_CONNECTED;

    *out = NULL;
    if (auth_user_key(who->tenant, who->user, key, sizeof(key)) < 0)
        return HUB_NOMEM;
    pthread_mutex_lock(&h->mu);
    if (h->closing) {
        rc = HUB_CLOSING;
    } else if (!revoke_allows(h->revoked, key, who->gen)) {
        rc = HUB_REVOKED;
    } else if (h->nconns >= h->cfg.max_conns) {
        rc = HUB_TOTAL_LIMIT;
    } else if (!(u = hub_user_get(h, key, 1))) {
        rc = HUB_NOMEM;
    } else if (u->nconns >= h->cfg.max_per_user) {
        rc = HUB_USER_LIMIT;
    } else if (!(c = calloc(1, sizeof(*c)))) {
        rc = HUB_NOMEM;
    } else {
        c->user = u;
        c->handle = handle;
        c->exp = who->exp;
        c->gen = who->gen;
        c->last_write_ms = ids_now_ms();
        c->next = u->conns;
        if (u->conns)
            u->conns->prev = c;
        u->conns = c;
        u->nconns++;
        hub_all_append(h, c);
        h->nconns++;
        metrics_set(h->m_streams, NULL, (double)h->nconns);
        if (hub_start(h, c, last_state, last) < 0) {
            hub_unlink(h, c);
            hub_queue_clear(c);
            free(c->q);
            free(c);
            rc = HUB_NOMEM;
        } else {
            *out = c;
        }
    }
    {
        static const char *const names[] = {"accepted", "user_limit", "total_limit",
                                            "closing",  "nomem",      "revoked"};
        metrics_inc(h->m_connects, names[rc]);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

ssize_t hub_read(struct hub *h, struct hub_conn *c, char *buf, size_t max)
{
    size_t done = 0;
    int64_t now = 0;
    ssize_t rc;

    pthread_mutex_lock(&h->mu);
    if (c->closing == 2) {
        pthread_mutex_unlock(&h->mu);
        return HUB_READ_ABORT;
    }
    while (c->qn && done < max) {
        struct hub_slot *s = &c->q[c->qhead];
        size_t n = s->chunk->len - c->qoff;

        if (n > max - done)
            n = max - done;
        memcpy(buf + done, s->chunk->data + c->qoff, n);
        done += n;
        c->qoff += n;
        if (c->qoff < s->chunk->len)
            break;
        hub_sent(h, s->chunk, s->kind, &now);
        c->pub_queued -= s->kind != HUB_START;
        sse_chunk_unref(s->chunk);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qn--;
        c->qoff = 0;
    }
    if (done) {
        hub_wrote(h, c, now ? now : ids_now_ms());
        rc = (ssize_t)done;
    } else if (c->closing) {
        rc = HUB_READ_END;
    } else {
        c->suspended = 1;
        h->ops.suspend(c->handle);
        rc = 0;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void hub_disconnect(struct hub *h, struct hub_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&h->mu);
    hub_unlink(h, c);
    hub_queue_clear(c);
    pthread_mutex_unlock(&h->mu);
    free(c->q);
    free(c);
}

static void hub_prune(struct hub *h, int64_t now_ms)
{
    int64_t horizon = now_ms - h->cfg.window_s * 1000;
    int64_t open_horizon = now_ms - h->cfg.open_max_s * 1000;

    for (size_t b = 0; b < h->nbuckets; b++) {
        struct hub_user *u = h->buckets[b];

        while (u) {
            struct hub_user *next = u->next;

            if (replay_prune(u->replay, horizon, open_horizon) && u->nconns == 0)
                hub_user_drop(h, u);
            u = next;
        }
    }
}

int hub_tick(struct hub *h, int64_t now_ms)
{
    struct hub_wake w;
    int64_t now = now_ms;
    int writes = 0, more = 0;

    HUB_WAKE_INIT(w);
    pthread_mutex_lock(&h->mu);
    /* Oldest write first: the walk ends at the first stream that wrote within the heartbeat
     * interval (those written now move behind it), so a tick costs the streams due, not all. */
    for (struct hub_conn *c = h->all, *next; c; c = next) {
        next = c->all_next;
        if (now_ms - c->last_write_ms < h->cfg.heartbeat_ms)
            break;
        if (c->closing)
            continue;
        if (hub_expired(c, now_ms, &w))
            continue;
        /* Streams that connected together fall due together (10,000 within a second after a
         * deploy): a popup waits for at most one slice of their heartbeats, not all. */
        if (writes == HUB_TICK_SLICE) {
            more = 1;
            break;
        }
        /* A suspended stream never notices a vanished client: the heartbeat's write does,
         * and lets the library release it. */
        if (c->qn == 0) {
            writes++;
            if (hub_deliver(h, c, h->heartbeat, HUB_START, &w, &now) == 0 && !c->closing)
                hub_wrote(h, c, now_ms);
        }
    }
    if (!more && now_ms - h->last_prune_ms >= HUB_PRUNE_EVERY) {
        h->last_prune_ms = now_ms;
        hub_prune(h, now_ms);
    }
    pthread_mutex_unlock(&h->mu);
    hub_wake_run(h, &w);
    return more;
}

int hub_user_tokens(struct hub *h, const char *tenant, const char *user, long generation,
                    int active)
{
    char key[HUB_KEY_MAX];
    struct hub_user *u;
    struct hub_wake w;
    int closed = 0;

    if (auth_user_key(tenant, user, key, sizeof(key)) < 0)
        return -1;
    HUB_WAKE_INIT(w);
    pthread_mutex_lock(&h->mu);
    if (revoke_set(h->revoked, key, generation, active) < 0) {
        pthread_mutex_unlock(&h->mu);
        return -1;
    }
    u = hub_user_get(h, key, 0);
    for (struct hub_conn *c = u ? u->conns : NULL; c; c = c->next) {
        if (c->closing || revoke_allows(h->revoked, key, c->gen))
            continue;
        /* What is queued still goes (it was the user's to see); the reconnect gets 401. */
        c->closing = 1;
        hub_wake_add(&w, c);
        closed++;
    }
    pthread_mutex_unlock(&h->mu);
    hub_wake_run(h, &w);
    return closed;
}

void hub_close_all(struct hub *h)
{
    struct hub_wake w;

    HUB_WAKE_INIT(w);
    pthread_mutex_lock(&h->mu);
    h->closing = 1;
    for (struct hub_conn *c = h->all; c; c = c->all_next) {
        if (!c->closing)
            c->closing = 1;
        hub_wake_add(&w, c);
    }
    pthread_mutex_unlock(&h->mu);
    hub_wake_run(h, &w);
}

void hub_count_connect(struct hub *h, const char *result)
{
    metrics_inc(h->m_connects, result);
}

size_t hub_stream_count(struct hub *h)
{
    size_t n;

    pthread_mutex_lock(&h->mu);
    n = h->nconns;
    pthread_mutex_unlock(&h->mu);
    return n;
}

size_t hub_user_count(struct hub *h)
{
    size_t n;

    pthread_mutex_lock(&h->mu);
    n = h->nusers;
    pthread_mutex_unlock(&h->mu);
    return n;
}

int hub_token_allowed(struct hub *h, const struct auth_user *who)
{
    char key[HUB_KEY_MAX];
    int ok;

    if (auth_user_key(who->tenant, who->user, key, sizeof(key)) < 0)
        return 0;
    pthread_mutex_lock(&h->mu);
    ok = revoke_allows(h->revoked, key, who->gen);
    pthread_mutex_unlock(&h->mu);
    return ok;
}
