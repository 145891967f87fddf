/* The key of a call event on crm.call-events.v1 (proto/schemas/kafka-keys.schema.json): the
 * tenant and the caller's E.164 number, so that one caller's calls stay in one partition and in
 * order; "{tenant}:call:{call_id}" when the number is hidden. ingest and the reconciler both
 * produce call events, and a call's events must land in one partition whoever produced them. */
#ifndef COMMON_CALL_KEY_H
#define COMMON_CALL_KEY_H

#include <stddef.h>

/* Write the key into out (outlen bytes, NUL-terminated). from: the caller's E.164 number, ""
 * or NULL when unknown. Returns 0, or -1 when it does not fit (out is then unspecified). */
int call_key_format(char *out, size_t outlen, const char *tenant, const char *from,
                    const char *call_id);

#endif
