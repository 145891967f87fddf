#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cfg.h"
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
        cmocka_unit_test_setup(test_producer_close_of_none, t_setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
