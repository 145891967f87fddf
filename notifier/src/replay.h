/* One user's memory: a bounded buffer of the events delivered to them (for Last-Event-ID
 * replay) and the state of each of their popups (for duplicate suppression and for the
 * snapshot of open popups a client gets when its last id is older than the buffer).
 *
 * The buffer is kept in a deterministic order, (Kafka timestamp, partition, offset), so every
 * replica agrees on "after" for events of several calls (partitions). Each event also carries
 * the sequence in which this replica received it live (0 for the read-back at start): a
 * client of this replica saw everything it received before its last id, so an event that
 * arrived later with an older timestamp (a lagging partition) is still replayed.
 * Not thread-safe: the hub serializes. */
#ifndef NOTIFIER_REPLAY_H
#define NOTIFIER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "event_id.h"
#include "popup.h"
#include "sse.h"

struct replay_user;

/* ring_cap: events kept; popups_cap: popups remembered (open ones first to survive). Returns
 * NULL on allocation failure. The caller owns it (replay_user_free). */
struct replay_user *replay_user_new(size_t ring_cap, size_t popups_cap);
void replay_user_free(struct replay_user *u);

/* Offer one message. On POPUP_ACCEPT the chunk gains a reference held by the buffer (the
 * oldest event is evicted when full) and the popup's state is updated (its JSON copied while
 * it is open). Duplicates and stale steps change nothing. Returns the verdict, or -1 on
 * allocation failure. */
int replay_offer(struct replay_user *u, const struct popup_msg *m, const struct evid *id,
                 int64_t ts_ms, uint64_t seq, struct sse_chunk *chunk);

/* The events after last, in buffer order, each with a new reference the caller drops; *n is
 * set to their count (out must hold replay_count(u) entries). Returns 0, or -1 when last is
 * not in the buffer (evicted, never seen here, or another user's): the caller sends the
 * snapshot instead, so a client never silently misses a popup. */
int replay_since(const struct replay_user *u, const struct evid *last, struct sse_chunk **out,
                 size_t *n);

size_t replay_count(const struct replay_user *u);

/* {"popups":[<message>,...]} of the open popups, oldest first, as a new string the caller
 * frees (NULL on allocation failure). *has_newest tells whether the buffer holds an event;
 * newest is then its last id (the id to give the snapshot so a later reconnect replays). */
char *replay_snapshot(const struct replay_user *u, struct evid *newest, int *has_newest);

/* Forget events and closed popups older than horizon_ms and open popups older than
 * open_horizon_ms (a close that never came). Returns 1 when nothing is left. */
int replay_prune(struct replay_user *u, int64_t horizon_ms, int64_t open_horizon_ms);

#endif
