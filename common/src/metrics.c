#include "common/metrics.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metrics_kind { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_series {
    struct metrics_series *next;
    char *labels; /* comma-separated values, "" for none */
    double value; /* counter/gauge; histogram sum */
    unsigned long long count;
    unsigned long long *bucket_counts; /* histogram: one per bound, not cumulative */
};

struct metrics_family {
    struct metrics_family *next;
    struct metrics_registry *reg;
    enum metrics_kind kind;
    char *name;
    char *help;
    char *label_names; /* NULL when none */
    double *buckets;
    size_t nbuckets;
    struct metrics_series *series;
};

struct metrics_registry {
    pthread_mutex_t lock;
    struct metrics_family *families;
    struct metrics_family **tail;
};

const double metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t metrics_latency_nbuckets =
    sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

struct metrics_registry *metrics_registry_new(void)
{
    struct metrics_registry *reg = calloc(1, sizeof(*reg));

    if (!reg)
        return NULL;
    pthread_mutex_init(&reg->lock, NULL);
    reg->tail = &reg->families;
    return reg;
}

static void metrics_family_free(struct metrics_family *fam)
{
    struct metrics_series *s = fam->series;

    while (s) {
        struct metrics_series *next = s->next;

        free(s->labels);
        free(s->bucket_counts);
        free(s);
        s = next;
    }
    free(fam->name);
    free(fam->help);
    free(fam->label_names);
    free(fam->buckets);
    free(fam);
}

void metrics_registry_free(struct metrics_registry *reg)
{
    struct metrics_family *fam;

    if (!reg)
        return;
    fam = reg->families;
    while (fam) {
        struct metrics_family *next = fam->next;

        metrics_family_free(fam);
        fam = next;
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

static int metrics_valid_name(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
        return 0;
    for (; *s; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ':' || *s == ','))
            return 0;
    }
    return 1;
}

/* Called with the lock held, or before the family is published. */
static struct metrics_series *metrics_series_get(struct metrics_family *fam, const char *labels)
{
    struct metrics_series *s;

    if (!labels)
        labels = "";
    for (s = fam->series; s; s = s->next) {
        if (strcmp(s->labels, labels) == 0)
            return s;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->labels = strdup(labels);
    if (fam->kind == METRICS_HISTOGRAM)
        s->bucket_counts = calloc(fam->nbuckets, sizeof(*s->bucket_counts));
    if (!s->labels || (fam->kind == METRICS_HISTOGRAM && !s->bucket_counts)) {
        free(s->labels);
        free(s->bucket_counts);
        free(s);
        return NULL;
    }
    s->next = fam->series;
    fam->series = s;
    return s;
}

static struct metrics_family *metrics_register(struct metrics_registry *reg, enum metrics_kind kind,
                                               const char *name, const char *help,
                                               const char *label_names, const double *buckets,
                                               size_t nbuckets)
{
    struct metrics_family *fam;

    if (!reg || !metrics_valid_name(name) || strchr(name, ',') ||
        (label_names && !metrics_valid_name(label_names)))
        return NULL;
    fam = calloc(1, sizeof(*fam));
    if (!fam)
        return NULL;
    fam->reg = reg;
    fam->kind = kind;
    fam->name = strdup(name);
    fam->help = strdup(help ? help : "");
    fam->label_names = label_names ? strdup(label_names) : NULL;
    if (nbuckets) {
        fam->buckets = malloc(nbuckets * sizeof(*buckets));
        if (fam->buckets)
            memcpy(fam->buckets, buckets, nbuckets * sizeof(*buckets));
        fam->nbuckets = nbuckets;
    }
    if (!fam->name || !fam->help || (label_names && !fam->label_names) ||
        (nbuckets && !fam->buckets) || (!label_names && !metrics_series_get(fam, NULL))) {
        metrics_family_free(fam);
        return NULL;
    }
    pthread_mutex_lock(&reg->lock);
    *reg->tail = fam;
    reg->tail = &fam->next;
    pthread_mutex_unlock(&reg->lock);
    return fam;
}

struct metrics_family *metrics_counter(struct metrics_registry *reg, const char *name,
                                       const char *help, const char *label_names)
{
    return metrics_register(reg, METRICS_COUNTER, name, help, label_names, NULL, 0);
}

struct metrics_family *metrics_gauge(struct metrics_registry *reg, const char *name,
                                     const char *help, const char *label_names)
{
    return metrics_register(reg, METRICS_GAUGE, name, help, label_names, NULL, 0);
}

struct metrics_family *metrics_histogram(struct metrics_registry *reg, const char *name,
                                         const char *help, const char *label_names,
                                         const double *buckets, size_t nbuckets)
{
    return metrics_register(reg, METRICS_HISTOGRAM, name, help, label_names, buckets, nbuckets);
}

static void metrics_update(struct metrics_family *fam, const char *labels, double v, int set)
{
    struct metrics_series *s;

    if (!fam)
        return;
    pthread_mutex_lock(&fam->reg->lock);
    s = metrics_series_get(fam, labels);
    if (s) {
        if (fam->kind == METRICS_HISTOGRAM) {
            for (size_t i = 0; i < fam->nbuckets; i++) {
                if (v <= fam->buckets[i]) {
                    s->bucket_counts[i]++;
                    break;
                }
            }
            s->count++;
            s->value += v;
        } else if (set) {
            s->value = v;
        } else {
            s->value += v;
        }
    }
    pthread_mutex_unlock(&fam->reg->lock);
}

void metrics_add(struct metrics_family *fam, const char *label_values, double v)
{
    metrics_update(fam, label_values, v, 0);
}

void metrics_inc(struct metrics_family *fam, const char *label_values)
{
    metrics_update(fam, label_values, 1, 0);
}

void metrics_set(struct metrics_family *fam, const char *label_values, double v)
{
    metrics_update(fam, label_values, v, 1);
}

void metrics_observe(struct metrics_family *fam, const char *label_values, double v)
{
    metrics_update(fam, label_values, v, 0);
}

double metrics_value(struct metrics_family *fam, const char *label_values)
{
    double v = 0;

    if (!fam)
        return 0;
    pthread_mutex_lock(&fam->reg->lock);
    for (struct metrics_series *s = fam->series; s; s = s->next) {
        if (strcmp(s->labels, label_values ? label_values : "") == 0) {
            v = fam->kind == METRICS_HISTOGRAM ? (double)s->count : s->value;
            break;
        }
    }
    pthread_mutex_unlock(&fam->reg->lock);
    return v;
}

static void metrics_put_escaped(FILE *out, const char *s, size_t n, int in_help)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\\\", out);
        else if (s[i] == '\n')
            fputs("\\n", out);
        else if (s[i] == '"' && !in_help)
            fputs("\\\"", out);
        else
            fputc(s[i], out);
    }
}

/* Writes {a="x",b="y"[,le="..."]} from the family's names and the series' values. */
static void metrics_put_labels(FILE *out, const struct metrics_family *fam, const char *values,
                               const char *le)
{
    const char *name = fam->label_names;
    const char *val = values;
    int first = 1;

    if (!name && !le)
        return;
    fputc('{', out);
    while (name && *name) {
        size_t nlen = strcspn(name, ",");
        size_t vlen = strcspn(val, ",");

        fprintf(out, "%s%.*s=\"", first ? "" : ",", (int)nlen, name);
        metrics_put_escaped(out, val, vlen, 0);
        fputc('"', out);
        first = 0;
        name += nlen + (name[nlen] == ',');
        val += vlen + (val[vlen] == ',');
    }
    if (le)
        fprintf(out, "%sle=\"%s\"", first ? "" : ",", le);
    fputc('}', out);
}

static void metrics_put_number(FILE *out, double v)
{
    if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", out);
    else if (isnan(v))
        fputs("NaN", out);
    else
        fprintf(out, "%.17g", v);
}

static void metrics_render_family(FILE *out, const struct metrics_family *fam)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};

    fprintf(out, "# HELP %s ", fam->name);
    metrics_put_escaped(out, fam->help, strlen(fam->help), 1);
    fprintf(out, "\n# TYPE %s %s\n", fam->name, kinds[fam->kind]);
    for (const struct metrics_series *s = fam->series; s; s = s->next) {
        if (fam->kind != METRICS_HISTOGRAM) {
            fputs(fam->name, out);
            metrics_put_labels(out, fam, s->labels, NULL);
            fputc(' ', out);
            metrics_put_number(out, s->value);
            fputc('\n', out);
            continue;
        }
        unsigned long long cum = 0;
        char le[32];

        for (size_t i = 0; i < fam->nbuckets; i++) {
            cum += s->bucket_counts[i];
            snprintf(le, sizeof(le), "%.15g", fam->buckets[i]);
            fprintf(out, "%s_bucket", fam->name);
            metrics_put_labels(out, fam, s->labels, le);
            fprintf(out, " %llu\n", cum);
        }
        fprintf(out, "%s_bucket", fam->name);
        metrics_put_labels(out, fam, s->labels, "+Inf");
        fprintf(out, " %llu\n%s_sum", s->count, fam->name);
        metrics_put_labels(out, fam, s->labels, NULL);
        fputc(' ', out);
        metrics_put_number(out, s->value);
        fprintf(out, "\n%s_count", fam->name);
        metrics_put_labels(out, fam, s->labels, NULL);
        fprintf(out, " %llu\n", s->count);
    }
}

char *metrics_render(struct metrics_registry *reg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    if (!out)
        return NULL;
    pthread_mutex_lock(&reg->lock);
    for (const struct metrics_family *fam = reg->families; fam; fam = fam->next)
        metrics_render_family(out, fam);
    pthread_mutex_unlock(&reg->lock);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
