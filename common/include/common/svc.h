/* The start-up and shut-down every service's main shares, so that a main is its own wiring:
 * --help, the configuration, the log and the signal handlers; the producer's last flush. */
#ifndef COMMON_SVC_H
#define COMMON_SVC_H

#include <stddef.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "common/cfg.h"
#include "common/kafka_watch.h"
#include "common/metrics.h"
#include "common/ops_http.h"

struct svc_spec {
    const char *name;  /* the log's service name and the prefix of start-up errors */
    const char *usage; /* --help's summary */
    const struct cfg_var *vars;
    size_t nvars;
    size_t common_offset; /* offsetof(the service's cfg struct, its struct common_cfg) */
    /* Checks the table cannot express (keys, secrets), on the loaded configuration: 0, or -1
     * with "NAME: reason" in err. NULL: none. */
    int (*check)(void *cfg, char *err, size_t errlen);
};

#define SVC_RUN (-1)

/* Read argv and the environment into cfg, start the log (the effective configuration is its
 * first line) and install the signal handlers. Returns SVC_RUN to go on, or the status main
 * returns: 0 after --help (written to out), 2 for a bad configuration (explained on errout as
 * "name: NAME: reason"), 1 when the signal handlers cannot be installed (logged). */
int svc_init(const struct svc_spec *spec, int argc, char **argv, void *cfg, FILE *out,
             FILE *errout);

/* The ops side of a service: the Kafka watch and the ops server (OPS_ADDR, OPS_PORT), whose
 * readiness callback may read the watch. */
struct svc_ops {
    struct kafka_watch *kafka; /* NULL when no producer is watched */
    struct ops_http *http;
};

/* Start watching rk (borrowed; NULL: no watch) every 2 s, then the ops server with reg, ready
 * and ctx (borrowed; they must outlive it). Returns 0, or -1 with the reason in err (what was
 * started is left for svc_ops_stop). */
int svc_ops_start(struct svc_ops *o, const struct common_cfg *c, rd_kafka_t *rk,
                  struct metrics_registry *reg, ops_ready_fn ready, void *ctx, char *err,
                  size_t errlen);

/* Stop the ops server first (its readiness reads the watch), then the watch. Safe on a
 * zeroed or partly started struct. */
void svc_ops_stop(struct svc_ops *o);

/* name, or name sep instance when the replica has an INSTANCE_ID ("router-pod-0",
 * "/router/pod-0"): Kafka client ids and CloudEvents sources. */
void svc_instance_name(const char *name, const char *sep, const char *instance, char *out,
                       size_t outlen);

/* Log that the service serves traffic on addr:port and its ops endpoints on ops_port. */
void svc_listening(const char *addr, long port, long ops_port);

/* Log that the service cannot start, with reason. */
void svc_cannot_start(const char *reason);

/* Flush and destroy a producer (NULL: nothing); logs the messages left undelivered after
 * timeout_ms. Takes ownership of rk. Returns how many were left. */
int svc_producer_close(rd_kafka_t *rk, int timeout_ms);

#endif
