#include "common/popup_state.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_names_round_trip(void **state)
{
    (void)state;
    assert_string_equal(popup_state_name(POPUP_STATE_RINGING), "ringing");
    assert_string_equal(popup_state_name(POPUP_STATE_IN_CALL), "in_call");
    assert_string_equal(popup_state_name(POPUP_STATE_CLOSED), "closed");
    for (int s = POPUP_STATE_RINGING; s <= POPUP_STATE_CLOSED; s++)
        assert_int_equal(popup_state_parse(popup_state_name((enum popup_state)s)), s);
}

static void test_order_is_the_card_s_life(void **state)
{
    (void)state;
    assert_true(POPUP_STATE_NONE < POPUP_STATE_RINGING);
    assert_true(POPUP_STATE_RINGING < POPUP_STATE_IN_CALL);
    assert_true(POPUP_STATE_IN_CALL < POPUP_STATE_CLOSED);
}

static void test_unknown_names(void **state)
{
    (void)state;
    assert_string_equal(popup_state_name(POPUP_STATE_NONE), "none");
    assert_string_equal(popup_state_name((enum popup_state)7), "none");
    assert_int_equal(popup_state_parse(NULL), POPUP_STATE_NONE);
    assert_int_equal(popup_state_parse(""), POPUP_STATE_NONE);
    assert_int_equal(popup_state_parse("none"), POPUP_STATE_NONE);
    assert_int_equal(popup_state_parse("Ringing"), POPUP_STATE_NONE);
    assert_int_equal(popup_state_parse("ringing "), POPUP_STATE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_order_is_the_card_s_life),
        cmocka_unit_test(test_unknown_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
