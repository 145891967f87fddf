#include "common/pgconn.h"

#include "common/ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGCONN_BACKOFF_MIN_MS 100
#define PGCONN_BACKOFF_MAX_MS 5000

int pgconn_init(struct pgconn *pg, const char *dsn)
{
    memset(pg, 0, sizeof(*pg));
    pg->dsn = strdup(dsn);
    if (!pg->dsn)
        return -ENOMEM;
    pg->backoff_ms = PGCONN_BACKOFF_MIN_MS;
    atomic_store(&pg->ready, 0);
    return 0;
}

void pgconn_release(struct pgconn *pg)
{
    if (pg->conn)
        PQfinish(pg->conn);
    free(pg->dsn);
    memset(pg, 0, sizeof(*pg));
}

static void pgconn_drop(struct pgconn *pg)
{
    if (pg->conn)
        PQfinish(pg->conn);
    pg->conn = NULL;
    atomic_store(&pg->ready, 0);
    pg->next_try_us = ids_mono_us() + (int64_t)pg->backoff_ms * 1000;
    pg->backoff_ms *= 2;
    if (pg->backoff_ms > PGCONN_BACKOFF_MAX_MS)
        pg->backoff_ms = PGCONN_BACKOFF_MAX_MS;
}

PGconn *pgconn_get(struct pgconn *pg, char *err, size_t errlen)
{
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
        return pg->conn;
    if (pg->conn)
        pgconn_drop(pg);
    if (ids_mono_us() < pg->next_try_us) {
        snprintf(err, errlen, "postgresql unreachable, next attempt in %ld ms", pgconn_wait_ms(pg));
        return NULL;
    }
    pg->conn = PQconnectdb(pg->dsn);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(pg->conn);
        size_t n;

        snprintf(err, errlen, "postgresql connect: %s", msg);
        n = strlen(err);
        while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
            err[--n] = '\0';
        pgconn_drop(pg);
        return NULL;
    }
    pg->backoff_ms = PGCONN_BACKOFF_MIN_MS;
    atomic_store(&pg->ready, 1);
    return pg->conn;
}

int pgconn_check_failure(struct pgconn *pg)
{
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        pgconn_drop(pg);
        return 1;
    }
    return 0;
}

int pgconn_ready(struct pgconn *pg)
{
    return atomic_load(&pg->ready);
}

void pgconn_error(PGconn *conn, const PGresult *res, const char *what, char *err, size_t errlen)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    size_t n;

    if (!msg && res)
        msg = PQresultErrorMessage(res);
    if ((!msg || !msg[0]) && conn)
        msg = PQerrorMessage(conn);
    snprintf(err, errlen, "%s: %s", what, msg && msg[0] ? msg : "no result");
    n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

long pgconn_wait_ms(const struct pgconn *pg)
{
    int64_t left = pg->next_try_us - ids_mono_us();

    return left > 0 ? (long)(left / 1000) : 0;
}

int pgconn_query(PGconn *conn, const char *sql, int n, const char *const *params, PGresult **out,
                 const char *what, char *err, size_t errlen)
{
    return pgconn_query_typed(conn, sql, n, NULL, params, out, what, err, errlen);
}

int pgconn_query_typed(PGconn *conn, const char *sql, int n, const Oid *types,
                       const char *const *params, PGresult **out, const char *what, char *err,
                       size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, types, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pgconn_error(conn, res, what, err, errlen);
        PQclear(res);
        return -1;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return 0;
}
