/* The tolerant scanner behind uis_parse (internal to ingest_core): reads the top-level object of
 * a UIS body and collects the text of each known field; uis_parse.c then checks the values.
 * The accepted syntax is described in uis_parse.h. */
#ifndef INGEST_UIS_SCAN_H
#define INGEST_UIS_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "uis_parse.h"

enum uis_field {
    UIS_F_UNKNOWN = -1,
    UIS_F_CALL_ID,
    UIS_F_CALL_STATE,
    UIS_F_DIRECTION,
    UIS_F_FROM,
    UIS_F_DIVERSION,
    UIS_F_EXT,
    UIS_F_URL,
    UIS_F_TALK, /* the optional "Завершение звонка" template's durations (issue 15) */
    UIS_F_TOTAL,
    UIS_F_WAIT,
    UIS_F_COUNT,
};

/* The body's field names, indexed by enum uis_field. */
extern const char *const uis_field_names[UIS_F_COUNT];

/* The text of one known field, trimmed; several pieces are joined by a space (only
 * call_record_url has more than one). text NULL: absent, empty or null (seen tells which). */
struct uis_slot {
    bool seen;
    char *text; /* malloc'd, owned by the slot array: uis_scan_release frees it */
    size_t len;
};

/* Fill slot[UIS_F_COUNT] from the body. Returns 0 or a negative enum uis_rc with err (may be NULL)
 * filled. The caller calls uis_scan_release afterwards in every case. */
int uis_scan(const char *body, size_t len, struct uis_slot slot[UIS_F_COUNT],
             struct uis_error *err);
void uis_scan_release(struct uis_slot slot[UIS_F_COUNT]);

/* Fill err (when not NULL) and return code. */
__attribute__((format(printf, 4, 5))) int uis_fail(struct uis_error *err, enum uis_rc code,
                                                   const char *field, const char *fmt, ...);

/* s[0..n) as printable ASCII for a message, quotes and backslashes as '?', cut with "...". */
void uis_snip(const char *s, size_t n, char *out, size_t outlen);

bool uis_is_ws(char c);

#endif
