/* The webhook path: POST /v1/uis/{tenant}/{token}. Pure; the HTTP layer maps the result to a
 * status. */
#ifndef INGEST_ROUTE_H
#define INGEST_ROUTE_H

#include "common/webhook_token.h"

enum route_kind {
    ROUTE_NOT_FOUND, /* any other path, or a malformed tenant/token segment */
    ROUTE_WEBHOOK,
};

struct route {
    enum route_kind kind;
    char tenant[64];
    char token[WTOKEN_LEN];
};

/* Split url (the path, without query) into tenant and token. A tenant that is not a valid id or
 * a token too long to be ours gives ROUTE_NOT_FOUND, like an unknown path, so that the answer
 * does not tell which part was wrong. */
void route_parse(const char *url, struct route *out);

#endif
