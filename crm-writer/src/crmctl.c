/* crmctl: administration of the CRM store (SPEC §9). Output on stdout, errors on stderr;
 * exit 0 done, 1 failed, 2 bad usage. Secrets are printed once (the webhook address at
 * install and re-issue) and never again. */
#include "admin.h"
#include "admin_popup.h"
#include "admin_settings.h"
#include "crmctl_uis.h"
#include "ctl_call.h"
#include "ctl_list.h"
#include "migrate.h"
#include "migrate_db.h"

#include "common/b64.h"
#include "common/cfg.h"
#include "common/jwt.h"
#include "common/kafka.h"
#include "dlq_replay.h"
#include "common/log.h"
#include "common/webhook_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ctl_cfg {
    const char *pg_dsn;
    const char *kafka_brokers;
    const char *topic_tenant_tokens;
    const char *webhook_keys;
    const char *webhook_key_id;
    const char *public_webhook_base;
    const char *popup_jwt_secret;
    long popup_jwt_ttl_s;
    const char *topic_dlq;
    const char *uis_data_url;
    const char *uis_call_url;
    long uis_timeout_ms;
    const char *topic_popup_users;
    const char *topic_call_events;
    const char *topic_actions;
    const char *topic_popups;
};

static const struct cfg_var ctl_vars[] = {
    {"PG_DSN", CFG_SECRET, "",
     "PostgreSQL connection string (libpq; no default: it would hold a password)",
     offsetof(struct ctl_cfg, pg_dsn), 0, 0},
    {"KAFKA_BROKERS", CFG_STR, "127.0.0.1:19092", "Kafka bootstrap servers (tenant install/token)",
     offsetof(struct ctl_cfg, kafka_brokers), 0, 0},
    {"TOPIC_TENANT_TOKENS", CFG_STR, "crm.tenant-tokens.v1",
     "compacted topic announcing each tenant's webhook token version",
     offsetof(struct ctl_cfg, topic_tenant_tokens), 0, 0},
    {"WEBHOOK_KEYS", CFG_SECRET, "", "webhook token keys kid:base64secret,... (install/token)",
     offsetof(struct ctl_cfg, webhook_keys), 0, 0},
    {"WEBHOOK_KEY_ID", CFG_STR, "", "kid of WEBHOOK_KEYS that mints new tokens",
     offsetof(struct ctl_cfg, webhook_key_id), 0, 0},
    {"PUBLIC_WEBHOOK_BASE", CFG_STR, "http://127.0.0.1:8080",
     "public base URL of ingest, for the printed webhook address",
     offsetof(struct ctl_cfg, public_webhook_base), 0, 0},
    {"POPUP_JWT_SECRET", CFG_SECRET, "",
     "HS256 keys of popup tokens kid:base64key,...; the first signs (popup-token)",
     offsetof(struct ctl_cfg, popup_jwt_secret), 0, 0},
    {"POPUP_JWT_TTL_S", CFG_INT, "43200", "lifetime of a popup token in seconds",
     offsetof(struct ctl_cfg, popup_jwt_ttl_s), 60, 31536000},
    {"TOPIC_DLQ", CFG_STR, "pipeline.dead-letter.v1", "dead-letter topic (dlq replay)",
     offsetof(struct ctl_cfg, topic_dlq), 0, 0},
    {"UIS_DATA_API_URL", CFG_STR, "https://dataapi.uiscom.ru/v2.0", "UIS Data API endpoint",
     offsetof(struct ctl_cfg, uis_data_url), 0, 0},
    {"UIS_CALL_API_URL", CFG_STR, "https://callapi.uiscom.ru/v4.0", "UIS Call API endpoint",
     offsetof(struct ctl_cfg, uis_call_url), 0, 0},
    {"UIS_API_TIMEOUT_MS", CFG_INT, "15000", "bound of one UIS API call",
     offsetof(struct ctl_cfg, uis_timeout_ms), 100, 600000},
    {"TOPIC_POPUP_USERS", CFG_STR, "crm.popup-users.v1",
     "compacted topic of revoked popup tokens (user disable/enable/revoke-tokens)",
     offsetof(struct ctl_cfg, topic_popup_users), 0, 0},
    {"TOPIC_CALL_EVENTS", CFG_STR, "uis.call-events.v1",
     "call events topic (dlq replay sends only to this and the two below)",
     offsetof(struct ctl_cfg, topic_call_events), 0, 0},
    {"TOPIC_ACTIONS", CFG_STR, "crm.call-actions.v1", "CRM actions topic (dlq replay)",
     offsetof(struct ctl_cfg, topic_actions), 0, 0},
    {"TOPIC_POPUPS", CFG_STR, "crm.popups.v1", "popups topic (dlq replay)",
     offsetof(struct ctl_cfg, topic_popups), 0, 0},
};
#define CTL_NVARS (sizeof(ctl_vars) / sizeof(ctl_vars[0]))

static const char ctl_usage[] =
    "usage: crmctl COMMAND ...\n"
    "  migrate [--dir DIR]                      apply schema migrations (built in, or DIR)\n"
    "  tenant install ID --name N [--settings FILE.json] [--notify-responsible-only]\n"
    "         [--no-contact] [--no-deal-history] [--no-missed-task] [--fixed-counterparty ID]\n"
    "                                           create or re-install; prints the webhook address\n"
    "                                           (a UIS API key only in --settings or uis-key)\n"
    "  tenant uis-key ID                        check the UIS API key on standard input with\n"
    "                                           UIS (get.account) and store it\n"
    "  tenant token ID                          re-issue the webhook address (voids the old one)\n"
    "  tenant show ID [--json]\n"
    "  tenant set ID key=value...               keys: name,\n"
    "         notify_responsible_only, create_contact_on_call, add_call_to_last_active_deal,\n"
    "         create_missed_call_task, unknown_to_fixed_counterparty, fixed_counterparty_id,\n"
    "         quiet_period_s (seconds without a notification that close a call's popups),\n"
    "         uis_virtual_number (click-to-call; null: the number last seen)\n"
    "  user add TENANT --login L --name N       prints the user id\n"
    "  user disable|enable|revoke-tokens TENANT USER_ID   disable ends the user's popup streams\n"
    "         and tokens; revoke-tokens voids every popup token minted so far\n"
    "  employees set TENANT USER_ID...          the ordered employees list (none: the extension\n"
    "                                           table's users, in the order entered)\n"
    "  extension set TENANT EXT USER_ID | extension rm TENANT EXT\n"
    "  counterparty add TENANT --name N [--work-phone P] [--mobile-phone P] [--responsible UID]\n"
    "  deal add TENANT --counterparty ID --title T [--stage open|won|lost|closed]\n"
    "         [--last-activity RFC3339]\n"
    "  contacts|tasks|deal-history|counterparties|deals|users list TENANT [--json]\n"
    "         [--limit N] [--since AGE|DATE] [--call ID] [--phone P] [--state S]\n"
    "                                           a table, newest first (--json: every row)\n"
    "  call CALL_ID TENANT [--margin SECONDS]   one call's story: notifications, decisions,\n"
    "                                           rows written, popups sent\n"
    "  popup-token TENANT USER_ID               a JWT HS256 for the notifier\n"
    "  dlq replay [--dry-run]                   send dead letters back to their topics\n"
    "  uis employees TENANT [--json]            UIS's employees beside their linked CRM users\n"
    "  uis link TENANT USER_ID UIS_EMPLOYEE_ID | uis link TENANT --auto [--yes]\n"
    "  --show-secret (any command)              print webhook addresses and popup tokens even\n"
    "                                           when standard output is not a terminal\n";

struct ctl_opt {
    const char *name; /* "--name" */
    const char *value;
    int takes_arg;
    int seen;
};

/* --show-secret was given: print secrets into a pipe or file too. */
static int ctl_show_secret;

/* 0 when a secret (what) may go to standard output: it is a terminal, or --show-secret was
 * given. Checked before the command changes anything, so a refusal costs nothing. */
static int ctl_secret_ok(const char *what)
{
    if (ctl_show_secret || isatty(STDOUT_FILENO))
        return 0;
    fprintf(stderr,
            "crmctl: standard output is not a terminal, so the %s would land in a file, pipe or "
            "log; add --show-secret to print it anyway\n",
            what);
    return -1;
}

/* Print "crmctl: <what><detail>" and the usage; returns the usage exit code. */
static int ctl_usage_error(const char *what, const char *detail)
{
    fprintf(stderr, "crmctl: %s%s\n%s", what, detail, ctl_usage);
    return 2;
}

/* Same with a quoted part in the middle: "<what><mid><tail>". */
static int ctl_usage_error_q(const char *what, const char *mid, const char *tail)
{
    fprintf(stderr, "crmctl: %s%s%s\n%s", what, mid, tail, ctl_usage);
    return 2;
}

/* Split argv[start..] into options and positionals. Returns 0 or 2 (usage error printed). */
static int ctl_parse(int argc, char **argv, int start, struct ctl_opt *opts, size_t nopts,
                     const char **pos, size_t maxpos, size_t *npos)
{
    *npos = 0;
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        struct ctl_opt *o = NULL;
        const char *eq;
        size_t nlen;

        if (strncmp(a, "--", 2) != 0 || strlen(a) == 2) {
            if (*npos >= maxpos)
                return ctl_usage_error_q("unexpected argument '", a, "'");
            pos[(*npos)++] = a;
            continue;
        }
        eq = strchr(a, '=');
        nlen = eq ? (size_t)(eq - a) : strlen(a);
        for (size_t k = 0; k < nopts; k++) {
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, a, nlen) == 0)
                o = &opts[k];
        }
        if (!o)
            return ctl_usage_error_q("unknown option '", a, "'");
        o->seen = 1;
        if (!o->takes_arg) {
            if (eq)
                return ctl_usage_error_q("option ", o->name, " takes no value");
            continue;
        }
        if (eq) {
            o->value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return ctl_usage_error_q("option ", o->name, " needs a value");
            o->value = argv[++i];
        }
    }
    return 0;
}

/* Server notices ("relation already exists, skipping") are not for the admin. */
static void ctl_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *ctl_pg(const struct ctl_cfg *cfg)
{
    PGconn *conn;

    if (!cfg->pg_dsn[0]) {
        fprintf(stderr, "crmctl: PG_DSN must be set (a libpq connection string)\n");
        return NULL;
    }
    conn = PQconnectdb(cfg->pg_dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "crmctl: postgresql: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, ctl_notice, NULL);
    return conn;
}

static int ctl_fail(const char *err)
{
    fprintf(stderr, "crmctl: %s\n", err);
    return 1;
}

static int ctl_id_arg(const char *s, const char *what, long long *out)
{
    if (settings_id(s, out) < 0) {
        ctl_usage_error_q("", what, " must be a positive number");
        return -1;
    }
    return 0;
}

/* ---- migrate ---- */

static void ctl_migrated(const struct migration *m, void *ctx)
{
    (void)ctx;
    printf("applied %s\n", m->name);
}

static int ctl_migrate(const struct ctl_cfg *cfg, int argc, char **argv)
{
    static struct migration_set set;
    struct ctl_opt opts[] = {{"--dir", NULL, 1, 0}};
    const char *pos[1];
    size_t npos;
    char err[512];
    PGconn *conn;
    int n, version = 0;

    if (ctl_parse(argc, argv, 2, opts, 1, pos, 0, &npos))
        return 2;
    if ((opts[0].seen ? migrate_load_dir(&set, opts[0].value, err, sizeof(err))
                      : migrate_load_embedded(&set, err, sizeof(err))) < 0)
        return ctl_fail(err);
    conn = ctl_pg(cfg);
    if (!conn) {
        migration_set_release(&set);
        return 1;
    }
    n = migrate_db_run(conn, &set, ctl_migrated, NULL, err, sizeof(err));
    if (n >= 0 && migrate_db_version(conn, &version, err, sizeof(err)) == 0)
        printf("schema at version %d (%d applied now)\n", version, n);
    PQfinish(conn);
    migration_set_release(&set);
    return n < 0 ? ctl_fail(err) : 0;
}

/* ---- tenant ---- */

static int ctl_tokens(const struct ctl_cfg *cfg, struct keyring *kr, struct admin_tokens *tk,
                      char *err, size_t errlen)
{
    if (!cfg->webhook_keys[0] || !cfg->webhook_key_id[0]) {
        snprintf(err, errlen,
                 "WEBHOOK_KEYS and WEBHOOK_KEY_ID must be set to issue a webhook "
                 "address");
        return -1;
    }
    if (wtoken_keyring_parse(cfg->webhook_keys, kr, err, errlen) < 0)
        return -1;
    tk->producer = kafka_producer_new(cfg->kafka_brokers, "crmctl", NULL, err, errlen);
    if (!tk->producer)
        return -1;
    tk->topic = cfg->topic_tenant_tokens;
    tk->keys = kr;
    tk->key_id = cfg->webhook_key_id;
    return 0;
}

static int ctl_print_address(const struct ctl_cfg *cfg, const char *tenant, const char *token)
{
    char url[1024];

    if (settings_webhook_url(cfg->public_webhook_base, tenant, token, url, sizeof(url)) < 0)
        return ctl_fail("PUBLIC_WEBHOOK_BASE is too long");
    fprintf(stderr,
            "webhook address (\"Адрес внешней системы\") for tenant %s; it is shown "
            "once, paste it into the UIS cabinet:\n",
            tenant);
    printf("%s\n", url);
    return 0;
}

static int ctl_tenant_install(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct ctl_opt opts[] = {
        {"--name", NULL, 1, 0},
        {"--settings", NULL, 1, 0},
        {"--notify-responsible-only", NULL, 0, 0},
        {"--no-contact", NULL, 0, 0},
        {"--no-deal-history", NULL, 0, 0},
        {"--no-missed-task", NULL, 0, 0},
        {"--fixed-counterparty", NULL, 1, 0},
        {"--uis-api-key", NULL, 1, 0},
    };
    struct tenant_settings s;
    struct keyring kr;
    struct admin_tokens tk = {0};
    json_t *file = NULL;
    const char *pos[1];
    size_t npos;
    char err[512], token[WTOKEN_LEN];
    PGconn *conn = NULL;
    int created = 0, rc = 1;

    if (ctl_parse(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, &npos))
        return 2;
    if (npos != 1)
        return ctl_usage_error("", "tenant install needs the tenant id");
    if (ctl_secret_ok("webhook address") < 0)
        return 2;
    if (!opts[0].seen || !opts[0].value[0])
        return ctl_usage_error("", "tenant install needs --name");
    settings_defaults(&s);
    if (opts[1].seen) {
        json_error_t jerr;

        file = json_load_file(opts[1].value, JSON_REJECT_DUPLICATES, &jerr);
        if (!file) {
            fprintf(stderr, "crmctl: --settings %s: %s (line %d)\n", opts[1].value, jerr.text,
                    jerr.line);
            return 1;
        }
        if (settings_from_json(&s, file, err, sizeof(err)) < 0) {
            json_decref(file);
            fprintf(stderr, "crmctl: --settings %s: %s\n", opts[1].value, err);
            return 1;
        }
    }
    /* Flags override the file. */
    if (opts[2].seen)
        s.notify_responsible_only = 1;
    if (opts[3].seen)
        s.create_contact_on_call = 0;
    if (opts[4].seen)
        s.add_call_to_last_active_deal = 0;
    if (opts[5].seen)
        s.create_missed_call_task = 0;
    if (opts[6].seen) {
        if (ctl_id_arg(opts[6].value, "--fixed-counterparty", &s.fixed_counterparty_id) < 0) {
            json_decref(file);
            return 2;
        }
        s.unknown_to_fixed_counterparty = 1;
    }
    if (opts[7].seen) {
        /* Gone: argv is visible to every local user (ps) and stays in shell history. */
        json_decref(file);
        return ctl_usage_error("", "--uis-api-key is no longer accepted (ps would show the "
                                   "key): pipe the key to 'crmctl tenant uis-key ID', or put it "
                                   "in the --settings file");
    }
    if (ctl_tokens(cfg, &kr, &tk, err, sizeof(err)) < 0) {
        ctl_fail(err);
    } else if ((conn = ctl_pg(cfg)) != NULL) {
        if (admin_tenant_install(conn, &tk, pos[0], opts[0].value, &s, token, sizeof(token),
                                 &created, err, sizeof(err)) < 0) {
            ctl_fail(err);
        } else {
            fprintf(stderr, "tenant %s %s\n", pos[0], created ? "installed" : "re-installed");
            rc = ctl_print_address(cfg, pos[0], token);
        }
    }
    memset(token, 0, sizeof(token));
    memset(&kr, 0, sizeof(kr));
    PQfinish(conn);
    kafka_producer_close(tk.producer, 5000);
    json_decref(file);
    return rc;
}

static int ctl_tenant_token(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct keyring kr;
    struct admin_tokens tk = {0};
    const char *pos[1];
    size_t npos;
    char err[512], token[WTOKEN_LEN];
    PGconn *conn = NULL;
    int rc = 1;

    if (ctl_parse(argc, argv, 3, NULL, 0, pos, 1, &npos))
        return 2;
    if (npos != 1)
        return ctl_usage_error("", "tenant token needs the tenant id");
    if (ctl_secret_ok("webhook address") < 0)
        return 2;
    if (ctl_tokens(cfg, &kr, &tk, err, sizeof(err)) < 0) {
        ctl_fail(err);
    } else if ((conn = ctl_pg(cfg)) != NULL) {
        if (admin_tenant_token(conn, &tk, pos[0], token, sizeof(token), err, sizeof(err)) < 0)
            ctl_fail(err);
        else
            rc = ctl_print_address(cfg, pos[0], token);
    }
    memset(token, 0, sizeof(token));
    memset(&kr, 0, sizeof(kr));
    PQfinish(conn);
    kafka_producer_close(tk.producer, 5000);
    return rc;
}

static void ctl_print_value(FILE *out, json_t *v)
{
    if (json_is_null(v)) {
        fputs("-", out);
    } else if (json_is_string(v)) {
        fputs(json_string_value(v), out);
    } else if (json_is_array(v) && json_array_size(v) > 0 && json_is_string(json_array_get(v, 0))) {
        for (size_t i = 0; i < json_array_size(v); i++)
            fprintf(out, "%s%s", i ? "," : "", json_string_value(json_array_get(v, i)));
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        fputs(s ? s : "?", out);
        free(s);
    }
}

static void ctl_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (s)
        printf("%s\n", s);
    free(s);
}

static int ctl_tenant_show(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct ctl_opt opts[] = {{"--json", NULL, 0, 0}};
    const char *pos[1];
    size_t npos;
    char err[512];
    json_t *obj = NULL;
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 3, opts, 1, pos, 1, &npos))
        return 2;
    if (npos != 1)
        return ctl_usage_error("", "tenant show needs the tenant id");
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_tenant_show(conn, pos[0], &obj, err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    if (opts[0].seen) {
        ctl_print_json(obj);
    } else {
        for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
            printf("%-30s ", json_object_iter_key(it));
            ctl_print_value(stdout, json_object_iter_value(it));
            putchar('\n');
        }
    }
    json_decref(obj);
    return 0;
}

static int ctl_tenant_set(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct setting_kv kv[16];
    const char *pos[17];
    size_t npos;
    char err[512];
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 3, NULL, 0, pos, 17, &npos))
        return 2;
    if (npos < 2)
        return ctl_usage_error("", "tenant set needs the tenant id and key=value pairs");
    for (size_t i = 1; i < npos; i++) {
        if (settings_kv_parse(pos[i], &kv[i - 1], err, sizeof(err)) < 0)
            return ctl_usage_error("", err);
    }
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_tenant_set(conn, pos[0], kv, npos - 1, err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    printf("tenant %s updated\n", pos[0]);
    return 0;
}

/* ---- directory ---- */

static int ctl_user_add(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct ctl_opt opts[] = {{"--login", NULL, 1, 0}, {"--name", NULL, 1, 0}};
    const char *pos[1];
    size_t npos;
    char err[512];
    long long id = 0;
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 3, opts, 2, pos, 1, &npos))
        return 2;
    if (npos != 1 || !opts[0].seen || !opts[1].seen)
        return ctl_usage_error("", "user add needs TENANT --login L --name N");
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_user_add(conn, pos[0], opts[0].value, opts[1].value, &id, err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    printf("%lld\n", id);
    return 0;
}

static int ctl_employees_set(const struct ctl_cfg *cfg, int argc, char **argv)
{
    const char *pos[65];
    long long ids[64];
    size_t npos;
    char err[512];
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 3, NULL, 0, pos, 65, &npos))
        return 2;
    if (npos < 1)
        return ctl_usage_error("", "employees set needs the tenant id");
    for (size_t i = 1; i < npos; i++) {
        if (ctl_id_arg(pos[i], "a user id", &ids[i - 1]) < 0)
            return 2;
    }
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_employees_set(conn, pos[0], ids, npos - 1, err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    printf("employees of %s: %zu\n", pos[0], npos - 1);
    return 0;
}

static int ctl_extension(const struct ctl_cfg *cfg, int argc, char **argv)
{
    const char *pos[3];
    size_t npos;
    char err[512];
    long long uid = 0;
    PGconn *conn;
    int rc, set = strcmp(argv[2], "set") == 0;

    if (ctl_parse(argc, argv, 3, NULL, 0, pos, 3, &npos))
        return 2;
    if (set && npos != 3)
        return ctl_usage_error("", "extension set needs TENANT EXT USER_ID");
    if (!set && npos != 2)
        return ctl_usage_error("", "extension rm needs TENANT EXT");
    if (set && ctl_id_arg(pos[2], "USER_ID", &uid) < 0)
        return 2;
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = set ? admin_extension_set(conn, pos[0], pos[1], uid, err, sizeof(err))
             : admin_extension_rm(conn, pos[0], pos[1], err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    printf("extension %s %s\n", pos[1], set ? "mapped" : "removed");
    return 0;
}

static int ctl_counterparty_add(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct ctl_opt opts[] = {{"--name", NULL, 1, 0},
                             {"--work-phone", NULL, 1, 0},
                             {"--mobile-phone", NULL, 1, 0},
                             {"--responsible", NULL, 1, 0}};
    const char *pos[1];
    size_t npos;
    char err[512];
    long long id = 0, resp = 0;
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 3, opts, 4, pos, 1, &npos))
        return 2;
    if (npos != 1 || !opts[0].seen)
        return ctl_usage_error("", "counterparty add needs TENANT --name N");
    if (opts[3].seen && ctl_id_arg(opts[3].value, "--responsible", &resp) < 0)
        return 2;
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_counterparty_add(conn, pos[0], opts[0].value, opts[1].value, opts[2].value, resp,
                                &id, err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    printf("%lld\n", id);
    return 0;
}

static int ctl_deal_add(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct ctl_opt opts[] = {{"--counterparty", NULL, 1, 0},
                             {"--title", NULL, 1, 0},
                             {"--stage", NULL, 1, 0},
                             {"--last-activity", NULL, 1, 0}};
    const char *pos[1];
    size_t npos;
    char err[512];
    long long id = 0, cp = 0;
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 3, opts, 4, pos, 1, &npos))
        return 2;
    if (npos != 1 || !opts[0].seen || !opts[1].seen)
        return ctl_usage_error("", "deal add needs TENANT --counterparty ID --title T");
    if (ctl_id_arg(opts[0].value, "--counterparty", &cp) < 0)
        return 2;
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_deal_add(conn, pos[0], cp, opts[1].value, opts[2].value, opts[3].value, &id, err,
                        sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    printf("%lld\n", id);
    return 0;
}

/* A table of the rows: the keys of the first row as the header, tab-separated. */
static void ctl_print_table(json_t *rows)
{
    json_t *first = json_array_get(rows, 0);

    if (!first) {
        printf("(none)\n");
        return;
    }
    for (void *it = json_object_iter(first); it; it = json_object_iter_next(first, it))
        printf("%s\t", json_object_iter_key(it));
    putchar('\n');
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);

        for (void *it = json_object_iter(row); it; it = json_object_iter_next(row, it)) {
            ctl_print_value(stdout, json_object_iter_value(it));
            putchar('\t');
        }
        putchar('\n');
    }
}

static int ctl_list(const struct ctl_cfg *cfg, enum admin_list what, int argc, char **argv)
{
    struct ctl_opt opts[] = {{"--json", NULL, 0, 0}};
    const char *pos[1];
    size_t npos;
    char err[512];
    json_t *rows = NULL;
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 3, opts, 1, pos, 1, &npos))
        return 2;
    if (npos != 1)
        return ctl_usage_error("", "list needs the tenant id");
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_list(conn, what, pos[0], &rows, err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    if (opts[0].seen)
        ctl_print_json(rows);
    else
        ctl_print_table(rows);
    json_decref(rows);
    return 0;
}

static int ctl_dlq_replay(const struct ctl_cfg *cfg, int argc, char **argv)
{
    struct ctl_opt opts[] = {{"--dry-run", NULL, 0, 0}};
    struct dlq_replay_stats stats;
    char err[512];
    size_t npos;
    int rc;

    if (ctl_parse(argc, argv, 3, opts, 1, NULL, 0, &npos) != 0)
        return 2;
    const char *const ours[] = {cfg->topic_call_events, cfg->topic_actions, cfg->topic_popups,
                                NULL};
    rc = dlq_replay_run(cfg->kafka_brokers, cfg->topic_dlq, ours, "crmctl-dlq-replay", opts[0].seen,
                        stdout, &stats, err, sizeof(err));
    printf("%s %ld, skipped %ld\n", opts[0].seen ? "would replay" : "replayed", stats.replayed,
           stats.skipped);
    return rc < 0 ? ctl_fail(err) : 0;
}

static int ctl_user_tokens(const struct ctl_cfg *cfg, int argc, char **argv)
{
    static const char *const done[] = {"tokens revoked", "disabled", "enabled"};
    enum admin_popup_op op = strcmp(argv[2], "disable") == 0  ? ADMIN_POPUP_DISABLE
                             : strcmp(argv[2], "enable") == 0 ? ADMIN_POPUP_ENABLE
                                                              : ADMIN_POPUP_REVOKE;
    struct admin_popup_users pu = {NULL, cfg->topic_popup_users};
    const char *pos[2];
    size_t npos;
    char err[512];
    long long uid, gen = 0;
    int active = 0, rc = 1;
    PGconn *conn;

    if (ctl_parse(argc, argv, 3, NULL, 0, pos, 2, &npos))
        return 2;
    if (npos != 2)
        return ctl_usage_error_q("user ", argv[2], " needs TENANT USER_ID");
    if (ctl_id_arg(pos[1], "USER_ID", &uid) < 0)
        return 2;
    if (!(conn = ctl_pg(cfg)))
        return 1;
    pu.producer = kafka_producer_new(cfg->kafka_brokers, "crmctl", NULL, err, sizeof(err));
    if (!pu.producer)
        ctl_fail(err);
    else if (admin_popup_user(conn, &pu, pos[0], uid, op, &gen, &active, err, sizeof(err)) < 0)
        ctl_fail(err);
    else
        rc = 0;
    PQfinish(conn);
    kafka_producer_close(pu.producer, 5000);
    if (rc == 0)
        printf("user %lld of %s: %s (popup tokens before generation %lld refused)\n", uid, pos[0],
               done[op], gen);
    return rc;
}

static int ctl_popup_token(const struct ctl_cfg *cfg, int argc, char **argv)
{
    const char *pos[2];
    size_t npos;
    char err[512], token[1024];
    static struct keyring keys;
    long long uid;
    PGconn *conn;
    int rc;

    if (ctl_parse(argc, argv, 2, NULL, 0, pos, 2, &npos))
        return 2;
    if (npos != 2)
        return ctl_usage_error("", "popup-token needs TENANT USER_ID");
    if (ctl_secret_ok("popup token") < 0)
        return 2;
    if (ctl_id_arg(pos[1], "USER_ID", &uid) < 0)
        return 2;
    if (!cfg->popup_jwt_secret[0])
        return ctl_fail("POPUP_JWT_SECRET must be set to mint popup tokens");
    if (jwt_keyring_parse(cfg->popup_jwt_secret, &keys, err, sizeof(err)) < 0) {
        fprintf(stderr, "crmctl: POPUP_JWT_SECRET: %s\n", err);
        return 1;
    }
    if (!(conn = ctl_pg(cfg)))
        return 1;
    rc = admin_user_check(conn, pos[0], uid, err, sizeof(err));
    if (rc == 0)
        rc = admin_popup_may_mint(conn, pos[0], uid, err, sizeof(err));
    PQfinish(conn);
    if (rc < 0)
        return ctl_fail(err);
    /* the generation is the minting time: revoke-tokens voids the ones before it */
    rc = jwt_keyring_sign(&keys, pos[0], pos[1], (long)admin_popup_generation_now(),
                          (long)time(NULL) + cfg->popup_jwt_ttl_s, token, sizeof(token));
    memset(&keys, 0, sizeof(keys));
    if (rc < 0)
        return ctl_fail("cannot sign the popup token");
    printf("%s\n", token);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        enum admin_list what;
    } lists[] = {
        {"contacts", ADMIN_LIST_CONTACTS},
        {"tasks", ADMIN_LIST_TASKS},
        {"deal-history", ADMIN_LIST_DEAL_HISTORY},
        {"counterparties", ADMIN_LIST_COUNTERPARTIES},
        {"deals", ADMIN_LIST_DEALS},
        {"users", ADMIN_LIST_USERS},
    };
    struct ctl_cfg cfg;
    struct uisctl_env uis_env;
    char err[512];
    const char *cmd, *sub;

    /* --show-secret may stand anywhere; the commands never see it. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--show-secret") == 0) {
            ctl_show_secret = 1;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(argv[0]));
            argc--;
            i--;
        }
    }
    if (argc < 2 || cfg_wants_help(argc, argv)) {
        cfg_help(argc < 2 ? stderr : stdout, ctl_usage, ctl_vars, CTL_NVARS);
        return argc < 2 ? 2 : 0;
    }
    if (cfg_load(ctl_vars, CTL_NVARS, &cfg, err, sizeof(err)) < 0)
        return ctl_fail(err);
    log_init("crmctl", LOG_WARN, stderr);
    uis_env.pg_dsn = cfg.pg_dsn;
    uis_env.data_url = cfg.uis_data_url;
    uis_env.call_url = cfg.uis_call_url;
    uis_env.timeout_ms = cfg.uis_timeout_ms;
    cmd = argv[1];
    sub = argc > 2 ? argv[2] : "";
    if (strcmp(cmd, "migrate") == 0)
        return ctl_migrate(&cfg, argc, argv);
    if (strcmp(cmd, "popup-token") == 0)
        return ctl_popup_token(&cfg, argc, argv);
    if (strcmp(cmd, "dlq") == 0 && strcmp(sub, "replay") == 0)
        return ctl_dlq_replay(&cfg, argc, argv);
    if (strcmp(cmd, "tenant") == 0) {
        if (strcmp(sub, "install") == 0)
            return ctl_tenant_install(&cfg, argc, argv);
        if (strcmp(sub, "token") == 0)
            return ctl_tenant_token(&cfg, argc, argv);
        if (strcmp(sub, "show") == 0)
            return ctl_tenant_show(&cfg, argc, argv);
        if (strcmp(sub, "set") == 0)
            return ctl_tenant_set(&cfg, argc, argv);
        if (strcmp(sub, "uis-key") == 0)
            return uisctl_key(&uis_env, argc, argv);
        return ctl_usage_error_q("unknown tenant command '", sub, "'");
    }
    if (strcmp(cmd, "uis") == 0)
        return uisctl_main(&uis_env, argc, argv);
    if (strcmp(cmd, "user") == 0 && strcmp(sub, "add") == 0)
        return ctl_user_add(&cfg, argc, argv);
    if (strcmp(cmd, "user") == 0 && (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0 ||
                                     strcmp(sub, "revoke-tokens") == 0))
        return ctl_user_tokens(&cfg, argc, argv);
    if (strcmp(cmd, "employees") == 0 && strcmp(sub, "set") == 0)
        return ctl_employees_set(&cfg, argc, argv);
    if (strcmp(cmd, "extension") == 0 && (strcmp(sub, "set") == 0 || strcmp(sub, "rm") == 0))
        return ctl_extension(&cfg, argc, argv);
    if (strcmp(cmd, "counterparty") == 0 && strcmp(sub, "add") == 0)
        return ctl_counterparty_add(&cfg, argc, argv);
    if (strcmp(cmd, "deal") == 0 && strcmp(sub, "add") == 0)
        return ctl_deal_add(&cfg, argc, argv);
    if (strcmp(cmd, "call") == 0)
        return ctl_call_run(cfg.pg_dsn, cfg.kafka_brokers, argc, argv);
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (strcmp(cmd, lists[i].name) == 0 && strcmp(sub, "list") == 0)
            return ctl_list_wants_json(argc, argv) ? ctl_list(&cfg, lists[i].what, argc, argv)
                                                   : ctl_list_run(cfg.pg_dsn, cmd, argc, argv);
    }
    return ctl_usage_error_q("unknown command '", cmd, "'");
}
