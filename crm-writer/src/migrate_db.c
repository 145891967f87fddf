#include "migrate_db.h"

#include "common/pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant both crmctl runs agree on: the key of the advisory lock. */
#define MIGRATE_LOCK_KEY "7284519"

static const char MIGRATE_SQL_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

static int migrate_db_fail(PGconn *conn, PGresult *res, const char *what, char *err, size_t errlen)
{
    pgconn_error(conn, res, what, err, errlen);
    PQclear(res);
    return -1;
}

static int migrate_db_exec(PGconn *conn, const char *sql, const char *what, char *err,
                           size_t errlen)
{
    PGresult *res = PQexec(conn, sql);

    if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK))
        return migrate_db_fail(conn, res, what, err, errlen);
    PQclear(res);
    return 0;
}

int migrate_db_version(PGconn *conn, int *version, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");

    *version = 0;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        return migrate_db_fail(conn, res, "schema version", err, errlen);
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        return 0;
    }
    PQclear(res);
    res = PQexec(conn, "SELECT COALESCE(max(version), 0) FROM schema_migrations");
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        return migrate_db_fail(conn, res, "schema version", err, errlen);
    *version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int migrate_db_applied(PGconn *conn, struct migration_applied *out, size_t *n, char *err,
                              size_t errlen)
{
    PGresult *res =
        PQexec(conn, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    int rows;

    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        return migrate_db_fail(conn, res, "reading schema_migrations", err, errlen);
    rows = PQntuples(res);
    if (rows > MIGRATE_MAX) {
        PQclear(res);
        snprintf(err, errlen, "schema_migrations has %d rows, more than this tool knows", rows);
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        out[i].version = atoi(PQgetvalue(res, i, 0));
        snprintf(out[i].name, sizeof(out[i].name), "%s", PQgetvalue(res, i, 1));
        snprintf(out[i].checksum, sizeof(out[i].checksum), "%s", PQgetvalue(res, i, 2));
    }
    *n = (size_t)rows;
    PQclear(res);
    return 0;
}

static int migrate_db_apply_one(PGconn *conn, const struct migration *m, char *err, size_t errlen)
{
    char version[16], what[MIGRATE_NAME_MAX + 16];
    const char *params[3] = {version, m->name, m->checksum};
    char *sql;
    PGresult *res = NULL;

    snprintf(version, sizeof(version), "%d", m->version);
    snprintf(what, sizeof(what), "migration %s", m->name);
    /* The embedded text is not NUL-terminated. */
    sql = malloc(m->len + 1);
    if (!sql) {
        snprintf(err, errlen, "%s: out of memory", what);
        return -1;
    }
    memcpy(sql, m->sql, m->len);
    sql[m->len] = '\0';
    if (migrate_db_exec(conn, "BEGIN", what, err, errlen) < 0) {
        free(sql);
        return -1;
    }
    /* Simple query protocol: a file may hold many statements. */
    if (migrate_db_exec(conn, sql, what, err, errlen) < 0) {
        free(sql);
        migrate_db_exec(conn, "ROLLBACK", what, (char[64]){0}, 64);
        return -1;
    }
    free(sql);
    res = PQexecParams(conn,
                       "INSERT INTO schema_migrations (version, name, checksum)"
                       " VALUES ($1::integer, $2, $3)",
                       3, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        migrate_db_fail(conn, res, what, err, errlen);
        migrate_db_exec(conn, "ROLLBACK", what, (char[64]){0}, 64);
        return -1;
    }
    PQclear(res);
    return migrate_db_exec(conn, "COMMIT", what, err, errlen);
}

int migrate_db_run(PGconn *conn, const struct migration_set *set, migrate_db_applied_fn done,
                   void *ctx, char *err, size_t errlen)
{
    static struct migration_applied applied[MIGRATE_MAX];
    size_t napplied = 0, pending[MIGRATE_MAX], npending = 0, newer = 0;
    int rc = -1, count = 0;

    if (migrate_db_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "migration lock",
                        err, errlen) < 0)
        return -1;
    if (migrate_db_exec(conn, MIGRATE_SQL_TABLE, "creating schema_migrations", err, errlen) < 0 ||
        migrate_db_applied(conn, applied, &napplied, err, errlen) < 0 ||
        migrate_plan(set, applied, napplied, pending, &npending, &newer, err, errlen) < 0)
        goto out;
    for (size_t i = 0; i < npending; i++) {
        if (migrate_db_apply_one(conn, &set->m[pending[i]], err, errlen) < 0)
            goto out;
        count++;
        if (done)
            done(&set->m[pending[i]], ctx);
    }
    rc = count;
out:
    migrate_db_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "migration unlock",
                    (char[64]){0}, 64);
    return rc;
}
