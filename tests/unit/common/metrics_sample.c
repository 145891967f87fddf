/* Prints a registry using every kind of metric, for `promtool check metrics` (ctest). */
#include <stdio.h>
#include <stdlib.h>

#include "common/metrics.h"

int main(void)
{
    struct metrics_registry *reg = metrics_registry_new();
    struct metrics_family *c =
        metrics_counter(reg, "sample_requests_total", "Requests by code.", "code");
    struct metrics_family *g = metrics_gauge(reg, "sample_in_flight", "In flight.", NULL);
    struct metrics_family *h = metrics_histogram(reg, "sample_latency_seconds", "Latency.", "op",
                                                 metrics_latency_buckets, metrics_latency_nbuckets);
    char *text;

    metrics_inc(c, "200");
    metrics_inc(c, "a \"quoted\" \\ value");
    metrics_set(g, NULL, 4);
    metrics_observe(h, "send", 0.003);
    metrics_observe(h, "send", 12);
    text = metrics_render(reg);
    if (!text)
        return 1;
    fputs(text, stdout);
    free(text);
    metrics_registry_free(reg);
    return 0;
}
