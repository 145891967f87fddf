/* The states of a popup card on the crm.popups.v1 contract (proto/popup.schema.json): the
 * router decides them, the notifier orders and replays by them. One list, so the two services
 * cannot drift apart. */
#ifndef COMMON_POPUP_STATE_H
#define COMMON_POPUP_STATE_H

/* In the order a card moves through them: a later state never goes back to an earlier one. */
enum popup_state {
    POPUP_STATE_NONE = 0, /* nothing sent (never on the wire) */
    POPUP_STATE_RINGING = 1,
    POPUP_STATE_IN_CALL = 2,
    POPUP_STATE_CLOSED = 3,
};

/* The wire name ("ringing", "in_call", "closed"); "none" for POPUP_STATE_NONE and anything
 * out of range. Static storage. */
const char *popup_state_name(enum popup_state s);

/* The state named by s (a wire name), or POPUP_STATE_NONE when s is NULL or no state's name. */
enum popup_state popup_state_parse(const char *s);

#endif
