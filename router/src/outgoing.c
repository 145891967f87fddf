#include "outgoing.h"

int64_t rt_outgoing_caller(const struct rt_facts *f, const struct rt_tenant *t)
{
    int64_t user = rt_tenant_ext_user(t, f->answered_ext);

    if (!user)
        user = rt_tenant_ext_user(t, f->hangup_ext);
    for (size_t i = 0; !user && i < f->n_exts; i++)
        user = rt_tenant_ext_user(t, f->exts[i]);
    return user;
}
