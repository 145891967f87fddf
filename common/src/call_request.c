#include "common/call_request.h"
#include "common/jstr.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int callreq_fail(char *err, size_t errlen, const char *reason)
{
    snprintf(err, errlen, "%s", reason);
    return -1;
}

/* A counterparty id: absent or null gives 0, else a positive integer. */
static int callreq_cp(const json_t *v, long long *out)
{
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return -1;
    *out = (long long)json_integer_value(v);
    return 0;
}

int callreq_from_body(const char *body, size_t len, struct callreq *out, const char **field,
                      char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    const json_t *phone;
    const char *raw;
    int rc;

    *field = "body";
    if (len > CALLREQ_BODY_MAX)
        return callreq_fail(err, errlen, "body is larger than 1024 bytes");
    root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return callreq_fail(err, errlen, "body is not a JSON object");
    }
    phone = json_object_get(root, "phone");
    *field = "phone";
    if (!json_is_string(phone) || json_string_length(phone) >= sizeof(out->phone_raw)) {
        json_decref(root);
        return callreq_fail(err, errlen, "phone is missing or not a string of a phone number");
    }
    raw = json_string_value(phone);
    rc = phone_normalize(raw, out->phone, sizeof(out->phone));
    if (rc != PHONE_OK) {
        snprintf(err, errlen, "the number cannot be called: %s",
                 rc == PHONE_EMPTY ? "it is empty" : phone_strerror(rc));
        json_decref(root);
        return -1;
    }
    snprintf(out->phone_raw, sizeof(out->phone_raw), "%s", raw);
    *field = "counterparty_id";
    if (callreq_cp(json_object_get(root, "counterparty_id"), &out->counterparty_id) < 0) {
        json_decref(root);
        return callreq_fail(err, errlen, "counterparty_id is not a positive integer or null");
    }
    json_decref(root);
    *field = NULL;
    return 0;
}

char *callreq_to_json(const struct callreq *r)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:s}", "request_id", r->request_id,
                          "tenant", r->tenant, "user_id", (json_int_t)r->user_id, "phone", r->phone,
                          "phone_raw", r->phone_raw, "counterparty_id",
                          r->counterparty_id > 0 ? json_integer(r->counterparty_id) : json_null(),
                          "requested_at", r->requested_at);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(o);
    return s;
}

int callreq_parse(const char *buf, size_t len, struct callreq *out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    const json_t *uid;
    char e164[PHONE_E164_LEN];
    const char *bad = NULL;

    memset(out, 0, sizeof(*out));
    root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return callreq_fail(err, errlen, "call request is not a JSON object");
    }
    uid = json_object_get(root, "user_id");
    if (jstr_copy(json_object_get(root, "request_id"), out->request_id, sizeof(out->request_id)) <
        0)
        bad = "request_id is missing or not a uuid";
    else if (jstr_copy(json_object_get(root, "tenant"), out->tenant, sizeof(out->tenant)) < 0)
        bad = "tenant is missing or not a tenant id";
    else if (!json_is_integer(uid) || json_integer_value(uid) <= 0)
        bad = "user_id is missing or not a positive integer";
    else if (jstr_copy(json_object_get(root, "phone"), out->phone, sizeof(out->phone)) < 0 ||
             phone_normalize(out->phone, e164, sizeof(e164)) != PHONE_OK ||
             strcmp(e164, out->phone) != 0)
        bad = "phone is missing or not an E.164 number";
    else if (callreq_cp(json_object_get(root, "counterparty_id"), &out->counterparty_id) < 0)
        bad = "counterparty_id is not a positive integer or null";
    else if (jstr_copy(json_object_get(root, "requested_at"), out->requested_at,
                       sizeof(out->requested_at)) < 0)
        bad = "requested_at is missing or not a time";
    if (!bad) {
        out->user_id = (long long)json_integer_value(uid);
        /* phone_raw is informative: a missing or long one is not worth refusing a call for. */
        if (jstr_copy(json_object_get(root, "phone_raw"), out->phone_raw, sizeof(out->phone_raw)) <
            0)
            snprintf(out->phone_raw, sizeof(out->phone_raw), "%s", out->phone);
    }
    json_decref(root);
    if (bad) {
        memset(out, 0, sizeof(*out));
        return callreq_fail(err, errlen, bad);
    }
    return 0;
}

int callreq_key(const struct callreq *r, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s:%lld", r->tenant, r->user_id);

    return n < 0 || (size_t)n >= outlen ? -1 : n;
}
