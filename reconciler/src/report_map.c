#include "report_map.h"

#include "common/call_key.h"
#include "common/ids.h"
#include "common/phone.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

static int rm_fail(char *err, size_t errlen, const char *field, const char *reason)
{
    snprintf(err, errlen, "%s: %s", field, reason);
    return -1;
}

static const char *rm_str(json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));

    return s ? s : "";
}

static int rm_time(json_t *row, const char *key, char *out, int required, char *err, size_t errlen)
{
    json_t *v = json_object_get(row, key);
    const char *s = json_string_value(v);

    out[0] = '\0';
    if (!s) {
        if (!required && (!v || json_is_null(v)))
            return 0;
        return rm_fail(err, errlen, key, "missing");
    }
    if (strlen(s) != RM_TIME_LEN - 1 || s[4] != '-' || s[10] != ' ' || s[13] != ':')
        return rm_fail(err, errlen, key, "not YYYY-MM-DD hh:mm:ss");
    memcpy(out, s, RM_TIME_LEN);
    return 0;
}

static long rm_long(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);

    return json_is_integer(v) && json_integer_value(v) > 0 ? (long)json_integer_value(v) : 0;
}

int rm_call_parse(json_t *row, struct rm_call *c, char *err, size_t errlen)
{
    json_t *id = json_object_get(row, "id"), *emps, *recs;
    const char *dir = rm_str(row, "direction");

    memset(c, 0, sizeof(*c));
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return rm_fail(err, errlen, "id", "not a positive number");
    snprintf(c->call_id, sizeof(c->call_id), "%lld", (long long)json_integer_value(id));
    c->communication_id =
        json_is_integer(json_object_get(row, "communication_id"))
            ? (long long)json_integer_value(json_object_get(row, "communication_id"))
            : (long long)json_integer_value(id);
    if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)
        return rm_fail(err, errlen, "direction", "not in or out");
    c->out = dir[0] == 'o';
    if (rm_time(row, "start_time", c->start_time, 1, err, errlen) < 0 ||
        rm_time(row, "finish_time", c->finish_time, 0, err, errlen) < 0)
        return -1;
    c->finished = c->finish_time[0] != '\0';
    c->is_lost = json_is_true(json_object_get(row, "is_lost"));
    c->contact = rm_str(row, "contact_phone_number");
    c->virt = rm_str(row, "virtual_phone_number");
    c->wait_s = rm_long(row, "wait_duration");
    c->talk_s = rm_long(row, "talk_duration");
    c->total_s = rm_long(row, "total_duration");
    emps = json_object_get(row, "employees");
    for (size_t i = 0; i < json_array_size(emps) && c->n_employees < RM_MAX_EMPL; i++) {
        json_t *e = json_array_get(emps, i);
        struct rm_employee *m = &c->employees[c->n_employees];

        if (!json_is_integer(json_object_get(e, "employee_id")))
            continue;
        m->id = (long long)json_integer_value(json_object_get(e, "employee_id"));
        m->answered = json_is_true(json_object_get(e, "is_answered"));
        m->talked = json_is_true(json_object_get(e, "is_talked"));
        c->n_employees++;
    }
    recs = json_object_get(row, "call_records");
    for (size_t i = 0; i < json_array_size(recs) && c->n_records < RM_MAX_RECORDS; i++) {
        const char *r = json_string_value(json_array_get(recs, i));

        if (r && r[0])
            c->records[c->n_records++] = r;
    }
    return 0;
}

int rm_record_url(long long communication_id, const char *record, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "https://app.uiscom.ru/system/media/talk/%lld/%s/",
                     communication_id, record);

    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void rm_event_clear(struct rm_event *e)
{
    json_decref(e->value);
    memset(e, 0, sizeof(*e));
}

/* A name-based UUID (version 5 layout, SHA-1) of what identifies the event: the same call, state
 * and leg always get the same id, another tenant's never does. */
static int rm_event_id(const char *tenant, const char *call_id, const char *what, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char buf[256], hex[33];
    int n = snprintf(buf, sizeof(buf), "uis-calls-report\n%s\n%s\n%s", tenant, call_id, what);

    if (n < 0 || (size_t)n >= sizeof(buf) ||
        !EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL) || mdlen < 16)
        return -1;
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    ids_hex(md, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 0;
}

struct rm_ctx {
    const struct rm_call *c;
    const char *tenant;
    char from[PHONE_E164_LEN], virt[PHONE_E164_LEN];
    int (*to_utc)(void *ctx, const char *local, int64_t *us);
    void *time_ctx;
    struct rm_event *out;
    size_t n, max;
};

static json_t *rm_string_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

/* Append one event. at_local + plus_s is the event's own time; ext "" gives null. */
static int rm_emit(struct rm_ctx *x, const char *state, const char *leg, const char *at_local,
                   long plus_s, const char *ext, json_t *urls, int durations)
{
    static const char *const states[] = {"RINGING", "ANSWERED", "HANGUP", "MISSED", "FINISHED"};
    static const char *const types[] = {"ru.uis.call.ringing", "ru.uis.call.answered",
                                        "ru.uis.call.hangup", "ru.uis.call.missed",
                                        "ru.uis.call.finished"};
    const struct rm_call *c = x->c;
    struct rm_event *e;
    int64_t us;
    size_t k = 0;

    if (x->n >= x->max || x->to_utc(x->time_ctx, at_local, &us) < 0) {
        json_decref(urls);
        return -1;
    }
    while (k < 4 && strcmp(states[k], state) != 0)
        k++; /* k == 4: FINISHED */
    e = &x->out[x->n];
    memset(e, 0, sizeof(*e));
    snprintf(e->ce_type, sizeof(e->ce_type), "%s", types[k]);
    ids_rfc3339(us + (int64_t)plus_s * 1000000, e->time);
    if (rm_event_id(x->tenant, c->call_id, leg, e->event_id) < 0) {
        json_decref(urls);
        return -1;
    }
    if (call_key_format(e->key, sizeof(e->key), x->tenant, x->from, c->call_id) < 0) {
        json_decref(urls);
        return -1;
    }
    /* The field order of ingest's events, then the reconciliation's own fields. */
    e->value = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "call_id", c->call_id,
        "call_state", state, "direction", c->out ? "out" : "in", "from_number",
        rm_string_or_null(x->from), "from_number_raw", c->contact, "diversion",
        rm_string_or_null(x->virt), "diversion_raw", c->virt, "user_extension",
        rm_string_or_null(ext), "call_record_urls", urls ? urls : json_array(), "tenant", x->tenant,
        "received_at", e->time, "event_id", e->event_id, "source", "uis-calls-report");
    if (!e->value)
        return -1;
    if (durations &&
        (json_object_set_new(e->value, "talk_duration", json_integer(c->talk_s)) < 0 ||
         json_object_set_new(e->value, "total_duration", json_integer(c->total_s)) < 0 ||
         json_object_set_new(e->value, "wait_duration", json_integer(c->wait_s)) < 0)) {
        rm_event_clear(e);
        return -1;
    }
    x->n++;
    return 0;
}

static int rm_known_url(const struct rm_known *k, const char *url)
{
    for (size_t i = 0; i < k->n_urls; i++) {
        if (strcmp(k->urls[i], url) == 0)
            return 1;
    }
    return 0;
}

/* The employee whose extension the ANSWERED and the HANGUP carry: the first who answered. The
 * router takes the answering user from the first of the two it merges; naming the same employee
 * in both keeps the contact's answering user independent of their order (a transferred call's
 * webhooks name the last talker on the recording). NULL: nobody answered. */
static const struct rm_employee *rm_answerer(const struct rm_call *c)
{
    for (size_t i = 0; i < c->n_employees; i++) {
        if (c->employees[i].answered)
            return &c->employees[i];
    }
    for (size_t i = 0; i < c->n_employees; i++) {
        if (c->employees[i].talked)
            return &c->employees[i];
    }
    return NULL;
}

int rm_map(const struct rm_call *c, const struct rm_known *known, const char *tenant, rm_ext_fn ext,
           void *ext_ctx, int (*to_utc)(void *ctx, const char *local, int64_t *us), void *time_ctx,
           struct rm_event *out, size_t max, char *err, size_t errlen)
{
    struct rm_ctx x = {
        .c = c, .tenant = tenant, .to_utc = to_utc, .time_ctx = time_ctx, .out = out, .max = max};
    const struct rm_employee *answer = rm_answerer(c);
    /* An outgoing call nobody picked up ends as MISSED, like its «Завершение звонка» without a
     * talk: the contact says "not reached", and the router's outgoing rules (issue 18) make no
     * missed-call task of it. UIS marks it is_lost, or reports no talk and no answer. */
    int missed = c->out ? c->is_lost || (!answer && c->talk_s <= 0) : c->is_lost;
    int ended = known->hangup || known->missed || known->finished;
    const char *answer_ext = answer ? ext(ext_ctx, answer->id) : "";
    int rc = 0, terminal = 0;

    if (!c->finished)
        return 0; /* still ringing or talking: left alone until it ends */
    if (phone_normalize(c->contact, x.from, sizeof(x.from)) != PHONE_OK)
        x.from[0] = '\0'; /* hidden, or a number we cannot read: matched by nobody */
    if (phone_normalize(c->virt, x.virt, sizeof(x.virt)) != PHONE_OK)
        x.virt[0] = '\0';
    /* In the order UIS sends them: the router pins its first decision (the counterparty's
     * responsible, the employees) on the first event it merges, as it does for webhooks. No
     * popup follows from any of them: the router knows the source (facts.late). */
    if (!known->ringing) {
        char leg[32];

        for (size_t i = 0; rc == 0 && i < c->n_employees; i++) {
            snprintf(leg, sizeof(leg), "ringing:%lld", c->employees[i].id);
            rc = rm_emit(&x, "RINGING", leg, c->start_time, 0, ext(ext_ctx, c->employees[i].id),
                         NULL, 0);
        }
        if (rc == 0 && c->n_employees == 0)
            rc = rm_emit(&x, "RINGING", "ringing", c->start_time, 0, "", NULL, 0);
    }
    if (rc == 0 && answer && !known->answered)
        rc = rm_emit(&x, "ANSWERED", "answered", c->start_time, c->wait_s, answer_ext, NULL, 0);
    if (rc < 0) {
        /* out of room or time: nothing half-built leaves */
    } else if (missed) {
        if (!ended) {
            rc = rm_emit(&x, "MISSED", "missed", c->finish_time, 0, "", NULL, 1);
            terminal = 1;
        }
    } else if (c->n_records > 0) {
        json_t *urls = json_array();
        int lacking = !known->hangup;
        char url[512];

        for (size_t i = 0; urls && i < c->n_records; i++) {
            if (rm_record_url(c->communication_id, c->records[i], url, sizeof(url)) < 0 ||
                json_array_append_new(urls, json_string(url)) < 0) {
                json_decref(urls);
                urls = NULL;
                break;
            }
            lacking |= !rm_known_url(known, url);
        }
        if (!urls) {
            rc = -1;
        } else if (lacking) {
            rc = rm_emit(&x, "HANGUP", "hangup", c->finish_time, 0, answer_ext, urls, 1);
            terminal = 1;
        } else {
            json_decref(urls);
        }
    } else if (!ended) {
        /* No recording: the call ends with a FINISHED, as UIS's "Завершение звонка" would end
         * it. An outgoing call nobody picked up is not a missed call of the company's (a FINISHED
         * without a talk would be one, with its task): it ends as a HANGUP without links. */
        rc = c->out && !answer
                 ? rm_emit(&x, "HANGUP", "hangup", c->finish_time, 0, "", json_array(), 1)
                 : rm_emit(&x, "FINISHED", "finished", c->finish_time, 0, answer_ext, NULL, 1);
        terminal = 1;
    }
    /* Everything arrived but the durations (UIS's optional "call finished" notification): a
     * FINISHED of an ended call carries them and changes nothing else. */
    if (rc == 0 && !terminal && !known->durations)
        rc = rm_emit(&x, "FINISHED", "finished", c->finish_time, 0, answer_ext, NULL, 1);
    if (rc < 0) {
        for (size_t i = 0; i < x.n; i++)
            rm_event_clear(&out[i]);
        snprintf(err, errlen, "call %s: cannot build its events (time, size or memory)",
                 c->call_id);
        return -1;
    }
    return (int)x.n;
}
