/* libFuzzer target: crm.dial-readiness.v1 records (dialready_parse). The input is the key, a
 * newline, then the value. Whatever the bytes, a refusal or a record that its own writer makes
 * again and that parses back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dial_ready.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *nl = memchr(data, '\n', size);
    struct dialready_rec rec, back;
    char err[256], *again;
    size_t keylen;

    if (!nl)
        return 0;
    keylen = (size_t)(nl - text);
    if (dialready_parse(text, keylen, nl + 1, size - keylen - 1, &rec, err, sizeof(err)) != 0)
        return 0;
    again = rec.user[0]
                ? dialready_user_value(rec.tenant, strtoll(rec.user, NULL, 10), rec.employee_id)
                : dialready_tenant_value(rec.tenant, rec.uis_key);
    if (!again ||
        dialready_parse(text, keylen, again, strlen(again), &back, err, sizeof(err)) != 0 ||
        memcmp(&rec, &back, sizeof(rec)) != 0)
        abort();
    free(again);
    return 0;
}
