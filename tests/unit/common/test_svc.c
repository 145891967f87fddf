#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/ids.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/sig.h"
#include "common/svc.h"

struct t_cfg {
    long n;
    struct common_cfg common;
    const char *secret;
};

static const struct cfg_var t_vars[] = {
    {"SVC_TEST_N", CFG_INT, "3", "a number", offsetof(struct t_cfg, n), 1, 9},
    CFG_COMMON_VARS(struct t_cfg, common, "9999"),
    {"SVC_TEST_SECRET", CFG_SECRET, "ok", "must be ok", offsetof(struct t_cfg, secret), 0, 0},
};

static int t_check(void *c, char *err, size_t errlen)
{
    const struct t_cfg *cfg = c;

    if (strcmp(cfg->secret, "ok") != 0) {
        snprintf(err, errlen, "SVC_TEST_SECRET: is not ok");
        return -1;
    }
    return 0;
}

static const struct svc_spec t_spec = {"svc-test",
                                       "usage: svc-test   a test",
                                       t_vars,
                                       sizeof(t_vars) / sizeof(t_vars[0]),
                                       offsetof(struct t_cfg, common),
                                       t_check};

/* svc_init with argv and what it wrote on out and errout. */
static int t_run(char **argv, struct t_cfg *cfg, char *out, char *errout, size_t len)
{
    FILE *o = tmpfile(), *e = tmpfile();
    int argc = 0, rc;
    size_t n;

    assert_non_null(o);
    assert_non_null(e);
    while (argv[argc])
        argc++;
    rc = svc_init(&t_spec, argc, argv, cfg, o, e);
    rewind(o);
    rewind(e);
    n = fread(out, 1, len - 1, o);
    out[n] = '\0';
    n = fread(errout, 1, len - 1, e);
    errout[n] = '\0';
    fclose(o);
    fclose(e);
    return rc;
}

static int t_setup(void **state)
{
    (void)state;
    unsetenv("SVC_TEST_N");
    unsetenv("SVC_TEST_SECRET");
    unsetenv("LOG_LEVEL");
    return 0;
}

static void test_help_exits_0(void **state)
{
    char *argv[] = {"svc-test", "--help", NULL}, out[4096], err[4096];
    struct t_cfg cfg;

    (void)state;
    assert_int_equal(t_run(argv, &cfg, out, err, sizeof(out)), 0);
    assert_non_null(strstr(out, "usage: svc-test"));
    assert_non_null(strstr(out, "SVC_TEST_N"));
    assert_string_equal(err, "");
}

static void test_bad_configuration_exits_2(void **state)
{
    char *argv[] = {"svc-test", NULL}, out[4096], err[4096];
    struct t_cfg cfg;

    (void)state;
    setenv("SVC_TEST_N", "10", 1);
    assert_int_equal(t_run(argv, &cfg, out, err, sizeof(out)), 2);
    assert_true(strncmp(err, "svc-test: SVC_TEST_N: ", 22) == 0);
    setenv("SVC_TEST_N", "4", 1);
    setenv("SVC_TEST_SECRET", "no", 1);
    assert_int_equal(t_run(argv, &cfg, out, err, sizeof(out)), 2);
    assert_string_equal(err, "svc-test: SVC_TEST_SECRET: is not ok\n");
    unsetenv("SVC_TEST_SECRET");
    setenv("LOG_LEVEL", "loud", 1);
    assert_int_equal(t_run(argv, &cfg, out, err, sizeof(out)), 2);
    assert_string_equal(err, "svc-test: LOG_LEVEL: 'loud' is not debug, info, warn or error\n");
    assert_int_equal(sig_stop_requested(), 0);
}

static void test_good_configuration_runs_with_signals(void **state)
{
    char *argv[] = {"svc-test", NULL}, out[4096], err[4096];
    struct t_cfg cfg;

    (void)state;
    setenv("SVC_TEST_N", "7", 1);
    setenv("LOG_LEVEL", "error", 1);
    assert_int_equal(t_run(argv, &cfg, out, err, sizeof(out)), SVC_RUN);
    assert_int_equal(cfg.n, 7);
    assert_int_equal(cfg.common.ops_port, 9999);
    assert_string_equal(err, "");
    assert_int_equal(sig_stop_requested(), 0);
    raise(SIGTERM); /* handled: the process goes on, the flag is set */
    assert_int_equal(sig_stop_requested(), 1);
}

static void test_instance_name(void **state)
{
    char out[32];

    (void)state;
    svc_instance_name("router", "-", "", out, sizeof(out));
    assert_string_equal(out, "router");
    svc_instance_name("router", "-", "pod-0", out, sizeof(out));
    assert_string_equal(out, "router-pod-0");
    svc_instance_name("/router", "/", "pod-0", out, sizeof(out));
    assert_string_equal(out, "/router/pod-0");
    svc_instance_name("notifier", "-", "a-very-long-instance-name", out, 16);
    assert_string_equal(out, "notifier-a-very");
}

static void test_listening_line(void **state)
{
    FILE *out = tmpfile();
    char line[512];
    size_t n;

    (void)state;
    assert_non_null(out);
    log_init("svc-test", LOG_INFO, out);
    svc_listening("0.0.0.0", 8080, 9101);
    rewind(out);
    n = fread(line, 1, sizeof(line) - 1, out);
    line[n] = '\0';
    fclose(out);
    log_init("svc-test", LOG_ERROR, NULL);
    assert_non_null(strstr(line, "\"msg\":\"listening\""));
    assert_non_null(strstr(line, "\"addr\":\"0.0.0.0\""));
    assert_non_null(strstr(line, "\"port\":8080"));
    assert_non_null(strstr(line, "\"ops_port\":9101"));
}

/* A port nothing listens on now. */
static unsigned t_free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* The status code of GET path on 127.0.0.1:port, or -1 when nothing answers. */
static int t_get_status(unsigned port, const char *path)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char req[128], resp[64] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
        snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
        if (write(fd, req, strlen(req)) == (ssize_t)strlen(req) &&
            read(fd, resp, sizeof(resp) - 1) > 12)
            status = atoi(resp + 9);
    }
    close(fd);
    return status;
}

static int t_ready(void *ctx, char *why, size_t whylen)
{
    const struct svc_ops *o = ctx;

    snprintf(why, whylen, "kafka unreachable");
    return kafka_watch_up(o->kafka);
}

static void test_ops_serve_readiness_from_the_watch(void **state)
{
    static const struct kafka_kv mock[] = {{"test.mock.num.brokers", "1"}, {NULL, NULL}};
    struct common_cfg c = {.ops_addr = "127.0.0.1", .ops_port = (long)t_free_port()};
    struct metrics_registry *reg = metrics_registry_new();
    struct svc_ops o = {0};
    char err[256];
    rd_kafka_t *rk = kafka_producer_new("127.0.0.1:1", "test-svc", mock, err, sizeof(err));
    int64_t until = ids_mono_us() + 10 * 1000000LL;

    (void)state;
    assert_non_null(reg);
    assert_non_null(rk);
    assert_int_equal(svc_ops_start(&o, &c, rk, reg, t_ready, &o, err, sizeof(err)), 0);
    assert_non_null(o.kafka);
    while (t_get_status((unsigned)c.ops_port, "/readyz") != 200 && ids_mono_us() < until)
        nanosleep(&(struct timespec){0, 20000000L}, NULL);
    assert_int_equal(t_get_status((unsigned)c.ops_port, "/readyz"), 200);
    svc_ops_stop(&o);
    assert_null(o.http);
    assert_null(o.kafka);
    assert_int_equal(t_get_status((unsigned)c.ops_port, "/readyz"), -1);
    svc_ops_stop(&o); /* twice is harmless */
    kafka_producer_close(rk, 1000);
    metrics_registry_free(reg);
}

static void test_ops_without_a_producer_and_a_bad_address(void **state)
{
    struct common_cfg c = {.ops_addr = "127.0.0.1", .ops_port = (long)t_free_port()};
    struct metrics_registry *reg = metrics_registry_new();
    struct svc_ops o = {0};
    char err[256];

    (void)state;
    assert_int_equal(svc_ops_start(&o, &c, NULL, reg, t_ready, &o, err, sizeof(err)), 0);
    assert_null(o.kafka);
    assert_int_equal(t_get_status((unsigned)c.ops_port, "/readyz"), 503);
    svc_ops_stop(&o);
    c.ops_addr = "localhost";
    assert_int_equal(svc_ops_start(&o, &c, NULL, reg, t_ready, &o, err, sizeof(err)), -1);
    assert_string_equal(err, "ops server: 'localhost' is not an IPv4 address");
    svc_ops_stop(&o);
    metrics_registry_free(reg);
}

static void test_producer_close_of_none(void **state)
{
    (void)state;
    assert_int_equal(svc_producer_close(NULL, 10), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_help_exits_0, t_setup),
        cmocka_unit_test_setup(test_bad_configuration_exits_2, t_setup),
        cmocka_unit_test_setup(test_good_configuration_runs_with_signals, t_setup),
        cmocka_unit_test_setup(test_instance_name, t_setup),
        cmocka_unit_test_setup(test_listening_line, t_setup),
        cmocka_unit_test_setup(test_ops_serve_readiness_from_the_watch, t_setup),
        cmocka_unit_test_setup(test_ops_without_a_producer_and_a_bad_address, t_setup),
        cmocka_unit_test_setup(test_producer_close_of_none, t_setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
