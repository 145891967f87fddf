/* One row of UIS's calls report -> the normalised events (SPEC §5, uis.call-events.v1) the
 * pipeline is missing for that call. Pure: the same row, knowledge and employees give
 * byte-identical events (ids, times and field order are functions of the row), so a second pass
 * over a window only repeats what the router already merged.
 *
 * Events come in the order UIS would have sent them (ringing legs, the answer, the end: HANGUP
 * with every recording link, MISSED, or FINISHED for a call without recording), each with
 * source "uis-calls-report": the router merges them like webhooks and raises no popup for a call
 * found after the fact (router facts.late). */
#ifndef RECONCILER_REPORT_MAP_H
#define RECONCILER_REPORT_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define RM_CALL_ID_LEN 33
#define RM_EXT_LEN     17
#define RM_TIME_LEN    20 /* "YYYY-MM-DD hh:mm:ss" */
#define RM_MAX_EMPL    32
#define RM_MAX_RECORDS 16

struct rm_employee {
    long long id;
    int answered, talked;
};

/* The fields of a report row the mapping reads. Strings point into the row (borrowed). */
struct rm_call {
    char call_id[RM_CALL_ID_LEN];
    long long communication_id;
    int out;      /* direction "out" */
    int finished; /* finish_time present: the call has ended */
    int is_lost;
    const char *contact; /* "" when hidden */
    const char *virt;
    char start_time[RM_TIME_LEN], finish_time[RM_TIME_LEN];
    long wait_s, talk_s, total_s;
    size_t n_employees;
    struct rm_employee employees[RM_MAX_EMPL];
    size_t n_records;
    const char *records[RM_MAX_RECORDS];
};

/* What the pipeline already knows of the call (router_calls.facts). */
struct rm_known {
    int ringing, answered, hangup, missed, finished;
    int durations; /* the router has the call's durations (a FINISHED or an earlier pass) */
    size_t n_urls;
    const char *const *urls; /* borrowed */
};

/* UIS employee id -> extension ("" when unknown). */
typedef const char *(*rm_ext_fn)(void *ctx, long long employee_id);

struct rm_event {
    char key[160];     /* Kafka key: "{tenant}:{from_number}" or "{tenant}:call:{call_id}" */
    char ce_type[32];  /* "ru.uis.call.hangup" ... */
    char event_id[40]; /* deterministic UUID */
    char time[32];     /* ce_time: the event's own time (RFC 3339) */
    json_t *value;     /* owned: the normalised event */
};

/* Read a row. Returns 0, or -1 with the field and reason in err (the row is then skipped and
 * counted: UIS changed its format or sent garbage). */
int rm_call_parse(json_t *row, struct rm_call *c, char *err, size_t errlen);

/* The events the pipeline lacks for c, in production order, into out[0..max). to_utc turns the
 * report's local "YYYY-MM-DD hh:mm:ss" into microseconds since the epoch (the account's time
 * zone). Returns the count (0: nothing missing, or the call has not ended), or -1 on error (out
 * then holds nothing). Release every event with rm_event_clear. */
int rm_map(const struct rm_call *c, const struct rm_known *known, const char *tenant, rm_ext_fn ext,
           void *ext_ctx, int (*to_utc)(void *ctx, const char *local, int64_t *us), void *time_ctx,
           struct rm_event *out, size_t max, char *err, size_t errlen);

void rm_event_clear(struct rm_event *e);

/* The recording link of one record (UIS-API.md): app.uiscom.ru/system/media/talk/{comm}/{rec}/ */
int rm_record_url(long long communication_id, const char *record, char *out, size_t outlen);

#endif
