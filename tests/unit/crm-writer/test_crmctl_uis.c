#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crmctl_uis.h"

static int read_from(const char *text, char *key, size_t keylen, char *err)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int rc = uisctl_read_key(f, key, keylen, err, 256);

    fclose(f);
    return rc;
}

static void test_read_key(void **state)
{
    char key[64], err[256], longer[700];

    (void)state;
    assert_int_equal(read_from("  abc123DEF  \r\n", key, sizeof(key), err), 0);
    assert_string_equal(key, "abc123DEF");
    assert_int_equal(read_from("k3y", key, sizeof(key), err), 0); /* no newline: echo -n */
    assert_string_equal(key, "k3y");
    assert_int_equal(read_from("", key, sizeof(key), err), -1);
    assert_non_null(strstr(err, "no key on standard input"));
    assert_int_equal(read_from("\n", key, sizeof(key), err), -1);
    assert_string_equal(err, "the key on standard input is empty");
    assert_int_equal(read_from("two words\n", key, sizeof(key), err), -1);
    assert_string_equal(err, "the key holds blanks or control characters");
    assert_string_equal(key, "");
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(read_from(longer, key, sizeof(key), err), -1);
    assert_null(strstr(err, "xxxx"));
}

static void test_names_match(void **state)
{
    (void)state;
    assert_true(uisctl_names_match("Иван Иванов", "Иванов Иван"));
    assert_true(uisctl_names_match("иван ИВАНОВ", "Иванов Иван Иванович"));
    assert_true(uisctl_names_match("Пётр Сидоров", "Сидоров Петр"));
    assert_true(uisctl_names_match("Anna Smith", "SMITH ANNA"));
    assert_false(uisctl_names_match("Иван", "Иван Иванов")); /* one word is not enough */
    assert_false(uisctl_names_match("Иван Петров", "Иванов Иван"));
    assert_false(uisctl_names_match(NULL, "Иванов Иван"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_key),
        cmocka_unit_test(test_names_match),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
