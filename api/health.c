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

int
api_health_ready(struct api_req *r, struct api_resp *w, err *e)
{
    err dbe = {0};
    int ready = atomic_load(&r->app->ready);
    int db_ok = db_reader(r->app->db, &dbe) != NULL;
    json_t *j = json_pack("{s:s,s:{s:b,s:b}}", "status", ready && db_ok ? "ready" : "not-ready",
                          "checks", "serving", ready, "database", db_ok);
    api_reply_json(r, w, ready && db_ok ? 200 : 503, j);
    json_decref(j);
    return 0;
}

int
api_health_version(struct api_req *r, struct api_resp *w, err *e)
{
    json_t *j = json_pack("{s:s,s:s,s:s}", "name", "virtportal", "version", VP_VERSION, "api",
                          "v1");
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
        "virtportal_ready %d\n",
        atomic_load(&r->app->requests_total), atomic_load(&r->app->responses_5xx),
        (unsigned long long)st.commits, (unsigned long long)st.jobs,
        atomic_load(&r->app->ready) ? 1 : 0);
    if (!w->body)
        return err_set(e, ERR_INTERNAL, "out of memory");
    w->status = 200;
    w->content_type = "text/plain; version=0.0.4; charset=utf-8";
    w->body_len = strlen(w->body);
    return 0;
}
