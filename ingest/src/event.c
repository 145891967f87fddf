#include "event.h"

#include "common/b64.h"
#include "common/call_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *event_build(const struct uis_event *ev, const char *tenant, const char *received_at,
                    const char *event_id)
{
    json_t *obj = uis_event_to_json(ev);

    if (!obj)
        return NULL;
    if (json_object_set_new(obj, "tenant", json_string(tenant)) < 0 ||
        json_object_set_new(obj, "received_at", json_string(received_at)) < 0 ||
        json_object_set_new(obj, "event_id", json_string(event_id)) < 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static void event_string_or_null(struct jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    if (s[0] != '\0')
        jsonw_string(w, s);
    else
        jsonw_null(w);
}

/* Member for member what uis_event_to_json and event_build make, in their order. */
int event_write(const struct uis_event *ev, const char *tenant, const char *received_at,
                const char *event_id, struct jsonw *w)
{
    const char *state = uis_state_name(ev->state);
    const char *direction = uis_direction_name(ev->direction);
    size_t len;

    if (ev->call_id[0] == '\0' || !state || !direction)
        return -1;
    jsonw_object_open(w);
    jsonw_key(w, "call_id");
    jsonw_string(w, ev->call_id);
    jsonw_key(w, "call_state");
    jsonw_string(w, state);
    jsonw_key(w, "direction");
    jsonw_string(w, direction);
    event_string_or_null(w, "from_number", ev->from_number);
    jsonw_key(w, "from_number_raw");
    jsonw_string(w, ev->from_number_raw);
    event_string_or_null(w, "diversion", ev->diversion);
    jsonw_key(w, "diversion_raw");
    jsonw_string(w, ev->diversion_raw);
    event_string_or_null(w, "user_extension", ev->user_extension);
    jsonw_key(w, "call_record_urls");
    jsonw_array_open(w);
    for (size_t i = 0; i < ev->n_call_record_urls; i++)
        jsonw_string(w, ev->call_record_urls[i]);
    jsonw_array_close(w);
    if (ev->talk_s >= 0) {
        jsonw_key(w, "talk_duration");
        jsonw_int(w, ev->talk_s);
    }
    if (ev->total_s >= 0) {
        jsonw_key(w, "total_duration");
        jsonw_int(w, ev->total_s);
    }
    if (ev->wait_s >= 0) {
        jsonw_key(w, "wait_duration");
        jsonw_int(w, ev->wait_s);
    }
    jsonw_key(w, "tenant");
    jsonw_string(w, tenant);
    jsonw_key(w, "received_at");
    jsonw_string(w, received_at);
    jsonw_key(w, "event_id");
    jsonw_string(w, event_id);
    jsonw_object_close(w);
    return jsonw_finish(w, &len) ? 0 : -1;
}

int event_key(const struct uis_event *ev, const char *tenant, char *out, size_t outlen)
{
    return call_key_format(out, outlen, tenant, ev->from_number, ev->call_id);
}

const char *event_ce_type(const struct uis_event *ev)
{
    switch (ev->state) {
    case UIS_STATE_RINGING:
        return "ru.uis.call.ringing";
    case UIS_STATE_ANSWERED:
        return "ru.uis.call.answered";
    case UIS_STATE_HANGUP:
        return "ru.uis.call.hangup";
    case UIS_STATE_MISSED:
        return "ru.uis.call.missed";
    case UIS_STATE_FINISHED:
        return "ru.uis.call.finished";
    case UIS_STATE_NONE:
        break;
    }
    return NULL;
}

/* A body cut at max_body may end inside a multi-byte character: it is then not valid UTF-8,
 * and json_stringn refuses it, so fall back to base64 and keep every byte. */
static json_t *event_body_value(const char *body, size_t len, const char **encoding)
{
    json_t *text = memchr(body, '\0', len) ? NULL : json_stringn(body, len);
    size_t cap;
    char *b64;
    json_t *val;

    if (text) {
        *encoding = "utf-8";
        return text;
    }
    *encoding = "base64";
    cap = b64_encoded_size(len);
    b64 = malloc(cap);
    if (!b64)
        return NULL;
    b64_encode((const unsigned char *)body, len, b64, cap, 0);
    val = json_string(b64);
    free(b64);
    return val;
}

json_t *event_rejected(const char *tenant, const char *received_at, const char *event_id,
                       unsigned status, const struct uis_error *err, const char *body, size_t len,
                       size_t total_len, json_t *headers)
{
    const char *encoding = "utf-8";
    json_t *obj = uis_error_to_json(err);
    json_t *body_val = event_body_value(body ? body : "", body ? len : 0, &encoding);
    json_t *extra;

    if (!obj || !body_val) {
        json_decref(obj);
        json_decref(body_val);
        return NULL;
    }
    extra =
        json_pack("{s:s, s:s, s:s, s:i, s:o, s:s, s:b, s:I, s:o}", "tenant", tenant, "received_at",
                  received_at, "event_id", event_id, "status", (int)status, "body", body_val,
                  "body_encoding", encoding, "body_truncated", total_len > len, "body_size",
                  (json_int_t)total_len, "headers", headers ? json_incref(headers) : json_object());
    if (!extra || json_object_update(obj, extra) < 0) {
        json_decref(extra);
        json_decref(obj);
        return NULL;
    }
    json_decref(extra);
    return obj;
}

int event_header_kept(const char *name)
{
    /* What helps to tell who sent a refused body and how: never the URL, never credentials. */
    static const char *const kept[] = {
        "content-type", "content-length",    "content-encoding", "user-agent",
        "traceparent",  "tracestate",        "x-request-id",     "x-forwarded-for",
        "x-real-ip",    "x-forwarded-proto", "accept-encoding",  "expect",
    };

    for (size_t i = 0; name && i < sizeof(kept) / sizeof(kept[0]); i++) {
        if (strcasecmp(name, kept[i]) == 0)
            return 1;
    }
    return 0;
}

size_t event_rejected_max_size(size_t max_body, size_t header_bytes)
{
    return 6 * (max_body + header_bytes) + EVENT_REJECTED_ENVELOPE;
}
