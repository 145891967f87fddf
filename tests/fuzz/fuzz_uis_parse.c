/* libFuzzer target for the UIS body parser: any bytes in, no crash, no leak, no UB; an
 * accepted body always yields a complete event, and the hand-written event text (event_write)
 * is byte for byte jansson's dump of the same event. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
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
    struct jsonw w;
    size_t len;

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
        j = event_build(&ev, "t", "2026-12-02T00:00:00.000000Z", "e");
        s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        jsonw_init(&w);
        if (s == NULL || event_write(&ev, "t", "2026-12-02T00:00:00.000000Z", "e", &w) < 0 ||
            strcmp(jsonw_finish(&w, &len), s) != 0)
            abort(); /* the webhook's text differs from jansson's */
        jsonw_release(&w);
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
