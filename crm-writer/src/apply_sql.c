#include "apply_sql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sorted set of links, so that the stored array does not depend on arrival order. */
#define SQL_URL_SET(expr) "ARRAY(SELECT DISTINCT u FROM unnest(" expr ") AS u ORDER BY u)"

const char APPLY_SQL_CP_LOOKUP[] = "SELECT id FROM counterparties"
                                   " WHERE tenant_id = $1 AND auto_created_number = $2";

const char APPLY_SQL_CP_INSERT[] =
    "INSERT INTO counterparties (tenant_id, name, mobile_phone_raw, mobile_phone,"
    " responsible_user_id, auto_created_number, created_by_call_id)"
    " VALUES ($1, $2, $3, $4, $5::bigint, $4, $6)"
    " ON CONFLICT (tenant_id, auto_created_number) WHERE auto_created_number IS NOT NULL"
    " DO NOTHING RETURNING id";

/* True when merging EXCLUDED into c changes anything (NULL terms count as no change). */
#define SQL_CONTACT_CHANGED                                                                        \
    "COALESCE((EXCLUDED.state > c.state"                                                           \
    " OR EXCLUDED.ringing_at < COALESCE(c.ringing_at, 'infinity')"                                 \
    " OR EXCLUDED.answered_at < COALESCE(c.answered_at, 'infinity')"                               \
    " OR EXCLUDED.ended_at < COALESCE(c.ended_at, 'infinity')"                                     \
    " OR (c.answered_by IS NULL AND EXCLUDED.answered_by IS NOT NULL)"                             \
    " OR (c.counterparty_id IS NULL AND EXCLUDED.counterparty_id IS NOT NULL)"                     \
    " OR (c.caller IS NULL AND EXCLUDED.caller IS NOT NULL)"                                       \
    " OR (c.caller_raw = '' AND EXCLUDED.caller_raw <> '')"                                        \
    " OR (c.virtual_number IS NULL AND EXCLUDED.virtual_number IS NOT NULL)"                       \
    " OR NOT (EXCLUDED.record_urls <@ c.record_urls)"                                              \
    " OR EXCLUDED.talk_duration_s > COALESCE(c.talk_duration_s, -1)"                               \
    " OR EXCLUDED.total_duration_s > COALESCE(c.total_duration_s, -1)"                             \
    " OR EXCLUDED.wait_duration_s > COALESCE(c.wait_duration_s, -1)), false)"

const char APPLY_SQL_CONTACT[] =
    "INSERT INTO contacts AS c (tenant_id, call_id, direction, caller, caller_raw,"
    " virtual_number, counterparty_id, answered_by, state, ringing_at, answered_at, ended_at,"
    " record_urls, talk_duration_s, total_duration_s, wait_duration_s)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8::bigint, $9::contact_state,"
    " $10::timestamptz, $11::timestamptz, $12::timestamptz, " SQL_URL_SET(
        "$13::text[]") ", $14::integer, $15::integer, $16::integer)"
                       " ON CONFLICT (tenant_id, call_id) DO UPDATE SET"
                       " state = GREATEST(c.state, EXCLUDED.state),"
                       " ringing_at = LEAST(c.ringing_at, EXCLUDED.ringing_at),"
                       " answered_at = LEAST(c.answered_at, EXCLUDED.answered_at),"
                       " ended_at = LEAST(c.ended_at, EXCLUDED.ended_at),"
                       " answered_by = COALESCE(c.answered_by, EXCLUDED.answered_by),"
                       " counterparty_id = COALESCE(c.counterparty_id, EXCLUDED.counterparty_id),"
                       " caller = COALESCE(c.caller, EXCLUDED.caller),"
                       " caller_raw = CASE WHEN c.caller_raw = '' THEN EXCLUDED.caller_raw ELSE "
                       "c.caller_raw END,"
                       " virtual_number = COALESCE(c.virtual_number, EXCLUDED.virtual_number),"
                       /* The largest reported duration (GREATEST ignores NULL). */
                       " talk_duration_s = GREATEST(c.talk_duration_s, EXCLUDED.talk_duration_s),"
                       " total_duration_s = GREATEST(c.total_duration_s, "
                       "EXCLUDED.total_duration_s),"
                       " wait_duration_s = GREATEST(c.wait_duration_s, EXCLUDED.wait_duration_s),"
                       " record_urls = " SQL_URL_SET(
                           "c.record_urls || EXCLUDED.record_urls") ","
                                                                    " revision = c.revision + "
                                                                    "(" SQL_CONTACT_CHANGED
                                                                    ")::int,"
                                                                    " updated_at = CASE "
                                                                    "WHEN " SQL_CONTACT_CHANGED
                                                                    " THEN clock_timestamp()"
                                                                    " ELSE c.updated_at END"
                                                                    " RETURNING c.revision, "
                                                                    "json_build_object('tenant', "
                                                                    "c.tenant_id, 'id', c.id,"
                                                                    " 'call_id', c.call_id, "
                                                                    "'direction', c.direction, "
                                                                    "'caller', c.caller,"
                                                                    " 'caller_raw', c.caller_raw, "
                                                                    "'virtual_number', "
                                                                    "c.virtual_number,"
                                                                    " 'counterparty_id', "
                                                                    "c.counterparty_id, "
                                                                    "'answered_by', c.answered_by, "
                                                                    "'state', c.state,"
                                                                    " 'ringing_at', "
                                                                    "rfc3339(c.ringing_at), "
                                                                    "'answered_at', "
                                                                    "rfc3339(c.answered_at),"
                                                                    " 'ended_at', "
                                                                    "rfc3339(c.ended_at), "
                                                                    "'record_urls', c.record_urls,"
                                                                    " 'talk_duration_s', "
                                                                    "c.talk_duration_s,"
                                                                    " 'total_duration_s', "
                                                                    "c.total_duration_s,"
                                                                    " 'wait_duration_s', "
                                                                    "c.wait_duration_s,"
                                                                    " 'revision', c.revision, "
                                                                    "'created_at', "
                                                                    "rfc3339(c.created_at),"
                                                                    " 'updated_at', "
                                                                    "rfc3339(c.updated_at))::text";

const char APPLY_SQL_HISTORY[] =
    "WITH entry AS (INSERT INTO deal_history AS h (tenant_id, deal_id, call_id, direction,"
    " phone, user_id, duration_s, record_urls, occurred_at)"
    " VALUES ($1, $2::bigint, $3, $4, $5, $6::bigint, $7::integer, " SQL_URL_SET(
        "$8::text[]") ","
                      " $9::timestamptz)"
                      " ON CONFLICT (tenant_id, call_id, deal_id) DO UPDATE SET"
                      " record_urls = " SQL_URL_SET(
                          "h.record_urls || EXCLUDED.record_urls") ","
                                                                   " phone = COALESCE(h.phone, "
                                                                   "EXCLUDED.phone),"
                                                                   " user_id = COALESCE(h.user_id, "
                                                                   "EXCLUDED.user_id),"
                                                                   " duration_s = "
                                                                   "COALESCE(h.duration_s, "
                                                                   "EXCLUDED.duration_s),"
                                                                   " occurred_at = "
                                                                   "LEAST(h.occurred_at, "
                                                                   "EXCLUDED.occurred_at)"
                                                                   " WHERE NOT "
                                                                   "(EXCLUDED.record_urls <@ "
                                                                   "h.record_urls)"
                                                                   " OR (h.phone IS NULL AND "
                                                                   "EXCLUDED.phone IS NOT NULL)"
                                                                   " OR (h.user_id IS NULL AND "
                                                                   "EXCLUDED.user_id IS NOT NULL)"
                                                                   " OR (h.duration_s IS NULL AND "
                                                                   "EXCLUDED.duration_s IS NOT "
                                                                   "NULL)"
                                                                   " OR EXCLUDED.occurred_at < "
                                                                   "h.occurred_at"
                                                                   " RETURNING h.id)"
                                                                   " UPDATE deals SET "
                                                                   "last_activity_at = "
                                                                   "$9::timestamptz"
                                                                   " WHERE tenant_id = $1 AND id = "
                                                                   "$2::bigint AND "
                                                                   "last_activity_at < "
                                                                   "$9::timestamptz";

const char APPLY_SQL_TASK[] =
    "INSERT INTO tasks (tenant_id, call_id, kind, title, phone, counterparty_id,"
    " assignee_user_id)"
    " VALUES ($1, $2, 'missed_call', $3, $4, $5::bigint, $6::bigint)"
    " ON CONFLICT (tenant_id, call_id, kind) DO NOTHING";

/* A task a person closed stays: a manager may have worked on it. One that a later talked call
 * of the same number closed (closed_by_call_id) goes like an open one, since the call it was
 * written for turned out talked and so never had a missed-call task at all. */
const char APPLY_SQL_TASK_CANCEL[] = "DELETE FROM tasks WHERE tenant_id = $1 AND call_id = $2"
                                     " AND kind = 'missed_call'"
                                     " AND (NOT done OR closed_by_call_id IS NOT NULL)";

void sqlp_release(struct sqlp *p)
{
    free(p->array);
    memset(p, 0, sizeof(*p));
}

static void sqlp_str(struct sqlp *p, const char *v)
{
    p->values[p->n++] = v;
}

/* A count parameter; below 0 is SQL NULL (unknown). */
static void sqlp_count(struct sqlp *p, long long v)
{
    if (v < 0) {
        p->values[p->n++] = NULL;
        return;
    }
    snprintf(p->num[p->n], sizeof(p->num[p->n]), "%lld", v);
    p->values[p->n] = p->num[p->n];
    p->n++;
}

/* An id parameter; 0 (or below) is SQL NULL. */
static void sqlp_id(struct sqlp *p, long long v)
{
    sqlp_count(p, v > 0 ? v : -1);
}

static int sqlp_urls(struct sqlp *p, const struct action *a)
{
    p->array = apply_sql_text_array(a->record_urls, a->nurls);
    if (!p->array)
        return -ENOMEM;
    p->values[p->n++] = p->array;
    return 0;
}

char *apply_sql_text_array(const char *const *items, size_t n)
{
    size_t cap = 3;
    char *out, *w;

    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(items[i]) + 3;
    out = malloc(cap);
    if (!out)
        return NULL;
    w = out;
    *w++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        *w++ = '"';
        for (const char *s = items[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *w++ = '\\';
            *w++ = *s;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return out;
}

int apply_sql_cp_lookup(const struct action *a, struct sqlp *p)
{
    memset(p, 0, sizeof(*p));
    sqlp_str(p, a->tenant);
    sqlp_str(p, a->cp.phone);
    return 0;
}

int apply_sql_cp_insert(const struct action *a, struct sqlp *p)
{
    memset(p, 0, sizeof(*p));
    sqlp_str(p, a->tenant);
    sqlp_str(p, a->cp.name);
    sqlp_str(p, a->cp.phone_raw);
    sqlp_str(p, a->cp.phone);
    sqlp_id(p, a->cp.responsible_user_id);
    sqlp_str(p, a->call_id);
    return 0;
}

int apply_sql_contact(const struct action *a, long long cp_id, struct sqlp *p)
{
    memset(p, 0, sizeof(*p));
    sqlp_str(p, a->tenant);
    sqlp_str(p, a->call_id);
    sqlp_str(p, a->direction);
    sqlp_str(p, a->caller);
    sqlp_str(p, a->caller_raw);
    sqlp_str(p, a->virtual_number);
    sqlp_id(p, cp_id);
    sqlp_id(p, a->answered_by);
    sqlp_str(p, a->state);
    sqlp_str(p, a->ringing_at);
    sqlp_str(p, a->answered_at);
    sqlp_str(p, a->ended_at);
    if (sqlp_urls(p, a) < 0)
        return -ENOMEM;
    sqlp_count(p, a->talk_duration_s);
    sqlp_count(p, a->total_duration_s);
    sqlp_count(p, a->wait_duration_s);
    return 0;
}

int apply_sql_history(const struct action *a, struct sqlp *p)
{
    memset(p, 0, sizeof(*p));
    sqlp_str(p, a->tenant);
    sqlp_id(p, a->deal_id);
    sqlp_str(p, a->call_id);
    sqlp_str(p, a->direction);
    sqlp_str(p, a->phone);
    sqlp_id(p, a->user_id);
    sqlp_count(p, a->duration_s);
    if (sqlp_urls(p, a) < 0)
        return -ENOMEM;
    sqlp_str(p, a->occurred_at);
    return 0;
}

int apply_sql_task_cancel(const struct action *a, struct sqlp *p)
{
    memset(p, 0, sizeof(*p));
    sqlp_str(p, a->tenant);
    sqlp_str(p, a->call_id);
    return 0;
}

int apply_sql_task(const struct action *a, long long cp_id, struct sqlp *p)
{
    memset(p, 0, sizeof(*p));
    sqlp_str(p, a->tenant);
    sqlp_str(p, a->call_id);
    sqlp_str(p, a->title);
    sqlp_str(p, a->phone);
    sqlp_id(p, cp_id);
    sqlp_id(p, a->assignee_user_id);
    return 0;
}
