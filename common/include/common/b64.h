/* Base64 (RFC 4648 §4) and base64url without padding (§5, as JWT uses). */
#ifndef COMMON_B64_H
#define COMMON_B64_H

#include <stddef.h>

/* Bytes needed to encode len bytes, terminating NUL included. */
size_t b64_encoded_size(size_t len);

/* Encode into out (b64_encoded_size(len) bytes suffice); url selects base64url without padding.
 * Returns the string length, or -1 when outlen is too small. */
long b64_encode(const unsigned char *in, size_t len, char *out, size_t outlen, int url);

/* Decode standard or url alphabet, padding optional. Returns the byte count or -1 on bad input
 * or short buffer. */
long b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);

/* 1 when the n bytes at s are all of the base64url alphabet [A-Za-z0-9_-] (s need not end at n),
 * else 0. Key ids use the same alphabet. */
int b64url_alphabet(const char *s, size_t n);

/* 1 when s (n bytes) is canonical unpadded base64url: only [A-Za-z0-9_-], no length that
 * cannot encode whole bytes, and the bits of the last character that carry no byte zero
 * (RFC 4648 §3.5), so that one byte string has exactly one spelling. Else 0. */
int b64url_canonical(const char *s, size_t n);

#endif
