/* app: the one server context (STYLE rule 14), built before the server starts
 * and shared read-only by every thread, except the fields that say otherwise. */
#ifndef VP_APP_H
#define VP_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct db;
struct auth_jwt;
struct auth_throttle;
struct principal_cache;
struct task_runner;
struct inventory;

/* The audit trail's background work (server/audit_sink.c): it writes these
 * counters, /readyz and /metrics read them. */
struct audit_sink;
enum vp_audit_forwarding { VP_AUDIT_FWD_OFF, VP_AUDIT_FWD_OK, VP_AUDIT_FWD_DEGRADED };
struct vp_audit_status {
    struct audit_sink *sink;      /* owned by serve.c (start/stop) */
    atomic_int forwarding;        /* enum vp_audit_forwarding */
    atomic_ulong forwarded;       /* events sent to syslog */
    atomic_ulong forward_failed;  /* send attempts that failed (the event is retried) */
    atomic_ulong forward_dropped; /* events skipped: the forwarder fell too far behind */
    atomic_ulong forward_backlog; /* events stored but not yet forwarded (gauge) */
    atomic_ulong checkpoints;     /* chain heads signed and written outside the database */
    atomic_ulong checkpoint_failures;
    atomic_ulong pruned_rows; /* rows removed by retention */
};

struct expiry_job;     /* server/expiry.h */
struct webhook_worker; /* server/webhook.h */
struct quota_runtime;  /* server/quota/runtime.h */

struct vp_app {
    struct vp_config cfg; /* immutable after start */
    struct db *db;
    struct auth_jwt *jwt;               /* internally locked (verified-token cache) */
    struct auth_throttle *throttle;     /* internally locked */
    struct principal_cache *principals; /* internally locked */
    struct task_runner *tasks;          /* internally locked; NULL outside `serve` */
    struct inventory *inventory;        /* internally locked; NULL outside `serve` */
    atomic_bool ready;                  /* /readyz: false until started, false while draining */
    atomic_long clock_offset_s;         /* added to the wall clock; moved by tests only */
    struct vp_audit_status audit;       /* atomics, see above */
    /* quota requests (issue 7): background jobs owned by serve.c (start/stop) */
    struct expiry_job *expiry;       /* reverts ended grants */
    struct webhook_worker *webhooks; /* delivers the webhook outbox */
    /* Pushes a tenant's runtime budgets (cgroup v2 / libvirt tunables) after
     * its limits changed by a grant approved or expired, once committed. Set
     * before the server starts by the quota runtime; NULL = nothing to push
     * yet. Called from request threads and the expiry thread. */
    void (*quota_runtime_push)(struct vp_app *app, int64_t tenant_id);
    struct quota_runtime *quota; /* owned by serve.c (start/stop); NULL outside `serve` */
    /* metrics (atomics) */
    atomic_ulong requests_total;
    atomic_ulong responses_5xx;
};

/* Seconds since the epoch as the portal sees it (wall clock + test offset). */
static inline int64_t
app_now(const struct vp_app *app)
{
    return (int64_t)time(NULL) + atomic_load(&app->clock_offset_s);
}

#endif
