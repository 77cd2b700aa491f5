#include "dispatch.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "db.h"
#include "router.h"

/* Reads the whole body into the arena, never more than max bytes (413). */
static int
read_body(struct api_req *r, long max, err *e)
{
    if (r->content_length > max)
        return err_set(e, ERR_TOO_LARGE, "The body is larger than %ld bytes.", max);
    size_t cap = r->content_length >= 0 ? (size_t)r->content_length : 16384;
    char *buf = arena_alloc(r->a, cap + 1);
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            if (r->content_length >= 0 || cap >= (size_t)max + 1)
                break;
            size_t ncap = cap * 2 > (size_t)max + 1 ? (size_t)max + 1 : cap * 2;
            char *nbuf = arena_alloc(r->a, ncap + 1);
            if (!nbuf)
                return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
            memcpy(nbuf, buf, len);
            buf = nbuf, cap = ncap;
        }
        if (!buf)
            return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
        long n = r->read_body ? r->read_body(r->conn, buf + len, cap - len) : 0;
        if (n < 0)
            return err_set(e, ERR_INVALID, "The body could not be read.");
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > (size_t)max)
        return err_set(e, ERR_TOO_LARGE, "The body is larger than %ld bytes.", max);
    buf[len] = '\0';
    r->body = buf;
    r->body_len = len;
    return 0;
}

static int
is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strlen("application/json");
    return !strncasecmp(ct, "application/json", n) && (ct[n] == '\0' || ct[n] == ';');
}

static int
take_body(struct api_req *r, long max, err *e)
{
    unsigned flags = r->route->flags;
    if (!(flags & (API_F_JSON_BODY | API_F_RAW_BODY)))
        return 0;
    if ((flags & API_F_JSON_BODY) && !is_json_type(api_header(r, "Content-Type")))
        return err_set(e, ERR_UNSUPPORTED_MEDIA, "The body must be application/json.");
    if (read_body(r, max, e) < 0)
        return -1;
    if (!(flags & API_F_JSON_BODY))
        return 0;
    r->json = api_json_parse(r->body, r->body_len, e);
    if (!r->json)
        return -1;
    arena_defer(r->a, (void (*)(void *))json_decref, r->json);
    return 0;
}

static int
run_pipeline(struct api_req *r, struct api_resp *w, long max_body, char *allow, size_t allowlen,
             err *e)
{
    if (api_path_check(r->path, e) < 0)
        return -1;
    r->route = api_route_match(api_routes, api_nroutes, r->method, r->path, r->a, r->params, allow,
                               allowlen, e);
    if (!r->route)
        return -1;
    if (api_authenticate(r, e) < 0 || api_authorize(r, e) < 0)
        return -1;
    if (take_body(r, max_body, e) < 0)
        return -1;
    return r->route->fn(r, w, e);
}

/* A change an authenticated caller asked for and did not get (bad input, a
 * conflict, a missing object, storage down) leaves an audit row with outcome
 * "failed": the change itself was rolled back with its own audit row.
 * Refusals are already recorded where they are decided (auth.permission_denied,
 * quota denials), reads are not audited. */
static void
audit_failure(struct api_req *r, const err *e)
{
    if (!r->who.authenticated || !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") ||
        e->kind == ERR_FORBIDDEN || e->kind == ERR_UNAUTHENTICATED || e->kind == ERR_QUOTA ||
        e->kind == ERR_RATE_LIMITED)
        return;
    struct db_audit a;
    api_audit_init(r, &a, "api.request_failed", r->path, r->who.tenant_id);
    a.outcome = "failed";
    json_t *d = json_pack("{s:s,s:i,s:s}", "method", r->method, "status", api_status_of(e->kind),
                          "reason", e->kind == ERR_INTERNAL ? "internal error" : e->detail);
    a.details = d;
    db_audit_event(r->app->db, &a, NULL);
    json_decref(d);
}

void
api_dispatch(struct api_req *r, struct api_resp *w, long max_body)
{
    err e = {0};
    char allow[96];
    if (run_pipeline(r, w, max_body, allow, sizeof(allow), &e) == 0 && w->status)
        return;
    if (e.kind == ERR_NONE)
        err_set(&e, ERR_INTERNAL, "The handler produced no response.");
    audit_failure(r, &e);
    w->stream = NULL; /* headers a handler set before failing (Retry-After) stay */
    api_reply_problem(r, w, &e, NULL);
    if (e.kind == ERR_METHOD)
        api_add_header(w, "Allow", arena_strdup(r->a, allow));
    if (e.kind == ERR_UNAUTHENTICATED)
        api_add_header(w, "WWW-Authenticate", "Bearer realm=\"virtportal\"");
}
