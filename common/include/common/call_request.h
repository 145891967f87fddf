/* crm.call-requests.v1 (issue 18): a CRM user asks UIS to connect them with a number. One
 * module checks the contract both ends rely on: the notifier builds the message from what a
 * person typed, the dialer (in the reconciler's binary) reads it back. Pure; nothing here
 * allocates except callreq_to_json, whose result the caller frees. */
#ifndef COMMON_CALL_REQUEST_H
#define COMMON_CALL_REQUEST_H

#include <stddef.h>

#include "common/ids.h"
#include "common/phone.h"

#define CALLREQ_TENANT_MAX 128
#define CALLREQ_RAW_MAX    64
#define CALLREQ_BODY_MAX   1024 /* a POST /v1/calls body larger than this is refused */

struct callreq {
    char request_id[IDS_UUID_LEN];
    char tenant[CALLREQ_TENANT_MAX];
    long long user_id;
    char phone[PHONE_E164_LEN];      /* E.164, "+79161234567" */
    char phone_raw[CALLREQ_RAW_MAX]; /* as the person typed it */
    long long counterparty_id;       /* 0: none given */
    char requested_at[IDS_TIME_LEN];
};

/* The HTTP body {"phone": "<any form a person types>", "counterparty_id": <id, optional>}:
 * fills phone, phone_raw and counterparty_id of out (the rest is left alone). Returns 0, or -1
 * with a lowercase reason in err and the offending field's name in *field ("phone", "body",
 * "counterparty_id"). */
int callreq_from_body(const char *body, size_t len, struct callreq *out, const char **field,
                      char *err, size_t errlen);

/* The message value, as a new string the caller frees (NULL when out of memory). */
char *callreq_to_json(const struct callreq *r);

/* Read a message value back. Every field is checked as callreq_to_json writes it; unknown ones
 * are ignored (other producers may add some). Returns 0, or -1 with the reason in err. */
int callreq_parse(const char *buf, size_t len, struct callreq *out, char *err, size_t errlen);

/* The message key "{tenant}:{user_id}". Returns its length, or -1 when it does not fit. */
int callreq_key(const struct callreq *r, char *out, size_t outlen);

#endif
