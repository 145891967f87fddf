/* Copying a JSON string member into a caller's fixed buffer, with the checks every message
 * parser needs (present, non-empty, fits, no embedded NUL). */
#ifndef COMMON_JSTR_H
#define COMMON_JSTR_H

#include <jansson.h>
#include <stddef.h>

/* Copy the string v (NUL included) into dst, which the caller owns (cap bytes). Returns 0, or -1
 * when v is absent or not a string, empty, cap bytes or longer, or holds a NUL; dst is then
 * untouched. */
int jstr_copy(const json_t *v, char *dst, size_t cap);

#endif
