#include "dialer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/call_request.h"
#include "common/cloudevents.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/pgconn.h"
#include "common/sig.h"
#include "common/uis_api.h"
#include "dial_msg.h"
#include "dial_store.h"

#define DIALER_PRODUCE_MS 10000
#define DIALER_RETRY_MS   1000 /* between attempts when PostgreSQL or Kafka fail */

struct dialer {
    struct dialer_cfg cfg;
    rd_kafka_t *consumer, *producer;
    struct uis_api_client *uis;
    struct pgconn pg;
    pthread_t thread;
    int started;
    atomic_int stop;
    struct metrics_family *m_requests, *m_uis;
};

static int dialer_stopping(struct dialer *d)
{
    return atomic_load(&d->stop) || sig_stop_requested();
}

static void dialer_nap(struct dialer *d, long ms)
{
    for (long left = ms; left > 0 && !dialer_stopping(d); left -= 100) {
        struct timespec ts = {0, (left < 100 ? left : 100) * 1000000L};

        nanosleep(&ts, NULL);
    }
}

/* A PostgreSQL connection, waiting while there is none. NULL only when stopping. */
static PGconn *dialer_pg(struct dialer *d)
{
    char err[256];
    PGconn *conn;

    while (!(conn = pgconn_get(&d->pg, err, sizeof(err)))) {
        if (dialer_stopping(d))
            return NULL;
        log_warn("dialer waits for postgresql", json_pack("{s:s}", "reason", err));
        dialer_nap(d, DIALER_RETRY_MS);
    }
    return conn;
}

/* Produce value to topic with CloudEvents headers (continuing the request's trace), retrying
 * until Kafka takes it. Returns 0, or -1 when stopping. */
static int dialer_send(struct dialer *d, const char *topic, const char *key, const char *value,
                       const char *ce_id, const char *ce_type, const rd_kafka_message_t *req)
{
    struct ce_attrs in, ce;
    struct traceparent tp;
    char err[256];

    ce_headers_read(req, &in);
    if (tp_continue(in.traceparent, &tp) < 0)
        tp_generate(&tp);
    while (!dialer_stopping(d)) {
        if (ce_attrs_init(&ce, ce_id, ce_type, d->cfg.source, &tp) < 0) {
            log_error("call result not sent", json_pack("{s:s}", "reason", "ce attributes"));
            return -1;
        }
        if (kafka_produce_sync(d->producer, topic, key, strlen(key), value, strlen(value),
                               ce_headers_new(&ce), DIALER_PRODUCE_MS, err, sizeof(err)) == 0)
            return 0;
        log_warn("call result not acknowledged, retrying",
                 json_pack("{s:s, s:s}", "topic", topic, "reason", err));
        dialer_nap(d, DIALER_RETRY_MS);
    }
    return -1;
}

/* The outcome to the requesting user's stream. */
static int dialer_result(struct dialer *d, const struct callreq *r, const struct dial_outcome *o,
                         const rd_kafka_message_t *req)
{
    char at[IDS_TIME_LEN], key[CALLREQ_TENANT_MAX + 24], ce_id[IDS_UUID_LEN + 16];
    char *value;
    int rc;

    ids_rfc3339(ids_now_us(), at);
    callreq_key(r, key, sizeof(key));
    /* The same id for every emission of one outcome: a redelivery is a duplicate downstream. */
    snprintf(ce_id, sizeof(ce_id), "%s:%s", r->request_id, dial_status_name(o->status));
    value = dial_result_json(r, o, at);
    if (!value)
        return -1;
    rc = dialer_send(d, d->cfg.topic_popups, key, value, ce_id, "ru.crm.popup.call_request", req);
    free(value);
    metrics_inc(d->m_requests, o->reason);
    log_info("call request done",
             json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "tenant", r->tenant, "request_id",
                       r->request_id, "user", (json_int_t)r->user_id, "status",
                       dial_status_name(o->status), "reason", o->reason, "call_id",
                       o->call_session_id, "detail", o->detail));
    return rc;
}

/* Ask UIS, once unless UIS said it started nothing and the request is still fresh. */
static void dialer_call(struct dialer *d, const struct callreq *r, const struct dial_ctx *c,
                        int64_t deadline_ms, struct dial_outcome *o)
{
    json_t *params = dial_params(r, c->employee_id, c->virtual_number);
    struct uis_api_answer ans;

    if (!params) {
        dial_outcome_set(o, DIAL_FAILED, "uis_error");
        return;
    }
    for (;;) {
        uis_api_call(d->uis, UIS_API_CALL, "start.employee_call", c->key, params, &ans);
        metrics_inc(d->m_uis, uis_api_action_name(ans.action));
        if (!dial_may_retry(&ans) || dialer_stopping(d) ||
            ids_now_ms() + ans.retry_after_s * 1000 >= deadline_ms) {
            dial_from_answer(&ans, o);
            uis_api_answer_release(&ans);
            break;
        }
        log_warn("uis asks to wait before the call",
                 json_pack("{s:s, s:s, s:I}", "request_id", r->request_id, "mnemonic", ans.mnemonic,
                           "retry_after_s", (json_int_t)ans.retry_after_s));
        dialer_nap(d, ans.retry_after_s > 0 ? ans.retry_after_s * 1000 : 500);
        uis_api_answer_release(&ans);
    }
    json_decref(params);
}

/* The request's outcome before UIS is asked, when one is already decided. */
static int dialer_precheck(const struct dial_ctx *c, int expired, struct dial_outcome *o)
{
    const char *reason = expired                 ? "expired"
                         : !c->key[0]            ? "no_uis_key"
                         : !c->employee_id       ? "not_linked"
                         : !c->virtual_number[0] ? "no_virtual_number"
                                                 : NULL;

    if (!reason)
        return 0;
    dial_outcome_set(o, DIAL_FAILED, reason);
    return 1;
}

/* One request, to the end: 0 when its offset may be stored, -1 when stopping midway. */
static int dialer_handle(struct dialer *d, const rd_kafka_message_t *msg)
{
    struct callreq r;
    struct dial_ctx c;
    struct dial_outcome o;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    char err[512];
    PGconn *conn;
    int claimed, was_claimed;

    if (callreq_parse(msg->payload, msg->len, &r, err, sizeof(err)) < 0) {
        metrics_inc(d->m_requests, "invalid");
        log_warn("call request refused", json_pack("{s:s}", "reason", err));
        while (kafka_dlq_send(d->producer, d->cfg.topic_dlq, "dialer", msg, err, DIALER_PRODUCE_MS,
                              err, sizeof(err)) < 0) {
            if (dialer_stopping(d))
                return -1;
            dialer_nap(d, DIALER_RETRY_MS);
        }
        return 0;
    }
    if (ts <= 0)
        ts = ids_now_ms();
    for (;;) {
        if (!(conn = dialer_pg(d)))
            return -1;
        if (dial_store_context(conn, &r, &c, err, sizeof(err)) == 0) {
            claimed =
                c.tenant_found ? dial_store_claim(conn, &r, &o, &was_claimed, err, sizeof(err)) : 2;
            if (claimed >= 0)
                break;
        }
        pgconn_check_failure(&d->pg);
        log_warn("call request waits for postgresql", json_pack("{s:s}", "reason", err));
        dialer_nap(d, DIALER_RETRY_MS);
        if (dialer_stopping(d))
            return -1;
    }
    if (claimed == 2) { /* no such tenant: nothing to store, nothing to call */
        dial_outcome_set(&o, DIAL_FAILED, "no_uis_key");
        memset(&c, 0, sizeof(c));
        return dialer_result(d, &r, &o, msg);
    }
    if (claimed == 1) {
        if (!dialer_precheck(&c, ids_now_ms() - ts > d->cfg.max_age_s * 1000, &o))
            dialer_call(d, &r, &c, ts + d->cfg.max_age_s * 1000, &o);
    }
    /* claimed == 0: a redelivery. A row still "claimed" is a dialer that died (or lost UIS's
     * answer) after asking: UIS may have started the call, so it is never asked again. */
    if (claimed == 1 || was_claimed) {
        for (;;) {
            if (!(conn = dialer_pg(d)))
                break; /* stopping: the row stays claimed and says "unknown" on redelivery */
            if (dial_store_finish(conn, &r, &o, c.employee_id, c.virtual_number, err,
                                  sizeof(err)) == 0)
                break;
            pgconn_check_failure(&d->pg);
            log_warn("call request outcome waits for postgresql",
                     json_pack("{s:s}", "reason", err));
            dialer_nap(d, DIALER_RETRY_MS);
        }
    }
    memset(c.key, 0, sizeof(c.key));
    return dialer_result(d, &r, &o, msg);
}

static void *dialer_main(void *arg)
{
    struct dialer *d = arg;

    log_info("dialer running",
             json_pack("{s:s, s:s}", "topic", d->cfg.topic_requests, "group", d->cfg.group));
    while (!dialer_stopping(d)) {
        rd_kafka_message_t *msg;
        char err[256];

        /* Connected ahead of the first request, so that readiness tells the truth. */
        if (!pgconn_ready(&d->pg) && !pgconn_get(&d->pg, err, sizeof(err)))
            log_debug("dialer cannot reach postgresql yet", json_pack("{s:s}", "reason", err));
        msg = rd_kafka_consumer_poll(d->consumer, 200);

        if (!msg)
            continue;
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("call request consumer error",
                         json_pack("{s:s}", "error", rd_kafka_message_errstr(msg)));
        } else if (dialer_handle(d, msg) == 0) {
            kafka_consumer_store(d->consumer, msg);
        }
        rd_kafka_message_destroy(msg);
    }
    return NULL;
}

struct dialer *dialer_start(const struct dialer_cfg *cfg, char *err, size_t errlen)
{
    static const struct kafka_kv consumer_extra[] = {{"auto.offset.reset", "earliest"},
                                                     {NULL, NULL}};
    const char *topics[] = {cfg->topic_requests, NULL};
    char client[160];
    struct dialer *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    snprintf(client, sizeof(client), "dialer%s%s", cfg->instance_id[0] ? "-" : "",
             cfg->instance_id);
    if (pgconn_init(&d->pg, cfg->pg_dsn) < 0) {
        snprintf(err, errlen, "out of memory");
        free(d);
        return NULL;
    }
    d->producer = kafka_producer_new(cfg->brokers, client, NULL, err, errlen);
    d->consumer = d->producer ? kafka_consumer_new(cfg->brokers, cfg->group, cfg->instance_id,
                                                   topics, consumer_extra, err, errlen)
                              : NULL;
    d->uis = d->consumer
                 ? uis_api_client_new(cfg->data_url, cfg->call_url, cfg->timeout_ms, err, errlen)
                 : NULL;
    d->m_requests = metrics_counter(cfg->reg, "dialer_requests_total",
                                    "call requests by outcome (calling, or why no call)", "reason");
    d->m_uis =
        metrics_counter(cfg->reg, "dialer_uis_calls_total",
                        "start.employee_call answers by action (ok: a call started)", "result");
    if (!d->uis) {
        dialer_stop(d);
        return NULL;
    }
    if (pthread_create(&d->thread, NULL, dialer_main, d) != 0) {
        snprintf(err, errlen, "cannot start the dialer thread");
        dialer_stop(d);
        return NULL;
    }
    d->started = 1;
    return d;
}

int dialer_ready(struct dialer *d)
{
    return !d || pgconn_ready(&d->pg);
}

void dialer_stop(struct dialer *d)
{
    if (!d)
        return;
    atomic_store(&d->stop, 1);
    if (d->started)
        pthread_join(d->thread, NULL);
    if (d->consumer)
        kafka_consumer_close(d->consumer);
    if (d->producer) {
        int left = kafka_producer_close(d->producer, 10000);

        if (left > 0)
            log_error("call results not delivered at exit", json_pack("{s:i}", "count", left));
    }
    uis_api_client_free(d->uis);
    pgconn_release(&d->pg);
    free(d);
}
