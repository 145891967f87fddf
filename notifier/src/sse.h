/* Server-Sent Events wire format (WHATWG HTML §9.2) and the refcounted chunks a stream queues.
 * A chunk is formatted once and shared by the replay buffer and every connection of its user.
 * Refcounts are plain integers: callers serialize (the hub's lock). */
#ifndef NOTIFIER_SSE_H
#define NOTIFIER_SSE_H

#include <stddef.h>
#include <stdint.h>

struct sse_chunk {
    unsigned refs;
    int64_t ts_ms; /* Kafka timestamp of the message it carries; 0 for comments */
    size_t len;
    char data[];
};

/* A new chunk (refs = 1) holding one event: "id: <id>\nevent: <event>\ndata: <line>\n...\n\n".
 * id NULL: no id line; id "": an empty id line (resets the client's last id). event NULL: no
 * event line (a "message"). data is split on \n, \r\n and \r into one data line each. Returns
 * NULL when id or event hold a line break, or on allocation failure. */
struct sse_chunk *sse_event_new(const char *id, const char *event, const char *data, int64_t ts_ms);

/* A new comment chunk ": <text>\n\n" (heartbeats; ignored by clients, keeps proxies open), or
 * a "retry: <ms>\n\n" preamble when text is NULL and retry_ms > 0. */
struct sse_chunk *sse_comment_new(const char *text, long retry_ms);

struct sse_chunk *sse_chunk_ref(struct sse_chunk *c);
/* Drop one reference; frees at zero. NULL is ignored. */
void sse_chunk_unref(struct sse_chunk *c);

#endif
