#include "common/b64.h"

#include <string.h>

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64_encoded_size(size_t len)
{
    return ((len + 2) / 3) * 4 + 1;
}

long b64_encode(const unsigned char *in, size_t len, char *out, size_t outlen, int url)
{
    const char *tab = url ? b64_url : b64_std;
    size_t o = 0;

    size_t need = url ? (len * 4 + 2) / 3 + 1 : b64_encoded_size(len);

    if (outlen < need)
        return -1;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        size_t rem = len - i;

        if (rem > 1)
            v |= (unsigned)in[i + 1] << 8;
        if (rem > 2)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        if (rem > 1)
            out[o++] = tab[(v >> 6) & 63];
        else if (!url)
            out[o++] = '=';
        if (rem > 2)
            out[o++] = tab[v & 63];
        else if (!url)
            out[o++] = '=';
    }
    out[o] = '\0';
    return (long)o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;

    while (len > 0 && in[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(in[i]);

        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outlen)
                return -1;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6) /* a lone trailing character cannot encode a byte */
        return -1;
    return (long)o;
}

int b64url_alphabet(const char *s, size_t n)
{
    /* s need not end at n: strspn stops at the first byte outside the alphabet (or the NUL) */
    return strspn(s, b64_url) >= n;
}

int b64url_canonical(const char *s, size_t n)
{
    int last;

    if (!b64url_alphabet(s, n))
        return 0;
    last = n ? (int)(strchr(b64_url, s[n - 1]) - b64_url) : 0;
    switch (n % 4) {
    case 1:
        return 0;
    case 2:
        return (last & 0x0f) == 0; /* 12 bits, one byte */
    case 3:
        return (last & 0x03) == 0; /* 18 bits, two bytes */
    default:
        return 1;
    }
}
