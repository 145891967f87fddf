/* One JSON object per line: {"ts","level","service","msg", ...fields}. Phone numbers go through
 * log_phone() and secrets never reach a field: the log module is the only code that prints. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdio.h>

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the service name, minimum level and stream (stderr when NULL). Not thread-safe: call
 * once at start before any thread logs. */
void log_init(const char *service, enum log_level min, FILE *out);

/* Parse "debug", "info", "warn", "error". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);

/* Write one line. fields may be NULL; log_write takes ownership of fields (steals the
 * reference, like json_object_set_new) whatever the level. Thread-safe. */
void log_write(enum log_level level, const char *msg, json_t *fields);

/* 1 when a line of level would be written: lets a hot path skip building its fields. */
int log_enabled(enum log_level level);

#define log_debug(msg, fields) log_write(LOG_DEBUG, (msg), (fields))
#define log_info(msg, fields)  log_write(LOG_INFO, (msg), (fields))
#define log_warn(msg, fields)  log_write(LOG_WARN, (msg), (fields))
#define log_error(msg, fields) log_write(LOG_ERROR, (msg), (fields))

/* A masked copy of a phone number for a log field: "+79161234567" -> "+7916***4567".
 * Returns a new json string (NULL input gives json null), for json_pack's "o". */
json_t *log_phone(const char *number);

#endif
