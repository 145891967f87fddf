/* One PostgreSQL connection that comes back by itself: after a failure the next pgconn_get
 * reconnects, waiting with exponential backoff between attempts, and readiness follows. */
#ifndef COMMON_PGCONN_H
#define COMMON_PGCONN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct pgconn {
    char *dsn; /* owned */
    PGconn *conn;
    int64_t next_try_us;
    long backoff_ms;
    atomic_int ready;
};

/* Copy dsn; no connection yet. Returns 0 or -ENOMEM. */
int pgconn_init(struct pgconn *pg, const char *dsn);

/* Close and free what pgconn_init and pgconn_get made. */
void pgconn_release(struct pgconn *pg);

/* A live connection, or NULL with the reason in err while PostgreSQL is unreachable or the
 * backoff has not elapsed (the caller pauses its work and tries again). The connection stays
 * owned by pg. */
PGconn *pgconn_get(struct pgconn *pg, char *err, size_t errlen);

/* Tell pg that a query failed: when the connection is broken it is dropped, and the next
 * pgconn_get reconnects. Returns 1 when the failure was the connection's, 0 otherwise. */
int pgconn_check_failure(struct pgconn *pg);

/* 1 when the last attempt left a live connection. Safe from another thread. */
int pgconn_ready(struct pgconn *pg);

/* "what: reason" into err, the reason being the primary message of res when it has one, else
 * the connection's last error (conn may be NULL when res is given), without trailing newlines.
 * res stays the caller's. */
void pgconn_error(PGconn *conn, const PGresult *res, const char *what, char *err, size_t errlen);

/* Run sql with n text parameters (SQL only through parameters). On success returns 0 and, when
 * out is not NULL, hands the result over in *out (the caller PQclears it). On failure returns -1
 * with "what: reason" in err (pgconn_error) and nothing to clear. */
int pgconn_query(PGconn *conn, const char *sql, int n, const char *const *params, PGresult **out,
                 const char *what, char *err, size_t errlen);

/* pgconn_query with the parameters' type OIDs given (types may be NULL: the server infers). */
int pgconn_query_typed(PGconn *conn, const char *sql, int n, const Oid *types,
                       const char *const *params, PGresult **out, const char *what, char *err,
                       size_t errlen);

/* Milliseconds until the next reconnect attempt may be made (0 when one may be made now). */
long pgconn_wait_ms(const struct pgconn *pg);

#endif
