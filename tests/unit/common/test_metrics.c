#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/metrics.h"

static void test_counter_with_labels(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_family *req =
        metrics_counter(reg, "http_requests_total", "Requests by code.", "code");
    char *text;

    (void)state;
    metrics_inc(req, "200");
    metrics_inc(req, "200");
    metrics_add(req, "503", 3);
    assert_true(metrics_value(req, "200") == 2);
    assert_true(metrics_value(req, "404") == 0);
    text = metrics_render(reg);
    assert_non_null(strstr(text, "# HELP http_requests_total Requests by code.\n"));
    assert_non_null(strstr(text, "# TYPE http_requests_total counter\n"));
    assert_non_null(strstr(text, "http_requests_total{code=\"200\"} 2\n"));
    assert_non_null(strstr(text, "http_requests_total{code=\"503\"} 3\n"));
    free(text);
    metrics_registry_free(reg);
}

static void test_unlabelled_series_exist_at_zero(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    char *text;

    (void)state;
    metrics_gauge(reg, "in_flight", "Requests in flight.", NULL);
    text = metrics_render(reg);
    assert_non_null(strstr(text, "in_flight 0\n"));
    free(text);
    metrics_registry_free(reg);
}

static void test_histogram_cumulative(void **state)
{
    static const double b[] = {0.01, 0.1, 1};
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_family *h = metrics_histogram(reg, "lat_seconds", "Latency.", "op,topic", b, 3);
    char *text;

    (void)state;
    metrics_observe(h, "send,a", 0.005);
    metrics_observe(h, "send,a", 0.05);
    metrics_observe(h, "send,a", 5);
    text = metrics_render(reg);
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"send\",topic=\"a\",le=\"0.01\"} 1\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"send\",topic=\"a\",le=\"0.1\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{op=\"send\",topic=\"a\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "lat_seconds_count{op=\"send\",topic=\"a\"} 3\n"));
    free(text);
    metrics_registry_free(reg);
}

static void test_label_escaping_and_bad_names(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_family *f = metrics_counter(reg, "refusals_total", "Refusals.", "field");
    char *text;

    (void)state;
    assert_null(metrics_counter(reg, "bad name", "x", NULL));
    assert_null(metrics_counter(reg, "9starts_with_digit", "x", NULL));
    metrics_inc(f, "a\"b\\c");
    metrics_inc(NULL, "ignored");
    text = metrics_render(reg);
    assert_non_null(strstr(text, "refusals_total{field=\"a\\\"b\\\\c\"} 1\n"));
    free(text);
    metrics_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_with_labels),
        cmocka_unit_test(test_unlabelled_series_exist_at_zero),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_label_escaping_and_bad_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
