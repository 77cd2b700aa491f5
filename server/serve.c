#include "serve.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_sink.h"
#include "db.h"
#include "expiry.h"
#include "http.h"
#include "identity.h"
#include "inventory.h"
#include "jwt.h"
#include "log.h"
#include "principal_cache.h"
#include "quota.h"
#include "quota/runtime.h"
#include "secret.h"
#include "task.h"
#include "throttle.h"
#include "tls.h"
#include "webhook.h"

static int
ensure_dir(const char *path, err *e)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return err_set(e, ERR_UNAVAILABLE, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static int
load_key(const char *path, unsigned char *out, size_t cap, size_t *len, err *e)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (ensure_dir(dir, e) < 0)
            return -1;
    }
    if (auth_secret_file_load_or_create(path, cap, out, len, e) < 0) {
        char detail[sizeof(e->detail)];
        snprintf(detail, sizeof(detail), "%s", e->detail);
        return err_set(e, e->kind, "%s: %s", path, detail);
    }
    return 0;
}

static int
open_jwt(struct vp_app *app, err *e)
{
    unsigned char key[64];
    size_t len = 0;
    if (load_key(app->cfg.jwt_secret_file, key, sizeof(key), &len, e) < 0)
        return -1;
    struct auth_jwt_config jc = {.key = key,
                                 .keylen = len,
                                 .issuer = app->cfg.issuer,
                                 .audience = "virtportal-api",
                                 .access_ttl_s = app->cfg.access_ttl_s,
                                 .skew_s = 30,
                                 .cache_entries = 4096};
    app->jwt = auth_jwt_init(&jc, e);
    explicit_bzero(key, sizeof(key));
    return app->jwt ? 0 : -1;
}

static int
open_db(struct vp_app *app, err *e)
{
    unsigned char key[64];
    size_t len = 0;
    if (load_key(app->cfg.audit_key_file, key, sizeof(key), &len, e) < 0)
        return -1;
    static const enum db_sync syncs[] = {DB_SYNC_FULL, DB_SYNC_NORMAL, DB_SYNC_OFF};
    struct db_options o = {.path = app->cfg.db_path,
                           .audit_key = key,
                           .audit_key_len = len,
                           .commit_mode = app->cfg.commit_mode == CFG_COMMIT_SINGLE
                                              ? DB_COMMIT_SINGLE
                                              : DB_COMMIT_GROUP,
                           .sync = syncs[app->cfg.synchronous]};
    app->db = db_open(&o, e);
    explicit_bzero(key, sizeof(key));
    return app->db ? 0 : -1;
}

int
serve_open_state(struct vp_app *app, err *e)
{
    if (!app->throttle)
        app->throttle = auth_throttle_new(4096, 5, 60, e);
    if (!app->principals && !(app->principals = principal_cache_new(4096)))
        return err_set(e, ERR_INTERNAL, "out of memory");
    /* built-in roles are synced at every start: a new binary may add permissions */
    if (!app->throttle || ensure_dir(app->cfg.data_dir, e) < 0 || open_jwt(app, e) < 0 ||
        open_db(app, e) < 0 || db_role_sync_builtin(app->db, e) < 0) {
        serve_close_state(app);
        return -1;
    }
    return 0;
}

void
serve_close_state(struct vp_app *app)
{
    db_close(app->db);
    app->db = NULL;
    auth_jwt_free(app->jwt);
    app->jwt = NULL;
    auth_throttle_free(app->throttle);
    app->throttle = NULL;
    principal_cache_free(app->principals);
    app->principals = NULL;
}

static void
task_log(void *ctx, const char *msg)
{
    log_msg(LOG_WARN, "tasks: %s", msg);
}

/* Reconciles tasks a previous process left behind, then starts the workers. */
static int
start_tasks(struct vp_app *app, err *e)
{
    /* each event stream pins a civetweb worker: leave most of them to requests */
    int streams = app->cfg.threads / 4 > 0 ? app->cfg.threads / 4 : 1;
    struct task_runner_opts o = {.log = task_log, .max_subscribers = streams};
    app->tasks = task_runner_start(app->db, &o, e);
    return app->tasks ? 0 : -1;
}

static void
stop_tasks(struct vp_app *app)
{
    task_runner_stop(app->tasks);
    app->tasks = NULL;
}

/* Host connections and the inventory cache (inventory.h): before the tasks,
 * which act on hosts through it, and stopped after them. */
static int
start_inventory(struct vp_app *app, err *e)
{
    struct inventory_opts o = {.reconcile_s = app->cfg.inventory_reconcile_s,
                               .stats_timeout_ms = app->cfg.inventory_stats_timeout_ms,
                               .write_timeout_ms = app->cfg.inventory_write_timeout_ms};
    app->inventory = inventory_start(app->db, &o, e);
    return app->inventory ? 0 : -1;
}

static void
stop_inventory(struct vp_app *app)
{
    inventory_stop(app->inventory);
    app->inventory = NULL;
}

/* Runtime quota enforcement (quota/runtime.h): after the inventory, whose
 * connections it uses, and stopped before it. Reservations a crash left
 * between reserve and commit are released first (older than 15 min). */
static int
start_quota_runtime(struct vp_app *app, err *e)
{
    int64_t released = 0;
    err re = {0};
    if (db_quota_reconcile_older(app->db, app_now(app), 15 * 60, &released, &re) < 0)
        log_msg(LOG_WARN, "quota: stale reservations not released: %s", re.detail);
    else if (released)
        log_msg(LOG_INFO, "quota: %lld stale reservation(s) released", (long long)released);
    app->quota = quota_runtime_start(app, e);
    return app->quota ? 0 : -1;
}

static void
stop_quota_runtime(struct vp_app *app)
{
    quota_runtime_stop(app->quota);
    app->quota = NULL;
}

/* Checkpoints, retention and forwarding of the audit trail (audit_sink.h). */
static int
start_audit(struct vp_app *app, err *e)
{
    app->audit.sink = audit_sink_start(app, e);
    return app->audit.sink ? 0 : -1;
}

static void
stop_audit(struct vp_app *app)
{
    audit_sink_stop(app->audit.sink); /* its last checkpoint needs the database */
    app->audit.sink = NULL;
}

/* Quota requests (issue 7): reverts ended grants (one pass now, then
 * periodically) and delivers the webhook outbox. */
static int
start_requests(struct vp_app *app, err *e)
{
    app->expiry = expiry_start(app, e);
    app->webhooks = app->expiry ? webhook_start(app, e) : NULL;
    return app->webhooks ? 0 : -1;
}

static void
stop_requests(struct vp_app *app)
{
    webhook_stop(app->webhooks);
    app->webhooks = NULL;
    expiry_stop(app->expiry);
    app->expiry = NULL;
}

static int
ensure_certificate(struct vp_app *app, err *e)
{
    if (access(app->cfg.tls_cert, R_OK) == 0 && access(app->cfg.tls_key, R_OK) == 0)
        return 0;
    log_msg(LOG_INFO, "generating a self-signed TLS certificate");
    return tls_make_self_signed(app->cfg.tls_cert, app->cfg.tls_key, e);
}

static void
write_port_file(const char *path, int port)
{
    if (!path[0])
        return;
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%d\n", port);
    if (fclose(f) == 0)
        rename(tmp, path);
}

/* Blocks until SIGTERM/SIGINT; SIGHUP reloads the certificate. */
static void
wait_for_signals(struct http_server *http, const sigset_t *set)
{
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            err e = {0};
            if (http_reload_tls(http, &e) < 0)
                log_msg(LOG_ERROR, "TLS reload failed: %s", e.detail);
            else
                log_msg(LOG_INFO, "TLS certificate reloaded");
            continue;
        }
        log_msg(LOG_INFO, "signal %d: shutting down, finishing in-flight requests", sig);
        return;
    }
}

int
serve_run(struct vp_app *app, serve_hook before_listen, void *arg,
          void (*on_listening)(struct vp_app *app, int port, void *arg))
{
    err e = {0};
    /* every thread started from here on inherits the blocked set: only
     * sigwait() in this thread sees them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct http_server *http = NULL;
    atomic_store(&app->clock_offset_s, app->cfg.clock_offset_s); /* tests only; 0 otherwise */
    if (serve_open_state(app, &e) < 0 || start_inventory(app, &e) < 0 ||
        start_quota_runtime(app, &e) < 0 || start_tasks(app, &e) < 0 || start_audit(app, &e) < 0 ||
        start_requests(app, &e) < 0 || ensure_certificate(app, &e) < 0 ||
        (before_listen && before_listen(app, arg, &e) < 0) || !(http = http_start(app, &e))) {
        log_msg(LOG_ERROR, "cannot start: %s", e.detail);
        fprintf(stderr, "virtportal: %s\n", e.detail);
        stop_requests(app);
        stop_tasks(app);
        stop_quota_runtime(app);
        stop_inventory(app);
        stop_audit(app);
        serve_close_state(app);
        return 1;
    }
    int port = http_port(http);
    write_port_file(app->cfg.port_file, port);
    atomic_store(&app->ready, true);
    log_event(LOG_INFO, "listening",
              json_pack("{s:s,s:i}", "address", app->cfg.listen_addr, "port", port));
    if (on_listening)
        on_listening(app, port, arg);
    wait_for_signals(http, &set);
    atomic_store(&app->ready, false);
    task_runner_close_streams(app->tasks); /* http_stop waits for streaming requests */
    http_stop(http);
    stop_requests(app);
    stop_tasks(app);
    stop_quota_runtime(app);
    stop_inventory(app);
    stop_audit(app);
    serve_close_state(app);
    log_msg(LOG_INFO, "stopped");
    return 0;
}
