#include "diff.h"

#include "common/ids.h"
#include "common/phone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_msgs_clear(struct rt_msgs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].id);
        free(m->v[i].value);
    }
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* Append a message; value is stolen (decref'd in every case). */
static int rt_msgs_add(struct rt_msgs *m, enum rt_topic topic, const char *key, const char *id,
                       const char *ce_type, json_t *value)
{
    struct rt_msg *msg;
    char *text;

    if (!value)
        return -1;
    text = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    if (!text)
        return -1;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct rt_msg *grown = realloc(m->v, cap * sizeof(*grown));

        if (!grown) {
            free(text);
            return -1;
        }
        m->v = grown;
        m->cap = cap;
    }
    msg = &m->v[m->n];
    memset(msg, 0, sizeof(*msg));
    msg->topic = topic;
    msg->value = text;
    msg->key = strdup(key);
    msg->id = strdup(id);
    snprintf(msg->ce_type, sizeof(msg->ce_type), "%s", ce_type);
    m->n++;
    if (!msg->key || !msg->id)
        return -1; /* rt_msgs_clear frees the partial message */
    return 0;
}

static json_t *rt_time_json(int64_t us)
{
    char buf[IDS_TIME_LEN];

    if (!us)
        return json_null();
    ids_rfc3339(us, buf);
    return json_string(buf);
}

static json_t *rt_opt_id(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

static json_t *rt_opt_str(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static json_t *rt_urls_json(const struct rt_facts *f)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < f->n_urls; i++) {
        if (json_array_append_new(a, json_string(f->urls[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *rt_cp_spec_json(const struct rt_cp_spec *cp, const struct rt_facts *f)
{
    char formatted[PHONE_DISPLAY_LEN];

    switch (cp->mode) {
    case RT_CP_EXISTING:
        return json_pack("{s:s, s:I}", "mode", "existing", "id", (json_int_t)cp->id);
    case RT_CP_FIXED:
        return json_pack("{s:s, s:I}", "mode", "fixed", "id", (json_int_t)cp->id);
    case RT_CP_CREATE:
        if (phone_format(f->caller, formatted, sizeof(formatted)) != PHONE_OK)
            snprintf(formatted, sizeof(formatted), "%s", f->caller);
        return json_pack("{s:s, s:s, s:s, s:s, s:o}", "mode", "create", "phone", f->caller,
                         "phone_raw", f->caller_raw, "name", formatted, "responsible_user_id",
                         rt_opt_id(cp->responsible));
    case RT_CP_NONE:
        break;
    }
    return json_pack("{s:s}", "mode", "none");
}

/* The bodies (without envelope) of the actions an outcome wants; NULL members when none. */
struct rt_bodies {
    json_t *contact, *history, *task;
};

static void rt_bodies_clear(struct rt_bodies *b)
{
    json_decref(b->contact);
    json_decref(b->history);
    json_decref(b->task);
    memset(b, 0, sizeof(*b));
}

static int rt_bodies_build(const struct rt_facts *f, const struct rt_outcome *o,
                           struct rt_bodies *b)
{
    const char *dir = f->out ? "out" : "in";

    memset(b, 0, sizeof(*b));
    if (o->contact) {
        b->contact = json_pack(
            "{s:s, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "direction", dir, "caller",
            rt_opt_str(f->caller), "caller_raw", f->caller_raw, "virtual_number",
            rt_opt_str(f->virt), "state", o->state, "answered_by", rt_opt_id(o->answered_by),
            "ringing_at", rt_time_json(f->ringing_us), "answered_at", rt_time_json(f->answered_us),
            "ended_at", rt_time_json(rt_facts_ended_us(f)), "record_urls", rt_urls_json(f),
            "counterparty", rt_cp_spec_json(&o->cp, f));
        /* Durations only once known, so that a contact without them stays as it was. */
        if (b->contact && f->talk_s >= 0 &&
            json_object_set_new(b->contact, "talk_duration_s", json_integer(f->talk_s)) < 0)
            goto fail;
        if (b->contact && f->total_s >= 0 &&
            json_object_set_new(b->contact, "total_duration_s", json_integer(f->total_s)) < 0)
            goto fail;
        if (b->contact && f->wait_s >= 0 &&
            json_object_set_new(b->contact, "wait_duration_s", json_integer(f->wait_s)) < 0)
            goto fail;
        if (!b->contact)
            goto fail;
    }
    if (o->history) {
        /* The talk duration comes only from a FINISHED event (or the calls report): the
         * recording event's arrival time is not the end of the talk. */
        b->history = json_pack(
            "{s:I, s:s, s:o, s:o, s:o, s:o}", "deal_id", (json_int_t)o->deal_id, "direction", dir,
            "phone", rt_opt_str(f->caller), "user_id", rt_opt_id(o->answered_by), "duration_s",
            f->talk_s >= 0 ? json_integer(f->talk_s) : json_null(), "record_urls", rt_urls_json(f));
        if (!b->history)
            goto fail;
    }
    if (o->task) {
        b->task = json_pack("{s:s, s:o, s:o, s:o}", "title", "Пропущенный звонок", "phone",
                            rt_opt_str(f->caller), "counterparty", rt_cp_spec_json(&o->task_cp, f),
                            "assignee_user_id", rt_opt_id(o->assignee));
        if (!b->task)
            goto fail;
    }
    return 0;
fail:
    rt_bodies_clear(b);
    return -1;
}

/* Emit body as an action of type when it differs from the one before. */
static int rt_emit_action(struct rt_msgs *out, const char *type, json_t *before, json_t *after,
                          const struct rt_event *ev, const char *in_key)
{
    char action_id[256], ce_type[48];
    json_t *msg;
    int rc;

    if (!after && before && strcmp(type, "task.missed_call") == 0) {
        /* The task was wanted and no longer is (a late ANSWERED or recording showed the call
         * was talked): withdraw it, so that the final rows do not depend on arrival order. */
        after = json_deep_copy(before);
        if (!after || json_object_set_new(after, "cancel", json_true()) < 0) {
            json_decref(after);
            return -1;
        }
        rc = rt_emit_action(out, type, NULL, after, ev, in_key);
        json_decref(after);
        return rc;
    }
    if (!after || (before && json_equal(before, after)))
        return 0;
    snprintf(action_id, sizeof(action_id), "%s:%s:%s:%s", ev->tenant, ev->call_id, type,
             ev->event_id);
    snprintf(ce_type, sizeof(ce_type), "ru.crm.action.%s", type);
    msg = json_deep_copy(after);
    if (!msg ||
        json_object_update_missing_new(
            msg, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "type", type, "action_id", action_id,
                           "tenant", ev->tenant, "call_id", ev->call_id, "event_id", ev->event_id,
                           "occurred_at", rt_time_json(ev->received_us))) < 0) {
        json_decref(msg);
        return -1;
    }
    return rt_msgs_add(out, RT_TOPIC_ACTIONS, in_key, action_id, ce_type, msg);
}

static json_t *rt_number_json(const char *e164)
{
    char formatted[PHONE_DISPLAY_LEN];

    if (!e164[0])
        return json_null();
    if (phone_format(e164, formatted, sizeof(formatted)) != PHONE_OK)
        snprintf(formatted, sizeof(formatted), "%s", e164);
    return json_pack("{s:s, s:s}", "number", e164, "formatted", formatted);
}

static json_t *rt_user_json(const struct rt_tenant *t, int64_t id)
{
    const struct rt_user *u = id ? rt_tenant_user(t, id) : NULL;

    if (!id)
        return json_null();
    return json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", u && u->name ? u->name : "");
}

static int rt_emit_popup(struct rt_msgs *out, const struct rt_facts *f, const struct rt_event *ev,
                         const struct rt_tenant *t, const struct rt_party *cp,
                         const struct rt_outcome *o, int64_t user, enum popup_state from,
                         enum popup_state to)
{
    const char *action = from == POPUP_STATE_NONE   ? "show"
                         : to == POPUP_STATE_CLOSED ? "close"
                                                    : "update";
    char popup_id[160], msg_id[176], key[160], ce_type[48];
    json_t *msg;
    int known = f->caller[0] && cp->found;

    snprintf(popup_id, sizeof(popup_id), "%s:%s:%lld", ev->tenant, ev->call_id, (long long)user);
    snprintf(msg_id, sizeof(msg_id), "%s:%s", popup_id, popup_state_name(to));
    snprintf(key, sizeof(key), "%s:%s", ev->tenant, ev->call_id);
    snprintf(ce_type, sizeof(ce_type), "ru.crm.popup.%s", action);
    msg = json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o}",
        "popup_id", popup_id, "tenant", ev->tenant, "user_id", (json_int_t)user, "call_id",
        ev->call_id, "action", action, "state", popup_state_name(to), "event_id", ev->event_id,
        "caller", rt_number_json(f->caller), "virtual_number", rt_number_json(f->virt),
        "counterparty",
        known ? json_pack("{s:I, s:s}", "id", (json_int_t)cp->id, "name", cp->name ? cp->name : "")
              : json_null(),
        "responsible", known ? rt_user_json(t, cp->responsible) : json_null(), "deal",
        known && cp->deal_id ? json_pack("{s:I, s:s}", "id", (json_int_t)cp->deal_id, "title",
                                         cp->deal_title ? cp->deal_title : "")
                             : json_null(),
        "answered_by", rt_user_json(t, o->answered_by), "direction", f->out ? "out" : "in",
        "ringing_at", rt_time_json(f->ringing_us ? f->ringing_us : f->first_us), "answered_at",
        rt_time_json(f->answered_us), "ended_at", rt_time_json(rt_facts_ended_us(f)));
    return rt_msgs_add(out, RT_TOPIC_POPUPS, key, msg_id, ce_type, msg);
}

/* Move every user's popup towards the desired state; never backwards, and a user who never saw
 * the popup is not sent one only to close it. */
static int rt_diff_popups(struct rt_facts *f, const struct rt_event *ev, const struct rt_tenant *t,
                          const struct rt_party *cp, const struct rt_outcome *o,
                          struct rt_msgs *out)
{
    size_t n = o->n_popups + f->n_sent, k = 0;
    int64_t *users = malloc((n ? n : 1) * sizeof(*users));
    int rc = 0;

    if (!users)
        return -1;
    /* Both lists are sorted by user id: merge them into one sorted, unique list. */
    for (size_t i = 0, j = 0; i < o->n_popups || j < f->n_sent;) {
        int64_t a = i < o->n_popups ? o->popups[i].user_id : INT64_MAX;
        int64_t b = j < f->n_sent ? f->sent[j].user_id : INT64_MAX;

        users[k++] = a < b ? a : b;
        i += a <= b;
        j += b <= a;
    }
    for (size_t i = 0; rc == 0 && i < k; i++) {
        enum popup_state sent = rt_facts_sent(f, users[i]);
        enum popup_state want = rt_outcome_popup(o, users[i], sent);

        if (want <= sent || (sent == POPUP_STATE_NONE && want == POPUP_STATE_CLOSED))
            continue;
        rc = rt_emit_popup(out, f, ev, t, cp, o, users[i], sent, want);
        if (rc == 0)
            rc = rt_facts_set_sent(f, users[i], want);
    }
    free(users);
    return rc;
}

/* Pin the extensions the facts hold already (facts saved before pins existed). */
static int rt_pin_facts_exts(struct rt_facts *f, const struct rt_tenant *t)
{
    for (size_t i = 0; i < f->n_exts; i++) {
        if (rt_pin_ext(&f->pin, f->exts[i], rt_tenant_ext_user(t, f->exts[i])) < 0)
            return -1;
    }
    if (rt_pin_ext(&f->pin, f->answered_ext, rt_tenant_ext_user(t, f->answered_ext)) < 0 ||
        rt_pin_ext(&f->pin, f->hangup_ext, rt_tenant_ext_user(t, f->hangup_ext)) < 0)
        return -1;
    return 0;
}

int rt_step(struct rt_facts *facts, const struct rt_event *ev, const char *in_key,
            const struct rt_tenant *t, const struct rt_party *cp, struct rt_msgs *out,
            struct rt_step_result *res, char *err, size_t errlen)
{
    struct rt_outcome before = {0}, after = {0};
    struct rt_bodies bb = {0}, ba = {0};
    struct rt_facts prev;
    struct rt_tenant tv;
    struct rt_party cv;
    int rc = -1, contradicted;

    memset(res, 0, sizeof(*res));
    /* The first decision pins what it saw; later events see the same (struct rt_pin). */
    if (rt_pin_settle(&facts->pin, t, ev->from[0] ? cp : NULL) < 0 ||
        rt_pin_facts_exts(facts, t) < 0 ||
        rt_pin_ext(&facts->pin, ev->ext, rt_tenant_ext_user(t, ev->ext)) < 0) {
        snprintf(err, errlen, "facts: out of memory");
        return -1;
    }
    rt_pin_view(&facts->pin, t, &tv, &cv);
    if (rt_facts_copy(&prev, facts) < 0) {
        snprintf(err, errlen, "facts: out of memory");
        return -1;
    }
    contradicted = rt_facts_contradiction(facts);
    if (rt_decide(&prev, &tv, &cv, &before) == 0 && rt_facts_add_event(facts, ev) == 0 &&
        rt_decide(facts, &tv, &cv, &after) == 0 && rt_bodies_build(&prev, &before, &bb) == 0 &&
        rt_bodies_build(facts, &after, &ba) == 0) {
        /* Popups first: they are what a person is waiting for. */
        rc = 0;
        if (rt_diff_popups(facts, ev, &tv, &cv, &after, out) < 0 ||
            rt_emit_action(out, "contact.upsert", bb.contact, ba.contact, ev, in_key) < 0 ||
            rt_emit_action(out, "deal.history.add", bb.history, ba.history, ev, in_key) < 0 ||
            rt_emit_action(out, "task.missed_call", bb.task, ba.task, ev, in_key) < 0)
            rc = -1;
    }
    res->no_open_deal = after.no_open_deal && !before.no_open_deal;
    res->contradiction = !contradicted && rt_facts_contradiction(facts);
    rt_bodies_clear(&bb);
    rt_bodies_clear(&ba);
    rt_outcome_clear(&before);
    rt_outcome_clear(&after);
    rt_facts_clear(&prev);
    if (rc < 0)
        snprintf(err, errlen, "step: out of memory");
    return rc;
}

int rt_facts_popup_open(const struct rt_facts *f)
{
    for (size_t i = 0; i < f->n_sent; i++) {
        if (f->sent[i].state == POPUP_STATE_RINGING || f->sent[i].state == POPUP_STATE_IN_CALL)
            return 1;
    }
    return 0;
}

int rt_quiet_step(struct rt_facts *facts, const char *tenant, const char *call_id,
                  const struct rt_tenant *t, int64_t now_us, struct rt_msgs *out, char *err,
                  size_t errlen)
{
    struct rt_outcome after = {0};
    struct rt_event ev;
    struct rt_tenant tv;
    struct rt_party cv;
    int rc = -1;

    if (rt_facts_empty(facts) || facts->quiet_us)
        return 0;
    /* The popups' envelope names an event: the quiet period is the call's own, stable one. */
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.tenant, sizeof(ev.tenant), "%s", tenant);
    snprintf(ev.call_id, sizeof(ev.call_id), "%s", call_id);
    snprintf(ev.event_id, sizeof(ev.event_id), "quiet-period");
    ev.received_us = now_us;
    facts->quiet_us = now_us;
    rt_pin_view(&facts->pin, t, &tv, &cv);
    if (rt_decide(facts, &tv, &cv, &after) == 0 &&
        rt_diff_popups(facts, &ev, &tv, &cv, &after, out) == 0)
        rc = 0;
    rt_outcome_clear(&after);
    if (rc < 0)
        snprintf(err, errlen, "quiet period: out of memory");
    return rc;
}
