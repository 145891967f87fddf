/* The rules of SPEC §4 (guide §2.2) as one pure function: (call facts, tenant settings,
 * counterparty lookup) -> the desired outcome of the call. Nothing here knows about order or
 * repetition: the outcome is a function of the merged facts only. */
#ifndef ROUTER_RULES_H
#define ROUTER_RULES_H

#include <stdint.h>

#include "facts.h"
#include "tenant.h"

enum rt_cp_mode { RT_CP_NONE, RT_CP_EXISTING, RT_CP_FIXED, RT_CP_CREATE };

/* The counterparty spec of crm.call-actions.v1. */
struct rt_cp_spec {
    enum rt_cp_mode mode;
    int64_t id;          /* existing, fixed */
    int64_t responsible; /* create: 0 for null */
};

struct rt_outcome {
    /* Desired popup state of the users the rules name, sorted by user id (owned). */
    size_t n_popups;
    struct rt_sent *popups;
    /* Every other user who was sent a popup: POPUP_STATE_NONE leaves it as it is,
     * POPUP_STATE_CLOSED closes it. */
    enum popup_state others;
    int contact;         /* a contact document is wanted */
    const char *state;   /* contact state: "ringing" ... (static) */
    int64_t answered_by; /* extension user of the answer, 0: none */
    struct rt_cp_spec cp;
    int history; /* a deal-history entry in deal_id is wanted */
    int64_t deal_id;
    int no_open_deal; /* the history entry is wanted but the counterparty has no open deal */
    int task;         /* a missed-call task for assignee (0: nobody) is wanted */
    int64_t assignee;
    /* The task's counterparty: the contact's, except that without contacts nothing is created
     * or fixed for it (guide §2.2.5 ties a new counterparty to the Contact document). */
    struct rt_cp_spec task_cp;
};

/* Decide. cp may describe no counterparty (found 0); it is ignored for a hidden number.
 * out is overwritten; release it with rt_outcome_clear. Returns 0 or -1 (out of memory). */
int rt_decide(const struct rt_facts *f, const struct rt_tenant *t, const struct rt_party *cp,
              struct rt_outcome *out);

void rt_outcome_clear(struct rt_outcome *o);

/* The desired state of user (listed or others), given what was sent. */
enum popup_state rt_outcome_popup(const struct rt_outcome *o, int64_t user_id,
                                  enum popup_state sent);

#endif
