/* One poll batch applied in one PostgreSQL transaction. The fast path runs every action
 * without savepoints; when one fails for a data reason the transaction is rolled back and the
 * batch runs again with a savepoint per action, so that the poison message alone is set aside
 * (dead letter) and the rest commit together. */
#ifndef CRMW_BATCH_H
#define CRMW_BATCH_H

#include <stddef.h>

#include <libpq-fe.h>

#include "action.h"
#include "apply.h"

enum batch_status {
    BATCH_PENDING, /* parsed, not applied yet */
    BATCH_APPLIED, /* committed */
    BATCH_DEAD,    /* can never apply: reason says why */
};

struct batch_item {
    struct action act; /* valid unless status was BATCH_DEAD before batch_apply */
    enum batch_status status;
    char reason[320];
    struct apply_out out;
};

/* Parse value into item (status PENDING, or DEAD with the parse error as reason). */
void batch_item_init(struct batch_item *item, const void *value, size_t len);

/* Free the action and outputs. */
void batch_item_release(struct batch_item *item);

/* Apply every PENDING item. Returns APPLY_OK after COMMIT (items APPLIED or DEAD), or
 * APPLY_TRANSIENT after a rollback with the reason in err: nothing of the batch is durable and
 * every item is PENDING again (or DEAD from parsing). slow_path is set to 1 when the savepoint
 * path ran. */
enum apply_rc batch_apply(PGconn *conn, struct batch_item *items, size_t n, int *slow_path,
                          char *err, size_t errlen);

#endif
