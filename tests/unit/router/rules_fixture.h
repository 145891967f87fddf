/* A tenant shared by the router's rule tests: users 1 Anna, 2 Ivan, 3 Olga, 4 Petr, 7 Roza;
 * settings employees 3 then 4; extensions 101 -> 1, 102 -> 2; counterparty 42 "Romashka" with
 * responsible 7 and open deal 9. */
#ifndef TEST_ROUTER_RULES_FIXTURE_H
#define TEST_ROUTER_RULES_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "event.h"
#include "tenant.h"

static struct rt_user fx_users[] = {
    {1, (char *)"Anna"}, {2, (char *)"Ivan"}, {3, (char *)"Olga"},
    {4, (char *)"Petr"}, {7, (char *)"Roza"},
};
static int64_t fx_employees[] = {3, 4};
static struct rt_ext fx_exts[] = {{"101", 1}, {"102", 2}};

static inline struct rt_tenant fx_tenant(void)
{
    struct rt_tenant t;

    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "acme");
    t.settings.version = 1;
    t.settings.create_contact_on_call = 1;
    t.settings.add_call_to_last_active_deal = 1;
    t.settings.create_missed_call_task = 1;
    t.n_users = sizeof(fx_users) / sizeof(fx_users[0]);
    t.users = fx_users;
    t.n_employees = 2;
    t.employees = fx_employees;
    t.n_exts = 2;
    t.exts = fx_exts;
    return t;
}

static inline struct rt_party fx_party(int found, int64_t responsible, int64_t deal)
{
    struct rt_party p = {found,       found ? 42 : 0, found ? "Romashka" : NULL,
                         responsible, deal,           deal ? "Supply" : NULL,
                         found};

    return p;
}

/* An event of call 555 at base + offset seconds. */
static inline struct rt_event fx_event(enum rt_call_state st, const char *ext, int offset_s,
                                       const char *eid, int hidden)
{
    struct rt_event ev;

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.tenant, sizeof(ev.tenant), "acme");
    snprintf(ev.call_id, sizeof(ev.call_id), "555");
    snprintf(ev.event_id, sizeof(ev.event_id), "%s", eid);
    ev.state = st;
    if (!hidden) {
        snprintf(ev.from, sizeof(ev.from), "+79031112233");
        snprintf(ev.from_raw, sizeof(ev.from_raw), "89031112233");
    }
    snprintf(ev.diversion, sizeof(ev.diversion), "+74993482958");
    snprintf(ev.diversion_raw, sizeof(ev.diversion_raw), "74993482958");
    snprintf(ev.ext, sizeof(ev.ext), "%s", ext ? ext : "");
    ev.received_us = 1795606810000000LL + (int64_t)offset_s * 1000000;
    ev.talk_s = ev.total_s = ev.wait_s = -1; /* durations unknown, as the parser gives them */
    return ev;
}

#endif
