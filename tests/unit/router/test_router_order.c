/* Order and repetition (SPEC §4): for scripted calls, every permutation of the events, and every
 * duplication of one of them at every position, ends in the same CRM state (the actions folded
 * with the writer's merge rules of docs/architecture.md) and the same open popups as the
 * in-order run; no popup ever moves backwards and a repeated notification emits nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"
#include "rules_fixture.h"

#define MAXEV 8

/* The writer's and the notifier's view after applying messages. */
struct model {
    json_t *contact; /* merged contact */
    json_t *history; /* deal_id -> entry */
    json_t *task;    /* first task */
    json_t *popups;  /* user -> state */
    json_t *msg_ids; /* ids seen in this run */
};

static int rank_of(const char *state)
{
    if (strcmp(state, "ringing") == 0)
        return 0;
    if (strcmp(state, "answered") == 0)
        return 1;
    return 2; /* completed, missed: the first terminal stays */
}

static int popup_rank(const char *state)
{
    return strcmp(state, "ringing") == 0 ? 1 : strcmp(state, "in_call") == 0 ? 2 : 3;
}

static void union_urls(json_t *dst, json_t *src)
{
    size_t i, j;
    json_t *u, *v;

    json_array_foreach(src, i, u)
    {
        int have = 0;

        json_array_foreach(dst, j, v) have |= json_equal(u, v);
        if (!have)
            json_array_append(dst, u);
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The writer keeps links as a set: compare them sorted. */
static void sort_urls(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = calloc(n + 1, sizeof(*v));

    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), str_cmp);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

static void earliest(json_t *dst, json_t *src, const char *name)
{
    json_t *a = json_object_get(dst, name), *b = json_object_get(src, name);

    if (json_is_string(b) &&
        (!json_is_string(a) || strcmp(json_string_value(b), json_string_value(a)) < 0))
        json_object_set(dst, name, b);
}

/* A created counterparty is found-or-created once per number; which leg's user becomes its
 * responsible may depend on the first event seen (docs/decisions.md), so compare its number. */
static json_t *cp_key(json_t *spec)
{
    const char *mode = json_string_value(json_object_get(spec, "mode"));

    if (strcmp(mode, "create") == 0)
        return json_pack("{s:s, s:O}", "mode", mode, "phone", json_object_get(spec, "phone"));
    return json_deep_copy(spec);
}

static void apply_contact(struct model *m, json_t *a)
{
    json_t *c = m->contact;

    if (!c) {
        m->contact = json_pack(
            "{s:O, s:O, s:O, s:O, s:O, s:n, s:n, s:n, s:n, s:[], s:n}", "direction",
            json_object_get(a, "direction"), "caller", json_object_get(a, "caller"), "caller_raw",
            json_object_get(a, "caller_raw"), "virtual_number",
            json_object_get(a, "virtual_number"), "state", json_object_get(a, "state"),
            "answered_by", "ringing_at", "answered_at", "ended_at", "record_urls", "counterparty");
        c = m->contact;
    }
    if (rank_of(json_string_value(json_object_get(a, "state"))) >
        rank_of(json_string_value(json_object_get(c, "state"))))
        json_object_set(c, "state", json_object_get(a, "state"));
    earliest(c, a, "ringing_at");
    earliest(c, a, "answered_at");
    earliest(c, a, "ended_at");
    if (json_is_null(json_object_get(c, "answered_by")))
        json_object_set(c, "answered_by", json_object_get(a, "answered_by"));
    if (json_is_null(json_object_get(c, "counterparty")))
        json_object_set_new(c, "counterparty", cp_key(json_object_get(a, "counterparty")));
    union_urls(json_object_get(c, "record_urls"), json_object_get(a, "record_urls"));
}

static void apply(struct model *m, const struct rt_msg *msg)
{
    json_t *v = json_loads(msg->value, 0, NULL);
    const char *type;

    assert_non_null(v);
    /* A deterministic id names one content: the same id twice in one run would be a replay. */
    assert_null(json_object_get(m->msg_ids, msg->id));
    json_object_set_new(m->msg_ids, msg->id, json_true());
    if (msg->topic == RT_TOPIC_POPUPS) {
        char uid[24];
        json_t *prev;
        const char *st = json_string_value(json_object_get(v, "state"));

        snprintf(uid, sizeof(uid), "%lld",
                 (long long)json_integer_value(json_object_get(v, "user_id")));
        prev = json_object_get(m->popups, uid);
        if (prev)
            assert_true(popup_rank(st) > popup_rank(json_string_value(prev)));
        else
            assert_string_equal(json_string_value(json_object_get(v, "action")), "show");
        json_object_set_new(m->popups, uid, json_string(st));
        json_decref(v);
        return;
    }
    type = json_string_value(json_object_get(v, "type"));
    if (strcmp(type, "contact.upsert") == 0) {
        apply_contact(m, v);
    } else if (strcmp(type, "deal.history.add") == 0) {
        char deal[24];
        json_t *h;

        snprintf(deal, sizeof(deal), "%lld",
                 (long long)json_integer_value(json_object_get(v, "deal_id")));
        h = json_object_get(m->history, deal);
        if (!h)
            json_object_set_new(m->history, deal,
                                json_pack("{s:O, s:O, s:[]}", "phone", json_object_get(v, "phone"),
                                          "user_id", json_object_get(v, "user_id"), "record_urls"));
        union_urls(json_object_get(json_object_get(m->history, deal), "record_urls"),
                   json_object_get(v, "record_urls"));
    } else if (strcmp(type, "task.missed_call") == 0) {
        if (!m->task)
            m->task =
                json_pack("{s:O, s:O, s:o}", "assignee", json_object_get(v, "assignee_user_id"),
                          "phone", json_object_get(v, "phone"), "counterparty",
                          cp_key(json_object_get(v, "counterparty")));
    } else {
        fail_msg("unknown action %s", type);
    }
    json_decref(v);
}

struct script {
    const char *name;
    size_t n;
    struct rt_event ev[MAXEV];
};

struct setup {
    struct rt_tenant t;
    struct rt_party p;
};

/* Run events in order (indices), return the final state as sorted JSON text. Also checks that
 * an event equal to one already processed emits nothing. */
static char *run(const struct setup *s, const struct script *sc, const int *order, size_t n,
                 const int *dup_of)
{
    struct model m = {NULL, json_object(), NULL, json_object(), json_object()};
    struct rt_facts f;
    json_t *popups_open = json_object(), *all;
    const char *uid;
    json_t *st;
    char err[128], *text;

    rt_facts_init(&f);
    for (size_t i = 0; i < n; i++) {
        struct rt_msgs out = {0};
        struct rt_step_result res;
        struct rt_event ev = sc->ev[order[i]];

        if (dup_of[i]) /* UIS sent it again: a new event id from ingest, the same content */
            snprintf(ev.event_id, sizeof(ev.event_id), "%.32s-again", sc->ev[order[i]].event_id);
        assert_int_equal(
            rt_step(&f, &ev, "acme:+79031112233", &s->t, &s->p, &out, &res, err, sizeof(err)), 0);
        if (dup_of[i] == 2)
            assert_int_equal(out.n, 0);
        for (size_t k = 0; k < out.n; k++)
            apply(&m, &out.v[k]);
        rt_msgs_clear(&out);
    }
    if (m.contact)
        sort_urls(json_object_get(m.contact, "record_urls"));
    json_object_foreach(m.history, uid, st) sort_urls(json_object_get(st, "record_urls"));
    /* A user who was closed looks the same as one who never saw the popup: no popup open. */
    json_object_foreach(m.popups, uid, st)
    {
        if (strcmp(json_string_value(st), "closed") != 0)
            json_object_set(popups_open, uid, st);
    }
    all =
        json_pack("{s:o, s:O, s:o, s:o}", "contact", m.contact ? m.contact : json_null(), "history",
                  m.history, "task", m.task ? m.task : json_null(), "popups", popups_open);
    text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    json_decref(m.history);
    json_decref(m.popups);
    json_decref(m.msg_ids);
    rt_facts_clear(&f);
    return text;
}

struct ctx {
    const struct setup *s;
    const struct script *sc;
    const char *want;
    int runs;
};

static void check_order(struct ctx *c, const int *perm)
{
    int order[MAXEV + 1], dup[MAXEV + 1] = {0};
    size_t n = c->sc->n;
    char *got;

    got = run(c->s, c->sc, perm, n, dup);
    if (strcmp(got, c->want) != 0)
        fail_msg("%s: order changed the outcome:\n got  %s\n want %s", c->sc->name, got, c->want);
    free(got);
    c->runs++;
    /* Every event duplicated at every later position. */
    for (size_t d = 0; d < n; d++) {
        for (size_t pos = d + 1; pos <= n; pos++) {
            size_t k = 0;

            for (size_t i = 0; i <= n; i++) {
                if (i == pos) {
                    order[k] = perm[d];
                    /* 2: must emit nothing (nothing new since the original) */
                    dup[k++] = 2;
                }
                if (i < n) {
                    order[k] = perm[i];
                    dup[k++] = 0;
                }
            }
            got = run(c->s, c->sc, order, n + 1, dup);
            if (strcmp(got, c->want) != 0)
                fail_msg("%s: a duplicate changed the outcome:\n got  %s\n want %s", c->sc->name,
                         got, c->want);
            free(got);
            c->runs++;
        }
    }
}

static void permute(int *a, size_t n, size_t k, struct ctx *c)
{
    if (k == n) {
        check_order(c, a);
        return;
    }
    for (size_t i = k; i < n; i++) {
        int t = a[k];

        a[k] = a[i];
        a[i] = t;
        permute(a, n, k + 1, c);
        a[i] = a[k];
        a[k] = t;
    }
}

static char *url_a = "https://rec.uis/a.mp3", *url_b = "https://rec.uis/b.mp3";

static void scripts(struct script out[4])
{
    memset(out, 0, 4 * sizeof(*out));
    out[0] = (struct script){"answered",
                             3,
                             {fx_event(RT_RINGING, "101", 0, "r", 0),
                              fx_event(RT_ANSWERED, "101", 5, "a", 0),
                              fx_event(RT_HANGUP, "101", 60, "h", 0)}};
    out[0].ev[2].n_urls = 1;
    out[0].ev[2].urls = &url_a;
    out[1] = (struct script){"missed",
                             3,
                             {fx_event(RT_RINGING, "101", 0, "r1", 0),
                              fx_event(RT_RINGING, "", 0, "r2", 0),
                              fx_event(RT_MISSED, "", 30, "m", 0)}};
    out[2] = (struct script){
        "group",
        4,
        {fx_event(RT_RINGING, "101", 0, "r1", 0), fx_event(RT_RINGING, "102", 1, "r2", 0),
         fx_event(RT_ANSWERED, "102", 6, "a", 0), fx_event(RT_HANGUP, "102", 90, "h", 0)}};
    out[2].ev[3].n_urls = 1;
    out[2].ev[3].urls = &url_a;
    out[3] = (struct script){"late recording",
                             4,
                             {fx_event(RT_RINGING, "102", 0, "r", 0),
                              fx_event(RT_ANSWERED, "102", 3, "a", 0),
                              fx_event(RT_HANGUP, "102", 3 * 3600, "h1", 0),
                              fx_event(RT_HANGUP, "102", 5 * 3600, "h2", 0)}};
    out[3].ev[2].n_urls = 1;
    out[3].ev[2].urls = &url_a;
    out[3].ev[3].n_urls = 1;
    out[3].ev[3].urls = &url_b;
}

static void every_order_and_duplicate(void **state)
{
    struct script sc[4];
    int total = 0;

    (void)state;
    scripts(sc);
    for (int known = 0; known < 2; known++) {
        for (int nro = 0; nro < 2; nro++) {
            struct setup s = {fx_tenant(), fx_party(known, known ? 7 : 0, known ? 9 : 0)};

            s.t.settings.notify_responsible_only = nro;
            for (int i = 0; i < 4; i++) {
                int idx[MAXEV] = {0, 1, 2, 3, 4, 5, 6, 7}, dup[MAXEV] = {0};
                struct ctx c = {&s, &sc[i], NULL, 0};
                char *want = run(&s, &sc[i], idx, sc[i].n, dup);

                c.want = want;
                permute(idx, sc[i].n, 0, &c);
                total += c.runs;
                free(want);
            }
        }
    }
    /* 3 events: 6 orders x (1 + 6 duplicates); 4 events: 24 x (1 + 10); four setups. */
    assert_int_equal(total, 4 * (2 * 6 * 7 + 2 * 24 * 11));
}

/* What the in-order runs must end in, spelled out once. */
static void in_order_outcomes(void **state)
{
    struct script sc[4];
    struct setup known = {fx_tenant(), fx_party(1, 7, 9)};
    struct setup unknown = {fx_tenant(), fx_party(0, 0, 0)};
    int idx[MAXEV] = {0, 1, 2, 3}, dup[MAXEV] = {0};
    json_t *j;
    char *s;

    (void)state;
    scripts(sc);
    s = run(&known, &sc[2], idx, 4, dup);
    j = json_loads(s, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "contact"), "state")),
                        "completed");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "contact"), "answered_by")), 2);
    assert_non_null(json_object_get(json_object_get(j, "history"), "9"));
    assert_true(json_is_null(json_object_get(j, "task")));
    assert_int_equal(json_object_size(json_object_get(j, "popups")), 0);
    json_decref(j);
    free(s);

    s = run(&unknown, &sc[1], idx, 3, dup);
    j = json_loads(s, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "contact"), "state")),
                        "missed");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "task"), "assignee")),
                     3);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "task"), "counterparty"), "mode")),
                        "create");
    json_decref(j);
    free(s);

    /* Answered, not yet ended: the answerer's popup stays in call, whatever came first. */
    s = run(&known, &sc[2], idx, 3, dup);
    j = json_loads(s, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "popups"), "2")),
                        "in_call");
    assert_int_equal(json_object_size(json_object_get(j, "popups")), 1);
    json_decref(j);
    free(s);
    {
        int rev[MAXEV] = {2, 1, 0};
        char *t = run(&known, &sc[2], rev, 3, dup);

        s = run(&known, &sc[2], idx, 3, dup);
        assert_string_equal(s, t);
        free(t);
        free(s);
    }
}

/* A late RINGING never re-opens, and an ANSWERED first shows the popup in call. */
static void late_ringing_and_answer_first(void **state)
{
    struct setup s = {fx_tenant(), fx_party(0, 0, 0)};
    struct rt_event a = fx_event(RT_ANSWERED, "101", 5, "a", 0);
    struct rt_event r = fx_event(RT_RINGING, "101", 0, "r", 0);
    struct rt_event h = fx_event(RT_HANGUP, "101", 9, "h", 0);
    struct rt_facts f;
    struct rt_msgs out = {0};
    struct rt_step_result res;
    char err[128];

    (void)state;
    rt_facts_init(&f);
    assert_int_equal(rt_step(&f, &a, "k", &s.t, &s.p, &out, &res, err, sizeof(err)), 0);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.v[0].topic, RT_TOPIC_POPUPS);
    assert_non_null(strstr(out.v[0].value, "\"action\":\"show\""));
    assert_non_null(strstr(out.v[0].value, "\"state\":\"in_call\""));
    assert_string_equal(out.v[0].id, "acme:555:1:in_call");
    assert_string_equal(out.v[0].key, "acme:555");
    assert_string_equal(out.v[0].ce_type, "ru.crm.popup.show");
    assert_string_equal(out.v[1].id, "acme:555:contact.upsert:a");
    assert_string_equal(out.v[1].key, "k");
    rt_msgs_clear(&out);
    assert_int_equal(rt_step(&f, &h, "k", &s.t, &s.p, &out, &res, err, sizeof(err)), 0);
    assert_int_equal(res.no_open_deal, 1);
    assert_int_equal(out.n, 2); /* close, contact */
    assert_string_equal(out.v[0].ce_type, "ru.crm.popup.close");
    rt_msgs_clear(&out);
    /* The late RINGING adds ringing_at to the contact, and no popup. */
    assert_int_equal(rt_step(&f, &r, "k", &s.t, &s.p, &out, &res, err, sizeof(err)), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.v[0].topic, RT_TOPIC_ACTIONS);
    assert_non_null(strstr(out.v[0].value, "\"ringing_at\":\"2026-"));
    rt_msgs_clear(&out);
    assert_int_equal(rt_step(&f, &h, "k", &s.t, &s.p, &out, &res, err, sizeof(err)), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(res.no_open_deal, 0);
    rt_facts_clear(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_order_and_duplicate),
        cmocka_unit_test(in_order_outcomes),
        cmocka_unit_test(late_ringing_and_answer_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
