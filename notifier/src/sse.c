#include "sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sse_chunk *sse_alloc(size_t cap, int64_t ts_ms)
{
    struct sse_chunk *c = malloc(sizeof(*c) + cap);

    if (!c)
        return NULL;
    c->refs = 1;
    c->ts_ms = ts_ms;
    c->len = 0;
    return c;
}

static void sse_put(struct sse_chunk *c, const char *s, size_t n)
{
    memcpy(c->data + c->len, s, n);
    c->len += n;
}

struct sse_chunk *sse_event_new(const char *id, const char *event, const char *data, int64_t ts_ms)
{
    size_t dlen = data ? strlen(data) : 0, lines = 1, cap;
    struct sse_chunk *c;
    const char *p, *end;

    if ((id && strpbrk(id, "\r\n")) || (event && strpbrk(event, "\r\n")))
        return NULL;
    for (size_t i = 0; i < dlen; i++)
        lines += data[i] == '\n' || (data[i] == '\r' && data[i + 1] != '\n');
    cap = (id ? strlen(id) + 5 : 0) + (event ? strlen(event) + 8 : 0) + dlen + lines * 7 + 2;
    c = sse_alloc(cap, ts_ms);
    if (!c)
        return NULL;
    if (id) {
        sse_put(c, "id: ", 4);
        sse_put(c, id, strlen(id));
        sse_put(c, "\n", 1);
    }
    if (event) {
        sse_put(c, "event: ", 7);
        sse_put(c, event, strlen(event));
        sse_put(c, "\n", 1);
    }
    p = data ? data : "";
    end = p + dlen;
    for (;;) {
        size_t n = strcspn(p, "\r\n");

        sse_put(c, "data: ", 6);
        sse_put(c, p, n);
        sse_put(c, "\n", 1);
        p += n;
        if (p >= end)
            break;
        p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
    }
    sse_put(c, "\n", 1);
    return c;
}

struct sse_chunk *sse_comment_new(const char *text, long retry_ms)
{
    char buf[128];
    struct sse_chunk *c;
    int n;

    if (text) {
        if (strpbrk(text, "\r\n"))
            return NULL;
        n = snprintf(buf, sizeof(buf), ": %s\n\n", text);
    } else if (retry_ms > 0) {
        n = snprintf(buf, sizeof(buf), "retry: %ld\n\n", retry_ms);
    } else {
        return NULL;
    }
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    c = sse_alloc((size_t)n, 0);
    if (c)
        sse_put(c, buf, (size_t)n);
    return c;
}

struct sse_chunk *sse_chunk_ref(struct sse_chunk *c)
{
    c->refs++;
    return c;
}

void sse_chunk_unref(struct sse_chunk *c)
{
    if (c && --c->refs == 0)
        free(c);
}
