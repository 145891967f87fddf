/* One binary search over sorted strings reached through an accessor (the router's extension
 * and URL sets, the notifier's dial-readiness table). */
#ifndef COMMON_STR_SLOT_H
#define COMMON_STR_SLOT_H

#include <stddef.h>

/* The n strings at(set, i) are sorted by strcmp: where key belongs (0..n), *found set when it
 * is there. */
size_t str_slot(const void *set, size_t n, const char *(*at)(const void *, size_t), const char *key,
                int *found);

#endif
