#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sse.h"

static void assert_chunk(struct sse_chunk *c, const char *want)
{
    assert_non_null(c);
    assert_int_equal(c->len, strlen(want));
    assert_memory_equal(c->data, want, c->len);
    sse_chunk_unref(c);
}

static void test_event(void **state)
{
    (void)state;
    assert_chunk(sse_event_new("3-120", "popup", "{\"a\":1}", 5),
                 "id: 3-120\nevent: popup\ndata: {\"a\":1}\n\n");
    assert_chunk(sse_event_new(NULL, NULL, "x", 0), "data: x\n\n");
    assert_chunk(sse_event_new("", "snapshot", "{}", 0), "id: \nevent: snapshot\ndata: {}\n\n");
    assert_chunk(sse_event_new(NULL, NULL, "", 0), "data: \n\n");
}

/* A payload's line breaks become separate data lines; the client joins them with \n. */
static void test_multiline_data(void **state)
{
    (void)state;
    assert_chunk(sse_event_new(NULL, NULL, "a\nb\r\nc\rd", 0),
                 "data: a\ndata: b\ndata: c\ndata: d\n\n");
    assert_chunk(sse_event_new(NULL, NULL, "a\n", 0), "data: a\ndata: \n\n");
}

/* An id or event name with a line break would inject fields: refused. */
static void test_injection_refused(void **state)
{
    (void)state;
    assert_null(sse_event_new("1-2\ndata: x", "popup", "{}", 0));
    assert_null(sse_event_new("1-2", "popup\r", "{}", 0));
    assert_null(sse_comment_new("hb\nevent: x", 0));
}

static void test_comment_and_retry(void **state)
{
    (void)state;
    assert_chunk(sse_comment_new("hb", 0), ": hb\n\n");
    assert_chunk(sse_comment_new(NULL, 2000), "retry: 2000\n\n");
    assert_null(sse_comment_new(NULL, 0));
}

static void test_refcount(void **state)
{
    struct sse_chunk *c = sse_event_new("0-1", "popup", "{}", 42);

    (void)state;
    assert_int_equal(c->ts_ms, 42);
    assert_ptr_equal(sse_chunk_ref(c), c);
    assert_int_equal(c->refs, 2);
    sse_chunk_unref(c);
    assert_int_equal(c->refs, 1);
    sse_chunk_unref(c); /* freed: ASan reports a leak or double free otherwise */
    sse_chunk_unref(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_multiline_data),
        cmocka_unit_test(test_injection_refused),
        cmocka_unit_test(test_comment_and_retry),
        cmocka_unit_test(test_refcount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
