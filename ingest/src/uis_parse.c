/* From the scanner's text slots to the normalised event, and both results to JSON. Every value
 * is checked here, field by field in a fixed order, so the first refusal is deterministic. */
#include "uis_parse.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "uis_scan.h"

static int uis_nomem(struct uis_error *err)
{
    return uis_fail(err, UIS_ENOMEM, "", "out of memory while reading the body");
}

static int uis_required(const struct uis_slot *slot, struct uis_error *err, int f)
{
    if (!slot[f].seen)
        return uis_fail(err, UIS_EMISSING, uis_field_names[f], "%s is missing", uis_field_names[f]);
    if (slot[f].text == NULL)
        return uis_fail(err, UIS_EMISSING, uis_field_names[f], "%s is empty or null",
                        uis_field_names[f]);
    return 0;
}

static int uis_conv_call_id(const struct uis_slot *slot, struct uis_error *err,
                            struct uis_event *ev)
{
    const char *s = slot[UIS_F_CALL_ID].text;
    size_t n;
    int rc = uis_required(slot, err, UIS_F_CALL_ID);

    if (rc < 0)
        return rc;
    n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= '0' && c <= '9')
            continue;
        if (c > 0x20 && c < 0x7f)
            return uis_fail(err, UIS_EVALUE, "call_id",
                            "call_id must be digits only, got '%c' at position %zu", c, i + 1);
        return uis_fail(err, UIS_EVALUE, "call_id",
                        "call_id must be digits only, got a space or non-ASCII character at "
                        "position %zu",
                        i + 1);
    }
    if (n > UIS_CALL_ID_MAX)
        return uis_fail(err, UIS_EVALUE, "call_id", "call_id must be at most %d digits, got %zu",
                        UIS_CALL_ID_MAX, n);
    memcpy(ev->call_id, s, n + 1);
    return 0;
}

static int uis_conv_state(const struct uis_slot *slot, struct uis_error *err, struct uis_event *ev)
{
    static const enum uis_call_state states[] = {UIS_STATE_RINGING, UIS_STATE_ANSWERED,
                                                 UIS_STATE_HANGUP, UIS_STATE_MISSED,
                                                 UIS_STATE_FINISHED};
    const char *s = slot[UIS_F_CALL_STATE].text;
    char snip[28];
    int rc = uis_required(slot, err, UIS_F_CALL_STATE);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        if (strcasecmp(s, uis_state_name(states[i])) == 0) {
            ev->state = states[i];
            return 0;
        }
    }
    uis_snip(s, strlen(s), snip, sizeof(snip));
    return uis_fail(err, UIS_EVALUE, "call_state",
                    "call_state must be RINGING, ANSWERED, HANGUP, MISSED or FINISHED, got \"%s\"",
                    snip);
}

static int uis_conv_direction(const struct uis_slot *slot, struct uis_error *err,
                              struct uis_event *ev)
{
    const char *s = slot[UIS_F_DIRECTION].text;
    char snip[28];
    int rc = uis_required(slot, err, UIS_F_DIRECTION);

    if (rc < 0)
        return rc;
    if (strcasecmp(s, "in") == 0 || strcasecmp(s, "incoming") == 0) {
        ev->direction = UIS_DIR_IN;
        return 0;
    }
    if (strcasecmp(s, "out") == 0 || strcasecmp(s, "outgoing") == 0) {
        ev->direction = UIS_DIR_OUT;
        return 0;
    }
    uis_snip(s, strlen(s), snip, sizeof(snip));
    return uis_fail(err, UIS_EVALUE, "direction", "direction must be in or out, got \"%s\"", snip);
}

/* Hidden and empty numbers are accepted (null); anything else that is not a number is refused
 * rather than stored half-understood, since counterparties are matched on it. The number is
 * never quoted in the reason: it is personal data. */
static int uis_conv_phone(const struct uis_slot *slot, struct uis_error *err, int f, char *e164,
                          char *raw)
{
    const char *s = slot[f].text;
    size_t n = s != NULL ? strlen(s) : 0;
    int rc;

    if (n > UIS_RAW_MAX)
        return uis_fail(err, UIS_EVALUE, uis_field_names[f], "%s is longer than %d characters",
                        uis_field_names[f], UIS_RAW_MAX);
    memcpy(raw, n > 0 ? s : "", n + 1);
    rc = phone_normalize(s, e164, PHONE_E164_LEN);
    /* The virtual number called only labels the popup: one that cannot be read must not cost
     * the whole notification, so it is kept raw (issue 15). The caller's number decides the
     * counterparty, and a number half-understood is refused. An internal or service number
     * (PHONE_INTERNAL) is kept raw too: never matched, never a counterparty. */
    if (rc < 0 && f != UIS_F_DIVERSION)
        return uis_fail(err, UIS_EVALUE, uis_field_names[f], "%s %s", uis_field_names[f],
                        phone_strerror(rc));
    return 0;
}

static int uis_conv_ext(const struct uis_slot *slot, struct uis_error *err, struct uis_event *ev)
{
    const char *s = slot[UIS_F_EXT].text;
    size_t n = s != NULL ? strlen(s) : 0;

    if (n > 0 && !phone_ext_valid(s))
        return uis_fail(err, UIS_EVALUE, "user_extension",
                        "user_extension must be up to %d digits, letters or * # + _ -",
                        PHONE_EXT_MAX);
    memcpy(ev->user_extension, n > 0 ? s : "", n + 1);
    return 0;
}

static bool uis_has_scheme(const char *s, size_t n)
{
    return (n >= 7 && strncasecmp(s, "http://", 7) == 0) ||
           (n >= 8 && strncasecmp(s, "https://", 8) == 0);
}

static int uis_add_url(struct uis_error *err, struct uis_event *ev, const char *s, size_t n)
{
    size_t scheme = strncasecmp(s, "https://", 8) == 0 ? 8 : 7;
    char *u;

    if (!uis_has_scheme(s, n) || n == scheme)
        return uis_fail(err, UIS_EVALUE, "call_record_url",
                        "call_record_url must hold http:// or https:// links, got something "
                        "else");
    if (n > UIS_URL_MAX)
        return uis_fail(err, UIS_EVALUE, "call_record_url",
                        "call_record_url has a link longer than %d characters", UIS_URL_MAX);
    for (size_t i = 0; i < n; i++) {
        if (strchr("\"\\<>\x7f", s[i]) != NULL || (unsigned char)s[i] < 0x20)
            return uis_fail(err, UIS_EVALUE, "call_record_url",
                            "call_record_url has a link with a quote, backslash, '<' or '>' in "
                            "it");
    }
    /* The same link twice is one recording; keeping one makes equivalent bodies identical. */
    for (size_t i = 0; i < ev->n_call_record_urls; i++) {
        const char *have = ev->call_record_urls[i]; /* every entry below n is set */

        if (have && strlen(have) == n && memcmp(have, s, n) == 0)
            return 0;
    }
    if (ev->n_call_record_urls == UIS_URLS_MAX)
        return uis_fail(err, UIS_EVALUE, "call_record_url",
                        "call_record_url has more than %d links", UIS_URLS_MAX);
    u = strndup(s, n);
    if (u == NULL)
        return uis_nomem(err);
    ev->call_record_urls[ev->n_call_record_urls++] = u;
    return 0;
}

/* Split one whitespace-free token at each ",http://" or ",https://"; other commas stay, since
 * a link's query may hold them. Leading and trailing commas are separators. */
static int uis_split_token(struct uis_error *err, struct uis_event *ev, const char *s, size_t n)
{
    while (n > 0) {
        size_t cut = n;
        int rc;

        while (n > 0 && *s == ',')
            s++, n--;
        for (size_t i = 1; i < n; i++) {
            if (s[i] == ',' && uis_has_scheme(s + i + 1, n - i - 1)) {
                cut = i;
                break;
            }
        }
        if (cut > n)
            cut = n;
        {
            size_t m = cut;

            while (m > 0 && s[m - 1] == ',')
                m--;
            if (m > 0) {
                rc = uis_add_url(err, ev, s, m);
                if (rc < 0)
                    return rc;
            }
        }
        s += cut;
        n -= cut;
    }
    return 0;
}

static int uis_conv_urls(const struct uis_slot *slot, struct uis_error *err, struct uis_event *ev)
{
    const char *s = slot[UIS_F_URL].text;

    if (s == NULL)
        return 0;
    ev->call_record_urls = calloc(UIS_URLS_MAX, sizeof(char *));
    if (ev->call_record_urls == NULL)
        return uis_nomem(err);
    while (*s != '\0') {
        size_t n;
        int rc;

        while (uis_is_ws(*s))
            s++;
        n = 0;
        while (s[n] != '\0' && !uis_is_ws(s[n]))
            n++;
        rc = uis_split_token(err, ev, s, n);
        if (rc < 0)
            return rc;
        s += n;
    }
    return 0;
}

/* A duration in whole seconds, as UIS renders {{talk_time_duration}} and its kin: a bare or
 * quoted integer; absent, empty or null is unknown (-1). */
static int uis_conv_duration(const struct uis_slot *slot, struct uis_error *err, int f,
                             long long *out)
{
    const char *s = slot[f].text;
    size_t n = s != NULL ? strlen(s) : 0;
    long long v = 0;

    *out = -1;
    if (n == 0)
        return 0;
    if (n > 7 || strspn(s, "0123456789") != n)
        return uis_fail(err, UIS_EVALUE, uis_field_names[f], "%s must be a whole number of seconds",
                        uis_field_names[f]);
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    if (v > UIS_DURATION_MAX)
        return uis_fail(err, UIS_EVALUE, uis_field_names[f], "%s is longer than %d seconds",
                        uis_field_names[f], UIS_DURATION_MAX);
    *out = v;
    return 0;
}

static int uis_convert(const struct uis_slot *slot, struct uis_error *err, struct uis_event *ev)
{
    int rc = uis_conv_call_id(slot, err, ev);

    if (rc == 0)
        rc = uis_conv_state(slot, err, ev);
    if (rc == 0)
        rc = uis_conv_direction(slot, err, ev);
    if (rc == 0)
        rc = uis_conv_phone(slot, err, UIS_F_FROM, ev->from_number, ev->from_number_raw);
    if (rc == 0)
        rc = uis_conv_phone(slot, err, UIS_F_DIVERSION, ev->diversion, ev->diversion_raw);
    if (rc == 0)
        rc = uis_conv_ext(slot, err, ev);
    if (rc == 0)
        rc = uis_conv_urls(slot, err, ev);
    if (rc == 0)
        rc = uis_conv_duration(slot, err, UIS_F_TALK, &ev->talk_s);
    if (rc == 0)
        rc = uis_conv_duration(slot, err, UIS_F_TOTAL, &ev->total_s);
    if (rc == 0)
        rc = uis_conv_duration(slot, err, UIS_F_WAIT, &ev->wait_s);
    return rc;
}

int uis_parse(const char *body, size_t len, struct uis_event *ev, struct uis_error *err)
{
    struct uis_slot slot[UIS_F_COUNT];
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    rc = uis_scan(body, len, slot, err);
    if (rc == 0)
        rc = uis_convert(slot, err, ev);
    uis_scan_release(slot);
    if (rc < 0)
        uis_event_release(ev);
    return rc;
}

void uis_event_release(struct uis_event *ev)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < ev->n_call_record_urls; i++)
        free(ev->call_record_urls[i]);
    free(ev->call_record_urls);
    memset(ev, 0, sizeof(*ev));
}

const char *uis_state_name(enum uis_call_state state)
{
    switch (state) {
    case UIS_STATE_RINGING:
        return "RINGING";
    case UIS_STATE_ANSWERED:
        return "ANSWERED";
    case UIS_STATE_HANGUP:
        return "HANGUP";
    case UIS_STATE_MISSED:
        return "MISSED";
    case UIS_STATE_FINISHED:
        return "FINISHED";
    default:
        return NULL;
    }
}

const char *uis_direction_name(enum uis_direction dir)
{
    switch (dir) {
    case UIS_DIR_IN:
        return "in";
    case UIS_DIR_OUT:
        return "out";
    default:
        return NULL;
    }
}

static json_t *uis_string_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

json_t *uis_event_to_json(const struct uis_event *ev)
{
    json_t *o = json_object();
    json_t *urls = json_array();
    int rc = 0;

    if (o == NULL || urls == NULL || ev->call_id[0] == '\0') {
        json_decref(o);
        json_decref(urls);
        return NULL;
    }
    for (size_t i = 0; i < ev->n_call_record_urls; i++)
        rc |= json_array_append_new(urls, json_string(ev->call_record_urls[i]));
    /* json_string(NULL) and json_string of bad UTF-8 give NULL, which set_new refuses: an event
     * with an unnamed state or direction yields NULL instead of a half-filled object. */
    rc |= json_object_set_new(o, "call_id", json_string(ev->call_id));
    rc |= json_object_set_new(o, "call_state", json_string(uis_state_name(ev->state)));
    rc |= json_object_set_new(o, "direction", json_string(uis_direction_name(ev->direction)));
    rc |= json_object_set_new(o, "from_number", uis_string_or_null(ev->from_number));
    rc |= json_object_set_new(o, "from_number_raw", json_string(ev->from_number_raw));
    rc |= json_object_set_new(o, "diversion", uis_string_or_null(ev->diversion));
    rc |= json_object_set_new(o, "diversion_raw", json_string(ev->diversion_raw));
    rc |= json_object_set_new(o, "user_extension", uis_string_or_null(ev->user_extension));
    rc |= json_object_set_new(o, "call_record_urls", urls);
    /* Only when known, so that the guide's four templates give the same event as before. */
    if (ev->talk_s >= 0)
        rc |= json_object_set_new(o, "talk_duration", json_integer(ev->talk_s));
    if (ev->total_s >= 0)
        rc |= json_object_set_new(o, "total_duration", json_integer(ev->total_s));
    if (ev->wait_s >= 0)
        rc |= json_object_set_new(o, "wait_duration", json_integer(ev->wait_s));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static const char *uis_error_kind(enum uis_rc code)
{
    switch (code) {
    case UIS_EMISSING:
        return "missing field";
    case UIS_EVALUE:
        return "invalid field value";
    case UIS_EDUPLICATE:
        return "duplicate field";
    case UIS_ENOMEM:
        return "internal error";
    default:
        return "invalid webhook body";
    }
}

json_t *uis_error_to_json(const struct uis_error *err)
{
    json_t *o = json_object();
    int rc = 0;

    if (o == NULL)
        return NULL;
    rc |= json_object_set_new(o, "error", json_string(uis_error_kind(err->code)));
    rc |= json_object_set_new(o, "field",
                              err->field[0] != '\0' ? json_string(err->field) : json_null());
    rc |= json_object_set_new(o, "reason", json_string(err->reason));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
