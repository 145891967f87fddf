/* The click-to-call requests each user has in flight (issue 18): counted from POST /v1/calls
 * until their outcome comes back on the popup feed, or a time limit, so that nobody has more
 * than a few. Every replica also notes the requests it reads on crm.call-requests.v1 (every
 * partition, whoever made them), so the limit holds across replicas. An outcome read before its
 * request (two feeds) leaves a marker that keeps the late request from counting. Pure and
 * bounded; thread-safe (the HTTP thread reserves, the feeds note and release). */
#ifndef NOTIFIER_INFLIGHT_H
#define NOTIFIER_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

struct inflight;

/* per_user: requests a user may have in flight; life_ms: how long one counts at most; cap:
 * requests remembered in all (beyond, new ones are refused). NULL when out of memory. */
struct inflight *inflight_new(long per_user, int64_t life_ms, size_t cap);
void inflight_free(struct inflight *f);

/* Count request_id of (tenant, user_id) at now_ms. 0, or -1 when the user has per_user already
 * (or the table is full). */
int inflight_reserve(struct inflight *f, const char *tenant, long long user_id,
                     const char *request_id, int64_t now_ms);

/* A request read on crm.call-requests.v1, counted until until_ms unless it is counted already
 * (this replica reserved it) or its outcome came first. Never refused for the user's limit: it
 * is on Kafka already. 0, or -1 when the table is full. */
int inflight_note(struct inflight *f, const char *tenant, long long user_id, const char *request_id,
                  int64_t until_ms, int64_t now_ms);

/* request_id of tenant is forgotten (its production failed: no-op when unknown). */
void inflight_release(struct inflight *f, const char *tenant, const char *request_id);

/* A popup id read on the feed at now_ms: "{tenant}:request:{request_id}" (a call request's
 * outcome) ends that request's flight; any other id does nothing. */
void inflight_observe(struct inflight *f, const char *popup_id, int64_t now_ms);

/* Requests counted (outcome markers are not). */
size_t inflight_count(struct inflight *f);

#endif
