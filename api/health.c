/* Health, version, OpenAPI document and metrics: the public surface. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "db.h"
#include "embedded.h"
#include "health.h"

extern const struct embedded_file api_docs[];

int
api_health_live(struct api_req *r, struct api_resp *w, err *e)
{
    json_t *j = json_pack("{s:s}", "status", "ok");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

/* Audit forwarding (server/audit_sink.c) failing leaves the portal ready, but
 * says so: the events are stored and retried, the copy elsewhere lags. */
static const char *
audit_forwarding(const struct vp_app *app)
{
    static const char *const names[] = {"disabled", "ok", "degraded"};
    int f = atomic_load(&app->audit.forwarding);
    return f >= 0 && f <= VP_AUDIT_FWD_DEGRADED ? names[f] : "degraded";
}

int
api_health_ready(struct api_req *r, struct api_resp *w, err *e)
{
    err dbe = {0};
    int ready = atomic_load(&r->app->ready);
    int db_ok = db_reader(r->app->db, &dbe) != NULL;
    const char *fwd = audit_forwarding(r->app);
    const char *status = !(ready && db_ok)          ? "not-ready"
                         : !strcmp(fwd, "degraded") ? "degraded"
                                                    : "ready";
    json_t *j = json_pack("{s:s,s:{s:b,s:b,s:s}}", "status", status, "checks", "serving", ready,
                          "database", db_ok, "audit_forwarding", fwd);
    api_reply_json(r, w, ready && db_ok ? 200 : 503, j);
    json_decref(j);
    return 0;
}

int
api_health_version(struct api_req *r, struct api_resp *w, err *e)
{
    json_t *j =
        json_pack("{s:s,s:s,s:s}", "name", "virtportal", "version", VP_VERSION, "api", "v1");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

int
api_health_openapi(struct api_req *r, struct api_resp *w, err *e)
{
    const struct embedded_file *f = embedded_find(api_docs, "openapi.json");
    if (!f)
        return err_set(e, ERR_NOT_FOUND, "No OpenAPI document is embedded.");
    w->status = 200;
    w->content_type = "application/json";
    w->body = (const char *)f->data;
    w->body_len = f->len;
    api_add_header(w, "Cache-Control", "no-cache");
    return 0;
}

int
api_health_metrics(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_stats st = {0};
    db_stats(r->app->db, &st);
    w->body = arena_printf(
        r->a,
        "# TYPE virtportal_http_requests_total counter\n"
        "virtportal_http_requests_total %lu\n"
        "# TYPE virtportal_http_responses_5xx_total counter\n"
        "virtportal_http_responses_5xx_total %lu\n"
        "# TYPE virtportal_db_commits_total counter\n"
        "virtportal_db_commits_total %llu\n"
        "# TYPE virtportal_db_mutations_total counter\n"
        "virtportal_db_mutations_total %llu\n"
        "# TYPE virtportal_ready gauge\n"
        "virtportal_ready %d\n"
        "# TYPE virtportal_audit_forwarded_total counter\n"
        "virtportal_audit_forwarded_total %lu\n"
        "# TYPE virtportal_audit_forward_failed_total counter\n"
        "virtportal_audit_forward_failed_total %lu\n"
        "# TYPE virtportal_audit_forward_dropped_total counter\n"
        "virtportal_audit_forward_dropped_total %lu\n"
        "# TYPE virtportal_audit_forward_backlog gauge\n"
        "virtportal_audit_forward_backlog %lu\n"
        "# TYPE virtportal_audit_forwarding_degraded gauge\n"
        "virtportal_audit_forwarding_degraded %d\n"
        "# TYPE virtportal_audit_checkpoints_total counter\n"
        "virtportal_audit_checkpoints_total %lu\n"
        "# TYPE virtportal_audit_checkpoint_failures_total counter\n"
        "virtportal_audit_checkpoint_failures_total %lu\n"
        "# TYPE virtportal_audit_pruned_rows_total counter\n"
        "virtportal_audit_pruned_rows_total %lu\n",
        atomic_load(&r->app->requests_total), atomic_load(&r->app->responses_5xx),
        (unsigned long long)st.commits, (unsigned long long)st.jobs,
        atomic_load(&r->app->ready) ? 1 : 0, atomic_load(&r->app->audit.forwarded),
        atomic_load(&r->app->audit.forward_failed), atomic_load(&r->app->audit.forward_dropped),
        atomic_load(&r->app->audit.forward_backlog),
        atomic_load(&r->app->audit.forwarding) == VP_AUDIT_FWD_DEGRADED,
        atomic_load(&r->app->audit.checkpoints), atomic_load(&r->app->audit.checkpoint_failures),
        atomic_load(&r->app->audit.pruned_rows));
    if (!w->body)
        return err_set(e, ERR_INTERNAL, "out of memory");
    w->status = 200;
    w->content_type = "text/plain; version=0.0.4; charset=utf-8";
    w->body_len = strlen(w->body);
    return 0;
}
