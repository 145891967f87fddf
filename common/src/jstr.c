#include "common/jstr.h"

#include <string.h>

int jstr_copy(const json_t *v, char *dst, size_t cap)
{
    size_t n;

    if (!json_is_string(v))
        return -1;
    n = json_string_length(v);
    if (n == 0 || n >= cap || strlen(json_string_value(v)) != n)
        return -1;
    memcpy(dst, json_string_value(v), n + 1);
    return 0;
}
