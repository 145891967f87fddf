/* The Kafka edge: every partition of the popups topic, assigned directly (no consumer group:
 * every replica needs every popup), starting a read-back window before now so that a
 * restarted replica can replay too. Messages go to the hub. */
#ifndef NOTIFIER_FEED_H
#define NOTIFIER_FEED_H

#include <stddef.h>

struct hub;
struct metrics_registry;
struct feed;

struct feed_cfg {
    const char *brokers;
    const char *topic;
    const char *client_id;
    long window_s;      /* read back this far at start */
    long fetch_wait_ms; /* fetch.wait.max.ms: the broker answers at once when data is there */
};

/* A new consumer; partitions are assigned by feed_poll once the topic's metadata is known.
 * hub and reg stay owned by the caller. NULL with the reason in err. */
struct feed *feed_new(const struct feed_cfg *cfg, struct hub *hub, struct metrics_registry *reg,
                      char *err, size_t errlen);

/* Poll for up to timeout_ms and hand what arrived to the hub. Returns 0, or -1 after a fatal
 * consumer error (logged; the service stops). */
int feed_poll(struct feed *f, int timeout_ms);

/* 1 once every partition was read to the end it had at assignment: from then on messages are
 * live and the replay memory is complete. For /readyz. */
int feed_caught_up(const struct feed *f);

/* Call fn(ctx, popup_id) for every valid popup message read (issue 18: call request results
 * end the requests' flight). fn runs on the thread of feed_poll. */
void feed_observe(struct feed *f, void (*fn)(void *ctx, const char *popup_id), void *ctx);

void feed_close(struct feed *f);

#endif
