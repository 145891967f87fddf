/* What ingest puts on Kafka for an accepted or refused notification: the value, the key and the
 * CloudEvents type. Pure functions over their inputs, so that the wire format is unit-tested. */
#ifndef INGEST_EVENT_H
#define INGEST_EVENT_H

#include <stddef.h>

#include <jansson.h>

#include "jsonw.h"
#include "uis_parse.h"

/* The normalised event of SPEC §5 with its envelope. Returns a new reference or NULL. */
json_t *event_build(const struct uis_event *ev, const char *tenant, const char *received_at,
                    const char *event_id);

/* The same event as event_build, written as the bytes json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) gives for it, into w (initialised by the caller), without a tree: the
 * webhook's hot path. Returns 0, or -1 when ev was not filled by uis_parse or a string is not
 * valid UTF-8 (event_build gives NULL for the same events); w may then hold a failure. */
int event_write(const struct uis_event *ev, const char *tenant, const char *received_at,
                const char *event_id, struct jsonw *w);

/* "{tenant}:{from_number}", or "{tenant}:call:{call_id}" for a hidden number: all events of one
 * caller stay in one partition, in order. Returns 0 or -1 when out is too small. */
int event_key(const struct uis_event *ev, const char *tenant, char *out, size_t outlen);

/* "ru.uis.call.ringing" ... ; NULL for an unknown state. */
const char *event_ce_type(const struct uis_event *ev);

/* Largest a rejected-topic value (serialized) can be for a body cut to max_body and request
 * headers of at most header_bytes: JSON escapes a control byte as six ("\u0001"), the rest is
 * a fixed envelope. */
#define EVENT_REJECTED_ENVELOPE 4096
size_t event_rejected_max_size(size_t max_body, size_t header_bytes);

/* The most a Kafka record may hold (librdkafka's and the broker's default message.max.bytes,
 * headers and key included): a refused body must always fit on the rejected topic. */
#define EVENT_RECORD_MAX 1000000

/* 1 when a request header may be copied to the rejected topic. An allow-list: a header we did
 * not think of (a proxy's X-Forwarded-Uri or X-Original-URL holds the webhook path and its
 * token; Authorization, Cookie) never reaches a topic that people read. */
int event_header_kept(const char *name);

/* The rejected-topic value: the refusal, the status answered and the raw body (as UTF-8 text
 * when it is valid UTF-8 without NUL, else base64), cut to max_body bytes when longer.
 * headers is borrowed (an object of request headers, secrets already removed). */
json_t *event_rejected(const char *tenant, const char *received_at, const char *event_id,
                       unsigned status, const struct uis_error *err, const char *body, size_t len,
                       size_t total_len, json_t *headers);

#endif
