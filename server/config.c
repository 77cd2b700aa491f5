#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_STR, CFG_INT, CFG_ENUM };

struct cfg_key {
    const char *section, *key;
    enum cfg_type type;
    size_t offset, size;      /* size: buffer size for CFG_STR */
    long min, max;            /* CFG_INT range */
    const char *const *names; /* CFG_ENUM: NULL-terminated, index = value */
};

static const char *const commit_names[] = {"group", "single", NULL};
static const char *const sync_names[] = {"full", "normal", "off", NULL};
static const char *const quota_enforce_names[] = {"auto", "off", NULL};

#define STR(sec, k, field)                                                                         \
    {                                                                                              \
        sec, k, CFG_STR, offsetof(struct vp_config, field),                                        \
            sizeof(((struct vp_config *)0)->field), 0, 0, NULL                                     \
    }
#define INT(sec, k, field, lo, hi)                                                                 \
    {                                                                                              \
        sec, k, CFG_INT, offsetof(struct vp_config, field),                                        \
            sizeof(((struct vp_config *)0)->field), lo, hi, NULL                                   \
    }
#define ENUM(sec, k, field, names)                                                                 \
    {                                                                                              \
        sec, k, CFG_ENUM, offsetof(struct vp_config, field), sizeof(int), 0, 0, names              \
    }

/* The only list of configuration keys. */
static const struct cfg_key cfg_keys[] = {
    STR("server", "listen", listen_addr),
    INT("server", "port", port, 0, 65535),
    STR("server", "data_dir", data_dir),
    STR("server", "tls_cert", tls_cert),
    STR("server", "tls_key", tls_key),
    INT("server", "threads", threads, 4, 1024),
    INT("server", "request_timeout_ms", request_timeout_ms, 500, 120000),
    INT("server", "max_body_bytes", max_body_bytes, 1024, 1L << 30),
    INT("server", "max_conns_per_client", max_conns_per_client, 1, 4096),
    STR("server", "cors_origin", cors_origin),
    STR("server", "access_log", access_log),
    STR("server", "port_file", port_file),
    /* Test-only routes (POST /api/v1/tasks/test-sleep) answer only with 1.
     * For the integration tests; must never be set in production. */
    INT("server", "test_hooks", test_hooks, 0, 1),
    /* Test-only: seconds added to the portal's clock (retention tests move
     * time instead of sleeping). Must stay 0 in production. */
    INT("server", "clock_offset_s", clock_offset_s, -315360000L, 315360000L),
    STR("db", "path", db_path),
    ENUM("db", "commit_mode", commit_mode, commit_names),
    ENUM("db", "synchronous", synchronous, sync_names),
    STR("auth", "jwt_secret_file", jwt_secret_file),
    STR("auth", "audit_key_file", audit_key_file),
    INT("auth", "access_ttl_s", access_ttl_s, 60, 86400),
    INT("auth", "refresh_ttl_s", refresh_ttl_s, 300, 90 * 86400),
    STR("auth", "issuer", issuer),
    INT("audit", "checkpoint_every", audit_checkpoint_every, 1, 100000000),
    INT("audit", "checkpoint_minutes", audit_checkpoint_minutes, 1, 1440),
    STR("audit", "checkpoint_file", audit_checkpoint_file),
    INT("audit", "retention_days", audit_retention_days, 0, 36500),
    STR("audit", "syslog", audit_syslog),
    INT("audit", "syslog_queue", audit_syslog_queue, 100, 10000000),
    INT("inventory", "reconcile_s", inventory_reconcile_s, 1, 86400),
    INT("inventory", "stats_timeout_ms", inventory_stats_timeout_ms, 100, 60000),
    INT("inventory", "write_timeout_ms", inventory_write_timeout_ms, 1000, 300000),
    /* [requests]: quota requests (issue 7; api/quota_requests.c, server/expiry.c) */
    INT("requests", "expiry_interval_s", requests_expiry_interval_s, 1, 86400),
    INT("requests", "auto_max_vms", requests_auto_max_vms, 0, 1000000),
    INT("requests", "auto_max_vcpus", requests_auto_max_vcpus, 0, 1000000),
    INT("requests", "auto_cpu_overcommit_pct", requests_auto_cpu_overcommit_pct, 1, 10000),
    INT("requests", "auto_max_memory_pct", requests_auto_max_memory_pct, 0, 1000),
    /* [webhooks]: outgoing webhooks (server/webhook.c). allow_private=1 lets
     * targets on loopback, private and link-local addresses through (tests,
     * labs); off by default so a webhook cannot probe the portal's network. */
    INT("webhooks", "allow_private", webhooks_allow_private, 0, 1),
    INT("webhooks", "poll_ms", webhooks_poll_ms, 50, 60000),
    INT("webhooks", "retry_base_ms", webhooks_retry_base_ms, 10, 3600000),
    INT("webhooks", "max_attempts", webhooks_max_attempts, 1, 20),
    INT("webhooks", "timeout_ms", webhooks_timeout_ms, 100, 60000),
    /* [quota]: runtime enforcement of tenant quotas (server/quota/runtime.c).
     * enforce=off records every host as mode "none" and writes no limits. */
    STR("quota", "cgroup_root", quota_cgroup_root),
    STR("quota", "cgroup_partition", quota_cgroup_partition),
    INT("quota", "sample_interval_s", quota_sample_interval_s, 1, 3600),
    ENUM("quota", "enforce", quota_enforce, quota_enforce_names),
};

void
config_defaults(struct vp_config *c)
{
    memset(c, 0, sizeof(*c));
    c->requests_expiry_interval_s = 60;
    c->requests_auto_cpu_overcommit_pct = 100;
    c->webhooks_poll_ms = 1000;
    c->webhooks_retry_base_ms = 5000;
    c->webhooks_max_attempts = 8;
    c->webhooks_timeout_ms = 5000;
    snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
    c->port = 8443;
    snprintf(c->data_dir, sizeof(c->data_dir), "/var/lib/virtportal");
    /* One worker per keep-alive connection (civetweb never rotates them), so
     * threads bound the concurrent clients on purpose; see PITFALLS. */
    c->threads = 128;
    c->request_timeout_ms = 5000;
    c->max_body_bytes = 1L << 20;
    c->max_conns_per_client = 96;
    snprintf(c->access_log, sizeof(c->access_log), "stderr");
    c->commit_mode = CFG_COMMIT_GROUP;
    c->synchronous = CFG_SYNC_FULL;
    c->access_ttl_s = 900;
    c->refresh_ttl_s = 7 * 86400;
    snprintf(c->issuer, sizeof(c->issuer), "virtportal");
    c->audit_checkpoint_every = 1000;
    c->audit_checkpoint_minutes = 5;
    c->audit_retention_days = 180;
    c->audit_syslog_queue = 10000;
    c->inventory_reconcile_s = 30;
    c->inventory_stats_timeout_ms = 2000;
    c->inventory_write_timeout_ms = 15000;
    snprintf(c->quota_cgroup_root, sizeof(c->quota_cgroup_root), "/sys/fs/cgroup");
    snprintf(c->quota_cgroup_partition, sizeof(c->quota_cgroup_partition),
             "machine.slice/virtportal-%%s.slice");
    c->quota_sample_interval_s = 10;
    c->quota_enforce = CFG_QUOTA_AUTO;
}

static const struct cfg_key *
cfg_find(const char *section, const char *key)
{
    for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
        if (!strcmp(cfg_keys[i].section, section) && !strcmp(cfg_keys[i].key, key))
            return &cfg_keys[i];
    return NULL;
}

static int
cfg_parse_int(const struct cfg_key *k, const char *value, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < k->min || v > k->max)
        return -1;
    *out = v;
    return 0;
}

static int
cfg_assign(struct vp_config *c, const struct cfg_key *k, const char *value, const char *source,
           err *e)
{
    char *field = (char *)c + k->offset;
    if (k->type == CFG_STR) {
        if (strlen(value) >= k->size)
            return err_set(e, ERR_INVALID, "%s: %s.%s: longer than %zu characters", source,
                           k->section, k->key, k->size - 1);
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    if (k->type == CFG_INT) {
        long v;
        if (cfg_parse_int(k, value, &v) < 0)
            return err_set(e, ERR_INVALID,
                           "%s: %s.%s: expected an integer from %ld to %ld, got '%.40s'", source,
                           k->section, k->key, k->min, k->max, value);
        if (k->size == sizeof(long))
            *(long *)field = v;
        else
            *(int *)field = (int)v;
        return 0;
    }
    for (int i = 0; k->names[i]; i++) {
        if (!strcmp(k->names[i], value)) {
            *(int *)field = i;
            return 0;
        }
    }
    return err_set(e, ERR_INVALID, "%s: %s.%s: unknown value '%.40s'", source, k->section, k->key,
                   value);
}

int
config_set(struct vp_config *c, const char *assignment, const char *source, err *e)
{
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq)
        return err_set(e, ERR_INVALID, "%s: expected section.key=value, got '%.60s'", source,
                       assignment);
    char section[32], key[64];
    size_t slen = (size_t)(dot - assignment), klen = (size_t)(eq - dot - 1);
    if (slen >= sizeof(section) || klen >= sizeof(key))
        return err_set(e, ERR_INVALID, "%s: unknown key '%.60s'", source, assignment);
    memcpy(section, assignment, slen);
    section[slen] = '\0';
    memcpy(key, dot + 1, klen);
    key[klen] = '\0';
    const struct cfg_key *k = cfg_find(section, key);
    if (!k)
        return err_set(e, ERR_INVALID, "%s: unknown key '%s.%s'", source, section, key);
    return cfg_assign(c, k, eq + 1, source, e);
}

struct ini_state {
    struct vp_config *c;
    const char *path;
    err *e;
    int failed;
};

static int
ini_on_value(void *user, const char *section, const char *name, const char *value)
{
    struct ini_state *st = user;
    if (st->failed)
        return 0;
    const struct cfg_key *k = cfg_find(section, name);
    if (!k) {
        err_set(st->e, ERR_INVALID, "%s: unknown key '%s.%s'", st->path, section, name);
        st->failed = 1;
        return 0;
    }
    if (cfg_assign(st->c, k, value, st->path, st->e) < 0) {
        st->failed = 1;
        return 0;
    }
    return 1;
}

int
config_load_file(struct vp_config *c, const char *path, err *e)
{
    struct ini_state st = {c, path, e, 0};
    int rc = ini_parse(path, ini_on_value, &st);
    if (st.failed)
        return -1;
    if (rc == -1)
        return err_set(e, ERR_INVALID, "%s: cannot open the configuration file", path);
    if (rc != 0)
        return err_set(e, ERR_INVALID, "%s: line %d: syntax error", path, rc);
    return 0;
}

/* VIRTPORTAL_SERVER_PORT=8443 -> server.port */
static const struct cfg_key *
cfg_from_env_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
        char want[128];
        int n =
            snprintf(want, sizeof(want), "VIRTPORTAL_%s_%s", cfg_keys[i].section, cfg_keys[i].key);
        if (n < 0 || (size_t)n != len)
            continue;
        for (char *p = want; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        if (!memcmp(want, name, len))
            return &cfg_keys[i];
    }
    return NULL;
}

int
config_load_env(struct vp_config *c, char *const *envp, err *e)
{
    for (; envp && *envp; envp++) {
        const char *kv = *envp, *eq = strchr(kv, '=');
        if (!eq || strncmp(kv, "VIRTPORTAL_", 11))
            continue;
        const struct cfg_key *k = cfg_from_env_name(kv, (size_t)(eq - kv));
        if (!k)
            return err_set(e, ERR_INVALID, "environment: unknown variable %.*s", (int)(eq - kv),
                           kv);
        char source[160];
        snprintf(source, sizeof(source), "environment %.*s", (int)(eq - kv), kv);
        if (cfg_assign(c, k, eq + 1, source, e) < 0)
            return -1;
    }
    return 0;
}

static int
derive_path(char *field, size_t size, const char *dir, const char *rel, err *e)
{
    if (field[0])
        return 0;
    int n = snprintf(field, size, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= size)
        return err_set(e, ERR_INVALID, "server.data_dir: path too long");
    return 0;
}

/* [quota]: an absolute root; a relative partition template with exactly one
 * "%s" and no ".." (quota_cgroup_path checks the result again). */
static int
check_quota(const struct vp_config *c, err *e)
{
    const char *p = c->quota_cgroup_partition, *at = strstr(p, "%s");
    if (c->quota_cgroup_root[0] != '/')
        return err_set(e, ERR_INVALID, "quota.cgroup_root: must be an absolute path");
    if (!at || strchr(p, '%') != at || strchr(at + 2, '%') || p[0] == '/' || strstr(p, ".."))
        return err_set(e, ERR_INVALID,
                       "quota.cgroup_partition: must be a relative path with one %%s "
                       "(the tenant slug) and no '..'");
    return 0;
}

int
config_finish(struct vp_config *c, err *e)
{
    if (!c->data_dir[0])
        return err_set(e, ERR_INVALID, "server.data_dir: must not be empty");
    if (derive_path(c->tls_cert, sizeof(c->tls_cert), c->data_dir, "tls/cert.pem", e) < 0 ||
        derive_path(c->tls_key, sizeof(c->tls_key), c->data_dir, "tls/key.pem", e) < 0 ||
        derive_path(c->db_path, sizeof(c->db_path), c->data_dir, "virtportal.db", e) < 0 ||
        derive_path(c->jwt_secret_file, sizeof(c->jwt_secret_file), c->data_dir, "secrets/jwt.key",
                    e) < 0 ||
        derive_path(c->audit_key_file, sizeof(c->audit_key_file), c->data_dir, "secrets/audit.key",
                    e) < 0 ||
        derive_path(c->audit_checkpoint_file, sizeof(c->audit_checkpoint_file), c->data_dir,
                    "audit-checkpoints.log", e) < 0)
        return -1;
    if (strchr(c->listen_addr, ' ') || !c->listen_addr[0])
        return err_set(e, ERR_INVALID, "server.listen: expected an IP address");
    return check_quota(c, e);
}

void
config_print(const struct vp_config *c, void (*out)(const char *line, void *arg), void *arg)
{
    for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
        const struct cfg_key *k = &cfg_keys[i];
        const char *field = (const char *)c + k->offset;
        char line[700];
        if (k->type == CFG_STR)
            snprintf(line, sizeof(line), "%s.%s = %s", k->section, k->key, field);
        else if (k->type == CFG_INT)
            snprintf(line, sizeof(line), "%s.%s = %ld", k->section, k->key,
                     k->size == sizeof(long) ? *(const long *)field : (long)*(const int *)field);
        else
            snprintf(line, sizeof(line), "%s.%s = %s", k->section, k->key,
                     k->names[*(const int *)field]);
        out(line, arg);
    }
}
