/* The router's per-call state in router_calls (SPEC §10): the facts of the calls of a batch are
 * locked and read inside the batch's transaction, and written back in the same transaction
 * after the outputs were acknowledged. */
#ifndef ROUTER_STORE_H
#define ROUTER_STORE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "facts.h"

struct rt_call_slot {
    char tenant[RT_TENANT_LEN];
    char call_id[RT_CALL_ID_LEN];
    struct rt_facts facts; /* owned (rt_facts_clear) */
};

/* BEGIN, COMMIT, ROLLBACK. Return 0 or -1 with the reason in err. */
int rt_store_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/* Make sure a row exists for every slot, lock them all (FOR UPDATE, in key order so that two
 * replicas never deadlock) and read their facts into the slots. A row whose facts cannot be
 * read is logged and starts from empty facts. Returns 0 or -1. */
int rt_store_load(PGconn *conn, struct rt_call_slot *slots, size_t n, char *err, size_t errlen);

/* Write every slot's facts and state (INSERT ... ON CONFLICT DO UPDATE). Returns 0 or -1. */
int rt_store_save(PGconn *conn, const struct rt_call_slot *slots, size_t n, char *err,
                  size_t errlen);

/* Delete up to limit rows not touched for retention_s seconds. Returns the count or -1. */
long rt_store_prune(PGconn *conn, long retention_s, long limit, char *err, size_t errlen);

#endif
