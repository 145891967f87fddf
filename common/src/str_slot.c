#include "common/str_slot.h"

#include <string.h>

size_t str_slot(const void *set, size_t n, const char *(*at)(const void *, size_t), const char *key,
                int *found)
{
    size_t lo = 0, hi = n;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(at(set, mid), key);

        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
