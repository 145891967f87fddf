/* One crm.popups.v1 message (docs/architecture.md, "the notifier's contract"): validated, with
 * the routing key (tenant, user) and the forward-only state rules a popup follows. */
#ifndef NOTIFIER_POPUP_H
#define NOTIFIER_POPUP_H

#include <stddef.h>

#include "common/popup_state.h"

#define POPUP_ID_MAX     256
#define POPUP_TENANT_MAX 128
#define POPUP_USER_MAX   24

enum popup_action { POPUP_SHOW, POPUP_UPDATE, POPUP_CLOSE };

struct popup_msg {
    char popup_id[POPUP_ID_MAX];
    char tenant[POPUP_TENANT_MAX];
    char user[POPUP_USER_MAX]; /* user_id as its decimal string: the JWT sub it must match */
    enum popup_action action;
    enum popup_state state;
    char *json; /* the message re-serialised compactly (one line); owned, popup_msg_clear */
};

/* Parse and validate one message value. Required: popup_id, tenant (strings), user_id (a
 * non-negative integer), action and state (known words, consistent: show → ringing|in_call,
 * close → closed). Other fields pass through untouched. Returns 0, or -1 with the reason in
 * err (out is then empty). */
int popup_parse(const char *buf, size_t len, struct popup_msg *out, char *err, size_t errlen);

void popup_msg_clear(struct popup_msg *m);

/* What the per-popup memory says about a message: seen is the bit set of (action, state)
 * pairs already accepted for this popup (0 when the popup is new), cur its state rank. */
enum popup_verdict {
    POPUP_ACCEPT,    /* new, or a step forward (or a new action at the same state) */
    POPUP_DUPLICATE, /* the same popup_id + action + state again (a router replay) */
    POPUP_STALE,     /* a step backwards: never shown, a popup only moves forward */
};
enum popup_verdict popup_judge(unsigned seen, enum popup_state cur, enum popup_action action,
                               enum popup_state state);

/* The bit popup_judge tests for (action, state). */
unsigned popup_seen_bit(enum popup_action action, enum popup_state state);

#endif
