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
    assert_int_equal(apply_classify("42P01", 1), APPLY_DATA);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
