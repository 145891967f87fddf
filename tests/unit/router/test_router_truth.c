/* One call, one truth (issue 15): the outcome of a call is a function of the set of its
 * notifications, decided against what its first decision saw. Each test drives rt_step, the
 * router's whole per-event path, and folds the messages the way crm-writer applies them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"
#include "rules_fixture.h"

/* What the writer and the notifier end with. */
struct fold {
    int task;              /* a task row exists */
    int tasks_created;     /* task actions that created */
    int64_t task_assignee; /* of the last create */
    char task_cp_mode[16];
    char state[16];   /* contact state (rank: writer's GREATEST) */
    int64_t duration; /* history duration_s, -1 none */
    int history;
    int contradictions;
    char popups[256]; /* "user:state," of every show/update/close, in order */
};

static int state_rank(const char *s)
{
    static const char *const order[] = {"ringing", "answered", "missed", "completed"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(s, order[i]) == 0)
            return i;
    }
    return -1;
}

static void fold_msgs(struct fold *f, const struct rt_msgs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        json_t *v = json_loads(m->v[i].value, 0, NULL);
        const char *type = json_string_value(json_object_get(v, "type"));

        assert_non_null(v);
        if (m->v[i].topic == RT_TOPIC_POPUPS) {
            char one[48];

            snprintf(one, sizeof(one), "%lld:%s,",
                     (long long)json_integer_value(json_object_get(v, "user_id")),
                     json_string_value(json_object_get(v, "state")));
            strncat(f->popups, one, sizeof(f->popups) - strlen(f->popups) - 1);
        } else if (strcmp(type, "task.missed_call") == 0) {
            if (json_is_true(json_object_get(v, "cancel"))) {
                f->task = 0;
            } else if (!f->task) {
                f->task = 1;
                f->tasks_created++;
                f->task_assignee = json_integer_value(json_object_get(v, "assignee_user_id"));
                snprintf(
                    f->task_cp_mode, sizeof(f->task_cp_mode), "%s",
                    json_string_value(json_object_get(json_object_get(v, "counterparty"), "mode")));
            }
        } else if (strcmp(type, "contact.upsert") == 0) {
            const char *st = json_string_value(json_object_get(v, "state"));

            if (state_rank(st) > state_rank(f->state))
                snprintf(f->state, sizeof(f->state), "%s", st);
        } else if (strcmp(type, "deal.history.add") == 0) {
            json_t *d = json_object_get(v, "duration_s");

            f->history = 1;
            if (json_is_integer(d) && f->duration < 0)
                f->duration = json_integer_value(d);
        }
        json_decref(v);
    }
}

/* Step every event i with tenant ts[i] and counterparty ps[i] (NULL: the first ones). */
static void run(struct rt_facts *facts, const struct rt_event *evs, size_t n,
                const struct rt_tenant *const *ts, const struct rt_party *const *ps,
                struct fold *out)
{
    memset(out, 0, sizeof(*out));
    out->duration = -1;
    snprintf(out->state, sizeof(out->state), "ringing");
    for (size_t i = 0; i < n; i++) {
        struct rt_msgs m = {0};
        struct rt_step_result res;
        char err[128];

        assert_int_equal(
            rt_step(facts, &evs[i], "acme:+79031112233", ts[i], ps[i], &m, &res, err, sizeof(err)),
            0);
        out->contradictions += res.contradiction;
        fold_msgs(out, &m);
        rt_msgs_clear(&m);
    }
}

/* The same tenant and counterparty for every event. */
static void run_same(const struct rt_event *evs, size_t n, const struct rt_tenant *t,
                     const struct rt_party *p, struct fold *out)
{
    const struct rt_tenant *ts[8];
    const struct rt_party *ps[8];
    struct rt_facts f;

    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        ts[i] = t;
        ps[i] = p;
    }
    rt_facts_init(&f);
    run(&f, evs, n, ts, ps, out);
    rt_facts_clear(&f);
}

static struct rt_event finished(int offset_s, const char *eid, int64_t talk)
{
    struct rt_event ev = fx_event(RT_FINISHED, "", offset_s, eid, 0);

    ev.talk_s = talk;
    ev.total_s = talk + 10;
    ev.wait_s = 10;
    return ev;
}

/* Point 1: the counterparty that RINGING's action makes the writer create is found by the next
 * batch's lookup; the call's later decisions must not see it. */
static void counterparty_pinned_at_first_decision(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0), created = fx_party(1, 1, 0);
    struct rt_event evs[] = {fx_event(RT_RINGING, "101", 0, "a", 0),
                             fx_event(RT_RINGING, "102", 1, "b", 0),
                             fx_event(RT_MISSED, "", 30, "c", 0)};
    const struct rt_tenant *ts[] = {&t, &t, &t};
    const struct rt_party *ps[] = {&none, &created, &created};
    struct rt_facts f;
    struct fold got;

    (void)state;
    t.settings.notify_responsible_only = 1;
    rt_facts_init(&f);
    run(&f, evs, 3, ts, ps, &got);
    /* The second leg reaches its own extension user, not the first leg's (the stub's
     * responsible); the task goes to the first employee of the settings, as the guide says for
     * an unknown caller, with the counterparty the contact creates. */
    assert_string_equal(got.popups, "1:ringing,2:ringing,1:closed,2:closed,");
    assert_int_equal(got.task, 1);
    assert_int_equal(got.task_assignee, 3);
    assert_string_equal(got.task_cp_mode, "create");
    rt_facts_clear(&f);
}

/* Point 2: every order of a talked call's notifications and a stray MISSED ends completed,
 * without a task, and the contradiction is reported once. */
static void terminal_state_independent_of_order(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0);
    struct rt_event base[] = {
        fx_event(RT_RINGING, "101", 0, "a", 0), fx_event(RT_ANSWERED, "101", 5, "b", 0),
        fx_event(RT_HANGUP, "101", 60, "c", 0), fx_event(RT_MISSED, "", 61, "d", 0)};
    static const int perms[24][4] = {
        {0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 2, 1},
        {1, 0, 2, 3}, {1, 0, 3, 2}, {1, 2, 0, 3}, {1, 2, 3, 0}, {1, 3, 0, 2}, {1, 3, 2, 0},
        {2, 0, 1, 3}, {2, 0, 3, 1}, {2, 1, 0, 3}, {2, 1, 3, 0}, {2, 3, 0, 1}, {2, 3, 1, 0},
        {3, 0, 1, 2}, {3, 0, 2, 1}, {3, 1, 0, 2}, {3, 1, 2, 0}, {3, 2, 0, 1}, {3, 2, 1, 0}};
    static char url[] = "https://app.uiscom.ru/system/media/talk/555/1/";
    char *urls[] = {url};

    (void)state;
    base[2].n_urls = 1;
    base[2].urls = urls;
    for (int p = 0; p < 24; p++) {
        struct rt_event evs[4];
        struct fold got;

        for (int i = 0; i < 4; i++)
            evs[i] = base[perms[p][i]];
        run_same(evs, 4, &t, &none, &got);
        if (strcmp(got.state, "completed") != 0 || got.task || got.contradictions != 1)
            fail_msg("order %d%d%d%d: state %s task %d contradictions %d", perms[p][0], perms[p][1],
                     perms[p][2], perms[p][3], got.state, got.task, got.contradictions);
    }
    /* Without a talk, the MISSED is a missed call with its task. */
    {
        struct fold got;

        run_same((struct rt_event[]){base[3], base[0]}, 2, &t, &none, &got);
        assert_string_equal(got.state, "missed");
        assert_int_equal(got.task, 1);
        assert_int_equal(got.contradictions, 0);
    }
}

/* Point 3: FINISHED ends a call UIS never records; its talk duration reaches the history. */
static void finished_ends_the_call(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party known = fx_party(1, 7, 9), none = fx_party(0, 0, 0);
    struct rt_event talked[] = {fx_event(RT_RINGING, "101", 0, "a", 0),
                                fx_event(RT_ANSWERED, "101", 5, "b", 0), finished(100, "c", 95),
                                fx_event(RT_HANGUP, "101", 130, "d", 0)};
    struct rt_event lost[] = {fx_event(RT_RINGING, "101", 0, "a", 0), finished(30, "c", 0)};
    struct fold got;

    (void)state;
    run_same(talked, 3, &t, &known, &got);
    assert_string_equal(got.state, "completed");
    assert_string_equal(got.popups, "1:ringing,1:in_call,1:closed,");
    assert_int_equal(got.history, 0); /* no recording: nothing for the deal yet */
    run_same(talked, 4, &t, &known, &got);
    assert_int_equal(got.history, 1);
    assert_int_equal(got.duration, 95);
    /* FINISHED after the recording: the history entry learns the duration. */
    run_same((struct rt_event[]){talked[0], talked[1], talked[3], talked[2]}, 4, &t, &known, &got);
    assert_int_equal(got.duration, 95);
    /* A FINISHED without a talk is a missed call (the reconciler's lost call). */
    run_same(lost, 2, &t, &none, &got);
    assert_string_equal(got.state, "missed");
    assert_int_equal(got.task, 1);
    assert_string_equal(got.popups, "1:ringing,1:closed,");
}

/* Point 6: without contacts a missed call creates no counterparty. */
static void no_contact_no_counterparty(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0), known = fx_party(1, 7, 0);
    struct rt_event evs[] = {fx_event(RT_RINGING, "101", 0, "a", 0),
                             fx_event(RT_MISSED, "", 30, "b", 0)};
    struct fold got;

    (void)state;
    t.settings.create_contact_on_call = 0;
    run_same(evs, 2, &t, &none, &got);
    assert_int_equal(got.task, 1);
    assert_string_equal(got.task_cp_mode, "none");
    assert_int_equal(got.task_assignee, 3);
    run_same(evs, 2, &t, &known, &got);
    assert_string_equal(got.task_cp_mode, "existing");
    assert_int_equal(got.task_assignee, 7);
    t.settings.create_contact_on_call = 1;
    run_same(evs, 2, &t, &none, &got);
    assert_string_equal(got.task_cp_mode, "create");
}

/* Point 8: settings and the extension map changed mid-call apply from the next call. */
static void settings_pinned_at_first_notification(void **state)
{
    struct rt_tenant before = fx_tenant(), after = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0);
    struct rt_ext remapped[] = {{"101", 2}, {"102", 1}};
    struct rt_event evs[] = {fx_event(RT_RINGING, "101", 0, "a", 0),
                             fx_event(RT_RINGING, "102", 1, "b", 0),
                             fx_event(RT_MISSED, "", 30, "c", 0)};
    const struct rt_tenant *ts[] = {&before, &after, &after};
    const struct rt_party *ps[] = {&none, &none, &none};
    struct rt_facts f;
    struct fold got;

    (void)state;
    after.settings.create_missed_call_task = 0;
    after.exts = remapped;
    after.settings.version = 2;
    rt_facts_init(&f);
    run(&f, evs, 3, ts, ps, &got);
    assert_int_equal(got.task, 1); /* the call began with tasks on */
    /* 101 was pinned to user 1 at the first leg; 102 first appeared after the change. */
    assert_string_equal(got.popups, "1:ringing,1:closed,");
    assert_int_equal(f.pin.settings.version, 1);
    rt_facts_clear(&f);
    /* A call that begins after the change follows it. */
    rt_facts_init(&f);
    ts[0] = &after;
    run(&f, evs, 3, ts, ps, &got);
    assert_int_equal(got.task, 0);
    assert_string_equal(got.popups, "2:ringing,1:ringing,1:closed,2:closed,");
    rt_facts_clear(&f);
}

/* The pin and the durations survive the router_calls row. */
static void pin_survives_json(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party known = fx_party(1, 7, 9);
    struct rt_event evs[] = {fx_event(RT_RINGING, "101", 0, "a", 0), finished(50, "b", 40)};
    struct rt_msgs m = {0};
    struct rt_step_result res;
    struct rt_facts f, back;
    char err[128];
    json_t *j, *j2;

    (void)state;
    rt_facts_init(&f);
    rt_facts_init(&back);
    for (int i = 0; i < 2; i++)
        assert_int_equal(rt_step(&f, &evs[i], "k", &t, &known, &m, &res, err, sizeof(err)), 0);
    rt_msgs_clear(&m);
    j = rt_facts_to_json(&f);
    assert_non_null(j);
    assert_int_equal(rt_facts_from_json(j, &back, err, sizeof(err)), 0);
    assert_true(back.pin.set);
    assert_int_equal(back.pin.cp_id, 42);
    assert_int_equal(back.pin.cp_responsible, 7);
    assert_int_equal(back.pin.cp_deal_id, 9);
    assert_string_equal(back.pin.cp_name, "Romashka");
    assert_int_equal(back.pin.n_employees, 2);
    assert_int_equal(back.talk_s, 40);
    assert_int_equal(back.finished_us, f.finished_us);
    assert_true(rt_pin_has_ext(&back.pin, "101"));
    j2 = rt_facts_to_json(&back);
    assert_true(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    rt_facts_clear(&f);
    rt_facts_clear(&back);
}

/* Point 3: without a FINISHED or a recording, the tenant's quiet period closes the popups for
 * good; the contact is left as it is, and a late recording still completes it. */
static void quiet_period_closes_popups(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0);
    struct rt_event evs[] = {
        fx_event(RT_RINGING, "101", 0, "a", 0), fx_event(RT_RINGING, "102", 1, "b", 0),
        fx_event(RT_ANSWERED, "102", 5, "c", 0), fx_event(RT_RINGING, "103", 900, "d", 0),
        fx_event(RT_HANGUP, "102", 3600, "e", 0)};
    struct rt_msgs m = {0};
    struct rt_facts f;
    struct fold got;
    char err[128];

    (void)state;
    rt_facts_init(&f);
    run(&f, evs, 3, (const struct rt_tenant *[]){&t, &t, &t},
        (const struct rt_party *[]){&none, &none, &none}, &got);
    assert_true(rt_facts_popup_open(&f));
    assert_int_equal(rt_quiet_step(&f, "acme", "555", &t, 1795607110000000LL, &m, err, sizeof(err)),
                     0);
    assert_int_equal(m.n, 1); /* boris's in-call popup; anna's was closed by the answer */
    assert_non_null(strstr(m.v[0].value, "\"state\":\"closed\""));
    assert_string_equal(m.v[0].id, "acme:555:2:closed");
    rt_msgs_clear(&m);
    assert_false(rt_facts_popup_open(&f));
    assert_string_equal(rt_facts_state(&f), "answered"); /* the contact stays as it was */
    /* A second sweep, and a replay, add nothing. */
    assert_int_equal(rt_quiet_step(&f, "acme", "555", &t, 1795607120000000LL, &m, err, sizeof(err)),
                     0);
    assert_int_equal(m.n, 0);
    /* A leg after the quiet period shows nobody a popup; the recording completes the contact. */
    run(&f, evs + 3, 2, (const struct rt_tenant *[]){&t, &t},
        (const struct rt_party *[]){&none, &none}, &got);
    assert_string_equal(got.popups, "");
    assert_string_equal(got.state, "completed");
    rt_facts_clear(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counterparty_pinned_at_first_decision),
        cmocka_unit_test(terminal_state_independent_of_order),
        cmocka_unit_test(finished_ends_the_call),
        cmocka_unit_test(no_contact_no_counterparty),
        cmocka_unit_test(settings_pinned_at_first_notification),
        cmocka_unit_test(pin_survives_json),
        cmocka_unit_test(quiet_period_closes_popups),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
