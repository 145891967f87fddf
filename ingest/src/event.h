/* What ingest puts on Kafka for an accepted or refused notification: the value, the key and the
 * CloudEvents type. Pure functions over their inputs, so that the wire format is unit-tested. */
#ifndef INGEST_EVENT_H
#define INGEST_EVENT_H

#include <stddef.h>

#include <jansson.h>

#include "uis_parse.h"

/* The normalised event of SPEC §5 with its envelope. Returns a new reference or NULL. */
json_t *event_build(const struct uis_event *ev, const char *tenant, const char *received_at,
                    const char *event_id);

/* "{tenant}:{from_number}", or "{tenant}:call:{call_id}" for a hidden number: all events of one
 * caller stay in one partition, in order. Returns 0 or -1 when out is too small. */
int event_key(const struct uis_event *ev, const char *tenant, char *out, size_t outlen);

/* "ru.uis.call.ringing" ... ; NULL for an unknown state. */
const char *event_ce_type(const struct uis_event *ev);

/* The rejected-topic value: the refusal, the status answered and the raw body (as UTF-8 text
 * when it is valid UTF-8 without NUL, else base64), cut to max_body bytes when longer.
 * headers is borrowed (an object of request headers, secrets already removed). */
json_t *event_rejected(const char *tenant, const char *received_at, const char *event_id,
                       unsigned status, const struct uis_error *err, const char *body, size_t len,
                       size_t total_len, json_t *headers);

#endif
