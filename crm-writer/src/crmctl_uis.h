/* crmctl's commands that talk to UIS with the tenant's API key: `tenant uis-key`, `uis
 * employees`, `uis link`. The key is read from standard input, never from argv (ps shows argv
 * to every local user), and is never printed. */
#ifndef CRMW_CRMCTL_UIS_H
#define CRMW_CRMCTL_UIS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct uisctl_env {
    const char *pg_dsn;
    const char *data_url; /* UIS_DATA_API_URL */
    const char *call_url; /* UIS_CALL_API_URL */
    long timeout_ms;
};

/* `crmctl tenant uis-key TENANT` (argv[3] is the tenant). Returns the exit code. */
int uisctl_key(const struct uisctl_env *env, int argc, char **argv);

/* `crmctl uis employees|link ...`. Returns the exit code. */
int uisctl_main(const struct uisctl_env *env, int argc, char **argv);

/* Read one key from in: the first line, surrounding blanks removed. Returns 0, or -1 with the
 * reason in err (nothing read, too long, blanks or control characters inside). */
int uisctl_read_key(FILE *in, char *key, size_t keylen, char *err, size_t errlen);

/* 1 when a CRM user's name and a UIS employee's full name hold the same words, whatever their
 * order and case ("Иван Иванов" and "Иванов Иван"). */
int uisctl_names_match(const char *crm_name, const char *uis_name);

#endif
