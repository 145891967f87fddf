/* The start-up and shut-down every service's main shares, so that a main is its own wiring:
 * --help, the configuration, the log and the signal handlers; the producer's last flush. */
#ifndef COMMON_SVC_H
#define COMMON_SVC_H

#include <stddef.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "common/cfg.h"

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
