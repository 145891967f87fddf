/* `crmctl dlq replay`: after a fix, send every dead letter back to the topic it came from, as it
 * was (key, value, original headers), and remember how far it got in its own consumer group so
 * that the next run replays only newer dead letters. Every effect downstream is idempotent, so
 * replaying a message that was applied after all changes nothing. */
#ifndef CRMW_DLQ_REPLAY_H
#define CRMW_DLQ_REPLAY_H

#include <stddef.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

/* The topic a dead letter came from (its dlq_source_topic header) into topic, and a copy of its
 * headers without the dlq_* ones into *out (the caller owns it; NULL when it had none).
 * allowed (NULL-terminated) lists the product's topics: anyone who can write the dead-letter
 * topic names the source, so a replay must never send anywhere else (say, the tenant-token
 * topic). Returns 0, -1 when the message carries no source topic (it is not a dead letter), or
 * -2 when the source is not an allowed topic. Pure: needs no broker. */
int dlq_replay_plan(rd_kafka_headers_t *hdrs, const char *const *allowed, char *topic,
                    size_t topiclen, rd_kafka_headers_t **out);

/* Copy n bytes of s into out (NUL terminated, cut to fit) with every control character (C0,
 * DEL and the C1 range in UTF-8: terminal escapes) replaced by '?'. Returns out. */
char *dlq_printable(const void *s, size_t n, char *out, size_t outlen);

struct dlq_replay_stats {
    long replayed;
    long skipped; /* not dead letters (no source topic) or from elsewhere: left where they are */
};

/* Replay everything in dlq_topic not yet replayed by the group. dry_run prints what would be
 * replayed and commits nothing. One line per message goes to out. Returns 0 or -1 with the
 * reason in err. */
int dlq_replay_run(const char *brokers, const char *dlq_topic, const char *const *allowed,
                   const char *group, int dry_run, FILE *out, struct dlq_replay_stats *stats,
                   char *err, size_t errlen);

#endif
