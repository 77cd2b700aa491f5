/* Authentication (who is calling) and authorization (may they), run by the
 * dispatcher before any handler. Roles and tenant come from the database,
 * never from the token; what was read is cached only until the next identity
 * change commits (principal_cache.h), so demoting a user demotes their
 * sessions and tokens at the very next request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "app.h"
#include "db.h"
#include "dispatch.h"
#include "jwt.h"
#include "principal_cache.h"
#include "secret.h"
#include "session.h"

static int
invalid(err *e)
{
    return err_set(e, ERR_UNAUTHENTICATED, "Invalid credentials.");
}

/* Copies a malloc'd binding array into the principal (at most PC_MAX_BINDINGS
 * scopes; more than that is refused rather than silently cut). */
static int
take_bindings(struct auth_binding *b, size_t n, struct auth_binding *dst, size_t *ndst, err *e)
{
    int rc = 0;
    if (n > PC_MAX_BINDINGS)
        rc = err_set(e, ERR_UNAVAILABLE, "Too many role bindings for one principal.");
    else if (n)
        memcpy(dst, b, n * sizeof(*b));
    *ndst = rc ? 0 : n;
    free(b);
    return rc;
}

/* The user `uid` and its bindings, from the database. */
static int
load_user(struct api_req *r, int64_t uid, struct pc_principal *p, err *e)
{
    struct db_session_user u;
    err le = {0};
    if (db_session_user_by_id(r->app->db, uid, &u, &le) < 0)
        return le.kind == ERR_NOT_FOUND ? invalid(e) : err_set(e, le.kind, "%s", le.detail);
    if (u.disabled)
        return invalid(e);
    p->user_id = u.id;
    p->tenant_id = u.tenant_id;
    snprintf(p->login, sizeof(p->login), "%s", u.login);
    struct auth_binding *b;
    size_t n;
    if (db_session_bindings(r->app->db, "user", uid, &b, &n, e) < 0)
        return -1;
    return take_bindings(b, n, p->b, &p->nb, e);
}

/* An API token's principal from the database (hash already computed). */
static int
load_token(struct api_req *r, const char *lookup, const char *hash, struct pc_principal *p, err *e)
{
    struct db_session_token t;
    err le = {0};
    if (db_session_token_by_prefix(r->app->db, lookup, &t, &le) < 0)
        return le.kind == ERR_UNAVAILABLE ? err_set(e, ERR_UNAVAILABLE, "%s", le.detail)
                                          : invalid(e);
    if (!auth_secret_equal(hash, strlen(hash), t.hash, strlen(t.hash)) || t.revoked)
        return invalid(e);
    if (load_user(r, t.user_id, p, e) < 0)
        return -1;
    p->token_id = t.id;
    p->token_expires = t.expires_at;
    p->token_last_used = t.last_used_at;
    p->narrowed = t.narrowed;
    snprintf(p->token_prefix, sizeof(p->token_prefix), "%s", lookup);
    struct auth_binding *b;
    size_t n;
    if (t.narrowed && db_session_bindings(r->app->db, "token", t.id, &b, &n, e) < 0)
        return -1;
    return t.narrowed ? take_bindings(b, n, p->tb, &p->ntb, e) : 0;
}

/* A session's principal from the database: its family must not be revoked. */
static int
load_session(struct api_req *r, int64_t uid, const char *family, struct pc_principal *p, err *e)
{
    bool revoked = true;
    if (db_session_family_revoked(r->app->db, family, &revoked, e) < 0)
        return -1;
    if (revoked)
        return invalid(e);
    snprintf(p->session, sizeof(p->session), "%s", family);
    return load_user(r, uid, p, e);
}

static void
become(struct api_req *r, const struct pc_principal *p)
{
    struct api_principal *w = &r->who;
    w->authenticated = true;
    w->user_id = p->user_id;
    w->login = arena_strdup(r->a, p->login);
    w->tenant_id = p->tenant_id;
    w->token_id = p->token_id;
    w->narrowed = p->narrowed;
    snprintf(w->token_prefix, sizeof(w->token_prefix), "%s", p->token_prefix);
    snprintf(w->session, sizeof(w->session), "%s", p->session);
    w->bindings = arena_alloc(r->a, sizeof(p->b));
    w->token_bindings = arena_alloc(r->a, sizeof(p->tb));
    if (!w->bindings || !w->token_bindings)
        return; /* no bindings: the principal can do nothing, never more */
    memcpy(w->bindings, p->b, sizeof(p->b));
    memcpy(w->token_bindings, p->tb, sizeof(p->tb));
    w->nbindings = p->nb;
    w->ntoken_bindings = p->ntb;
}

static int
auth_api_token(struct api_req *r, const char *secret, err *e)
{
    char lookup[AUTH_TOKEN_LOOKUP_LEN + 1], hash[AUTH_TOKEN_HASH_LEN + 1], key[PC_KEY_MAX];
    if (auth_token_parse(secret, "vpt", lookup) < 0)
        return invalid(e);
    auth_token_hash(secret, hash);
    snprintf(key, sizeof(key), "t:%s", hash);
    struct pc_principal p = {0};
    uint64_t epoch = db_identity_epoch(r->app->db); /* read before loading */
    if (!principal_cache_get(r->app->principals, key, epoch, &p)) {
        if (load_token(r, lookup, hash, &p, e) < 0)
            return -1;
        principal_cache_put(r->app->principals, key, epoch, &p);
    }
    int64_t now = app_now(r->app);
    if (p.token_expires && p.token_expires <= now)
        return invalid(e);
    become(r, &p);
    if (now - p.token_last_used >= 60) /* bookkeeping at most once a minute per token */
        db_session_token_touch(r->app->db, p.token_id, now, NULL);
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
        return invalid(e);
    *dot = '\0';
    char key[PC_KEY_MAX];
    snprintf(key, sizeof(key), "s:%lld:%s", (long long)c.uid, c.jti);
    struct pc_principal p = {0};
    uint64_t epoch = db_identity_epoch(r->app->db);
    if (!principal_cache_get(r->app->principals, key, epoch, &p)) {
        if (load_session(r, c.uid, c.jti, &p, e) < 0)
            return -1;
        principal_cache_put(r->app->principals, key, epoch, &p);
    }
    become(r, &p);
    return 0;
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
api_require(const struct api_req *r, enum perm perm, int64_t tenant_id, const char *what, err *e)
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
        return api_can(r, rt->perm, 0)
                   ? 0
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
api_audit_init(const struct api_req *r, struct db_audit *a, const char *action, const char *target,
               int64_t tenant_id)
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
