/* The UIS webhook body parser (SPEC §5).
 *
 * UIS substitutes template variables without quotes, so a body is often not JSON: bare words
 * ("direction":in), empty values ("user_extension":,), bare links, several links in one value.
 * uis_parse reads every such form of the top-level object with a tolerant scanner of its own and
 * yields one normalised event, so that equivalent bodies give byte-identical JSON. Anything it
 * cannot read unambiguously is refused with the field and a reason, never guessed.
 *
 * Accepted values of a field: a JSON string, a bare token (running up to the ',' that precedes
 * the next "key": or up to the closing '}'), empty, or null (also the string "null"). Values are
 * trimmed. For call_record_url also several links separated by spaces or commas, several quoted
 * strings separated by commas, or a JSON array of strings. Unknown fields are skipped whatever
 * their shape. The whole body must be UTF-8 without NUL bytes; a leading BOM is skipped. */
#ifndef INGEST_UIS_PARSE_H
#define INGEST_UIS_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "common/phone.h"

#define UIS_CALL_ID_MAX  32            /* digits */
#define UIS_RAW_MAX      64            /* characters of a phone number as received */
#define UIS_EXT_MAX      PHONE_EXT_MAX /* characters of user_extension */
#define UIS_URLS_MAX     16            /* recording links in one notification */
#define UIS_URL_MAX      2048          /* characters of one link */
#define UIS_DURATION_MAX 604800        /* seconds: a week; more is not a call's duration */

enum uis_call_state {
    UIS_STATE_NONE = 0,
    UIS_STATE_RINGING,
    UIS_STATE_ANSWERED,
    UIS_STATE_HANGUP,
    UIS_STATE_MISSED,
    UIS_STATE_FINISHED, /* "Завершение звонка", the optional fifth template (issue 15) */
};

enum uis_direction {
    UIS_DIR_NONE = 0,
    UIS_DIR_IN,
    UIS_DIR_OUT,
};

enum uis_rc {
    UIS_OK = 0,
    UIS_ESYNTAX = -1,    /* not a readable object: encoding, truncation, stray text */
    UIS_EMISSING = -2,   /* a required field is absent, empty or null */
    UIS_EVALUE = -3,     /* a field's value is not acceptable */
    UIS_EDUPLICATE = -4, /* a known field appears twice: which one counts is ambiguous */
    UIS_ENOMEM = -5,     /* out of memory: not the body's fault, answer 5xx rather than 400 */
};

/* Why a body was refused. code tells the kind, so that the HTTP layer can tell a refusal (400)
 * from its own failure (UIS_ENOMEM); field and reason go to the sender verbatim. */
struct uis_error {
    enum uis_rc code;
    char field[32];   /* a known field name; "" when not field-specific */
    char reason[160]; /* a lowercase ASCII sentence; never contains a phone number */
};

struct uis_event {
    char call_id[UIS_CALL_ID_MAX + 1]; /* digits verbatim, never through a double */
    enum uis_call_state state;
    enum uis_direction direction;
    char from_number[PHONE_E164_LEN];      /* E.164, "" when hidden (JSON null) */
    char from_number_raw[UIS_RAW_MAX + 1]; /* trimmed as received, "" when empty or null */
    char diversion[PHONE_E164_LEN];
    char diversion_raw[UIS_RAW_MAX + 1];
    char user_extension[UIS_EXT_MAX + 1]; /* "" when empty or null (JSON null) */
    /* Owned by the event (array and strings, malloc'd); uis_event_release frees them. */
    char **call_record_urls;
    size_t n_call_record_urls;
    /* talk_time_duration, total_time_duration, wait_time_duration in seconds; -1 when absent,
     * empty or null. Any template may carry them; the FINISHED one does. */
    long long talk_s, total_s, wait_s;
};

/* Parse len bytes of body (no NUL terminator needed; any bytes are safe). On success fills ev,
 * which the caller must pass to uis_event_release. On failure ev holds nothing to free (release
 * is still harmless) and err (may be NULL) says why. Returns UIS_OK or a negative enum uis_rc. */
int uis_parse(const char *body, size_t len, struct uis_event *ev, struct uis_error *err);

/* Free what ev owns and zero it. Safe on a zeroed or already released event. */
void uis_event_release(struct uis_event *ev);

/* The SPEC §5 normalised fields, without the envelope (tenant, received_at, event_id), which
 * the caller adds. Keys in the SPEC's order. Returns a new reference, or NULL when out of memory
 * or ev was not filled by uis_parse. */
json_t *uis_event_to_json(const struct uis_event *ev);

/* {"error": <kind>, "field": <field or null>, "reason": <reason>}: the body of a 400 and of
 * `ingest check`'s refusal. Returns a new reference, or NULL when out of memory. */
json_t *uis_error_to_json(const struct uis_error *err);

/* "RINGING".. and "in"/"out"; NULL for NONE or an out-of-range value. Static strings. */
const char *uis_state_name(enum uis_call_state state);
const char *uis_direction_name(enum uis_direction dir);

#endif
