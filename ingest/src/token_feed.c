#include "token_feed.h"

#include "common/compact_feed.h"

#include <stdio.h>
#include <stdlib.h>

struct token_feed {
    struct compact_feed *feed;
};

static int token_feed_apply(void *ctx, const char *key, size_t keylen, const char *value,
                            size_t len)
{
    return token_map_apply(ctx, key, keylen, value, len) < 0 ? -1 : 0;
}

struct token_feed *token_feed_start(const char *brokers, const char *topic, struct token_map *map,
                                    char *err, size_t errlen)
{
    struct token_feed *tf = calloc(1, sizeof(*tf));

    if (!tf) {
        snprintf(err, errlen, "token feed: out of memory");
        return NULL;
    }
    tf->feed =
        compact_feed_start(brokers, topic, "ingest-token-feed", token_feed_apply, map, err, errlen);
    if (!tf->feed) {
        free(tf);
        return NULL;
    }
    return tf;
}

int token_feed_ready(struct token_feed *feed)
{
    return feed && compact_feed_ready(feed->feed);
}

void token_feed_stop(struct token_feed *feed)
{
    if (!feed)
        return;
    compact_feed_stop(feed->feed);
    free(feed);
}
