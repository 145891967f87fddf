#include "common/uis_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* UIS's documented mnemonics (data_api "Обработка ошибок", call_api) and what they ask of us. */
static const struct {
    const char *mnemonic;
    enum uis_api_action action;
} uis_api_mnemonics[] = {
    {"parse_error", UIS_API_BUG},
    {"invalid_request", UIS_API_BUG},
    {"method_not_found", UIS_API_BUG},
    {"batch_opreations_not_supported", UIS_API_BUG}, /* sic, as UIS spells it */
    {"batch_operations_not_supported", UIS_API_BUG},
    {"notifications_not_supported", UIS_API_BUG},
    {"access_token_invalid", UIS_API_KEY_REJECTED},
    {"access_token_expired", UIS_API_KEY_REJECTED},
    {"access_token_blocked", UIS_API_KEY_REJECTED},
    {"auth_error", UIS_API_KEY_REJECTED},
    {"ip_not_whitelisted", UIS_API_IP_DENIED},
    {"forbidden", UIS_API_IP_DENIED},
    {"account_inactive", UIS_API_ACCOUNT_INACTIVE},
    {"method_component_disabled", UIS_API_DISABLED},
    {"parameter_component_disabled", UIS_API_DISABLED},
    {"limit_exceeded", UIS_API_BACKOFF},
    {"internal_error", UIS_API_RETRY},
    {"virtual_phone_number_not_found", UIS_API_CALL_REFUSED},
    {"contact_in_blacklist", UIS_API_CALL_REFUSED},
    {"employee_not_found", UIS_API_CALL_REFUSED},
    {"no_active_phone_number", UIS_API_CALL_REFUSED},
};

enum uis_api_action uis_api_action_of(const char *mnemonic, int code)
{
    for (size_t i = 0; mnemonic && i < sizeof(uis_api_mnemonics) / sizeof(uis_api_mnemonics[0]);
         i++) {
        if (strcmp(mnemonic, uis_api_mnemonics[i].mnemonic) == 0)
            return uis_api_mnemonics[i].action;
    }
    switch (code) {
    case -32001:
        return UIS_API_KEY_REJECTED;
    case -32003:
        return UIS_API_IP_DENIED;
    case -32008:
        return UIS_API_DISABLED;
    case -32009:
        return UIS_API_ACCOUNT_INACTIVE;
    case -32029:
        return UIS_API_BACKOFF;
    case -32603:
        return UIS_API_RETRY;
    case -32602:
        return UIS_API_BAD_REQUEST;
    case -32002:
    case -32007:
        return UIS_API_CALL_REFUSED;
    default:
        return UIS_API_BUG;
    }
}

const char *uis_api_action_name(enum uis_api_action action)
{
    static const char *const names[] = {
        "ok",       "retry",       "backoff",      "key_rejected", "ip_denied", "account_inactive",
        "disabled", "bad_request", "call_refused", "bug",
    };

    return (unsigned)action < sizeof(names) / sizeof(names[0]) ? names[action] : "bug";
}

const char *uis_api_action_advice(enum uis_api_action action)
{
    switch (action) {
    case UIS_API_OK:
        return "accepted";
    case UIS_API_RETRY:
        return "UIS did not answer properly; try again later";
    case UIS_API_BACKOFF:
        return "the account's UIS API points are spent for now; calls resume when the limit resets";
    case UIS_API_KEY_REJECTED:
        return "the UIS API key is wrong, expired or blocked: issue a key in the UIS cabinet "
               "(Account > Users) and enter it again";
    case UIS_API_IP_DENIED:
        return "UIS refuses calls from this address: add it to the account's API IP list "
               "(Administrator > Account > Security rules > API)";
    case UIS_API_ACCOUNT_INACTIVE:
        return "the UIS account is disabled: contact UIS support";
    case UIS_API_DISABLED:
        return "the UIS account lacks the option this needs (e.g. Call API)";
    case UIS_API_BAD_REQUEST:
        return "UIS refused the request's parameters";
    case UIS_API_CALL_REFUSED:
        return "UIS refused to place the call";
    case UIS_API_BUG:
        break;
    }
    return "UIS answered something this client does not understand: report it";
}

char *uis_api_request_body(const char *method, unsigned long id, const char *access_token,
                           const json_t *params)
{
    json_t *p = params ? json_deep_copy(params) : json_object();
    json_t *req;
    char *body;

    if (!p || json_object_set_new(p, "access_token", json_string(access_token)) < 0) {
        json_decref(p);
        return NULL;
    }
    /* "o" steals p. */
    req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
                    method, "params", p);
    if (!req)
        return NULL;
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    return body;
}

static void uis_api_copy(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src ? src : "");
}

static long uis_api_long(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (json_is_integer(v))
        return (long)json_integer_value(v);
    if (json_is_real(v))
        return (long)json_real_value(v);
    return 0;
}

static void uis_api_metadata(json_t *metadata, struct uis_api_answer *ans)
{
    json_t *limits = json_object_get(metadata, "limits");
    json_t *total = json_object_get(metadata, "total_items");

    if (json_is_integer(total))
        ans->total_items = (long)json_integer_value(total);
    if (!json_is_object(limits))
        return;
    ans->limits.known = 1;
    ans->limits.day_limit = uis_api_long(limits, "day_limit");
    ans->limits.day_remaining = uis_api_long(limits, "day_remaining");
    ans->limits.day_reset = uis_api_long(limits, "day_reset");
    ans->limits.minute_limit = uis_api_long(limits, "minute_limit");
    ans->limits.minute_remaining = uis_api_long(limits, "minute_remaining");
    ans->limits.minute_reset = uis_api_long(limits, "minute_reset");
}

/* limit_exceeded: until the exhausted limit resets; the day's when the day is spent. Without
 * limits in the answer, a minute (the shorter of UIS's two windows). */
static long uis_api_backoff_s(const struct uis_api_limits *l)
{
    if (!l->known)
        return 60;
    if (l->day_limit > 0 && l->day_remaining <= 0)
        return l->day_reset > 0 ? l->day_reset : 3600;
    if (l->minute_reset > 0)
        return l->minute_reset;
    return 60;
}

static void uis_api_fail(struct uis_api_answer *ans, enum uis_api_action action, int code,
                         const char *mnemonic, const char *message)
{
    ans->action = action;
    ans->code = code;
    uis_api_copy(ans->mnemonic, sizeof(ans->mnemonic), mnemonic);
    uis_api_copy(ans->message, sizeof(ans->message), message);
    if (action == UIS_API_RETRY)
        ans->retry_after_s = 5;
}

void uis_api_answer_parse(long http_status, const char *body, size_t len, const char *transport_err,
                          struct uis_api_answer *ans)
{
    json_t *root, *result, *error, *data;
    char what[32];

    memset(ans, 0, sizeof(*ans));
    ans->total_items = -1;
    if (http_status == 0) {
        uis_api_fail(ans, UIS_API_RETRY, -1, "transport",
                     transport_err ? transport_err : "no answer");
        return;
    }
    root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(what, sizeof(what), "http_%ld", http_status);
        if (http_status >= 500 || http_status == 429 || http_status == 408)
            uis_api_fail(ans, UIS_API_RETRY, (int)http_status, what, "UIS answered no JSON");
        else if (http_status != 200)
            uis_api_fail(ans, UIS_API_BUG, (int)http_status, what, "UIS answered no JSON");
        else
            uis_api_fail(ans, UIS_API_BUG, (int)http_status, "bad_answer",
                         "UIS answered no JSON-RPC object");
        return;
    }
    result = json_object_get(root, "result");
    error = json_object_get(root, "error");
    if (json_is_object(error)) {
        json_t *code = json_object_get(error, "code");
        int c = json_is_integer(code) ? (int)json_integer_value(code) : 0;
        const char *mn;

        data = json_object_get(error, "data");
        mn = json_string_value(json_object_get(data, "mnemonic"));
        uis_api_fail(ans, uis_api_action_of(mn, c), c, mn ? mn : "unknown",
                     json_string_value(json_object_get(error, "message")));
        uis_api_copy(ans->field, sizeof(ans->field),
                     json_string_value(json_object_get(data, "field")));
        uis_api_metadata(json_object_get(data, "metadata"), ans);
        if (ans->action == UIS_API_BACKOFF)
            ans->retry_after_s = uis_api_backoff_s(&ans->limits);
    } else if (json_is_object(result)) {
        ans->action = UIS_API_OK;
        uis_api_metadata(json_object_get(result, "metadata"), ans);
        ans->result = json_incref(result);
    } else {
        uis_api_fail(ans, http_status >= 500 ? UIS_API_RETRY : UIS_API_BUG, (int)http_status,
                     "bad_answer", "UIS answered neither a result nor an error");
    }
    json_decref(root);
}

void uis_api_answer_release(struct uis_api_answer *ans)
{
    json_decref(ans->result);
    ans->result = NULL;
}

static long uis_api_floor(long limit, int pct)
{
    if (pct < 1)
        pct = 1;
    if (pct > 100)
        pct = 100;
    return limit - (limit * pct) / 100;
}

long uis_api_budget_wait(const struct uis_api_limits *l, long seen_ago_s, int minute_pct,
                         int day_pct)
{
    long minute_floor, day_floor;

    if (!l->known)
        return 0;
    /* Points the others keep: a remaining count at or under it means our share is spent. */
    minute_floor = uis_api_floor(l->minute_limit, minute_pct);
    day_floor = uis_api_floor(l->day_limit, day_pct);
    if (l->day_limit > 0 && l->day_remaining <= day_floor && l->day_reset > seen_ago_s)
        return l->day_reset - seen_ago_s;
    if (l->minute_limit > 0 && l->minute_remaining <= minute_floor && l->minute_reset > seen_ago_s)
        return l->minute_reset - seen_ago_s;
    return 0;
}
