#include "ctl_call.h"

#include "ctl_list.h"
#include "ctl_table.h"

#include "common/cfg.h"
#include "common/kafka.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctl_call_cfg {
    const char *topic_call_events;
    const char *topic_actions;
    const char *topic_popups;
};

static const struct cfg_var ctl_call_vars[] = {
    {"TOPIC_CALL_EVENTS", CFG_STR, "uis.call-events.v1", "call events (crmctl call)",
     offsetof(struct ctl_call_cfg, topic_call_events), 0, 0},
    {"TOPIC_ACTIONS", CFG_STR, "crm.call-actions.v1", "router's actions (crmctl call)",
     offsetof(struct ctl_call_cfg, topic_actions), 0, 0},
    {"TOPIC_POPUPS", CFG_STR, "crm.popups.v1", "popup messages (crmctl call)",
     offsetof(struct ctl_call_cfg, topic_popups), 0, 0},
};

#define CTL_CALL_READ_MS 30000 /* the longest a topic's window may take to read */

/* The call's messages of one topic: {"ts": ms, "msg": object}, in no particular order. */
struct ctl_call_found {
    json_t *items; /* owned */
};

static int ctl_call_usage(const char *detail)
{
    fprintf(stderr, "crmctl: %s\nusage: crmctl call CALL_ID TENANT [--margin SECONDS]\n", detail);
    return 2;
}

/* "YYYY-MM-DD HH:MM:SS.mmm" (UTC) of a Kafka timestamp. */
static void ctl_call_time(int64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];

    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%s.%03d", buf, (int)(ms % 1000));
}

/* The call's messages on topic between from_ms and to_ms (Kafka timestamps) into found. */
static int ctl_call_scan(const char *brokers, const char *topic, int64_t from_ms, int64_t to_ms,
                         const char *tenant, const char *call_id, struct ctl_call_found *found,
                         char *err, size_t errlen)
{
    static const struct kafka_kv extra[] = {{"group.id", "crmctl-call"},
                                            {"enable.auto.commit", "false"},
                                            {"enable.auto.offset.store", "false"},
                                            {"enable.partition.eof", "true"},
                                            {NULL, NULL}};
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    int64_t *high = NULL, deadline;
    int open = 0, rc = -1;
    char errstr[256];

    if (!(conf = kafka_conf_new(brokers, "crmctl-call", extra, err, errlen)))
        return -1;
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka: %s", errstr);
        return -1;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt || rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka: cannot read the partitions of %s", topic);
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    high = calloc((size_t)md->topics[0].partition_cnt + 1, sizeof(*high));
    if (!high)
        goto out;
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            from_ms;
    if (rd_kafka_offsets_for_times(rk, parts, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka: cannot find the offsets of %s at the call's time", topic);
        goto out;
    }
    for (int i = 0; i < parts->cnt; i++) {
        int64_t lo = 0;

        if (rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo, &high[i],
                                             10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "kafka: cannot read the end of %s", topic);
            goto out;
        }
        /* Nothing at or after from_ms (offset END), or already at the end: skip it. */
        if (parts->elems[i].offset < 0 || parts->elems[i].offset >= high[i])
            parts->elems[i].offset = RD_KAFKA_OFFSET_END, high[i] = -1;
        else
            open++;
    }
    if (open == 0) {
        rc = 0;
        goto out;
    }
    if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka: cannot assign the partitions of %s", topic);
        goto out;
    }
    deadline = (int64_t)time(NULL) * 1000 + CTL_CALL_READ_MS;
    while (open > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        int idx = -1, done = 0;
        int64_t ts;

        if ((int64_t)time(NULL) * 1000 > deadline) {
            snprintf(err, errlen, "kafka: reading %s took longer than %d s", topic,
                     CTL_CALL_READ_MS / 1000);
            goto out;
        }
        if (!m)
            continue;
        for (int i = 0; i < parts->cnt; i++) {
            if (parts->elems[i].partition == m->partition)
                idx = i;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            done = 1;
        } else if (m->err) {
            snprintf(err, errlen, "kafka: %s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            goto out;
        } else {
            ts = rd_kafka_message_timestamp(m, NULL);
            done = ts > to_ms || (idx >= 0 && m->offset + 1 >= high[idx]);
            if (ts <= to_ms && m->payload) {
                json_t *msg = json_loadb(m->payload, m->len, 0, NULL);
                const char *t = json_string_value(json_object_get(msg, "tenant"));
                const char *c = json_string_value(json_object_get(msg, "call_id"));

                if (t && c && strcmp(t, tenant) == 0 && strcmp(c, call_id) == 0)
                    json_array_append_new(
                        found->items,
                        json_pack("{s:I, s:o}", "ts", (json_int_t)ts, "msg", json_incref(msg)));
                json_decref(msg);
            }
        }
        /* Each partition is closed once: its end, or a message past the window. */
        if (done && idx >= 0 && high[idx] >= 0) {
            high[idx] = -1;
            open--;
        }
        rd_kafka_message_destroy(m);
    }
    rc = 0;
out:
    free(high);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

static int ctl_call_by_ts(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "ts"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "ts"));

    return (x > y) - (x < y);
}

/* The text of a member: strings as they are, numbers and booleans printed, null as NULL. */
static const char *ctl_call_text(json_t *obj, const char *key, char *buf, size_t buflen)
{
    json_t *v = json_object_get(obj, key);

    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "yes" : "no";
    if (json_is_array(v)) {
        snprintf(buf, buflen, "%zu", json_array_size(v));
        return buf;
    }
    return NULL;
}

/* Prints a topic's messages as a table, oldest first: TIME then keys[] of each message. */
static void ctl_call_print(const char *title, const char *topic, json_t *items,
                           const char *const *headers, const char *const *keys, size_t nkeys)
{
    size_t n = json_array_size(items), ncols = nkeys + 1;
    json_t **sorted = calloc(n ? n : 1, sizeof(*sorted));
    const char **cells = calloc((n + 1) * ncols, sizeof(*cells));
    char(*bufs)[64] = calloc((n + 1) * ncols, sizeof(*bufs));

    printf("\n%s (%s)\n", title, topic);
    if (!sorted || !cells || !bufs) {
        printf("  out of memory\n");
        goto out;
    }
    if (n == 0) {
        printf("  none in the call's time window\n");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = json_array_get(items, i);
    qsort(sorted, n, sizeof(*sorted), ctl_call_by_ts);
    cells[0] = "KAFKA TIME (UTC)";
    for (size_t k = 0; k < nkeys; k++)
        cells[k + 1] = headers[k];
    for (size_t r = 0; r < n; r++) {
        json_t *msg = json_object_get(sorted[r], "msg");
        size_t base = (r + 1) * ncols;

        ctl_call_time(json_integer_value(json_object_get(sorted[r], "ts")), bufs[base],
                      sizeof(bufs[0]));
        cells[base] = bufs[base];
        for (size_t k = 0; k < nkeys; k++) {
            const char *key = keys[k];
            json_t *obj = msg;
            const char *dot = strchr(key, '.');
            char part[32];

            if (dot && (size_t)(dot - key) < sizeof(part)) { /* one level: "counterparty.name" */
                memcpy(part, key, (size_t)(dot - key));
                part[dot - key] = '\0';
                obj = json_object_get(msg, part);
                key = dot + 1;
            }
            cells[base + k + 1] = ctl_call_text(obj, key, bufs[base + k + 1], sizeof(bufs[0]));
        }
    }
    ctl_table_print(stdout, ncols, n, cells, 48);
out:
    free(bufs);
    free(cells);
    free(sorted);
}

/* Runs a query with the tenant and call id; NULL (reason printed) on failure. */
static PGresult *ctl_call_query(PGconn *conn, const char *sql, const char *tenant,
                                const char *call_id)
{
    const char *p[2] = {tenant, call_id};
    PGresult *res = PQexecParams(conn, sql, 2, NULL, p, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "crmctl: call: %s", PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Prints a query's rows as a table (headers from the column names), or "none". */
static int ctl_call_rows(PGconn *conn, const char *title, const char *sql, const char *tenant,
                         const char *call_id)
{
    PGresult *res = ctl_call_query(conn, sql, tenant, call_id);
    const char **cells;
    size_t ncols;
    int rc = 0;

    if (!res)
        return -1;
    ncols = (size_t)PQnfields(res);
    printf("\n%s\n", title);
    if (PQntuples(res) == 0) {
        printf("  none\n");
    } else if (PQntuples(res) == 1 && ncols > 5) { /* one wide row: a field a line */
        cells = calloc(2 * ncols, sizeof(*cells));
        for (size_t c = 0; cells && c < ncols; c++) {
            cells[2 * c] = PQfname(res, (int)c);
            cells[2 * c + 1] = PQgetisnull(res, 0, (int)c) ? NULL : PQgetvalue(res, 0, (int)c);
        }
        if (cells)
            ctl_table_print(stdout, 2, ncols - 1, cells, 0);
        rc = cells ? 0 : -1;
        free(cells);
    } else {
        rc = ctl_list_print_result(stdout, res, ncols, NULL, 64);
    }
    PQclear(res);
    return rc;
}

/* Times as people read them: UTC, to the second. */
static const char ctl_call_contact_sql[] =
    "SELECT c.id::text AS \"CONTACT\", c.revision::text AS \"REVISION\","
    " c.state::text AS \"STATE\", c.direction AS \"DIR\","
    " COALESCE(c.caller, 'hidden') AS \"PHONE\", cp.name AS \"COUNTERPARTY\","
    " u.login AS \"ANSWERED BY\","
    " to_char(c.ringing_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS \"RINGING (UTC)\","
    " to_char(c.answered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS \"ANSWERED (UTC)\","
    " to_char(c.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS \"ENDED (UTC)\","
    " array_to_string(c.record_urls, ' ') AS \"RECORDINGS\""
    " FROM contacts c LEFT JOIN counterparties cp ON cp.tenant_id = c.tenant_id"
    " AND cp.id = c.counterparty_id LEFT JOIN users u ON u.tenant_id = c.tenant_id"
    " AND u.id = c.answered_by WHERE c.tenant_id = $1 AND c.call_id = $2";

static const char ctl_call_router_sql[] =
    "SELECT state::text AS \"STATE\","
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS \"UPDATED (UTC)\","
    " facts::text AS \"FACTS\" FROM router_calls WHERE tenant_id = $1 AND call_id = $2";

static const char ctl_call_tasks_sql[] =
    "SELECT to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
    " AS \"CREATED (UTC)\", t.kind AS \"KIND\", t.title AS \"TITLE\","
    " CASE WHEN t.done THEN 'done' ELSE 'open' END AS \"STATE\","
    " cp.name AS \"COUNTERPARTY\", u.login AS \"ASSIGNEE\","
    " t.closed_by_call_id AS \"CLOSED BY CALL\" FROM tasks t"
    " LEFT JOIN counterparties cp ON cp.tenant_id = t.tenant_id AND cp.id = t.counterparty_id"
    " LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.assignee_user_id"
    " WHERE t.tenant_id = $1 AND t.call_id = $2 ORDER BY t.created_at, t.id";

static const char ctl_call_history_sql[] =
    "SELECT to_char(h.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
    " AS \"WHEN (UTC)\", d.title AS \"DEAL\", cp.name AS \"COUNTERPARTY\","
    " u.login AS \"USER\", h.duration_s || ' s' AS \"DURATION\","
    " array_to_string(h.record_urls, ' ') AS \"RECORDINGS\" FROM deal_history h"
    " LEFT JOIN deals d ON d.tenant_id = h.tenant_id AND d.id = h.deal_id"
    " LEFT JOIN counterparties cp ON cp.tenant_id = d.tenant_id AND cp.id = d.counterparty_id"
    " LEFT JOIN users u ON u.tenant_id = h.tenant_id AND u.id = h.user_id"
    " WHERE h.tenant_id = $1 AND h.call_id = $2 ORDER BY h.occurred_at, h.id";

/* The Kafka time window of the call: its rows' earliest and latest times (ms), or -1 when no
 * row mentions the call. */
static const char ctl_call_window_sql[] =
    "SELECT (extract(epoch FROM min(t)) * 1000)::bigint::text,"
    " (extract(epoch FROM max(t)) * 1000)::bigint::text FROM ("
    " SELECT created_at AS t FROM contacts WHERE tenant_id = $1 AND call_id = $2"
    " UNION ALL SELECT ringing_at FROM contacts WHERE tenant_id = $1 AND call_id = $2"
    " UNION ALL SELECT updated_at FROM contacts WHERE tenant_id = $1 AND call_id = $2"
    " UNION ALL SELECT updated_at FROM router_calls WHERE tenant_id = $1 AND call_id = $2"
    " UNION ALL SELECT created_at FROM tasks WHERE tenant_id = $1 AND call_id = $2"
    " UNION ALL SELECT occurred_at FROM deal_history WHERE tenant_id = $1 AND call_id = $2"
    " UNION ALL SELECT created_at FROM deal_history WHERE tenant_id = $1 AND call_id = $2) w";

/* Users' logins by id, to show popups' recipients by name: {"5": "anna"}. */
static json_t *ctl_call_logins(PGconn *conn, const char *tenant)
{
    const char *p[1] = {tenant};
    PGresult *res = PQexecParams(conn, "SELECT id::text, login FROM users WHERE tenant_id = $1", 1,
                                 NULL, p, NULL, NULL, 0);
    json_t *map = json_object();

    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        for (int r = 0; r < PQntuples(res); r++)
            json_object_set_new(map, PQgetvalue(res, r, 0), json_string(PQgetvalue(res, r, 1)));
    }
    PQclear(res);
    return map;
}

/* Replaces each popup's user_id by "login (#id)" for the table. */
static void ctl_call_name_users(json_t *items, json_t *logins)
{
    size_t i;
    json_t *it;

    json_array_foreach(items, i, it)
    {
        json_t *msg = json_object_get(it, "msg");
        json_t *uid = json_object_get(msg, "user_id");
        char id[32], text[160];
        const char *login;

        if (!json_is_integer(uid))
            continue;
        snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(uid));
        login = json_string_value(json_object_get(logins, id));
        snprintf(text, sizeof(text), "%s (#%s)", login ? login : "?", id);
        json_object_set_new(msg, "user", json_string(text));
    }
}

static int ctl_call_kafka(const char *brokers, const struct ctl_call_cfg *cfg, PGconn *conn,
                          const char *tenant, const char *call_id, int64_t from_ms, int64_t to_ms)
{
    /* source: absent for ingest's webhooks, "uis-calls-report" for the reconciler's events. */
    static const char *const ev_h[] = {"STATE",       "FROM",  "EXT",   "RECORDINGS",
                                       "RECEIVED AT", "EVENT", "SOURCE"};
    static const char *const ev_k[] = {
        "call_state",  "from_number", "user_extension", "call_record_urls",
        "received_at", "event_id",    "source"};
    /* CANCEL: a task.missed_call withdrawn because the call turned out talked. */
    static const char *const ac_h[] = {"ACTION",   "STATE",  "COUNTERPARTY", "DEAL",
                                       "ASSIGNEE", "CANCEL", "EVENT"};
    static const char *const ac_k[] = {
        "type", "state", "counterparty.mode", "deal_id", "assignee_user_id", "cancel", "event_id"};
    static const char *const pu_h[] = {"USER", "ACTION", "STATE", "COUNTERPARTY", "DEAL"};
    static const char *const pu_k[] = {"user", "action", "state", "counterparty.name",
                                       "deal.title"};
    struct {
        const char *title, *topic;
        const char *const *headers, *const *keys;
        size_t n;
    } topics[] = {
        {"notifications received", cfg->topic_call_events, ev_h, ev_k, 7},
        {"router's decisions: actions for crm-writer", cfg->topic_actions, ac_h, ac_k, 7},
        {"popups sent", cfg->topic_popups, pu_h, pu_k, 5},
    };
    char err[512];
    int rc = 0;

    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        struct ctl_call_found found = {json_array()};

        if (ctl_call_scan(brokers, topics[i].topic, from_ms, to_ms, tenant, call_id, &found, err,
                          sizeof(err)) < 0) {
            fprintf(stderr, "crmctl: %s\n", err);
            rc = 1;
        } else {
            if (i == 2) {
                json_t *logins = ctl_call_logins(conn, tenant);

                ctl_call_name_users(found.items, logins);
                json_decref(logins);
            }
            ctl_call_print(topics[i].title, topics[i].topic, found.items, topics[i].headers,
                           topics[i].keys, topics[i].n);
        }
        json_decref(found.items);
    }
    return rc;
}

int ctl_call_run(const char *pg_dsn, const char *kafka_brokers, int argc, char **argv)
{
    struct ctl_call_cfg cfg;
    const char *call_id = NULL, *tenant = NULL;
    long margin_s = 600;
    struct timespec now;
    int64_t from_ms, to_ms, now_ms;
    char err[512], from[40], to[40];
    PGresult *res;
    PGconn *conn;
    int rc = 0;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--margin") == 0 && i + 1 < argc) {
            char *end;

            margin_s = strtol(argv[++i], &end, 10);
            if (*end || margin_s < 0 || margin_s > 604800L)
                return ctl_call_usage("--margin wants seconds (0 to 604800)");
        } else if (strncmp(argv[i], "--", 2) == 0) {
            return ctl_call_usage("unknown option");
        } else if (!call_id) {
            call_id = argv[i];
        } else if (!tenant) {
            tenant = argv[i];
        } else {
            return ctl_call_usage("too many arguments");
        }
    }
    if (!tenant)
        return ctl_call_usage("call needs CALL_ID and TENANT");
    clock_gettime(CLOCK_REALTIME, &now);
    now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (cfg_load(ctl_call_vars, sizeof(ctl_call_vars) / sizeof(ctl_call_vars[0]), &cfg, err,
                 sizeof(err)) < 0) {
        fprintf(stderr, "crmctl: %s\n", err);
        return 1;
    }
    conn = PQconnectdb(pg_dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "crmctl: postgresql: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    if (!(res = ctl_call_query(conn, "SELECT name FROM tenants WHERE id = $1 AND $2::text <> ''",
                               tenant, call_id))) {
        PQfinish(conn);
        return 1;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "crmctl: tenant %s does not exist\n", tenant);
        PQclear(res);
        PQfinish(conn);
        return 1;
    }
    printf("call %s at %s (%s)\n", call_id, tenant, PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!(res = ctl_call_query(conn, ctl_call_window_sql, tenant, call_id))) {
        PQfinish(conn);
        return 1;
    }
    if (PQgetisnull(res, 0, 0)) {
        /* No row names the call (not written yet, or filtered out): look at the last day. */
        from_ms = now_ms - 86400 * 1000LL;
        to_ms = now_ms;
        printf("no row mentions this call: reading the last 24 hours of the topics\n");
    } else {
        from_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10) - margin_s * 1000;
        to_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10) + margin_s * 1000;
        if (to_ms > now_ms)
            to_ms = now_ms;
    }
    PQclear(res);
    ctl_call_time(from_ms, from, sizeof(from));
    ctl_call_time(to_ms, to, sizeof(to));
    printf("time window %s .. %s UTC (rows' times ± %ld s)\n", from, to, margin_s);

    if (ctl_call_kafka(kafka_brokers, &cfg, conn, tenant, call_id, from_ms, to_ms) != 0)
        rc = 1;
    if (ctl_call_rows(conn, "router's state for the call (router_calls)", ctl_call_router_sql,
                      tenant, call_id) < 0 ||
        ctl_call_rows(conn, "contact row written", ctl_call_contact_sql, tenant, call_id) < 0 ||
        ctl_call_rows(conn, "deal history written", ctl_call_history_sql, tenant, call_id) < 0 ||
        ctl_call_rows(conn, "tasks written", ctl_call_tasks_sql, tenant, call_id) < 0)
        rc = 1;
    PQfinish(conn);
    return rc;
}
