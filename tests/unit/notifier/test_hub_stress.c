/* The hub under its two real threads at once: a Kafka thread publishing a user's popups at a
 * high rate while an HTTP thread makes the same user reconnect with Last-Event-ID in a loop.
 * Chunks are shared between the replay buffer and the stream queues and their reference counts
 * are plain integers guarded by the hub's lock: under ThreadSanitizer (tests/run's tsan stage)
 * any change of them outside the lock is reported, and under ASan a chunk freed while still
 * queued is. Functionally: the ids a user sees only move forward. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/metrics.h"
#include "hub.h"

#define S_POPUPS 20000

struct s_text;
static int s_ids(struct s_text *t, const char *data, size_t n, long long *last);

/* The HTTP edge of one stream: suspend runs on the reading thread under the hub lock, resume
 * on the publishing thread outside it. */
struct s_stream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int suspended;
    struct s_text *text; /* what the client received, direct writes and reads alike */
    long long *last;
    int writes, failed;
};

static void s_suspend(void *handle)
{
    struct s_stream *s = handle;

    pthread_mutex_lock(&s->mu);
    s->suspended = 1;
    pthread_mutex_unlock(&s->mu);
}

static void s_resume(void *handle)
{
    struct s_stream *s = handle;

    pthread_mutex_lock(&s->mu);
    s->suspended = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* The socket: every third write does not fit (the hub queues it and resumes the stream). */
static int s_write(void *handle, const char *data, size_t len)
{
    struct s_stream *s = handle;
    int rc = 1;

    pthread_mutex_lock(&s->mu);
    if (!s->suspended)
        s->failed = 1; /* only a suspended stream's socket is the hub's */
    if (++s->writes % 3 == 0)
        rc = 0;
    else if (s_ids(s->text, data, len, s->last) < 0)
        s->failed = 1;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const struct hub_ops s_ops = {s_suspend, s_resume, s_write};

static const struct hub_cfg s_cfg = {
    .ring_cap = 64,
    .popups_cap = 64,
    .queue_max = 256,
    .max_conns = 8,
    .max_per_user = 4,
    .heartbeat_ms = 15000,
    .retry_ms = 2000,
    .window_s = 3600,
    .open_max_s = 14400,
};

struct s_run {
    struct hub *hub;
    atomic_int done;
};

static int64_t s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *s_publisher(void *arg)
{
    struct s_run *r = arg;
    char json[256], err[128];

    for (int i = 0; i < S_POPUPS; i++) {
        struct popup_msg m;
        struct evid id = {0, i};

        snprintf(json, sizeof(json),
                 "{\"popup_id\":\"p%d\",\"tenant\":\"acme\",\"user_id\":9,\"action\":\"%s\","
                 "\"state\":\"%s\"}",
                 i / 2, i % 2 ? "close" : "show", i % 2 ? "closed" : "ringing");
        if (popup_parse(json, strlen(json), &m, err, sizeof(err)) < 0)
            break;
        hub_publish(r->hub, &m, &id, s_now_ms() - 1, 1);
        popup_msg_clear(&m);
    }
    atomic_store(&r->done, 1);
    return NULL;
}

/* The stream's bytes as they arrive (reads split events anywhere). */
struct s_text {
    char buf[16384];
    size_t used;
};

/* Append n bytes and check every complete event: a popup's id must be newer than *last.
 * Returns -1 when an id went backwards. */
static int s_ids(struct s_text *t, const char *data, size_t n, long long *last)
{
    char *end;

    if (n > sizeof(t->buf) - 1 - t->used)
        return -1;
    memcpy(t->buf + t->used, data, n);
    t->used += n;
    t->buf[t->used] = '\0';
    while ((end = strstr(t->buf, "\n\n"))) {
        size_t len = (size_t)(end - t->buf) + 2;

        *end = '\0';
        /* A snapshot names the newest id, which a popup may have carried already. */
        if (strncmp(t->buf, "id: 0-", 6) == 0 && strstr(t->buf, "\nevent: popup\n")) {
            long long id = strtoll(t->buf + 6, NULL, 10);

            if (id <= *last)
                return -1;
            *last = id;
        }
        memmove(t->buf, t->buf + len, t->used - len + 1);
        t->used -= len;
    }
    return 0;
}

/* One stream: read a few times (waiting for resumes) and hang up. */
static int s_session(struct s_run *r, long long *last, int reads, size_t *bytes)
{
    struct auth_user who = {.exp = time(NULL) + 600};
    struct s_stream s = {.suspended = 0};
    struct hub_conn *c = NULL;
    struct evid from = {0, *last};
    static struct s_text text;
    char buf[8192];
    int rc = 0;

    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    text.used = 0;
    s.text = &text;
    s.last = last;
    snprintf(who.tenant, sizeof(who.tenant), "acme");
    snprintf(who.user, sizeof(who.user), "9");
    if (hub_connect(r->hub, &who, *last >= 0 ? 1 : 0, &from, &s, &c) != HUB_CONNECTED)
        return -1;
    for (int k = 0; k < reads && rc == 0; k++) {
        ssize_t n = hub_read(r->hub, c, buf, sizeof(buf));

        if (n == 0) {
            struct timespec until;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 2000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_mutex_lock(&s.mu);
            while (s.suspended && pthread_cond_timedwait(&s.cv, &s.mu, &until) == 0)
                ;
            pthread_mutex_unlock(&s.mu);
            continue;
        }
        if (n < 0)
            break; /* cut off as too slow: reconnect, as a browser does */
        *bytes += (size_t)n;
        pthread_mutex_lock(&s.mu);
        rc = s_ids(&text, buf, (size_t)n, last);
        pthread_mutex_unlock(&s.mu);
    }
    /* The HTTP library never tears down a suspended stream: wait for its resume first. */
    pthread_mutex_lock(&s.mu);
    while (s.suspended && !atomic_load(&r->done)) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec++;
        pthread_cond_timedwait(&s.cv, &s.mu, &until);
    }
    pthread_mutex_unlock(&s.mu);
    hub_disconnect(r->hub, c);
    if (s.failed)
        rc = -1;
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    return rc;
}

static void test_reconnect_loop_while_popups_stream(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct s_run r = {.hub = hub_new(&s_cfg, &s_ops, reg)};
    pthread_t pub;
    long long last = -1;
    size_t bytes = 0;
    int sessions = 0;

    (void)state;
    assert_non_null(r.hub);
    assert_int_equal(pthread_create(&pub, NULL, s_publisher, &r), 0);
    while (!atomic_load(&r.done)) {
        assert_int_equal(s_session(&r, &last, 1 + sessions % 4, &bytes), 0);
        sessions++;
    }
    assert_int_equal(pthread_join(pub, NULL), 0);
    assert_int_equal(s_session(&r, &last, 64, &bytes), 0);
    printf("stress: %d sessions, %zu bytes, last id 0-%lld\n", sessions, bytes, last);
    assert_true(sessions > 10);
    assert_true(last > 0);
    assert_int_equal(hub_stream_count(r.hub), 0);
    hub_free(r.hub);
    metrics_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconnect_loop_while_popups_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
