#include "token_map.h"

#include "common/webhook_token.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAP_BUCKETS 1024

struct token_entry {
    struct token_entry *next;
    unsigned long version;
    char tenant[64];
};

struct token_map {
    pthread_rwlock_t lock;
    size_t count;
    struct token_entry *buckets[TOKEN_MAP_BUCKETS];
};

static size_t token_map_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h % TOKEN_MAP_BUCKETS;
}

struct token_map *token_map_new(void)
{
    struct token_map *map = calloc(1, sizeof(*map));

    if (map)
        pthread_rwlock_init(&map->lock, NULL);
    return map;
}

void token_map_free(struct token_map *map)
{
    if (!map)
        return;
    for (size_t i = 0; i < TOKEN_MAP_BUCKETS; i++) {
        struct token_entry *e = map->buckets[i];

        while (e) {
            struct token_entry *next = e->next;

            free(e);
            e = next;
        }
    }
    pthread_rwlock_destroy(&map->lock);
    free(map);
}

int token_map_set(struct token_map *map, const char *tenant, unsigned long version)
{
    struct token_entry **pp, *e;
    int rc = 0;

    if (!wtoken_tenant_valid(tenant))
        return -EINVAL;
    pthread_rwlock_wrlock(&map->lock);
    pp = &map->buckets[token_map_hash(tenant)];
    while (*pp && strcmp((*pp)->tenant, tenant) != 0)
        pp = &(*pp)->next;
    if (*pp && version == 0) {
        e = *pp;
        *pp = e->next;
        free(e);
        map->count--;
    } else if (*pp) {
        (*pp)->version = version;
    } else if (version != 0) {
        e = calloc(1, sizeof(*e));
        if (!e) {
            rc = -ENOMEM;
        } else {
            memcpy(e->tenant, tenant, strlen(tenant) + 1); /* valid ids fit: <= 63 */
            e->version = version;
            e->next = map->buckets[token_map_hash(tenant)];
            map->buckets[token_map_hash(tenant)] = e;
            map->count++;
        }
    }
    pthread_rwlock_unlock(&map->lock);
    return rc;
}

int token_map_apply(struct token_map *map, const char *key, size_t keylen, const char *value,
                    size_t len)
{
    char tenant[64];
    json_t *obj, *ver;
    json_error_t jerr;
    json_int_t v;

    if (!key || keylen == 0 || keylen >= sizeof(tenant))
        return -EINVAL;
    memcpy(tenant, key, keylen);
    tenant[keylen] = '\0';
    if (!value)
        return token_map_set(map, tenant, 0);
    obj = json_loadb(value, len, 0, &jerr);
    ver = json_object_get(obj, "token_version");
    if (!json_is_integer(ver) || (v = json_integer_value(ver)) < 1) {
        json_decref(obj);
        return -EINVAL;
    }
    json_decref(obj);
    return token_map_set(map, tenant, (unsigned long)v);
}

unsigned long token_map_get(struct token_map *map, const char *tenant)
{
    unsigned long v = 0;

    pthread_rwlock_rdlock(&map->lock);
    for (struct token_entry *e = map->buckets[token_map_hash(tenant)]; e; e = e->next) {
        if (strcmp(e->tenant, tenant) == 0) {
            v = e->version;
            break;
        }
    }
    pthread_rwlock_unlock(&map->lock);
    return v;
}

size_t token_map_size(struct token_map *map)
{
    size_t n;

    pthread_rwlock_rdlock(&map->lock);
    n = map->count;
    pthread_rwlock_unlock(&map->lock);
    return n;
}
