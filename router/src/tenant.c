#include "tenant.h"

#include <stdlib.h>
#include <string.h>

void rt_tenant_clear(struct rt_tenant *t)
{
    for (size_t i = 0; i < t->n_users; i++)
        free(t->users[i].name);
    free(t->users);
    free(t->employees);
    free(t->exts);
    memset(t, 0, sizeof(*t));
}

static int rt_user_cmp(const void *a, const void *b)
{
    const struct rt_user *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

static int rt_ext_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rt_ext *)a)->ext, ((const struct rt_ext *)b)->ext);
}

void rt_tenant_sort(struct rt_tenant *t)
{
    if (t->n_users)
        qsort(t->users, t->n_users, sizeof(*t->users), rt_user_cmp);
    if (t->n_exts)
        qsort(t->exts, t->n_exts, sizeof(*t->exts), rt_ext_cmp);
}

const struct rt_user *rt_tenant_user(const struct rt_tenant *t, int64_t id)
{
    struct rt_user key = {.id = id};

    if (!t->n_users)
        return NULL;
    return bsearch(&key, t->users, t->n_users, sizeof(*t->users), rt_user_cmp);
}

int64_t rt_tenant_ext_user(const struct rt_tenant *t, const char *ext)
{
    struct rt_ext key = {0};
    const struct rt_ext *hit;

    if (!ext || !ext[0] || !t->n_exts || strlen(ext) >= sizeof(key.ext))
        return 0;
    memcpy(key.ext, ext, strlen(ext) + 1);
    hit = bsearch(&key, t->exts, t->n_exts, sizeof(*t->exts), rt_ext_cmp);
    return hit ? hit->user_id : 0;
}

int64_t rt_tenant_first_employee(const struct rt_tenant *t)
{
    return t->n_employees ? t->employees[0] : 0;
}
