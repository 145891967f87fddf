/* CloudEvents 1.0 Kafka binary mode: attributes travel as `ce_*` headers, the value is the
 * data, and `content-type` names its format. `traceparent` rides beside them. */
#ifndef COMMON_CLOUDEVENTS_H
#define COMMON_CLOUDEVENTS_H

#include <librdkafka/rdkafka.h>

#include "common/ids.h"
#include "common/traceparent.h"

struct ce_attrs {
    char id[192]; /* deterministic ids (action ids) run to ~160 characters */
    char type[96];
    char source[160];
    char time[IDS_TIME_LEN];
    char content_type[48];
    char traceparent[TP_LEN];
};

/* Fill id (random UUID when id is NULL), type, source, time (now), content type JSON and the
 * traceparent text. Returns 0 or a negative error when a field does not fit. */
int ce_attrs_init(struct ce_attrs *ce, const char *id, const char *type, const char *source,
                  const struct traceparent *tp);

/* Build a new header list holding every attribute. The caller owns the result; passing it to
 * RD_KAFKA_V_HEADERS hands it to librdkafka on success. NULL on allocation failure. */
rd_kafka_headers_t *ce_headers_new(const struct ce_attrs *ce);

/* Read attributes from a consumed message. Missing attributes become "". Returns 0 when the
 * required ones (specversion 1.0, id, type, source) are present, -1 otherwise. */
int ce_headers_read(const rd_kafka_message_t *msg, struct ce_attrs *ce);

/* Copy every header of a consumed message (for the dead-letter topic). NULL when it has none;
 * the caller owns the result. */
rd_kafka_headers_t *ce_headers_copy(const rd_kafka_message_t *msg);

#endif
