#include "common/svc.h"

#include <string.h>

#include "common/kafka.h"
#include "common/log.h"
#include "common/sig.h"

int svc_init(const struct svc_spec *spec, int argc, char **argv, void *cfg, FILE *out, FILE *errout)
{
    const struct common_cfg *common =
        (const struct common_cfg *)((char *)cfg + spec->common_offset);
    enum log_level level;
    char err[512];
    int rc;

    if (cfg_wants_help(argc, argv)) {
        cfg_help(out, spec->usage, spec->vars, spec->nvars);
        return 0;
    }
    if (cfg_load(spec->vars, spec->nvars, cfg, err, sizeof(err)) < 0 ||
        (spec->check && spec->check(cfg, err, sizeof(err)) < 0)) {
        fprintf(errout, "%s: %s\n", spec->name, err);
        return 2;
    }
    if (log_level_parse(common->log_level, &level) < 0) {
        fprintf(errout, "%s: LOG_LEVEL: '%s' is not debug, info, warn or error\n", spec->name,
                common->log_level);
        return 2;
    }
    log_init(spec->name, level, NULL);
    log_info("starting", cfg_to_json(spec->vars, spec->nvars, cfg));
    rc = sig_install();
    if (rc < 0) {
        snprintf(err, sizeof(err), "cannot install signal handlers: %s", strerror(-rc));
        svc_cannot_start(err);
        return 1;
    }
    return SVC_RUN;
}

int svc_ops_start(struct svc_ops *o, const struct common_cfg *c, rd_kafka_t *rk,
                  struct metrics_registry *reg, ops_ready_fn ready, void *ctx, char *err,
                  size_t errlen)
{
    /* Probed on its own thread: a metadata request blocks while the broker is away, so it never
     * runs in a service loop nor on the ops server's thread. */
    if (rk && !(o->kafka = kafka_watch_start(rk, 2000, err, errlen)))
        return -1;
    o->http = ops_http_start(c->ops_addr, (unsigned)c->ops_port, reg, ready, ctx, err, errlen);
    return o->http ? 0 : -1;
}

void svc_ops_stop(struct svc_ops *o)
{
    ops_http_stop(o->http);
    o->http = NULL;
    kafka_watch_stop(o->kafka);
    o->kafka = NULL;
}

void svc_instance_name(const char *name, const char *sep, const char *instance, char *out,
                       size_t outlen)
{
    snprintf(out, outlen, "%s%s%s", name, *instance ? sep : "", instance);
}

void svc_listening(const char *addr, long port, long ops_port)
{
    log_info("listening", json_pack("{s:s, s:i, s:i}", "addr", addr, "port", (int)port, "ops_port",
                                    (int)ops_port));
}

void svc_cannot_start(const char *reason)
{
    log_error("cannot start", json_pack("{s:s}", "reason", reason));
}

int svc_producer_close(rd_kafka_t *rk, int timeout_ms)
{
    int left;

    if (!rk)
        return 0;
    left = kafka_producer_close(rk, timeout_ms);
    if (left > 0)
        log_error("messages not delivered at exit", json_pack("{s:i}", "count", left));
    return left;
}
