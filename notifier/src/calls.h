/* POST /v1/calls (issue 18): a CRM user asks for a call from the popup page. This module holds
 * what the HTTP edge needs beside the request's parsing (common/call_request.h): the producer
 * onto crm.call-requests.v1 (acks=all; the answer waits for the acknowledgement) with its own
 * polling thread, and the requests each user has in flight (until their result comes back on
 * the popup feed, or a time limit), so that nobody has more than a few: every replica reads the
 * topic back (every partition, from CALLS_IN_FLIGHT_S ago), so a user's requests through any
 * replica count. */
#ifndef NOTIFIER_CALLS_H
#define NOTIFIER_CALLS_H

#include <stddef.h>

#include "common/call_request.h"
#include "common/kafka.h"

struct metrics_registry;
struct calls;

struct calls_cfg {
    const char *brokers;
    const char *topic; /* crm.call-requests.v1 */
    const char *client_id;
    const char *source; /* ce_source */
    long max_in_flight; /* per user */
    long in_flight_s;   /* a request without a result stops counting after this */
};

/* Start the producer and its polling thread. NULL with the reason in err. reg is kept by the
 * caller. */
struct calls *calls_new(const struct calls_cfg *cfg, struct metrics_registry *reg, char *err,
                        size_t errlen);

/* Flush (every pending delivery reports, so every waiting request is answered), stop and
 * free. Call before the HTTP server stops. NULL does nothing. */
void calls_free(struct calls *c);

/* Count r (request_id, tenant, user_id set) as in flight for its user. Returns 0, or -1 when
 * the user has max_in_flight already (answer 429). */
int calls_reserve(struct calls *c, const struct callreq *r);

/* r is no longer in flight (its production failed, or its result arrived). */
void calls_release(struct calls *c, const char *tenant, const char *request_id);

/* A popup message seen on the feed: a call request's result ends that request's flight. */
void calls_observe(struct calls *c, const char *popup_id);

/* Produce r with CloudEvents headers; d (kept by the caller until d->done has run) reports the
 * acknowledgement on the polling thread. traceparent may be NULL. Returns 0 when handed to
 * librdkafka (d->done will run), -1 with the reason in err (d->done will not run). */
int calls_send(struct calls *c, const struct callreq *r, const char *traceparent,
               struct kafka_delivery *d, char *err, size_t errlen);

/* Count an answered request by its result ("accepted", "bad_request", ...). */
void calls_count(struct calls *c, const char *result);

#endif
