/* Prometheus text exposition (format 0.0.4): counters, gauges and histograms with labels.
 * Label values are passed as one comma-separated string in the order the family declared its
 * label names ("200" or "RINGING,in"); values therefore cannot hold commas. Thread-safe. */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stddef.h>

struct metrics_registry;
struct metrics_family;

/* The registry owns every family and series; metrics_registry_free releases them all. */
struct metrics_registry *metrics_registry_new(void);
void metrics_registry_free(struct metrics_registry *reg);

/* Register a family. label_names: NULL for none, or "a,b". Returns NULL on a bad name or
 * allocation failure. The pointer stays valid until metrics_registry_free. */
struct metrics_family *metrics_counter(struct metrics_registry *reg, const char *name,
                                       const char *help, const char *label_names);
struct metrics_family *metrics_gauge(struct metrics_registry *reg, const char *name,
                                     const char *help, const char *label_names);
/* buckets: increasing upper bounds (+Inf is implied); copied. */
struct metrics_family *metrics_histogram(struct metrics_registry *reg, const char *name,
                                         const char *help, const char *label_names,
                                         const double *buckets, size_t nbuckets);

/* Update the series for label_values (NULL when the family has no labels). Calls on a NULL
 * family are ignored so that a failed registration never crashes a hot path. */
void metrics_add(struct metrics_family *fam, const char *label_values, double v);
void metrics_inc(struct metrics_family *fam, const char *label_values);
void metrics_set(struct metrics_family *fam, const char *label_values, double v);
void metrics_observe(struct metrics_family *fam, const char *label_values, double v);

/* Read a series' current value (counter/gauge) or observation count (histogram); 0 when the
 * series does not exist. For tests and readiness logic. */
double metrics_value(struct metrics_family *fam, const char *label_values);

/* Render the whole registry. Returns a new string the caller frees, or NULL. */
char *metrics_render(struct metrics_registry *reg);

/* Latency buckets in seconds shared by every service: 0.5 ms .. 10 s. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

#endif
