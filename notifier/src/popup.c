#include "popup.h"

#include "common/jstr.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int popup_fail(struct popup_msg *m, char *err, size_t errlen, const char *reason)
{
    popup_msg_clear(m);
    snprintf(err, errlen, "%s", reason);
    return -1;
}

static int popup_word(const json_t *v, const char *const *words, int nwords)
{
    if (!json_is_string(v))
        return -1;
    for (int i = 0; i < nwords; i++) {
        if (strcmp(json_string_value(v), words[i]) == 0)
            return i;
    }
    return -1;
}

int popup_parse(const char *buf, size_t len, struct popup_msg *out, char *err, size_t errlen)
{
    static const char *const actions[] = {"show", "update", "close"};
    json_error_t jerr;
    json_t *root;
    const json_t *uid;
    enum popup_state s;
    int a;

    memset(out, 0, sizeof(*out));
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return popup_fail(out, err, errlen, "popup message is not a JSON object");
    }
    if (jstr_copy(json_object_get(root, "popup_id"), out->popup_id, sizeof(out->popup_id)) < 0) {
        json_decref(root);
        return popup_fail(out, err, errlen, "popup_id is missing or not a non-empty string");
    }
    if (jstr_copy(json_object_get(root, "tenant"), out->tenant, sizeof(out->tenant)) < 0) {
        json_decref(root);
        return popup_fail(out, err, errlen, "tenant is missing or not a non-empty string");
    }
    uid = json_object_get(root, "user_id");
    if (!json_is_integer(uid) || json_integer_value(uid) < 0) {
        json_decref(root);
        return popup_fail(out, err, errlen, "user_id is missing or not a non-negative integer");
    }
    snprintf(out->user, sizeof(out->user), "%" JSON_INTEGER_FORMAT, json_integer_value(uid));
    a = popup_word(json_object_get(root, "action"), actions, 3);
    s = popup_state_parse(json_string_value(json_object_get(root, "state")));
    if (a < 0 || s == POPUP_STATE_NONE) {
        json_decref(root);
        return popup_fail(out, err, errlen,
                          a < 0 ? "action is not show, update or close"
                                : "state is not ringing, in_call or closed");
    }
    out->action = (enum popup_action)a;
    out->state = s;
    if ((out->action == POPUP_CLOSE) != (out->state == POPUP_STATE_CLOSED)) {
        json_decref(root);
        return popup_fail(out, err, errlen,
                          "action and state disagree (close goes with closed, only close)");
    }
    /* Compact form: no raw line breaks, so the payload is a single SSE data line. */
    out->json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!out->json)
        return popup_fail(out, err, errlen, "out of memory");
    return 0;
}

void popup_msg_clear(struct popup_msg *m)
{
    free(m->json);
    memset(m, 0, sizeof(*m));
}

unsigned popup_seen_bit(enum popup_action action, enum popup_state state)
{
    return 1u << ((unsigned)action * 3u + (unsigned)(state - 1));
}

enum popup_verdict popup_judge(unsigned seen, enum popup_state cur, enum popup_action action,
                               enum popup_state state)
{
    if (seen & popup_seen_bit(action, state))
        return POPUP_DUPLICATE;
    if (seen && state < cur)
        return POPUP_STALE;
    return POPUP_ACCEPT;
}
