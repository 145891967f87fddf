/* Schema migrations: plain SQL files NNN_name.sql, applied in version order and recorded with
 * a SHA-256 checksum in schema_migrations. A file changed after it was applied is an error:
 * fix forward with a new file. Pure: the database side is migrate_db.h. */
#ifndef CRMW_MIGRATE_H
#define CRMW_MIGRATE_H

#include <stddef.h>

#define MIGRATE_MAX      256
#define MIGRATE_NAME_MAX 128
#define MIGRATE_SUM_LEN  65 /* SHA-256 in hex and the NUL */

struct migration {
    int version;
    char name[MIGRATE_NAME_MAX]; /* the file name, e.g. "001_init.sql" */
    const char *sql;             /* borrowed (embedded) or owned by the set (loaded) */
    size_t len;
    char checksum[MIGRATE_SUM_LEN];
};

/* Migrations sorted by version, 1..n without gaps. */
struct migration_set {
    size_t n;
    struct migration m[MIGRATE_MAX];
    char *owned[MIGRATE_MAX]; /* texts read from files, freed by migration_set_release */
};

/* What schema_migrations says was applied. */
struct migration_applied {
    int version;
    char name[MIGRATE_NAME_MAX];
    char checksum[MIGRATE_SUM_LEN];
};

/* The migrations compiled into this binary (the files of crm-writer/migrations). */
struct migration_src {
    const char *name;
    const unsigned char *sql;
    size_t len;
};
extern const struct migration_src migrations_embedded[];
extern const size_t migrations_embedded_n;

/* "NNN_name.sql" (at least 3 digits, name of [a-z0-9_]) -> version. Returns 0 or -1. */
int migrate_parse_name(const char *file, int *version);

/* Lowercase hex SHA-256 of the text. */
void migrate_checksum(const char *sql, size_t len, char out[MIGRATE_SUM_LEN]);

/* Add one migration (sql borrowed; it must outlive the set). Returns 0 or -1 with the reason
 * (a bad name, too many). */
int migrate_add(struct migration_set *set, const char *file, const char *sql, size_t len, char *err,
                size_t errlen);

/* Sort by version and check the versions run 1..n with no duplicate. Returns 0 or -1. */
int migrate_finish(struct migration_set *set, char *err, size_t errlen);

/* The embedded migrations, sorted and checked. */
int migrate_load_embedded(struct migration_set *set, char *err, size_t errlen);

/* Every *.sql file of dir (other files are ignored), sorted and checked. */
int migrate_load_dir(struct migration_set *set, const char *dir, char *err, size_t errlen);

void migration_set_release(struct migration_set *set);

/* The newest version of the set (0 when empty). */
int migrate_newest(const struct migration_set *set);

/* Compare with what was applied: pending[] receives the indexes in set of the migrations to
 * apply, in order. Returns 0, or -1 when an applied migration's checksum or name differs from
 * the file's (err names it). Applied versions unknown to the set (a newer binary migrated)
 * are counted in *newer. */
int migrate_plan(const struct migration_set *set, const struct migration_applied *applied,
                 size_t napplied, size_t *pending, size_t *npending, size_t *newer, char *err,
                 size_t errlen);

#endif
