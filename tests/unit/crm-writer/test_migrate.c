/* Migration discovery and ordering, checksums, and the plan against schema_migrations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"

static struct migration_set set;

static void test_names(void **state)
{
    int v = 0;

    (void)state;
    assert_int_equal(migrate_parse_name("001_init.sql", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(migrate_parse_name("0012_router_state.sql", &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(migrate_parse_name("01_init.sql", &v), -1);
    assert_int_equal(migrate_parse_name("001init.sql", &v), -1);
    assert_int_equal(migrate_parse_name("001_.sql", &v), -1);
    assert_int_equal(migrate_parse_name("001_Init.sql", &v), -1);
    assert_int_equal(migrate_parse_name("001_init.sql.bak", &v), -1);
    assert_int_equal(migrate_parse_name("000_zero.sql", &v), -1);
}

static void test_checksum(void **state)
{
    char sum[MIGRATE_SUM_LEN];

    (void)state;
    migrate_checksum("", 0, sum);
    assert_string_equal(sum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    migrate_checksum("abc", 3, sum);
    assert_string_equal(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_ordering_and_gaps(void **state)
{
    char err[256];

    (void)state;
    memset(&set, 0, sizeof(set));
    assert_int_equal(migrate_add(&set, "003_c.sql", "C", 1, err, sizeof(err)), 0);
    assert_int_equal(migrate_add(&set, "001_a.sql", "A", 1, err, sizeof(err)), 0);
    assert_int_equal(migrate_add(&set, "002_b.sql", "B", 1, err, sizeof(err)), 0);
    assert_int_equal(migrate_finish(&set, err, sizeof(err)), 0);
    assert_string_equal(set.m[0].name, "001_a.sql");
    assert_string_equal(set.m[2].name, "003_c.sql");
    assert_int_equal(migrate_newest(&set), 3);

    memset(&set, 0, sizeof(set));
    migrate_add(&set, "001_a.sql", "A", 1, err, sizeof(err));
    migrate_add(&set, "003_c.sql", "C", 1, err, sizeof(err));
    /* A gap: another branch holds 002. */
    assert_int_equal(migrate_finish(&set, err, sizeof(err)), 0);
    assert_int_equal(migrate_newest(&set), 3);
    migration_set_release(&set);

    memset(&set, 0, sizeof(set));
    migrate_add(&set, "001_a.sql", "A", 1, err, sizeof(err));
    migrate_add(&set, "001_b.sql", "B", 1, err, sizeof(err));
    assert_int_equal(migrate_finish(&set, err, sizeof(err)), -1);
    assert_string_equal(err, "migrations 001_a.sql and 001_b.sql share version 1");

    memset(&set, 0, sizeof(set));
    assert_int_equal(migrate_add(&set, "init.sql", "A", 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "init.sql"));
}

static void test_plan(void **state)
{
    struct migration_applied applied[3];
    size_t pending[8], npending = 9, newer = 9;
    char err[256];

    (void)state;
    memset(&set, 0, sizeof(set));
    migrate_add(&set, "001_a.sql", "A", 1, err, sizeof(err));
    migrate_add(&set, "002_b.sql", "B", 1, err, sizeof(err));
    migrate_add(&set, "003_c.sql", "C", 1, err, sizeof(err));
    migrate_finish(&set, err, sizeof(err));

    /* Nothing applied: everything, in order. */
    assert_int_equal(migrate_plan(&set, applied, 0, pending, &npending, &newer, err, sizeof(err)),
                     0);
    assert_int_equal(npending, 3);
    assert_int_equal(pending[0], 0);
    assert_int_equal(pending[2], 2);

    /* 1 applied unchanged: 2 and 3 remain. */
    applied[0].version = 1;
    strcpy(applied[0].name, "001_a.sql");
    strcpy(applied[0].checksum, set.m[0].checksum);
    assert_int_equal(migrate_plan(&set, applied, 1, pending, &npending, &newer, err, sizeof(err)),
                     0);
    assert_int_equal(npending, 2);
    assert_int_equal(pending[0], 1);

    /* A newer binary applied version 4: nothing to do here, and it is counted. */
    applied[1] = applied[0];
    applied[1].version = 2;
    strcpy(applied[1].name, "002_b.sql");
    strcpy(applied[1].checksum, set.m[1].checksum);
    applied[2] = applied[1];
    applied[2].version = 4;
    strcpy(applied[2].name, "004_d.sql");
    assert_int_equal(migrate_plan(&set, applied, 3, pending, &npending, &newer, err, sizeof(err)),
                     0);
    assert_int_equal(npending, 1);
    assert_int_equal(newer, 1);

    /* The file of an applied migration changed: refused. */
    applied[0].checksum[0] = applied[0].checksum[0] == 'a' ? 'b' : 'a';
    assert_int_equal(migrate_plan(&set, applied, 1, pending, &npending, &newer, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "001_a.sql was changed after it was applied"));

    /* Renamed. */
    strcpy(applied[0].checksum, set.m[0].checksum);
    strcpy(applied[0].name, "001_old.sql");
    assert_int_equal(migrate_plan(&set, applied, 1, pending, &npending, &newer, err, sizeof(err)),
                     -1);
    assert_string_equal(err,
                        "migration 1 was applied as 001_old.sql but the file is now 001_a.sql");

    /* A gap is fine until a migration of the gap was applied and its file is gone. */
    memset(&set, 0, sizeof(set));
    migrate_add(&set, "001_a.sql", "A", 1, err, sizeof(err));
    migrate_add(&set, "003_c.sql", "C", 1, err, sizeof(err));
    assert_int_equal(migrate_finish(&set, err, sizeof(err)), 0);
    strcpy(applied[0].name, "001_a.sql");
    assert_int_equal(migrate_plan(&set, applied, 1, pending, &npending, &newer, err, sizeof(err)),
                     0);
    assert_int_equal(npending, 1);
    assert_int_equal(migrate_plan(&set, applied, 2, pending, &npending, &newer, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "migration 002_b.sql was applied but its file is gone");
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_dir(void **state)
{
    char dir[] = "/tmp/crmw-migrate-XXXXXX";
    char err[256];

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_file(dir, "002_second.sql", "SELECT 2;");
    write_file(dir, "001_first.sql", "SELECT 1;");
    write_file(dir, "README", "not a migration");
    assert_int_equal(migrate_load_dir(&set, dir, err, sizeof(err)), 0);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.m[0].name, "001_first.sql");
    assert_int_equal((int)set.m[1].len, 9);
    assert_memory_equal(set.m[1].sql, "SELECT 2;", 9);
    migration_set_release(&set);

    write_file(dir, "3_bad.sql", "SELECT 3;");
    assert_int_equal(migrate_load_dir(&set, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "3_bad.sql"));
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The binary carries the files of crm-writer/migrations, byte for byte. */
static void test_embedded_matches_files(void **state)
{
    static struct migration_set files;
    const char *src = getenv("SOURCE_DIR");
    char dir[512], err[256];

    (void)state;
    assert_int_equal(migrate_load_embedded(&set, err, sizeof(err)), 0);
    assert_true(set.n >= 1);
    assert_string_equal(set.m[0].name, "001_init.sql");
    assert_non_null(src);
    snprintf(dir, sizeof(dir), "%s/crm-writer/migrations", src);
    assert_int_equal(migrate_load_dir(&files, dir, err, sizeof(err)), 0);
    assert_int_equal(files.n, set.n);
    for (size_t i = 0; i < set.n; i++)
        assert_string_equal(files.m[i].checksum, set.m[i].checksum);
    migration_set_release(&files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_ordering_and_gaps),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_embedded_matches_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
