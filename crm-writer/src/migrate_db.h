/* The database side of migrations: what schema_migrations records, and applying the missing
 * files, each in its own transaction, under an advisory lock so that two runs do not race. */
#ifndef CRMW_MIGRATE_DB_H
#define CRMW_MIGRATE_DB_H

#include <stddef.h>

#include <libpq-fe.h>

#include "migrate.h"

/* The newest applied version (0 when schema_migrations does not exist yet). Returns 0 or -1
 * with the reason in err. */
int migrate_db_version(PGconn *conn, int *version, char *err, size_t errlen);

/* Called after each migration is applied. */
typedef void (*migrate_db_applied_fn)(const struct migration *m, void *ctx);

/* Apply what is missing. Returns the number applied, or -1 with the reason in err. */
int migrate_db_run(PGconn *conn, const struct migration_set *set, migrate_db_applied_fn done,
                   void *ctx, char *err, size_t errlen);

#endif
