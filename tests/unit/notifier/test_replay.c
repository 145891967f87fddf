#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

/* Offer a message for popup pid in the given action/state as Kafka (p, o) at ts. */
static int offer(struct replay_user *u, const char *pid, enum popup_action a, enum popup_state s,
                 int32_t p, int64_t o, int64_t ts, uint64_t seq)
{
    static const char *const an[] = {"show", "update", "close"};
    char json[256], idt[EVID_MAX];
    struct popup_msg m;
    char err[128];
    struct evid id = {p, o};
    struct sse_chunk *c;
    int v;

    snprintf(json, sizeof(json),
             "{\"popup_id\":\"%s\",\"tenant\":\"acme\",\"user_id\":5,\"action\":\"%s\","
             "\"state\":\"%s\"}",
             pid, an[a], popup_state_name(s));
    assert_int_equal(popup_parse(json, strlen(json), &m, err, sizeof(err)), 0);
    evid_format(&id, idt, sizeof(idt));
    c = sse_event_new(idt, "popup", m.json, ts);
    v = replay_offer(u, &m, &id, ts, seq, c);
    sse_chunk_unref(c);
    popup_msg_clear(&m);
    return v;
}

/* The ids replay_since returns after (p, o), as "p-o,p-o"; "MISS" when not found. */
static void since(struct replay_user *u, int32_t p, int64_t o, char *out, size_t outlen)
{
    struct sse_chunk *ev[256];
    struct evid last = {p, o};
    size_t n;

    out[0] = '\0';
    if (replay_since(u, &last, ev, &n) < 0) {
        snprintf(out, outlen, "MISS");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char id[EVID_MAX];

        sscanf(ev[i]->data, "id: %31s", id);
        if (i)
            strncat(out, ",", outlen - strlen(out) - 1);
        strncat(out, id, outlen - strlen(out) - 1);
        sse_chunk_unref(ev[i]);
    }
}

static void test_replay_after_last(void **state)
{
    struct replay_user *u = replay_user_new(16, 16);
    char got[256];

    (void)state;
    assert_int_equal(offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 10, 1000, 1), POPUP_ACCEPT);
    assert_int_equal(offer(u, "b", POPUP_SHOW, POPUP_STATE_RINGING, 1, 4, 1001, 2), POPUP_ACCEPT);
    assert_int_equal(offer(u, "a", POPUP_UPDATE, POPUP_STATE_IN_CALL, 0, 11, 1002, 3),
                     POPUP_ACCEPT);
    assert_int_equal(offer(u, "a", POPUP_CLOSE, POPUP_STATE_CLOSED, 0, 12, 1003, 4), POPUP_ACCEPT);
    since(u, 0, 10, got, sizeof(got));
    assert_string_equal(got, "1-4,0-11,0-12");
    since(u, 0, 11, got, sizeof(got));
    assert_string_equal(got, "0-12");
    since(u, 0, 12, got, sizeof(got));
    assert_string_equal(got, "");
    since(u, 7, 1, got, sizeof(got)); /* never seen here: the caller sends the snapshot */
    assert_string_equal(got, "MISS");
    replay_user_free(u);
}

/* The router may replay identical messages after a crash; a step back is never shown. */
static void test_duplicates_and_stale_not_buffered(void **state)
{
    struct replay_user *u = replay_user_new(16, 16);
    char got[256];

    (void)state;
    offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 1, 1000, 1);
    offer(u, "a", POPUP_UPDATE, POPUP_STATE_IN_CALL, 0, 2, 1001, 2);
    assert_int_equal(offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 3, 1002, 3),
                     POPUP_DUPLICATE);
    assert_int_equal(offer(u, "a", POPUP_UPDATE, POPUP_STATE_IN_CALL, 0, 4, 1003, 4),
                     POPUP_DUPLICATE);
    assert_int_equal(offer(u, "a", POPUP_UPDATE, POPUP_STATE_RINGING, 0, 5, 1004, 5), POPUP_STALE);
    assert_int_equal(replay_count(u), 2);
    since(u, 0, 1, got, sizeof(got));
    assert_string_equal(got, "0-2");
    replay_user_free(u);
}

/* Events of several calls come from several partitions: the buffer order is (timestamp,
 * partition, offset), the same on every replica, whatever order they were read in. */
static void test_order_is_by_timestamp_across_partitions(void **state)
{
    struct replay_user *u = replay_user_new(16, 16);
    char got[256];

    (void)state;
    /* read back at start (seq 0), partition by partition */
    offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 1, 1000, 0);
    offer(u, "a", POPUP_CLOSE, POPUP_STATE_CLOSED, 0, 2, 3000, 0);
    offer(u, "b", POPUP_SHOW, POPUP_STATE_RINGING, 1, 1, 2000, 0);
    offer(u, "b", POPUP_CLOSE, POPUP_STATE_CLOSED, 1, 2, 4000, 0);
    since(u, 0, 1, got, sizeof(got));
    assert_string_equal(got, "1-1,0-2,1-2");
    since(u, 1, 1, got, sizeof(got));
    assert_string_equal(got, "0-2,1-2");
    replay_user_free(u);
}

/* A lagging partition delivers an older-stamped event after the client's last one: this
 * replica sent it after that id, so it is replayed although its timestamp is older. */
static void test_late_arrival_is_replayed(void **state)
{
    struct replay_user *u = replay_user_new(16, 16);
    char got[256];

    (void)state;
    offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 1, 1000, 1);
    offer(u, "b", POPUP_SHOW, POPUP_STATE_RINGING, 1, 1, 2000, 2); /* the client's last id */
    offer(u, "c", POPUP_SHOW, POPUP_STATE_RINGING, 2, 1, 1500, 3); /* stamped earlier, came later */
    since(u, 1, 1, got, sizeof(got));
    assert_string_equal(got, "2-1");
    since(u, 0, 1, got, sizeof(got));
    assert_string_equal(got, "2-1,1-1");
    replay_user_free(u);
}

/* Bounded: the oldest events go; an id older than the buffer is a miss, and the snapshot
 * carries what is still open, so nothing is silently lost. */
static void test_bounded_and_snapshot(void **state)
{
    struct replay_user *u = replay_user_new(3, 16);
    struct evid newest;
    int has;
    char got[256], *snap;

    (void)state;
    offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 1, 1000, 1);
    offer(u, "b", POPUP_SHOW, POPUP_STATE_RINGING, 0, 2, 1001, 2);
    offer(u, "b", POPUP_UPDATE, POPUP_STATE_IN_CALL, 0, 3, 1002, 3);
    offer(u, "c", POPUP_SHOW, POPUP_STATE_RINGING, 0, 4, 1003, 4);
    offer(u, "c", POPUP_CLOSE, POPUP_STATE_CLOSED, 0, 5, 1004, 5);
    assert_int_equal(replay_count(u), 3);
    since(u, 0, 1, got, sizeof(got));
    assert_string_equal(got, "MISS");
    since(u, 0, 3, got, sizeof(got));
    assert_string_equal(got, "0-4,0-5");
    snap = replay_snapshot(u, &newest, &has);
    assert_non_null(snap);
    assert_true(has);
    assert_int_equal(newest.offset, 5);
    /* a is still ringing (its close never came), b in call; c closed: not shown */
    assert_string_equal(snap, "{\"popups\":[{\"popup_id\":\"a\",\"tenant\":\"acme\",\"user_id\":5,"
                              "\"action\":\"show\",\"state\":\"ringing\"},{\"popup_id\":\"b\","
                              "\"tenant\":\"acme\",\"user_id\":5,\"action\":\"update\",\"state\":"
                              "\"in_call\"}]}");
    free(snap);
    replay_user_free(u);
}

/* The ring grows as events come (most users never fill it) and, full, still forgets the
 * oldest; emptied by a prune it gives its memory back and grows again. */
static void test_ring_grows_to_its_cap(void **state)
{
    struct replay_user *u = replay_user_new(10, 64);
    char got[256], pid[16];

    (void)state;
    for (int i = 1; i <= 25; i++) {
        snprintf(pid, sizeof(pid), "p%d", i);
        offer(u, pid, POPUP_SHOW, POPUP_STATE_RINGING, 0, i, 1000 + i, (uint64_t)i);
        assert_int_equal(replay_count(u), i < 10 ? i : 10);
    }
    since(u, 0, 15, got, sizeof(got));
    assert_string_equal(got, "MISS");
    since(u, 0, 16, got, sizeof(got));
    assert_string_equal(got, "0-17,0-18,0-19,0-20,0-21,0-22,0-23,0-24,0-25");
    replay_prune(u, 5000, 0);
    assert_int_equal(replay_count(u), 0);
    offer(u, "q", POPUP_SHOW, POPUP_STATE_RINGING, 0, 30, 6000, 30);
    offer(u, "q", POPUP_CLOSE, POPUP_STATE_CLOSED, 0, 31, 6001, 31);
    since(u, 0, 30, got, sizeof(got));
    assert_string_equal(got, "0-31");
    replay_user_free(u);
}

static void test_empty_snapshot(void **state)
{
    struct replay_user *u = replay_user_new(3, 16);
    struct evid newest;
    int has = 1;
    char *snap = replay_snapshot(u, &newest, &has);

    (void)state;
    assert_string_equal(snap, "{\"popups\":[]}");
    assert_false(has);
    free(snap);
    replay_user_free(u);
}

static void test_prune(void **state)
{
    struct replay_user *u = replay_user_new(16, 16);
    struct evid newest;
    int has;
    char *snap;

    (void)state;
    offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 1, 1000, 1);
    offer(u, "b", POPUP_SHOW, POPUP_STATE_RINGING, 0, 2, 5000, 2);
    offer(u, "b", POPUP_CLOSE, POPUP_STATE_CLOSED, 0, 3, 6000, 3);
    assert_int_equal(replay_prune(u, 2000, 0), 0);
    assert_int_equal(replay_count(u), 2);
    snap = replay_snapshot(u, &newest, &has);
    assert_non_null(strstr(snap, "\"popup_id\":\"a\"")); /* still open */
    free(snap);
    assert_int_equal(replay_prune(u, 2000, 2000), 0); /* a: its close is long overdue */
    snap = replay_snapshot(u, &newest, &has);
    assert_string_equal(snap, "{\"popups\":[]}");
    free(snap);
    assert_int_equal(replay_prune(u, 7000, 7000), 1);
    replay_user_free(u);
}

/* Full popup memory forgets closed popups before open ones. */
static void test_popup_memory_bound(void **state)
{
    struct replay_user *u = replay_user_new(16, 2);
    struct evid newest;
    int has;
    char *snap;

    (void)state;
    offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 1, 1000, 1);
    offer(u, "b", POPUP_SHOW, POPUP_STATE_RINGING, 0, 2, 1001, 2);
    offer(u, "b", POPUP_CLOSE, POPUP_STATE_CLOSED, 0, 3, 1002, 3);
    offer(u, "c", POPUP_SHOW, POPUP_STATE_RINGING, 0, 4, 1003, 4); /* forgets b, keeps a */
    snap = replay_snapshot(u, &newest, &has);
    assert_non_null(strstr(snap, "\"popup_id\":\"a\""));
    assert_non_null(strstr(snap, "\"popup_id\":\"c\""));
    free(snap);
    /* a still remembered: its duplicate is suppressed */
    assert_int_equal(offer(u, "a", POPUP_SHOW, POPUP_STATE_RINGING, 0, 5, 1004, 5),
                     POPUP_DUPLICATE);
    replay_user_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_after_last),
        cmocka_unit_test(test_duplicates_and_stale_not_buffered),
        cmocka_unit_test(test_order_is_by_timestamp_across_partitions),
        cmocka_unit_test(test_late_arrival_is_replayed),
        cmocka_unit_test(test_bounded_and_snapshot),
        cmocka_unit_test(test_ring_grows_to_its_cap),
        cmocka_unit_test(test_empty_snapshot),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_popup_memory_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
