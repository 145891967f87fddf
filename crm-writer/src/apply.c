#include "apply.h"

#include "apply_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum apply_rc apply_classify(const char *sqlstate, int conn_ok)
{
    if (!conn_ok || !sqlstate || strlen(sqlstate) != 5)
        return APPLY_TRANSIENT;
    /* 22 data exception (bad value, out of range), 23 integrity constraint (unknown tenant,
     * user or deal): the action names something that does not fit, and no retry changes it.
     * Everything else (08 connection, 25006 read-only, 40 serialization and deadlock, 42
     * missing table or privilege, 53 disk full or out of memory, 57 shutdown, XX internal)
     * is the database's state: an operator fixes it and the same action then applies. */
    if (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0)
        return APPLY_DATA;
    return APPLY_TRANSIENT;
}

void apply_out_clear(struct apply_out *out)
{
    free(out->contact_json);
    memset(out, 0, sizeof(*out));
}

static void apply_trim(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* Describe a failed result: "23503 insert or update on table ... (constraint x)". The
 * DETAIL is left out on purpose: it may quote values (phone numbers). */
static enum apply_rc apply_failure(PGconn *conn, PGresult *res, char *err, size_t errlen)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    enum apply_rc rc = apply_classify(state, PQstatus(conn) == CONNECTION_OK);

    if (primary)
        snprintf(err, errlen, "postgresql %s: %s%s%s%s", state ? state : "?????", primary,
                 constraint ? " (constraint " : "", constraint ? constraint : "",
                 constraint ? ")" : "");
    else
        snprintf(err, errlen, "postgresql: %s", PQerrorMessage(conn));
    apply_trim(err);
    PQclear(res);
    return rc;
}

/* Prepared once per connection: parsing and planning the upsert costs more than running it. */
enum apply_stmt {
    STMT_CP_LOOKUP,
    STMT_CP_INSERT,
    STMT_CONTACT,
    STMT_HISTORY,
    STMT_TASK,
    STMT_TASK_CANCEL
};

static const struct {
    const char *name;
    const char *sql;
} apply_stmts[] = {
    [STMT_CP_LOOKUP] = {"crmw_cp_lookup", APPLY_SQL_CP_LOOKUP},
    [STMT_CP_INSERT] = {"crmw_cp_insert", APPLY_SQL_CP_INSERT},
    [STMT_CONTACT] = {"crmw_contact", APPLY_SQL_CONTACT},
    [STMT_HISTORY] = {"crmw_history", APPLY_SQL_HISTORY},
    [STMT_TASK] = {"crmw_task", APPLY_SQL_TASK},
    [STMT_TASK_CANCEL] = {"crmw_task_cancel", APPLY_SQL_TASK_CANCEL},
};

enum apply_rc apply_prepare(PGconn *conn, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(apply_stmts) / sizeof(apply_stmts[0]); i++) {
        PGresult *res = PQprepare(conn, apply_stmts[i].name, apply_stmts[i].sql, 0, NULL);

        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            apply_failure(conn, res, err, errlen);
            return APPLY_TRANSIENT;
        }
        PQclear(res);
    }
    return APPLY_OK;
}

static enum apply_rc apply_run(PGconn *conn, enum apply_stmt stmt, const struct sqlp *p,
                               PGresult **out, char *err, size_t errlen)
{
    PGresult *res = PQexecPrepared(conn, apply_stmts[stmt].name, p->n, p->values, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return apply_failure(conn, res, err, errlen);
    if (out)
        *out = res;
    else
        PQclear(res);
    return APPLY_OK;
}

enum apply_rc apply_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);

    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        return apply_failure(conn, res, err, errlen);
    PQclear(res);
    return APPLY_OK;
}

/* The id in the first row's first column, 0 when there is no row. */
static long long apply_first_id(PGresult *res)
{
    long long id = 0;

    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return id;
}

/* Find or create the auto-created counterparty of the number. The look-up first keeps the
 * common case (the number is known) at one round trip. */
static enum apply_rc apply_cp_create(PGconn *conn, const struct action *a, long long *id,
                                     int *raced, char *err, size_t errlen)
{
    struct sqlp p;
    PGresult *res = NULL;
    enum apply_rc rc;

    apply_sql_cp_lookup(a, &p);
    rc = apply_run(conn, STMT_CP_LOOKUP, &p, &res, err, errlen);
    if (rc != APPLY_OK || (*id = apply_first_id(res)) > 0)
        return rc;
    apply_sql_cp_insert(a, &p);
    rc = apply_run(conn, STMT_CP_INSERT, &p, &res, err, errlen);
    if (rc != APPLY_OK || (*id = apply_first_id(res)) > 0)
        return rc;
    /* A concurrent transaction inserted the number and committed while we waited on the
     * unique index: this new statement's snapshot sees its row. */
    *raced = 1;
    apply_sql_cp_lookup(a, &p);
    rc = apply_run(conn, STMT_CP_LOOKUP, &p, &res, err, errlen);
    if (rc != APPLY_OK || (*id = apply_first_id(res)) > 0)
        return rc;
    snprintf(err, errlen, "counterparty: auto-created counterparty vanished after conflict");
    return APPLY_TRANSIENT;
}

static enum apply_rc apply_cp(PGconn *conn, const struct action *a, long long *id, int *raced,
                              char *err, size_t errlen)
{
    *id = 0;
    switch (a->cp.mode) {
    case ACTION_CP_NONE:
        return APPLY_OK;
    case ACTION_CP_EXISTING:
    case ACTION_CP_FIXED:
        *id = a->cp.id;
        return APPLY_OK;
    case ACTION_CP_CREATE:
        return apply_cp_create(conn, a, id, raced, err, errlen);
    }
    return APPLY_OK;
}

static enum apply_rc apply_contact(PGconn *conn, const struct action *a, struct apply_out *out,
                                   char *err, size_t errlen)
{
    struct sqlp p;
    PGresult *res = NULL;
    long long cp_id;
    enum apply_rc rc = apply_cp(conn, a, &cp_id, &out->cp_raced, err, errlen);

    if (rc != APPLY_OK)
        return rc;
    if (apply_sql_contact(a, cp_id, &p) < 0) {
        snprintf(err, errlen, "contact: out of memory");
        return APPLY_TRANSIENT;
    }
    rc = apply_run(conn, STMT_CONTACT, &p, &res, err, errlen);
    sqlp_release(&p);
    if (rc != APPLY_OK)
        return rc;
    if (PQntuples(res) == 1) {
        out->revision = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->contact_json = strdup(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    if (!out->contact_json) {
        snprintf(err, errlen, "contact: no row returned");
        return APPLY_TRANSIENT;
    }
    return APPLY_OK;
}

static enum apply_rc apply_history(PGconn *conn, const struct action *a, char *err, size_t errlen)
{
    struct sqlp p;
    enum apply_rc rc;

    if (apply_sql_history(a, &p) < 0) {
        snprintf(err, errlen, "deal history: out of memory");
        return APPLY_TRANSIENT;
    }
    rc = apply_run(conn, STMT_HISTORY, &p, NULL, err, errlen);
    sqlp_release(&p);
    return rc;
}

static enum apply_rc apply_task(PGconn *conn, const struct action *a, struct apply_out *out,
                                char *err, size_t errlen)
{
    struct sqlp p;
    long long cp_id;
    enum apply_rc rc;

    if (a->cancel) { /* never creates the counterparty it no longer needs */
        apply_sql_task_cancel(a, &p);
        return apply_run(conn, STMT_TASK_CANCEL, &p, NULL, err, errlen);
    }
    rc = apply_cp(conn, a, &cp_id, &out->cp_raced, err, errlen);
    if (rc != APPLY_OK)
        return rc;
    apply_sql_task(a, cp_id, &p);
    return apply_run(conn, STMT_TASK, &p, NULL, err, errlen);
}

enum apply_rc apply_action(PGconn *conn, const struct action *a, struct apply_out *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof(*out));
    switch (a->type) {
    case ACTION_CONTACT_UPSERT:
        return apply_contact(conn, a, out, err, errlen);
    case ACTION_DEAL_HISTORY_ADD:
        return apply_history(conn, a, err, errlen);
    case ACTION_TASK_MISSED_CALL:
        return apply_task(conn, a, out, err, errlen);
    }
    snprintf(err, errlen, "type: unknown action type");
    return APPLY_DATA;
}
