#include "jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
    w->buf = w->inline_buf;
    w->len = 0;
    w->cap = sizeof(w->inline_buf);
    w->failed = 0;
    w->need_comma = 0;
}

void jsonw_release(struct jsonw *w)
{
    if (w->buf != w->inline_buf)
        free(w->buf);
    jsonw_init(w);
}

/* Room for n more bytes and the NUL; 0 or -1 (w failed). */
static int jsonw_reserve(struct jsonw *w, size_t n)
{
    size_t cap = w->cap;
    char *grown;

    if (w->failed)
        return -1;
    if (w->len + n + 1 <= cap)
        return 0;
    while (cap < w->len + n + 1)
        cap *= 2;
    if (w->buf != w->inline_buf) {
        grown = realloc(w->buf, cap);
    } else {
        grown = malloc(cap);
        if (grown)
            memcpy(grown, w->inline_buf, w->len);
    }
    if (!grown) {
        w->failed = 1;
        return -1;
    }
    w->buf = grown;
    w->cap = cap;
    return 0;
}

static void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
    if (jsonw_reserve(w, n) < 0)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* Before a value or a key: the comma that separates it from the previous one. */
static void jsonw_sep(struct jsonw *w)
{
    if (w->need_comma)
        jsonw_raw(w, ",", 1);
    w->need_comma = 1;
}

static void jsonw_open(struct jsonw *w, const char *bracket)
{
    jsonw_sep(w);
    jsonw_raw(w, bracket, 1);
    w->need_comma = 0;
}

static void jsonw_close(struct jsonw *w, const char *bracket)
{
    jsonw_raw(w, bracket, 1);
    w->need_comma = 1;
}

void jsonw_object_open(struct jsonw *w)
{
    jsonw_open(w, "{");
}

void jsonw_object_close(struct jsonw *w)
{
    jsonw_close(w, "}");
}

void jsonw_array_open(struct jsonw *w)
{
    jsonw_open(w, "[");
}

void jsonw_array_close(struct jsonw *w)
{
    jsonw_close(w, "]");
}

/* Bytes of the UTF-8 sequence at s (1-4), or 0 when it is not valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included, as jansson's utf8_check_string). */
static size_t jsonw_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

static void jsonw_escaped(struct jsonw *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;

    while (*p) {
        const char *esc = NULL;
        char hex[8];
        size_t n;

        if (*p >= 0x20 && *p != '"' && *p != '\\') {
            n = jsonw_utf8_len(p);
            if (n == 0) {
                w->failed = 1;
                return;
            }
            p += n;
            continue;
        }
        switch (*p) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            snprintf(hex, sizeof(hex), "\\u%04X", (unsigned)*p);
            esc = hex;
            break;
        }
        jsonw_raw(w, (const char *)run, (size_t)(p - run));
        jsonw_raw(w, esc, strlen(esc));
        p++;
        run = p;
    }
    jsonw_raw(w, (const char *)run, (size_t)(p - run));
}

void jsonw_key(struct jsonw *w, const char *key)
{
    jsonw_sep(w);
    jsonw_raw(w, "\"", 1);
    jsonw_escaped(w, key);
    jsonw_raw(w, "\":", 2);
    w->need_comma = 0;
}

void jsonw_string(struct jsonw *w, const char *s)
{
    jsonw_sep(w);
    jsonw_raw(w, "\"", 1);
    jsonw_escaped(w, s);
    jsonw_raw(w, "\"", 1);
}

void jsonw_null(struct jsonw *w)
{
    jsonw_sep(w);
    jsonw_raw(w, "null", 4);
}

void jsonw_int(struct jsonw *w, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", v);

    jsonw_sep(w);
    if (n < 0) {
        w->failed = 1;
        return;
    }
    jsonw_raw(w, num, (size_t)n);
}

const char *jsonw_finish(struct jsonw *w, size_t *len)
{
    if (w->failed || jsonw_reserve(w, 0) < 0)
        return NULL;
    w->buf[w->len] = '\0';
    *len = w->len;
    return w->buf;
}
