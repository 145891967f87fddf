/* The popup page's files, compiled in by cmake/embed.cmake (web_assets.c in the build dir). */
#ifndef NOTIFIER_ASSETS_H
#define NOTIFIER_ASSETS_H

#include <stddef.h>

struct asset {
    const char *path; /* "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    unsigned long len;
};

extern const struct asset assets[];
extern const size_t assets_count;

#endif
