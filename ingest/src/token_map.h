/* Each tenant's current webhook token version, as crmctl publishes it on the compacted
 * crm.tenant-tokens.v1 topic. A token is accepted only at its tenant's current version, so a
 * re-issued token voids the old one without ingest asking PostgreSQL. Thread-safe. */
#ifndef INGEST_TOKEN_MAP_H
#define INGEST_TOKEN_MAP_H

#include <stddef.h>

struct token_map;

/* Owned by the caller; token_map_free releases it. NULL when out of memory. */
struct token_map *token_map_new(void);
void token_map_free(struct token_map *map);

/* Set the version (0 removes the tenant). Returns 0 or -ENOMEM. */
int token_map_set(struct token_map *map, const char *tenant, unsigned long version);

/* Apply one record of the topic: key = tenant, value = {"token_version": N, ...} or NULL (a
 * tombstone: the tenant was removed). Returns 0, or -EINVAL for a value it cannot read (the
 * caller logs it and moves on: a bad record must not stop every tenant's webhooks). */
int token_map_apply(struct token_map *map, const char *key, size_t keylen, const char *value,
                    size_t len);

/* The current version, 0 when the tenant is unknown. */
unsigned long token_map_get(struct token_map *map, const char *tenant);

size_t token_map_size(struct token_map *map);

#endif
