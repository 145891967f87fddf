#include "dial_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/phone.h"

/* Reason words and what the popup page says. The words are a contract (proto/ lists them). */
static const struct {
    const char *reason;
    const char *message;
} dial_messages[] = {
    {"calling", "Звоним…"},
    {"not_linked", "Сотрудник не привязан к UIS"},
    {"employee_not_found", "Сотрудник не привязан к UIS"},
    {"contact_in_blacklist", "Номер в чёрном списке"},
    {"no_active_phone_number", "У сотрудника нет активного телефона в UIS"},
    {"no_uis_key", "Для компании не введён ключ API UIS: обратитесь к администратору"},
    {"no_virtual_number", "Не задан виртуальный номер для исходящих звонков: обратитесь к "
                          "администратору"},
    {"virtual_phone_number_not_found", "Виртуальный номер не найден в UIS: обратитесь к "
                                       "администратору"},
    {"key_rejected", "UIS не принял ключ API: обратитесь к администратору"},
    {"ip_denied", "UIS не принимает запросы с этого адреса: обратитесь к администратору"},
    {"account_inactive", "Аккаунт UIS отключён"},
    {"call_api_disabled", "В аккаунте UIS не подключён Call API"},
    {"limit_exceeded", "UIS временно ограничил звонки: попробуйте через минуту"},
    {"number_not_callable", "На этот номер нельзя позвонить"},
    {"expired", "Запрос устарел: позвоните ещё раз"},
    {"no_answer", "Нет ответа от UIS: звонок мог начаться, проверьте телефон"},
    {"uis_error", "UIS не смог начать звонок: попробуйте ещё раз"},
};

const char *dial_message(const char *reason)
{
    for (size_t i = 0; reason && i < sizeof(dial_messages) / sizeof(dial_messages[0]); i++) {
        if (strcmp(dial_messages[i].reason, reason) == 0)
            return dial_messages[i].message;
    }
    return "UIS не смог начать звонок: попробуйте ещё раз";
}

const char *dial_status_name(enum dial_status s)
{
    switch (s) {
    case DIAL_CALLING:
        return "calling";
    case DIAL_FAILED:
        return "failed";
    case DIAL_UNKNOWN:
        return "unknown";
    }
    return "unknown";
}

void dial_outcome_set(struct dial_outcome *out, enum dial_status status, const char *reason)
{
    memset(out, 0, sizeof(*out));
    out->status = status;
    out->reason = reason;
}

int dial_may_retry(const struct uis_api_answer *ans)
{
    return ans->code <= -32000 && (ans->action == UIS_API_RETRY || ans->action == UIS_API_BACKOFF);
}

/* The reason word of a refusal UIS stated. */
static const char *dial_reason_of(const struct uis_api_answer *ans)
{
    static const char *const passthrough[] = {"contact_in_blacklist", "employee_not_found",
                                              "no_active_phone_number",
                                              "virtual_phone_number_not_found", "limit_exceeded"};

    for (size_t i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++) {
        if (strcmp(ans->mnemonic, passthrough[i]) == 0)
            return passthrough[i];
    }
    switch (ans->action) {
    case UIS_API_KEY_REJECTED:
        return "key_rejected";
    case UIS_API_IP_DENIED:
        return "ip_denied";
    case UIS_API_ACCOUNT_INACTIVE:
        return "account_inactive";
    case UIS_API_DISABLED:
        return "call_api_disabled";
    case UIS_API_BAD_REQUEST:
        /* The contact is the only value a user chose: a refused one is their number's fault. */
        return strcmp(ans->field, "contact") == 0 ? "number_not_callable" : "uis_error";
    default:
        return "uis_error";
    }
}

void dial_from_answer(const struct uis_api_answer *ans, struct dial_outcome *out)
{
    const json_t *id;

    memset(out, 0, sizeof(*out));
    if (ans->action == UIS_API_OK) {
        id = json_object_get(json_object_get(ans->result, "data"), "call_session_id");
        if (json_is_integer(id) && json_integer_value(id) > 0) {
            out->status = DIAL_CALLING;
            out->reason = "calling";
            snprintf(out->call_session_id, sizeof(out->call_session_id), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(id));
            return;
        }
        /* A success without the session: the call exists, but we cannot tie it. */
        out->status = DIAL_CALLING;
        out->reason = "calling";
        snprintf(out->detail, sizeof(out->detail), "answer without call_session_id");
        return;
    }
    snprintf(out->detail, sizeof(out->detail), "%s: %s", ans->mnemonic, ans->message);
    if (ans->code > -32000) {
        /* No JSON-RPC answer (transport, HTTP status, garbage): UIS may have started it. */
        out->status = DIAL_UNKNOWN;
        out->reason = "no_answer";
        return;
    }
    out->status = DIAL_FAILED;
    out->reason = dial_reason_of(ans);
}

/* E.164 without its '+', as UIS wants numbers. */
static const char *dial_digits(const char *e164)
{
    return e164[0] == '+' ? e164 + 1 : e164;
}

json_t *dial_params(const struct callreq *r, long long employee_id, const char *virtual_e164)
{
    return json_pack("{s:s, s:s, s:s, s:{s:I}, s:s, s:s}", "first_call", "employee",
                     "virtual_phone_number", dial_digits(virtual_e164), "contact",
                     dial_digits(r->phone), "employee", "id", (json_int_t)employee_id, "direction",
                     "out", "external_id", r->request_id);
}

char *dial_result_json(const struct callreq *r, const struct dial_outcome *o, const char *at)
{
    char popup_id[IDS_UUID_LEN + CALLREQ_TENANT_MAX + 16], formatted[PHONE_DISPLAY_LEN];
    json_t *obj;
    char *s;

    snprintf(popup_id, sizeof(popup_id), "%s:request:%s", r->tenant, r->request_id);
    if (phone_format(r->phone, formatted, sizeof(formatted)) != PHONE_OK)
        snprintf(formatted, sizeof(formatted), "%s", r->phone);
    obj = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:o, s:s}", "kind",
        "call_request", "popup_id", popup_id, "tenant", r->tenant, "user_id",
        (json_int_t)r->user_id, "request_id", r->request_id, "action", "close", "state", "closed",
        "status", dial_status_name(o->status), "reason", o->reason, "message",
        dial_message(o->reason), "phone", "number", r->phone, "formatted", formatted,
        "counterparty_id", r->counterparty_id > 0 ? json_integer(r->counterparty_id) : json_null(),
        "call_id", o->call_session_id[0] ? json_string(o->call_session_id) : json_null(), "at", at);
    s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    return s;
}
