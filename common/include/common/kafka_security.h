/* How every Kafka client of the product authenticates: TLS (server verification, optionally
 * mutual TLS) and SASL (SCRAM-SHA-512 by default), from environment variables so that every
 * service and crmctl take the same ones. Secrets come from files (or the environment), never
 * from argv. Unset, the client speaks plaintext as before. */
#ifndef COMMON_KAFKA_SECURITY_H
#define COMMON_KAFKA_SECURITY_H

#include <stddef.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

/* Looks a variable up: getenv, or a table in tests. NULL when unset. */
typedef const char *(*kafka_security_env_fn)(const char *name);

/* Set security.protocol, sasl.* and ssl.* on conf from the variables:
 *   KAFKA_SECURITY_PROTOCOL  plaintext (default), ssl, sasl_plaintext or sasl_ssl
 *   KAFKA_SASL_MECHANISM     SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN
 *   KAFKA_SASL_USERNAME, and KAFKA_SASL_PASSWORD_FILE or KAFKA_SASL_PASSWORD (one of them)
 *   KAFKA_SSL_CA_FILE        CA bundle (PEM) that signed the brokers' certificates
 *   KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE  client certificate and key (PEM): mutual TLS
 *   KAFKA_SSL_KEY_PASSWORD_FILE or KAFKA_SSL_KEY_PASSWORD  of an encrypted key
 *   KAFKA_SSL_VERIFY_HOSTNAME  true (default) or false
 * A setting that the protocol would ignore (a SASL user with ssl, a certificate without its key)
 * is an error: a half-configured client must not quietly fall back. env NULL: getenv. Returns 0,
 * or -1 with the reason in err (naming the variable, never quoting a secret). */
int kafka_security_apply(rd_kafka_conf_t *conf, kafka_security_env_fn env, char *err,
                         size_t errlen);

/* The variables above, for --help. */
void kafka_security_help(FILE *out);

#endif
