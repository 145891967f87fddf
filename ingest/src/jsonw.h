/* A JSON text writer into one growing buffer: the bytes json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) gives for the same values (UTF-8 kept, '"', '\\' and control characters
 * escaped as jansson does), without building a tree. The hot path of ingest writes every event
 * with it; a failure (invalid UTF-8, out of memory) sticks, and jsonw_finish reports it once. */
#ifndef INGEST_JSONW_H
#define INGEST_JSONW_H

#include <stddef.h>

#define JSONW_INLINE 1024 /* bytes held without an allocation: a guide-template event fits */

struct jsonw {
    char *buf; /* inline or malloc'd; owned by the writer (jsonw_release) */
    size_t len, cap;
    int failed;
    int need_comma; /* a value was written at this level */
    char inline_buf[JSONW_INLINE];
};

void jsonw_init(struct jsonw *w);

/* Free what w allocated; w may be initialised again. */
void jsonw_release(struct jsonw *w);

void jsonw_object_open(struct jsonw *w);
void jsonw_object_close(struct jsonw *w);
void jsonw_array_open(struct jsonw *w);
void jsonw_array_close(struct jsonw *w);

/* An object member's key; the value written next belongs to it. */
void jsonw_key(struct jsonw *w, const char *key);

/* A string value; s must be valid UTF-8 (else w fails, as json_string refuses it). */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_null(struct jsonw *w);
void jsonw_int(struct jsonw *w, long long v);

/* The text (NUL-terminated, borrowed from w) and its length in *len, or NULL when a write
 * failed. */
const char *jsonw_finish(struct jsonw *w, size_t *len);

#endif
