#include "pipeline.h"

#include "common/cloudevents.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/kafka_batch.h"
#include "common/log.h"
#include "common/traceparent.h"
#include "diff.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RT_RETRY_MIN_MS   200
#define RT_RETRY_MAX_MS   5000
#define RT_DLQ_TIMEOUT_MS 10000

enum rt_item_kind { RT_ITEM_OK, RT_ITEM_INVALID, RT_ITEM_UNKNOWN_TENANT };

struct rt_item {
    rd_kafka_message_t *msg; /* owned */
    enum rt_item_kind kind;
    struct rt_event ev;
    char reason[256];
    char key[RT_TENANT_LEN + RT_CALL_ID_LEN + 24];
    struct traceparent tp;
    /* Per attempt: */
    const struct rt_tenant *tenant;
    size_t slot;
    long lookup; /* -1: hidden number, no lookup */
};

struct rt_batch {
    size_t n, cap;
    struct rt_item *items;
};

static void rt_batch_free(struct rt_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        rt_event_clear(&b->items[i].ev);
        rd_kafka_message_destroy(b->items[i].msg);
    }
    free(b->items);
    free(b);
}

static void rt_header(const rd_kafka_message_t *msg, const char *name, char *out, size_t outlen)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *val = NULL;
    size_t size = 0;

    out[0] = '\0';
    if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !val)
        return;
    if (size >= outlen)
        size = outlen - 1;
    memcpy(out, val, size);
    out[size] = '\0';
}

/* Take msg over and parse it once; a message that cannot be parsed is kept for the DLQ. */
static int rt_batch_add(struct rt_batch *b, rd_kafka_message_t *msg)
{
    struct rt_item *it;
    char tp[TP_LEN + 8];

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct rt_item *grown = realloc(b->items, cap * sizeof(*grown));

        if (!grown)
            return -1;
        b->items = grown;
        b->cap = cap;
    }
    it = &b->items[b->n++];
    memset(it, 0, sizeof(*it));
    it->msg = msg;
    if (msg->key_len && msg->key_len < sizeof(it->key))
        memcpy(it->key, msg->key, msg->key_len);
    rt_header(msg, "traceparent", tp, sizeof(tp));
    tp_continue(tp, &it->tp);
    if (!msg->payload ||
        rt_event_parse(msg->payload, msg->len, &it->ev, it->reason, sizeof(it->reason)) < 0) {
        if (!msg->payload)
            snprintf(it->reason, sizeof(it->reason), "value: empty");
        it->kind = RT_ITEM_INVALID;
        return 0;
    }
    if (!it->key[0]) /* keep one caller's actions together even without an input key */
        snprintf(it->key, sizeof(it->key), "%s:%s", it->ev.tenant,
                 it->ev.from[0] ? it->ev.from : it->ev.call_id);
    return 0;
}

int rt_pipeline_init(struct rt_pipeline *p, const struct rt_pipeline_cfg *cfg, rd_kafka_t *consumer,
                     rd_kafka_t *producer, struct pgconn *pg, struct metrics_registry *reg,
                     long directory_ttl_ms)
{
    static const double batch_buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->consumer = consumer;
    p->producer = producer;
    p->pg = pg;
    p->retry_ms = RT_RETRY_MIN_MS;
    rt_directory_init(&p->dir, directory_ttl_ms);
    p->m_events =
        metrics_counter(reg, "router_events_total", "Call events processed, by call_state", "type");
    p->m_outputs =
        metrics_counter(reg, "router_outputs_total", "Messages produced, by topic", "topic");
    p->m_decision = metrics_histogram(reg, "router_decision_seconds",
                                      "Time to merge one event and compute its outputs", NULL,
                                      metrics_latency_buckets, metrics_latency_nbuckets);
    p->m_popup_latency =
        metrics_histogram(reg, "router_event_to_popup_seconds",
                          "From the event's received_at to its popup message acknowledged by Kafka",
                          NULL, metrics_latency_buckets, metrics_latency_nbuckets);
    p->m_dlq =
        metrics_counter(reg, "router_dlq_total", "Events sent to the dead-letter topic", "reason");
    p->m_no_open_deal = metrics_counter(reg, "router_no_open_deal_total",
                                        "Recorded calls whose counterparty had no open deal", NULL);
    p->m_retries = metrics_counter(reg, "router_batch_retries_total",
                                   "Batches held for a retry, by cause", "cause");
    p->m_batch = metrics_histogram(reg, "router_batch_events", "Events per processed batch", NULL,
                                   batch_buckets, sizeof(batch_buckets) / sizeof(batch_buckets[0]));
    p->m_contradictions = metrics_counter(
        reg, "router_contradictions_total",
        "Calls whose notifications contradict each other (a MISSED for a talked call)", NULL);
    p->m_ambiguous = metrics_counter(reg, "router_ambiguous_counterparties_total",
                                     "Callers' numbers that match several counterparties", NULL);
    p->m_quiet = metrics_counter(reg, "router_quiet_closed_total",
                                 "Calls whose popups the tenant's quiet period closed", NULL);
    if (!p->m_contradictions || !p->m_ambiguous || !p->m_quiet)
        return -1;
    if (!p->m_events || !p->m_outputs || !p->m_decision || !p->m_popup_latency || !p->m_dlq ||
        !p->m_no_open_deal || !p->m_retries || !p->m_batch)
        return -1;
    return 0;
}

void rt_pipeline_release(struct rt_pipeline *p)
{
    rt_batch_free(p->held);
    p->held = NULL;
    rt_directory_release(&p->dir);
}

int rt_pipeline_ready(struct rt_pipeline *p)
{
    return !atomic_load(&p->degraded) && pgconn_ready(p->pg);
}

/* Everything one attempt at a batch builds; released after the attempt. */
struct rt_attempt {
    struct rt_lookup *lookups;
    size_t n_lookups;
    struct rt_call_slot *slots;
    size_t n_slots;
    struct rt_msgs out;
    size_t *msg_item;            /* index of the item each message came from */
    struct kafka_batch *outputs; /* the produced messages and their delivery reports */
    struct traceparent own_tp;   /* messages not caused by an input event (the quiet period) */
};

static void rt_attempt_clear(struct rt_attempt *a)
{
    for (size_t i = 0; i < a->n_lookups; i++)
        rt_lookup_clear(&a->lookups[i]);
    for (size_t i = 0; i < a->n_slots; i++)
        rt_facts_clear(&a->slots[i].facts);
    free(a->lookups);
    free(a->slots);
    free(a->msg_item);
    kafka_batch_free(a->outputs);
    rt_msgs_clear(&a->out);
    memset(a, 0, sizeof(*a));
}

enum rt_fail { RT_OK = 0, RT_FAIL_PG, RT_FAIL_KAFKA, RT_FAIL_MEMORY };

/* Resolve tenants once per tenant and batch (a cache refresh in the middle of the batch would
 * free what earlier items point at). */
static enum rt_fail rt_resolve_tenants(struct rt_pipeline *p, PGconn *conn, struct rt_batch *b,
                                       char *err, size_t errlen)
{
    for (size_t i = 0; i < b->n; i++) {
        struct rt_item *it = &b->items[i];
        const struct rt_tenant *t = NULL;
        int rc = -2;

        if (it->kind == RT_ITEM_INVALID)
            continue;
        it->kind = RT_ITEM_OK;
        for (size_t j = 0; j < i; j++) {
            if (b->items[j].kind != RT_ITEM_INVALID &&
                strcmp(b->items[j].ev.tenant, it->ev.tenant) == 0) {
                t = b->items[j].tenant;
                rc = b->items[j].kind == RT_ITEM_OK ? 0 : 1;
                break;
            }
        }
        if (rc == -2)
            rc = rt_directory_tenant(&p->dir, conn, it->ev.tenant, &t, err, errlen);
        if (rc < 0)
            return RT_FAIL_PG;
        it->tenant = t;
        if (rc == 1) {
            it->kind = RT_ITEM_UNKNOWN_TENANT;
            snprintf(it->reason, sizeof(it->reason), "unknown tenant %s", it->ev.tenant);
        }
    }
    return RT_OK;
}

static enum rt_fail rt_plan(struct rt_batch *b, struct rt_attempt *a)
{
    a->lookups = calloc(b->n + 1, sizeof(*a->lookups));
    a->slots = calloc(b->n + 1, sizeof(*a->slots));
    if (!a->lookups || !a->slots)
        return RT_FAIL_MEMORY;
    for (size_t i = 0; i < b->n; i++) {
        struct rt_item *it = &b->items[i];
        size_t j;

        it->lookup = -1;
        if (it->kind != RT_ITEM_OK)
            continue;
        for (j = 0; j < a->n_slots; j++) {
            if (strcmp(a->slots[j].tenant, it->ev.tenant) == 0 &&
                strcmp(a->slots[j].call_id, it->ev.call_id) == 0)
                break;
        }
        if (j == a->n_slots) {
            memcpy(a->slots[j].tenant, it->ev.tenant, sizeof(a->slots[j].tenant));
            memcpy(a->slots[j].call_id, it->ev.call_id, sizeof(a->slots[j].call_id));
            rt_facts_init(&a->slots[j].facts);
            a->n_slots++;
        }
        it->slot = j;
        if (!it->ev.from[0])
            continue; /* a hidden number never matches a counterparty */
        for (j = 0; j < a->n_lookups; j++) {
            if (strcmp(a->lookups[j].tenant, it->ev.tenant) == 0 &&
                strcmp(a->lookups[j].phone, it->ev.from) == 0 &&
                strcmp(a->lookups[j].call_id, it->ev.call_id) == 0)
                break;
        }
        if (j == a->n_lookups) {
            memcpy(a->lookups[j].tenant, it->ev.tenant, sizeof(a->lookups[j].tenant));
            memcpy(a->lookups[j].phone, it->ev.from, sizeof(a->lookups[j].phone));
            memcpy(a->lookups[j].call_id, it->ev.call_id, sizeof(a->lookups[j].call_id));
            a->n_lookups++;
        }
        it->lookup = (long)j;
    }
    return RT_OK;
}

static enum rt_fail rt_decide_all(struct rt_pipeline *p, struct rt_batch *b, struct rt_attempt *a,
                                  char *err, size_t errlen)
{
    a->msg_item = NULL;
    for (size_t i = 0; i < b->n; i++) {
        struct rt_item *it = &b->items[i];
        struct rt_step_result res;
        size_t before = a->out.n;
        int64_t t0 = ids_mono_us();
        size_t *grown;

        if (it->kind != RT_ITEM_OK)
            continue;
        /* Counted once per call: the lookup is pinned at the call's first decision. */
        if (!a->slots[it->slot].facts.pin.set && it->lookup >= 0 &&
            a->lookups[it->lookup].party.matches > 1)
            metrics_inc(p->m_ambiguous, NULL);
        if (rt_step(&a->slots[it->slot].facts, &it->ev, it->key, it->tenant,
                    it->lookup >= 0 ? &a->lookups[it->lookup].party : NULL, &a->out, &res, err,
                    errlen) < 0)
            return RT_FAIL_MEMORY;
        metrics_observe(p->m_decision, NULL, (double)(ids_mono_us() - t0) / 1e6);
        if (res.no_open_deal)
            metrics_inc(p->m_no_open_deal, NULL);
        if (res.contradiction) {
            metrics_inc(p->m_contradictions, NULL);
            log_warn("contradictory notifications: a MISSED for a call that was talked; "
                     "the call stays completed",
                     json_pack("{s:s, s:s, s:s}", "tenant", it->ev.tenant, "call_id",
                               it->ev.call_id, "event_id", it->ev.event_id));
        }
        grown = realloc(a->msg_item, (a->out.n + 1) * sizeof(*grown));
        if (!grown)
            return RT_FAIL_MEMORY;
        a->msg_item = grown;
        for (size_t k = before; k < a->out.n; k++)
            a->msg_item[k] = i;
    }
    return RT_OK;
}

/* Produce every output; rt_produce_wait() waits for their delivery reports. */
static enum rt_fail rt_produce_all(struct rt_pipeline *p, struct rt_batch *b, struct rt_attempt *a,
                                   char *err, size_t errlen)
{
    a->outputs = kafka_batch_new(p->producer, a->out.n);
    if (!a->outputs)
        return RT_FAIL_MEMORY;
    for (size_t i = 0; i < a->out.n; i++) {
        const struct rt_msg *m = &a->out.v[i];
        const struct traceparent *tp = b ? &b->items[a->msg_item[i]].tp : &a->own_tp;
        const char *topic =
            m->topic == RT_TOPIC_POPUPS ? p->cfg.topic_popups : p->cfg.topic_actions;
        struct ce_attrs ce;
        struct traceparent child;
        rd_kafka_headers_t *hdrs;

        /* Our ids (tenant, call id, type, event id) outgrow struct ce_attrs' id: the header is
         * replaced with the full id after the list is built. */
        if (tp_child(tp, &child) < 0 ||
            ce_attrs_init(&ce, "-", m->ce_type, p->cfg.source, &child) < 0 ||
            !(hdrs = ce_headers_new(&ce))) {
            snprintf(err, errlen, "headers for %s: cannot build", m->id);
            return RT_FAIL_MEMORY;
        }
        rd_kafka_header_remove(hdrs, "ce_id");
        if (rd_kafka_header_add(hdrs, "ce_id", -1, m->id, -1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(hdrs);
            snprintf(err, errlen, "headers for %s: cannot build", m->id);
            return RT_FAIL_MEMORY;
        }
        /* kafka_batch_produce takes the headers over in every case. */
        if (kafka_batch_produce(a->outputs, topic, m->key, strlen(m->key), m->value,
                                strlen(m->value), hdrs, KAFKA_WAIT_ALL, err, errlen) < 0)
            return RT_FAIL_KAFKA;
    }
    return RT_OK;
}

/* Wait for the report of every message produced (message.timeout.ms bounds this), whatever
 * happened meanwhile, so that a retry never overtakes a message still in flight. err may be
 * NULL when the attempt has already failed. */
static enum rt_fail rt_produce_wait(struct rt_attempt *a, char *err, size_t errlen)
{
    if (a->outputs && kafka_batch_wait(a->outputs, KAFKA_WAIT_ALL, err, errlen) < 0)
        return RT_FAIL_KAFKA;
    return RT_OK;
}

static enum rt_fail rt_dead_letters(struct rt_pipeline *p, struct rt_batch *b, char *err,
                                    size_t errlen)
{
    for (size_t i = 0; i < b->n; i++) {
        struct rt_item *it = &b->items[i];

        if (it->kind == RT_ITEM_OK)
            continue;
        if (kafka_dlq_send(p->producer, p->cfg.topic_dlq, "router", it->msg, it->reason,
                           RT_DLQ_TIMEOUT_MS, err, errlen) < 0)
            return RT_FAIL_KAFKA;
        log_warn("event sent to the dead-letter topic",
                 json_pack("{s:s, s:i, s:I}", "reason", it->reason, "partition",
                           (int)it->msg->partition, "offset", (json_int_t)it->msg->offset));
    }
    return RT_OK;
}

static enum rt_fail rt_process(struct rt_pipeline *p, struct rt_batch *b, char *err, size_t errlen)
{
    struct rt_attempt a = {0};
    enum rt_fail rc, drc;
    PGconn *conn = pgconn_get(p->pg, err, errlen);
    int in_tx = 0;
    int64_t now_us;

    if (!conn)
        return RT_FAIL_PG;
    rc = rt_resolve_tenants(p, conn, b, err, errlen);
    if (rc == RT_OK)
        rc = rt_plan(b, &a);
    if (rc == RT_OK && rt_directory_parties(conn, a.lookups, a.n_lookups, err, errlen) < 0)
        rc = RT_FAIL_PG;
    if (rc == RT_OK) {
        if (rt_store_exec(conn, "BEGIN", err, errlen) < 0)
            rc = RT_FAIL_PG;
        else
            in_tx = 1;
    }
    if (rc == RT_OK && rt_store_load(conn, a.slots, a.n_slots, err, errlen) < 0)
        rc = RT_FAIL_PG;
    if (rc == RT_OK)
        rc = rt_decide_all(p, b, &a, err, errlen);
    if (rc == RT_OK)
        rc = rt_produce_all(p, b, &a, err, errlen);
    /* The facts are written while the broker acknowledges; they count only from the COMMIT,
     * which follows the acknowledgements. */
    if (rc == RT_OK && rt_store_save(conn, a.slots, a.n_slots, err, errlen) < 0)
        rc = RT_FAIL_PG;
    drc = rt_produce_wait(&a, rc == RT_OK ? err : NULL, errlen);
    if (rc == RT_OK)
        rc = drc;
    if (rc == RT_OK)
        rc = rt_dead_letters(p, b, err, errlen);
    if (rc == RT_OK && rt_store_exec(conn, "COMMIT", err, errlen) < 0)
        rc = RT_FAIL_PG;
    else if (rc == RT_OK)
        in_tx = 0;
    if (in_tx) {
        char ignored[128];

        rt_store_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
    }
    if (rc == RT_FAIL_PG)
        pgconn_check_failure(p->pg);
    if (rc != RT_OK) {
        rt_attempt_clear(&a);
        return rc;
    }
    /* Durable: the outputs are acknowledged and the facts committed. */
    now_us = ids_now_us();
    for (size_t i = 0; i < a.out.n; i++) {
        const struct rt_msg *m = &a.out.v[i];

        metrics_inc(p->m_outputs,
                    m->topic == RT_TOPIC_POPUPS ? p->cfg.topic_popups : p->cfg.topic_actions);
        if (m->topic == RT_TOPIC_POPUPS)
            metrics_observe(p->m_popup_latency, NULL,
                            (double)(now_us - b->items[a.msg_item[i]].ev.received_us) / 1e6);
    }
    for (size_t i = 0; i < b->n; i++) {
        struct rt_item *it = &b->items[i];

        if (it->kind == RT_ITEM_OK)
            metrics_inc(p->m_events, rt_call_state_name(it->ev.state));
        else
            metrics_inc(p->m_dlq, it->kind == RT_ITEM_INVALID ? "invalid" : "unknown_tenant");
        /* A partition revoked meanwhile refuses the store: its next owner replays. */
        kafka_consumer_store(p->consumer, it->msg);
    }
    metrics_observe(p->m_batch, NULL, (double)b->n);
    rt_attempt_clear(&a);
    return RT_OK;
}

/* The quiet-period sweep: calls with a popup still open whose last notification is older than
 * their tenant's quiet_period_s. They are locked in key order as a batch locks its calls (a
 * replica's batch in flight makes the sweep wait, never deadlock), and checked again once
 * locked. */
static const char rt_quiet_sql[] =
    "SELECT r.tenant_id, r.call_id FROM router_calls r JOIN tenants t ON t.id = r.tenant_id "
    "WHERE r.state IN ('ringing', 'answered') "
    "AND r.updated_at < now() - make_interval(secs => t.quiet_period_s) "
    "AND EXISTS (SELECT 1 FROM jsonb_each_text(r.facts->'sent') s "
    "  WHERE s.value IN ('ringing', 'in_call')) "
    "ORDER BY r.tenant_id, r.call_id LIMIT $1::int";

static enum rt_fail rt_quiet_attempt(struct rt_pipeline *p, PGconn *conn, struct rt_attempt *a,
                                     long limit, long *closed, char *err, size_t errlen)
{
    const char *values[1];
    char lim[24];
    PGresult *res;
    enum rt_fail rc = RT_OK;
    int n;
    int64_t now_us = ids_now_us();

    snprintf(lim, sizeof(lim), "%ld", limit);
    values[0] = lim;
    res = PQexecParams(conn, rt_quiet_sql, 1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgconn_error(NULL, res, "quiet sweep", err, errlen);
        PQclear(res);
        return RT_FAIL_PG;
    }
    n = PQntuples(res);
    a->slots = calloc((size_t)n + 1, sizeof(*a->slots));
    if (!a->slots) {
        PQclear(res);
        return RT_FAIL_MEMORY;
    }
    for (int r = 0; r < n; r++) {
        struct rt_call_slot *s = &a->slots[a->n_slots];

        if (PQgetlength(res, r, 0) >= (int)sizeof(s->tenant) ||
            PQgetlength(res, r, 1) >= (int)sizeof(s->call_id))
            continue;
        snprintf(s->tenant, sizeof(s->tenant), "%s", PQgetvalue(res, r, 0));
        snprintf(s->call_id, sizeof(s->call_id), "%s", PQgetvalue(res, r, 1));
        rt_facts_init(&s->facts);
        a->n_slots++;
    }
    PQclear(res);
    if (a->n_slots == 0)
        return RT_OK;
    if (rt_store_exec(conn, "BEGIN", err, errlen) < 0 ||
        rt_store_load(conn, a->slots, a->n_slots, err, errlen) < 0)
        return RT_FAIL_PG;
    for (size_t i = 0; i < a->n_slots && rc == RT_OK; i++) {
        struct rt_call_slot *s = &a->slots[i];
        const struct rt_tenant *tenant = NULL;

        /* Locked now: a batch may have moved the call on since the SELECT. */
        if (!rt_facts_popup_open(&s->facts) || rt_facts_ended_us(&s->facts) || s->facts.quiet_us)
            continue;
        if (rt_directory_tenant(&p->dir, conn, s->tenant, &tenant, err, errlen) != 0) {
            rc = RT_FAIL_PG;
            break;
        }
        if (rt_quiet_step(&s->facts, s->tenant, s->call_id, tenant, now_us, &a->out, err, errlen) <
            0)
            rc = RT_FAIL_MEMORY;
        else
            (*closed)++;
    }
    if (rc == RT_OK)
        rc = rt_produce_all(p, NULL, a, err, errlen);
    if (rc == RT_OK && rt_store_save(conn, a->slots, a->n_slots, err, errlen) < 0)
        rc = RT_FAIL_PG;
    {
        enum rt_fail drc = rt_produce_wait(a, rc == RT_OK ? err : NULL, errlen);

        if (rc == RT_OK)
            rc = drc;
    }
    if (rc == RT_OK && rt_store_exec(conn, "COMMIT", err, errlen) < 0)
        rc = RT_FAIL_PG;
    return rc;
}

long rt_pipeline_quiet(struct rt_pipeline *p, long limit)
{
    struct rt_attempt a = {0};
    char err[512];
    PGconn *conn;
    enum rt_fail rc;
    long closed = 0;

    if (p->held || atomic_load(&p->degraded))
        return 0; /* the batch comes first; the sweep runs again later */
    conn = pgconn_get(p->pg, err, sizeof(err));
    if (!conn)
        return -1;
    if (tp_generate(&a.own_tp) < 0) {
        memset(&a.own_tp, 0, sizeof(a.own_tp));
    }
    rc = rt_quiet_attempt(p, conn, &a, limit, &closed, err, sizeof(err));
    if (rc != RT_OK) {
        char ignored[128];

        if (PQtransactionStatus(conn) != PQTRANS_IDLE)
            rt_store_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
        if (rc == RT_FAIL_PG)
            pgconn_check_failure(p->pg);
        log_warn("quiet-period sweep failed; retried at the next sweep",
                 json_pack("{s:s}", "reason", err));
        rt_attempt_clear(&a);
        return -1;
    }
    for (size_t i = 0; i < a.out.n; i++)
        metrics_inc(p->m_outputs, p->cfg.topic_popups);
    if (closed > 0) {
        metrics_add(p->m_quiet, NULL, (double)closed);
        log_info("quiet period closed the popups of silent calls",
                 json_pack("{s:i}", "calls", (int)closed));
    }
    rt_attempt_clear(&a);
    return closed;
}

static void rt_pause_all(struct rt_pipeline *p, int pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;

    if (rd_kafka_assignment(p->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    if (parts->cnt > 0) {
        rd_kafka_resp_err_t rerr = pause ? rd_kafka_pause_partitions(p->consumer, parts)
                                         : rd_kafka_resume_partitions(p->consumer, parts);

        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
            log_warn(pause ? "pause failed" : "resume failed",
                     json_pack("{s:s}", "reason", rd_kafka_err2str(rerr)));
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

static void rt_pause_one(struct rt_pipeline *p, const rd_kafka_message_t *msg)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(parts, rd_kafka_topic_name(msg->rkt), msg->partition);
    rd_kafka_pause_partitions(p->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Poll up to batch_max messages into b (the first wait is poll_ms). Returns -1 on a fatal
 * consumer error. */
static int rt_poll(struct rt_pipeline *p, struct rt_batch *b, int poll_ms, int pause_each)
{
    for (long n = 0; n < p->cfg.batch_max; n++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(p->consumer, n == 0 ? poll_ms : 0);

        if (!msg)
            break;
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("consumer error",
                         json_pack("{s:s}", "reason", rd_kafka_message_errstr(msg)));
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
                rd_kafka_message_destroy(msg);
                return -1;
            }
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (pause_each)
            rt_pause_one(p, msg);
        if (rt_batch_add(b, msg) < 0) {
            /* Cannot hold it: rewind its partition so it is read again. */
            rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
            rd_kafka_error_t *error;

            rd_kafka_topic_partition_list_add(parts, rd_kafka_topic_name(msg->rkt), msg->partition)
                ->offset = msg->offset;
            error = rd_kafka_seek_partitions(p->consumer, parts, 1000);
            if (error)
                rd_kafka_error_destroy(error);
            rd_kafka_topic_partition_list_destroy(parts);
            rd_kafka_message_destroy(msg);
            break;
        }
    }
    return 0;
}

int rt_pipeline_turn(struct rt_pipeline *p, int poll_ms)
{
    static const char *const causes[] = {"", "postgresql", "kafka", "memory"};
    struct rt_batch *b;
    enum rt_fail rc;
    char err[512];

    if (kafka_fatal(p->producer, err, sizeof(err))) {
        log_error("producer failed", json_pack("{s:s}", "reason", err));
        return -1;
    }
    if (p->held) {
        long wait_ms = (long)((p->retry_at_us - ids_mono_us()) / 1000);

        if (wait_ms > 0) {
            /* Serve the group (rebalances); anything that still arrives joins the held batch,
             * its partition paused too. */
            return rt_poll(p, p->held, (int)(wait_ms < poll_ms ? wait_ms : poll_ms), 1);
        }
        b = p->held;
        p->held = NULL;
    } else {
        b = calloc(1, sizeof(*b));
        if (!b)
            return 0;
        if (rt_poll(p, b, poll_ms, 0) < 0) {
            rt_batch_free(b);
            return -1;
        }
        if (b->n == 0) {
            rt_batch_free(b);
            return 0;
        }
    }
    rc = rt_process(p, b, err, sizeof(err));
    if (rc == RT_OK) {
        rt_batch_free(b);
        if (atomic_load(&p->degraded)) {
            log_info("batch processed after retries, resuming", NULL);
            rt_pause_all(p, 0);
            atomic_store(&p->degraded, 0);
        }
        p->retry_ms = RT_RETRY_MIN_MS;
        return 0;
    }
    metrics_inc(p->m_retries, causes[rc]);
    if (!atomic_load(&p->degraded)) {
        rt_pause_all(p, 1);
        atomic_store(&p->degraded, 1);
    }
    log_warn("batch held for a retry",
             json_pack("{s:s, s:s, s:i, s:i}", "cause", causes[rc], "reason", err, "events",
                       (int)b->n, "retry_ms", (int)p->retry_ms));
    p->held = b;
    p->retry_at_us = ids_mono_us() + (int64_t)p->retry_ms * 1000;
    p->retry_ms = p->retry_ms * 2 > RT_RETRY_MAX_MS ? RT_RETRY_MAX_MS : p->retry_ms * 2;
    return 0;
}
