#include "common/kafka_security.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KSEC_SECRET_MAX 4096

static const char *ksec_get(kafka_security_env_fn env, const char *name)
{
    const char *v = env ? env(name) : getenv(name);

    return v && *v ? v : NULL;
}

static int ksec_set(rd_kafka_conf_t *conf, const char *key, const char *value, const char *var,
                    char *err, size_t errlen)
{
    char rkerr[256];

    if (rd_kafka_conf_set(conf, key, value, rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "%s: %s", var, rkerr);
        return -1;
    }
    return 0;
}

/* A secret from NAME_FILE (one trailing newline dropped) or NAME; exactly one may be set. The
 * value goes into out (zeroed by the caller after use). Returns 1 when found, 0 when neither
 * is set, -1 on error. */
static int ksec_secret(kafka_security_env_fn env, const char *name, char *out, size_t outlen,
                       char *err, size_t errlen)
{
    char file_var[64];
    const char *path, *value = ksec_get(env, name);
    FILE *f;
    size_t n;

    snprintf(file_var, sizeof(file_var), "%s_FILE", name);
    path = ksec_get(env, file_var);
    if (path && value) {
        snprintf(err, errlen, "%s and %s are both set: keep one", name, file_var);
        return -1;
    }
    if (value) {
        if (strlen(value) >= outlen) {
            snprintf(err, errlen, "%s is too long", name);
            return -1;
        }
        memcpy(out, value, strlen(value) + 1);
        return 1;
    }
    if (!path)
        return 0;
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read %s", file_var, path);
        return -1;
    }
    n = fread(out, 1, outlen, f);
    fclose(f);
    if (n == outlen) {
        snprintf(err, errlen, "%s: %s is too long for a secret", file_var, path);
        return -1;
    }
    out[n] = '\0';
    if (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '\r')
        out[--n] = '\0';
    if (n == 0 || strlen(out) != n) {
        snprintf(err, errlen, "%s: %s is empty or holds a NUL byte", file_var, path);
        return -1;
    }
    return 1;
}

/* Every SASL and TLS setting, with what kind of protocol it needs. */
static int ksec_check_unused(kafka_security_env_fn env, int sasl, int tls, char *err, size_t errlen)
{
    static const char *const sasl_vars[] = {"KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                                            "KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE"};
    static const char *const tls_vars[] = {
        "KAFKA_SSL_CA_FILE",      "KAFKA_SSL_CERT_FILE",         "KAFKA_SSL_KEY_FILE",
        "KAFKA_SSL_KEY_PASSWORD", "KAFKA_SSL_KEY_PASSWORD_FILE", "KAFKA_SSL_VERIFY_HOSTNAME"};

    for (size_t i = 0; !sasl && i < sizeof(sasl_vars) / sizeof(sasl_vars[0]); i++) {
        if (ksec_get(env, sasl_vars[i])) {
            snprintf(err, errlen,
                     "%s is set but KAFKA_SECURITY_PROTOCOL is not sasl_ssl or sasl_plaintext",
                     sasl_vars[i]);
            return -1;
        }
    }
    for (size_t i = 0; !tls && i < sizeof(tls_vars) / sizeof(tls_vars[0]); i++) {
        if (ksec_get(env, tls_vars[i])) {
            snprintf(err, errlen, "%s is set but KAFKA_SECURITY_PROTOCOL is not ssl or sasl_ssl",
                     tls_vars[i]);
            return -1;
        }
    }
    return 0;
}

static int ksec_sasl(rd_kafka_conf_t *conf, kafka_security_env_fn env, char *err, size_t errlen)
{
    const char *mech = ksec_get(env, "KAFKA_SASL_MECHANISM");
    const char *user = ksec_get(env, "KAFKA_SASL_USERNAME");
    char password[KSEC_SECRET_MAX];
    int rc;

    if (!mech)
        mech = "SCRAM-SHA-512";
    if (strcmp(mech, "SCRAM-SHA-512") != 0 && strcmp(mech, "SCRAM-SHA-256") != 0 &&
        strcmp(mech, "PLAIN") != 0) {
        snprintf(err, errlen,
                 "KAFKA_SASL_MECHANISM: '%s' is not SCRAM-SHA-512, SCRAM-SHA-256 "
                 "or PLAIN",
                 mech);
        return -1;
    }
    if (!user) {
        snprintf(err, errlen, "KAFKA_SASL_USERNAME must be set with SASL");
        return -1;
    }
    rc = ksec_secret(env, "KAFKA_SASL_PASSWORD", password, sizeof(password), err, errlen);
    if (rc == 0)
        snprintf(err, errlen,
                 "KAFKA_SASL_PASSWORD_FILE (or KAFKA_SASL_PASSWORD) must be set "
                 "with SASL");
    if (rc == 1)
        rc =
            ksec_set(conf, "sasl.mechanisms", mech, "KAFKA_SASL_MECHANISM", err, errlen) < 0 ||
                    ksec_set(conf, "sasl.username", user, "KAFKA_SASL_USERNAME", err, errlen) < 0 ||
                    ksec_set(conf, "sasl.password", password, "KAFKA_SASL_PASSWORD", err, errlen) <
                        0
                ? -1
                : 1;
    memset(password, 0, sizeof(password));
    return rc == 1 ? 0 : -1;
}

static int ksec_tls(rd_kafka_conf_t *conf, kafka_security_env_fn env, char *err, size_t errlen)
{
    const char *ca = ksec_get(env, "KAFKA_SSL_CA_FILE");
    const char *cert = ksec_get(env, "KAFKA_SSL_CERT_FILE");
    const char *key = ksec_get(env, "KAFKA_SSL_KEY_FILE");
    const char *verify = ksec_get(env, "KAFKA_SSL_VERIFY_HOSTNAME");
    char keypass[KSEC_SECRET_MAX];
    int rc;

    if (!cert != !key) {
        snprintf(err, errlen,
                 "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual "
                 "TLS needs both)");
        return -1;
    }
    if (verify && strcasecmp(verify, "true") != 0 && strcasecmp(verify, "false") != 0) {
        snprintf(err, errlen, "KAFKA_SSL_VERIFY_HOSTNAME: '%s' is not true or false", verify);
        return -1;
    }
    if ((ca && ksec_set(conf, "ssl.ca.location", ca, "KAFKA_SSL_CA_FILE", err, errlen) < 0) ||
        (cert && ksec_set(conf, "ssl.certificate.location", cert, "KAFKA_SSL_CERT_FILE", err,
                          errlen) < 0) ||
        (key && ksec_set(conf, "ssl.key.location", key, "KAFKA_SSL_KEY_FILE", err, errlen) < 0) ||
        ksec_set(conf, "ssl.endpoint.identification.algorithm",
                 verify && strcasecmp(verify, "false") == 0 ? "none" : "https",
                 "KAFKA_SSL_VERIFY_HOSTNAME", err, errlen) < 0)
        return -1;
    rc = ksec_secret(env, "KAFKA_SSL_KEY_PASSWORD", keypass, sizeof(keypass), err, errlen);
    if (rc == 1 && !key) {
        snprintf(err, errlen, "KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_FILE");
        rc = -1;
    }
    if (rc == 1)
        rc = ksec_set(conf, "ssl.key.password", keypass, "KAFKA_SSL_KEY_PASSWORD", err, errlen);
    memset(keypass, 0, sizeof(keypass));
    return rc < 0 ? -1 : 0;
}

int kafka_security_apply(rd_kafka_conf_t *conf, kafka_security_env_fn env, char *err, size_t errlen)
{
    static const char *const protocols[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
    const char *proto = ksec_get(env, "KAFKA_SECURITY_PROTOCOL");
    int known = 0, sasl, tls;

    if (!proto)
        proto = "plaintext";
    for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
        known |= strcasecmp(proto, protocols[i]) == 0;
    if (!known) {
        snprintf(err, errlen,
                 "KAFKA_SECURITY_PROTOCOL: '%s' is not plaintext, ssl, sasl_plaintext or "
                 "sasl_ssl",
                 proto);
        return -1;
    }
    sasl = strncasecmp(proto, "sasl_", 5) == 0;
    tls = strcasecmp(proto, "ssl") == 0 || strcasecmp(proto, "sasl_ssl") == 0;
    if (ksec_check_unused(env, sasl, tls, err, errlen) < 0 ||
        ksec_set(conf, "security.protocol", proto, "KAFKA_SECURITY_PROTOCOL", err, errlen) < 0)
        return -1;
    if (sasl && ksec_sasl(conf, env, err, errlen) < 0)
        return -1;
    if (tls && ksec_tls(conf, env, err, errlen) < 0)
        return -1;
    return 0;
}

void kafka_security_help(FILE *out)
{
    fputs("\nKafka security (every service and crmctl; secrets from files or the environment):\n"
          "  KAFKA_SECURITY_PROTOCOL      plaintext, ssl, sasl_plaintext or sasl_ssl "
          "[default: plaintext]\n"
          "  KAFKA_SASL_MECHANISM         SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN "
          "[default: SCRAM-SHA-512]\n"
          "  KAFKA_SASL_USERNAME          SASL user\n"
          "  KAFKA_SASL_PASSWORD_FILE     file holding the SASL password (or KAFKA_SASL_PASSWORD) "
          "(secret)\n"
          "  KAFKA_SSL_CA_FILE            CA certificates (PEM) that signed the brokers'\n"
          "  KAFKA_SSL_CERT_FILE          client certificate (PEM), for mutual TLS\n"
          "  KAFKA_SSL_KEY_FILE           client key (PEM), for mutual TLS\n"
          "  KAFKA_SSL_KEY_PASSWORD_FILE  file holding the key's password (or "
          "KAFKA_SSL_KEY_PASSWORD) (secret)\n"
          "  KAFKA_SSL_VERIFY_HOSTNAME    check the broker's name in its certificate "
          "[default: true]\n",
          out);
}
