#include "admin_settings.h"

#include "common/phone.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SETTING_SQL(col, cast)                                                                     \
    "UPDATE tenants SET " col " = $2" cast ", updated_at = now() WHERE id = $1"

static const struct setting_def setting_defs[] = {
    {"name", SETTING_TEXT, SETTING_SQL("name", "")},
    {"uis_api_key", SETTING_SECRET, SETTING_SQL("uis_api_key", "")},
    {"notify_responsible_only", SETTING_BOOL, SETTING_SQL("notify_responsible_only", "::boolean")},
    {"create_contact_on_call", SETTING_BOOL, SETTING_SQL("create_contact_on_call", "::boolean")},
    {"add_call_to_last_active_deal", SETTING_BOOL,
     SETTING_SQL("add_call_to_last_active_deal", "::boolean")},
    {"create_missed_call_task", SETTING_BOOL, SETTING_SQL("create_missed_call_task", "::boolean")},
    {"unknown_to_fixed_counterparty", SETTING_BOOL,
     SETTING_SQL("unknown_to_fixed_counterparty", "::boolean")},
    {"fixed_counterparty_id", SETTING_ID_OR_NULL, SETTING_SQL("fixed_counterparty_id", "::bigint")},
    {"quiet_period_s", SETTING_SECONDS, SETTING_SQL("quiet_period_s", "::integer")},
    /* issue 18: the number click-to-call shows the client; null: the one last seen */
    {"uis_virtual_number", SETTING_PHONE_OR_NULL, SETTING_SQL("uis_virtual_number", "")},
};
#define SETTING_NDEFS (sizeof(setting_defs) / sizeof(setting_defs[0]))

void settings_defaults(struct tenant_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->create_contact_on_call = 1;
    s->add_call_to_last_active_deal = 1;
    s->create_missed_call_task = 1;
}

int settings_bool(const char *s)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

int settings_id(const char *s, long long *out)
{
    char *end = NULL;
    long long v;

    if (!s || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < 1)
        return -1;
    *out = v;
    return 0;
}

int settings_from_json(struct tenant_settings *s, const json_t *obj, char *err, size_t errlen)
{
    struct {
        const char *key;
        int *field;
    } bools[] = {
        {"notify_responsible_only", &s->notify_responsible_only},
        {"create_contact_on_call", &s->create_contact_on_call},
        {"add_call_to_last_active_deal", &s->add_call_to_last_active_deal},
        {"create_missed_call_task", &s->create_missed_call_task},
        {"unknown_to_fixed_counterparty", &s->unknown_to_fixed_counterparty},
    };
    const char *key;
    json_t *v;

    if (!json_is_object(obj)) {
        snprintf(err, errlen, "settings: must be a JSON object");
        return -1;
    }
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it)) {
        int done = 0;

        key = json_object_iter_key(it);
        v = json_object_iter_value(it);
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]) && !done; i++) {
            if (strcmp(key, bools[i].key) != 0)
                continue;
            if (!json_is_boolean(v)) {
                snprintf(err, errlen, "settings.%s: must be true or false", key);
                return -1;
            }
            *bools[i].field = json_is_true(v);
            done = 1;
        }
        if (done)
            continue;
        if (strcmp(key, "uis_api_key") == 0) {
            if (!json_is_string(v)) {
                snprintf(err, errlen, "settings.uis_api_key: must be a string");
                return -1;
            }
            s->uis_api_key = json_string_value(v);
        } else if (strcmp(key, "fixed_counterparty_id") == 0) {
            if (json_is_null(v)) {
                s->fixed_counterparty_id = 0;
            } else if (json_is_integer(v) && json_integer_value(v) > 0) {
                s->fixed_counterparty_id = json_integer_value(v);
            } else {
                snprintf(err, errlen,
                         "settings.fixed_counterparty_id: must be a positive id or "
                         "null");
                return -1;
            }
        } else {
            snprintf(err, errlen, "settings: unknown key '%s' (known: %s)", key, settings_keys());
            return -1;
        }
    }
    return 0;
}

const char *settings_keys(void)
{
    return "name, uis_api_key, notify_responsible_only, create_contact_on_call, "
           "add_call_to_last_active_deal, create_missed_call_task, "
           "unknown_to_fixed_counterparty, fixed_counterparty_id, quiet_period_s, "
           "uis_virtual_number";
}

int settings_kv_parse(const char *arg, struct setting_kv *kv, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    size_t klen;
    int b;

    memset(kv, 0, sizeof(*kv));
    if (!eq || eq == arg) {
        snprintf(err, errlen, "'%.40s': expected key=value", arg);
        return -1;
    }
    klen = (size_t)(eq - arg);
    for (size_t i = 0; i < SETTING_NDEFS; i++) {
        if (strlen(setting_defs[i].key) == klen && strncmp(setting_defs[i].key, arg, klen) == 0)
            kv->def = &setting_defs[i];
    }
    if (!kv->def) {
        snprintf(err, errlen, "unknown setting '%.*s' (known: %s)", (int)(klen > 40 ? 40 : klen),
                 arg, settings_keys());
        return -1;
    }
    kv->value = eq + 1;
    switch (kv->def->kind) {
    case SETTING_TEXT:
        if (!kv->value[0]) {
            snprintf(err, errlen, "%s: must not be empty", kv->def->key);
            return -1;
        }
        return 0;
    case SETTING_SECRET:
        /* A secret in argv is visible to every local user in ps and lands in shell history. */
        snprintf(err, errlen,
                 "%s cannot be given on the command line (ps would show it): pipe it to "
                 "'crmctl tenant uis-key TENANT', or put it in a --settings file",
                 kv->def->key);
        return -1;
    case SETTING_BOOL:
        b = settings_bool(kv->value);
        if (b < 0) {
            snprintf(err, errlen, "%s: '%.20s' is not true or false", kv->def->key, kv->value);
            return -1;
        }
        kv->value = b ? "true" : "false";
        return 0;
    case SETTING_SECONDS: {
        long long s;

        if (settings_id(kv->value, &s) < 0 || s < 5 || s > 86400) {
            snprintf(err, errlen, "%s: '%.20s' is not a number of seconds from 5 to 86400",
                     kv->def->key, kv->value);
            return -1;
        }
        snprintf(kv->buf, sizeof(kv->buf), "%lld", s);
        kv->value = kv->buf;
        return 0;
    }
    case SETTING_ID_OR_NULL: {
        long long id;

        if (!kv->value[0] || strcmp(kv->value, "null") == 0 || strcmp(kv->value, "none") == 0) {
            kv->value = NULL;
            return 0;
        }
        if (settings_id(kv->value, &id) < 0) {
            snprintf(err, errlen, "%s: '%.20s' is not a positive id (or null)", kv->def->key,
                     kv->value);
            return -1;
        }
        snprintf(kv->buf, sizeof(kv->buf), "%lld", id);
        kv->value = kv->buf;
        return 0;
    }
    case SETTING_PHONE_OR_NULL: {
        int rc;

        if (!kv->value[0] || strcmp(kv->value, "null") == 0 || strcmp(kv->value, "none") == 0) {
            kv->value = NULL;
            return 0;
        }
        rc = phone_normalize(kv->value, kv->buf, sizeof(kv->buf));
        if (rc != PHONE_OK) {
            snprintf(err, errlen, "%s: '%.20s' %s", kv->def->key, kv->value,
                     rc == PHONE_EMPTY ? "is empty" : phone_strerror(rc));
            return -1;
        }
        kv->value = kv->buf;
        return 0;
    }
    }
    return -1;
}

void settings_mask(const char *secret, char *out, size_t outlen)
{
    size_t n = secret ? strlen(secret) : 0;

    if (n == 0)
        snprintf(out, outlen, "%s", "");
    else if (n >= 12)
        snprintf(out, outlen, "****%s", secret + n - 4);
    else
        snprintf(out, outlen, "****");
}

int settings_webhook_url(const char *base, const char *tenant, const char *token, char *out,
                         size_t outlen)
{
    size_t blen = strlen(base);
    int n;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    n = snprintf(out, outlen, "%.*s/v1/uis/%s/%s", (int)blen, base, tenant, token);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
