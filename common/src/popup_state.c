#include "common/popup_state.h"

#include <string.h>

static const char *const popup_state_names[] = {
    [POPUP_STATE_RINGING] = "ringing",
    [POPUP_STATE_IN_CALL] = "in_call",
    [POPUP_STATE_CLOSED] = "closed",
};

const char *popup_state_name(enum popup_state s)
{
    if (s >= POPUP_STATE_RINGING && s <= POPUP_STATE_CLOSED)
        return popup_state_names[s];
    return "none";
}

enum popup_state popup_state_parse(const char *s)
{
    if (!s)
        return POPUP_STATE_NONE;
    for (int i = POPUP_STATE_RINGING; i <= POPUP_STATE_CLOSED; i++) {
        if (strcmp(s, popup_state_names[i]) == 0)
            return (enum popup_state)i;
    }
    return POPUP_STATE_NONE;
}
