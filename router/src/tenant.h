/* What the rules need to know about a tenant and a caller, as plain data: the plugin settings,
 * the users, the ordered settings employees and the extension map (loaded by directory.c), and
 * the counterparty found for a number with its last active deal. */
#ifndef ROUTER_TENANT_H
#define ROUTER_TENANT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct rt_user {
    int64_t id;
    char *name; /* owned by the tenant */
};

struct rt_ext {
    char ext[RT_EXT_LEN];
    int64_t user_id;
};

/* The tenant's plugin settings the rules read (a call pins them at its first decision). */
struct rt_settings {
    int64_t version; /* tenants.settings_version */
    int notify_responsible_only;
    int create_contact_on_call;
    int add_call_to_last_active_deal;
    int create_missed_call_task;
    int unknown_to_fixed_counterparty;
    int64_t fixed_counterparty_id; /* 0: not set */
};

struct rt_tenant {
    char id[RT_TENANT_LEN];
    struct rt_settings settings;
    size_t n_users;
    struct rt_user *users; /* sorted by id */
    size_t n_employees;
    int64_t *employees; /* in the settings' order */
    size_t n_exts;
    struct rt_ext *exts; /* sorted by extension */
};

/* The counterparty of a call (matched by phone) and its last active deal. Strings are borrowed
 * from whoever made the lookup and must outlive the decision. */
struct rt_party {
    int found;
    int64_t id;
    const char *name;
    int64_t responsible; /* 0: none */
    int64_t deal_id;     /* 0: no open deal */
    const char *deal_title;
    int matches; /* counterparties with the number (more than 1: an ambiguity, counted) */
};

/* Free what the tenant owns (users' names and the arrays) and zero it. */
void rt_tenant_clear(struct rt_tenant *t);

/* Sort users by id and extensions by number (after loading them in any order). */
void rt_tenant_sort(struct rt_tenant *t);

/* The user with id, or NULL. */
const struct rt_user *rt_tenant_user(const struct rt_tenant *t, int64_t id);

/* The user mapped to ext, 0 when ext is empty or unmapped. */
int64_t rt_tenant_ext_user(const struct rt_tenant *t, const char *ext);

/* The first settings employee, 0 when the list is empty. */
int64_t rt_tenant_first_employee(const struct rt_tenant *t);

#endif
