/* Prometheus text exposition (format 0.0.4): counters, gauges and histograms with labels.
 * Label values are passed as one comma-separated string in the order the family declared its
 * label names ("200" or "RINGING,in"); values therefore cannot hold commas. Thread-safe. */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stddef.h>

struct mx_registry;
struct mx_family;

/* The registry owns every family and series; mx_registry_free releases them all. */
struct mx_registry *mx_registry_new(void);
void mx_registry_free(struct mx_registry *reg);

/* Register a family. label_names: NULL for none, or "a,b". Returns NULL on a bad name or
 * allocation failure. The pointer stays valid until mx_registry_free. */
struct mx_family *mx_counter(struct mx_registry *reg, const char *name, const char *help,
                             const char *label_names);
struct mx_family *mx_gauge(struct mx_registry *reg, const char *name, const char *help,
                           const char *label_names);
/* buckets: increasing upper bounds (+Inf is implied); copied. */
struct mx_family *mx_histogram(struct mx_registry *reg, const char *name, const char *help,
                               const char *label_names, const double *buckets, size_t nbuckets);

/* Update the series for label_values (NULL when the family has no labels). Calls on a NULL
 * family are ignored so that a failed registration never crashes a hot path. */
void mx_add(struct mx_family *fam, const char *label_values, double v);
void mx_inc(struct mx_family *fam, const char *label_values);
void mx_set(struct mx_family *fam, const char *label_values, double v);
void mx_observe(struct mx_family *fam, const char *label_values, double v);

/* Read a series' current value (counter/gauge) or observation count (histogram); 0 when the
 * series does not exist. For tests and readiness logic. */
double mx_value(struct mx_family *fam, const char *label_values);

/* Render the whole registry. Returns a new string the caller frees, or NULL. */
char *mx_render(struct mx_registry *reg);

/* Latency buckets in seconds shared by every service: 0.5 ms .. 10 s. */
extern const double mx_latency_buckets[];
extern const size_t mx_latency_nbuckets;

#endif
