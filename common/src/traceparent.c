#include "common/traceparent.h"

#include "common/ids.h"

#include <stdio.h>
#include <string.h>

static int tp_is_lower_hex(const char *s, size_t n)
{
    int nonzero = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        if (c != '0')
            nonzero = 1;
    }
    return nonzero ? 1 : -1; /* -1: valid hex but all zeros */
}

int tp_parse(const char *value, struct traceparent *tp)
{
    unsigned flags;

    if (!value || strlen(value) != TP_LEN - 1)
        return -1;
    if (strncmp(value, "00-", 3) != 0 || value[35] != '-' || value[52] != '-')
        return -1;
    if (tp_is_lower_hex(value + 3, 32) != 1 || tp_is_lower_hex(value + 36, 16) != 1)
        return -1;
    if (tp_is_lower_hex(value + 53, 2) == 0 || sscanf(value + 53, "%2x", &flags) != 1)
        return -1;
    memcpy(tp->trace_id, value + 3, 32);
    tp->trace_id[32] = '\0';
    memcpy(tp->parent_id, value + 36, 16);
    tp->parent_id[16] = '\0';
    tp->flags = flags;
    return 0;
}

static int tp_new_span(char out[17])
{
    unsigned char b[8];
    int rc;

    do {
        rc = ids_random(b, sizeof(b));
        if (rc < 0)
            return rc;
        ids_hex(b, sizeof(b), out);
    } while (tp_is_lower_hex(out, 16) != 1);
    return 0;
}

int tp_generate(struct traceparent *tp)
{
    unsigned char b[16];
    int rc;

    do {
        rc = ids_random(b, sizeof(b));
        if (rc < 0)
            return rc;
        ids_hex(b, sizeof(b), tp->trace_id);
    } while (tp_is_lower_hex(tp->trace_id, 32) != 1);
    tp->flags = 1;
    return tp_new_span(tp->parent_id);
}

int tp_child(const struct traceparent *parent, struct traceparent *child)
{
    memcpy(child->trace_id, parent->trace_id, sizeof(child->trace_id));
    child->flags = parent->flags;
    return tp_new_span(child->parent_id);
}

int tp_continue(const char *incoming, struct traceparent *out)
{
    struct traceparent parent;

    if (incoming && tp_parse(incoming, &parent) == 0)
        return tp_child(&parent, out);
    return tp_generate(out);
}

/* Written by hand, not with snprintf: ingest formats one per webhook on its HTTP thread. The ids
 * are 32 and 16 characters (tp_parse, tp_generate and tp_child make no other). */
void tp_format(const struct traceparent *tp, char out[TP_LEN])
{
    static const char hex[] = "0123456789abcdef";

    memcpy(out, "00-", 3);
    memcpy(out + 3, tp->trace_id, 32);
    out[35] = '-';
    memcpy(out + 36, tp->parent_id, 16);
    out[52] = '-';
    out[53] = hex[(tp->flags >> 4) & 0xfu];
    out[54] = hex[tp->flags & 0xfu];
    out[55] = '\0';
}
