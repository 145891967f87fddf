#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "admin_uis.h"

static void test_employees_from_get_employees_rows(void **state)
{
    json_t *rows = json_loads(
        "[{\"id\": 7, \"full_name\": \"Anna\", \"status\": \"active\","
        "  \"extension\": {\"extension_phone_number\": \"101\"}},"
        " {\"id\": 8, \"full_name\": \"Boris\", \"status\": \"not_active\", \"extension\": null}]",
        0, NULL);
    size_t n = 99;
    struct admin_uis_employee *e;

    (void)state;
    assert_non_null(rows);
    e = admin_uis_employees_from_json(rows, &n);
    assert_non_null(e);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].id, 7);
    assert_string_equal(e[0].full_name, "Anna");
    assert_string_equal(e[0].status, "active");
    assert_string_equal(e[0].extension, "101");
    assert_int_equal(e[1].id, 8);
    assert_string_equal(e[1].status, "not_active");
    assert_null(e[1].extension); /* no extension: the sync unmaps it */
    free(e);
    json_decref(rows);
}

static void test_no_rows_is_an_empty_array(void **state)
{
    size_t n = 99;
    struct admin_uis_employee *e = admin_uis_employees_from_json(NULL, &n);

    (void)state;
    assert_non_null(e); /* not out of memory */
    assert_int_equal(n, 0);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_employees_from_get_employees_rows),
        cmocka_unit_test(test_no_rows_is_an_empty_array),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
