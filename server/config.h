/* config: the portal's settings, from defaults < INI file < environment < flags.
 *
 * Every key is declared once in the table in config.c (section, key, type,
 * range); the environment name is VIRTPORTAL_<SECTION>_<KEY> upper-cased, and a
 * flag is `--set section.key=value` (plus a few shortcuts: --listen, --data-dir,
 * --port). A bad value is an error that names the key and the source. */
#ifndef VP_CONFIG_H
#define VP_CONFIG_H

#include <stddef.h>

#include "err.h"

enum cfg_commit_mode { CFG_COMMIT_GROUP, CFG_COMMIT_SINGLE };
enum cfg_sync { CFG_SYNC_FULL, CFG_SYNC_NORMAL, CFG_SYNC_OFF };
enum cfg_quota_enforce { CFG_QUOTA_AUTO, CFG_QUOTA_OFF };

struct vp_config {
    /* [server] */
    char listen_addr[64]; /* "127.0.0.1" */
    int port;             /* 0 = any free port */
    char data_dir[512];
    char tls_cert[512]; /* "" = <data_dir>/tls/cert.pem (generated when missing) */
    char tls_key[512];
    int threads;
    int request_timeout_ms;
    long max_body_bytes;
    int max_conns_per_client;
    char cors_origin[256]; /* "" = no CORS */
    char access_log[512];  /* "stderr", "off" or a file path */
    char port_file[512];   /* write the bound port here once listening */
    int test_hooks;        /* 1: test-only routes answer (tests only, NEVER in production) */
    long clock_offset_s;   /* added to the portal's clock at start (tests only: retention) */
    /* [db] */
    char db_path[512]; /* "" = <data_dir>/virtportal.db */
    int commit_mode;   /* enum cfg_commit_mode */
    int synchronous;   /* enum cfg_sync */
    /* [auth] */
    char jwt_secret_file[512]; /* "" = <data_dir>/secrets/jwt.key */
    char audit_key_file[512];  /* "" = <data_dir>/secrets/audit.key */
    int access_ttl_s;
    int refresh_ttl_s;
    char issuer[64];
    /* [audit] (server/audit_sink.c) */
    int audit_checkpoint_every;      /* sign the chain head every N events... */
    int audit_checkpoint_minutes;    /* ...or every M minutes (when it moved) */
    char audit_checkpoint_file[512]; /* "" = <data_dir>/audit-checkpoints.log */
    int audit_retention_days;        /* 0 = keep forever */
    char audit_syslog[300];          /* "", "unix:/dev/log" or "udp:HOST:PORT" */
    int audit_syslog_queue;          /* events the forwarder may lag behind */
    /* [inventory] (server/inventory.c) */
    int inventory_reconcile_s;      /* complete reconcile of every host every N seconds */
    int inventory_stats_timeout_ms; /* live VM stats: how long a request waits for a host */
    int inventory_write_timeout_ms; /* VM metadata writes: how long a request waits */
    /* [requests] (issue 7: api/quota_requests.c, server/expiry.c) */
    int requests_expiry_interval_s;       /* ended grants are reverted this often (and at start) */
    int requests_auto_max_vms;            /* auto-approval: up to +N VMs (0 = never) */
    int requests_auto_max_vcpus;          /* ... up to +N vCPUs while the cluster has room */
    int requests_auto_cpu_overcommit_pct; /* CPU room: host cores * pct / 100 vCPUs */
    int requests_auto_max_memory_pct;     /* ... up to +X% of the memory limit while it fits */
    /* [webhooks] (server/webhook.c) */
    int webhooks_allow_private; /* 1: loopback/private targets allowed (tests, labs) */
    int webhooks_poll_ms;       /* how often the outbox is looked at */
    int webhooks_retry_base_ms; /* first retry delay; doubles per attempt (capped at 1 h) */
    int webhooks_max_attempts;  /* then the delivery is "failed" */
    int webhooks_timeout_ms;    /* per attempt */
    /* [quota] (issue 6: server/quota/runtime.c) */
    char quota_cgroup_root[256];      /* cgroup v2 mount of the portal's own host */
    char quota_cgroup_partition[256]; /* relative, one "%s" for the tenant slug */
    int quota_sample_interval_s;      /* usage sampling (and re-apply) period */
    int quota_enforce;                /* enum cfg_quota_enforce: auto | off */
};

/* Fills `c` with defaults. */
void config_defaults(struct vp_config *c);

/* Reads an INI file into `c`. Unknown sections/keys and bad values are errors. */
int config_load_file(struct vp_config *c, const char *path, err *e);

/* Applies VIRTPORTAL_* variables from `envp` (NULL-terminated, borrowed). */
int config_load_env(struct vp_config *c, char *const *envp, err *e);

/* Applies one "section.key=value" assignment; `source` names it in errors. */
int config_set(struct vp_config *c, const char *assignment, const char *source, err *e);

/* Fills derived paths (cert, db, secrets under data_dir) and checks consistency. */
int config_finish(struct vp_config *c, err *e);

/* Writes "section.key = value" lines for every key (for `virtportal config`). */
void config_print(const struct vp_config *c, void (*out)(const char *line, void *arg), void *arg);

#endif
