/* The merged facts of one call (router_calls.facts): what every event seen so far said, plus
 * which popup state each user has been sent. Merging is a join of a semilattice — commutative,
 * associative and idempotent — so the facts depend on the set of events, never on their order
 * or repetition: times keep the earliest value, sets are unions, the popup states only move
 * forward, and the call's constant attributes (direction, numbers) come from its earliest event
 * (ties broken by event id). */
#ifndef ROUTER_FACTS_H
#define ROUTER_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/popup_state.h"

#include "event.h"
#include "tenant.h"

/* A user's popup for the call only moves forward along this order. */
/* What the call's first decision saw, pinned so that later events of the same call are decided
 * against the same world (docs/decisions.md "One call, one truth"): the tenant's settings and
 * employees, the counterparty found for the caller (a counterparty this very call creates, or
 * one added by a person meanwhile, never changes the call's decisions), and each extension's
 * user as it stood when the extension first appeared in the call. Merging keeps dst's pin. */
struct rt_pin {
    int set;
    struct rt_settings settings;
    size_t n_employees;
    int64_t *employees; /* owned, in order */
    int cp_found;
    int64_t cp_id;
    int64_t cp_responsible;
    int64_t cp_deal_id;
    char *cp_name;    /* owned, NULL when not found */
    char *deal_title; /* owned, NULL when no deal */
    size_t n_ext_users;
    struct rt_ext *ext_users; /* owned, sorted by ext; user 0: unmapped when first seen */
};

struct rt_sent {
    int64_t user_id;
    enum popup_state state;
};

struct rt_facts {
    /* Constant attributes, from the earliest event (first_us, first_eid); first_us 0: none. */
    int64_t first_us;
    char first_eid[RT_EVENT_ID_LEN];
    int out;
    char caller[PHONE_E164_LEN];
    char caller_raw[RT_RAW_LEN];
    char virt[PHONE_E164_LEN];
    char virt_raw[RT_RAW_LEN];
    /* Ringing legs: the extensions rung, and whether a leg came without one. */
    int64_t ringing_us; /* earliest RINGING; 0: none */
    int ring_noext;
    int late; /* an event came from the calls report: the call is over, no popup is raised */
    size_t n_exts;
    char (*exts)[RT_EXT_LEN]; /* sorted, unique */
    /* The answer: earliest ANSWERED and its extension ("" when it had none). */
    int64_t answered_us;
    char answered_ext[RT_EXT_LEN];
    int64_t hangup_us;           /* earliest HANGUP (recorded call) */
    char hangup_ext[RT_EXT_LEN]; /* its extension: who talked, when the ANSWERED is late */
    int64_t missed_us;           /* earliest MISSED */
    int64_t finished_us;         /* earliest FINISHED (call finished / calls report) */
    int64_t quiet_us; /* the tenant's quiet period after the last notification elapsed: popups
                       * closed for good, the contact left as it is; 0: not (yet) */
    /* Durations in seconds, the largest reported; -1: unknown. */
    int64_t talk_s, total_s, wait_s;
    size_t n_urls;
    char **urls; /* sorted, unique */
    size_t n_sent;
    struct rt_sent *sent; /* sorted by user id */
    struct rt_pin pin;
};

/* Every pointer in facts is owned by it. */
void rt_facts_init(struct rt_facts *f);
void rt_facts_clear(struct rt_facts *f);
int rt_facts_copy(struct rt_facts *dst, const struct rt_facts *src); /* dst uninitialised */

/* dst := dst ⊔ src. Returns 0 or -1 (out of memory; dst is then still a valid value). */
int rt_facts_merge(struct rt_facts *dst, const struct rt_facts *src);

/* dst := dst ⊔ facts(ev). */
int rt_facts_add_event(struct rt_facts *dst, const struct rt_event *ev);

/* The popup state user has been sent (POPUP_STATE_NONE when none). */
enum popup_state rt_facts_sent(const struct rt_facts *f, int64_t user_id);

/* Record that user was sent state (kept only when it moves forward). Returns 0 or -1. */
int rt_facts_set_sent(struct rt_facts *f, int64_t user_id, enum popup_state state);

/* Pin the call's first decision: t's settings and employees and the counterparty cp (NULL or
 * not found: none). No-op when already set. Returns 0 or -1 (out of memory). */
int rt_pin_settle(struct rt_pin *p, const struct rt_tenant *t, const struct rt_party *cp);

/* Pin ext's user (0: unmapped) unless ext is pinned already; "" is ignored. Returns 0 or -1. */
int rt_pin_ext(struct rt_pin *p, const char *ext, int64_t user_id);

/* 1 when ext has been pinned. */
int rt_pin_has_ext(const struct rt_pin *p, const char *ext);

/* The tenant and counterparty the rules see for a pinned call: t with p's settings, employees and
 * extension users (users' names stay t's), and p's counterparty. tv and cv borrow from p and t.
 * An unset pin gives t unchanged and no counterparty. */
void rt_pin_view(const struct rt_pin *p, const struct rt_tenant *t, struct rt_tenant *tv,
                 struct rt_party *cv);

void rt_pin_clear(struct rt_pin *p);

/* 1 when no event has been merged. */
int rt_facts_empty(const struct rt_facts *f);

/* The contact state the facts reach: "ringing", "answered", "completed" or "missed". A call
 * that ended (HANGUP, MISSED or FINISHED) is "completed" when it was talked (an ANSWERED, a
 * recording, or a talk duration above zero), else "missed" — whatever arrived first. */
const char *rt_facts_state(const struct rt_facts *f);

/* 1 when the call was talked: an ANSWERED, a HANGUP (recorded conversation), a recording link
 * or a talk duration above zero. */
int rt_facts_talked(const struct rt_facts *f);

/* 1 when the facts contradict each other: a MISSED for a call that was talked. */
int rt_facts_contradiction(const struct rt_facts *f);

/* The earliest terminal time (HANGUP, MISSED or FINISHED), 0 when none. */
int64_t rt_facts_ended_us(const struct rt_facts *f);

/* JSON form for the jsonb column. to_json returns a new reference or NULL; from_json fills an
 * initialised f (replacing its content) and returns 0, or -1 with the reason in err. */
json_t *rt_facts_to_json(const struct rt_facts *f);
int rt_facts_from_json(json_t *j, struct rt_facts *f, char *err, size_t errlen);

#endif
