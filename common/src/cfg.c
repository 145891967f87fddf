#include "common/cfg.h"

#include "common/kafka_security.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int cfg_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int cfg_parse_one(const struct cfg_var *v, const char *s, void *base, char *err,
                         size_t errlen)
{
    char *field = (char *)base + v->offset;

    switch (v->type) {
    case CFG_STR:
    case CFG_SECRET:
        memcpy(field, &s, sizeof(s));
        return 0;
    case CFG_INT: {
        char *end = NULL;
        long val;

        errno = 0;
        val = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0') {
            snprintf(err, errlen, "%s: '%s' is not a whole number", v->name, s);
            return -1;
        }
        if (val < v->min || val > v->max) {
            snprintf(err, errlen, "%s: %ld is outside %ld..%ld", v->name, val, v->min, v->max);
            return -1;
        }
        memcpy(field, &val, sizeof(val));
        return 0;
    }
    case CFG_BOOL: {
        int b;

        if (cfg_parse_bool(s, &b) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)", v->name, s);
            return -1;
        }
        memcpy(field, &b, sizeof(b));
        return 0;
    }
    }
    snprintf(err, errlen, "%s: unknown type", v->name);
    return -1;
}

int cfg_load(const struct cfg_var *vars, size_t n, void *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = getenv(vars[i].name);

        if (!s)
            s = vars[i].def;
        if (!s) {
            snprintf(err, errlen, "%s: required but not set (%s)", vars[i].name, vars[i].help);
            return -1;
        }
        if (cfg_parse_one(&vars[i], s, base, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void cfg_help(FILE *out, const char *usage, const struct cfg_var *vars, size_t n)
{
    fprintf(out, "%s\n\nEnvironment:\n", usage);
    for (size_t i = 0; i < n; i++) {
        const struct cfg_var *v = &vars[i];

        fprintf(out, "  %-28s %s", v->name, v->help);
        if (!v->def)
            fprintf(out, " (required)");
        else if (v->type == CFG_SECRET)
            fprintf(out, " (secret)");
        else if (v->def[0])
            fprintf(out, " [default: %s]", v->def);
        fputc('\n', out);
    }
    kafka_security_help(out); /* every program of the product is a Kafka client */
}

json_t *cfg_to_json(const struct cfg_var *vars, size_t n, const void *base)
{
    json_t *obj = json_object();

    for (size_t i = 0; obj && i < n; i++) {
        const char *field = (const char *)base + vars[i].offset;
        json_t *val = NULL;

        switch (vars[i].type) {
        case CFG_STR: {
            const char *s;

            memcpy(&s, field, sizeof(s));
            val = json_string(s ? s : "");
            break;
        }
        case CFG_SECRET: {
            const char *s;

            memcpy(&s, field, sizeof(s));
            val = json_string(s && s[0] ? "***" : "");
            break;
        }
        case CFG_INT: {
            long l;

            memcpy(&l, field, sizeof(l));
            val = json_integer(l);
            break;
        }
        case CFG_BOOL: {
            int b;

            memcpy(&b, field, sizeof(b));
            val = json_boolean(b);
            break;
        }
        }
        json_object_set_new(obj, vars[i].name, val);
    }
    return obj;
}

int cfg_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}
