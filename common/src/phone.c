#include "common/phone.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Room for an international prefix ("00", "810") in front of 15 digits, so that the length
 * check runs on the number itself rather than on what the caller typed. */
#define PHONE_DIGITS_MAX 18

static void phone_clear(char *out, size_t outlen)
{
    if (out != NULL && outlen > 0)
        out[0] = '\0';
}

static bool phone_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Words UIS and SIP trunks put where the caller id was withheld. */
static bool phone_is_hidden_word(const char *b, size_t len)
{
    static const char *const words[] = {"anonymous", "unknown",    "null", "hidden",
                                        "private",   "restricted", NULL};

    for (size_t i = 0; words[i] != NULL; i++) {
        if (strlen(words[i]) == len && strncasecmp(b, words[i], len) == 0)
            return true;
    }
    return false;
}

/* Collect the digits of [b, e), checking that everything else is a separator.
 * Returns the digit count (which may exceed PHONE_DIGITS_MAX; only that many are stored) or a
 * negative enum phone_rc. */
static int phone_collect(const char *b, const char *e, char digits[PHONE_DIGITS_MAX], bool *plus)
{
    int n = 0;
    bool in_paren = false;

    *plus = false;
    for (const char *p = b; p < e; p++) {
        char c = *p;

        if (c >= '0' && c <= '9') {
            if (n < PHONE_DIGITS_MAX)
                digits[n] = c;
            if (n <= PHONE_DIGITS_MAX)
                n++;
        } else if (c == '+') {
            if (p != b)
                return PHONE_EINVAL;
            *plus = true;
        } else if (c == '(') {
            if (in_paren)
                return PHONE_EINVAL;
            in_paren = true;
        } else if (c == ')') {
            if (!in_paren)
                return PHONE_EINVAL;
            in_paren = false;
        } else if (c != ' ' && c != '\t' && c != '-' && c != '.') {
            return PHONE_EINVAL;
        }
    }
    return in_paren ? PHONE_EINVAL : n;
}

static int phone_emit(const char *cc, const char *d, int n, char *out, size_t outlen)
{
    size_t cclen = strlen(cc);

    if (cclen + (size_t)n + 2 > outlen)
        return PHONE_ENOSPC;
    out[0] = '+';
    memcpy(out + 1, cc, cclen);
    memcpy(out + 1 + cclen, d, (size_t)n);
    out[1 + cclen + (size_t)n] = '\0';
    return PHONE_OK;
}

static int phone_build(const char *d, int n, bool plus, char *out, size_t outlen)
{
    if (!plus) {
        /* A bare 10- or 11-digit number from a Russian PBX is far more likely Russian than a
         * foreign number written without its '+'; "00" cannot start a Russian national number. */
        if (n >= 2 && d[0] == '0' && d[1] == '0') {
            d += 2;
            n -= 2;
        } else if (n == 11 && (d[0] == '7' || (d[0] == '8' && d[1] >= '3'))) {
            /* 8 is Russia's trunk prefix only before a +7 national number (3..9). */
            return phone_emit("7", d + 1, 10, out, outlen);
        } else if (n >= 5 && n <= 9) {
            return PHONE_INTERNAL;
        } else if (n == 10) {
            return phone_emit("7", d, 10, out, outlen);
        } else if (n > 11 && strncmp(d, "810", 3) == 0) {
            d += 3;
            n -= 3;
        }
    }
    if (n > 15)
        return PHONE_ELONG;
    /* Country code 7 has a closed 10-digit plan; any other length is a typo, not a number. */
    if (n > 0 && d[0] == '7' && n != 11)
        return PHONE_ERUSSIAN;
    if (n < 5)
        return PHONE_ESHORT;
    return phone_emit("", d, n, out, outlen);
}

int phone_normalize(const char *raw, char *out, size_t outlen)
{
    char digits[PHONE_DIGITS_MAX];
    const char *b = raw;
    const char *e;
    bool plus;
    int n;
    int rc;

    phone_clear(out, outlen);
    if (out == NULL || outlen == 0)
        return PHONE_ENOSPC;
    if (raw == NULL)
        return PHONE_EMPTY;
    e = raw + strlen(raw);
    while (b < e && phone_is_space(*b))
        b++;
    while (e > b && phone_is_space(e[-1]))
        e--;
    if (b == e || phone_is_hidden_word(b, (size_t)(e - b)))
        return PHONE_EMPTY;
    n = phone_collect(b, e, digits, &plus);
    if (n < 0)
        return n;
    if (n > PHONE_DIGITS_MAX)
        return PHONE_ELONG;
    rc = phone_build(digits, n, plus, out, outlen);
    if (rc != PHONE_OK)
        phone_clear(out, outlen);
    return rc;
}

static char phone_safe_char(char c)
{
    return (c >= 0x20 && c < 0x7f) ? c : '?';
}

/* Digits of the E.164 country code that digits (after the '+') start with (ITU-T E.164
 * assignments: 1 and 7 are one digit, the two-digit codes below, every other code three). */
static size_t phone_cc_len(const char *digits)
{
    static const char two[] = "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 "
                              "55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98";

    if (digits[0] == '1' || digits[0] == '7')
        return 1;
    /* Entries are "dd" and a separator; the last has none, so step within the string. */
    for (size_t i = 0; i + 2 <= sizeof(two) - 1; i += 3) {
        if (two[i] == digits[0] && two[i + 1] == digits[1])
            return 2;
    }
    return 3;
}

int phone_mask(const char *number, char *out, size_t outlen)
{
    size_t len = number != NULL ? strlen(number) : 0;
    size_t head = 0, tail = len > 2 ? 2 : 0;
    size_t o = 0;

    phone_clear(out, outlen);
    if (out == NULL || outlen < PHONE_MASK_LEN)
        return PHONE_ENOSPC;
    if (len == 0)
        return PHONE_OK;
    /* E.164: the country code and the last 4 digits (at least 4 stay hidden); anything else
     * (raw forms, national numbers, garbage) only its last 2 characters. */
    if (number[0] == '+' && len >= 9 && len <= 16 && strspn(number + 1, "0123456789") == len - 1) {
        head = 1 + phone_cc_len(number + 1);
        tail = len - head >= 8 ? 4 : 2;
    }
    for (size_t i = 0; i < head; i++)
        out[o++] = number[i];
    memcpy(out + o, "***", 3);
    o += 3;
    for (size_t i = len - tail; i < len; i++)
        out[o++] = phone_safe_char(number[i]);
    out[o] = '\0';
    return PHONE_OK;
}

int phone_format(const char *e164, char *out, size_t outlen)
{
    size_t len;
    const char *d;

    phone_clear(out, outlen);
    if (e164 == NULL)
        return PHONE_EINVAL;
    len = strlen(e164);
    if (len == 12 && strncmp(e164, "+7", 2) == 0 && strspn(e164 + 1, "0123456789") == 11) {
        if (outlen < PHONE_DISPLAY_LEN - 1)
            return PHONE_ENOSPC;
        d = e164 + 2;
        memcpy(out, "+7 (", 4);
        memcpy(out + 4, d, 3);
        memcpy(out + 7, ") ", 2);
        memcpy(out + 9, d + 3, 3);
        out[12] = '-';
        memcpy(out + 13, d + 6, 2);
        out[15] = '-';
        memcpy(out + 16, d + 8, 2);
        out[18] = '\0';
        return PHONE_OK;
    }
    if (len + 1 > outlen)
        return PHONE_ENOSPC;
    memcpy(out, e164, len + 1);
    return PHONE_OK;
}

int phone_e164_valid(const char *s)
{
    size_t n;

    if (s == NULL || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    n = strlen(s + 1);
    return n >= 5 && n <= 15 && strspn(s + 1, "0123456789") == n;
}

int phone_ext_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    return n >= 1 && n <= PHONE_EXT_MAX &&
           strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*#+_-") == n;
}

const char *phone_strerror(int rc)
{
    switch (rc) {
    case PHONE_INTERNAL:
        return "is an internal or service number (5 to 9 digits), not a phone number";
    case PHONE_OK:
        return "is a valid phone number";
    case PHONE_EMPTY:
        return "is hidden or empty";
    case PHONE_EINVAL:
        return "has a character other than digits, spaces, - ( ) . and one leading +";
    case PHONE_ESHORT:
        return "has fewer than 5 digits";
    case PHONE_ELONG:
        return "has more than 15 digits";
    case PHONE_ERUSSIAN:
        return "has country code 7 but not exactly 10 digits after it";
    case PHONE_ENOSPC:
        return "does not fit the output buffer";
    default:
        return "is not a phone number";
    }
}
