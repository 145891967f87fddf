#include "common/log.h"

#include "common/ids.h"
#include "common/phone.h"

#include <string.h>

static const char *log_service = "unknown";
static enum log_level log_min = LOG_INFO;
static FILE *log_out;

static const char *const log_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, enum log_level min, FILE *out)
{
    log_service = service;
    log_min = min;
    log_out = out;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
        if (strcmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_enabled(enum log_level level)
{
    return level >= log_min;
}

void log_write(enum log_level level, const char *msg, json_t *fields)
{
    char ts[IDS_TIME_LEN];
    json_t *line;
    char *text;
    FILE *out = log_out ? log_out : stderr;

    if (level < log_min) {
        json_decref(fields);
        return;
    }
    ids_rfc3339(ids_now_us(), ts);
    line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", log_names[level], "service",
                     log_service, "msg", msg);
    if (!line) {
        json_decref(fields);
        return;
    }
    if (json_is_object(fields))
        json_object_update_missing(line, fields);
    json_decref(fields);
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return;
    flockfile(out);
    fputs(text, out);
    fputc('\n', out);
    fflush(out);
    funlockfile(out);
    free(text);
}

json_t *log_phone(const char *number)
{
    char masked[64];

    if (!number)
        return json_null();
    if (phone_mask(number, masked, sizeof(masked)) != 0)
        return json_string("***");
    return json_string(masked);
}
