/* Tenant settings as crmctl takes them (SPEC §3): from a JSON file and flags for install,
 * from key=value pairs for `tenant set`; the masked form of the UIS API key; the webhook
 * address. Pure. */
#ifndef CRMW_ADMIN_SETTINGS_H
#define CRMW_ADMIN_SETTINGS_H

#include <stddef.h>

#include <jansson.h>

/* Strings are borrowed (from argv or the JSON document the caller keeps). */
struct tenant_settings {
    const char *uis_api_key; /* NULL: not given (an existing key is kept) */
    int notify_responsible_only;
    int create_contact_on_call;
    int add_call_to_last_active_deal;
    int create_missed_call_task;
    int unknown_to_fixed_counterparty;
    long long fixed_counterparty_id; /* 0: none */
};

/* The plugin's defaults: contact, deal history and missed-call task on, the rest off. */
void settings_defaults(struct tenant_settings *s);

/* Apply a JSON object of settings (keys as in SPEC §3). Unknown keys and wrong types are
 * errors naming the key. Returns 0 or -1. */
int settings_from_json(struct tenant_settings *s, const json_t *obj, char *err, size_t errlen);

/* Settings `tenant set` can change. */
enum setting_kind {
    SETTING_TEXT,
    SETTING_SECRET,
    SETTING_BOOL,
    SETTING_ID_OR_NULL,
    SETTING_SECONDS, /* 5..86400 */
    SETTING_PHONE_OR_NULL
};

struct setting_def {
    const char *key;
    enum setting_kind kind;
    const char *sql; /* UPDATE tenants SET <column> = $2 WHERE id = $1 */
};

/* One parsed key=value: def points into the static table; value is normalised ("true",
 * "false", digits) or NULL for SQL NULL, and points into arg or a static string. */
struct setting_kv {
    const struct setting_def *def;
    const char *value;
    char buf[24];
};

/* Parse "key=value". Returns 0 or -1 with the reason naming the key (never quoting a secret
 * value). */
int settings_kv_parse(const char *arg, struct setting_kv *kv, char *err, size_t errlen);

/* Keys accepted by settings_kv_parse, comma-separated, for usage text. */
const char *settings_keys(void);

/* Parse a boolean word (true/false, yes/no, on/off, 1/0). Returns 0/1, or -1. */
int settings_bool(const char *s);

/* A positive id from text (digits only, < 2^63). Returns 0 or -1. */
int settings_id(const char *s, long long *out);

/* "" for an empty key, "****" + the last 4 characters for one of 12 or more, else "****". */
void settings_mask(const char *secret, char *out, size_t outlen);

/* base + "/v1/uis/" + tenant + "/" + token, without a doubled slash. Returns 0 or -1 when it
 * does not fit. */
int settings_webhook_url(const char *base, const char *tenant, const char *token, char *out,
                         size_t outlen);

#endif
