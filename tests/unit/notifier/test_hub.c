#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/metrics.h"
#include "hub.h"

/* The fake HTTP edge: counts suspends and resumes per stream handle. */
struct fake_stream {
    int suspended;
    int suspends, resumes;
    int socket; /* with direct_ops: 1 takes writes, 0 refuses them, -1 is broken */
    char wire[1024];
    size_t wired;
};

static void fake_suspend(void *h)
{
    struct fake_stream *s = h;

    assert_false(s->suspended);
    s->suspended = 1;
    s->suspends++;
}

static void fake_resume(void *h)
{
    struct fake_stream *s = h;

    assert_true(s->suspended); /* resuming a running stream is undefined in libmicrohttpd */
    s->suspended = 0;
    s->resumes++;
}

static const struct hub_ops fake_ops = {fake_suspend, fake_resume, NULL};

static int fake_write(void *h, const char *data, size_t len)
{
    struct fake_stream *s = h;

    assert_true(s->suspended); /* the socket is the HTTP library's while a stream runs */
    if (s->socket <= 0)
        return s->socket;
    assert_true(s->wired + len < sizeof(s->wire));
    memcpy(s->wire + s->wired, data, len);
    s->wired += len;
    s->wire[s->wired] = '\0';
    return 1;
}

static const struct hub_ops direct_ops = {fake_suspend, fake_resume, fake_write};

struct fixture {
    struct metrics_registry *reg;
    struct hub *hub;
};

static const struct hub_cfg cfg = {
    .ring_cap = 8,
    .popups_cap = 8,
    .queue_max = 3,
    .max_conns = 4,
    .max_per_user = 2,
    .heartbeat_ms = 15000,
    .retry_ms = 2000,
    .window_s = 3600,
    .open_max_s = 14400,
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    static struct fixture f;

    f.reg = metrics_registry_new();
    f.hub = hub_new(&cfg, &fake_ops, f.reg);
    *state = &f;
    return f.hub ? 0 : -1;
}

static int setup_direct(void **state)
{
    static struct fixture f;

    f.reg = metrics_registry_new();
    f.hub = hub_new(&cfg, &direct_ops, f.reg);
    *state = &f;
    return f.hub ? 0 : -1;
}

/* Direct writes, room for more streams than a tick's slice. */
static int setup_many(void **state)
{
    static struct fixture f;
    struct hub_cfg many = cfg;

    many.max_conns = 2 * HUB_TICK_SLICE;
    f.reg = metrics_registry_new();
    f.hub = hub_new(&many, &direct_ops, f.reg);
    *state = &f;
    return f.hub ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    hub_free(f->hub);
    metrics_registry_free(f->reg);
    return 0;
}

static void publish(struct hub *h, const char *tenant, int user, const char *pid,
                    const char *action, const char *st, int32_t p, int64_t o, int expect)
{
    char json[256], err[128];
    struct popup_msg m;
    struct evid id = {p, o};

    snprintf(json, sizeof(json),
             "{\"popup_id\":\"%s\",\"tenant\":\"%s\",\"user_id\":%d,\"action\":\"%s\","
             "\"state\":\"%s\"}",
             pid, tenant, user, action, st);
    assert_int_equal(popup_parse(json, strlen(json), &m, err, sizeof(err)), 0);
    assert_int_equal(hub_publish(h, &m, &id, now_ms() - 1, 1), expect);
    popup_msg_clear(&m);
}

static struct hub_conn *connect_gen(struct hub *h, const char *tenant, const char *user, long gen,
                                    const char *last, struct fake_stream *fs,
                                    enum hub_connect_result want)
{
    struct auth_user who = {.exp = time(NULL) + 600, .gen = gen};
    struct hub_conn *c = NULL;
    struct evid id = {0, 0};
    int state = 0;

    snprintf(who.tenant, sizeof(who.tenant), "%s", tenant);
    snprintf(who.user, sizeof(who.user), "%s", user);
    if (last)
        state = evid_from_request(last, NULL, &id);
    memset(fs, 0, sizeof(*fs));
    assert_int_equal(hub_connect(h, &who, state, &id, fs, &c), want);
    return c;
}

static struct hub_conn *connect_as(struct hub *h, const char *tenant, const char *user,
                                   const char *last, struct fake_stream *fs,
                                   enum hub_connect_result want)
{
    return connect_gen(h, tenant, user, 0, last, fs, want);
}

/* Read what is queued (as the HTTP thread would) until the stream suspends or ends. */
static ssize_t drain(struct hub *h, struct hub_conn *c, char *out, size_t cap)
{
    size_t used = 0;
    ssize_t n;

    out[0] = '\0';
    while ((n = hub_read(h, c, out + used, used + 7 < cap ? 7 : cap - used - 1)) > 0)
        used += (size_t)n; /* 7-byte reads: chunks are split across reads */
    out[used] = '\0';
    return n;
}

static int count(const char *hay, const char *needle)
{
    int k = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        k++;
    return k;
}

static void test_each_user_gets_only_theirs(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s1, s2, s3;
    struct hub_conn *a5 = connect_as(f->hub, "acme", "5", NULL, &s1, HUB_CONNECTED);
    struct hub_conn *b5 = connect_as(f->hub, "beta", "5", NULL, &s2, HUB_CONNECTED);
    struct hub_conn *a6 = connect_as(f->hub, "acme", "6", NULL, &s3, HUB_CONNECTED);
    char buf[4096];

    assert_int_equal(drain(f->hub, a5, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "retry: 2000\n\nid: \nevent: snapshot\ndata: {\"popups\":[]}\n\n");
    drain(f->hub, b5, buf, sizeof(buf));
    drain(f->hub, a6, buf, sizeof(buf));
    assert_int_equal(s1.suspends, 1);

    publish(f->hub, "acme", 5, "acme:c1:5", "show", "ringing", 0, 1, POPUP_ACCEPT);
    publish(f->hub, "beta", 5, "beta:c2:5", "show", "ringing", 1, 1, POPUP_ACCEPT);
    publish(f->hub, "acme", 7, "acme:c3:7", "show", "ringing", 2, 1, POPUP_ACCEPT);
    assert_int_equal(s1.resumes, 1);
    assert_int_equal(s2.resumes, 1);
    assert_int_equal(s3.resumes, 0); /* nothing for acme:6 */

    drain(f->hub, a5, buf, sizeof(buf));
    assert_int_equal(count(buf, "event: popup"), 1);
    assert_non_null(strstr(buf, "id: 0-1\n"));
    assert_non_null(strstr(buf, "acme:c1:5"));
    drain(f->hub, b5, buf, sizeof(buf));
    assert_int_equal(count(buf, "event: popup"), 1);
    assert_non_null(strstr(buf, "beta:c2:5"));
    assert_true(s3.suspended); /* still waiting: the HTTP library does not read it */
    assert_int_equal(s3.suspends, 1);

    /* an identical message again (router replay): nobody sees it twice */
    publish(f->hub, "acme", 5, "acme:c1:5", "show", "ringing", 0, 2, POPUP_DUPLICATE);
    assert_int_equal(s1.resumes, 1);

    hub_disconnect(f->hub, a5);
    hub_disconnect(f->hub, b5);
    hub_disconnect(f->hub, a6);
    assert_int_equal(hub_stream_count(f->hub), 0);
}

static void test_reconnect_replays_once(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s;
    struct hub_conn *c;
    char buf[4096];

    publish(f->hub, "acme", 9, "p1", "show", "ringing", 0, 10, POPUP_ACCEPT);
    publish(f->hub, "acme", 9, "p1", "update", "in_call", 0, 11, POPUP_ACCEPT);
    publish(f->hub, "acme", 9, "p1", "close", "closed", 0, 12, POPUP_ACCEPT);

    c = connect_as(f->hub, "acme", "9", "0-10", &s, HUB_CONNECTED);
    drain(f->hub, c, buf, sizeof(buf));
    assert_string_equal(buf, "retry: 2000\n\n"
                             "id: 0-11\nevent: popup\ndata: {\"popup_id\":\"p1\",\"tenant\":"
                             "\"acme\",\"user_id\":9,\"action\":\"update\",\"state\":\"in_call\"}"
                             "\n\n"
                             "id: 0-12\nevent: popup\ndata: {\"popup_id\":\"p1\",\"tenant\":"
                             "\"acme\",\"user_id\":9,\"action\":\"close\",\"state\":\"closed\"}"
                             "\n\n");
    hub_disconnect(f->hub, c);

    /* unknown id: the snapshot (nothing open), with the newest id to continue from */
    c = connect_as(f->hub, "acme", "9", "0-3", &s, HUB_CONNECTED);
    drain(f->hub, c, buf, sizeof(buf));
    assert_string_equal(buf, "retry: 2000\n\nid: 0-12\nevent: snapshot\ndata: {\"popups\":[]}\n\n");
    hub_disconnect(f->hub, c);

    /* another user's id is unknown in this user's buffer: no replay across users */
    c = connect_as(f->hub, "beta", "9", "0-10", &s, HUB_CONNECTED);
    drain(f->hub, c, buf, sizeof(buf));
    assert_null(strstr(buf, "p1"));
    hub_disconnect(f->hub, c);
}

static void test_open_popups_in_snapshot(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s;
    struct hub_conn *c;
    char buf[4096];

    publish(f->hub, "acme", 11, "q1", "show", "ringing", 3, 1, POPUP_ACCEPT);
    publish(f->hub, "acme", 11, "q1", "update", "in_call", 3, 2, POPUP_ACCEPT);
    c = connect_as(f->hub, "acme", "11", NULL, &s, HUB_CONNECTED);
    drain(f->hub, c, buf, sizeof(buf));
    assert_non_null(strstr(buf, "id: 3-2\nevent: snapshot\ndata: {\"popups\":[{\"popup_id\":"
                                "\"q1\",\"tenant\":\"acme\",\"user_id\":11,\"action\":"
                                "\"update\",\"state\":\"in_call\"}]}\n\n"));
    hub_disconnect(f->hub, c);
}

/* A client that does not read is cut off past queue_max; others are not held back. */
static void test_slow_client_cut_off(void **state)
{
    struct fixture *f = *state;
    struct fake_stream slow, fast;
    struct hub_conn *cs = connect_as(f->hub, "acme", "20", NULL, &slow, HUB_CONNECTED);
    struct hub_conn *cf = connect_as(f->hub, "acme", "20", NULL, &fast, HUB_CONNECTED);
    char buf[8192];

    drain(f->hub, cs, buf, sizeof(buf));
    for (int i = 0; i < 5; i++) {
        char pid[16];

        snprintf(pid, sizeof(pid), "s%d", i);
        publish(f->hub, "acme", 20, pid, "show", "ringing", 4, i, POPUP_ACCEPT);
        drain(f->hub, cf, buf, sizeof(buf));
        assert_int_equal(count(buf, "event: popup"), 1);
    }
    assert_int_equal(hub_read(f->hub, cs, buf, sizeof(buf)), HUB_READ_ABORT);
    assert_false(slow.suspended);
    hub_disconnect(f->hub, cs);
    hub_disconnect(f->hub, cf);
}

static void test_limits(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s[5];
    struct hub_conn *c[4];

    c[0] = connect_as(f->hub, "acme", "30", NULL, &s[0], HUB_CONNECTED);
    c[1] = connect_as(f->hub, "acme", "30", NULL, &s[1], HUB_CONNECTED);
    connect_as(f->hub, "acme", "30", NULL, &s[2], HUB_USER_LIMIT);
    c[2] = connect_as(f->hub, "acme", "31", NULL, &s[2], HUB_CONNECTED);
    c[3] = connect_as(f->hub, "acme", "32", NULL, &s[3], HUB_CONNECTED);
    connect_as(f->hub, "acme", "33", NULL, &s[4], HUB_TOTAL_LIMIT);
    for (int i = 0; i < 4; i++)
        hub_disconnect(f->hub, c[i]);
    c[0] = connect_as(f->hub, "acme", "33", NULL, &s[4], HUB_CONNECTED);
    hub_close_all(f->hub);
    hub_disconnect(f->hub, c[0]);
}

static void test_heartbeat_expiry_and_close(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s1, s2;
    struct hub_conn *c1 = connect_as(f->hub, "acme", "40", NULL, &s1, HUB_CONNECTED);
    struct hub_conn *c2 = connect_as(f->hub, "acme", "41", NULL, &s2, HUB_CONNECTED);
    char buf[4096];
    int64_t t = now_ms();

    drain(f->hub, c1, buf, sizeof(buf));
    drain(f->hub, c2, buf, sizeof(buf));
    hub_tick(f->hub, t + 1000);
    assert_int_equal(s1.resumes, 0);
    hub_tick(f->hub, t + 16000);
    assert_int_equal(s1.resumes, 1);
    drain(f->hub, c1, buf, sizeof(buf));
    assert_string_equal(buf, ": hb\n\n");

    /* the token ran out: the stream ends cleanly (the client's reconnect gets 401) */
    hub_tick(f->hub, (int64_t)(time(NULL) + 601) * 1000);
    assert_int_equal(hub_read(f->hub, c1, buf, sizeof(buf)), HUB_READ_END);
    hub_disconnect(f->hub, c1);

    assert_true(drain(f->hub, c2, buf, sizeof(buf)) == HUB_READ_END);

    /* shutdown: queued bytes first, then the end; no new streams */
    c1 = connect_as(f->hub, "acme", "43", NULL, &s1, HUB_CONNECTED);
    drain(f->hub, c1, buf, sizeof(buf));
    publish(f->hub, "acme", 43, "z", "show", "ringing", 5, 1, POPUP_ACCEPT);
    hub_close_all(f->hub);
    assert_true(drain(f->hub, c1, buf, sizeof(buf)) == HUB_READ_END);
    assert_non_null(strstr(buf, "id: 5-1"));
    connect_as(f->hub, "acme", "44", NULL, &s2, HUB_CLOSING);
    hub_disconnect(f->hub, c1);
    hub_disconnect(f->hub, c2);
}

/* revoke-tokens ends the user's streams of older generations at once (their reconnect is
 * refused) and leaves newer tokens and other users alone; disable ends every stream. */
static void test_revoked_streams_end(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s1, s2, s3;
    struct hub_conn *old = connect_gen(f->hub, "acme", "7", 1, NULL, &s1, HUB_CONNECTED);
    struct hub_conn *other = connect_as(f->hub, "acme", "8", NULL, &s3, HUB_CONNECTED);
    struct hub_conn *fresh;
    char buf[4096];

    drain(f->hub, old, buf, sizeof(buf));
    drain(f->hub, other, buf, sizeof(buf));
    assert_true(s1.suspended);
    assert_int_equal(hub_user_tokens(f->hub, "acme", "7", 2, 1), 1);
    assert_int_equal(s1.resumes, 1); /* woken to end */
    assert_int_equal(hub_read(f->hub, old, buf, sizeof(buf)), HUB_READ_END);
    hub_disconnect(f->hub, old);
    connect_gen(f->hub, "acme", "7", 1, NULL, &s1, HUB_REVOKED);
    connect_gen(f->hub, "acme", "7", 0, NULL, &s1, HUB_REVOKED); /* no gen: the first one */
    fresh = connect_gen(f->hub, "acme", "7", 2, NULL, &s2, HUB_CONNECTED);
    drain(f->hub, fresh, buf, sizeof(buf));
    /* an older record replayed does not lift the revocation */
    assert_int_equal(hub_user_tokens(f->hub, "acme", "7", 1, 1), 0);
    connect_gen(f->hub, "acme", "7", 1, NULL, &s1, HUB_REVOKED);
    /* disabled: every token refused, the open stream ends */
    assert_int_equal(hub_user_tokens(f->hub, "acme", "7", 2, 0), 1);
    assert_int_equal(hub_read(f->hub, fresh, buf, sizeof(buf)), HUB_READ_END);
    connect_gen(f->hub, "acme", "7", 2, NULL, &s1, HUB_REVOKED);
    /* the other user streams on */
    assert_false(s3.resumes);
    hub_disconnect(f->hub, fresh);
    hub_disconnect(f->hub, other);
}

/* A suspended stream with nothing queued gets its events written straight to its socket and
 * stays suspended: no resume, so libmicrohttpd never walks its suspended streams for it. */
static void test_direct_write_keeps_stream_suspended(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s;
    struct hub_conn *c = connect_as(f->hub, "acme", "5", NULL, &s, HUB_CONNECTED);
    char buf[4096];

    assert_int_equal(drain(f->hub, c, buf, sizeof(buf)), 0); /* the start goes as before */
    assert_true(s.suspended);
    s.socket = 1;
    publish(f->hub, "acme", 5, "acme:c1:5", "show", "ringing", 0, 1, POPUP_ACCEPT);
    publish(f->hub, "acme", 5, "acme:c1:5", "close", "closed", 0, 2, POPUP_ACCEPT);
    assert_int_equal(s.resumes, 0);
    assert_true(s.suspended);
    assert_int_equal(count(s.wire, "event: popup"), 2);
    assert_non_null(strstr(s.wire, "id: 0-1\n"));
    assert_true(strstr(s.wire, "id: 0-1\n") < strstr(s.wire, "id: 0-2\n"));

    /* the heartbeat too */
    s.wired = 0;
    hub_tick(f->hub, now_ms() + cfg.heartbeat_ms + 1);
    assert_string_equal(s.wire, ": hb\n\n");
    assert_int_equal(s.resumes, 0);

    /* a full socket: queued and resumed, the HTTP library writes it */
    s.socket = 0;
    s.wired = 0;
    s.wire[0] = '\0';
    publish(f->hub, "acme", 5, "acme:c2:5", "show", "ringing", 0, 3, POPUP_ACCEPT);
    assert_int_equal(s.resumes, 1);
    assert_int_equal(s.wired, 0);
    assert_int_equal(drain(f->hub, c, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "id: 0-3\n"));
    assert_true(s.suspended);

    /* a broken socket: the stream is cut off (the client replays on reconnect) */
    s.socket = -1;
    publish(f->hub, "acme", 5, "acme:c3:5", "show", "ringing", 0, 4, POPUP_ACCEPT);
    assert_int_equal(s.resumes, 2);
    assert_int_equal(hub_read(f->hub, c, buf, sizeof(buf)), HUB_READ_ABORT);
    hub_disconnect(f->hub, c);
}

/* Ticks visit the streams by last write: each gets one heartbeat per interval, and a stream
 * whose token ran out while it kept busy ends at its next write. */
static void test_tick_order_and_expiry_at_write(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s1, s2, s3;
    struct hub_conn *c1 = connect_as(f->hub, "acme", "50", NULL, &s1, HUB_CONNECTED);
    struct hub_conn *c2 = connect_as(f->hub, "acme", "51", NULL, &s2, HUB_CONNECTED);
    struct auth_user who = {.tenant = "acme", .user = "52", .exp = time(NULL) - 1};
    struct hub_conn *c3 = NULL;
    struct evid none = {0, 0};
    char buf[4096];
    int64_t t = now_ms();

    memset(&s3, 0, sizeof(s3));
    assert_int_equal(hub_connect(f->hub, &who, 0, &none, &s3, &c3), HUB_CONNECTED);
    drain(f->hub, c1, buf, sizeof(buf));
    drain(f->hub, c2, buf, sizeof(buf));
    drain(f->hub, c3, buf, sizeof(buf));
    s1.socket = s2.socket = s3.socket = 1;

    publish(f->hub, "acme", 52, "e1", "show", "ringing", 0, 1, POPUP_ACCEPT);
    assert_int_equal(s3.wired, 0); /* not written: the token ran out */
    assert_int_equal(s3.resumes, 1);
    assert_int_equal(hub_read(f->hub, c3, buf, sizeof(buf)), HUB_READ_END);
    hub_disconnect(f->hub, c3);

    hub_tick(f->hub, t + cfg.heartbeat_ms + 100);
    assert_string_equal(s1.wire, ": hb\n\n");
    assert_string_equal(s2.wire, ": hb\n\n");
    hub_tick(f->hub, t + cfg.heartbeat_ms + 200); /* nobody due again yet */
    assert_int_equal(s1.wired + s2.wired, 12);
    hub_tick(f->hub, t + 2 * cfg.heartbeat_ms + 100);
    assert_int_equal(s1.wired + s2.wired, 24);
    assert_int_equal(s1.resumes + s2.resumes, 0);
    hub_disconnect(f->hub, c1);
    hub_disconnect(f->hub, c2);
}

/* Streams that fell due together get their heartbeats over several calls, a slice each, with
 * the popups that arrived in between written at once. */
static void test_tick_in_slices(void **state)
{
    enum { N = HUB_TICK_SLICE + 6 };
    struct fixture *f = *state;
    static struct fake_stream s[N];
    struct hub_conn *c[N];
    char buf[4096], user[16];
    int64_t t = now_ms();
    size_t beats = 0;

    for (int i = 0; i < N; i++) {
        snprintf(user, sizeof(user), "%d", 100 + i);
        c[i] = connect_as(f->hub, "acme", user, NULL, &s[i], HUB_CONNECTED);
        drain(f->hub, c[i], buf, sizeof(buf));
        s[i].socket = 1;
    }
    assert_int_equal(hub_tick(f->hub, t + cfg.heartbeat_ms + 100), 1);
    for (int i = 0; i < N; i++)
        beats += s[i].wired / strlen(": hb\n\n");
    assert_int_equal(beats, HUB_TICK_SLICE);
    /* the last stream is still due; its popup goes now, not after the others' heartbeats */
    publish(f->hub, "acme", 100 + N - 1, "acme:c9:1", "show", "ringing", 0, 1, POPUP_ACCEPT);
    assert_int_equal(count(s[N - 1].wire, "event: popup"), 1);
    assert_int_equal(hub_tick(f->hub, t + cfg.heartbeat_ms + 101), 0);
    for (int i = 0; i < N; i++) {
        /* one each, but the last: its popup was the write that keeps it alive */
        assert_int_equal(count(s[i].wire, ": hb\n\n"), i < N - 1);
        hub_disconnect(f->hub, c[i]);
    }
}

/* Ending a stream (expiry, revocation, shutdown) still resumes it: only the HTTP library can
 * end the response. */
static void test_direct_streams_still_end(void **state)
{
    struct fixture *f = *state;
    struct fake_stream s;
    struct hub_conn *c = connect_as(f->hub, "acme", "5", NULL, &s, HUB_CONNECTED);
    char buf[4096];

    drain(f->hub, c, buf, sizeof(buf));
    s.socket = 1;
    hub_close_all(f->hub);
    assert_int_equal(s.resumes, 1);
    assert_int_equal(drain(f->hub, c, buf, sizeof(buf)), HUB_READ_END);
    hub_disconnect(f->hub, c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_user_gets_only_theirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_replays_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_popups_in_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client_cut_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_expiry_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_streams_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_write_keeps_stream_suspended, setup_direct,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_direct_streams_still_end, setup_direct, teardown),
        cmocka_unit_test_setup_teardown(test_tick_in_slices, setup_many, teardown),
        cmocka_unit_test_setup_teardown(test_tick_order_and_expiry_at_write, setup_direct,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
