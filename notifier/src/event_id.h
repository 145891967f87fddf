/* SSE event ids: "<partition>-<offset>" of the crm.popups.v1 message. Every replica reads the
 * same partitions, so the same popup carries the same id on every replica and a client may
 * reconnect anywhere with its Last-Event-ID. */
#ifndef NOTIFIER_EVENT_ID_H
#define NOTIFIER_EVENT_ID_H

#include <stddef.h>
#include <stdint.h>

struct evid {
    int32_t partition;
    int64_t offset;
};

/* Longest text form: "2147483647-9223372036854775807" and the NUL. */
#define EVID_MAX 32

/* Write the text form into out. Returns its length or -1 when outlen is too small. */
int evid_format(const struct evid *id, char *out, size_t outlen);

/* Parse the text form strictly (decimal, no sign, no spaces, no leading zeros beyond "0").
 * Returns 0 or -1. */
int evid_parse(const char *s, struct evid *out);

/* Order by partition, then offset (-1, 0, 1). Only offsets of one partition are comparable in
 * time; the partition order merely makes this a total order for lookups. */
int evid_cmp(const struct evid *a, const struct evid *b);

/* The Last-Event-ID a reconnecting client presents: the header wins, then the lastEventId
 * query parameter (for clients that cannot set headers). Either may be NULL or empty.
 * Returns 1 and fills out when one was given and parses, 0 when none was given, -1 when the
 * given one is malformed (the caller treats it as unknown: the client gets the current state). */
int evid_from_request(const char *header, const char *query, struct evid *out);

#endif
