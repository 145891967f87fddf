/* A ring of named secrets from one environment variable, "kid:base64secret[,kid:base64...]",
 * so that keys can rotate: the first key signs, every key verifies what names its kid. Popup
 * tokens (jwt.h) and webhook tokens (webhook_token.h) each parse theirs with their own rules. */
#ifndef COMMON_KEYRING_H
#define COMMON_KEYRING_H

#include <stddef.h>

#define KEYRING_MAX_KEYS   8
#define KEYRING_KID_MAX    32
#define KEYRING_SECRET_MAX 128

struct keyring_key {
    char kid[KEYRING_KID_MAX + 1]; /* "" for the one key given without a kid */
    unsigned char secret[KEYRING_SECRET_MAX];
    size_t len;
};

/* Plain data: nothing to free (keyring_clear wipes the secrets). */
struct keyring {
    size_t n;
    struct keyring_key keys[KEYRING_MAX_KEYS];
};

/* What a user of keyring_parse accepts. Kids are 1..kid_max of [A-Za-z0-9_-]. */
struct keyring_rules {
    size_t kid_max;    /* <= KEYRING_KID_MAX */
    size_t secret_max; /* bytes, 16 <= secret_max <= KEYRING_SECRET_MAX */
    int kid_optional;  /* one key may come without "kid:" (its kid is "") */
};

/* Parse spec into kr under rules: at least one key, no kid twice, secrets of 16 to secret_max
 * bytes. Returns 0, or -1 with kr wiped and the reason in err (which never quotes a secret). */
int keyring_parse(const char *spec, const struct keyring_rules *rules, struct keyring *kr,
                  char *err, size_t errlen);

/* The key named by the n bytes at kid, or NULL. */
const struct keyring_key *keyring_find(const struct keyring *kr, const char *kid, size_t n);

/* 1 when the n bytes at kid are a well-formed key id of at most kid_max characters. */
int keyring_kid_valid(const char *kid, size_t n, size_t kid_max);

/* Wipe the secrets (the compiler may not drop it). */
void keyring_clear(struct keyring *kr);

#endif
