/* One PostgreSQL connection that comes back by itself: after a failure the next pgc_get
 * reconnects, waiting with exponential backoff between attempts, and readiness follows. */
#ifndef COMMON_PGCONN_H
#define COMMON_PGCONN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct pgc {
    char *dsn; /* owned */
    PGconn *conn;
    int64_t next_try_us;
    long backoff_ms;
    atomic_int ready;
};

/* Copy dsn; no connection yet. Returns 0 or -ENOMEM. */
int pgc_init(struct pgc *pg, const char *dsn);

/* Close and free what pgc_init and pgc_get made. */
void pgc_release(struct pgc *pg);

/* A live connection, or NULL with the reason in err while PostgreSQL is unreachable or the
 * backoff has not elapsed (the caller pauses its work and tries again). The connection stays
 * owned by pg. */
PGconn *pgc_get(struct pgc *pg, char *err, size_t errlen);

/* Tell pg that a query failed: when the connection is broken it is dropped, and the next
 * pgc_get reconnects. Returns 1 when the failure was the connection's, 0 otherwise. */
int pgc_check_failure(struct pgc *pg);

/* 1 when the last attempt left a live connection. Safe from another thread. */
int pgc_ready(struct pgc *pg);

/* "what: reason" into err, the reason being the primary message of res when it has one, else
 * the connection's last error (conn may be NULL when res is given), without trailing newlines.
 * res stays the caller's. */
void pgc_error(PGconn *conn, const PGresult *res, const char *what, char *err, size_t errlen);

/* Milliseconds until the next reconnect attempt may be made (0 when one may be made now). */
long pgc_wait_ms(const struct pgc *pg);

#endif
