#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_table.h"

/* The table as text (caller frees). */
static char *render(size_t ncols, size_t nrows, const char *const *cells, size_t max_width)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    ctl_table_print(f, ncols, nrows, cells, max_width);
    fclose(f);
    return buf;
}

static void test_width_counts_characters_not_bytes(void **state)
{
    (void)state;
    assert_int_equal(ctl_table_width("anna"), 4);
    assert_int_equal(ctl_table_width("ООО Ромашка"), 11);
    assert_int_equal(ctl_table_width(""), 0);
    assert_int_equal(ctl_table_width(NULL), 0);
}

static void test_columns_align_on_characters_and_empty_cells_show_a_dash(void **state)
{
    const char *cells[] = {
        "CALL",  "COUNTERPARTY",
        "USER", /* header */
        "1",     "ООО Ромашка",
        "anna", /* Cyrillic: 11 characters, 21 bytes */
        "22",    "Acme",
        NULL, /* NULL and "" print "-" */
        "333",   "",
        "boris",
    };
    char *text = render(3, 3, cells, 0);

    (void)state;
    assert_string_equal(text, "CALL  COUNTERPARTY  USER\n"
                              "1     ООО Ромашка   anna\n"
                              "22    Acme          -\n"
                              "333   -             boris\n");
    free(text);
}

static void test_long_cells_are_cut_with_an_ellipsis(void **state)
{
    const char *cells[] = {"TITLE", "N", "Поставка оборудования", "1"};
    char *text = render(2, 1, cells, 8);

    (void)state;
    assert_string_equal(text, "TITLE     N\n"
                              "Поставк…  1\n");
    free(text);
}

static void test_since_takes_ages_and_dates(void **state)
{
    char out[64], err[128];
    time_t now = 1764590400; /* 2025-12-01T12:00:00Z */

    (void)state;
    assert_int_equal(ctl_since_parse("15m", now, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "2025-12-01T11:45:00Z");
    assert_int_equal(ctl_since_parse("2d", now, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "2025-11-29T12:00:00Z");
    assert_int_equal(ctl_since_parse("1w", now, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "2025-11-24T12:00:00Z");
    assert_int_equal(ctl_since_parse("2026-11-25", now, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "2026-11-25");
    assert_int_equal(
        ctl_since_parse("2026-11-25T11:40:10.123Z", now, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "2026-11-25T11:40:10.123Z");
}

static void test_since_refuses_what_it_cannot_read(void **state)
{
    char out[64], err[128];

    (void)state;
    assert_int_equal(ctl_since_parse("yesterday", 0, out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--since"));
    assert_int_equal(ctl_since_parse("15x", 0, out, sizeof(out), err, sizeof(err)), -1);
    assert_int_equal(ctl_since_parse("m", 0, out, sizeof(out), err, sizeof(err)), -1);
    assert_int_equal(ctl_since_parse("2026-11-25'; DROP", 0, out, sizeof(out), err, sizeof(err)),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_width_counts_characters_not_bytes),
        cmocka_unit_test(test_columns_align_on_characters_and_empty_cells_show_a_dash),
        cmocka_unit_test(test_long_cells_are_cut_with_an_ellipsis),
        cmocka_unit_test(test_since_takes_ages_and_dates),
        cmocka_unit_test(test_since_refuses_what_it_cannot_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
