#include "facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_facts_init(struct rt_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->talk_s = f->total_s = f->wait_s = -1;
}

void rt_pin_clear(struct rt_pin *p)
{
    free(p->employees);
    free(p->cp_name);
    free(p->deal_title);
    free(p->ext_users);
    memset(p, 0, sizeof(*p));
}

void rt_facts_clear(struct rt_facts *f)
{
    for (size_t i = 0; i < f->n_urls; i++)
        free(f->urls[i]);
    free(f->urls);
    free(f->exts);
    free(f->sent);
    rt_pin_clear(&f->pin);
    rt_facts_init(f);
}

/* Binary search of the n sorted strings at(set, i): where key belongs, *found when it is there. */
static size_t rt_str_slot(const void *set, size_t n, const char *(*at)(const void *, size_t),
                          const char *key, int *found)
{
    size_t lo = 0, hi = n;

    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(at(set, mid), key);

        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const char *rt_pin_ext_at(const void *set, size_t i)
{
    return ((const struct rt_pin *)set)->ext_users[i].ext;
}

static const char *rt_facts_ext_at(const void *set, size_t i)
{
    return ((const struct rt_facts *)set)->exts[i];
}

static const char *rt_facts_url_at(const void *set, size_t i)
{
    return ((const struct rt_facts *)set)->urls[i];
}

int rt_pin_ext(struct rt_pin *p, const char *ext, int64_t user_id)
{
    int found;
    size_t i;
    struct rt_ext *grown;

    if (!ext[0] || strlen(ext) >= RT_EXT_LEN)
        return 0;
    i = rt_str_slot(p, p->n_ext_users, rt_pin_ext_at, ext, &found);
    if (found)
        return 0; /* the first sight of an extension holds for the whole call */
    grown = realloc(p->ext_users, (p->n_ext_users + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    p->ext_users = grown;
    memmove(grown + i + 1, grown + i, (p->n_ext_users - i) * sizeof(*grown));
    memset(&grown[i], 0, sizeof(grown[i]));
    memcpy(grown[i].ext, ext, strlen(ext) + 1);
    grown[i].user_id = user_id;
    p->n_ext_users++;
    return 0;
}

int rt_pin_has_ext(const struct rt_pin *p, const char *ext)
{
    int found;

    rt_str_slot(p, p->n_ext_users, rt_pin_ext_at, ext, &found);
    return found;
}

static char *rt_strdup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* dst (unset) := a copy of src's settings and counterparty (extensions are merged apart). */
static int rt_pin_copy_head(struct rt_pin *dst, const struct rt_pin *src)
{
    struct rt_ext *keep = dst->ext_users;
    size_t n_keep = dst->n_ext_users;

    *dst = *src;
    dst->ext_users = keep;
    dst->n_ext_users = n_keep;
    dst->employees = NULL;
    dst->cp_name = rt_strdup_opt(src->cp_name);
    dst->deal_title = rt_strdup_opt(src->deal_title);
    if (src->n_employees) {
        dst->employees = malloc(src->n_employees * sizeof(*dst->employees));
        if (dst->employees)
            memcpy(dst->employees, src->employees, src->n_employees * sizeof(*dst->employees));
    }
    if ((src->cp_name && !dst->cp_name) || (src->deal_title && !dst->deal_title) ||
        (src->n_employees && !dst->employees)) {
        free(dst->employees);
        free(dst->cp_name);
        free(dst->deal_title);
        dst->employees = NULL;
        dst->cp_name = dst->deal_title = NULL;
        dst->n_employees = 0;
        dst->set = 0;
        return -1;
    }
    return 0;
}

static int rt_pin_merge(struct rt_pin *dst, const struct rt_pin *src)
{
    if (!dst->set && src->set && rt_pin_copy_head(dst, src) < 0)
        return -1;
    for (size_t i = 0; i < src->n_ext_users; i++) {
        if (rt_pin_ext(dst, src->ext_users[i].ext, src->ext_users[i].user_id) < 0)
            return -1;
    }
    return 0;
}

int rt_pin_settle(struct rt_pin *p, const struct rt_tenant *t, const struct rt_party *cp)
{
    struct rt_pin head;

    if (p->set)
        return 0;
    memset(&head, 0, sizeof(head));
    head.set = 1;
    head.settings = t->settings;
    head.n_employees = t->n_employees;
    head.employees = t->employees;
    if (cp && cp->found) {
        head.cp_found = 1;
        head.cp_id = cp->id;
        head.cp_responsible = cp->responsible;
        head.cp_deal_id = cp->deal_id;
        head.cp_name = (char *)(cp->name ? cp->name : "");
        head.deal_title = cp->deal_id ? (char *)(cp->deal_title ? cp->deal_title : "") : NULL;
    }
    return rt_pin_copy_head(p, &head);
}

void rt_pin_view(const struct rt_pin *p, const struct rt_tenant *t, struct rt_tenant *tv,
                 struct rt_party *cv)
{
    *tv = *t;
    memset(cv, 0, sizeof(*cv));
    if (!p->set)
        return;
    tv->settings = p->settings;
    tv->n_employees = p->n_employees;
    tv->employees = p->employees;
    tv->n_exts = p->n_ext_users;
    tv->exts = p->ext_users;
    cv->found = p->cp_found;
    cv->id = p->cp_id;
    cv->name = p->cp_name;
    cv->responsible = p->cp_responsible;
    cv->deal_id = p->cp_deal_id;
    cv->deal_title = p->deal_title;
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
    int found;
    size_t lo = rt_str_slot(f, f->n_exts, rt_facts_ext_at, ext, &found);
    char(*grown)[RT_EXT_LEN];

    if (found)
        return 0;
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
    int found;
    size_t lo = rt_str_slot(f, f->n_urls, rt_facts_url_at, url, &found);
    char **grown, *copy;

    if (found)
        return 0;
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

enum popup_state rt_facts_sent(const struct rt_facts *f, int64_t user_id)
{
    int found;
    size_t i = rt_sent_find(f, user_id, &found);

    return found ? f->sent[i].state : POPUP_STATE_NONE;
}

int rt_facts_set_sent(struct rt_facts *f, int64_t user_id, enum popup_state state)
{
    int found;
    size_t i = rt_sent_find(f, user_id, &found);
    struct rt_sent *grown;

    if (found) {
        if (state > f->sent[i].state)
            f->sent[i].state = state;
        return 0;
    }
    if (state == POPUP_STATE_NONE)
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
    dst->late |= src->late;
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
    dst->finished_us = rt_min_time(dst->finished_us, src->finished_us);
    dst->quiet_us = rt_min_time(dst->quiet_us, src->quiet_us);
    if (src->talk_s > dst->talk_s)
        dst->talk_s = src->talk_s;
    if (src->total_s > dst->total_s)
        dst->total_s = src->total_s;
    if (src->wait_s > dst->wait_s)
        dst->wait_s = src->wait_s;
    if (rt_pin_merge(&dst->pin, &src->pin) < 0)
        return -1;
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
    case RT_FINISHED:
        one.finished_us = ev->received_us;
        break;
    }
    one.talk_s = ev->talk_s;
    one.total_s = ev->total_s;
    one.wait_s = ev->wait_s;
    one.late = ev->late;
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
    return rt_min_time(rt_min_time(f->hangup_us, f->missed_us), f->finished_us);
}

int rt_facts_talked(const struct rt_facts *f)
{
    return f->answered_us || f->hangup_us || f->n_urls > 0 || f->talk_s > 0;
}

int rt_facts_contradiction(const struct rt_facts *f)
{
    return f->missed_us && rt_facts_talked(f);
}

const char *rt_facts_state(const struct rt_facts *f)
{
    /* No "first terminal event wins": a talked call that ended is completed, whichever of its
     * notifications arrived first, and a MISSED beside proof of a talk is a contradiction
     * (counted by the pipeline), not a missed call. */
    if (rt_facts_ended_us(f))
        return rt_facts_talked(f) ? "completed" : "missed";
    if (rt_facts_talked(f))
        return "answered";
    return "ringing";
}

static const char *const rt_popup_names[] = {"none", "ringing", "in_call", "closed"};

static json_t *rt_pin_to_json(const struct rt_pin *p)
{
    json_t *emp = json_array(), *exts = json_object(), *cp;

    for (size_t i = 0; emp && i < p->n_employees; i++) {
        if (json_array_append_new(emp, json_integer(p->employees[i])) < 0)
            goto fail;
    }
    for (size_t i = 0; exts && i < p->n_ext_users; i++) {
        if (json_object_set_new(exts, p->ext_users[i].ext, json_integer(p->ext_users[i].user_id)) <
            0)
            goto fail;
    }
    if (!emp || !exts)
        goto fail;
    cp = p->cp_found
             ? json_pack("{s:I, s:s, s:I, s:I, s:s?}", "id", (json_int_t)p->cp_id, "name",
                         p->cp_name ? p->cp_name : "", "responsible", (json_int_t)p->cp_responsible,
                         "deal_id", (json_int_t)p->cp_deal_id, "deal_title", p->deal_title)
             : json_null();
    return json_pack("{s:I, s:b, s:b, s:b, s:b, s:b, s:I, s:o, s:o, s:o}", "settings_version",
                     (json_int_t)p->settings.version, "notify_responsible_only",
                     p->settings.notify_responsible_only, "create_contact_on_call",
                     p->settings.create_contact_on_call, "add_call_to_last_active_deal",
                     p->settings.add_call_to_last_active_deal, "create_missed_call_task",
                     p->settings.create_missed_call_task, "unknown_to_fixed_counterparty",
                     p->settings.unknown_to_fixed_counterparty, "fixed_counterparty_id",
                     (json_int_t)p->settings.fixed_counterparty_id, "employees", emp,
                     "counterparty", cp, "ext_users", exts);
fail:
    json_decref(emp);
    json_decref(exts);
    return NULL;
}

static int64_t rt_json_int(json_t *j, const char *name, int64_t dflt)
{
    json_t *v = json_object_get(j, name);

    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static int rt_pin_parse(json_t *j, struct rt_pin *p, char *err, size_t errlen)
{
    json_t *emp = json_object_get(j, "employees"), *exts = json_object_get(j, "ext_users");
    json_t *cp = json_object_get(j, "counterparty"), *v;
    const char *key;
    size_t i;

    if (!json_is_object(j) || !json_is_array(emp) || !json_is_object(exts)) {
        snprintf(err, errlen, "facts.pin: not an object with employees and ext_users");
        return -1;
    }
    p->set = 1;
    p->settings.version = rt_json_int(j, "settings_version", 0);
    p->settings.notify_responsible_only =
        json_is_true(json_object_get(j, "notify_responsible_only"));
    p->settings.create_contact_on_call = json_is_true(json_object_get(j, "create_contact_on_call"));
    p->settings.add_call_to_last_active_deal =
        json_is_true(json_object_get(j, "add_call_to_last_active_deal"));
    p->settings.create_missed_call_task =
        json_is_true(json_object_get(j, "create_missed_call_task"));
    p->settings.unknown_to_fixed_counterparty =
        json_is_true(json_object_get(j, "unknown_to_fixed_counterparty"));
    p->settings.fixed_counterparty_id = rt_json_int(j, "fixed_counterparty_id", 0);
    p->employees = calloc(json_array_size(emp) + 1, sizeof(*p->employees));
    if (!p->employees)
        goto oom;
    json_array_foreach(emp, i, v)
    {
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "facts.pin.employees[%zu]: not an id", i);
            return -1;
        }
        p->employees[p->n_employees++] = json_integer_value(v);
    }
    json_object_foreach(exts, key, v)
    {
        if (!json_is_integer(v) || rt_pin_ext(p, key, json_integer_value(v)) < 0) {
            snprintf(err, errlen, "facts.pin.ext_users: bad entry");
            return -1;
        }
    }
    if (json_is_object(cp)) {
        json_t *name = json_object_get(cp, "name"), *title = json_object_get(cp, "deal_title");

        p->cp_found = 1;
        p->cp_id = rt_json_int(cp, "id", 0);
        p->cp_responsible = rt_json_int(cp, "responsible", 0);
        p->cp_deal_id = rt_json_int(cp, "deal_id", 0);
        p->cp_name = strdup(json_is_string(name) ? json_string_value(name) : "");
        if (!p->cp_name)
            goto oom;
        if (json_is_string(title) && !(p->deal_title = strdup(json_string_value(title))))
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "facts.pin: out of memory");
    return -1;
}

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
    /* Added within v1 (issue 15): absent in older rows, read with defaults. */
    if (j && (json_object_set_new(j, "finished_us", json_integer(f->finished_us)) < 0 ||
              json_object_set_new(j, "quiet_us", json_integer(f->quiet_us)) < 0 ||
              json_object_set_new(j, "talk_s", json_integer(f->talk_s)) < 0 ||
              json_object_set_new(j, "total_s", json_integer(f->total_s)) < 0 ||
              json_object_set_new(j, "wait_s", json_integer(f->wait_s)) < 0 ||
              (f->late && json_object_set_new(j, "late", json_true()) < 0) ||
              (f->pin.set && json_object_set_new(j, "pin", rt_pin_to_json(&f->pin)) < 0))) {
        json_decref(j);
        return NULL;
    }
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
    f->finished_us = rt_json_int(j, "finished_us", 0);
    f->quiet_us = rt_json_int(j, "quiet_us", 0);
    f->talk_s = rt_json_int(j, "talk_s", -1);
    f->total_s = rt_json_int(j, "total_s", -1);
    f->wait_s = rt_json_int(j, "wait_s", -1);
    if (json_object_get(j, "pin") && rt_pin_parse(json_object_get(j, "pin"), &f->pin, err, errlen))
        return -1;
    f->out = strcmp(dir, "out") == 0;
    f->ring_noext = json_is_true(json_object_get(j, "ring_noext"));
    f->late = json_is_true(json_object_get(j, "late"));
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
        enum popup_state st = POPUP_STATE_NONE;
        char *end;
        long long uid = strtoll(key, &end, 10);

        for (int s = 1; s <= POPUP_STATE_CLOSED; s++) {
            if (json_is_string(v) && strcmp(json_string_value(v), rt_popup_names[s]) == 0)
                st = (enum popup_state)s;
        }
        if (*end || uid <= 0 || st == POPUP_STATE_NONE || rt_facts_set_sent(f, uid, st) < 0) {
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
