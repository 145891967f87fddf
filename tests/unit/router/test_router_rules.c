/* SPEC §4 line by line: popup targets, the answer, the end, the contact's counterparty, the
 * deal history and the missed-call task, over every combination of settings, counterparty,
 * extension and event type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"
#include "facts.h"
#include "rules.h"
#include "rules_fixture.h"

enum cp_kind { CP_NOT_FOUND, CP_NO_RESPONSIBLE, CP_RESPONSIBLE };
enum ext_kind { EXT_MAPPED, EXT_UNMAPPED, EXT_ABSENT };
enum fixed_kind { FIXED_OFF, FIXED_ON, FIXED_ON_NO_ID };

static const char *const ext_of[] = {"101", "999", ""};

/* Popup targets of one RINGING leg: [notify_responsible_only][counterparty][extension]. */
static const char *const ringing_targets[2][3][3] = {
    {{"1:ringing", "3:ringing,4:ringing", "3:ringing,4:ringing"},
     {"1:ringing", "3:ringing,4:ringing", "3:ringing,4:ringing"},
     {"1:ringing", "3:ringing,4:ringing", "3:ringing,4:ringing"}},
    {{"1:ringing", "3:ringing,4:ringing", "3:ringing,4:ringing"},
     {"1:ringing", "3:ringing,4:ringing", "3:ringing,4:ringing"},
     {"7:ringing", "7:ringing", "7:ringing"}},
};
/* ANSWERED: the extension user turns "in call", everyone else closes. */
static const char *const answered_popups[3] = {"1:in_call", "", ""};
/* Responsible of a counterparty created for an unknown number: [event][extension]; the
 * recording's extension is who talked; MISSED carries no leg, so the first settings employee. */
static const int64_t create_responsible[4][3] = {{1, 3, 3}, {1, 3, 3}, {1, 3, 3}, {3, 3, 3}};
static const char *const contact_state[4] = {"ringing", "answered", "completed", "missed"};

static void popups_text(const struct rt_outcome *o, char *out, size_t outlen)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < o->n_popups; i++)
        n +=
            (size_t)snprintf(out + n, outlen - n, "%s%lld:%s", i ? "," : "",
                             (long long)o->popups[i].user_id, popup_state_name(o->popups[i].state));
}

struct combo {
    int nro, contact, deal_on, task_on, has_deal, hidden;
    enum cp_kind cp;
    enum ext_kind ext;
    enum fixed_kind fixed;
    enum rt_call_state st;
};

static void check_combo(const struct combo *c)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party p =
        fx_party(c->cp != CP_NOT_FOUND, c->cp == CP_RESPONSIBLE ? 7 : 0, c->has_deal ? 9 : 0);
    struct rt_event ev = fx_event(c->st, ext_of[c->ext], 0, "e1", c->hidden);
    struct rt_facts f;
    struct rt_outcome o;
    char got[128], where[160];
    const char *want_popups;
    int found = c->cp != CP_NOT_FOUND && !c->hidden;
    int fixed_active = c->fixed == FIXED_ON && c->contact;
    int want_history;

    snprintf(where, sizeof(where),
             "nro=%d cp=%d ext=%d st=%d contact=%d deal=%d/%d task=%d "
             "fixed=%d hidden=%d",
             c->nro, c->cp, c->ext, c->st, c->contact, c->deal_on, c->has_deal, c->task_on,
             c->fixed, c->hidden);
    t.settings.notify_responsible_only = c->nro;
    t.settings.create_contact_on_call = c->contact;
    t.settings.add_call_to_last_active_deal = c->deal_on;
    t.settings.create_missed_call_task = c->task_on;
    t.settings.unknown_to_fixed_counterparty = c->fixed != FIXED_OFF;
    t.settings.fixed_counterparty_id = c->fixed == FIXED_ON ? 5 : 0;
    rt_facts_init(&f);
    assert_int_equal(rt_facts_add_event(&f, &ev), 0);
    assert_int_equal(rt_decide(&f, &t, &p, &o), 0);

    /* Popups. */
    popups_text(&o, got, sizeof(got));
    switch (c->st) {
    case RT_RINGING:
        want_popups = ringing_targets[c->nro][c->hidden ? CP_NOT_FOUND : c->cp][c->ext];
        if (o.others != POPUP_STATE_NONE)
            fail_msg("%s: ringing must leave other popups alone", where);
        break;
    case RT_ANSWERED:
        want_popups = answered_popups[c->ext];
        if (o.others != POPUP_STATE_CLOSED)
            fail_msg("%s: answer must close the others", where);
        break;
    default:
        want_popups = "";
        if (o.others != POPUP_STATE_CLOSED)
            fail_msg("%s: end must close every popup", where);
    }
    if (strcmp(got, want_popups) != 0)
        fail_msg("%s: popups %s, want %s", where, got, want_popups);

    /* Contact and its counterparty. */
    assert_int_equal(o.contact, c->contact);
    assert_string_equal(o.state, contact_state[c->st]);
    assert_int_equal(o.answered_by,
                     (c->st == RT_ANSWERED || c->st == RT_HANGUP) && c->ext == EXT_MAPPED ? 1 : 0);
    if (c->hidden) {
        assert_int_equal(o.cp.mode, fixed_active ? RT_CP_FIXED : RT_CP_NONE);
    } else if (found) {
        assert_int_equal(o.cp.mode, RT_CP_EXISTING);
        assert_int_equal(o.cp.id, 42);
    } else if (fixed_active) {
        assert_int_equal(o.cp.mode, RT_CP_FIXED);
    } else {
        if (o.cp.mode != RT_CP_CREATE || o.cp.responsible != create_responsible[c->st][c->ext])
            fail_msg("%s: create mode %d responsible %lld", where, o.cp.mode,
                     (long long)o.cp.responsible);
    }
    if (o.cp.mode == RT_CP_FIXED)
        assert_int_equal(o.cp.id, 5);

    /* Last active deal, on the recorded call only. */
    want_history = c->deal_on && c->st == RT_HANGUP && found && c->has_deal;
    if (o.history != want_history)
        fail_msg("%s: history %d, want %d", where, o.history, want_history);
    if (want_history)
        assert_int_equal(o.deal_id, 9);
    assert_int_equal(o.no_open_deal, c->deal_on && c->st == RT_HANGUP && !want_history);

    /* Missed-call task for the responsible, else the first settings employee. */
    assert_int_equal(o.task, c->task_on && c->st == RT_MISSED);
    if (o.task)
        assert_int_equal(o.assignee, found && c->cp == CP_RESPONSIBLE ? 7 : 3);

    rt_outcome_clear(&o);
    rt_facts_clear(&f);
}

static void every_combination(void **state)
{
    struct combo c;
    int n = 0;

    (void)state;
    for (c.nro = 0; c.nro < 2; c.nro++)
        for (c.cp = 0; c.cp < 3; c.cp++)
            for (c.ext = 0; c.ext < 3; c.ext++)
                for (c.st = RT_RINGING; c.st <= RT_MISSED; c.st++)
                    for (c.contact = 0; c.contact < 2; c.contact++)
                        for (c.deal_on = 0; c.deal_on < 2; c.deal_on++)
                            for (c.has_deal = 0; c.has_deal < 2; c.has_deal++)
                                for (c.task_on = 0; c.task_on < 2; c.task_on++)
                                    for (c.fixed = 0; c.fixed < 3; c.fixed++)
                                        for (c.hidden = 0; c.hidden < 2; c.hidden++, n++)
                                            check_combo(&c);
    assert_int_equal(n, 2 * 3 * 3 * 4 * 2 * 2 * 2 * 2 * 3 * 2);
}

static void decide_events(struct rt_tenant *t, struct rt_party *p, const struct rt_event *evs,
                          size_t n, char *out, size_t outlen, struct rt_outcome *o)
{
    struct rt_facts f;

    rt_facts_init(&f);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rt_facts_add_event(&f, &evs[i]), 0);
    assert_int_equal(rt_decide(&f, t, p, o), 0);
    popups_text(o, out, outlen);
    rt_facts_clear(&f);
}

/* Several ringing legs add their targets; the answer on the second leg wins. */
/* Events the reconciler found in UIS's calls report (source "uis-calls-report", issue 17): the
 * call is over, so whatever their order no popup is raised and any popup shown while it rang
 * closes; the contact, counterparty and answering user come out as from the webhooks. */
static void found_after_the_fact(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0);
    struct rt_event late[] = {fx_event(RT_RINGING, "102", 0, "a", 0),
                              fx_event(RT_ANSWERED, "102", 5, "b", 0),
                              fx_event(RT_FINISHED, "102", 30, "c", 0)};
    struct rt_outcome o;
    char got[128];

    (void)state;
    for (size_t i = 0; i < 3; i++)
        late[i].late = 1;
    decide_events(&t, &none, late, 1, got, sizeof(got), &o);
    assert_string_equal(got, "");
    assert_int_equal(o.others, POPUP_STATE_CLOSED);
    assert_string_equal(o.state, "ringing");
    assert_int_equal(o.cp.responsible, 2); /* the rung leg's user, as the webhooks would give */
    rt_outcome_clear(&o);
    decide_events(&t, &none, late, 2, got, sizeof(got), &o);
    assert_string_equal(got, "");
    assert_int_equal(o.answered_by, 2);
    rt_outcome_clear(&o);
    decide_events(&t, &none, late, 3, got, sizeof(got), &o);
    assert_string_equal(got, "");
    assert_string_equal(o.state, "completed");
    rt_outcome_clear(&o);
}

static void group_ringing(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0), resp = fx_party(1, 7, 9);
    struct rt_event legs[] = {
        fx_event(RT_RINGING, "101", 0, "a", 0), fx_event(RT_RINGING, "102", 1, "b", 0),
        fx_event(RT_RINGING, "", 2, "c", 0), fx_event(RT_ANSWERED, "102", 5, "d", 0)};
    struct rt_event some[] = {fx_event(RT_RINGING, "101", 0, "a", 0),
                              fx_event(RT_RINGING, "999", 1, "b", 0)};
    struct rt_outcome o;
    char got[128];

    (void)state;
    decide_events(&t, &none, legs, 3, got, sizeof(got), &o);
    assert_string_equal(got, "1:ringing,2:ringing,3:ringing,4:ringing");
    rt_outcome_clear(&o);
    decide_events(&t, &none, some, 2, got, sizeof(got), &o);
    assert_string_equal(got, "1:ringing,3:ringing,4:ringing");
    rt_outcome_clear(&o);
    t.settings.notify_responsible_only = 1;
    decide_events(&t, &resp, legs, 3, got, sizeof(got), &o);
    assert_string_equal(got, "7:ringing");
    rt_outcome_clear(&o);
    decide_events(&t, &none, legs, 3, got, sizeof(got), &o);
    assert_string_equal(got, "1:ringing,2:ringing,3:ringing,4:ringing");
    rt_outcome_clear(&o);
    decide_events(&t, &none, legs, 4, got, sizeof(got), &o);
    assert_string_equal(got, "2:in_call");
    assert_int_equal(o.others, POPUP_STATE_CLOSED);
    assert_int_equal(o.answered_by, 2);
    assert_int_equal(o.cp.responsible, 2); /* the answering leg's user */
    assert_int_equal(rt_outcome_popup(&o, 1, POPUP_STATE_RINGING), POPUP_STATE_CLOSED);
    assert_int_equal(rt_outcome_popup(&o, 2, POPUP_STATE_RINGING), POPUP_STATE_IN_CALL);
    rt_outcome_clear(&o);
}

/* Without settings employees an unmapped leg has nobody to show, and the task and a new
 * counterparty get no user. */
static void no_employees(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_party none = fx_party(0, 0, 0);
    struct rt_event evs[] = {fx_event(RT_RINGING, "999", 0, "a", 0),
                             fx_event(RT_MISSED, "", 9, "b", 0)};
    struct rt_outcome o;
    char got[128];

    (void)state;
    t.n_employees = 0;
    decide_events(&t, &none, evs, 1, got, sizeof(got), &o);
    assert_string_equal(got, "");
    assert_int_equal(o.cp.mode, RT_CP_CREATE);
    assert_int_equal(o.cp.responsible, 0);
    rt_outcome_clear(&o);
    decide_events(&t, &none, evs, 2, got, sizeof(got), &o);
    assert_int_equal(o.task, 1);
    assert_int_equal(o.assignee, 0);
    assert_string_equal(o.state, "missed");
    rt_outcome_clear(&o);
}

static void nothing_before_any_event(void **state)
{
    struct rt_tenant t = fx_tenant();
    struct rt_facts f;
    struct rt_outcome o;

    (void)state;
    rt_facts_init(&f);
    assert_int_equal(rt_decide(&f, &t, NULL, &o), 0);
    assert_int_equal(o.contact, 0);
    assert_int_equal(o.n_popups, 0);
    assert_int_equal(o.others, POPUP_STATE_NONE);
    rt_outcome_clear(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_combination),        cmocka_unit_test(group_ringing),
        cmocka_unit_test(found_after_the_fact),     cmocka_unit_test(no_employees),
        cmocka_unit_test(nothing_before_any_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
