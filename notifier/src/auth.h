/* Who is asking: the popup token (common/jwt.h) from the Authorization header, the
 * popup_token cookie or the token query parameter (EventSource cannot set headers), verified
 * into the routing key (tenant, user) a stream is bound to. */
#ifndef NOTIFIER_AUTH_H
#define NOTIFIER_AUTH_H

#include <stddef.h>

#include "common/jwt.h"
#include "popup.h"

enum auth_source { AUTH_NONE, AUTH_HEADER, AUTH_COOKIE, AUTH_QUERY };

struct auth_user {
    char tenant[POPUP_TENANT_MAX];
    char user[POPUP_USER_MAX]; /* canonical decimal user id, as popup_parse writes it */
    long exp;
    long gen; /* the token's generation, 0 when it has none (revoke.h) */
};

/* Choose the token: "Authorization: Bearer <t>" first, then the cookie, then the query.
 * Sets *token (pointing into one of the inputs) and *len. An Authorization header that is
 * present but not Bearer counts as absent (another scheme is not ours to judge). */
enum auth_source auth_pick(const char *authorization, const char *cookie, const char *query,
                           const char **token, size_t *len);

/* Verify token (len bytes) under the key of keys its kid names at now. The sub claim must be a
 * decimal user id. Returns 0 and fills who, or -1 with a lowercase reason in err that is safe to
 * show the client (it never echoes the token). */
int auth_verify(const struct keyring *keys, const char *token, size_t len, long now,
                struct auth_user *who, char *err, size_t errlen);

/* The routing key "tenant\x1fuser" the hub files users under; returns its length or -1. */
int auth_user_key(const char *tenant, const char *user, char *out, size_t outlen);

#endif
