#include "batch.h"

#include <stdio.h>
#include <string.h>

void batch_item_init(struct batch_item *item, const void *value, size_t len)
{
    memset(item, 0, sizeof(*item));
    if (!value || len == 0) {
        item->status = BATCH_DEAD;
        snprintf(item->reason, sizeof(item->reason), "value: empty message");
        return;
    }
    if (action_parse(value, len, &item->act, item->reason, sizeof(item->reason)) < 0) {
        item->status = BATCH_DEAD;
        return;
    }
    item->status = BATCH_PENDING;
}

void batch_item_release(struct batch_item *item)
{
    action_release(&item->act);
    apply_out_clear(&item->out);
}

/* Forget what an aborted attempt produced. */
static void batch_reset(struct batch_item *items, size_t n, int dead_too)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].status == BATCH_APPLIED ||
            (dead_too && items[i].status == BATCH_DEAD && items[i].act.root)) {
            items[i].status = BATCH_PENDING;
            items[i].reason[0] = '\0';
        }
        apply_out_clear(&items[i].out);
    }
}

static enum apply_rc batch_abort(PGconn *conn, struct batch_item *items, size_t n)
{
    char ignored[64];

    /* A broken connection cannot roll back; the server does it when the session ends. */
    if (PQstatus(conn) == CONNECTION_OK)
        apply_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
    batch_reset(items, n, 1);
    return APPLY_TRANSIENT;
}

static enum apply_rc batch_commit(PGconn *conn, struct batch_item *items, size_t n, char *err,
                                  size_t errlen)
{
    if (apply_exec(conn, "COMMIT", err, errlen) != APPLY_OK)
        return batch_abort(conn, items, n);
    return APPLY_OK;
}

/* Returns APPLY_OK, APPLY_TRANSIENT, or APPLY_DATA when an item failed (transaction aborted). */
static enum apply_rc batch_fast(PGconn *conn, struct batch_item *items, size_t n, char *err,
                                size_t errlen)
{
    enum apply_rc rc = apply_exec(conn, "BEGIN", err, errlen);

    if (rc != APPLY_OK)
        return APPLY_TRANSIENT;
    for (size_t i = 0; i < n; i++) {
        if (items[i].status != BATCH_PENDING)
            continue;
        rc = apply_action(conn, &items[i].act, &items[i].out, err, errlen);
        if (rc != APPLY_OK)
            return rc;
        items[i].status = BATCH_APPLIED;
    }
    return APPLY_OK;
}

static enum apply_rc batch_slow(PGconn *conn, struct batch_item *items, size_t n, char *err,
                                size_t errlen)
{
    if (apply_exec(conn, "BEGIN", err, errlen) != APPLY_OK)
        return APPLY_TRANSIENT;
    for (size_t i = 0; i < n; i++) {
        enum apply_rc rc;

        if (items[i].status != BATCH_PENDING)
            continue;
        if (apply_exec(conn, "SAVEPOINT item", err, errlen) != APPLY_OK)
            return APPLY_TRANSIENT;
        rc = apply_action(conn, &items[i].act, &items[i].out, items[i].reason,
                          sizeof(items[i].reason));
        if (rc == APPLY_TRANSIENT) {
            snprintf(err, errlen, "%s", items[i].reason);
            items[i].reason[0] = '\0';
            return APPLY_TRANSIENT;
        }
        if (rc == APPLY_DATA) {
            items[i].status = BATCH_DEAD;
            apply_out_clear(&items[i].out);
            if (apply_exec(conn, "ROLLBACK TO SAVEPOINT item", err, errlen) != APPLY_OK)
                return APPLY_TRANSIENT;
            continue;
        }
        items[i].status = BATCH_APPLIED;
        if (apply_exec(conn, "RELEASE SAVEPOINT item", err, errlen) != APPLY_OK)
            return APPLY_TRANSIENT;
    }
    return APPLY_OK;
}

enum apply_rc batch_apply(PGconn *conn, struct batch_item *items, size_t n, int *slow_path,
                          char *err, size_t errlen)
{
    enum apply_rc rc = batch_fast(conn, items, n, err, errlen);

    *slow_path = 0;
    if (rc == APPLY_OK)
        return batch_commit(conn, items, n, err, errlen);
    if (rc == APPLY_TRANSIENT)
        return batch_abort(conn, items, n);
    /* A data failure: start again with a savepoint around each action. */
    batch_abort(conn, items, n);
    *slow_path = 1;
    rc = batch_slow(conn, items, n, err, errlen);
    if (rc != APPLY_OK)
        return batch_abort(conn, items, n);
    return batch_commit(conn, items, n, err, errlen);
}
