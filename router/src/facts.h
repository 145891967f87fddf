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

#include "event.h"

/* A user's popup for the call only moves forward along this order. */
enum rt_popup_state { RT_POPUP_NONE = 0, RT_POPUP_RINGING, RT_POPUP_IN_CALL, RT_POPUP_CLOSED };

struct rt_sent {
    int64_t user_id;
    enum rt_popup_state state;
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
    size_t n_exts;
    char (*exts)[RT_EXT_LEN]; /* sorted, unique */
    /* The answer: earliest ANSWERED and its extension ("" when it had none). */
    int64_t answered_us;
    char answered_ext[RT_EXT_LEN];
    int64_t hangup_us;           /* earliest HANGUP (recorded call) */
    char hangup_ext[RT_EXT_LEN]; /* its extension: who talked, when the ANSWERED is late */
    int64_t missed_us;           /* earliest MISSED */
    size_t n_urls;
    char **urls; /* sorted, unique */
    size_t n_sent;
    struct rt_sent *sent; /* sorted by user id */
};

/* Every pointer in facts is owned by it. */
void rt_facts_init(struct rt_facts *f);
void rt_facts_clear(struct rt_facts *f);
int rt_facts_copy(struct rt_facts *dst, const struct rt_facts *src); /* dst uninitialised */

/* dst := dst ⊔ src. Returns 0 or -1 (out of memory; dst is then still a valid value). */
int rt_facts_merge(struct rt_facts *dst, const struct rt_facts *src);

/* dst := dst ⊔ facts(ev). */
int rt_facts_add_event(struct rt_facts *dst, const struct rt_event *ev);

/* The popup state user has been sent (RT_POPUP_NONE when none). */
enum rt_popup_state rt_facts_sent(const struct rt_facts *f, int64_t user_id);

/* Record that user was sent state (kept only when it moves forward). Returns 0 or -1. */
int rt_facts_set_sent(struct rt_facts *f, int64_t user_id, enum rt_popup_state state);

/* 1 when no event has been merged. */
int rt_facts_empty(const struct rt_facts *f);

/* The contact state the facts reach: "ringing", "answered", "completed" or "missed". */
const char *rt_facts_state(const struct rt_facts *f);

/* The earliest terminal time (HANGUP or MISSED), 0 when none. */
int64_t rt_facts_ended_us(const struct rt_facts *f);

/* JSON form for the jsonb column. to_json returns a new reference or NULL; from_json fills an
 * initialised f (replacing its content) and returns 0, or -1 with the reason in err. */
json_t *rt_facts_to_json(const struct rt_facts *f);
int rt_facts_from_json(json_t *j, struct rt_facts *f, char *err, size_t errlen);

#endif
