/* Configuration from environment variables, parsed once at start into a service's own struct
 * through a table of cfg_var. Every variable has a default (or is required), a meaning for
 * --help and a range; a bad value names the variable. */
#ifndef COMMON_CFG_H
#define COMMON_CFG_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum cfg_type {
    CFG_STR,    /* const char * (points into the environment or the default) */
    CFG_SECRET, /* like CFG_STR, but never printed */
    CFG_INT,    /* long, within [min, max] */
    CFG_BOOL,   /* int: 1/0, true/false, yes/no, on/off */
};

struct cfg_var {
    const char *name;
    enum cfg_type type;
    const char *def; /* NULL: required */
    const char *help;
    size_t offset; /* offsetof(service struct, field) */
    long min, max; /* CFG_INT only */
};

/* The variables every service shares; embed struct common_cfg in the service's struct and
 * list CFG_COMMON_VARS(struct svc_cfg, common) first in its table. */
struct common_cfg {
    const char *kafka_brokers;
    const char *log_level;
    const char *ops_addr;
    long ops_port;
    const char *instance_id;
    const char *topic_dlq;
};

/* clang-format off */
#define CFG_COMMON_VARS(type, m, default_ops_port)                                              \
    {"KAFKA_BROKERS", CFG_STR, "127.0.0.1:19092", "Kafka bootstrap servers (host:port,...)",    \
     offsetof(type, m.kafka_brokers), 0, 0},                                                    \
    {"LOG_LEVEL", CFG_STR, "info", "debug, info, warn or error",                                \
     offsetof(type, m.log_level), 0, 0},                                                        \
    {"OPS_ADDR", CFG_STR, "127.0.0.1", "address of /healthz, /readyz and /metrics",             \
     offsetof(type, m.ops_addr), 0, 0},                                                         \
    {"OPS_PORT", CFG_INT, default_ops_port, "port of /healthz, /readyz and /metrics",           \
     offsetof(type, m.ops_port), 1, 65535},                                                     \
    {"INSTANCE_ID", CFG_STR, "", "stable replica name (pod name); empty: none",                 \
     offsetof(type, m.instance_id), 0, 0},                                                      \
    {"TOPIC_DLQ", CFG_STR, "pipeline.dead-letter.v1", "dead-letter topic",                      \
     offsetof(type, m.topic_dlq), 0, 0}
/* clang-format on */

/* Read every variable into base. Returns 0, or -1 with "NAME: reason" in err. */
int cfg_load(const struct cfg_var *vars, size_t n, void *base, char *err, size_t errlen);

/* Write the --help text: summary, then each variable with its default and meaning. */
void cfg_help(FILE *out, const char *usage, const struct cfg_var *vars, size_t n);

/* The effective configuration as a new JSON object for the start-up log; secrets are shown
 * as "***" (set) or "" (unset). */
json_t *cfg_to_json(const struct cfg_var *vars, size_t n, const void *base);

/* Non-zero when argv asks for --help or -h. */
int cfg_wants_help(int argc, char **argv);

#endif
