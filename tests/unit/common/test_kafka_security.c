#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/kafka_security.h"

/* The environment of one case: NAME=value pairs, NULL-terminated. */
static const char *const *t_env;

static const char *t_getenv(const char *name)
{
    size_t n = strlen(name);

    for (const char *const *e = t_env; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

static int t_apply(const char *const *env, rd_kafka_conf_t **conf, char *err, size_t errlen)
{
    t_env = env;
    *conf = rd_kafka_conf_new();
    err[0] = '\0';
    return kafka_security_apply(*conf, t_getenv, err, errlen);
}

static void t_expect(rd_kafka_conf_t *conf, const char *key, const char *want)
{
    char val[512];
    size_t n = sizeof(val);

    assert_int_equal(rd_kafka_conf_get(conf, key, val, &n), RD_KAFKA_CONF_OK);
    assert_string_equal(val, want);
}

static void test_default_is_plaintext(void **state)
{
    static const char *const env[] = {NULL};
    rd_kafka_conf_t *conf;
    char err[256];

    (void)state;
    assert_int_equal(t_apply(env, &conf, err, sizeof(err)), 0);
    t_expect(conf, "security.protocol", "plaintext");
    rd_kafka_conf_destroy(conf);
}

static void test_sasl_ssl_scram_from_file(void **state)
{
    char path[] = "/tmp/ksec-XXXXXX", err[256], env_file[300];
    const char *env[] = {"KAFKA_SECURITY_PROTOCOL=sasl_ssl", "KAFKA_SASL_USERNAME=router", env_file,
                         "KAFKA_SSL_CA_FILE=/etc/ssl/certs/ca-certificates.crt", NULL};
    rd_kafka_conf_t *conf;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret-pass\n", 12), 12);
    close(fd);
    snprintf(env_file, sizeof(env_file), "KAFKA_SASL_PASSWORD_FILE=%s", path);
    assert_int_equal(t_apply(env, &conf, err, sizeof(err)), 0);
    t_expect(conf, "security.protocol", "sasl_ssl");
    t_expect(conf, "sasl.mechanisms", "SCRAM-SHA-512");
    t_expect(conf, "sasl.username", "router");
    t_expect(conf, "sasl.password", "s3cret-pass"); /* the newline of the file dropped */
    t_expect(conf, "ssl.ca.location", "/etc/ssl/certs/ca-certificates.crt");
    t_expect(conf, "ssl.endpoint.identification.algorithm", "https");
    rd_kafka_conf_destroy(conf);
    unlink(path);
}

static void test_mutual_tls(void **state)
{
    static const char *const env[] = {
        "KAFKA_SECURITY_PROTOCOL=ssl", "KAFKA_SSL_CERT_FILE=/run/kafka/user.crt",
        "KAFKA_SSL_KEY_FILE=/run/kafka/user.key", "KAFKA_SSL_VERIFY_HOSTNAME=false", NULL};
    rd_kafka_conf_t *conf;
    char err[256];

    (void)state;
    assert_int_equal(t_apply(env, &conf, err, sizeof(err)), 0);
    t_expect(conf, "security.protocol", "ssl");
    t_expect(conf, "ssl.certificate.location", "/run/kafka/user.crt");
    t_expect(conf, "ssl.key.location", "/run/kafka/user.key");
    t_expect(conf, "ssl.endpoint.identification.algorithm", "none");
    rd_kafka_conf_destroy(conf);
}

/* Every half-configuration is refused with the variable named, never the secret quoted. */
static void test_refusals(void **state)
{
    static const struct {
        const char *env[5];
        const char *names;
    } cases[] = {
        {{"KAFKA_SECURITY_PROTOCOL=tls", NULL}, "KAFKA_SECURITY_PROTOCOL"},
        {{"KAFKA_SASL_USERNAME=router", NULL}, "KAFKA_SASL_USERNAME"},
        {{"KAFKA_SECURITY_PROTOCOL=sasl_plaintext", "KAFKA_SSL_CA_FILE=/ca", NULL},
         "KAFKA_SSL_CA_FILE"},
        {{"KAFKA_SECURITY_PROTOCOL=sasl_ssl", "KAFKA_SASL_PASSWORD=hunter2", NULL},
         "KAFKA_SASL_USERNAME"},
        {{"KAFKA_SECURITY_PROTOCOL=sasl_ssl", "KAFKA_SASL_USERNAME=u", NULL},
         "KAFKA_SASL_PASSWORD"},
        {{"KAFKA_SECURITY_PROTOCOL=sasl_ssl", "KAFKA_SASL_USERNAME=u",
          "KAFKA_SASL_PASSWORD=hunter2", "KAFKA_SASL_PASSWORD_FILE=/x", NULL},
         "KAFKA_SASL_PASSWORD"},
        {{"KAFKA_SECURITY_PROTOCOL=sasl_ssl", "KAFKA_SASL_USERNAME=u",
          "KAFKA_SASL_PASSWORD_FILE=/nonexistent/pw", NULL},
         "KAFKA_SASL_PASSWORD_FILE"},
        {{"KAFKA_SECURITY_PROTOCOL=sasl_ssl", "KAFKA_SASL_USERNAME=u",
          "KAFKA_SASL_PASSWORD=hunter2", "KAFKA_SASL_MECHANISM=GSSAPI", NULL},
         "KAFKA_SASL_MECHANISM"},
        {{"KAFKA_SECURITY_PROTOCOL=ssl", "KAFKA_SSL_CERT_FILE=/c", NULL}, "KAFKA_SSL_KEY_FILE"},
        {{"KAFKA_SECURITY_PROTOCOL=ssl", "KAFKA_SSL_KEY_PASSWORD=hunter2", NULL},
         "KAFKA_SSL_KEY_PASSWORD"},
        {{"KAFKA_SECURITY_PROTOCOL=ssl", "KAFKA_SSL_VERIFY_HOSTNAME=maybe", NULL},
         "KAFKA_SSL_VERIFY_HOSTNAME"},
    };
    rd_kafka_conf_t *conf;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(t_apply(cases[i].env, &conf, err, sizeof(err)), -1);
        assert_non_null(strstr(err, cases[i].names));
        assert_null(strstr(err, "hunter2"));
        rd_kafka_conf_destroy(conf);
    }
}

static void test_help_lists_every_variable(void **state)
{
    static const char *const vars[] = {
        "KAFKA_SECURITY_PROTOCOL",  "KAFKA_SASL_MECHANISM",        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD_FILE", "KAFKA_SSL_CA_FILE",           "KAFKA_SSL_CERT_FILE",
        "KAFKA_SSL_KEY_FILE",       "KAFKA_SSL_KEY_PASSWORD_FILE", "KAFKA_SSL_VERIFY_HOSTNAME"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    (void)state;
    kafka_security_help(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        assert_non_null(strstr(buf, vars[i]));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_plaintext),
        cmocka_unit_test(test_sasl_ssl_scram_from_file),
        cmocka_unit_test(test_mutual_tls),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_help_lists_every_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
