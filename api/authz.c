/* Authentication (who is calling) and authorization (may they), run by the
 * dispatcher before any handler. Roles and tenant come from the database at
 * each request, never from the token: demoting a user demotes their sessions
 * and tokens at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "app.h"
#include "db.h"
#include "dispatch.h"
#include "jwt.h"
#include "secret.h"
#include "session.h"

/* Copies a malloc'd binding array into the arena (so the request owns it). */
static struct auth_binding *
arena_bindings(arena *a, struct auth_binding *b, size_t n)
{
    struct auth_binding *out = n ? arena_alloc(a, n * sizeof(*b)) : NULL;
    if (out)
        memcpy(out, b, n * sizeof(*b));
    free(b);
    return out;
}

static int
load_user(struct api_req *r, int64_t uid, err *e)
{
    struct db_session_user u;
    err le = {0};
    if (db_session_user_by_id(r->app->db, uid, &u, &le) < 0)
        return le.kind == ERR_NOT_FOUND ? err_set(e, ERR_UNAUTHENTICATED, "Invalid credentials.")
                                        : err_set(e, le.kind, "%s", le.detail);
    if (u.disabled)
        return err_set(e, ERR_UNAUTHENTICATED, "Invalid credentials.");
    struct auth_binding *b;
    size_t n;
    if (db_session_bindings(r->app->db, "user", uid, &b, &n, e) < 0)
        return -1;
    r->who.authenticated = true;
    r->who.user_id = u.id;
    r->who.login = arena_strdup(r->a, u.login);
    r->who.tenant_id = u.tenant_id;
    r->who.bindings = arena_bindings(r->a, b, n);
    r->who.nbindings = r->who.bindings ? n : 0;
    return 0;
}

static int
auth_api_token(struct api_req *r, const char *secret, err *e)
{
    char lookup[AUTH_TOKEN_LOOKUP_LEN + 1], hash[AUTH_TOKEN_HASH_LEN + 1];
    struct db_session_token t;
    err le = {0};
    if (auth_token_parse(secret, "vpt", lookup) < 0 ||
        db_session_token_by_prefix(r->app->db, lookup, &t, &le) < 0)
        return le.kind == ERR_UNAVAILABLE ? err_set(e, ERR_UNAVAILABLE, "%s", le.detail)
                                          : err_set(e, ERR_UNAUTHENTICATED, "Invalid credentials.");
    auth_token_hash(secret, hash);
    int64_t now = app_now(r->app);
    if (!auth_secret_equal(hash, strlen(hash), t.hash, strlen(t.hash)) || t.revoked ||
        (t.expires_at && t.expires_at <= now))
        return err_set(e, ERR_UNAUTHENTICATED, "Invalid credentials.");
    if (load_user(r, t.user_id, e) < 0)
        return -1;
    struct auth_binding *b;
    size_t n;
    if (t.narrowed && db_session_bindings(r->app->db, "token", t.id, &b, &n, e) < 0)
        return -1;
    if (t.narrowed) {
        r->who.token_bindings = arena_bindings(r->a, b, n);
        r->who.ntoken_bindings = r->who.token_bindings ? n : 0;
    }
    r->who.narrowed = t.narrowed;
    r->who.token_id = t.id;
    snprintf(r->who.token_prefix, sizeof(r->who.token_prefix), "%s", lookup);
    if (now - t.last_used_at >= 60) /* bookkeeping at most once a minute per token */
        db_session_token_touch(r->app->db, t.id, now, NULL);
    return 0;
}

static int
auth_jwt_session(struct api_req *r, const char *token, err *e)
{
    struct auth_jwt_claims c;
    if (auth_jwt_verify(r->app->jwt, token, (time_t)app_now(r->app), &c, NULL, e) < 0)
        return -1;
    /* jti = "<session family>.<random>": a logged-out session's tokens die with it */
    char *dot = strchr(c.jti, '.');
    if (!dot)
        return err_set(e, ERR_UNAUTHENTICATED, "Invalid credentials.");
    *dot = '\0';
    bool revoked = true;
    if (db_session_family_revoked(r->app->db, c.jti, &revoked, e) < 0)
        return -1;
    if (revoked)
        return err_set(e, ERR_UNAUTHENTICATED, "Invalid credentials.");
    snprintf(r->who.session, sizeof(r->who.session), "%s", c.jti);
    return load_user(r, c.uid, e);
}

const char *
api_cookie(const struct api_req *r, const char *name)
{
    const char *h = api_header(r, "Cookie");
    size_t n = strlen(name);
    for (const char *p = h; p && *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && !strncmp(p, name, n) && p[n] == '=')
            return arena_strndup(r->a, p + n + 1, len - n - 1);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* Cookie-authenticated writes need a header a cross-site form cannot send. */
int
api_csrf_check(const struct api_req *r, err *e)
{
    const char *h = api_header(r, "X-VP-CSRF");
    if (!h || strcmp(h, "1"))
        return err_set(e, ERR_FORBIDDEN, "This request needs the X-VP-CSRF: 1 header.");
    return 0;
}

static void
audit_rejected(struct api_req *r, const char *action, const err *why)
{
    struct db_audit a;
    api_audit_init(r, &a, action, r->path, 0);
    a.outcome = "denied";
    json_t *d = json_pack("{s:s,s:s}", "method", r->method, "reason", why->detail);
    a.details = d;
    db_audit_event(r->app->db, &a, NULL);
    json_decref(d);
}

int
api_authenticate(struct api_req *r, err *e)
{
    if (r->route->perm == PERM_PUBLIC)
        return 0; /* public routes never look at credentials */
    const char *h = api_header(r, "Authorization");
    int rc = 0;
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        const char *cred = h + 7;
        rc = strncmp(cred, "vpt_", 4) ? auth_jwt_session(r, cred, e) : auth_api_token(r, cred, e);
        if (rc < 0 && e->kind == ERR_UNAUTHENTICATED)
            audit_rejected(r, "auth.credentials_rejected", e);
        return rc;
    }
    if (h)
        return err_set(e, ERR_UNAUTHENTICATED, "Use 'Authorization: Bearer <token>'.");
    return 0; /* anonymous; authorization decides */
}

perm_set
api_perms(const struct api_req *r, int64_t tenant_id)
{
    const struct api_principal *w = &r->who;
    if (!w->authenticated)
        return 0;
    if (w->token_id)
        return auth_token_effective(w->bindings, w->nbindings, w->token_bindings,
                                    w->ntoken_bindings, w->narrowed, tenant_id);
    return auth_effective(w->bindings, w->nbindings, tenant_id);
}

bool
api_can(const struct api_req *r, enum perm perm, int64_t tenant_id)
{
    return perm_set_has(api_perms(r, tenant_id), perm);
}

bool
api_can_somewhere(const struct api_req *r, enum perm perm)
{
    if (api_can(r, perm, 0))
        return true;
    for (size_t i = 0; i < r->who.nbindings; i++)
        if (r->who.bindings[i].tenant_id && api_can(r, perm, r->who.bindings[i].tenant_id))
            return true;
    return false;
}

int
api_require(const struct api_req *r, enum perm perm, int64_t tenant_id, const char *what,
            err *e)
{
    if (api_can(r, perm, tenant_id))
        return 0;
    /* another tenant's object answers exactly like a missing one */
    if (!api_perms(r, tenant_id))
        return err_set(e, ERR_NOT_FOUND, "No such %s.", what);
    return err_set(e, ERR_FORBIDDEN, "You may not do this (needs %s).", perm_name(perm));
}

static int
scope_tenant(const struct api_req *r, int64_t *tid, err *e)
{
    return api_param_id(r, 0, tid, e);
}

static int
authorize_scope(struct api_req *r, err *e)
{
    const struct api_route *rt = r->route;
    int64_t tid = 0;
    switch (rt->scope) {
    case API_SCOPE_GLOBAL:
        return api_can(r, rt->perm, 0) ? 0
                                      : err_set(e, ERR_FORBIDDEN, "You may not do this (needs %s).",
                                                perm_name(rt->perm));
    case API_SCOPE_TENANT_PARAM:
        if (scope_tenant(r, &tid, e) < 0)
            return -1;
        return api_require(r, rt->perm, tid, "tenant", e);
    case API_SCOPE_ANY:
    case API_SCOPE_OBJECT:
        return api_can_somewhere(r, rt->perm)
                   ? 0
                   : err_set(e, ERR_FORBIDDEN, "You may not do this (needs %s).",
                             perm_name(rt->perm));
    case API_SCOPE_NONE:
        break;
    }
    return err_set(e, ERR_INTERNAL, "route without a scope");
}

int
api_authorize(struct api_req *r, err *e)
{
    enum perm p = r->route->perm;
    if (p == PERM_PUBLIC)
        return 0;
    if (!r->who.authenticated)
        return err_set(e, ERR_UNAUTHENTICATED, "Authentication is required.");
    if (p == PERM_AUTHENTICATED)
        return 0;
    if (authorize_scope(r, e) == 0)
        return 0;
    if (e->kind == ERR_FORBIDDEN)
        audit_rejected(r, "auth.permission_denied", e);
    return -1;
}

void
api_audit_init(const struct api_req *r, struct db_audit *a, const char *action,
               const char *target, int64_t tenant_id)
{
    memset(a, 0, sizeof(*a));
    a->actor = r->who.login ? r->who.login : "anonymous";
    a->user_id = r->who.user_id;
    a->token_id = r->who.token_prefix[0] ? r->who.token_prefix : NULL;
    a->tenant_id = tenant_id;
    a->source_ip = r->source_ip;
    a->user_agent = r->user_agent;
    a->request_id = r->request_id;
    a->action = action;
    a->target = target;
    a->outcome = "ok";
}
