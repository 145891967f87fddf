/* The tolerant scanner: one pass over the body, no recursion, linear on any input. Values are
 * collected as text per known field; what they mean is decided in uis_parse.c. */
#include "uis_scan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Unknown fields may nest; a fixed stack keeps skipping them free of recursion and allocation. */
#define UIS_DEPTH_MAX 32
/* How far to look for the closing quote of a "key": after a bare value. Bounding it keeps the
 * scan linear on hostile bodies (many commas before one long string). */
#define UIS_KEY_LOOKAHEAD 256

const char *const uis_field_names[UIS_F_COUNT] = {
    "call_id",
    "call_state",
    "direction",
    "from_number",
    "diversion",
    "user_extension",
    "call_record_url",
    "talk_time_duration",
    "total_time_duration",
    "wait_time_duration",
};

struct uis_ps {
    const char *b;
    size_t len;
    size_t pos;
    int field;             /* the field whose value is being read */
    char keysnip[28];      /* printable form of an unknown key, for messages */
    struct uis_slot *slot; /* the caller's, UIS_F_COUNT of them */
    struct uis_error *err;
};

enum uis_str_rc { UIS_STR_OK, UIS_STR_EOF, UIS_STR_CTRL, UIS_STR_LONG };

int uis_fail(struct uis_error *err, enum uis_rc code, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return code;
}

static int uis_nomem(struct uis_ps *ps)
{
    return uis_fail(ps->err, UIS_ENOMEM, "", "out of memory while reading the body");
}

static const char *uis_fname(int f)
{
    return f >= 0 ? uis_field_names[f] : "";
}

/* "call_id" or "field \"foo\"": how a message names what it is about. */
static const char *uis_what(const struct uis_ps *ps, char *buf, size_t buflen)
{
    if (ps->field >= 0)
        return uis_field_names[ps->field];
    snprintf(buf, buflen, "field \"%s\"", ps->keysnip);
    return buf;
}

void uis_snip(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    size_t keep = n < outlen - 1 ? n : outlen - 4;

    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)s[i];

        out[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    if (keep < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

bool uis_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t uis_skip_ws(const struct uis_ps *ps, size_t p)
{
    while (p < ps->len && uis_is_ws(ps->b[p]))
        p++;
    return p;
}

static bool uis_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        unsigned cp;
        unsigned min;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* Find the end of the string opening at p (just past its closing quote). Escapes are only
 * stepped over here; uis_str_decode checks them. limit 0 means none. */
static enum uis_str_rc uis_str_scan(const struct uis_ps *ps, size_t p, size_t limit, size_t *end)
{
    size_t i = p + 1;

    while (i < ps->len) {
        unsigned char c = (unsigned char)ps->b[i];

        if (limit > 0 && i - p > limit)
            return UIS_STR_LONG;
        if (c == '"') {
            *end = i + 1;
            return UIS_STR_OK;
        }
        if (c < 0x20)
            return UIS_STR_CTRL;
        i += c == '\\' ? 2 : 1;
    }
    return UIS_STR_EOF;
}

static int uis_str_scan_fail(struct uis_ps *ps, enum uis_str_rc rc, const char *what)
{
    char buf[48];
    const char *name = what != NULL ? what : uis_what(ps, buf, sizeof(buf));

    if (rc == UIS_STR_CTRL)
        return uis_fail(ps->err, UIS_ESYNTAX, uis_fname(ps->field),
                        "%s has a line break or control character inside quotes (is a closing "
                        "quote missing?)",
                        name);
    return uis_fail(ps->err, UIS_ESYNTAX, uis_fname(ps->field),
                    "body is truncated inside the quotes of %s", name);
}

static int uis_hex4(const char *s, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t uis_utf8_put(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One \uXXXX (or surrogate pair) at s (just past the 'u'), stop the end of the string content.
 * Returns the code point, or 0 when invalid (the caller refuses \u0000 before: it would cut the
 * C strings the event is made of). */
static unsigned uis_unicode_escape(const char *s, const char *stop, size_t *used)
{
    unsigned hi;
    unsigned lo;

    if (stop - s < 4 || uis_hex4(s, &hi) < 0)
        return 0;
    *used = 4;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return 0;
    if (hi < 0xd800 || hi > 0xdbff)
        return hi;
    if (stop - s < 10 || s[4] != '\\' || s[5] != 'u' || uis_hex4(s + 6, &lo) < 0 || lo < 0xdc00 ||
        lo > 0xdfff)
        return 0;
    *used = 10;
    return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* Decode the string [p, end) (quotes included) into a new NUL-terminated buffer (owner: the
 * caller). Decoded text is never longer than the quoted text, which sizes the buffer. */
static int uis_str_decode(struct uis_ps *ps, size_t p, size_t end, char **out, size_t *outlen)
{
    const char *s = ps->b + p + 1;
    const char *stop = ps->b + end - 1;
    char *d = malloc(end - p);
    size_t o = 0;
    char buf[48];

    if (d == NULL)
        return uis_nomem(ps);
    while (s < stop) {
        char e;
        size_t used = 0;
        unsigned cp;

        if (*s != '\\') {
            d[o++] = *s++;
            continue;
        }
        e = s[1];
        s += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            d[o++] = e;
            continue;
        case 'b':
            d[o++] = '\b';
            continue;
        case 'f':
            d[o++] = '\f';
            continue;
        case 'n':
            d[o++] = '\n';
            continue;
        case 'r':
            d[o++] = '\r';
            continue;
        case 't':
            d[o++] = '\t';
            continue;
        case 'u':
            if (stop - s >= 4 && memcmp(s, "0000", 4) == 0) {
                free(d);
                return uis_fail(ps->err, UIS_ESYNTAX, uis_fname(ps->field),
                                "%s contains \\u0000, a NUL character",
                                uis_what(ps, buf, sizeof(buf)));
            }
            cp = uis_unicode_escape(s, stop, &used);
            if (cp != 0) {
                o += uis_utf8_put(d + o, cp);
                s += used;
                continue;
            }
            break;
        default:
            break;
        }
        free(d);
        return uis_fail(ps->err, UIS_ESYNTAX, uis_fname(ps->field),
                        "%s has an invalid escape sequence inside quotes",
                        uis_what(ps, buf, sizeof(buf)));
    }
    d[o] = '\0';
    *out = d;
    *outlen = o;
    return 0;
}

static bool uis_is_key_at(const struct uis_ps *ps, size_t q)
{
    size_t end;

    if (q >= ps->len || ps->b[q] != '"' ||
        uis_str_scan(ps, q, UIS_KEY_LOOKAHEAD, &end) != UIS_STR_OK)
        return false;
    end = uis_skip_ws(ps, end);
    return end < ps->len && ps->b[end] == ':';
}

static bool uis_is_final_brace(const struct uis_ps *ps, size_t q)
{
    return q < ps->len && ps->b[q] == '}' && uis_skip_ws(ps, q + 1) == ps->len;
}

/* A bare value runs to the ',' before the next "key": (or before a trailing ",}") or to the
 * object's final '}'. A plain "next ',' or '}'" rule would cut "https://a/1, https://a/2" and
 * links with commas in their query. Returns len when there is no such end. Jumping over each
 * whitespace run once keeps this linear. */
static size_t uis_bare_end(const struct uis_ps *ps, size_t p)
{
    while (p < ps->len) {
        char c = ps->b[p];
        size_t q;

        if (c == ',' || c == '}') {
            q = uis_skip_ws(ps, p + 1);
            if (c == ',' && (uis_is_key_at(ps, q) || uis_is_final_brace(ps, q)))
                return p;
            if (c == '}' && q == ps->len)
                return p;
            if (q > p + 1) {
                p = q;
                continue;
            }
        }
        p++;
    }
    return p;
}

/* Add text to the current field's slot: trimmed; empty and "null" add nothing. */
static int uis_slot_put(struct uis_ps *ps, const char *s, size_t n)
{
    struct uis_slot *sl;
    char *t;

    if (ps->field < 0)
        return 0;
    while (n > 0 && uis_is_ws(*s))
        s++, n--;
    while (n > 0 && uis_is_ws(s[n - 1]))
        n--;
    if (n == 0 || (n == 4 && strncasecmp(s, "null", 4) == 0))
        return 0;
    sl = &ps->slot[ps->field];
    t = realloc(sl->text, sl->len + n + 2);
    if (t == NULL)
        return uis_nomem(ps);
    if (sl->len > 0)
        t[sl->len++] = ' ';
    memcpy(t + sl->len, s, n);
    sl->len += n;
    t[sl->len] = '\0';
    sl->text = t;
    return 0;
}

/* Scan and decode the string at p, add it to the current slot, return its end in *end. */
static int uis_take_string(struct uis_ps *ps, size_t p, size_t *end)
{
    enum uis_str_rc src = uis_str_scan(ps, p, 0, end);
    char *s = NULL;
    size_t n = 0;
    int rc;

    if (src != UIS_STR_OK)
        return uis_str_scan_fail(ps, src, NULL);
    if (ps->field < 0)
        return 0;
    rc = uis_str_decode(ps, p, *end, &s, &n);
    if (rc == 0)
        rc = uis_slot_put(ps, s, n);
    free(s);
    return rc;
}

static int uis_truncated(struct uis_ps *ps)
{
    return uis_fail(ps->err, UIS_ESYNTAX, uis_fname(ps->field),
                    "body is truncated: the closing '}' is missing");
}

/* "call_record_url":"https://a/1", "https://a/2" — quoted links after the first one, as long
 * as what follows the comma is not the next "key":. */
static int uis_read_more_strings(struct uis_ps *ps)
{
    for (;;) {
        size_t q = uis_skip_ws(ps, ps->pos);
        size_t r;
        size_t end;
        int rc;

        if (q >= ps->len || ps->b[q] != ',')
            return 0;
        r = uis_skip_ws(ps, q + 1);
        if (r >= ps->len || ps->b[r] != '"' || uis_is_key_at(ps, r))
            return 0;
        rc = uis_take_string(ps, r, &end);
        if (rc < 0)
            return rc;
        ps->pos = end;
    }
}

static int uis_read_url_array(struct uis_ps *ps)
{
    size_t p = ps->pos + 1;

    for (;;) {
        size_t end;
        int rc;

        p = uis_skip_ws(ps, p);
        if (p >= ps->len)
            return uis_truncated(ps);
        if (ps->b[p] == ']')
            break;
        if (ps->b[p] != '"')
            return uis_fail(ps->err, UIS_EVALUE, "call_record_url",
                            "call_record_url array must hold only quoted links");
        rc = uis_take_string(ps, p, &end);
        if (rc < 0)
            return rc;
        p = uis_skip_ws(ps, end);
        if (p >= ps->len)
            return uis_truncated(ps);
        if (ps->b[p] == ',')
            p++;
        else if (ps->b[p] != ']')
            return uis_fail(ps->err, UIS_ESYNTAX, "call_record_url",
                            "call_record_url array is malformed: expected ',' or ']'");
    }
    ps->pos = p + 1;
    return 0;
}

/* Step over a nested object or array of an unknown field, whatever is inside but strings. */
static int uis_skip_nested(struct uis_ps *ps)
{
    char stack[UIS_DEPTH_MAX];
    size_t depth = 0;
    size_t i = ps->pos;
    char buf[48];

    while (i < ps->len) {
        char c = ps->b[i];
        size_t end;
        enum uis_str_rc src;

        if (c == '"') {
            src = uis_str_scan(ps, i, 0, &end);
            if (src != UIS_STR_OK)
                return uis_str_scan_fail(ps, src, NULL);
            i = end;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == UIS_DEPTH_MAX)
                return uis_fail(ps->err, UIS_ESYNTAX, "", "%s is nested more than %d levels deep",
                                uis_what(ps, buf, sizeof(buf)), UIS_DEPTH_MAX);
            stack[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != c)
                return uis_fail(ps->err, UIS_ESYNTAX, "", "%s has mismatched brackets",
                                uis_what(ps, buf, sizeof(buf)));
            if (--depth == 0) {
                ps->pos = i + 1;
                return 0;
            }
        }
        i++;
    }
    return uis_truncated(ps);
}

static int uis_read_value(struct uis_ps *ps)
{
    size_t p = ps->pos;
    size_t end = p;
    char c;
    char buf[48];
    int rc;

    if (p >= ps->len)
        return uis_truncated(ps);
    c = ps->b[p];
    if (c == '"') {
        rc = uis_take_string(ps, p, &end);
        if (rc < 0)
            return rc;
        ps->pos = end;
        return ps->field == UIS_F_URL ? uis_read_more_strings(ps) : 0;
    }
    if (c == '[' && ps->field == UIS_F_URL)
        return uis_read_url_array(ps);
    if (c == '{' || c == '[') {
        if (ps->field >= 0)
            return uis_fail(ps->err, UIS_EVALUE, uis_fname(ps->field),
                            "%s must be a single value, not %s", uis_fname(ps->field),
                            c == '{' ? "an object" : "an array");
        return uis_skip_nested(ps);
    }
    if (c == ',' || c == '}')
        return 0; /* "user_extension":, — the template's empty variable */
    end = uis_bare_end(ps, p);
    /* Not blamed on the field: a body cut anywhere after it ends up here too. */
    if (end >= ps->len)
        return uis_fail(ps->err, UIS_ESYNTAX, "",
                        "the value of %s runs to the end of the body: the closing '}' is missing "
                        "or followed by other text",
                        uis_what(ps, buf, sizeof(buf)));
    ps->pos = end;
    return uis_slot_put(ps, ps->b + p, end - p);
}

static int uis_read_key(struct uis_ps *ps)
{
    size_t end;
    char *key = NULL;
    size_t n = 0;
    enum uis_str_rc src;
    int rc;

    ps->field = UIS_F_UNKNOWN;
    if (ps->b[ps->pos] != '"')
        return uis_fail(ps->err, UIS_ESYNTAX, "",
                        "expected a quoted field name or '}' at byte %zu, got \"%c\"", ps->pos,
                        (ps->b[ps->pos] > 0x20 && ps->b[ps->pos] < 0x7f) ? ps->b[ps->pos] : '?');
    src = uis_str_scan(ps, ps->pos, 0, &end);
    if (src != UIS_STR_OK)
        return uis_str_scan_fail(ps, src, "a field name");
    rc = uis_str_decode(ps, ps->pos, end, &key, &n);
    if (rc < 0)
        return rc;
    for (int f = 0; f < UIS_F_COUNT; f++) {
        if (strlen(uis_field_names[f]) == n && memcmp(key, uis_field_names[f], n) == 0)
            ps->field = f;
    }
    uis_snip(key, n, ps->keysnip, sizeof(ps->keysnip));
    free(key);
    if (ps->field >= 0) {
        if (ps->slot[ps->field].seen)
            return uis_fail(ps->err, UIS_EDUPLICATE, uis_fname(ps->field),
                            "%s appears more than once, so which value counts is ambiguous",
                            uis_fname(ps->field));
        ps->slot[ps->field].seen = true;
    }
    ps->pos = uis_skip_ws(ps, end);
    if (ps->pos >= ps->len)
        return uis_truncated(ps);
    if (ps->b[ps->pos] != ':')
        return uis_fail(ps->err, UIS_ESYNTAX, uis_fname(ps->field),
                        "expected ':' after the field name \"%s\"", ps->keysnip);
    ps->pos = uis_skip_ws(ps, ps->pos + 1);
    return 0;
}

static int uis_scan_object(struct uis_ps *ps)
{
    char buf[48];
    int rc;

    if (ps->len >= 3 && memcmp(ps->b, "\xef\xbb\xbf", 3) == 0)
        ps->pos = 3;
    ps->pos = uis_skip_ws(ps, ps->pos);
    if (ps->pos >= ps->len)
        return uis_fail(ps->err, UIS_ESYNTAX, "", "body is empty");
    if (ps->b[ps->pos] != '{')
        return uis_fail(ps->err, UIS_ESYNTAX, "",
                        "body is not a JSON object: it must start with '{'");
    ps->pos++;
    for (;;) {
        ps->field = UIS_F_UNKNOWN;
        ps->pos = uis_skip_ws(ps, ps->pos);
        if (ps->pos >= ps->len)
            return uis_truncated(ps);
        if (ps->b[ps->pos] == '}')
            break; /* also after a trailing comma, which an edited template easily leaves */
        rc = uis_read_key(ps);
        if (rc == 0)
            rc = uis_read_value(ps);
        if (rc < 0)
            return rc;
        ps->pos = uis_skip_ws(ps, ps->pos);
        if (ps->pos >= ps->len)
            return uis_fail(ps->err, UIS_ESYNTAX, "",
                            "body is truncated: the closing '}' is missing");
        if (ps->b[ps->pos] == '}')
            break;
        if (ps->b[ps->pos] != ',')
            return uis_fail(ps->err, UIS_ESYNTAX, uis_fname(ps->field),
                            "expected ',' or '}' after the value of %s",
                            uis_what(ps, buf, sizeof(buf)));
        ps->pos++;
    }
    if (uis_skip_ws(ps, ps->pos + 1) != ps->len)
        return uis_fail(ps->err, UIS_ESYNTAX, "", "body has text after the closing '}'");
    return 0;
}

int uis_scan(const char *body, size_t len, struct uis_slot slot[UIS_F_COUNT], struct uis_error *err)
{
    struct uis_ps ps = {.b = body, .len = len, .field = UIS_F_UNKNOWN, .slot = slot, .err = err};

    memset(slot, 0, UIS_F_COUNT * sizeof(*slot));
    if (body == NULL && len > 0)
        return uis_fail(err, UIS_ESYNTAX, "", "body is missing");
    if (len > 0 && memchr(body, '\0', len) != NULL)
        return uis_fail(err, UIS_ESYNTAX, "", "body contains a NUL byte");
    if (!uis_utf8_valid((const unsigned char *)body, len))
        return uis_fail(err, UIS_ESYNTAX, "", "body is not valid UTF-8");
    return uis_scan_object(&ps);
}

void uis_scan_release(struct uis_slot slot[UIS_F_COUNT])
{
    for (int f = 0; f < UIS_F_COUNT; f++) {
        free(slot[f].text);
        slot[f].text = NULL;
    }
}
