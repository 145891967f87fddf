/* crm.call-actions.v1 (docs/architecture.md, "the writer's contract"): one JSON action parsed
 * and validated into a struct the SQL mapping reads. Every failure names the field, so that a
 * bad message goes to the dead-letter topic with a reason a person can act on. */
#ifndef CRMW_ACTION_H
#define CRMW_ACTION_H

#include <stddef.h>

#include <jansson.h>

#define ACTION_MAX_URLS 16

enum action_type {
    ACTION_CONTACT_UPSERT,
    ACTION_DEAL_HISTORY_ADD,
    ACTION_TASK_MISSED_CALL,
};

enum action_cp_mode {
    ACTION_CP_NONE,
    ACTION_CP_EXISTING,
    ACTION_CP_FIXED,
    ACTION_CP_CREATE,
};

/* A counterparty spec. id is set for existing/fixed; phone, phone_raw, name and
 * responsible_user_id (0: none) for create. */
struct action_cp {
    enum action_cp_mode mode;
    long long id;
    const char *phone;
    const char *phone_raw;
    const char *name;
    long long responsible_user_id;
};

/* Strings point into root, which the action holds a reference to: they live until
 * action_release. Optional strings are NULL when the JSON had null; optional ids are 0. */
struct action {
    json_t *root;
    enum action_type type;
    const char *action_id;
    const char *tenant;
    const char *call_id;
    const char *event_id;
    const char *occurred_at;

    const char *direction;
    const char *record_urls[ACTION_MAX_URLS];
    size_t nurls;

    /* contact.upsert */
    const char *caller;
    const char *caller_raw;
    const char *virtual_number;
    const char *state;
    long long answered_by;
    const char *ringing_at;
    const char *answered_at;
    const char *ended_at;
    /* Durations in seconds from a FINISHED event; -1: unknown (absent or null). */
    long long talk_duration_s, total_duration_s, wait_duration_s;

    /* contact.upsert and task.missed_call */
    struct action_cp cp;

    /* deal.history.add */
    long long deal_id;
    const char *phone; /* also task.missed_call */
    long long user_id;
    long long duration_s; /* -1: unknown */

    /* task.missed_call */
    const char *title;
    long long assignee_user_id;
    int cancel; /* withdraw the call's task: a later event showed the call was talked */
};

/* Parse and validate one message value. On success returns 0 and a owns a reference to the
 * parsed document (action_release frees it). On failure returns -1, a holds nothing, and err
 * holds "<field>: <reason>" (field is a JSON path such as counterparty.phone). */
int action_parse(const char *json, size_t len, struct action *a, char *err, size_t errlen);

void action_release(struct action *a);

/* "contact.upsert", ... */
const char *action_type_name(enum action_type t);

#endif
