#include "event.h"

#include "common/rfc3339.h"
#include "common/webhook_token.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

const char *rt_call_state_name(enum rt_call_state s)
{
    switch (s) {
    case RT_RINGING:
        return "RINGING";
    case RT_ANSWERED:
        return "ANSWERED";
    case RT_HANGUP:
        return "HANGUP";
    case RT_MISSED:
        return "MISSED";
    case RT_FINISHED:
        return "FINISHED";
    }
    return "?";
}

/* Copy an optional string field: absent or null gives "" (allowed only when nullable). */
static int rt_str_field(json_t *obj, const char *name, char *dst, size_t dstlen, int nullable,
                        char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, name);

    dst[0] = '\0';
    if (!v || json_is_null(v)) {
        if (nullable)
            return 0;
        snprintf(err, errlen, "%s: missing", name);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s: not a string", name);
        return -1;
    }
    if (json_string_length(v) >= dstlen || strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errlen, "%s: longer than %zu bytes or holds NUL", name, dstlen - 1);
        return -1;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* An optional duration in whole seconds: absent or null gives -1. */
static int rt_duration_field(json_t *obj, const char *name, int64_t *dst, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, name);

    *dst = -1;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > RT_DURATION_MAX) {
        snprintf(err, errlen, "%s: not a whole number of seconds from 0 to %d", name,
                 RT_DURATION_MAX);
        return -1;
    }
    *dst = json_integer_value(v);
    return 0;
}

static int rt_event_fields(json_t *obj, struct rt_event *ev, char *err, size_t errlen)
{
    char state[16], dir[8], received[48];
    json_t *urls;
    size_t i;

    if (rt_str_field(obj, "tenant", ev->tenant, sizeof(ev->tenant), 0, err, errlen) ||
        rt_str_field(obj, "call_id", ev->call_id, sizeof(ev->call_id), 0, err, errlen) ||
        rt_str_field(obj, "event_id", ev->event_id, sizeof(ev->event_id), 0, err, errlen) ||
        rt_str_field(obj, "call_state", state, sizeof(state), 0, err, errlen) ||
        rt_str_field(obj, "direction", dir, sizeof(dir), 0, err, errlen) ||
        rt_str_field(obj, "from_number", ev->from, sizeof(ev->from), 1, err, errlen) ||
        rt_str_field(obj, "from_number_raw", ev->from_raw, sizeof(ev->from_raw), 1, err, errlen) ||
        rt_str_field(obj, "diversion", ev->diversion, sizeof(ev->diversion), 1, err, errlen) ||
        rt_str_field(obj, "diversion_raw", ev->diversion_raw, sizeof(ev->diversion_raw), 1, err,
                     errlen) ||
        rt_str_field(obj, "user_extension", ev->ext, sizeof(ev->ext), 1, err, errlen) ||
        rt_str_field(obj, "received_at", received, sizeof(received), 0, err, errlen))
        return -1;
    if (!wtoken_tenant_valid(ev->tenant)) {
        snprintf(err, errlen, "tenant: not a tenant id");
        return -1;
    }
    if (!ev->call_id[0] || strspn(ev->call_id, "0123456789") != strlen(ev->call_id)) {
        snprintf(err, errlen, "call_id: not a string of digits");
        return -1;
    }
    if (!ev->event_id[0]) {
        snprintf(err, errlen, "event_id: empty");
        return -1;
    }
    if (strcmp(state, "RINGING") == 0)
        ev->state = RT_RINGING;
    else if (strcmp(state, "ANSWERED") == 0)
        ev->state = RT_ANSWERED;
    else if (strcmp(state, "HANGUP") == 0)
        ev->state = RT_HANGUP;
    else if (strcmp(state, "MISSED") == 0)
        ev->state = RT_MISSED;
    else if (strcmp(state, "FINISHED") == 0)
        ev->state = RT_FINISHED;
    else {
        snprintf(err, errlen, "call_state: not RINGING, ANSWERED, HANGUP, MISSED or FINISHED");
        return -1;
    }
    if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
        snprintf(err, errlen, "direction: not \"in\" or \"out\"");
        return -1;
    }
    ev->out = dir[0] == 'o';
    if (ev->from[0] && !phone_e164_valid(ev->from)) {
        snprintf(err, errlen, "from_number: not E.164");
        return -1;
    }
    if (ev->ext[0] && !phone_ext_valid(ev->ext)) {
        snprintf(err, errlen, "user_extension: not 1..%d of 0-9 a-z A-Z * # + _ -", PHONE_EXT_MAX);
        return -1;
    }
    if (ev->diversion[0] && !phone_e164_valid(ev->diversion)) {
        snprintf(err, errlen, "diversion: not E.164");
        return -1;
    }
    if (rfc3339_parse(received, &ev->received_us) < 0 || ev->received_us <= 0) {
        snprintf(err, errlen, "received_at: not an RFC 3339 time");
        return -1;
    }
    ev->late = json_is_string(json_object_get(obj, "source")) &&
               strcmp(json_string_value(json_object_get(obj, "source")), "uis-calls-report") == 0;
    if (rt_duration_field(obj, "talk_duration", &ev->talk_s, err, errlen) ||
        rt_duration_field(obj, "total_duration", &ev->total_s, err, errlen) ||
        rt_duration_field(obj, "wait_duration", &ev->wait_s, err, errlen))
        return -1;
    urls = json_object_get(obj, "call_record_urls");
    if (urls && !json_is_null(urls)) {
        if (!json_is_array(urls)) {
            snprintf(err, errlen, "call_record_urls: not an array");
            return -1;
        }
        ev->urls = calloc(json_array_size(urls) + 1, sizeof(char *));
        if (!ev->urls) {
            snprintf(err, errlen, "call_record_urls: out of memory");
            return -1;
        }
        for (i = 0; i < json_array_size(urls); i++) {
            json_t *u = json_array_get(urls, i);

            if (!json_is_string(u) || json_string_length(u) == 0 ||
                json_string_length(u) > RT_URL_MAX) {
                snprintf(err, errlen, "call_record_urls[%zu]: not a link", i);
                return -1;
            }
            ev->urls[ev->n_urls] = strdup(json_string_value(u));
            if (!ev->urls[ev->n_urls]) {
                snprintf(err, errlen, "call_record_urls: out of memory");
                return -1;
            }
            ev->n_urls++;
        }
    }
    return 0;
}

int rt_event_parse(const char *json, size_t len, struct rt_event *ev, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *obj;
    int rc;

    memset(ev, 0, sizeof(*ev));
    obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        snprintf(err, errlen, "value: not JSON: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        snprintf(err, errlen, "value: not a JSON object");
        return -1;
    }
    rc = rt_event_fields(obj, ev, err, errlen);
    json_decref(obj);
    if (rc < 0)
        rt_event_clear(ev);
    return rc;
}

void rt_event_clear(struct rt_event *ev)
{
    for (size_t i = 0; i < ev->n_urls; i++)
        free(ev->urls[i]);
    free(ev->urls);
    memset(ev, 0, sizeof(*ev));
}
