#include "ctl_table.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

size_t ctl_table_width(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80; /* count lead bytes, not continuations */
    return n;
}

/* Bytes of s that hold its first chars characters. */
static size_t ctl_table_prefix(const char *s, size_t chars)
{
    size_t i = 0, seen = 0;

    while (s[i]) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && seen++ == chars)
            break;
        i++;
    }
    return i;
}

static void ctl_table_cell(FILE *out, const char *s, size_t width, size_t max_width, int last)
{
    size_t w;

    if (!s || !*s)
        s = "-";
    w = ctl_table_width(s);
    if (max_width && w > max_width) {
        fwrite(s, 1, ctl_table_prefix(s, max_width - 1), out);
        fputs("…", out);
        w = max_width;
    } else {
        fputs(s, out);
    }
    if (!last)
        fprintf(out, "%*s", (int)(width - w + 2), "");
}

void ctl_table_print(FILE *out, size_t ncols, size_t nrows, const char *const *cells,
                     size_t max_width)
{
    size_t *width = calloc(ncols ? ncols : 1, sizeof(*width));

    if (!width)
        return;
    for (size_t r = 0; r <= nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];
            size_t w = (s && *s) ? ctl_table_width(s) : 1;

            if (max_width && w > max_width)
                w = max_width;
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r <= nrows; r++) {
        for (size_t c = 0; c < ncols; c++)
            ctl_table_cell(out, cells[r * ncols + c], width[c], max_width, c + 1 == ncols);
        fputc('\n', out);
    }
    free(width);
}

int ctl_since_parse(const char *s, time_t now, char *out, size_t outlen, char *err, size_t errlen)
{
    static const struct {
        char unit;
        long seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800L}};
    size_t len = strlen(s), digits = 0;
    struct tm tm;
    time_t t;

    while (digits < len && isdigit((unsigned char)s[digits]))
        digits++;
    if (digits > 0 && digits <= 6 && len == digits + 1) {
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (s[digits] != units[i].unit)
                continue;
            t = now - strtol(s, NULL, 10) * units[i].seconds;
            if (!gmtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                break;
            return 0;
        }
    }
    /* A date or date-time: digits, '-', ':', 'T', '.', 'Z', '+' only; PostgreSQL judges it. */
    if (len >= 10 && len < outlen && isdigit((unsigned char)s[0]) && s[4] == '-' &&
        strspn(s, "0123456789-:T.Z+ ") == len) {
        memcpy(out, s, len + 1);
        return 0;
    }
    snprintf(err, errlen,
             "--since wants an age (90s, 15m, 2h, 7d, 1w) or a date (2026-11-25, RFC 3339)");
    return -1;
}
