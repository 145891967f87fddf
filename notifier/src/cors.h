/* Which browser origins may read the stream cross-origin (the CRM's pages). */
#ifndef NOTIFIER_CORS_H
#define NOTIFIER_CORS_H

#include <stddef.h>

/* allowed: "" (no cross-origin access), "*" (any origin, without credentials) or a
 * comma-separated list of exact origins ("https://crm.example.com,https://x.example"). Returns
 * 1 when origin may read responses, 0 otherwise. A NULL or empty origin is never allowed. */
int cors_allowed(const char *allowed, const char *origin);

/* Whether cookies may go along (Access-Control-Allow-Credentials): only for listed origins,
 * never for "*". */
int cors_credentials(const char *allowed);

#endif
