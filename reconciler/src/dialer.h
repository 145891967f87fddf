/* The dialer (issue 18): a thread of the reconciler's process, beside the passes, because it
 * needs what they have (the tenants' UIS keys in PostgreSQL, the UIS client, UIS egress). It
 * consumes crm.call-requests.v1 in its own consumer group, asks UIS's Call API
 * start.employee_call once per request (the call_requests row is claimed first), and sends the
 * outcome to the requesting user's popup stream (crm.popups.v1). */
#ifndef RECONCILER_DIALER_H
#define RECONCILER_DIALER_H

#include <stddef.h>

struct metrics_registry;
struct dialer;

struct dialer_cfg {
    const char *brokers;
    const char *group;       /* consumer group */
    const char *instance_id; /* static membership, "" for none */
    const char *topic_requests;
    const char *topic_popups;
    const char *topic_dlq;
    const char *pg_dsn;
    const char *data_url, *call_url;
    long timeout_ms;    /* one UIS call */
    long max_age_s;     /* a request older than this is not dialled (nobody waits for it) */
    const char *source; /* ce_source */
    struct metrics_registry *reg; /* kept by the caller */
};

/* Connect and start the thread. NULL with the reason in err. */
struct dialer *dialer_start(const struct dialer_cfg *cfg, char *err, size_t errlen);

/* 1 while its PostgreSQL connection is up (for /readyz). */
int dialer_ready(struct dialer *d);

/* Stop the thread (a request being handled is finished first, unless it waits on PostgreSQL or
 * Kafka), commit offsets, leave the group and free. NULL does nothing. */
void dialer_stop(struct dialer *d);

#endif
