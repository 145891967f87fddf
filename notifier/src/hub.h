/* The hub: users (tenant, user) with their replay memory and open streams, and what moves
 * between them. The Kafka side publishes popups, the HTTP side opens streams, reads their
 * bytes and closes them; every operation takes one lock, and no HTTP-library call happens
 * under it except the suspend of the very stream being read and the socket writes to
 * suspended streams (see hub_ops).
 *
 * A popup goes only to the streams filed under its own (tenant, user_id): routing is the
 * lookup, so another user's or tenant's popups cannot reach a stream. */
#ifndef NOTIFIER_HUB_H
#define NOTIFIER_HUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "event_id.h"
#include "popup.h"

struct metrics_registry;
struct hub;
struct hub_conn;

struct hub_cfg {
    size_t ring_cap;     /* events replayable per user */
    size_t popups_cap;   /* popups remembered per user (duplicates, snapshot) */
    size_t queue_max;    /* live events queued per stream before it is cut off */
    size_t max_conns;    /* streams in total */
    size_t max_per_user; /* streams per user (tabs) */
    long heartbeat_ms;   /* idle time before a heartbeat comment */
    long retry_ms;       /* the EventSource reconnection delay we suggest */
    long window_s;       /* how long events and closed popups are remembered */
    long open_max_s;     /* an open popup without news for this long is forgotten */
};

/* The HTTP edge. suspend runs inside hub_read, under the hub lock, on the thread reading that
 * stream; resume runs outside the lock on any thread, only for a stream that was suspended
 * (so it is still alive: a suspended stream is never torn down by the HTTP library).
 *
 * write (may be NULL) writes one event's bytes straight to a suspended stream's socket, under
 * the hub lock, on any thread: it returns 1 when all of them went, 0 when none did (the hub
 * then queues them and resumes the stream, as without write), -1 when the stream is unusable
 * (client gone, or only part went: the hub cuts it off, the client replays on reconnect).
 * Resuming costs libmicrohttpd a walk over every suspended stream; writing does not. */
struct hub_ops {
    void (*suspend)(void *handle);
    void (*resume)(void *handle);
    int (*write)(void *handle, const char *data, size_t len);
};

/* Registers its metrics in reg (kept by the caller, outliving the hub). NULL on failure. */
struct hub *hub_new(const struct hub_cfg *cfg, const struct hub_ops *ops,
                    struct metrics_registry *reg);
/* Every stream must have been released with hub_disconnect first. */
void hub_free(struct hub *h);

/* One popup message from Kafka. live: consumed after the start-up read-back (it is then
 * timed for the fan-out latency and ordered by arrival for replays). Returns the popup
 * verdict (enum popup_verdict) or -1 on allocation failure. */
int hub_publish(struct hub *h, const struct popup_msg *m, const struct evid *id, int64_t ts_ms,
                int live);

enum hub_connect_result {
    HUB_CONNECTED,
    HUB_USER_LIMIT,  /* 429 */
    HUB_TOTAL_LIMIT, /* 503 */
    HUB_CLOSING,     /* 503: shutting down */
    HUB_NOMEM,       /* 503 */
    HUB_REVOKED,     /* 401: the user is disabled or the token's generation was revoked */
};

/* Open a stream for who. last_state: 1 with last set (a Last-Event-ID), 0 for none, -1 for an
 * unparseable one. The stream starts with the retry preamble, then either the events after
 * last (a replay hit) or a snapshot event of the open popups (fresh, or last unknown: a miss).
 * handle is passed back to hub_ops. The stream stays owned by the hub until hub_disconnect. */
enum hub_connect_result hub_connect(struct hub *h, const struct auth_user *who, int last_state,
                                    const struct evid *last, void *handle, struct hub_conn **out);

#define HUB_READ_END   (-1) /* finished cleanly (shutdown, token expiry): end the stream */
#define HUB_READ_ABORT (-2) /* cut off (too slow): close without a clean end */

/* Copy up to max queued bytes into buf. Returns the count, 0 after suspending the stream (no
 * data: it is resumed when some arrives), or HUB_READ_END / HUB_READ_ABORT. */
ssize_t hub_read(struct hub *h, struct hub_conn *c, char *buf, size_t max);

/* The stream is gone (the HTTP library released it). Frees c. */
void hub_disconnect(struct hub *h, struct hub_conn *c);

/* Every quarter of a second or so: heartbeats for idle streams, the end of streams whose token
 * expired, and forgetting users with nothing left to remember. Writes one slice of the
 * heartbeats due and returns 1 when more are due (call again once the popups that arrived
 * meanwhile are published), else 0. */
int hub_tick(struct hub *h, int64_t now_ms);
#define HUB_TICK_SLICE 64 /* heartbeats a hub_tick call writes at most (≈ 0.2 ms of sendmsg) */

/* A popup-users record (revoke.h): remember the user's lowest accepted token generation and
 * whether the user is active, and end the user's open streams whose token it refuses (their
 * reconnect gets 401). Returns the streams ended, or -1 when out of memory. */
int hub_user_tokens(struct hub *h, const char *tenant, const char *user, long generation,
                    int active);

/* 1 when who's token is not revoked (the check a stream gets, for other requests). */
int hub_token_allowed(struct hub *h, const struct auth_user *who);

/* Shutdown: refuse new streams and end every open one cleanly (queued bytes go first). */
void hub_close_all(struct hub *h);

/* Count a stream request the HTTP edge refused before the hub saw it ("unauthorized"). */
void hub_count_connect(struct hub *h, const char *result);

size_t hub_stream_count(struct hub *h);
size_t hub_user_count(struct hub *h);

#endif
