/* Which popup tokens still open a stream: per user, the lowest token generation accepted and
 * whether the user may stream at all, as crmctl publishes them on the compacted popup-users
 * topic (user disable, user revoke-tokens). A user the topic never named accepts every
 * generation. Not thread-safe: the hub uses it under its lock. */
#ifndef NOTIFIER_REVOKE_H
#define NOTIFIER_REVOKE_H

#include <stddef.h>

#include "popup.h"

struct revoke;

/* One record of the topic, parsed. */
struct revoke_update {
    char tenant[POPUP_TENANT_MAX];
    char user[POPUP_USER_MAX]; /* canonical decimal user id */
    long generation;           /* tokens of a lower generation are refused */
    int active;                /* 0: every token of the user is refused */
};

/* Parse a record: key "{tenant}/{user_id}", value {"tenant", "user_id", "token_generation",
 * "active"} agreeing with the key. A null value (tombstone) is refused too: forgetting a
 * revocation must never make a revoked token work again. Returns 0 or -1 with the reason in
 * err. */
int revoke_parse(const char *key, size_t keylen, const char *value, size_t len,
                 struct revoke_update *out, char *err, size_t errlen);

/* Owned by the caller (revoke_free). NULL when out of memory. */
struct revoke *revoke_new(void);
void revoke_free(struct revoke *r);

/* Remember u for its user (routing key as auth_user_key makes it). A lower generation than
 * the one remembered is ignored (records of one key arrive in order; this guards replays).
 * Returns 0 or -1 when out of memory. */
int revoke_set(struct revoke *r, const char *user_key, long generation, int active);

/* 1 when a token of generation gen (0: the token has none, read as 1, the first generation)
 * may open a stream for user_key, else 0. */
int revoke_allows(const struct revoke *r, const char *user_key, long gen);

size_t revoke_size(const struct revoke *r);

#endif
