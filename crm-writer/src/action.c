#include "action.h"

#include "common/phone.h"
#include "common/rfc3339.h"
#include "common/webhook_token.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define ACTION_MAX_ID    ((long long)1 << 53) /* JSON numbers beyond this are not exact */
#define ACTION_URL_MAX   2048
#define ACTION_RAW_MAX   64
#define ACTION_EVENT_MAX 63
#define ACTION_NAME_MAX  200

struct action_ctx {
    char *err;
    size_t errlen;
};

static int action_fail(struct action_ctx *c, const char *field, const char *reason)
{
    snprintf(c->err, c->errlen, "%s: %s", field, reason);
    return -1;
}

static int action_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* A required string member (allow_null: it may be JSON null, giving NULL). */
static int action_str(struct action_ctx *c, json_t *obj, const char *key, const char *path,
                      int allow_null, size_t maxlen, const char **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v)
        return action_fail(c, path, "missing");
    if (json_is_null(v)) {
        if (allow_null)
            return 0;
        return action_fail(c, path, "must not be null");
    }
    if (!json_is_string(v))
        return action_fail(c, path, allow_null ? "must be a string or null" : "must be a string");
    if (maxlen && json_string_length(v) > maxlen) {
        char reason[64];

        snprintf(reason, sizeof(reason), "longer than %zu characters", maxlen);
        return action_fail(c, path, reason);
    }
    if (strlen(json_string_value(v)) != json_string_length(v))
        return action_fail(c, path, "contains a NUL character");
    *out = json_string_value(v);
    return 0;
}

/* A required id member: a positive integer, or null (giving 0) when allow_null. */
static int action_id(struct action_ctx *c, json_t *obj, const char *key, const char *path,
                     int allow_null, long long *out)
{
    json_t *v = json_object_get(obj, key);

    *out = 0;
    if (!v)
        return action_fail(c, path, "missing");
    if (json_is_null(v) && allow_null)
        return 0;
    if (!json_is_integer(v))
        return action_fail(c, path,
                           allow_null ? "must be an integer id or null" : "must be an integer id");
    if (json_integer_value(v) < 1 || json_integer_value(v) >= ACTION_MAX_ID)
        return action_fail(c, path, "must be a positive id");
    *out = json_integer_value(v);
    return 0;
}

static int action_time(struct action_ctx *c, json_t *obj, const char *key, int allow_null,
                       const char **out)
{
    if (action_str(c, obj, key, key, allow_null, 64, out) < 0)
        return -1;
    if (*out && !rfc3339_valid(*out))
        return action_fail(c, key, "not an RFC 3339 date-time");
    return 0;
}

static int action_phone(struct action_ctx *c, json_t *obj, const char *key, const char *path,
                        int allow_null, const char **out)
{
    if (action_str(c, obj, key, path, allow_null, 16, out) < 0)
        return -1;
    if (*out && !phone_e164_valid(*out))
        return action_fail(c, path, "not an E.164 number (+ and 5..15 digits)");
    return 0;
}

static int action_direction(struct action_ctx *c, json_t *root, struct action *a)
{
    if (action_str(c, root, "direction", "direction", 0, 8, &a->direction) < 0)
        return -1;
    if (strcmp(a->direction, "in") != 0 && strcmp(a->direction, "out") != 0)
        return action_fail(c, "direction", "must be \"in\" or \"out\"");
    return 0;
}

static int action_urls(struct action_ctx *c, json_t *root, struct action *a)
{
    json_t *arr = json_object_get(root, "record_urls");
    size_t i;
    json_t *v;
    char path[48];

    if (!arr)
        return action_fail(c, "record_urls", "missing");
    if (!json_is_array(arr))
        return action_fail(c, "record_urls", "must be an array of strings");
    if (json_array_size(arr) > ACTION_MAX_URLS)
        return action_fail(c, "record_urls", "more than 16 links");
    for (i = 0; i < json_array_size(arr); i++) {
        const char *u;

        v = json_array_get(arr, i);
        u = json_string_value(v);
        snprintf(path, sizeof(path), "record_urls[%zu]", i);
        if (!u)
            return action_fail(c, path, "must be a string");
        if (json_string_length(v) > ACTION_URL_MAX)
            return action_fail(c, path, "longer than 2048 characters");
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
            return action_fail(c, path, "not an http or https link");
        for (const char *p = u; *p; p++) {
            if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
                return action_fail(c, path, "contains white space or a control character");
        }
        if (strlen(u) != json_string_length(v) || strlen(u) < 9)
            return action_fail(c, path, "not an http or https link");
        /* Duplicates inside one action are dropped here; the database keeps a set anyway. */
        int dup = 0;
        for (size_t k = 0; k < a->nurls; k++)
            dup |= strcmp(a->record_urls[k], u) == 0;
        if (!dup)
            a->record_urls[a->nurls++] = u;
    }
    return 0;
}

static int action_counterparty(struct action_ctx *c, json_t *root, struct action_cp *cp)
{
    json_t *o = json_object_get(root, "counterparty");
    const char *mode;

    memset(cp, 0, sizeof(*cp));
    if (!o)
        return action_fail(c, "counterparty", "missing");
    if (!json_is_object(o))
        return action_fail(c, "counterparty", "must be an object");
    if (action_str(c, o, "mode", "counterparty.mode", 0, 16, &mode) < 0)
        return -1;
    if (strcmp(mode, "none") == 0) {
        cp->mode = ACTION_CP_NONE;
        return 0;
    }
    if (strcmp(mode, "existing") == 0 || strcmp(mode, "fixed") == 0) {
        cp->mode = mode[0] == 'e' ? ACTION_CP_EXISTING : ACTION_CP_FIXED;
        return action_id(c, o, "id", "counterparty.id", 0, &cp->id);
    }
    if (strcmp(mode, "create") == 0) {
        cp->mode = ACTION_CP_CREATE;
        if (action_phone(c, o, "phone", "counterparty.phone", 0, &cp->phone) < 0 ||
            action_str(c, o, "phone_raw", "counterparty.phone_raw", 0, ACTION_RAW_MAX,
                       &cp->phone_raw) < 0 ||
            action_str(c, o, "name", "counterparty.name", 0, ACTION_NAME_MAX, &cp->name) < 0 ||
            action_id(c, o, "responsible_user_id", "counterparty.responsible_user_id", 1,
                      &cp->responsible_user_id) < 0)
            return -1;
        if (cp->name[0] == '\0')
            return action_fail(c, "counterparty.name", "must not be empty");
        return 0;
    }
    return action_fail(c, "counterparty.mode", "must be existing, fixed, create or none");
}

/* An optional duration in seconds: absent or null gives -1. */
static int action_duration(struct action_ctx *c, json_t *root, const char *key, long long *out)
{
    json_t *d = json_object_get(root, key);

    *out = -1;
    if (!d || json_is_null(d))
        return 0;
    if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 2147483647)
        return action_fail(c, key, "must be a non-negative integer or null");
    *out = json_integer_value(d);
    return 0;
}

static int action_contact(struct action_ctx *c, json_t *root, struct action *a)
{
    static const char *const states[] = {"ringing", "answered", "completed", "missed"};
    int known = 0;

    if (action_direction(c, root, a) < 0 ||
        action_phone(c, root, "caller", "caller", 1, &a->caller) < 0 ||
        action_str(c, root, "caller_raw", "caller_raw", 0, ACTION_RAW_MAX, &a->caller_raw) < 0 ||
        action_phone(c, root, "virtual_number", "virtual_number", 1, &a->virtual_number) < 0 ||
        action_str(c, root, "state", "state", 0, 16, &a->state) < 0)
        return -1;
    for (size_t i = 0; i < 4; i++)
        known |= strcmp(a->state, states[i]) == 0;
    if (!known)
        return action_fail(c, "state", "must be ringing, answered, completed or missed");
    if (action_id(c, root, "answered_by", "answered_by", 1, &a->answered_by) < 0 ||
        action_time(c, root, "ringing_at", 1, &a->ringing_at) < 0 ||
        action_time(c, root, "answered_at", 1, &a->answered_at) < 0 ||
        action_time(c, root, "ended_at", 1, &a->ended_at) < 0 || action_urls(c, root, a) < 0 ||
        action_duration(c, root, "talk_duration_s", &a->talk_duration_s) < 0 ||
        action_duration(c, root, "total_duration_s", &a->total_duration_s) < 0 ||
        action_duration(c, root, "wait_duration_s", &a->wait_duration_s) < 0)
        return -1;
    return action_counterparty(c, root, &a->cp);
}

static int action_history(struct action_ctx *c, json_t *root, struct action *a)
{
    json_t *d;

    if (action_id(c, root, "deal_id", "deal_id", 0, &a->deal_id) < 0 ||
        action_direction(c, root, a) < 0 ||
        action_phone(c, root, "phone", "phone", 1, &a->phone) < 0 ||
        action_id(c, root, "user_id", "user_id", 1, &a->user_id) < 0)
        return -1;
    d = json_object_get(root, "duration_s");
    if (!d)
        return action_fail(c, "duration_s", "missing");
    if (json_is_null(d)) {
        a->duration_s = -1;
    } else if (json_is_integer(d) && json_integer_value(d) >= 0 &&
               json_integer_value(d) <= 2147483647) {
        a->duration_s = json_integer_value(d);
    } else {
        return action_fail(c, "duration_s", "must be a non-negative integer or null");
    }
    return action_urls(c, root, a);
}

static int action_task(struct action_ctx *c, json_t *root, struct action *a)
{
    json_t *cancel = json_object_get(root, "cancel");

    if (cancel && !json_is_boolean(cancel))
        return action_fail(c, "cancel", "must be true or false");
    a->cancel = json_is_true(cancel);
    if (action_str(c, root, "title", "title", 0, ACTION_NAME_MAX, &a->title) < 0 ||
        action_phone(c, root, "phone", "phone", 1, &a->phone) < 0 ||
        action_id(c, root, "assignee_user_id", "assignee_user_id", 1, &a->assignee_user_id) < 0)
        return -1;
    if (a->title[0] == '\0')
        return action_fail(c, "title", "must not be empty");
    return action_counterparty(c, root, &a->cp);
}

static int action_envelope(struct action_ctx *c, json_t *root, struct action *a)
{
    const char *type;

    if (action_str(c, root, "type", "type", 0, 32, &type) < 0)
        return -1;
    if (strcmp(type, "contact.upsert") == 0)
        a->type = ACTION_CONTACT_UPSERT;
    else if (strcmp(type, "deal.history.add") == 0)
        a->type = ACTION_DEAL_HISTORY_ADD;
    else if (strcmp(type, "task.missed_call") == 0)
        a->type = ACTION_TASK_MISSED_CALL;
    else
        return action_fail(c, "type", "unknown action type");
    if (action_str(c, root, "action_id", "action_id", 0, 256, &a->action_id) < 0 ||
        action_str(c, root, "tenant", "tenant", 0, 63, &a->tenant) < 0)
        return -1;
    if (!wtoken_tenant_valid(a->tenant))
        return action_fail(c, "tenant", "not a tenant id (1..63 of a-z 0-9 _ -)");
    if (action_str(c, root, "call_id", "call_id", 0, 32, &a->call_id) < 0)
        return -1;
    if (a->call_id[0] == '\0' || !action_digits(a->call_id, strlen(a->call_id)))
        return action_fail(c, "call_id", "must be 1..32 digits");
    if (action_str(c, root, "event_id", "event_id", 0, ACTION_EVENT_MAX, &a->event_id) < 0)
        return -1;
    if (a->event_id[0] == '\0')
        return action_fail(c, "event_id", "must not be empty");
    return action_time(c, root, "occurred_at", 0, &a->occurred_at);
}

int action_parse(const char *json, size_t len, struct action *a, char *err, size_t errlen)
{
    struct action_ctx c = {err, errlen};
    json_error_t jerr;
    int rc;

    memset(a, 0, sizeof(*a));
    a->duration_s = -1;
    a->talk_duration_s = a->total_duration_s = a->wait_duration_s = -1;
    a->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!a->root) {
        snprintf(err, errlen, "value: not JSON (%s at byte %d)", jerr.text, jerr.position);
        return -1;
    }
    if (!json_is_object(a->root)) {
        rc = action_fail(&c, "value", "must be a JSON object");
    } else {
        rc = action_envelope(&c, a->root, a);
        if (rc == 0 && a->type == ACTION_CONTACT_UPSERT)
            rc = action_contact(&c, a->root, a);
        else if (rc == 0 && a->type == ACTION_DEAL_HISTORY_ADD)
            rc = action_history(&c, a->root, a);
        else if (rc == 0)
            rc = action_task(&c, a->root, a);
    }
    if (rc < 0) {
        json_decref(a->root);
        memset(a, 0, sizeof(*a));
        return -1;
    }
    return 0;
}

void action_release(struct action *a)
{
    json_decref(a->root);
    memset(a, 0, sizeof(*a));
}

const char *action_type_name(enum action_type t)
{
    switch (t) {
    case ACTION_CONTACT_UPSERT:
        return "contact.upsert";
    case ACTION_DEAL_HISTORY_ADD:
        return "deal.history.add";
    case ACTION_TASK_MISSED_CALL:
        return "task.missed_call";
    }
    return "unknown";
}
