#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/ids.h"
#include "uis_parse.h"

/* Print obj (stolen) as one line. */
static int check_print(FILE *out, json_t *obj, int rc)
{
    int wr;

    if (obj == NULL)
        return CHECK_EIO;
    wr = json_dumpf(obj, out, JSON_COMPACT);
    json_decref(obj);
    if (wr != 0 || fputc('\n', out) == EOF || fflush(out) == EOF)
        return CHECK_EIO;
    return rc;
}

static int check_print_error(FILE *out, const char *kind, const char *reason, int rc)
{
    return check_print(out, json_pack("{s:s, s:n, s:s}", "error", kind, "field", "reason", reason),
                       rc);
}

/* Reads one byte more than the cap so that an oversized body is told apart from one that is
 * exactly the cap. Returns the length, -1 on a read error (errno kept), -2 when too large. */
static long check_read(FILE *in, char *buf)
{
    size_t n = 0;

    while (n <= CHECK_BODY_MAX) {
        size_t got = fread(buf + n, 1, CHECK_BODY_MAX + 1 - n, in);

        n += got;
        if (got == 0)
            break;
    }
    if (ferror(in))
        return -1;
    return n > CHECK_BODY_MAX ? -2 : (long)n;
}

static json_t *check_event_json(const struct uis_event *ev)
{
    char now[IDS_TIME_LEN];
    json_t *obj = uis_event_to_json(ev);
    int rc = 0;

    if (obj == NULL)
        return NULL;
    ids_rfc3339(ids_now_us(), now);
    rc |= json_object_set_new(obj, "tenant", json_null());
    rc |= json_object_set_new(obj, "received_at", json_string(now));
    rc |= json_object_set_new(obj, "event_id", json_null());
    if (rc != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

int check_run(FILE *in, FILE *out)
{
    char *buf = malloc(CHECK_BODY_MAX + 1);
    struct uis_event ev;
    struct uis_error err;
    long len;
    int rc;

    if (buf == NULL)
        return check_print_error(out, "internal error", "out of memory", CHECK_EIO);
    len = check_read(in, buf);
    if (len == -1) {
        rc = check_print_error(out, "cannot read input", strerror(errno), CHECK_EIO);
    } else if (len == -2) {
        rc = check_print_error(out, "invalid webhook body", "body is larger than 1 MiB",
                               CHECK_REFUSED);
    } else if (uis_parse(buf, (size_t)len, &ev, &err) == 0) {
        rc = check_print(out, check_event_json(&ev), CHECK_OK);
        uis_event_release(&ev);
    } else {
        rc = check_print(out, uis_error_to_json(&err),
                         err.code == UIS_ENOMEM ? CHECK_EIO : CHECK_REFUSED);
    }
    free(buf);
    return rc;
}
