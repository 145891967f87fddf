#include "ctl_list.h"

#include "ctl_table.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A time column as people read it (UTC, to the second). */
#define CTL_T(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
/* A phone column matched on its digits' tail: 8 903..., +7 903... and 903... find the same. */
#define CTL_PHONE(col) "regexp_replace(COALESCE(" col ", ''), '\\D', '', 'g') LIKE '%' || $4"
#define CTL_MAXCOLS    9

/* One listing: display columns (text), their table, and the expressions the filters use;
 * a filter whose expression is NULL does not apply to the listing. */
struct ctl_list_spec {
    const char *name;
    const char *headers[CTL_MAXCOLS];
    const char *cols;
    const char *from;
    const char *time;
    const char *call;
    const char *phone;
    const char *state;
    const char *states; /* the values --state takes, space-separated */
    const char *order;
};

static const struct ctl_list_spec ctl_lists[] = {
    {"contacts",
     {"WHEN (UTC)", "CALL", "STATE", "DIR", "PHONE", "COUNTERPARTY", "ANSWERED BY", "RECORDINGS"},
     CTL_T("t.created_at") ", t.call_id, t.state::text, t.direction,"
                           " COALESCE(t.caller, NULLIF(t.caller_raw, ''), 'hidden'), cp.name,"
                           " u.login, cardinality(t.record_urls)::text",
     "contacts t LEFT JOIN counterparties cp ON cp.tenant_id = t.tenant_id AND cp.id = "
     "t.counterparty_id LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.answered_by",
     "t.created_at",
     "t.call_id",
     "(" CTL_PHONE("t.caller") " OR " CTL_PHONE("t.caller_raw") ")",
     "t.state::text",
     "ringing answered missed completed",
     "t.created_at DESC, t.id DESC"},
    {"tasks",
     {"CREATED (UTC)", "CALL", "STATE", "KIND", "TITLE", "PHONE", "COUNTERPARTY", "ASSIGNEE"},
     CTL_T("t.created_at") ", t.call_id, CASE WHEN t.done THEN 'done' ELSE 'open' END, t.kind,"
                           " t.title, t.phone, cp.name, u.login",
     "tasks t LEFT JOIN counterparties cp ON cp.tenant_id = t.tenant_id AND cp.id = "
     "t.counterparty_id LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = "
     "t.assignee_user_id",
     "t.created_at",
     "t.call_id",
     CTL_PHONE("t.phone"),
     "CASE WHEN t.done THEN 'done' ELSE 'open' END",
     "open done",
     "t.created_at DESC, t.id DESC"},
    {"deal-history",
     {"WHEN (UTC)", "CALL", "DEAL", "COUNTERPARTY", "DIR", "PHONE", "USER", "DURATION",
      "RECORDINGS"},
     CTL_T("t.occurred_at") ", t.call_id, d.title, cp.name, t.direction, t.phone, u.login,"
                            " t.duration_s || ' s', cardinality(t.record_urls)::text",
     "deal_history t LEFT JOIN deals d ON d.tenant_id = t.tenant_id AND d.id = t.deal_id"
     " LEFT JOIN counterparties cp ON cp.tenant_id = d.tenant_id AND cp.id = d.counterparty_id"
     " LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id",
     "t.occurred_at",
     "t.call_id",
     CTL_PHONE("t.phone"),
     NULL,
     NULL,
     "t.occurred_at DESC, t.id DESC"},
    {"counterparties",
     {"CREATED (UTC)", "ID", "NAME", "WORK PHONE", "MOBILE PHONE", "RESPONSIBLE", "ORIGIN"},
     CTL_T("t.created_at") ", t.id::text, t.name, t.work_phone, t.mobile_phone, u.login,"
                           " CASE WHEN t.auto_created_number IS NULL THEN 'CRM'"
                           " ELSE 'from a call' END",
     "counterparties t LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = "
     "t.responsible_user_id",
     "t.created_at",
     NULL,
     "(" CTL_PHONE("t.work_phone") " OR " CTL_PHONE("t.work_phone_raw") " OR " CTL_PHONE(
         "t.mobile_phone") " OR " CTL_PHONE("t.mobile_phone_raw") ")",
     NULL,
     NULL,
     "t.created_at DESC, t.id DESC"},
    {"deals",
     {"LAST ACTIVITY (UTC)", "ID", "TITLE", "STAGE", "COUNTERPARTY", "RESPONSIBLE"},
     CTL_T("t.last_activity_at") ", t.id::text, t.title, t.stage::text, cp.name, u.login",
     "deals t LEFT JOIN counterparties cp ON cp.tenant_id = t.tenant_id AND cp.id = "
     "t.counterparty_id LEFT JOIN users u ON u.tenant_id = cp.tenant_id AND u.id = "
     "cp.responsible_user_id",
     "t.last_activity_at",
     NULL,
     "(" CTL_PHONE("cp.work_phone") " OR " CTL_PHONE("cp.mobile_phone") ")",
     "t.stage::text",
     "open won lost closed",
     "t.last_activity_at DESC, t.id DESC"},
    {"users",
     {"ID", "LOGIN", "NAME", "STATE", "EXTENSIONS"},
     "t.id::text, t.login, t.name, CASE WHEN t.active THEN 'active' ELSE 'inactive' END,"
     " (SELECT string_agg(e.extension, ', ' ORDER BY e.extension) FROM extensions e"
     " WHERE e.tenant_id = t.tenant_id AND e.user_id = t.id)",
     "users t",
     NULL,
     NULL,
     NULL,
     "CASE WHEN t.active THEN 'active' ELSE 'inactive' END",
     "active inactive",
     "t.id DESC"},
};

struct ctl_list_args {
    const char *tenant;
    const char *since, *call, *phone, *state, *limit;
};

static int ctl_list_usage(const char *what, const char *detail)
{
    fprintf(stderr,
            "crmctl: %s%s\nusage: crmctl %s list TENANT [--limit N] [--since AGE|DATE]"
            " [--call ID] [--phone P] [--state S] | --json\n",
            what, detail, "contacts|tasks|deal-history|counterparties|deals|users");
    return 2;
}

int ctl_list_wants_json(int argc, char **argv)
{
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    }
    return 0;
}

static int ctl_list_parse(int argc, char **argv, struct ctl_list_args *a)
{
    static const char *const names[] = {"--since", "--call", "--phone", "--state", "--limit"};
    const char **slots[] = {&a->since, &a->call, &a->phone, &a->state, &a->limit};

    memset(a, 0, sizeof(*a));
    for (int i = 3; i < argc; i++) {
        size_t k = 0;

        if (strncmp(argv[i], "--", 2) != 0) {
            if (a->tenant)
                return ctl_list_usage("unexpected argument ", argv[i]);
            a->tenant = argv[i];
            continue;
        }
        while (k < sizeof(names) / sizeof(names[0]) && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k == sizeof(names) / sizeof(names[0]))
            return ctl_list_usage("unknown option ", argv[i]);
        if (i + 1 >= argc)
            return ctl_list_usage(argv[i], " needs a value");
        *slots[k] = argv[++i];
    }
    if (!a->tenant)
        return ctl_list_usage("", "list needs the tenant id");
    return 0;
}

/* 1 when word is one of the space-separated words of list. */
static int ctl_list_one_of(const char *word, const char *list)
{
    size_t n = strlen(word);

    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, " ");

        if (len == n && n > 0 && strncmp(p, word, n) == 0)
            return 1;
        p += len + (p[len] == ' ');
    }
    return 0;
}

/* Checks the filters against the listing; fills the query's parameters $2..$6. */
static int ctl_list_params(const struct ctl_list_spec *spec, const struct ctl_list_args *a,
                           char *since, size_t sincelen, char *digits, size_t digitslen,
                           char *limit, size_t limitlen)
{
    char err[160];
    size_t n = 0;
    char *end;
    long v;

    if ((a->since && !spec->time) || (a->call && !spec->call) || (a->phone && !spec->phone) ||
        (a->state && !spec->state)) {
        const char *opt = a->since && !spec->time    ? "--since"
                          : a->call && !spec->call   ? "--call"
                          : a->phone && !spec->phone ? "--phone"
                                                     : "--state";
        fprintf(stderr, "crmctl: %s does not apply to %s\n", opt, spec->name);
        return 2;
    }
    if (a->since && ctl_since_parse(a->since, time(NULL), since, sincelen, err, sizeof(err)) < 0)
        return ctl_list_usage("", err);
    if (a->state && !ctl_list_one_of(a->state, spec->states)) {
        fprintf(stderr, "crmctl: --state of %s is one of: %s\n", spec->name, spec->states);
        return 2;
    }
    if (a->phone) {
        for (const char *p = a->phone; *p && n + 1 < digitslen; p++) {
            if (isdigit((unsigned char)*p))
                digits[n++] = *p;
        }
        digits[n] = '\0';
        if (n < 3)
            return ctl_list_usage("", "--phone needs at least 3 digits");
        if (n > 10) /* the national number: 8 903 ... and +7 903 ... are the same phone */
            memmove(digits, digits + n - 10, 11);
    }
    snprintf(limit, limitlen, "50");
    if (a->limit) {
        v = strtol(a->limit, &end, 10);
        if (*a->limit == '\0' || *end != '\0' || v < 0 || v > 1000000)
            return ctl_list_usage("", "--limit wants a number (0: all rows)");
        snprintf(limit, limitlen, "%ld", v);
    }
    return 0;
}

int ctl_list_print_result(FILE *out, PGresult *res, size_t ncols, const char *const *headers,
                          size_t max_width)
{
    size_t nrows = (size_t)PQntuples(res);
    const char **cells = calloc((nrows + 1) * ncols + 1, sizeof(*cells));

    if (!cells)
        return -1;
    for (size_t c = 0; c < ncols; c++)
        cells[c] = headers ? headers[c] : PQfname(res, (int)c);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++)
            cells[(r + 1) * ncols + c] =
                PQgetisnull(res, (int)r, (int)c) ? NULL : PQgetvalue(res, (int)r, (int)c);
    }
    ctl_table_print(out, ncols, nrows, cells, max_width);
    free(cells);
    return 0;
}

static int ctl_list_print(const struct ctl_list_spec *spec, PGresult *res)
{
    size_t ncols = 0, nrows = (size_t)PQntuples(res), total;

    while (ncols < CTL_MAXCOLS && spec->headers[ncols])
        ncols++;
    if (nrows == 0 || ncols == 0) {
        printf("(none)\n");
        return 0;
    }
    if (ctl_list_print_result(stdout, res, ncols, spec->headers, 48) < 0) {
        fprintf(stderr, "crmctl: out of memory\n");
        return 1;
    }
    total = (size_t)strtoull(PQgetvalue(res, 0, (int)ncols), NULL, 10);
    if (total > nrows)
        printf("(%zu of %zu, newest first; --limit 0 shows all)\n", nrows, total);
    return 0;
}

int ctl_list_run(const char *pg_dsn, const char *what, int argc, char **argv)
{
    const struct ctl_list_spec *spec = NULL;
    struct ctl_list_args a;
    char since[64] = "", digits[32] = "", limit[24], sql[4096];
    const char *p[6];
    PGresult *res;
    PGconn *conn;
    int rc;

    for (size_t i = 0; i < sizeof(ctl_lists) / sizeof(ctl_lists[0]); i++) {
        if (strcmp(ctl_lists[i].name, what) == 0)
            spec = &ctl_lists[i];
    }
    if (!spec)
        return ctl_list_usage("no listing named ", what);
    if ((rc = ctl_list_parse(argc, argv, &a)) != 0 ||
        (rc = ctl_list_params(spec, &a, since, sizeof(since), digits, sizeof(digits), limit,
                              sizeof(limit))) != 0)
        return rc;
    /* Only the constant fragments above go into the text; every value is a parameter. */
    snprintf(sql, sizeof(sql),
             "SELECT %s, count(*) OVER ()::text FROM %s WHERE t.tenant_id = $1"
             " AND ($2::timestamptz IS NULL OR %s >= $2::timestamptz)"
             " AND ($3::text IS NULL OR %s = $3) AND ($4::text IS NULL OR %s)"
             " AND ($5::text IS NULL OR %s = $5)"
             " ORDER BY %s LIMIT NULLIF($6::bigint, 0)",
             spec->cols, spec->from, spec->time ? spec->time : "now()",
             spec->call ? spec->call : "''", spec->phone ? spec->phone : "false",
             spec->state ? spec->state : "''", spec->order);
    p[0] = a.tenant;
    p[1] = a.since ? since : NULL;
    p[2] = a.call;
    p[3] = a.phone ? digits : NULL;
    p[4] = a.state;
    p[5] = limit;
    conn = PQconnectdb(pg_dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "crmctl: postgresql: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    res = PQexecParams(conn, "SELECT 1 FROM tenants WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            fprintf(stderr, "crmctl: tenant %s does not exist\n", a.tenant);
        else
            fprintf(stderr, "crmctl: %s list: %s", spec->name, PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return 1;
    }
    PQclear(res);
    res = PQexecParams(conn, sql, 6, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "crmctl: %s list: %s", spec->name, PQerrorMessage(conn));
        rc = 1;
    } else {
        rc = ctl_list_print(spec, res);
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}
