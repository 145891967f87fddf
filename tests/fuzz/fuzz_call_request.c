/* libFuzzer target: POST /v1/calls bodies (callreq_from_body) and crm.call-requests.v1 values
 * (callreq_parse). Whatever the bytes, a refusal or a request whose number is E.164 and whose
 * message reads back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/call_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct callreq r, back;
    const char *field;
    char err[256], *json;

    memset(&r, 0, sizeof(r));
    if (callreq_from_body((const char *)data, size, &r, &field, err, sizeof(err)) == 0) {
        if (r.phone[0] != '+')
            abort();
        strcpy(r.request_id, "0f8fad5b-d9cb-469f-a165-70867728950e");
        strcpy(r.tenant, "acme");
        r.user_id = 5;
        strcpy(r.requested_at, "2026-12-01T22:00:00.000000Z");
        json = callreq_to_json(&r);
        if (!json || callreq_parse(json, strlen(json), &back, err, sizeof(err)) != 0 ||
            strcmp(back.phone, r.phone) != 0 || back.counterparty_id != r.counterparty_id)
            abort();
        free(json);
    }
    (void)callreq_parse((const char *)data, size, &back, err, sizeof(err));
    return 0;
}
