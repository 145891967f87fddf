/* A client of UIS's Data API and Call API (UIS-API.md): JSON-RPC 2.0 over HTTPS, one call per
 * request, the tenant's API key as params.access_token. Every answer is reduced to what the
 * caller must do (enum uis_api_action) from UIS's error mnemonic, never from the numeric code
 * alone (several mnemonics share a code), and carries the account's point limits when UIS sent
 * them. The key is never logged, never put in an error text and never a metric label: nothing
 * here prints, and the texts of struct uis_api_answer come from UIS or libcurl, which never see
 * the key outside the request body.
 *
 * Two halves: the pure one (request building, answer parsing, budget arithmetic) that unit tests
 * drive with canned answers, and the transport (uis_api_client_*, libcurl). */
#ifndef COMMON_UIS_API_H
#define COMMON_UIS_API_H

#include <stddef.h>

#include <jansson.h>

/* What the caller must do with an answer. */
enum uis_api_action {
    UIS_API_OK,               /* result holds the answer */
    UIS_API_RETRY,            /* internal_error, transport failure, HTTP 5xx: retry with backoff */
    UIS_API_BACKOFF,          /* limit_exceeded: wait retry_after_s, then go on */
    UIS_API_KEY_REJECTED,     /* access_token_*, auth_error: stop calling for that tenant */
    UIS_API_IP_DENIED,        /* ip_not_whitelisted, forbidden: the admin fixes the IP list */
    UIS_API_ACCOUNT_INACTIVE, /* account_inactive: stop for that tenant */
    UIS_API_DISABLED,         /* method_component_disabled & co: the account lacks the option */
    UIS_API_BAD_REQUEST,      /* -32602: fix the request (date range, parameter, entity) */
    UIS_API_CALL_REFUSED,     /* Call API: number, blacklist, employee: tell the user */
    UIS_API_BUG,              /* parse_error, invalid_request, method_not_found, garbage: alert */
};

enum uis_api_endpoint { UIS_API_DATA, UIS_API_CALL };

/* result.metadata.limits (or error.data.metadata.limits): points of the account. known is 0
 * when the answer had none (then every other field is 0). */
struct uis_api_limits {
    int known;
    long day_limit, day_remaining, day_reset;
    long minute_limit, minute_remaining, minute_reset;
};

struct uis_api_answer {
    enum uis_api_action action;
    int code;           /* JSON-RPC error code, 0 on success; -1 transport, HTTP status >= 100 */
    char mnemonic[64];  /* UIS's error.data.mnemonic, "transport", "http_503", "bad_answer" */
    char message[256];  /* UIS's message or libcurl's reason, for an admin; no key in it */
    char field[64];     /* error.data.field when UIS named one */
    long retry_after_s; /* BACKOFF and RETRY: how long to wait before the next call */
    long total_items;   /* result.metadata.total_items, -1 when absent */
    struct uis_api_limits limits;
    json_t *result; /* owned: the "result" object on UIS_API_OK, else NULL */
};

/* ---- pure half ---- */

/* The request body: {"jsonrpc":"2.0","id":id,"method":method,"params":params+access_token}.
 * params is borrowed (may be NULL) and copied; returns a new string the caller frees, or NULL. */
char *uis_api_request_body(const char *method, unsigned long id, const char *access_token,
                           const json_t *params);

/* The action for an error mnemonic (code decides only when the mnemonic is unknown). */
enum uis_api_action uis_api_action_of(const char *mnemonic, int code);

/* "ok", "retry", "backoff", "key_rejected", ...: stable names for metrics and tenant status. */
const char *uis_api_action_name(enum uis_api_action action);

/* A sentence for an admin about what to do, e.g. for "key_rejected": "the UIS API key is wrong,
 * expired or blocked: issue a new key in the UIS cabinet". */
const char *uis_api_action_advice(enum uis_api_action action);

/* Reduce an HTTP answer to ans (which the caller later releases). http_status 0 means no HTTP
 * answer (transport error, message then in transport_err). Never fails: anything unexpected
 * becomes RETRY (5xx, no answer) or BUG (a body that is not a JSON-RPC answer). */
void uis_api_answer_parse(long http_status, const char *body, size_t len, const char *transport_err,
                          struct uis_api_answer *ans);

/* Drop the result reference. ans may then be reused. */
void uis_api_answer_release(struct uis_api_answer *ans);

/* How long to wait before spending a point, given the limits last seen seen_ago_s seconds ago
 * and the shares (1..100 %) of the account's per-minute and per-day points this client may use:
 * other integrations spend the same points. 0: go. Unknown limits never block. */
long uis_api_budget_wait(const struct uis_api_limits *l, long seen_ago_s, int minute_pct,
                         int day_pct);

/* ---- transport (libcurl) ---- */

struct uis_api_client;

/* Call once at start, before threads (curl_global_init). Returns 0 or -1. */
int uis_api_global_init(void);
void uis_api_global_cleanup(void);

/* data_url and call_url are copied (UIS_DATA_API_URL, UIS_CALL_API_URL). timeout_ms bounds a
 * whole call. Returns NULL with a reason in err. Free with uis_api_client_free. One client per
 * thread. */
struct uis_api_client *uis_api_client_new(const char *data_url, const char *call_url,
                                          long timeout_ms, char *err, size_t errlen);
void uis_api_client_free(struct uis_api_client *c);

/* One JSON-RPC call; params borrowed. Always fills ans (release it). Returns 0 when
 * ans->action is UIS_API_OK, else -1. */
int uis_api_call(struct uis_api_client *c, enum uis_api_endpoint ep, const char *method,
                 const char *access_token, const json_t *params, struct uis_api_answer *ans);

#endif
