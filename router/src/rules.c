#include "rules.h"

#include "outgoing.h"

#include <stdlib.h>
#include <string.h>

void rt_outcome_clear(struct rt_outcome *o)
{
    free(o->popups);
    memset(o, 0, sizeof(*o));
}

/* Add user with state; a user named twice keeps the furthest state. */
static int rt_outcome_put(struct rt_outcome *o, int64_t user_id, enum popup_state state)
{
    size_t i = 0;
    struct rt_sent *grown;

    if (user_id <= 0)
        return 0;
    while (i < o->n_popups && o->popups[i].user_id < user_id)
        i++;
    if (i < o->n_popups && o->popups[i].user_id == user_id) {
        if (state > o->popups[i].state)
            o->popups[i].state = state;
        return 0;
    }
    grown = realloc(o->popups, (o->n_popups + 1) * sizeof(*o->popups));
    if (!grown)
        return -1;
    o->popups = grown;
    memmove(o->popups + i + 1, o->popups + i, (o->n_popups - i) * sizeof(*o->popups));
    o->popups[i].user_id = user_id;
    o->popups[i].state = state;
    o->n_popups++;
    return 0;
}

enum popup_state rt_outcome_popup(const struct rt_outcome *o, int64_t user_id,
                                  enum popup_state sent)
{
    for (size_t i = 0; i < o->n_popups; i++) {
        if (o->popups[i].user_id == user_id)
            return o->popups[i].state;
    }
    return o->others == POPUP_STATE_NONE ? sent : o->others;
}

/* Popup targets of one ringing leg (ext "" for a leg without extension), SPEC §4 1-3. */
static int rt_leg_targets(const struct rt_tenant *t, const struct rt_party *cp, const char *ext,
                          struct rt_outcome *o)
{
    int64_t user;

    if (t->settings.notify_responsible_only && cp->found && cp->responsible)
        return rt_outcome_put(o, cp->responsible, POPUP_STATE_RINGING);
    user = rt_tenant_ext_user(t, ext);
    if (user)
        return rt_outcome_put(o, user, POPUP_STATE_RINGING);
    for (size_t i = 0; i < t->n_employees; i++) {
        if (rt_outcome_put(o, t->employees[i], POPUP_STATE_RINGING) < 0)
            return -1;
    }
    return 0;
}

static int rt_decide_popups(const struct rt_facts *f, const struct rt_tenant *t,
                            const struct rt_party *cp, struct rt_outcome *o)
{
    /* Found in UIS's calls report after it ended (issue 17): popups it showed while it rang
     * close, none is raised, whatever order the reconciler's events come in. The quiet period
     * closes for good too: a notification after it (a late recording) completes the contact
     * but shows nobody a popup for a call that went silent. */
    if (rt_facts_ended_us(f) || f->late || f->quiet_us) {
        o->others = POPUP_STATE_CLOSED;
        return 0;
    }
    if (f->answered_us) {
        o->others = POPUP_STATE_CLOSED;
        return rt_outcome_put(o, o->answered_by, POPUP_STATE_IN_CALL);
    }
    o->others = POPUP_STATE_NONE;
    if (!f->ringing_us || f->out) /* an outgoing call rings the client, not the CRM */
        return 0;
    if (f->ring_noext && rt_leg_targets(t, cp, "", o) < 0)
        return -1;
    for (size_t i = 0; i < f->n_exts; i++) {
        if (rt_leg_targets(t, cp, f->exts[i], o) < 0)
            return -1;
    }
    return 0;
}

/* Responsible of a counterparty created for an unknown number: the extension user (of the
 * answer, else of the first mapped ringing leg in extension order), else the first employee. */
static int64_t rt_create_responsible(const struct rt_facts *f, const struct rt_tenant *t,
                                     int64_t answered_by)
{
    if (answered_by)
        return answered_by;
    for (size_t i = 0; i < f->n_exts; i++) {
        int64_t user = rt_tenant_ext_user(t, f->exts[i]);

        if (user)
            return user;
    }
    return rt_tenant_first_employee(t);
}

static void rt_decide_counterparty(const struct rt_facts *f, const struct rt_tenant *t,
                                   const struct rt_party *cp, struct rt_outcome *o)
{
    /* Guide §2.2.5: the fixed counterparty acts only with contacts on and an id set. */
    int fixed = t->settings.unknown_to_fixed_counterparty &&
                t->settings.fixed_counterparty_id > 0 && t->settings.create_contact_on_call;

    memset(&o->cp, 0, sizeof(o->cp));
    if (f->caller[0] && cp->found) {
        o->cp.mode = RT_CP_EXISTING;
        o->cp.id = cp->id;
    } else if (fixed) {
        o->cp.mode = RT_CP_FIXED;
        o->cp.id = t->settings.fixed_counterparty_id;
    } else if (f->caller[0]) {
        o->cp.mode = RT_CP_CREATE;
        o->cp.responsible = rt_create_responsible(f, t, o->answered_by);
    } else {
        o->cp.mode = RT_CP_NONE; /* hidden number: never matched, never created */
    }
}

int rt_decide(const struct rt_facts *f, const struct rt_tenant *t, const struct rt_party *cp,
              struct rt_outcome *o)
{
    static const struct rt_party nobody = {0};
    int existing;

    memset(o, 0, sizeof(*o));
    if (rt_facts_empty(f))
        return 0;
    if (!f->caller[0] || !cp)
        cp = &nobody;
    o->state = rt_facts_state(f);
    /* The recording's extension is who talked: it stands in for a late ANSWERED, so that the
     * contact and the deal history name the same user whatever arrives first. */
    o->answered_by = rt_tenant_ext_user(t, f->answered_ext);
    if (!o->answered_by)
        o->answered_by = rt_tenant_ext_user(t, f->hangup_ext);
    if (f->out)
        o->answered_by = rt_outgoing_caller(f, t);
    rt_decide_counterparty(f, t, cp, o);
    existing = o->cp.mode == RT_CP_EXISTING;
    o->contact = t->settings.create_contact_on_call;
    if (t->settings.add_call_to_last_active_deal && f->hangup_us) {
        if (existing && cp->deal_id) {
            o->history = 1;
            o->deal_id = cp->deal_id;
        } else {
            o->no_open_deal = 1;
        }
    }
    /* A missed call is one that ended without a talk (rt_facts_state): a MISSED beside an
     * ANSWERED or a recording is a contradiction, never a task. */
    if (t->settings.create_missed_call_task && strcmp(o->state, "missed") == 0 && !f->out) {
        o->task = 1;
        o->assignee = existing && cp->responsible ? cp->responsible : rt_tenant_first_employee(t);
        o->task_cp = o->cp;
        if (!t->settings.create_contact_on_call && o->task_cp.mode != RT_CP_EXISTING)
            memset(&o->task_cp, 0, sizeof(o->task_cp)); /* RT_CP_NONE */
    }
    if (rt_decide_popups(f, t, cp, o) < 0) {
        rt_outcome_clear(o);
        return -1;
    }
    return 0;
}
