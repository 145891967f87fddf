/* crmctl's operations on the UIS side of a tenant (issue 17): the checked API key, UIS's
 * employees and their link to CRM users. Each runs in its own transaction and names what is
 * wrong in err; none ever writes the key into err. */
#ifndef CRMW_ADMIN_UIS_H
#define CRMW_ADMIN_UIS_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

/* Store a key UIS accepted, with what get.account said (timezone, account name), and clear a
 * reconciliation stop caused by the old key. */
int admin_uis_key_store(PGconn *conn, const char *tenant, const char *key, const char *timezone,
                        const char *account_name, char *err, size_t errlen);

/* The tenant's key into key (empty when none). -1 when the tenant does not exist. */
int admin_uis_key_get(PGconn *conn, const char *tenant, char *key, size_t keylen, char *err,
                      size_t errlen);

/* One UIS employee as get.employees lists it. */
struct admin_uis_employee {
    long long id;
    const char *full_name;
    const char *extension; /* NULL or "" when none */
    const char *status;
};

/* A new array (caller frees) of the employees in rows, get.employees' "data" array; n is its
 * length. The strings point into rows, which must outlive the array. NULL when out of memory. */
struct admin_uis_employee *admin_uis_employees_from_json(const json_t *rows, size_t *n);

/* What a sync did and what it refused to guess. */
struct admin_uis_sync {
    size_t employees;   /* rows now known */
    size_t ext_updated; /* extension rows moved to follow UIS */
    json_t *conflicts;  /* new array (caller decrefs) of {"employee_id","user_id","extension",
                           "reason"} */
};

/* Replace the tenant's UIS employees with these (links kept for ids still there), then make the
 * extension table follow UIS for linked users: a linked user's old UIS extension is moved to
 * the new one. An extension mapped to another CRM user is a conflict: reported, left alone. */
int admin_uis_employees_sync(PGconn *conn, const char *tenant, const struct admin_uis_employee *e,
                             size_t n, struct admin_uis_sync *out, char *err, size_t errlen);

/* A new JSON array of {"employee_id","full_name","extension","status","user_id","user_name"}
 * ordered by employee id. */
int admin_uis_employees_list(PGconn *conn, const char *tenant, json_t **out, char *err,
                             size_t errlen);

/* Link user_id to UIS employee employee_id (each side at most once: an older link of either is
 * replaced) and map the employee's extension to the user when it has one. */
int admin_uis_link(PGconn *conn, const char *tenant, long long user_id, long long employee_id,
                   char *err, size_t errlen);

#endif
