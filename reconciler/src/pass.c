#include "pass.h"

#include "admin_uis.h"
#include "dial_resolve.h"
#include "report_map.h"
#include "tz.h"

#include "common/cloudevents.h"
#include "common/dial_ready_pub.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/traceparent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASS_EVENTS_PER_CALL 40

/* The columns mapping needs; fewer columns, smaller pages. */
static const char *const pass_fields[] = {
    "id",
    "start_time",
    "finish_time",
    "direction",
    "is_lost",
    "contact_phone_number",
    "virtual_phone_number",
    "wait_duration",
    "talk_duration",
    "total_duration",
    "call_records",
    "communication_id",
    "employees",
    "call_api_external_id",
};

static int pass_stop_action(enum uis_api_action a)
{
    return a == UIS_API_KEY_REJECTED || a == UIS_API_IP_DENIED || a == UIS_API_ACCOUNT_INACTIVE ||
           a == UIS_API_DISABLED;
}

static int pass_to_utc(void *ctx, const char *local, int64_t *us)
{
    return tz_local_to_us(ctx, local, us);
}

/* Count the call, remember the limits, turn a refusal into the tenant's state. Returns the
 * step's result when the call failed, PASS_WORKED when it succeeded. */
static enum pass_result pass_answer(struct pass_ctx *ctx, const struct store_tenant *t,
                                    struct pass_memory *mem, const char *method,
                                    const struct uis_api_answer *ans)
{
    char labels[96], detail[400], err[512];
    PGconn *conn;

    snprintf(labels, sizeof(labels), "%s,%s", method, uis_api_action_name(ans->action));
    metrics_inc(ctx->mx.uis_calls, labels);
    if (ans->limits.known) {
        mem->limits = ans->limits;
        mem->limits_seen_us = ids_mono_us();
    }
    if (ans->action == UIS_API_OK) {
        mem->retry_s = 0;
        return PASS_WORKED;
    }
    snprintf(detail, sizeof(detail), "%s: %s", ans->mnemonic, ans->message);
    if (pass_stop_action(ans->action)) {
        conn = pgconn_get(ctx->pg, err, sizeof(err));
        if (!conn || store_mark(conn, t->id, uis_api_action_name(ans->action), detail, err,
                                sizeof(err)) < 0) {
            pgconn_check_failure(ctx->pg);
            log_warn("cannot mark the tenant",
                     json_pack("{s:s, s:s}", "tenant", t->id, "reason", err));
        }
        metrics_set(ctx->mx.stopped, t->id, 1);
        mem->stopped = 1;
        log_error("UIS refuses this tenant's key: reconciliation stopped for it",
                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "tenant", t->id, "method", method,
                            "mnemonic", ans->mnemonic, "message", ans->message, "advice",
                            uis_api_action_advice(ans->action)));
        mem->backoff_until_us = ids_mono_us() + (int64_t)ctx->cfg->stop_retry_s * 1000000;
        return PASS_STOPPED;
    }
    if (ans->action == UIS_API_BACKOFF) {
        metrics_inc(ctx->mx.backoffs, "limit_exceeded");
        mem->backoff_until_us = ids_mono_us() + (int64_t)ans->retry_after_s * 1000000;
        log_warn("UIS points spent: backing off",
                 json_pack("{s:s, s:s, s:i}", "tenant", t->id, "mnemonic", ans->mnemonic, "wait_s",
                           (int)ans->retry_after_s));
        return PASS_WAITING;
    }
    /* retry, bug, bad request: wait longer each time, up to the pass interval. */
    mem->retry_s =
        mem->retry_s ? mem->retry_s * 2 : (ans->retry_after_s > 0 ? ans->retry_after_s : 5);
    if (mem->retry_s > ctx->cfg->interval_s * 5)
        mem->retry_s = ctx->cfg->interval_s * 5;
    metrics_inc(ctx->mx.backoffs, uis_api_action_name(ans->action));
    mem->backoff_until_us = ids_mono_us() + (int64_t)mem->retry_s * 1000000;
    log_write(ans->action == UIS_API_RETRY ? LOG_WARN : LOG_ERROR, "UIS call failed",
              json_pack("{s:s, s:s, s:s, s:s, s:i}", "tenant", t->id, "method", method, "mnemonic",
                        ans->mnemonic, "message", ans->message, "retry_in_s", (int)mem->retry_s));
    return PASS_WAITING;
}

/* Wait when this tenant's share of the account's points is spent. */
static int pass_budget(struct pass_ctx *ctx, struct pass_memory *mem)
{
    long ago = (long)((ids_mono_us() - mem->limits_seen_us) / 1000000);
    long wait =
        uis_api_budget_wait(&mem->limits, ago, ctx->cfg->minute_share_pct, ctx->cfg->day_share_pct);

    if (wait <= 0)
        return 0;
    metrics_inc(ctx->mx.backoffs, "budget");
    mem->backoff_until_us = ids_mono_us() + (int64_t)wait * 1000000;
    return -1;
}

/* Every employee of the account into *all (a new array), page by page: the sync replaces the
 * tenant's employees, so a list cut at one page would drop the links of the rest. */
static enum pass_result pass_employees_fetch(struct pass_ctx *ctx, const struct store_tenant *t,
                                             struct pass_memory *mem, json_t **all)
{
    long offset = 0;

    *all = json_array();
    if (!*all)
        return PASS_WAITING;
    for (;;) {
        struct uis_api_answer ans;
        json_t *params, *rows;
        enum pass_result r;
        int last;

        params = json_pack("{s:I, s:I, s:[ssss]}", "offset", (json_int_t)offset, "limit",
                           (json_int_t)ctx->cfg->page_limit, "fields", "id", "full_name", "status",
                           "extension");
        uis_api_call(ctx->uis, UIS_API_DATA, "get.employees", t->key, params, &ans);
        json_decref(params);
        r = pass_answer(ctx, t, mem, "get.employees", &ans);
        rows = json_object_get(ans.result, "data");
        if (r == PASS_WORKED && (!json_is_array(rows) || json_array_extend(*all, rows) < 0)) {
            log_warn("UIS employees not read: no data array, or out of memory",
                     json_pack("{s:s, s:I}", "tenant", t->id, "offset", (json_int_t)offset));
            mem->backoff_until_us = ids_mono_us() + 5000000;
            r = PASS_WAITING;
        }
        offset += (long)json_array_size(rows);
        last = json_array_size(rows) == 0 || ans.total_items < 0 || offset >= ans.total_items;
        uis_api_answer_release(&ans);
        if (r != PASS_WORKED || last) {
            if (r != PASS_WORKED) {
                json_decref(*all);
                *all = NULL;
            }
            return r;
        }
    }
}

static enum pass_result pass_employees(struct pass_ctx *ctx, const struct store_tenant *t,
                                       struct pass_memory *mem)
{
    struct admin_uis_employee *e = NULL;
    struct admin_uis_sync sync = {0};
    json_t *rows;
    enum pass_result r;
    char err[512];
    PGconn *conn;
    size_t n;

    r = pass_employees_fetch(ctx, t, mem, &rows);
    if (r != PASS_WORKED)
        return r;
    e = admin_uis_employees_from_json(rows, &n); /* borrows rows' strings */
    conn = pgconn_get(ctx->pg, err, sizeof(err));
    if (!e || !conn || admin_uis_employees_sync(conn, t->id, e, n, &sync, err, sizeof(err)) < 0) {
        if (conn)
            pgconn_check_failure(ctx->pg);
        log_warn("cannot store UIS employees",
                 json_pack("{s:s, s:s}", "tenant", t->id, "reason", e ? err : "out of memory"));
        r = PASS_WAITING;
        mem->backoff_until_us = ids_mono_us() + 5000000;
    } else {
        mem->employees_synced_us = ids_mono_us();
        mem->employees_stale = 0;
        for (size_t i = 0; i < json_array_size(sync.conflicts); i++) {
            json_t *k = json_array_get(sync.conflicts, i);

            metrics_inc(ctx->mx.conflicts, NULL);
            log_warn("extension conflict: left as it is",
                     json_pack("{s:s, s:O, s:O, s:O, s:O}", "tenant", t->id, "employee_id",
                               json_object_get(k, "employee_id"), "user_id",
                               json_object_get(k, "user_id"), "extension",
                               json_object_get(k, "extension"), "reason",
                               json_object_get(k, "reason")));
        }
        if (sync.ext_updated)
            log_info("extensions follow UIS",
                     json_pack("{s:s, s:i}", "tenant", t->id, "updated", (int)sync.ext_updated));
        /* A sync can drop links: the notifier must not think a user still linked. */
        if (ctx->cfg->ready_topic[0] &&
            dialready_publish(conn, ctx->producer, ctx->cfg->ready_topic, ctx->cfg->source, t->id,
                              ctx->cfg->produce_timeout_ms, err, sizeof(err)) < 0)
            log_warn("dial readiness not published",
                     json_pack("{s:s, s:s}", "tenant", t->id, "reason", err));
    }
    json_decref(sync.conflicts);
    free(e);
    json_decref(rows);
    return r;
}

/* Produce events[0..n) and wait for every acknowledgement. Returns 0 when all were taken. */
static int pass_produce(struct pass_ctx *ctx, struct rm_event *ev, size_t n, char *err,
                        size_t errlen)
{
    struct kafka_delivery *d = calloc(n ? n : 1, sizeof(*d));
    struct traceparent page;
    int rc = 0;

    /* One trace per page: the events of one report read are one unit of work. */
    if (!d || tp_generate(&page) < 0) {
        free(d);
        snprintf(err, errlen, "out of memory or randomness");
        return -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct ce_attrs ce;
        struct traceparent tp;
        rd_kafka_headers_t *hdrs;
        char *value = json_dumps(ev[i].value, JSON_COMPACT);
        rd_kafka_resp_err_t kerr;

        if (!value || tp_child(&page, &tp) < 0 ||
            ce_attrs_init(&ce, ev[i].event_id, ev[i].ce_type, ctx->cfg->source, &tp)) {
            free(value);
            snprintf(err, errlen, "cannot build an event");
            rc = -1;
            break;
        }
        /* The event's own time: a repeated pass repeats the same attributes. */
        snprintf(ce.time, sizeof(ce.time), "%s", ev[i].time);
        hdrs = ce_headers_new(&ce);
        /* RD_KAFKA_MSG_F_FREE: librdkafka takes ownership of value on success. */
        kerr = rd_kafka_producev(ctx->producer, RD_KAFKA_V_TOPIC(ctx->cfg->topic),
                                 RD_KAFKA_V_KEY(ev[i].key, strlen(ev[i].key)),
                                 RD_KAFKA_V_VALUE(value, strlen(value)),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_HEADERS(hdrs),
                                 RD_KAFKA_V_OPAQUE(&d[i]), RD_KAFKA_V_END);
        if (kerr) {
            free(value);
            rd_kafka_headers_destroy(hdrs);
            snprintf(err, errlen, "produce: %s", rd_kafka_err2str(kerr));
            rc = -1;
        }
    }
    /* Every message handed over is reported (delivered or failed) before flush returns. */
    if (rd_kafka_flush(ctx->producer, ctx->cfg->produce_timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR &&
        rc == 0) {
        snprintf(err, errlen, "kafka did not acknowledge the events in time");
        rc = -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!atomic_load(&d[i].state) || d[i].err) {
            snprintf(err, errlen, "kafka refused an event: %s",
                     rd_kafka_err2str(atomic_load(&d[i].state) ? d[i].err
                                                               : RD_KAFKA_RESP_ERR__TIMED_OUT));
            rc = -1;
        }
    }
    if (rc < 0) /* reports still pending point into d: wait them out before freeing it */
        rd_kafka_flush(ctx->producer, 30000);
    free(d);
    return rc;
}

/* Compare the page's calls with what the pipeline knows and produce what it lacks. */
/* A call UIS started for one of our call requests (call_api_external_id = the request id)
 * resolves that request if the dialer never learnt UIS's answer. A failure is logged: the row
 * stays `unknown` and the next pass over the window tries again. */
static void pass_resolve(struct pass_ctx *ctx, PGconn *conn, const struct store_tenant *t,
                         const json_t *row, const char *call_id)
{
    const char *ext = json_string_value(json_object_get(row, "call_api_external_id"));
    char err[256];
    int rc;

    if (!ext)
        return;
    rc = dial_resolve(&ctx->cfg->resolve, conn, ctx->producer, t->id, ext, call_id, err,
                      sizeof(err));
    if (rc < 0)
        log_warn("call request not resolved",
                 json_pack("{s:s, s:s, s:s}", "tenant", t->id, "request_id", ext, "reason", err));
    else if (rc > 0)
        log_info(
            "call request resolved by the calls report",
            json_pack("{s:s, s:s, s:s}", "tenant", t->id, "request_id", ext, "call_id", call_id));
}

static int pass_page(struct pass_ctx *ctx, const struct store_tenant *t, struct pass_memory *mem,
                     json_t *rows, long *filled, long *events, char *err, size_t errlen)
{
    size_t n = json_array_size(rows), nev = 0, cap = n * PASS_EVENTS_PER_CALL + 1;
    struct rm_call *calls = calloc(n ? n : 1, sizeof(*calls));
    const char **ids = calloc(n ? n : 1, sizeof(*ids));
    struct rm_known *known = calloc(n ? n : 1, sizeof(*known));
    struct rm_event *ev = calloc(cap, sizeof(*ev));
    struct store_exts exts = {0};
    const char **url_space = NULL;
    PGresult *hold = NULL;
    PGconn *conn = pgconn_get(ctx->pg, err, errlen);
    size_t ncalls = 0;
    int rc = -1;

    *filled = *events = 0;
    if (!calls || !ids || !known || !ev || !conn) {
        if (conn)
            snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char why[160];

        if (rm_call_parse(json_array_get(rows, i), &calls[ncalls], why, sizeof(why)) < 0) {
            metrics_inc(ctx->mx.calls, "unreadable");
            log_warn("a report row was skipped",
                     json_pack("{s:s, s:s}", "tenant", t->id, "reason", why));
            continue;
        }
        ids[ncalls] = calls[ncalls].call_id;
        pass_resolve(ctx, conn, t, json_array_get(rows, i), calls[ncalls].call_id);
        ncalls++;
    }
    if (store_known(conn, t->id, ids, ncalls, known, &hold, &url_space, err, errlen) < 0 ||
        store_exts_load(conn, t->id, &exts, err, errlen) < 0) {
        pgconn_check_failure(ctx->pg);
        goto out;
    }
    for (size_t i = 0; i < ncalls; i++) {
        int k;

        for (size_t e = 0; e < calls[i].n_employees; e++) {
            if (!store_exts_has(&exts, calls[i].employees[e].id))
                mem->employees_stale = 1; /* a new employee: sync before the next page */
        }
        k = rm_map(&calls[i], &known[i], t->id, store_exts_get, &exts, pass_to_utc, (void *)t->tz,
                   ev + nev, cap - nev, err, errlen);
        if (k < 0)
            goto out;
        metrics_inc(ctx->mx.calls, !calls[i].finished ? "ongoing" : k ? "filled" : "complete");
        *filled += k > 0;
        nev += (size_t)k;
    }
    if (pass_produce(ctx, ev, nev, err, errlen) < 0)
        goto out;
    for (size_t i = 0; i < nev; i++) {
        char state[16];

        snprintf(state, sizeof(state), "%s",
                 json_string_value(json_object_get(ev[i].value, "call_state")));
        metrics_inc(ctx->mx.events, state);
    }
    *events = (long)nev;
    rc = 0;
out:
    for (size_t i = 0; ev && i < nev; i++)
        rm_event_clear(&ev[i]);
    store_exts_release(&exts);
    PQclear(hold);
    free(url_space);
    free(ev);
    free(known);
    free(ids);
    free(calls);
    return rc;
}

enum pass_result pass_step(struct pass_ctx *ctx, const struct store_tenant *t,
                           struct pass_memory *mem)
{
    const struct pass_cfg *cfg = ctx->cfg;
    int64_t now = ids_mono_us(), from_us = t->pass_from_us, till_us = t->pass_till_us;
    char from[TZ_LOCAL_LEN], till[TZ_LOCAL_LEN], err[512];
    long offset = t->pass_offset, filled = 0, events = 0, got, ans_total;
    struct uis_api_answer ans;
    enum pass_result r;
    json_t *params;
    PGconn *conn;
    int done;

    if (mem->stopped && strcmp(t->status, "ok") == 0) {
        /* The admin entered a key again (crmctl tenant uis-key cleared the stop). */
        mem->stopped = 0;
        mem->backoff_until_us = 0;
    }
    if (now < mem->backoff_until_us)
        return mem->stopped ? PASS_STOPPED : PASS_WAITING;
    if (strcmp(t->status, "ok") != 0 && strcmp(t->status, "retry") != 0 &&
        strcmp(t->status, "backoff") != 0 && mem->backoff_until_us == 0) {
        /* Stopped before this process started: try again only after stop_retry_s. */
        mem->backoff_until_us = now + (int64_t)cfg->stop_retry_s * 1000000;
        mem->stopped = 1;
        metrics_set(ctx->mx.stopped, t->id, 1);
        return PASS_STOPPED;
    }
    if (!tz_known(t->tz)) {
        /* A key stored without the check (a --settings file) has no time zone to read the
         * report's dates in: the admin runs the check, which clears this mark. */
        log_error("the tenant's UIS time zone is unknown: run crmctl tenant uis-key again",
                  json_pack("{s:s, s:s}", "tenant", t->id, "timezone", t->tz));
        conn = pgconn_get(ctx->pg, err, sizeof(err));
        if (conn &&
            store_mark(conn, t->id, "key_unchecked",
                       "no UIS time zone known: run crmctl tenant uis-key", err, sizeof(err)) < 0)
            pgconn_check_failure(ctx->pg);
        mem->stopped = 1;
        mem->backoff_until_us = now + (int64_t)cfg->stop_retry_s * 1000000;
        return PASS_STOPPED;
    }
    if (!from_us) {
        if (now < mem->next_pass_us)
            return PASS_IDLE;
        if (!window_next(&cfg->window, t->watermark_us, ids_now_us(), &from_us, &till_us))
            return PASS_IDLE;
        if (!(conn = pgconn_get(ctx->pg, err, sizeof(err))) ||
            store_pass_begin(conn, t->id, from_us, till_us, err, sizeof(err)) < 0)
            goto pg_trouble;
        offset = 0;
    }
    if (pass_budget(ctx, mem) < 0)
        return PASS_WAITING;
    if (mem->employees_stale || !mem->employees_synced_us ||
        now - mem->employees_synced_us > (int64_t)cfg->employees_sync_s * 1000000)
        return pass_employees(ctx, t, mem);
    if (tz_us_to_local(t->tz, from_us, from) < 0 || tz_us_to_local(t->tz, till_us, till) < 0)
        return PASS_FAILED;
    params = json_pack("{s:s, s:s, s:I, s:I, s:[{s:s, s:s}]}", "date_from", from, "date_till", till,
                       "offset", (json_int_t)offset, "limit", (json_int_t)cfg->page_limit, "sort",
                       "field", "id", "order", "asc");
    {
        json_t *fields = json_array();

        for (size_t i = 0; i < sizeof(pass_fields) / sizeof(pass_fields[0]); i++)
            json_array_append_new(fields, json_string(pass_fields[i]));
        json_object_set_new(params, "fields", fields);
    }
    uis_api_call(ctx->uis, UIS_API_DATA, "get.calls_report", t->key, params, &ans);
    json_decref(params);
    r = pass_answer(ctx, t, mem, "get.calls_report", &ans);
    if (r != PASS_WORKED) {
        uis_api_answer_release(&ans);
        return r;
    }
    got = (long)json_array_size(json_object_get(ans.result, "data"));
    if (pass_page(ctx, t, mem, json_object_get(ans.result, "data"), &filled, &events, err,
                  sizeof(err)) < 0) {
        uis_api_answer_release(&ans);
        log_warn(
            "page not reconciled; it will be read again",
            json_pack("{s:s, s:i, s:s}", "tenant", t->id, "offset", (int)offset, "reason", err));
        mem->backoff_until_us = ids_mono_us() + 5000000;
        return PASS_FAILED;
    }
    ans_total = ans.total_items;
    done = got == 0 || ans.total_items < 0 || offset + got >= ans.total_items ||
           offset + got > 100000 - cfg->page_limit;
    uis_api_answer_release(&ans);
    if (!(conn = pgconn_get(ctx->pg, err, sizeof(err))) ||
        store_pass_progress(conn, t->id, offset + got, got, filled, events, 1, err, sizeof(err)) <
            0 ||
        (done && store_pass_done(conn, t->id, till_us, err, sizeof(err)) < 0))
        goto pg_trouble;
    if (filled || events)
        log_info("reconciled a page",
                 json_pack("{s:s, s:i, s:i, s:i, s:i}", "tenant", t->id, "offset", (int)offset,
                           "calls", (int)got, "calls_filled", (int)filled, "events", (int)events));
    if (done) {
        metrics_inc(ctx->mx.passes, NULL);
        mem->next_pass_us = ids_mono_us() + (int64_t)cfg->interval_s * 1000000;
        metrics_set(ctx->mx.stopped, t->id, 0);
        if (got > 0 && offset + got < ans_total)
            log_warn("more calls in the window than UIS pages through (100,000): the rest waits "
                     "for the next pass",
                     json_pack("{s:s, s:I}", "tenant", t->id, "total", (json_int_t)ans_total));
    }
    return PASS_WORKED;
pg_trouble:
    pgconn_check_failure(ctx->pg);
    log_warn("postgresql trouble; the tenant waits",
             json_pack("{s:s, s:s}", "tenant", t->id, "reason", err));
    mem->backoff_until_us = ids_mono_us() + 2000000;
    return PASS_WAITING;
}
