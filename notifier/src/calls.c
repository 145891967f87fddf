#include "calls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cloudevents.h"
#include "common/compact_feed.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/rfc3339.h"
#include "inflight.h"

#define CALLS_SLOTS_MAX 8192 /* in-flight requests remembered in all; beyond, new ones wait */

struct calls {
    struct calls_cfg cfg;
    char *topic, *source;
    rd_kafka_t *rk;
    pthread_t poller;
    int polling;
    atomic_int stop;
    struct inflight *inflight;
    struct compact_feed *requests; /* every replica's requests, read back for the limit */
    struct metrics_family *m_requests;
    struct metrics_family *m_in_flight;
};

/* The gauge follows the table at every change (expiries show at the next one). */
static void calls_gauge(struct calls *c)
{
    metrics_set(c->m_in_flight, NULL, (double)inflight_count(c->inflight));
}

/* A request read on the topic (any replica's, or another system's): it counts against its
 * user's limit until its outcome, or until CALLS_IN_FLIGHT_S after it was made. */
static int calls_note(void *ctx, const char *key, size_t keylen, const char *value, size_t len)
{
    struct calls *c = ctx;
    struct callreq r;
    char err[128];
    int64_t at_us;

    (void)key;
    (void)keylen;
    if (!value || callreq_parse(value, len, &r, err, sizeof(err)) < 0 ||
        rfc3339_parse(r.requested_at, &at_us) < 0)
        return -1;
    if (inflight_note(c->inflight, r.tenant, r.user_id, r.request_id,
                      at_us / 1000 + (int64_t)c->cfg.in_flight_s * 1000, ids_now_ms()) < 0)
        return -1;
    calls_gauge(c);
    return 0;
}

static void *calls_poll(void *arg)
{
    struct calls *c = arg;

    while (!atomic_load(&c->stop))
        rd_kafka_poll(c->rk, 100);
    return NULL;
}

struct calls *calls_new(const struct calls_cfg *cfg, struct metrics_registry *reg, char *err,
                        size_t errlen)
{
    struct calls *c = calloc(1, sizeof(*c));

    if (!c || !(c->inflight = inflight_new(cfg->max_in_flight, (int64_t)cfg->in_flight_s * 1000,
                                           CALLS_SLOTS_MAX))) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    c->topic = strdup(cfg->topic);
    c->source = strdup(cfg->source);
    c->m_requests =
        metrics_counter(reg, "notifier_call_requests_total",
                        "POST /v1/calls answers by result (accepted: on Kafka)", "result");
    c->m_in_flight = metrics_gauge(reg, "notifier_call_requests_in_flight",
                                   "call requests of every replica awaiting their outcome", NULL);
    c->rk = c->topic && c->source
                ? kafka_producer_new(cfg->brokers, cfg->client_id, NULL, err, errlen)
                : NULL;
    if (!c->rk || pthread_create(&c->poller, NULL, calls_poll, c) != 0) {
        if (c->rk)
            snprintf(err, errlen, "cannot start the call requests' polling thread");
        calls_free(c);
        return NULL;
    }
    c->polling = 1;
    {
        char feed_id[200];

        snprintf(feed_id, sizeof(feed_id), "%s-requests", cfg->client_id);
        c->requests = compact_feed_start_since(cfg->brokers, cfg->topic, feed_id,
                                               ids_now_ms() - (int64_t)cfg->in_flight_s * 1000,
                                               calls_note, c, err, errlen);
    }
    if (!c->requests) {
        calls_free(c);
        return NULL;
    }
    return c;
}

void calls_free(struct calls *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, 1);
    if (c->polling)
        pthread_join(c->poller, NULL);
    compact_feed_stop(c->requests); /* its callback uses the table */
    /* The close flushes (polling itself): every delivery reports, and so resumes its request,
     * before it returns. */
    if (c->rk) {
        int left = kafka_producer_close(c->rk, 5000);

        if (left > 0)
            log_warn("call requests not acknowledged at exit", json_pack("{s:i}", "count", left));
    }
    inflight_free(c->inflight);
    free(c->topic);
    free(c->source);
    free(c);
}

int calls_reserve(struct calls *c, const struct callreq *r)
{
    int rc = inflight_reserve(c->inflight, r->tenant, r->user_id, r->request_id, ids_now_ms());

    calls_gauge(c);
    return rc;
}

void calls_release(struct calls *c, const char *tenant, const char *request_id)
{
    inflight_release(c->inflight, tenant, request_id);
    calls_gauge(c);
}

void calls_observe(struct calls *c, const char *popup_id)
{
    /* Every popup passes here: only a call request's outcome touches the table. */
    if (!c || !strstr(popup_id, ":request:"))
        return;
    inflight_observe(c->inflight, popup_id, ids_now_ms());
    calls_gauge(c);
}

int calls_send(struct calls *c, const struct callreq *r, const char *traceparent,
               struct kafka_delivery *d, char *err, size_t errlen)
{
    struct ce_attrs ce;
    struct traceparent tp;
    rd_kafka_headers_t *hdrs;
    char key[CALLREQ_TENANT_MAX + 24];
    char *value = callreq_to_json(r);
    rd_kafka_resp_err_t kerr;

    if (!traceparent || tp_continue(traceparent, &tp) < 0)
        tp_generate(&tp);
    if (!value || callreq_key(r, key, sizeof(key)) < 0 ||
        ce_attrs_init(&ce, r->request_id, "ru.crm.call.requested", c->source, &tp) < 0 ||
        !(hdrs = ce_headers_new(&ce))) {
        free(value);
        snprintf(err, errlen, "cannot build the call request");
        return -1;
    }
    /* RD_KAFKA_MSG_F_FREE: librdkafka takes ownership of value (and of hdrs) on success. */
    kerr = rd_kafka_producev(c->rk, RD_KAFKA_V_TOPIC(c->topic), RD_KAFKA_V_KEY(key, strlen(key)),
                             RD_KAFKA_V_VALUE(value, strlen(value)),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_HEADERS(hdrs),
                             RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    if (kerr) {
        free(value);
        rd_kafka_headers_destroy(hdrs);
        snprintf(err, errlen, "%s", rd_kafka_err2str(kerr));
        return -1;
    }
    return 0;
}

void calls_count(struct calls *c, const char *result)
{
    metrics_inc(c->m_requests, result);
}
