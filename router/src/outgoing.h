/* Outgoing calls (issue 18): UIS's "Исходящий звонок" notification (direction out, the
 * calling employee's extension) and the calls the Call API starts. They follow the rules of
 * incoming calls (SPEC §4) except: nobody's phone rings in the CRM (no ringing popup: the caller
 * dialled), the contact's answered_by is the employee who called, the caller gets the "in call"
 * card when the client answers, and a client who does not answer is no missed call of ours
 * (no task). */
#ifndef ROUTER_OUTGOING_H
#define ROUTER_OUTGOING_H

#include <stdint.h>

#include "facts.h"
#include "tenant.h"

/* The CRM user who called: the extension user of the answer or the recording, else of the
 * first mapped leg (the outgoing notification's extension) in extension order. 0: unknown. */
int64_t rt_outgoing_caller(const struct rt_facts *f, const struct rt_tenant *t);

#endif
