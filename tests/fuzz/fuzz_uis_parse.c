/* libFuzzer target for the UIS body parser: any bytes in, no crash, no leak, no UB; and an
 * accepted body always yields a complete event. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "uis_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so that ASan catches any read past the end. */
    char *body = malloc(size > 0 ? size : 1);
    struct uis_event ev;
    struct uis_error err;
    json_t *j;
    char *s;

    if (body == NULL)
        return 0;
    if (size > 0)
        memcpy(body, data, size);
    if (uis_parse(body, size, &ev, &err) == 0) {
        j = uis_event_to_json(&ev);
        if (j == NULL)
            abort(); /* accepted but not representable: a parser bug */
        s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
        if (s == NULL)
            abort();
        free(s);
        json_decref(j);
    } else {
        if (err.reason[0] == '\0' || strlen(err.reason) >= sizeof(err.reason) - 1)
            abort(); /* every refusal must explain itself, uncut */
        j = uis_error_to_json(&err);
        if (j == NULL)
            abort();
        json_decref(j);
    }
    uis_event_release(&ev);
    free(body);
    return 0;
}
