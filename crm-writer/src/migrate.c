#include "migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int migrate_parse_name(const char *file, int *version)
{
    size_t len = strlen(file), digits = 0;
    long v = 0;

    if (len < 9 || len >= MIGRATE_NAME_MAX || strcmp(file + len - 4, ".sql") != 0)
        return -1;
    while (isdigit((unsigned char)file[digits])) {
        v = v * 10 + (file[digits] - '0');
        if (v > 99999)
            return -1;
        digits++;
    }
    if (digits < 3 || file[digits] != '_' || digits + 1 == len - 4)
        return -1;
    for (size_t i = digits + 1; i < len - 4; i++) {
        if (!islower((unsigned char)file[i]) && !isdigit((unsigned char)file[i]) && file[i] != '_')
            return -1;
    }
    if (v < 1)
        return -1;
    *version = (int)v;
    return 0;
}

void migrate_checksum(const char *sql, size_t len, char out[MIGRATE_SUM_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    out[0] = '\0';
    if (!EVP_Digest(sql, len, md, &mdlen, EVP_sha256(), NULL))
        return;
    for (unsigned int i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * (size_t)i, 3, "%02x", md[i]);
}

int migrate_add(struct migration_set *set, const char *file, const char *sql, size_t len, char *err,
                size_t errlen)
{
    struct migration *m;

    if (set->n >= MIGRATE_MAX) {
        snprintf(err, errlen, "more than %d migrations", MIGRATE_MAX);
        return -1;
    }
    m = &set->m[set->n];
    if (migrate_parse_name(file, &m->version) < 0) {
        snprintf(err, errlen,
                 "migration %s: the name must be NNN_name.sql (3+ digits, then a-z 0-9 _)", file);
        return -1;
    }
    snprintf(m->name, sizeof(m->name), "%s", file);
    m->sql = sql;
    m->len = len;
    migrate_checksum(sql, len, m->checksum);
    set->n++;
    return 0;
}

static int migrate_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;

    return (x->version > y->version) - (x->version < y->version);
}

int migrate_finish(struct migration_set *set, char *err, size_t errlen)
{
    /* owned[] follows the texts, not the order: it only matters for freeing. A gap in the
     * versions is allowed: parallel branches reserve their numbers, and each migration must not
     * depend on another's contents. A file missing after it was applied is caught by
     * migrate_plan. */
    qsort(set->m, set->n, sizeof(set->m[0]), migrate_cmp);
    for (size_t i = 0; i < set->n; i++) {
        if (i > 0 && set->m[i].version == set->m[i - 1].version) {
            snprintf(err, errlen, "migrations %s and %s share version %d", set->m[i - 1].name,
                     set->m[i].name, set->m[i].version);
            return -1;
        }
    }
    return 0;
}

int migrate_load_embedded(struct migration_set *set, char *err, size_t errlen)
{
    memset(set, 0, sizeof(*set));
    for (size_t i = 0; i < migrations_embedded_n; i++) {
        const struct migration_src *s = &migrations_embedded[i];

        if (migrate_add(set, s->name, (const char *)s->sql, s->len, err, errlen) < 0)
            return -1;
    }
    return migrate_finish(set, err, errlen);
}

static char *migrate_read(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
            buf[size] = '\0';
            *len = (size_t)size;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    if (!buf)
        snprintf(err, errlen, "%s: cannot read", path);
    fclose(f);
    return buf;
}

int migrate_load_dir(struct migration_set *set, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;

    memset(set, 0, sizeof(*set));
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t nlen = strlen(e->d_name), len = 0;
        char path[4096];
        char *sql;

        if (nlen < 4 || strcmp(e->d_name + nlen - 4, ".sql") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        sql = migrate_read(path, &len, err, errlen);
        if (!sql) {
            rc = -1;
            break;
        }
        set->owned[set->n] = sql;
        rc = migrate_add(set, e->d_name, sql, len, err, errlen);
        if (rc < 0) {
            set->owned[set->n] = NULL;
            free(sql);
        }
    }
    closedir(d);
    if (rc < 0) {
        migration_set_release(set);
        return -1;
    }
    return migrate_finish(set, err, errlen);
}

void migration_set_release(struct migration_set *set)
{
    for (size_t i = 0; i < MIGRATE_MAX; i++)
        free(set->owned[i]);
    memset(set, 0, sizeof(*set));
}

int migrate_newest(const struct migration_set *set)
{
    return set->n ? set->m[set->n - 1].version : 0;
}

int migrate_plan(const struct migration_set *set, const struct migration_applied *applied,
                 size_t napplied, size_t *pending, size_t *npending, size_t *newer, char *err,
                 size_t errlen)
{
    *npending = 0;
    *newer = 0;
    for (size_t k = 0; k < napplied; k++) {
        int known = 0;

        if (applied[k].version > migrate_newest(set)) {
            (*newer)++;
            continue;
        }
        for (size_t i = 0; i < set->n && !known; i++)
            known = set->m[i].version == applied[k].version;
        if (!known) {
            snprintf(err, errlen, "migration %s was applied but its file is gone", applied[k].name);
            return -1;
        }
    }
    for (size_t i = 0; i < set->n; i++) {
        const struct migration *m = &set->m[i];
        const struct migration_applied *a = NULL;

        for (size_t k = 0; k < napplied && !a; k++) {
            if (applied[k].version == m->version)
                a = &applied[k];
        }
        if (!a) {
            pending[(*npending)++] = i;
            continue;
        }
        if (strcmp(a->name, m->name) != 0) {
            snprintf(err, errlen, "migration %d was applied as %s but the file is now %s",
                     m->version, a->name, m->name);
            return -1;
        }
        if (strcmp(a->checksum, m->checksum) != 0) {
            snprintf(err, errlen,
                     "migration %s was changed after it was applied (checksum %.12s..., "
                     "recorded %.12s...): add a new migration instead",
                     m->name, m->checksum, a->checksum);
            return -1;
        }
    }
    return 0;
}
