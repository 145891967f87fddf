/* Follows a compacted topic that describes a table (the last record per key is the row): a
 * thread reads every partition from the beginning (no consumer group: each replica needs the
 * whole topic), then follows it, handing each record to a callback. Ready once every partition
 * was read up to the end it had: before that, the table is incomplete. */
#ifndef COMMON_COMPACT_FEED_H
#define COMMON_COMPACT_FEED_H

#include <stddef.h>
#include <stdint.h>

struct compact_feed;

/* Called on the feed's thread for every record (value NULL: a tombstone). Returns 0, or -1
 * when it could not use the record (the feed logs it with its offset and moves on). */
typedef int (*compact_feed_apply_fn)(void *ctx, const char *key, size_t keylen, const char *value,
                                     size_t len);

/* Start the thread. ctx is borrowed and must outlive the feed. Returns NULL with the reason in
 * err; the caller owns the feed (compact_feed_stop). */
struct compact_feed *compact_feed_start(const char *brokers, const char *topic,
                                        const char *client_id, compact_feed_apply_fn apply,
                                        void *ctx, char *err, size_t errlen);

/* The same for a plain topic's recent records: every partition from the first record written at
 * or after since_ms (Unix milliseconds; 0: from the beginning). */
struct compact_feed *compact_feed_start_since(const char *brokers, const char *topic,
                                              const char *client_id, int64_t since_ms,
                                              compact_feed_apply_fn apply, void *ctx, char *err,
                                              size_t errlen);

/* 1 once every partition was read to its end at least once. */
int compact_feed_ready(struct compact_feed *feed);

/* Stop the thread, close the consumer and free the feed. NULL is ignored. */
void compact_feed_stop(struct compact_feed *feed);

#endif
