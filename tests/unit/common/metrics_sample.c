/* Prints a registry using every kind of metric, for `promtool check metrics` (ctest). */
#include <stdio.h>
#include <stdlib.h>

#include "common/metrics.h"

int main(void)
{
    struct mx_registry *reg = mx_registry_new();
    struct mx_family *c = mx_counter(reg, "sample_requests_total", "Requests by code.", "code");
    struct mx_family *g = mx_gauge(reg, "sample_in_flight", "In flight.", NULL);
    struct mx_family *h = mx_histogram(reg, "sample_latency_seconds", "Latency.", "op",
                                       mx_latency_buckets, mx_latency_nbuckets);
    char *text;

    mx_inc(c, "200");
    mx_inc(c, "a \"quoted\" \\ value");
    mx_set(g, NULL, 4);
    mx_observe(h, "send", 0.003);
    mx_observe(h, "send", 12);
    text = mx_render(reg);
    if (!text)
        return 1;
    fputs(text, stdout);
    free(text);
    mx_registry_free(reg);
    return 0;
}
