/* The dialer's pure half (issue 18): what start.employee_call is asked, what its answer means
 * for the request (calling, failed with a reason, unknown) and the result message the
 * requesting user's popup page shows, in Russian. No I/O; unit-tested directly. */
#ifndef RECONCILER_DIAL_MSG_H
#define RECONCILER_DIAL_MSG_H

#include <stddef.h>

#include <jansson.h>

#include "common/call_request.h"
#include "common/uis_api.h"

enum dial_status {
    DIAL_CALLING, /* UIS started the call */
    DIAL_FAILED,  /* no call was started: reason says why */
    DIAL_UNKNOWN, /* UIS may have started it (no answer, or a crash after asking) */
};

struct dial_outcome {
    enum dial_status status;
    const char *reason;       /* static word: "calling", "contact_in_blacklist", ... */
    char detail[336];         /* UIS's mnemonic and message, for an admin ("" when none) */
    char call_session_id[32]; /* DIAL_CALLING: UIS's call_session_id, digits */
};

/* The user-facing sentence for a reason word ("Звоним…", "Номер в чёрном списке", ...).
 * Static; an unknown word gives the generic failure sentence. */
const char *dial_message(const char *reason);

/* "calling", "failed", "unknown" */
const char *dial_status_name(enum dial_status s);

/* Set out to a failure (or an unknown) for reason, with no detail. */
void dial_outcome_set(struct dial_outcome *out, enum dial_status status, const char *reason);

/* 1 when UIS said, in a JSON-RPC error, that it did not start the call and that asking again
 * later may work (internal_error, limit_exceeded): only then may a request be asked twice.
 * A transport failure or an HTTP error is not such a proof. */
int dial_may_retry(const struct uis_api_answer *ans);

/* Reduce UIS's answer to an outcome: the session id of a success, or the reason of a refusal.
 * An answer without proof that no call started (no answer, HTTP error, garbage) is UNKNOWN. */
void dial_from_answer(const struct uis_api_answer *ans, struct dial_outcome *out);

/* The params of start.employee_call (without access_token): first_call employee, the virtual
 * number and the contact as digits, the employee, direction out, external_id = request id.
 * virtual_e164 and r->phone are E.164. A new reference, or NULL when out of memory. */
json_t *dial_params(const struct callreq *r, long long employee_id, const char *virtual_e164);

/* The result on crm.popups.v1 for the requesting user: a popup message of kind
 * "call_request" (action close, state closed: a notice, never an open popup), with status,
 * reason, message, the number and the call_id UIS gave. at is RFC 3339. A new string the
 * caller frees, or NULL. */
char *dial_result_json(const struct callreq *r, const struct dial_outcome *o, const char *at);

#endif
