#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cfg.h"

struct t_cfg {
    struct common_cfg common;
    const char *name;
    const char *secret;
    long timeout_ms;
    int flag;
};

static const struct cfg_var t_vars[] = {
    CFG_COMMON_VARS(struct t_cfg, common, "9100"),
    {"T_NAME", CFG_STR, "x", "a name", offsetof(struct t_cfg, name), 0, 0},
    {"T_SECRET", CFG_SECRET, NULL, "a secret", offsetof(struct t_cfg, secret), 0, 0},
    {"T_TIMEOUT_MS", CFG_INT, "5000", "a timeout", offsetof(struct t_cfg, timeout_ms), 1, 60000},
    {"T_FLAG", CFG_BOOL, "false", "a flag", offsetof(struct t_cfg, flag), 0, 0},
};
#define T_N (sizeof(t_vars) / sizeof(t_vars[0]))

static int t_setup(void **state)
{
    (void)state;
    unsetenv("T_NAME");
    unsetenv("T_TIMEOUT_MS");
    unsetenv("T_FLAG");
    unsetenv("OPS_PORT");
    setenv("T_SECRET", "s3cret", 1);
    return 0;
}

static void test_defaults(void **state)
{
    struct t_cfg c;
    char err[256];

    (void)state;
    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), 0);
    assert_string_equal(c.name, "x");
    assert_int_equal(c.timeout_ms, 5000);
    assert_int_equal(c.flag, 0);
    assert_int_equal(c.common.ops_port, 9100);
    assert_string_equal(c.common.kafka_brokers, "127.0.0.1:19092");
    assert_string_equal(c.secret, "s3cret");
}

static void test_values_from_env(void **state)
{
    struct t_cfg c;
    char err[256];

    (void)state;
    setenv("T_NAME", "abc", 1);
    setenv("T_TIMEOUT_MS", "250", 1);
    setenv("T_FLAG", "Yes", 1);
    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), 0);
    assert_string_equal(c.name, "abc");
    assert_int_equal(c.timeout_ms, 250);
    assert_int_equal(c.flag, 1);
}

static void test_bad_int_names_variable(void **state)
{
    struct t_cfg c;
    char err[256];

    (void)state;
    setenv("T_TIMEOUT_MS", "12x", 1);
    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "T_TIMEOUT_MS"));
    setenv("T_TIMEOUT_MS", "0", 1);
    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "outside"));
    setenv("OPS_PORT", "70000", 1);
    unsetenv("T_TIMEOUT_MS");
    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "OPS_PORT"));
}

static void test_bad_bool_and_required(void **state)
{
    struct t_cfg c;
    char err[256];

    (void)state;
    setenv("T_FLAG", "maybe", 1);
    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "T_FLAG"));
    unsetenv("T_FLAG");
    unsetenv("T_SECRET");
    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "T_SECRET: required"));
}

static void test_help_and_json_hide_secret(void **state)
{
    struct t_cfg c;
    char err[256];
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_t *j;
    char *dump;

    (void)state;
    cfg_help(f, "usage: t", t_vars, T_N);
    fclose(f);
    assert_non_null(strstr(buf, "T_TIMEOUT_MS"));
    assert_non_null(strstr(buf, "[default: 5000]"));
    assert_non_null(strstr(buf, "T_SECRET"));
    assert_non_null(strstr(buf, "(required)"));
    free(buf);

    assert_int_equal(cfg_load(t_vars, T_N, &c, err, sizeof(err)), 0);
    j = cfg_to_json(t_vars, T_N, &c);
    dump = json_dumps(j, JSON_COMPACT);
    assert_null(strstr(dump, "s3cret"));
    assert_non_null(strstr(dump, "\"T_SECRET\":\"***\""));
    free(dump);
    json_decref(j);
}

static void test_wants_help(void **state)
{
    char *a1[] = {"svc", "--help", NULL};
    char *a2[] = {"svc", NULL};

    (void)state;
    assert_true(cfg_wants_help(2, a1));
    assert_false(cfg_wants_help(1, a2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, t_setup),
        cmocka_unit_test_setup(test_values_from_env, t_setup),
        cmocka_unit_test_setup(test_bad_int_names_variable, t_setup),
        cmocka_unit_test_setup(test_bad_bool_and_required, t_setup),
        cmocka_unit_test_setup(test_help_and_json_hide_secret, t_setup),
        cmocka_unit_test(test_wants_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
