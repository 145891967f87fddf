/* W3C Trace Context `traceparent` (version 00): parse, generate, continue. */
#ifndef COMMON_TRACEPARENT_H
#define COMMON_TRACEPARENT_H

#define TP_LEN 56 /* "00-" 32 hex "-" 16 hex "-" 2 hex, and the NUL */

struct traceparent {
    char trace_id[33];
    char parent_id[17];
    unsigned flags;
};

/* Parse a header value. Returns 0, or -1 when it is not a valid version-00 traceparent
 * (all-zero ids, upper-case hex and wrong lengths are invalid per the spec). */
int tp_parse(const char *value, struct traceparent *tp);

/* A new trace with a random trace id and span id, sampled. Returns 0 or -errno. */
int tp_generate(struct traceparent *tp);

/* A child of parent: same trace id and flags, new span id. Returns 0 or -errno. */
int tp_child(const struct traceparent *parent, struct traceparent *child);

/* Continue from an incoming header when it is valid, else start a new trace. */
int tp_continue(const char *incoming, struct traceparent *out);

/* Format into out (TP_LEN bytes). */
void tp_format(const struct traceparent *tp, char out[TP_LEN]);

#endif
