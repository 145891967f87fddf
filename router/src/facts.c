#include "facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_facts_init(struct rt_facts *f)
{
    memset(f, 0, sizeof(*f));
}

void rt_facts_clear(struct rt_facts *f)
{
    for (size_t i = 0; i < f->n_urls; i++)
        free(f->urls[i]);
    free(f->urls);
    free(f->exts);
    free(f->sent);
    memset(f, 0, sizeof(*f));
}

int rt_facts_empty(const struct rt_facts *f)
{
    return f->first_us == 0;
}

/* Earliest non-zero time. */
static int64_t rt_min_time(int64_t a, int64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

static int rt_facts_add_ext(struct rt_facts *f, const char *ext)
{
    size_t lo = 0, hi = f->n_exts;
    char(*grown)[RT_EXT_LEN];

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->exts[mid], ext);

        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    grown = realloc(f->exts, (f->n_exts + 1) * sizeof(*f->exts));
    if (!grown)
        return -1;
    f->exts = grown;
    memmove(f->exts + lo + 1, f->exts + lo, (f->n_exts - lo) * sizeof(*f->exts));
    snprintf(f->exts[lo], RT_EXT_LEN, "%s", ext);
    f->n_exts++;
    return 0;
}

static int rt_facts_add_url(struct rt_facts *f, const char *url)
{
    size_t lo = 0, hi = f->n_urls;
    char **grown, *copy;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->urls[mid], url);

        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    copy = strdup(url);
    if (!copy)
        return -1;
    grown = realloc(f->urls, (f->n_urls + 1) * sizeof(*f->urls));
    if (!grown) {
        free(copy);
        return -1;
    }
    f->urls = grown;
    memmove(f->urls + lo + 1, f->urls + lo, (f->n_urls - lo) * sizeof(*f->urls));
    f->urls[lo] = copy;
    f->n_urls++;
    return 0;
}

static size_t rt_sent_find(const struct rt_facts *f, int64_t user_id, int *found)
{
    size_t lo = 0, hi = f->n_sent;

    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (f->sent[mid].user_id == user_id) {
            *found = 1;
            return mid;
        }
        if (f->sent[mid].user_id < user_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

enum rt_popup_state rt_facts_sent(const struct rt_facts *f, int64_t user_id)
{
    int found;
    size_t i = rt_sent_find(f, user_id, &found);

    return found ? f->sent[i].state : RT_POPUP_NONE;
}

int rt_facts_set_sent(struct rt_facts *f, int64_t user_id, enum rt_popup_state state)
{
    int found;
    size_t i = rt_sent_find(f, user_id, &found);
    struct rt_sent *grown;

    if (found) {
        if (state > f->sent[i].state)
            f->sent[i].state = state;
        return 0;
    }
    if (state == RT_POPUP_NONE)
        return 0;
    grown = realloc(f->sent, (f->n_sent + 1) * sizeof(*f->sent));
    if (!grown)
        return -1;
    f->sent = grown;
    memmove(f->sent + i + 1, f->sent + i, (f->n_sent - i) * sizeof(*f->sent));
    f->sent[i].user_id = user_id;
    f->sent[i].state = state;
    f->n_sent++;
    return 0;
}

/* Does (us, eid) of src come before dst's first event? */
static int rt_first_before(int64_t us, const char *eid, const struct rt_facts *dst)
{
    if (!us)
        return 0;
    if (!dst->first_us)
        return 1;
    if (us != dst->first_us)
        return us < dst->first_us;
    return strcmp(eid, dst->first_eid) < 0;
}

/* An answer (or a recording) keeps the earliest event's extension; at the same instant one with
 * an extension beats one without, then the smaller extension: a total order, so the choice is
 * order-independent. */
static int rt_ext_before(int64_t us, const char *ext, int64_t cur_us, const char *cur_ext)
{
    if (!us)
        return 0;
    if (!cur_us)
        return 1;
    if (us != cur_us)
        return us < cur_us;
    if (!ext[0] != !cur_ext[0])
        return ext[0] != '\0';
    return strcmp(ext, cur_ext) < 0;
}

int rt_facts_merge(struct rt_facts *dst, const struct rt_facts *src)
{
    if (rt_first_before(src->first_us, src->first_eid, dst)) {
        dst->first_us = src->first_us;
        memcpy(dst->first_eid, src->first_eid, sizeof(dst->first_eid));
        dst->out = src->out;
        memcpy(dst->caller, src->caller, sizeof(dst->caller));
        memcpy(dst->caller_raw, src->caller_raw, sizeof(dst->caller_raw));
        memcpy(dst->virt, src->virt, sizeof(dst->virt));
        memcpy(dst->virt_raw, src->virt_raw, sizeof(dst->virt_raw));
    }
    dst->ringing_us = rt_min_time(dst->ringing_us, src->ringing_us);
    dst->ring_noext |= src->ring_noext;
    for (size_t i = 0; i < src->n_exts; i++) {
        if (rt_facts_add_ext(dst, src->exts[i]) < 0)
            return -1;
    }
    if (rt_ext_before(src->answered_us, src->answered_ext, dst->answered_us, dst->answered_ext)) {
        dst->answered_us = src->answered_us;
        memcpy(dst->answered_ext, src->answered_ext, sizeof(dst->answered_ext));
    }
    if (rt_ext_before(src->hangup_us, src->hangup_ext, dst->hangup_us, dst->hangup_ext)) {
        dst->hangup_us = src->hangup_us;
        memcpy(dst->hangup_ext, src->hangup_ext, sizeof(dst->hangup_ext));
    }
    dst->missed_us = rt_min_time(dst->missed_us, src->missed_us);
    for (size_t i = 0; i < src->n_urls; i++) {
        if (rt_facts_add_url(dst, src->urls[i]) < 0)
            return -1;
    }
    for (size_t i = 0; i < src->n_sent; i++) {
        if (rt_facts_set_sent(dst, src->sent[i].user_id, src->sent[i].state) < 0)
            return -1;
    }
    return 0;
}

int rt_facts_add_event(struct rt_facts *dst, const struct rt_event *ev)
{
    struct rt_facts one;
    int rc = 0;

    rt_facts_init(&one);
    one.first_us = ev->received_us;
    snprintf(one.first_eid, sizeof(one.first_eid), "%s", ev->event_id);
    one.out = ev->out;
    memcpy(one.caller, ev->from, sizeof(one.caller));
    memcpy(one.caller_raw, ev->from_raw, sizeof(one.caller_raw));
    memcpy(one.virt, ev->diversion, sizeof(one.virt));
    memcpy(one.virt_raw, ev->diversion_raw, sizeof(one.virt_raw));
    switch (ev->state) {
    case RT_RINGING:
        one.ringing_us = ev->received_us;
        if (ev->ext[0])
            rc = rt_facts_add_ext(&one, ev->ext);
        else
            one.ring_noext = 1;
        break;
    case RT_ANSWERED:
        one.answered_us = ev->received_us;
        memcpy(one.answered_ext, ev->ext, sizeof(one.answered_ext));
        break;
    case RT_HANGUP:
        one.hangup_us = ev->received_us;
        memcpy(one.hangup_ext, ev->ext, sizeof(one.hangup_ext));
        break;
    case RT_MISSED:
        one.missed_us = ev->received_us;
        break;
    }
    for (size_t i = 0; rc == 0 && i < ev->n_urls; i++)
        rc = rt_facts_add_url(&one, ev->urls[i]);
    if (rc == 0)
        rc = rt_facts_merge(dst, &one);
    rt_facts_clear(&one);
    return rc;
}

int rt_facts_copy(struct rt_facts *dst, const struct rt_facts *src)
{
    rt_facts_init(dst);
    if (rt_facts_merge(dst, src) < 0) {
        rt_facts_clear(dst);
        return -1;
    }
    return 0;
}

int64_t rt_facts_ended_us(const struct rt_facts *f)
{
    return rt_min_time(f->hangup_us, f->missed_us);
}

const char *rt_facts_state(const struct rt_facts *f)
{
    /* The first terminal event decides; at the same instant a recorded call (it was talked)
     * beats a missed one. */
    if (f->missed_us && (!f->hangup_us || f->missed_us < f->hangup_us))
        return "missed";
    if (f->hangup_us)
        return "completed";
    if (f->answered_us)
        return "answered";
    return "ringing";
}

static const char *const rt_popup_names[] = {"none", "ringing", "in_call", "closed"};

json_t *rt_facts_to_json(const struct rt_facts *f)
{
    json_t *exts = json_array(), *urls = json_array(), *sent = json_object();
    json_t *j;
    char uid[24];

    if (!exts || !urls || !sent)
        goto fail;
    for (size_t i = 0; i < f->n_exts; i++) {
        if (json_array_append_new(exts, json_string(f->exts[i])) < 0)
            goto fail;
    }
    for (size_t i = 0; i < f->n_urls; i++) {
        if (json_array_append_new(urls, json_string(f->urls[i])) < 0)
            goto fail;
    }
    for (size_t i = 0; i < f->n_sent; i++) {
        snprintf(uid, sizeof(uid), "%lld", (long long)f->sent[i].user_id);
        if (json_object_set_new(sent, uid, json_string(rt_popup_names[f->sent[i].state])) < 0)
            goto fail;
    }
    /* json_pack's "o" steals exts, urls and sent even when it fails. */
    j = json_pack("{s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:o, s:I, s:s, s:I, s:s, "
                  "s:I, s:o, s:o}",
                  "v", 1, "first_us", (json_int_t)f->first_us, "first_eid", f->first_eid,
                  "direction", f->out ? "out" : "in", "caller", f->caller, "caller_raw",
                  f->caller_raw, "virt", f->virt, "virt_raw", f->virt_raw, "ringing_us",
                  (json_int_t)f->ringing_us, "ring_noext", f->ring_noext, "exts", exts,
                  "answered_us", (json_int_t)f->answered_us, "answered_ext", f->answered_ext,
                  "hangup_us", (json_int_t)f->hangup_us, "hangup_ext", f->hangup_ext, "missed_us",
                  (json_int_t)f->missed_us, "urls", urls, "sent", sent);
    return j;
fail:
    json_decref(exts);
    json_decref(urls);
    json_decref(sent);
    return NULL;
}

static int rt_json_str(json_t *j, const char *name, char *dst, size_t dstlen, char *err,
                       size_t errlen)
{
    json_t *v = json_object_get(j, name);

    if (!json_is_string(v) || json_string_length(v) >= dstlen) {
        snprintf(err, errlen, "facts.%s: not a string that fits", name);
        return -1;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int rt_json_time(json_t *j, const char *name, int64_t *dst, char *err, size_t errlen)
{
    json_t *v = json_object_get(j, name);

    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "facts.%s: not a time", name);
        return -1;
    }
    *dst = json_integer_value(v);
    return 0;
}

static int rt_facts_parse(json_t *j, struct rt_facts *f, char *err, size_t errlen)
{
    char dir[8];
    json_t *exts, *urls, *sent, *v;
    const char *key;
    size_t i;

    if (!json_is_object(j) || json_integer_value(json_object_get(j, "v")) != 1) {
        snprintf(err, errlen, "facts: not a version 1 object");
        return -1;
    }
    if (rt_json_time(j, "first_us", &f->first_us, err, errlen) ||
        rt_json_str(j, "first_eid", f->first_eid, sizeof(f->first_eid), err, errlen) ||
        rt_json_str(j, "direction", dir, sizeof(dir), err, errlen) ||
        rt_json_str(j, "caller", f->caller, sizeof(f->caller), err, errlen) ||
        rt_json_str(j, "caller_raw", f->caller_raw, sizeof(f->caller_raw), err, errlen) ||
        rt_json_str(j, "virt", f->virt, sizeof(f->virt), err, errlen) ||
        rt_json_str(j, "virt_raw", f->virt_raw, sizeof(f->virt_raw), err, errlen) ||
        rt_json_time(j, "ringing_us", &f->ringing_us, err, errlen) ||
        rt_json_time(j, "answered_us", &f->answered_us, err, errlen) ||
        rt_json_str(j, "answered_ext", f->answered_ext, sizeof(f->answered_ext), err, errlen) ||
        rt_json_time(j, "hangup_us", &f->hangup_us, err, errlen) ||
        rt_json_str(j, "hangup_ext", f->hangup_ext, sizeof(f->hangup_ext), err, errlen) ||
        rt_json_time(j, "missed_us", &f->missed_us, err, errlen))
        return -1;
    f->out = strcmp(dir, "out") == 0;
    f->ring_noext = json_is_true(json_object_get(j, "ring_noext"));
    exts = json_object_get(j, "exts");
    urls = json_object_get(j, "urls");
    sent = json_object_get(j, "sent");
    if (!json_is_array(exts) || !json_is_array(urls) || !json_is_object(sent)) {
        snprintf(err, errlen, "facts: exts, urls or sent missing");
        return -1;
    }
    json_array_foreach(exts, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) >= RT_EXT_LEN ||
            rt_facts_add_ext(f, json_string_value(v)) < 0) {
            snprintf(err, errlen, "facts.exts[%zu]: bad", i);
            return -1;
        }
    }
    json_array_foreach(urls, i, v)
    {
        if (!json_is_string(v) || rt_facts_add_url(f, json_string_value(v)) < 0) {
            snprintf(err, errlen, "facts.urls[%zu]: bad", i);
            return -1;
        }
    }
    json_object_foreach(sent, key, v)
    {
        enum rt_popup_state st = RT_POPUP_NONE;
        char *end;
        long long uid = strtoll(key, &end, 10);

        for (int s = 1; s <= RT_POPUP_CLOSED; s++) {
            if (json_is_string(v) && strcmp(json_string_value(v), rt_popup_names[s]) == 0)
                st = (enum rt_popup_state)s;
        }
        if (*end || uid <= 0 || st == RT_POPUP_NONE || rt_facts_set_sent(f, uid, st) < 0) {
            snprintf(err, errlen, "facts.sent: bad entry for user %s", key);
            return -1;
        }
    }
    return 0;
}

int rt_facts_from_json(json_t *j, struct rt_facts *f, char *err, size_t errlen)
{
    rt_facts_clear(f);
    if (rt_facts_parse(j, f, err, errlen) < 0) {
        rt_facts_clear(f);
        return -1;
    }
    return 0;
}
