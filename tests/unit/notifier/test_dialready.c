#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dialready.h"

static void apply(struct dialready *d, const char *key, const char *value)
{
    struct dialready_rec rec;
    char err[128];

    assert_int_equal(
        dialready_parse(key, strlen(key), value, strlen(value), &rec, err, sizeof(err)), 0);
    assert_int_equal(dialready_apply(d, &rec), 0);
}

static void test_verdicts(void **state)
{
    struct dialready *d = dialready_new();

    (void)state;
    assert_non_null(d);
    /* nothing known: the dialer decides */
    assert_int_equal(dialready_check(d, "acme", "5"), DIALREADY_UNKNOWN);
    apply(d, "acme", "{\"tenant\":\"acme\",\"uis_key\":true}");
    apply(d, "acme/5", "{\"tenant\":\"acme\",\"user_id\":\"5\",\"uis_employee_id\":null}");
    apply(d, "acme/6", "{\"tenant\":\"acme\",\"user_id\":\"6\",\"uis_employee_id\":11}");
    assert_int_equal(dialready_check(d, "acme", "5"), DIALREADY_NOT_LINKED);
    assert_int_equal(dialready_check(d, "acme", "6"), DIALREADY_LINKED);
    assert_int_equal(dialready_check(d, "acme", "7"), DIALREADY_UNKNOWN);
    /* linked later: the last record of a key wins */
    apply(d, "acme/5", "{\"tenant\":\"acme\",\"user_id\":\"5\",\"uis_employee_id\":12}");
    assert_int_equal(dialready_check(d, "acme", "5"), DIALREADY_LINKED);
    /* a tenant without a key refuses every user, known or not */
    apply(d, "beta", "{\"tenant\":\"beta\",\"uis_key\":false}");
    assert_int_equal(dialready_check(d, "beta", "5"), DIALREADY_NO_KEY);
    apply(d, "beta/5", "{\"tenant\":\"beta\",\"user_id\":\"5\",\"uis_employee_id\":3}");
    assert_int_equal(dialready_check(d, "beta", "5"), DIALREADY_NO_KEY);
    apply(d, "beta", "{\"tenant\":\"beta\",\"uis_key\":true}");
    assert_int_equal(dialready_check(d, "beta", "5"), DIALREADY_LINKED);
    /* "acme" and "acme/5" are other keys than "acme5" */
    assert_int_equal(dialready_check(d, "acme5", "5"), DIALREADY_UNKNOWN);
    assert_int_equal(dialready_size(d), 5);
    dialready_free(d);
}

static void test_many_keys_stay_sorted(void **state)
{
    struct dialready *d = dialready_new();
    char key[64], value[160];

    (void)state;
    for (int i = 999; i >= 1; i -= 2) {
        snprintf(key, sizeof(key), "t/%d", i);
        snprintf(value, sizeof(value),
                 "{\"tenant\":\"t\",\"user_id\":\"%d\",\"uis_employee_id\":%d}", i, i);
        apply(d, key, value);
    }
    for (int i = 2; i <= 1000; i += 2) {
        snprintf(key, sizeof(key), "t/%d", i);
        snprintf(value, sizeof(value),
                 "{\"tenant\":\"t\",\"user_id\":\"%d\",\"uis_employee_id\":null}", i);
        apply(d, key, value);
    }
    for (int i = 1; i <= 1000; i++) {
        snprintf(key, sizeof(key), "%d", i);
        assert_int_equal(dialready_check(d, "t", key),
                         i % 2 ? DIALREADY_LINKED : DIALREADY_NOT_LINKED);
    }
    assert_int_equal(dialready_size(d), 1000);
    dialready_free(d);
}

static void test_records_refused(void **state)
{
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"acme", "{\"tenant\":\"beta\",\"uis_key\":true}"},
        {"acme/5", "{\"tenant\":\"acme\",\"uis_key\":true}"},
        {"acme", "{\"tenant\":\"acme\"}"},
        {"acme/5", "{\"tenant\":\"acme\",\"user_id\":\"5\"}"},
        {"acme/05", "{\"tenant\":\"acme\",\"user_id\":\"05\",\"uis_employee_id\":null}"},
        {"acme/5", "{\"tenant\":\"acme\",\"user_id\":\"5\",\"uis_employee_id\":0}"},
        {"acme/5", "{\"tenant\":\"acme\",\"user_id\":\"5\",\"uis_employee_id\":\"11\"}"},
        {"a/b", "{\"tenant\":\"a/b\",\"uis_key\":true}"},
        {"acme", "not json"},
    };
    struct dialready_rec rec;
    char err[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(dialready_parse(bad[i].key, strlen(bad[i].key), bad[i].value,
                                         strlen(bad[i].value), &rec, err, sizeof(err)),
                         -1);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(dialready_parse("acme", 4, NULL, 0, &rec, err, sizeof(err)), -1);
}

static void test_records_made_parse_back(void **state)
{
    struct dialready_rec rec;
    char err[128];
    char *t = dialready_tenant_value("acme", 0);
    char *u = dialready_user_value("acme", 42, 0);
    char *l = dialready_user_value("acme", 42, 7);

    (void)state;
    assert_non_null(t);
    assert_string_equal(t, "{\"tenant\":\"acme\",\"uis_key\":false}");
    assert_string_equal(u, "{\"tenant\":\"acme\",\"user_id\":\"42\",\"uis_employee_id\":null}");
    assert_int_equal(dialready_parse("acme/42", 7, l, strlen(l), &rec, err, sizeof(err)), 0);
    assert_string_equal(rec.user, "42");
    assert_int_equal(rec.employee_id, 7);
    assert_int_equal(dialready_parse("acme", 4, t, strlen(t), &rec, err, sizeof(err)), 0);
    assert_int_equal(rec.uis_key, 0);
    assert_string_equal(rec.user, "");
    assert_null(dialready_tenant_value("a/b", 1));
    assert_null(dialready_user_value("acme", 0, 1));
    free(t);
    free(u);
    free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_many_keys_stay_sorted),
        cmocka_unit_test(test_records_refused),
        cmocka_unit_test(test_records_made_parse_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
