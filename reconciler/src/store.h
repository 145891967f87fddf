/* The reconciler's PostgreSQL edge: tenants with a key, their durable watermark and pass in
 * progress (uis_reconcile), what the pipeline knows of calls (router_calls, read only) and the
 * UIS employees' extensions (uis_employees). SQL only through parameters; every PGresult cleared
 * on every path. */
#ifndef RECONCILER_STORE_H
#define RECONCILER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "report_map.h"

#define STORE_KEY_LEN 520

struct store_tenant {
    char id[64];
    char key[STORE_KEY_LEN]; /* secret: never logged */
    char tz[64];
    int64_t watermark_us;               /* 0: never reconciled */
    int64_t pass_from_us, pass_till_us; /* 0: no pass in progress */
    long pass_offset;
    char status[32]; /* "ok" or the action that stopped it */
    int64_t status_at_us;
};

/* Every tenant with a UIS key, ordered by id. *out is a new array (free()). */
int store_tenants(PGconn *conn, struct store_tenant **out, size_t *n, char *err, size_t errlen);

/* Take the tenant for this process (a session advisory lock: another replica that holds it keeps
 * it until its connection ends). Returns 1 when ours, 0 when another replica's, -1 on error. */
int store_claim(PGconn *conn, const char *tenant, char *err, size_t errlen);

/* Start a pass: [from, till], offset 0. */
int store_pass_begin(PGconn *conn, const char *tenant, int64_t from_us, int64_t till_us, char *err,
                     size_t errlen);

/* A page is done (its events acknowledged): the next page starts at offset. The counters add. */
int store_pass_progress(PGconn *conn, const char *tenant, long offset, long calls_seen,
                        long calls_filled, long events, long points, char *err, size_t errlen);

/* The pass is complete: the watermark moves to its end. */
int store_pass_done(PGconn *conn, const char *tenant, int64_t till_us, char *err, size_t errlen);

/* Record why the tenant stopped ("key_rejected", ...; detail: UIS's mnemonic and message), or
 * "ok". */
int store_mark(PGconn *conn, const char *tenant, const char *status, const char *detail, char *err,
               size_t errlen);

/* What router_calls says of each of call_ids[0..n) into known[0..n) (all zero when unknown).
 * The URL strings live in *hold (PQclear it after use). */
int store_known(PGconn *conn, const char *tenant, const char *const *call_ids, size_t n,
                struct rm_known *known, PGresult **hold, const char ***url_space, char *err,
                size_t errlen);

/* UIS employee id -> extension of the tenant's synced employees. */
struct store_exts {
    size_t n;
    long long *ids;
    char (*exts)[RM_EXT_LEN];
};
int store_exts_load(PGconn *conn, const char *tenant, struct store_exts *out, char *err,
                    size_t errlen);
void store_exts_release(struct store_exts *x);
const char *store_exts_get(void *ctx, long long employee_id); /* rm_ext_fn */
int store_exts_has(const struct store_exts *x, long long employee_id);

#endif
