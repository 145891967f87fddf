/* Outgoing calls (issue 18): the caller dialled, so nobody's CRM rings; the caller is the
 * contact's answered_by and gets the "in call" card when the client answers; a client who does
 * not answer makes no missed-call task. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "facts.h"
#include "outgoing.h"
#include "rules.h"
#include "rules_fixture.h"

static struct rt_event out_event(enum rt_call_state st, const char *ext, int offset_s,
                                 const char *eid)
{
    struct rt_event ev = fx_event(st, ext, offset_s, eid, 0);

    ev.out = 1;
    return ev;
}

static void decide(const struct rt_tenant *t, const struct rt_party *p, const struct rt_event *evs,
                   size_t n, struct rt_outcome *o)
{
    struct rt_facts f;

    rt_facts_init(&f);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rt_facts_add_event(&f, &evs[i]), 0);
    assert_int_equal(rt_decide(&f, t, p, o), 0);
    rt_facts_clear(&f);
}

static void no_ringing_popup_then_in_call_for_the_caller(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party p = fx_party(1, 7, 9);
    /* "Исходящий звонок" from Ivan's extension, the client answers (talk starts), recording. */
    struct rt_event evs[] = {out_event(RT_RINGING, "102", 0, "a"),
                             out_event(RT_ANSWERED, "", 6, "b"), out_event(RT_HANGUP, "", 60, "c")};
    struct rt_outcome o;

    (void)state;
    t.settings.notify_responsible_only = 1; /* would send an incoming call to Roza (7) */
    decide(&t, &p, evs, 1, &o);
    assert_int_equal(o.n_popups, 0);
    assert_int_equal(o.others, POPUP_STATE_NONE);
    assert_int_equal(o.answered_by, 2);
    assert_string_equal(o.state, "ringing");
    assert_int_equal(o.cp.mode, RT_CP_EXISTING);
    rt_outcome_clear(&o);
    decide(&t, &p, evs, 2, &o);
    assert_int_equal(o.n_popups, 1);
    assert_int_equal(o.popups[0].user_id, 2);
    assert_int_equal(o.popups[0].state, POPUP_STATE_IN_CALL);
    assert_int_equal(o.others, POPUP_STATE_CLOSED);
    rt_outcome_clear(&o);
    decide(&t, &p, evs, 3, &o);
    assert_int_equal(o.n_popups, 0);
    assert_int_equal(o.others, POPUP_STATE_CLOSED);
    assert_string_equal(o.state, "completed");
    assert_int_equal(o.answered_by, 2);
    assert_int_equal(o.history, 1);
    assert_int_equal(o.deal_id, 9);
    rt_outcome_clear(&o);
}

static void unanswered_is_no_missed_call(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0);
    struct rt_event evs[] = {out_event(RT_RINGING, "101", 0, "a"),
                             out_event(RT_MISSED, "", 30, "b")};
    struct rt_outcome o;

    (void)state;
    decide(&t, &none, evs, 2, &o);
    assert_int_equal(o.task, 0);
    assert_int_equal(o.answered_by, 1);
    assert_int_equal(o.cp.mode, RT_CP_CREATE); /* contacts on: the number gets its own */
    assert_int_equal(o.cp.responsible, 1);
    rt_outcome_clear(&o);
    /* Contacts off: nothing can create a counterparty from an outgoing call. */
    t.settings.create_contact_on_call = 0;
    decide(&t, &none, evs, 2, &o);
    assert_int_equal(o.contact, 0);
    assert_int_equal(o.task, 0);
    rt_outcome_clear(&o);
}

static void caller_from_any_leg(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_facts f;
    struct rt_event a = out_event(RT_RINGING, "999", 0, "a");
    struct rt_event b = out_event(RT_HANGUP, "101", 9, "b");

    (void)state;
    rt_facts_init(&f);
    assert_int_equal(rt_outgoing_caller(&f, &t), 0);
    assert_int_equal(rt_facts_add_event(&f, &a), 0);
    assert_int_equal(rt_outgoing_caller(&f, &t), 0); /* an unmapped extension names nobody */
    assert_int_equal(rt_facts_add_event(&f, &b), 0);
    assert_int_equal(rt_outgoing_caller(&f, &t), 1);
    rt_facts_clear(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_ringing_popup_then_in_call_for_the_caller),
        cmocka_unit_test(unanswered_is_no_missed_call),
        cmocka_unit_test(caller_from_any_leg),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
