/* crmctl's listings for people: `crmctl contacts|tasks|deal-history|counterparties|deals|users
 * list TENANT` as an aligned table with names instead of ids, newest first, with --limit,
 * --since, --call, --phone and --state. `--json` keeps the scripts' format (crmctl.c). */
#ifndef CRMW_CTL_LIST_H
#define CRMW_CTL_LIST_H
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

/* 1 when argv (from argv[3]) asks for --json: the scripts' listing, not this one. */
int ctl_list_wants_json(int argc, char **argv);

/* Runs `crmctl WHAT list TENANT [options]` (argv as crmctl got it) against pg_dsn, printing on
 * stdout. Returns crmctl's exit code: 0, 1 failed (reason on stderr), 2 bad usage. */
int ctl_list_run(const char *pg_dsn, const char *what, int argc, char **argv);

/* Prints the first ncols columns of res as an aligned table (ctl_table_print) under headers,
 * or under the column names when headers is NULL; NULL values print "-". Returns 0, or -1 when
 * out of memory. */
int ctl_list_print_result(FILE *out, PGresult *res, size_t ncols, const char *const *headers,
                          size_t max_width);

#endif
