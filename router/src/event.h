/* The normalised call event (SPEC §5) as the router reads it from uis.call-events.v1: parsed and
 * validated once, so that the rules never see a malformed value. */
#ifndef ROUTER_EVENT_H
#define ROUTER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/phone.h"

#define RT_TENANT_LEN   64
#define RT_CALL_ID_LEN  64
#define RT_EVENT_ID_LEN 64
#define RT_EXT_LEN      32
#define RT_RAW_LEN      128
#define RT_URL_MAX      2048   /* longest recording link accepted */
#define RT_DURATION_MAX 604800 /* a week: longer durations are not a call's */

enum rt_call_state { RT_RINGING, RT_ANSWERED, RT_HANGUP, RT_MISSED, RT_FINISHED };

struct rt_event {
    char tenant[RT_TENANT_LEN];
    char call_id[RT_CALL_ID_LEN];
    char event_id[RT_EVENT_ID_LEN];
    enum rt_call_state state;
    int out;                   /* direction "out" */
    char from[PHONE_E164_LEN]; /* "" when the number is hidden */
    char from_raw[RT_RAW_LEN];
    char diversion[PHONE_E164_LEN]; /* "" when absent */
    char diversion_raw[RT_RAW_LEN];
    char ext[RT_EXT_LEN]; /* "" when absent */
    int64_t received_us;  /* received_at, microseconds since the epoch */
    /* talk_duration, total_duration, wait_duration in seconds; -1 when absent or null. */
    int64_t talk_s, total_s, wait_s;
    int late; /* source "uis-calls-report": the reconciler found the call after it ended */
    size_t n_urls;
    char **urls; /* owned (rt_event_clear) */
};

/* Parse and validate one message value. On success ev owns its links (rt_event_clear); on
 * failure ev holds nothing and err names the field and the reason. Returns 0 or -1. */
int rt_event_parse(const char *json, size_t len, struct rt_event *ev, char *err, size_t errlen);

void rt_event_clear(struct rt_event *ev);

/* "RINGING" ... */
const char *rt_call_state_name(enum rt_call_state s);

#endif
