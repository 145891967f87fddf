/* Keeps a token_map current from the compacted tenant-token topic through a compact_feed
 * (common/compact_feed.h: every partition read from the beginning, then followed). Ingest is ready
 * only once the feed has read up to the end it found. */
#ifndef INGEST_TOKEN_FEED_H
#define INGEST_TOKEN_FEED_H

#include <stddef.h>

#include "token_map.h"

struct token_feed;

/* Start the thread. map is borrowed and must outlive the feed. Returns NULL with the reason in
 * err; the caller owns the feed (token_feed_stop). */
struct token_feed *token_feed_start(const char *brokers, const char *topic, struct token_map *map,
                                    char *err, size_t errlen);

/* 1 once every partition was read to its end at least once. */
int token_feed_ready(struct token_feed *feed);

/* Stop the thread, close the consumer and free the feed. NULL is ignored. */
void token_feed_stop(struct token_feed *feed);

#endif
