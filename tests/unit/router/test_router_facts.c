/* The per-call facts are a semilattice: the merged value depends on the set of events only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "facts.h"
#include "rules_fixture.h"

static char *facts_text(const struct rt_facts *f)
{
    json_t *j = rt_facts_to_json(f);
    char *s;

    assert_non_null(j);
    s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    assert_non_null(s);
    return s;
}

#define NEV 6

static void make_events(struct rt_event evs[NEV], char *urls[2])
{
    evs[0] = fx_event(RT_RINGING, "101", 0, "r1", 0);
    evs[1] = fx_event(RT_RINGING, "102", 1, "r2", 0);
    evs[2] = fx_event(RT_ANSWERED, "102", 4, "a1", 0);
    evs[3] = fx_event(RT_ANSWERED, "101", 4, "a2", 0); /* same instant: the smaller extension */
    evs[4] = fx_event(RT_HANGUP, "102", 7200, "h1", 0);
    evs[5] = fx_event(RT_HANGUP, "102", 7300, "h2", 0);
    evs[4].n_urls = 1;
    evs[4].urls = &urls[0];
    evs[5].n_urls = 2;
    evs[5].urls = urls;
}

static void permute(int *a, int n, int k, void (*visit)(const int *, int, void *), void *ctx)
{
    if (k == n) {
        visit(a, n, ctx);
        return;
    }
    for (int i = k; i < n; i++) {
        int t = a[k];

        a[k] = a[i];
        a[i] = t;
        permute(a, n, k + 1, visit, ctx);
        a[i] = a[k];
        a[k] = t;
    }
}

struct perm_ctx {
    struct rt_event *evs;
    const char *want;
    int runs;
};

static void visit_order(const int *order, int n, void *ctx)
{
    struct perm_ctx *pc = ctx;
    struct rt_facts f;
    char *got;

    rt_facts_init(&f);
    for (int i = 0; i < n; i++) {
        assert_int_equal(rt_facts_add_event(&f, &pc->evs[order[i]]), 0);
        /* Idempotent: the same event again changes nothing. */
        if (i == 2)
            assert_int_equal(rt_facts_add_event(&f, &pc->evs[order[i]]), 0);
    }
    got = facts_text(&f);
    assert_string_equal(got, pc->want);
    free(got);
    rt_facts_clear(&f);
    pc->runs++;
}

static void order_does_not_matter(void **state)
{
    char *urls[2] = {(char *)"https://rec/b", (char *)"https://rec/a"};
    struct rt_event evs[NEV];
    struct rt_facts f;
    struct perm_ctx pc = {evs, NULL, 0};
    int order[NEV] = {0, 1, 2, 3, 4, 5};
    char *want;

    (void)state;
    make_events(evs, urls);
    rt_facts_init(&f);
    for (int i = 0; i < NEV; i++)
        assert_int_equal(rt_facts_add_event(&f, &evs[i]), 0);
    assert_int_equal(f.ringing_us, evs[0].received_us);
    assert_int_equal(f.n_exts, 2);
    assert_string_equal(f.answered_ext, "101");
    assert_int_equal(f.answered_us, evs[2].received_us);
    assert_int_equal(f.hangup_us, evs[4].received_us);
    assert_int_equal(f.n_urls, 2);
    assert_string_equal(f.urls[0], "https://rec/a");
    assert_string_equal(f.first_eid, "r1");
    assert_string_equal(rt_facts_state(&f), "completed");
    want = facts_text(&f);
    pc.want = want;
    permute(order, NEV, 0, visit_order, &pc);
    assert_int_equal(pc.runs, 720);
    free(want);
    rt_facts_clear(&f);
}

/* (a ⊔ b) ⊔ c = a ⊔ (b ⊔ c), and a ⊔ b = b ⊔ a, for facts that also carry sent popups. */
static void merge_is_associative_and_commutative(void **state)
{
    char *urls[2] = {(char *)"https://rec/b", (char *)"https://rec/a"};
    struct rt_event evs[NEV];
    struct rt_facts a, b, c, ab_c, a_bc, tmp;
    char *s1, *s2;

    (void)state;
    make_events(evs, urls);
    rt_facts_init(&a);
    rt_facts_init(&b);
    rt_facts_init(&c);
    rt_facts_add_event(&a, &evs[0]);
    rt_facts_add_event(&a, &evs[5]);
    rt_facts_set_sent(&a, 1, POPUP_STATE_RINGING);
    rt_facts_add_event(&b, &evs[2]);
    rt_facts_set_sent(&b, 1, POPUP_STATE_CLOSED);
    rt_facts_set_sent(&b, 2, POPUP_STATE_IN_CALL);
    rt_facts_add_event(&c, &evs[1]);
    rt_facts_add_event(&c, &evs[3]);
    rt_facts_set_sent(&c, 2, POPUP_STATE_RINGING);

    assert_int_equal(rt_facts_copy(&ab_c, &a), 0);
    rt_facts_merge(&ab_c, &b);
    rt_facts_merge(&ab_c, &c);
    assert_int_equal(rt_facts_copy(&tmp, &b), 0);
    rt_facts_merge(&tmp, &c);
    assert_int_equal(rt_facts_copy(&a_bc, &a), 0);
    rt_facts_merge(&a_bc, &tmp);
    s1 = facts_text(&ab_c);
    s2 = facts_text(&a_bc);
    assert_string_equal(s1, s2);
    free(s2);
    rt_facts_clear(&tmp);
    assert_int_equal(rt_facts_copy(&tmp, &c), 0);
    rt_facts_merge(&tmp, &b);
    rt_facts_merge(&tmp, &a);
    rt_facts_merge(&tmp, &tmp); /* idempotent */
    s2 = facts_text(&tmp);
    assert_string_equal(s1, s2);
    assert_int_equal(rt_facts_sent(&tmp, 1), POPUP_STATE_CLOSED);
    assert_int_equal(rt_facts_sent(&tmp, 2), POPUP_STATE_IN_CALL);
    assert_int_equal(rt_facts_sent(&tmp, 3), POPUP_STATE_NONE);
    free(s1);
    free(s2);
    rt_facts_clear(&a);
    rt_facts_clear(&b);
    rt_facts_clear(&c);
    rt_facts_clear(&ab_c);
    rt_facts_clear(&a_bc);
    rt_facts_clear(&tmp);
}

static void sent_moves_forward_only(void **state)
{
    struct rt_facts f;

    (void)state;
    rt_facts_init(&f);
    assert_int_equal(rt_facts_set_sent(&f, 5, POPUP_STATE_IN_CALL), 0);
    assert_int_equal(rt_facts_set_sent(&f, 5, POPUP_STATE_RINGING), 0);
    assert_int_equal(rt_facts_sent(&f, 5), POPUP_STATE_IN_CALL);
    assert_int_equal(rt_facts_set_sent(&f, 6, POPUP_STATE_NONE), 0);
    assert_int_equal(f.n_sent, 1);
    rt_facts_clear(&f);
}

static void json_round_trip(void **state)
{
    char *urls[2] = {(char *)"https://rec/b", (char *)"https://rec/a"};
    struct rt_event evs[NEV];
    struct rt_facts f, g;
    char err[128], *s1, *s2;
    json_t *j;

    (void)state;
    make_events(evs, urls);
    evs[0].out = 1;
    rt_facts_init(&f);
    rt_facts_init(&g);
    for (int i = 0; i < NEV; i++)
        rt_facts_add_event(&f, &evs[i]);
    rt_facts_set_sent(&f, 12345678901LL, POPUP_STATE_CLOSED);
    j = rt_facts_to_json(&f);
    assert_int_equal(rt_facts_from_json(j, &g, err, sizeof(err)), 0);
    json_decref(j);
    s1 = facts_text(&f);
    s2 = facts_text(&g);
    assert_string_equal(s1, s2);
    assert_int_equal(g.out, 1);
    assert_int_equal(rt_facts_sent(&g, 12345678901LL), POPUP_STATE_CLOSED);
    free(s1);
    free(s2);

    j = json_pack("{s:i}", "v", 2);
    assert_int_equal(rt_facts_from_json(j, &g, err, sizeof(err)), -1);
    assert_true(rt_facts_empty(&g));
    json_decref(j);
    j = rt_facts_to_json(&f);
    json_object_set_new(json_object_get(j, "sent"), "7", json_string("flying"));
    assert_int_equal(rt_facts_from_json(j, &g, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "sent"));
    json_decref(j);
    rt_facts_clear(&f);
    rt_facts_clear(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_does_not_matter),
        cmocka_unit_test(merge_is_associative_and_commutative),
        cmocka_unit_test(sent_moves_forward_only),
        cmocka_unit_test(json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
