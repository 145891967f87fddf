/* apply_classify: which PostgreSQL failures dead-letter a message and which retry the batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apply.h"

static void test_data_errors_dead_letter(void **state)
{
    (void)state;
    assert_int_equal(apply_classify("23503", 1), APPLY_DATA); /* foreign key: unknown tenant */
    assert_int_equal(apply_classify("23514", 1), APPLY_DATA); /* check */
    assert_int_equal(apply_classify("22007", 1), APPLY_DATA); /* bad datetime */
    assert_int_equal(apply_classify("22P02", 1), APPLY_DATA); /* bad text representation */
}

/* Failures of the database, not of the message: dead-lettering them would send every action
 * of the stream to the dead-letter topic. */
static void test_database_state_retries(void **state)
{
    (void)state;
    assert_int_equal(apply_classify("42P01", 1), APPLY_TRANSIENT); /* undefined table */
    assert_int_equal(apply_classify("42501", 1), APPLY_TRANSIENT); /* insufficient privilege */
    assert_int_equal(apply_classify("42703", 1), APPLY_TRANSIENT); /* undefined column */
    assert_int_equal(apply_classify("42883", 1), APPLY_TRANSIENT); /* undefined function */
    assert_int_equal(apply_classify("25006", 1), APPLY_TRANSIENT); /* read-only transaction */
    assert_int_equal(apply_classify("53100", 1), APPLY_TRANSIENT); /* disk full */
    assert_int_equal(apply_classify("28000", 1), APPLY_TRANSIENT); /* authorization */
    assert_int_equal(apply_classify("0A000", 1), APPLY_TRANSIENT); /* not supported */
    assert_int_equal(apply_classify("P0001", 1), APPLY_TRANSIENT); /* raised by a trigger */
}

/* One convention: negative on failure. */
static void test_failures_are_negative(void **state)
{
    (void)state;
    assert_int_equal(APPLY_OK, 0);
    assert_true(apply_classify("23505", 1) < 0);
    assert_true(apply_classify("40001", 1) < 0);
    assert_true(APPLY_DATA != APPLY_TRANSIENT);
}

static void test_transient_errors_retry(void **state)
{
    (void)state;
    assert_int_equal(apply_classify("40P01", 1), APPLY_TRANSIENT); /* deadlock */
    assert_int_equal(apply_classify("40001", 1), APPLY_TRANSIENT); /* serialization */
    assert_int_equal(apply_classify("08006", 1), APPLY_TRANSIENT);
    assert_int_equal(apply_classify("57P01", 1), APPLY_TRANSIENT); /* admin shutdown */
    assert_int_equal(apply_classify("53300", 1), APPLY_TRANSIENT); /* too many connections */
    assert_int_equal(apply_classify("55P03", 1), APPLY_TRANSIENT);
    assert_int_equal(apply_classify("XX000", 1), APPLY_TRANSIENT);
    /* A lost connection is never the message's fault, whatever the state says. */
    assert_int_equal(apply_classify("23503", 0), APPLY_TRANSIENT);
    assert_int_equal(apply_classify(NULL, 1), APPLY_TRANSIENT);
    assert_int_equal(apply_classify("", 1), APPLY_TRANSIENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_errors_dead_letter),
        cmocka_unit_test(test_transient_errors_retry),
        cmocka_unit_test(test_database_state_retries),
        cmocka_unit_test(test_failures_are_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
