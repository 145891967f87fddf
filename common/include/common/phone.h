/* Phone numbers (SPEC §6): E.164 normalisation for matching, masking for logs, display form.
 *
 * Every function writes into a caller-owned buffer and allocates nothing. On any failure the
 * output buffer (when outlen > 0) holds an empty string, so a caller that ignores the return
 * code never prints half a number. */
#ifndef COMMON_PHONE_H
#define COMMON_PHONE_H

#include <stddef.h>

/* Buffer sizes, terminating NUL included. */
#define PHONE_E164_LEN    17 /* '+' and up to 15 digits */
#define PHONE_MASK_LEN    13 /* "+7916***4567" */
#define PHONE_DISPLAY_LEN 20 /* "+7 (916) 123-45-67" */

enum phone_rc {
    PHONE_OK = 0,
    /* Not an error: the number is hidden ("", blanks, "anonymous", "unknown", "null",
     * "hidden", "private", "restricted"; any case). The caller stores null. */
    PHONE_EMPTY = 1,
    /* Not an error either: 5..9 digits without '+' are an internal extension or a service
     * number, not E.164. The caller keeps the raw form and never matches or creates a
     * counterparty for it (out is ""). */
    PHONE_INTERNAL = 2,
    PHONE_EINVAL = -1,   /* a character other than digits, separators and one leading '+' */
    PHONE_ESHORT = -2,   /* fewer than 5 digits */
    PHONE_ELONG = -3,    /* more than 15 digits */
    PHONE_ERUSSIAN = -4, /* country code 7 without exactly 10 national digits */
    PHONE_ENOSPC = -5,   /* the output buffer is too small */
};

/* Normalise raw into E.164 ("+79161234567") in out (PHONE_E164_LEN bytes suffice).
 * Russian forms 7XXXXXXXXXX, +7 (XXX) XXX-XX-XX and a bare 10-digit XXXXXXXXXX become
 * +7XXXXXXXXXX; 8XXXXXXXXXX too, but only where the rest is a number of the +7 plan (it starts
 * with 3..9): "8" then 0, 1 or 2 is an international number written without '+' (+81 Japan,
 * +82 Korea, ...), kept as "+8...". "00" and "810" international prefixes become '+'; any other
 * 10..15 digits are an international number with its country code. 5..9 digits without '+' are
 * PHONE_INTERNAL. Separators: space, tab, - ( ) .
 * Returns PHONE_OK, PHONE_EMPTY, PHONE_INTERNAL or a negative enum phone_rc. */
int phone_normalize(const char *raw, char *out, size_t outlen);

/* Mask for logs: of an E.164 number only the country code and the last 4 digits (2 when fewer
 * than 8 digits follow the code), of anything else only the last 2 characters, with "***" in
 * between ("+79161234567" → "+7***4567", "+442079460958" → "+44***0958", "12345" → "***45").
 * Works on any string, raw forms included; bytes that are not printable ASCII become '?'. NULL
 * gives "".
 * Returns PHONE_OK or PHONE_ENOSPC (PHONE_MASK_LEN bytes always suffice). */
int phone_mask(const char *number, char *out, size_t outlen);

/* Display form for popups: "+7 (916) 123-45-67" for a +7 number of 11 digits, else e164
 * unchanged. Returns PHONE_OK, PHONE_EINVAL (NULL) or PHONE_ENOSPC (PHONE_DISPLAY_LEN bytes
 * suffice for any output of phone_normalize). */
int phone_format(const char *e164, char *out, size_t outlen);

/* 1 when s is E.164 as every topic carries it: '+', a non-zero digit, 5..15 digits in all. The
 * one check of the contract, for every service. */
int phone_e164_valid(const char *s);

/* Longest UIS extension accepted (UIS's own are up to 5 characters). */
#define PHONE_EXT_MAX 16

/* 1 when s is a UIS extension: 1..PHONE_EXT_MAX of 0-9 a-z A-Z * # + _ -. The one character set
 * of crmctl's extension map, ingest's user_extension and the router's events. */
int phone_ext_valid(const char *s);

/* A lowercase phrase for a return code, for messages such as "from_number <phrase>". Static. */
const char *phone_strerror(int rc);

#endif
