#include "crmctl_uis.h"

#include "admin.h"
#include "admin_uis.h"

#include "common/uis_api.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define UISCTL_KEY_MAX 512
#define UISCTL_WORDS   8

static int uisctl_fail(const char *err)
{
    fprintf(stderr, "crmctl: %s\n", err);
    return 1;
}

static int uisctl_usage(const char *what)
{
    fprintf(stderr,
            "crmctl: %s\nusage: crmctl tenant uis-key TENANT      (the key on standard input)\n"
            "       crmctl uis employees TENANT [--json]\n"
            "       crmctl uis link TENANT USER_ID UIS_EMPLOYEE_ID\n"
            "       crmctl uis link TENANT --auto [--yes]\n",
            what);
    return 2;
}

static PGconn *uisctl_pg(const struct uisctl_env *env)
{
    PGconn *conn = PQconnectdb(env->pg_dsn);

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "crmctl: postgresql: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

int uisctl_read_key(FILE *in, char *key, size_t keylen, char *err, size_t errlen)
{
    char line[UISCTL_KEY_MAX + 2];
    size_t n, start = 0;

    key[0] = '\0';
    if (!fgets(line, sizeof(line), in)) {
        snprintf(err, errlen, "no key on standard input (pipe it: ... | crmctl tenant uis-key T)");
        return -1;
    }
    n = strlen(line);
    if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
        memset(line, 0, sizeof(line));
        snprintf(err, errlen, "the key on standard input is longer than %d characters",
                 UISCTL_KEY_MAX);
        return -1;
    }
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    while (start < n && isspace((unsigned char)line[start]))
        start++;
    for (size_t i = start; i < n; i++) {
        if (isspace((unsigned char)line[i]) || iscntrl((unsigned char)line[i])) {
            memset(line, 0, sizeof(line));
            snprintf(err, errlen, "the key holds blanks or control characters");
            return -1;
        }
    }
    if (start == n || n - start >= keylen) {
        memset(line, 0, sizeof(line));
        snprintf(err, errlen,
                 start == n ? "the key on standard input is empty" : "the key is too long");
        return -1;
    }
    memcpy(key, line + start, n - start + 1);
    memset(line, 0, sizeof(line));
    return 0;
}

/* Prompt without echo when a person types the key; read a pipe as it is. */
static int uisctl_key_from_stdin(char *key, size_t keylen, char *err, size_t errlen)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    int rc;

    if (tty) {
        fputs("UIS API key (not shown): ", stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    rc = uisctl_read_key(stdin, key, keylen, err, errlen);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    return rc;
}

static struct uis_api_client *uisctl_client(const struct uisctl_env *env)
{
    char err[256];
    struct uis_api_client *c;

    if (uis_api_global_init() < 0) {
        uisctl_fail("cannot initialise libcurl");
        return NULL;
    }
    c = uis_api_client_new(env->data_url, env->call_url, env->timeout_ms, err, sizeof(err));
    if (!c)
        uisctl_fail(err);
    return c;
}

/* "UIS refused the key (access_token_invalid: Access token is invalid): <advice>". */
static int uisctl_refused(const char *what, const struct uis_api_answer *ans)
{
    fprintf(stderr, "crmctl: %s (%s: %s): %s", what, ans->mnemonic, ans->message,
            uis_api_action_advice(ans->action));
    if (ans->action == UIS_API_BACKOFF || ans->action == UIS_API_RETRY)
        fprintf(stderr, "; try again in %ld s", ans->retry_after_s);
    fputc('\n', stderr);
    return 1;
}

int uisctl_key(const struct uisctl_env *env, int argc, char **argv)
{
    char key[UISCTL_KEY_MAX + 1], old[UISCTL_KEY_MAX + 1], err[512];
    struct uis_api_answer ans = {0};
    struct uis_api_client *c = NULL;
    const char *tz, *name;
    json_t *account;
    PGconn *conn;
    int rc = 1;

    if (argc != 4 || argv[3][0] == '-')
        return uisctl_usage("tenant uis-key needs the tenant id, and the key on standard input");
    if (!(conn = uisctl_pg(env)))
        return 1;
    /* The tenant first: a typo must not spend a UIS point. */
    if (admin_uis_key_get(conn, argv[3], old, sizeof(old), err, sizeof(err)) < 0) {
        PQfinish(conn);
        return uisctl_fail(err);
    }
    memset(old, 0, sizeof(old));
    if (uisctl_key_from_stdin(key, sizeof(key), err, sizeof(err)) < 0) {
        PQfinish(conn);
        return uisctl_fail(err);
    }
    if (!(c = uisctl_client(env)))
        goto out;
    if (uis_api_call(c, UIS_API_DATA, "get.account", key, NULL, &ans) < 0) {
        uisctl_refused("UIS did not accept the key, nothing was stored", &ans);
        goto out;
    }
    account = json_array_get(json_object_get(ans.result, "data"), 0);
    tz = json_string_value(json_object_get(account, "timezone"));
    name = json_string_value(json_object_get(account, "name"));
    if (!tz || !tz[0]) {
        uisctl_fail("UIS accepted the key but get.account named no time zone; nothing stored");
        goto out;
    }
    if (admin_uis_key_store(conn, argv[3], key, tz, name ? name : "", err, sizeof(err)) < 0) {
        uisctl_fail(err);
        goto out;
    }
    printf("UIS accepted the key of account \"%s\" (time zone %s); stored for tenant %s\n",
           name ? name : "", tz, argv[3]);
    rc = 0;
out:
    memset(key, 0, sizeof(key));
    uis_api_answer_release(&ans);
    uis_api_client_free(c);
    PQfinish(conn);
    return rc;
}

/* ---- uis employees ---- */

/* Every employee of the account, page by page. Returns a new array or NULL (reason printed). */
static json_t *uisctl_fetch_employees(struct uis_api_client *c, const char *key)
{
    json_t *all = json_array();
    long offset = 0;

    for (;;) {
        struct uis_api_answer ans;
        json_t *params =
            json_pack("{s:I, s:I, s:[ssss]}", "offset", (json_int_t)offset, "limit",
                      (json_int_t)1000, "fields", "id", "full_name", "status", "extension");
        json_t *rows;
        int rc = uis_api_call(c, UIS_API_DATA, "get.employees", key, params, &ans);

        json_decref(params);
        if (rc < 0) {
            uisctl_refused("UIS refused get.employees", &ans);
            json_decref(all);
            return NULL;
        }
        rows = json_object_get(ans.result, "data");
        json_array_extend(all, rows);
        offset += (long)json_array_size(rows);
        rc = json_array_size(rows) == 0 || ans.total_items < 0 || offset >= ans.total_items;
        uis_api_answer_release(&ans);
        if (rc)
            return all;
    }
}

static int uisctl_sync(PGconn *conn, const char *tenant, json_t *rows, char *err, size_t errlen)
{
    size_t n;
    struct admin_uis_employee *e = admin_uis_employees_from_json(rows, &n);
    struct admin_uis_sync sync;
    int rc;

    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = admin_uis_employees_sync(conn, tenant, e, n, &sync, err, errlen);
    free(e);
    if (rc < 0)
        return -1;
    if (sync.ext_updated)
        fprintf(stderr, "extensions following UIS: %zu updated\n", sync.ext_updated);
    for (size_t i = 0; i < json_array_size(sync.conflicts); i++) {
        json_t *k = json_array_get(sync.conflicts, i);

        fprintf(stderr, "conflict: UIS employee %lld (CRM user %s) has extension %s: %s\n",
                (long long)json_integer_value(json_object_get(k, "employee_id")),
                json_string_value(json_object_get(k, "user_id")),
                json_string_value(json_object_get(k, "extension")),
                json_string_value(json_object_get(k, "reason")));
    }
    json_decref(sync.conflicts);
    return 0;
}

static void uisctl_print_employees(json_t *list)
{
    printf("%-12s %-30s %-10s %-12s %s\n", "UIS_ID", "FULL_NAME", "EXTENSION", "STATUS",
           "CRM_USER");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *r = json_array_get(list, i);
        json_t *uid = json_object_get(r, "user_id");
        const char *ext = json_string_value(json_object_get(r, "extension"));
        const char *status = json_string_value(json_object_get(r, "status"));

        printf("%-12lld %-30s %-10s %-12s ",
               (long long)json_integer_value(json_object_get(r, "employee_id")),
               json_string_value(json_object_get(r, "full_name")), ext ? ext : "-",
               status ? status : "-");
        if (json_is_integer(uid))
            printf("%lld %s\n", (long long)json_integer_value(uid),
                   json_string_value(json_object_get(r, "user_name")));
        else
            printf("-\n");
    }
}

static int uisctl_employees(const struct uisctl_env *env, int argc, char **argv)
{
    char key[UISCTL_KEY_MAX + 1], err[512];
    struct uis_api_client *c = NULL;
    json_t *rows = NULL, *list = NULL;
    int as_json = argc == 5 && strcmp(argv[4], "--json") == 0;
    PGconn *conn;
    int rc = 1;

    if (argc != 4 && !as_json)
        return uisctl_usage("uis employees needs TENANT [--json]");
    if (!(conn = uisctl_pg(env)))
        return 1;
    if (admin_uis_key_get(conn, argv[3], key, sizeof(key), err, sizeof(err)) < 0) {
        uisctl_fail(err);
    } else if (!key[0]) {
        fprintf(stderr, "crmctl: tenant %s has no UIS API key: crmctl tenant uis-key %s\n", argv[3],
                argv[3]);
    } else if ((c = uisctl_client(env)) && (rows = uisctl_fetch_employees(c, key))) {
        if (uisctl_sync(conn, argv[3], rows, err, sizeof(err)) < 0 ||
            admin_uis_employees_list(conn, argv[3], &list, err, sizeof(err)) < 0) {
            uisctl_fail(err);
        } else {
            if (as_json) {
                char *s = json_dumps(list, JSON_COMPACT);

                printf("%s\n", s ? s : "[]");
                free(s);
            } else {
                uisctl_print_employees(list);
            }
            rc = 0;
        }
    }
    memset(key, 0, sizeof(key));
    json_decref(rows);
    json_decref(list);
    uis_api_client_free(c);
    PQfinish(conn);
    return rc;
}

/* ---- uis link ---- */

/* Lower-case ASCII and Cyrillic in place (ё as е): names are compared, never shown. */
static void uisctl_fold(char *s)
{
    unsigned char *p = (unsigned char *)s;

    for (; *p; p++) {
        if (*p < 0x80) {
            *p = (unsigned char)tolower(*p);
        } else if (p[0] == 0xd0 && p[1] >= 0x90 && p[1] <= 0x9f) { /* А..П */
            p[1] += 0x20;
            p++;
        } else if (p[0] == 0xd0 && p[1] >= 0xa0 && p[1] <= 0xaf) { /* Р..Я */
            p[0] = 0xd1;
            p[1] -= 0x20;
            p++;
        } else if ((p[0] == 0xd0 && p[1] == 0x81) || (p[0] == 0xd1 && p[1] == 0x91)) { /* Ё ё */
            p[0] = 0xd0;
            p[1] = 0xb5;
            p++;
        }
    }
}

static size_t uisctl_words(char *s, char **w)
{
    size_t n = 0;

    uisctl_fold(s);
    for (char *save = NULL, *t = strtok_r(s, " \t.,", &save); t && n < UISCTL_WORDS;
         t = strtok_r(NULL, " \t.,", &save))
        w[n++] = t;
    return n;
}

static int uisctl_has_word(char **w, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(w[i], word) == 0)
            return 1;
    }
    return 0;
}

int uisctl_names_match(const char *crm_name, const char *uis_name)
{
    char a[256], b[256], *wa[UISCTL_WORDS], *wb[UISCTL_WORDS], **small, **big;
    size_t na, nb, ns, nbig;

    snprintf(a, sizeof(a), "%s", crm_name ? crm_name : "");
    snprintf(b, sizeof(b), "%s", uis_name ? uis_name : "");
    na = uisctl_words(a, wa);
    nb = uisctl_words(b, wb);
    small = na <= nb ? wa : wb;
    ns = na <= nb ? na : nb;
    big = na <= nb ? wb : wa;
    nbig = na <= nb ? nb : na;
    /* Two words at least (a first name alone matches too many people); a patronymic on one
     * side only is fine. */
    if (ns < 2)
        return 0;
    for (size_t i = 0; i < ns; i++) {
        if (!uisctl_has_word(big, nbig, small[i]))
            return 0;
    }
    return 1;
}

static int uisctl_auto(PGconn *conn, const char *tenant, int apply)
{
    json_t *emps = NULL, *users = NULL;
    char err[512];
    size_t proposed = 0, done = 0;
    int rc = 1;

    if (admin_uis_employees_list(conn, tenant, &emps, err, sizeof(err)) < 0 ||
        admin_list(conn, ADMIN_LIST_USERS, tenant, &users, err, sizeof(err)) < 0) {
        uisctl_fail(err);
        goto out;
    }
    if (json_array_size(emps) == 0) {
        fprintf(stderr, "crmctl: no UIS employees known for %s: run 'crmctl uis employees %s'\n",
                tenant, tenant);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(emps); i++) {
        json_t *e = json_array_get(emps, i);
        const char *ename = json_string_value(json_object_get(e, "full_name"));
        json_t *match = NULL;
        size_t nmatch = 0;

        if (!json_is_null(json_object_get(e, "user_id")))
            continue;
        for (size_t k = 0; k < json_array_size(users); k++) {
            json_t *u = json_array_get(users, k);

            if (uisctl_names_match(json_string_value(json_object_get(u, "name")), ename)) {
                match = u;
                nmatch++;
            }
        }
        if (nmatch != 1) {
            if (nmatch > 1)
                printf("skip: UIS employee %lld (%s) matches %zu CRM users\n",
                       (long long)json_integer_value(json_object_get(e, "employee_id")), ename,
                       nmatch);
            continue;
        }
        proposed++;
        printf("%s CRM user %lld (%s) to UIS employee %lld (%s)\n", apply ? "link" : "would link",
               (long long)json_integer_value(json_object_get(match, "id")),
               json_string_value(json_object_get(match, "name")),
               (long long)json_integer_value(json_object_get(e, "employee_id")), ename);
        if (apply) {
            if (admin_uis_link(conn, tenant,
                               (long long)json_integer_value(json_object_get(match, "id")),
                               (long long)json_integer_value(json_object_get(e, "employee_id")),
                               err, sizeof(err)) < 0)
                fprintf(stderr, "crmctl: %s\n", err);
            else
                done++;
        }
    }
    if (!apply && proposed)
        printf("%zu link(s) proposed; run again with --yes to make them\n", proposed);
    else if (apply)
        printf("%zu of %zu link(s) made\n", done, proposed);
    else
        printf("no link to propose\n");
    rc = apply && done != proposed ? 1 : 0;
out:
    json_decref(emps);
    json_decref(users);
    return rc;
}

static int uisctl_link(const struct uisctl_env *env, int argc, char **argv)
{
    int is_auto = argc >= 5 && strcmp(argv[4], "--auto") == 0;
    int yes = is_auto && argc == 6 && strcmp(argv[5], "--yes") == 0;
    long long uid = 0, eid = 0;
    char err[512], *end = NULL;
    PGconn *conn;
    int rc;

    if (is_auto ? (argc != 5 && !yes) : argc != 6)
        return uisctl_usage("uis link needs TENANT USER_ID UIS_EMPLOYEE_ID, or TENANT --auto");
    if (!is_auto) {
        uid = strtoll(argv[4], &end, 10);
        if (*end || uid < 1)
            return uisctl_usage("USER_ID must be a positive number");
        eid = strtoll(argv[5], &end, 10);
        if (*end || eid < 1)
            return uisctl_usage("UIS_EMPLOYEE_ID must be a positive number");
    }
    if (!(conn = uisctl_pg(env)))
        return 1;
    if (is_auto) {
        rc = uisctl_auto(conn, argv[3], yes);
    } else {
        rc = admin_uis_link(conn, argv[3], uid, eid, err, sizeof(err)) < 0 ? uisctl_fail(err) : 0;
        if (!rc)
            printf("CRM user %lld linked to UIS employee %lld\n", uid, eid);
    }
    PQfinish(conn);
    return rc;
}

int uisctl_main(const struct uisctl_env *env, int argc, char **argv)
{
    const char *sub = argc > 2 ? argv[2] : "";

    if (argc < 4)
        return uisctl_usage("uis needs a command and the tenant id");
    if (strcmp(sub, "employees") == 0)
        return uisctl_employees(env, argc, argv);
    if (strcmp(sub, "link") == 0)
        return uisctl_link(env, argc, argv);
    return uisctl_usage("unknown uis command");
}
