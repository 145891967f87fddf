/* One event's effect: merge it into the call's facts, decide before and after, and turn the
 * difference into messages for crm.call-actions.v1 and crm.popups.v1 (docs/architecture.md).
 * Popups are diffed against what the facts record as sent, so a user's popup only moves
 * forward; actions are diffed against the outcome before the event, so a duplicate or an event
 * that adds nothing produces nothing. Message ids are deterministic (action_id, and
 * "{popup_id}:{state}" for popups): a replay after a crash yields the same ids. */
#ifndef ROUTER_DIFF_H
#define ROUTER_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "facts.h"
#include "rules.h"
#include "tenant.h"

enum rt_topic { RT_TOPIC_ACTIONS, RT_TOPIC_POPUPS };

struct rt_msg {
    enum rt_topic topic;
    char *key;   /* owned */
    char *id;    /* owned: the CloudEvents id */
    char *value; /* owned: compact JSON */
    char ce_type[48];
};

struct rt_msgs {
    size_t n, cap;
    struct rt_msg *v; /* owned */
};

void rt_msgs_clear(struct rt_msgs *m);

struct rt_step_result {
    int no_open_deal;  /* this event made a history entry wanted for a counterparty without one */
    int contradiction; /* this event made the facts contradictory (a MISSED and a talk) */
};

/* Apply ev to facts (updated in place, sent popups included) and append the messages to out.
 * in_key is the input message's key (the actions' key). Returns 0, or -1 with the reason in
 * err (out of memory); facts and out are then unspecified and the batch must be retried. */
int rt_step(struct rt_facts *facts, const struct rt_event *ev, const char *in_key,
            const struct rt_tenant *t, const struct rt_party *cp, struct rt_msgs *out,
            struct rt_step_result *res, char *err, size_t errlen);

/* The tenant's quiet period after the call's last notification elapsed at now_us: mark the facts
 * quiet and close every popup still open (messages appended to out; their ids are the popups'
 * "{popup_id}:closed", so a replay repeats them exactly). The contact is left as it is. Returns 0,
 * or -1 with the reason in err (out of memory). */
int rt_quiet_step(struct rt_facts *facts, const char *tenant, const char *call_id,
                  const struct rt_tenant *t, int64_t now_us, struct rt_msgs *out, char *err,
                  size_t errlen);

/* 1 when some user's popup of the call is still ringing or in call. */
int rt_facts_popup_open(const struct rt_facts *f);

#endif
