/* `ingest check [FILE]`: the webhook's body parser run offline (SPEC §5), so that an admin can
 * paste a template body and see exactly what the product understands.
 *
 * On success one JSON line: the normalised event (uis_event_to_json) plus the envelope with the
 * same keys as on uis.call-events.v1, so the admin sees the whole shape. "tenant" and "event_id"
 * are null because they only exist for a live webhook (the tenant comes from the webhook path,
 * the id is minted when the event is produced); "received_at" is the time of the check. On a
 * refusal one line of uis_error_to_json, the same explanation the webhook's 400 carries. */
#ifndef INGEST_CHECK_H
#define INGEST_CHECK_H

#include <stdio.h>

#define CHECK_BODY_MAX ((size_t)1024 * 1024) /* larger bodies are refused, as the webhook does */

enum check_rc {
    CHECK_OK = 0,      /* understood; the event was printed */
    CHECK_REFUSED = 1, /* not understood; the refusal was printed */
    CHECK_EIO = 2,     /* input unreadable, output unwritable or out of memory: not the body's
                          fault, so a script can tell it from a refusal */
};

/* Read all of in, print one line to out. The streams stay the caller's. Returns enum check_rc,
 * usable as the process exit status. */
int check_run(FILE *in, FILE *out);

#endif
