#include "replay.h"

#include <stdlib.h>
#include <string.h>

struct replay_entry {
    struct evid id;
    int64_t ts_ms;
    uint64_t seq;
    struct sse_chunk *chunk;
};

struct replay_popup {
    char *popup_id;
    char *json; /* latest message while open; NULL once closed */
    unsigned seen;
    enum popup_state cur;
    int64_t ts_ms;
    struct evid id;
};

struct replay_user {
    struct replay_entry *ring; /* sorted by replay_key_cmp, oldest first */
    size_t n, alloc, cap;      /* grown on demand up to cap: most users never fill it */
    struct replay_popup *pops;
    size_t npops, popcap, popmax;
};

static int replay_key_cmp(int64_t ts_a, const struct evid *a, int64_t ts_b, const struct evid *b)
{
    if (ts_a != ts_b)
        return ts_a < ts_b ? -1 : 1;
    return evid_cmp(a, b);
}

struct replay_user *replay_user_new(size_t ring_cap, size_t popups_cap)
{
    struct replay_user *u = calloc(1, sizeof(*u));

    if (!u || ring_cap == 0 || popups_cap == 0) {
        free(u);
        return NULL;
    }
    u->cap = ring_cap;
    u->popmax = popups_cap;
    return u;
}

static void replay_popup_clear(struct replay_popup *p)
{
    free(p->popup_id);
    free(p->json);
}

void replay_user_free(struct replay_user *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++)
        sse_chunk_unref(u->ring[i].chunk);
    for (size_t i = 0; i < u->npops; i++)
        replay_popup_clear(&u->pops[i]);
    free(u->ring);
    free(u->pops);
    free(u);
}

static struct replay_popup *replay_find_popup(struct replay_user *u, const char *popup_id)
{
    for (size_t i = 0; i < u->npops; i++) {
        if (strcmp(u->pops[i].popup_id, popup_id) == 0)
            return &u->pops[i];
    }
    return NULL;
}

static void replay_drop_popup(struct replay_user *u, size_t i)
{
    replay_popup_clear(&u->pops[i]);
    u->pops[i] = u->pops[--u->npops];
}

/* Make room for one more popup: forget the oldest closed one, or, when all are open, the
 * oldest open one (its close is long overdue compared to the others). */
static int replay_popup_slot(struct replay_user *u)
{
    if (u->npops == u->popmax) {
        size_t victim = 0;
        int victim_open = 1;

        for (size_t i = 0; i < u->npops; i++) {
            int open = u->pops[i].json != NULL;

            if ((victim_open && !open) ||
                (open == victim_open && u->pops[i].ts_ms < u->pops[victim].ts_ms)) {
                victim = i;
                victim_open = open;
            }
        }
        replay_drop_popup(u, victim);
    }
    if (u->npops == u->popcap) {
        size_t ncap = u->popcap ? u->popcap * 2 : 4;
        struct replay_popup *np;

        if (ncap > u->popmax)
            ncap = u->popmax;
        if (ncap == 0)
            ncap = 1;
        np = realloc(u->pops, ncap * sizeof(*np));
        if (!np)
            return -1;
        u->pops = np;
        u->popcap = ncap;
    }
    return 0;
}

/* One more slot when the ring is below its cap; on failure it stays as it is (full). */
static void replay_ring_grow(struct replay_user *u)
{
    size_t ncap = u->alloc ? u->alloc * 2 : 4;
    struct replay_entry *nr;

    if (u->alloc == u->cap)
        return;
    if (ncap > u->cap)
        ncap = u->cap;
    nr = realloc(u->ring, ncap * sizeof(*nr));
    if (!nr)
        return;
    u->ring = nr;
    u->alloc = ncap;
}

static void replay_ring_insert(struct replay_user *u, const struct evid *id, int64_t ts_ms,
                               uint64_t seq, struct sse_chunk *chunk)
{
    size_t pos = u->n;

    if (u->n == u->alloc)
        replay_ring_grow(u);
    if (u->alloc == 0)
        return; /* out of memory: live delivery goes on, this event is not replayable */

    while (pos > 0 && replay_key_cmp(u->ring[pos - 1].ts_ms, &u->ring[pos - 1].id, ts_ms, id) > 0)
        pos--;
    if (u->n == u->alloc) {
        if (pos == 0)
            return; /* older than everything kept: beyond the buffer already */
        sse_chunk_unref(u->ring[0].chunk);
        memmove(&u->ring[0], &u->ring[1], (pos - 1) * sizeof(u->ring[0]));
        pos--;
    } else {
        memmove(&u->ring[pos + 1], &u->ring[pos], (u->n - pos) * sizeof(u->ring[0]));
        u->n++;
    }
    u->ring[pos].id = *id;
    u->ring[pos].ts_ms = ts_ms;
    u->ring[pos].seq = seq;
    u->ring[pos].chunk = sse_chunk_ref(chunk);
}

int replay_offer(struct replay_user *u, const struct popup_msg *m, const struct evid *id,
                 int64_t ts_ms, uint64_t seq, struct sse_chunk *chunk)
{
    struct replay_popup *p = replay_find_popup(u, m->popup_id);
    enum popup_verdict v =
        popup_judge(p ? p->seen : 0, p ? p->cur : POPUP_STATE_RINGING, m->action, m->state);
    char *json = NULL;

    if (v != POPUP_ACCEPT)
        return (int)v;
    if (m->state != POPUP_STATE_CLOSED) {
        json = strdup(m->json);
        if (!json)
            return -1;
    }
    if (!p) {
        char *pid = strdup(m->popup_id);

        if (!pid || replay_popup_slot(u) < 0) {
            free(pid);
            free(json);
            return -1;
        }
        p = &u->pops[u->npops++];
        memset(p, 0, sizeof(*p));
        p->popup_id = pid;
    }
    free(p->json);
    p->json = json;
    p->seen |= popup_seen_bit(m->action, m->state);
    if (m->state > p->cur)
        p->cur = m->state;
    p->ts_ms = ts_ms;
    p->id = *id;
    replay_ring_insert(u, id, ts_ms, seq, chunk);
    return POPUP_ACCEPT;
}

size_t replay_count(const struct replay_user *u)
{
    return u->n;
}

int replay_since(const struct replay_user *u, const struct evid *last, struct sse_chunk **out,
                 size_t *n)
{
    const struct replay_entry *x = NULL;

    *n = 0;
    for (size_t i = 0; i < u->n; i++) {
        if (evid_cmp(&u->ring[i].id, last) == 0) {
            x = &u->ring[i];
            break;
        }
    }
    if (!x)
        return -1;
    for (size_t i = 0; i < u->n; i++) {
        const struct replay_entry *e = &u->ring[i];

        if (e == x)
            continue;
        if (replay_key_cmp(e->ts_ms, &e->id, x->ts_ms, &x->id) > 0 || e->seq > x->seq)
            out[(*n)++] = sse_chunk_ref(e->chunk);
    }
    return 0;
}

static int replay_popup_order(const void *a, const void *b)
{
    const struct replay_popup *const *pa = a, *const *pb = b;

    return replay_key_cmp((*pa)->ts_ms, &(*pa)->id, (*pb)->ts_ms, &(*pb)->id);
}

char *replay_snapshot(const struct replay_user *u, struct evid *newest, int *has_newest)
{
    const struct replay_popup **open = NULL;
    size_t nopen = 0, len = sizeof("{\"popups\":[]}");
    char *out, *w;

    *has_newest = u->n > 0;
    if (u->n)
        *newest = u->ring[u->n - 1].id;
    if (u->npops) {
        open = malloc(u->npops * sizeof(*open));
        if (!open)
            return NULL;
    }
    for (size_t i = 0; i < u->npops; i++) {
        if (u->pops[i].json) {
            open[nopen++] = &u->pops[i];
            len += strlen(u->pops[i].json) + 1;
        }
    }
    if (nopen > 1)
        qsort(open, nopen, sizeof(*open), replay_popup_order);
    out = malloc(len);
    if (!out) {
        free(open);
        return NULL;
    }
    w = out;
    /* A prefix: the buffer is terminated once the whole object is written. */
    memcpy(w, "{\"popups\":[", 11); /* NOLINT(bugprone-not-null-terminated-result) */
    w += 11;
    for (size_t i = 0; i < nopen; i++) {
        size_t k = strlen(open[i]->json);

        if (i)
            *w++ = ',';
        memcpy(w, open[i]->json, k);
        w += k;
    }
    memcpy(w, "]}", 3);
    free(open);
    return out;
}

int replay_prune(struct replay_user *u, int64_t horizon_ms, int64_t open_horizon_ms)
{
    size_t keep = 0;

    for (size_t i = 0; i < u->n; i++) {
        if (u->ring[i].ts_ms < horizon_ms)
            sse_chunk_unref(u->ring[i].chunk);
        else
            u->ring[keep++] = u->ring[i];
    }
    u->n = keep;
    if (keep == 0) {
        free(u->ring);
        u->ring = NULL;
        u->alloc = 0;
    }
    for (size_t i = u->npops; i-- > 0;) {
        const struct replay_popup *p = &u->pops[i];

        if (p->ts_ms < (p->json ? open_horizon_ms : horizon_ms))
            replay_drop_popup(u, i);
    }
    return u->n == 0 && u->npops == 0;
}
