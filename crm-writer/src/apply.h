/* Applying one parsed action inside the caller's open transaction, and the classification of
 * PostgreSQL failures into "this message can never apply" and "try the batch again". Every
 * function returns APPLY_OK (0) or a negative apply_rc, with the reason in err. */
#ifndef CRMW_APPLY_H
#define CRMW_APPLY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "action.h"

enum apply_rc {
    APPLY_OK = 0,
    /* The message itself cannot apply (SQLSTATE class 22 bad value, 23 constraint, or a
     * contract violation): dead letter. */
    APPLY_DATA = -1,
    /* Anything else: not the message's fault (connection, deadlock, serialization, a missing
     * table or privilege, a read-only or full database): keep the batch and retry it. */
    APPLY_TRANSIENT = -2,
};

/* Classify a failure from its SQLSTATE (NULL when libpq had none) and whether the connection
 * is still usable. Only classes 22 and 23 on a live connection are the data's fault: a
 * failure we cannot attribute to the message must never dead-letter every action. Pure. */
enum apply_rc apply_classify(const char *sqlstate, int conn_ok);

/* What applying produced. contact_json is owned (free()) and set only for contact.upsert. */
struct apply_out {
    char *contact_json;
    long long revision;
    int cp_raced; /* a concurrent transaction created the number's counterparty first */
};

void apply_out_clear(struct apply_out *out);

/* Run the action's statements on conn (prepared by apply_prepare, inside a transaction the
 * caller opened). Returns
 * APPLY_OK, or APPLY_DATA / APPLY_TRANSIENT with the reason in err (SQLSTATE, message and
 * constraint; never parameter values). On APPLY_DATA the transaction is aborted: the caller
 * rolls back to its savepoint. */
enum apply_rc apply_action(PGconn *conn, const struct action *a, struct apply_out *out, char *err,
                           size_t errlen);

/* Prepare the writer's statements on a new connection (apply_action runs them by name).
 * Returns APPLY_OK or APPLY_TRANSIENT with the reason in err. */
enum apply_rc apply_prepare(PGconn *conn, char *err, size_t errlen);

/* Run a parameterless utility statement (BEGIN, SAVEPOINT ...). Same return codes. */
enum apply_rc apply_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

#endif
