/* The mapping of an action to SQL: statement texts with $n placeholders and the parameter
 * arrays for PQexecParams. Values only ever travel as parameters; the texts are constants.
 *
 * Idempotence lives in the statements (docs/architecture.md, "the writer's contract"):
 * INSERT ... ON CONFLICT on the natural keys, a contact's state is the greatest applied
 * (contact_state is declared in rank order), times keep the earliest, answered_by and the
 * counterparty are set once, links are a sorted set union. */
#ifndef CRMW_APPLY_SQL_H
#define CRMW_APPLY_SQL_H

#include <stddef.h>

#include "action.h"

#define SQLP_MAX 16

/* One statement's parameters. values[i] is NULL for SQL NULL; the strings point into the
 * action or into storage the sqlp owns (sqlp_release frees it). */
struct sqlp {
    int n;
    const char *values[SQLP_MAX];
    char num[SQLP_MAX][24];
    char *array; /* owned: the text[] literal of the links */
};

void sqlp_release(struct sqlp *p);

/* The auto-created counterparty of a number: SELECT id ($1 tenant, $2 E.164). */
extern const char APPLY_SQL_CP_LOOKUP[];
/* Create it unless another transaction did: INSERT ... ON CONFLICT DO NOTHING RETURNING id
 * ($1 tenant, $2 name, $3 raw, $4 E.164, $5 responsible or NULL). No row returned: a
 * concurrent writer owns the number; look it up again (a new statement sees its commit). */
extern const char APPLY_SQL_CP_INSERT[];
/* Upsert the contact; returns (revision, the contact as JSON text). */
extern const char APPLY_SQL_CONTACT[];
/* Add or merge the deal history entry and move the deal's last activity forward. */
extern const char APPLY_SQL_HISTORY[];
/* The missed-call task, once per call. */
extern const char APPLY_SQL_TASK[];
/* Withdraw the call's missed-call task unless it is done ("cancel": true). */
extern const char APPLY_SQL_TASK_CANCEL[];

/* Each fills p (initialised here) for its statement; cp_id 0 means no counterparty.
 * Returns 0 or -ENOMEM. */
int apply_sql_cp_lookup(const struct action *a, struct sqlp *p);
int apply_sql_cp_insert(const struct action *a, struct sqlp *p);
int apply_sql_contact(const struct action *a, long long cp_id, struct sqlp *p);
int apply_sql_history(const struct action *a, struct sqlp *p);
int apply_sql_task(const struct action *a, long long cp_id, struct sqlp *p);
int apply_sql_task_cancel(const struct action *a, struct sqlp *p);

/* A PostgreSQL text[] literal of items ({"a","b\"c"}), every element quoted and escaped.
 * Returns a new string the caller frees, or NULL on allocation failure. */
char *apply_sql_text_array(const char *const *items, size_t n);

#endif
