/* API tokens: /api/v1/tokens[/{id}]. The caller's own tokens (all users'
 * for a global user.admin). The secret is returned once, by POST; the store
 * keeps only its SHA-256 and the public lookup prefix. A token never does more
 * than its owner (intersection at each request); a narrowed one only what its
 * roles allow too. */
#include <string.h>
#include <time.h>

#include "app.h"
#include "autoptr.h"
#include "identity.h"
#include "timefmt.h"
#include "secret.h"
#include "session.h"

enum { TOKEN_MAX_ROLES = 32, TOKEN_MAX_DAYS = 366 };

static const char *const token_sorts[DB_TOKEN_SORT_COUNT] = {
    [DB_TOKEN_SORT_NAME] = "name",
    [DB_TOKEN_SORT_EXPIRES] = "expires_at",
    [DB_TOKEN_SORT_CREATED] = "created_at",
    [DB_TOKEN_SORT_ID] = "id",
};

static json_t *
time_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static int
token_role_row(void *arg, const struct db_binding *b, const char *key, err *e)
{
    json_t *one =
        json_pack("{s:s,s:s,s:o}", "role", b->role, "scope", b->tenant_id ? "tenant" : "global",
                  "tenant_id", b->tenant_id ? json_integer(b->tenant_id) : json_null());
    return json_array_append_new(arg, one) < 0 ? err_set(e, ERR_UNAVAILABLE, "Out of memory.") : 0;
}

/* The API object; a narrowed token lists the roles it holds now. */
static json_t *
token_json(struct api_req *r, const struct db_token *t, err *e)
{
    json_t *j = json_pack(
        "{s:I,s:I,s:s,s:s,s:o,s:o,s:o,s:s,s:b}", "id", (json_int_t)t->id, "user_id",
        (json_int_t)t->user_id, "name", t->name, "prefix", t->prefix, "expires_at",
        time_or_null(t->expires_at), "revoked_at", time_or_null(t->revoked_at), "last_used_at",
        time_or_null(t->last_used_at), "created_at", t->created_at, "narrowed", t->narrowed);
    if (!j || !t->narrowed)
        return j;
    json_t *roles = json_array();
    struct db_binding_filter f = {.subject_kind = "token", .subject_id = t->id, .tenant_id = -1};
    struct db_page p = {.limit = 1000};
    json_object_set_new(j, "roles", roles);
    if (db_binding_list(r->app->db, &f, &p, token_role_row, roles, e) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int
token_list_row(void *arg, const struct db_token *t, const char *key, err *e)
{
    struct api_list *l = arg;
    json_t *j = token_json(l->r, t, e);
    return j ? api_list_push(l, j, key, t->id, e) : -1;
}

int
api_tokens_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct api_list l;
    int64_t uid = 0;
    if (api_list_begin(r, &l, token_sorts, DB_TOKEN_SORT_COUNT, DB_TOKEN_SORT_CREATED, e) < 0 ||
        api_query_int(r, "user_id", 1, INT64_MAX, r->who.user_id, &uid, e) < 0)
        return -1;
    if (uid != r->who.user_id && !api_can(r, PERM_USER_ADMIN, 0))
        return err_set(e, ERR_FORBIDDEN,
                       "Listing another user's tokens needs user.admin globally.");
    if (db_token_list(r->app->db, uid, &l.page, token_list_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}

/* expires_at: in the future, at most a year ahead; stored canonically. */
static int
token_expiry(struct api_req *r, char *out, size_t n, bool *set, err *e)
{
    const char *s;
    int64_t t = 0, now = app_now(r->app);
    *set = false;
    if (api_body_string(r, "expires_at", false, true, &s, e) < 0 || !s)
        return s ? -1 : 0;
    if (time_rfc3339_parse(s, &t) < 0)
        return err_set_field(e, "expires_at",
                             "'expires_at' must be an RFC 3339 time, e.g. 2025-12-31T23:59:59Z.");
    if (t <= now || t > now + TOKEN_MAX_DAYS * 86400LL)
        return err_set_field(e, "expires_at",
                             "'expires_at' must be in the future, at most a "
                             "year ahead.");
    db_time_format(t, out, n);
    *set = true;
    return 0;
}

/* ---- roles of a narrowed token ---- */

static int
token_role_object(struct api_req *r, json_t *v, struct db_token_role *tr, err *e)
{
    const char *scope = NULL;
    json_t *tid = NULL;
    if (json_unpack(v, "{s:s,s:s,s?o!}", "role", &tr->role, "scope", &scope, "tenant_id", &tid) <
            0 ||
        (strcmp(scope, "global") && strcmp(scope, "tenant")))
        return err_set_field(e, "roles",
                             "Each role is a name, or {\"role\", \"scope\": \"global\"|\"tenant\", "
                             "\"tenant_id\"}.");
    bool tenant = !strcmp(scope, "tenant");
    if (tenant != (json_is_integer(tid) && json_integer_value(tid) > 0) ||
        (!tenant && tid && !json_is_null(tid)))
        return err_set_field(e, "roles",
                             "A tenant-scoped role needs a 'tenant_id'; a global one "
                             "takes none.");
    tr->tenant_id = tenant ? json_integer_value(tid) : 0;
    /* a tenant where the caller holds nothing is not theirs to name */
    if (tenant && !api_perms(r, tr->tenant_id))
        return err_set_field(e, "roles", "No such tenant.");
    return 0;
}

static int
token_roles(struct api_req *r, struct db_token_role **out, size_t *n, err *e)
{
    json_t *arr = json_object_get(r->json, "roles"), *v;
    size_t i;
    *out = NULL, *n = 0;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > TOKEN_MAX_ROLES)
        return err_set_field(e, "roles",
                             "'roles' must be a non-empty array of at most %d roles "
                             "(omit it for a token with all your rights).",
                             TOKEN_MAX_ROLES);
    *out = arena_alloc(r->a, json_array_size(arr) * sizeof(**out));
    if (!*out)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    json_array_foreach(arr, i, v)
    {
        struct db_token_role *tr = &(*out)[i];
        if (json_is_string(v))
            *tr = (struct db_token_role){.role = json_string_value(v), .from_owner = true};
        else if (token_role_object(r, v, tr, e) < 0)
            return -1;
    }
    *n = json_array_size(arr);
    return 0;
}

/* ---- create / get / revoke ---- */

static int
token_reply(struct api_req *r, struct api_resp *w, int64_t id, const char *secret, err *e)
{
    struct db_token t;
    if (db_token_get(r->app->db, id, &t, e) < 0)
        return -1;
    json_t *j = token_json(r, &t, e);
    if (!j)
        return -1;
    if (secret) /* the only time the secret is ever shown */
        json_object_set_new(j, "secret", json_string(secret));
    api_add_header(w, "Cache-Control", "no-store");
    int rc =
        secret ? api_reply_created(r, w, "/api/v1/tokens", id, j) : api_reply_json(r, w, 200, j);
    json_decref(j);
    return rc;
}

static int
token_body(struct api_req *r, const char **name, char *exp, size_t n, bool *has_exp, err *e)
{
    static const char *const members[] = {"name", "expires_at", "roles", NULL};
    if (r->who.token_id) {
        err_set(e, ERR_FORBIDDEN, "An API token cannot create API tokens; sign in as the user.");
        api_audit_denied(r, "token.create", "api_token", r->who.tenant_id, e);
        return -1;
    }
    if (api_body_only(r, members, e) < 0 || api_body_string(r, "name", true, false, name, e) < 0 ||
        api_check_text("name", *name, DB_TOKNAME_CHARS, false, e) < 0)
        return -1;
    return token_expiry(r, exp, n, has_exp, e);
}

int
api_tokens_create(struct api_req *r, struct api_resp *w, err *e)
{
    const char *name;
    char exp[32], hash[AUTH_TOKEN_HASH_LEN + 1];
    bool has_exp;
    struct db_token_role *roles;
    size_t nroles;
    int64_t id = 0;
    AUTOFREE char *secret = NULL, *lookup = NULL;
    if (token_body(r, &name, exp, sizeof(exp), &has_exp, e) < 0 ||
        token_roles(r, &roles, &nroles, e) < 0 || auth_token_new("vpt", &secret, &lookup, e) < 0)
        return -1;
    auth_token_hash(secret, hash);
    struct db_audit a;
    api_audit_init(r, &a, "token.create", NULL, r->who.tenant_id);
    int rc = db_token_create(r->app->db, r->who.user_id, name, lookup, hash, has_exp ? exp : NULL,
                             roles, nroles, &a, &id, e);
    if (rc == 0)
        rc = token_reply(r, w, id, secret, e);
    explicit_bzero(secret, strlen(secret));
    return rc;
}

/* The token of {id}: the caller's own, or anyone's for a global user.admin. */
static int
token_param(struct api_req *r, struct db_token *t, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0 || db_token_get(r->app->db, id, t, e) < 0)
        return -1;
    if (t->user_id != r->who.user_id && !api_can(r, PERM_USER_ADMIN, 0))
        return err_set(e, ERR_NOT_FOUND, "No such token.");
    return 0;
}

int
api_tokens_get(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_token t;
    if (token_param(r, &t, e) < 0)
        return -1;
    return token_reply(r, w, t.id, NULL, e);
}

int
api_tokens_delete(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_token t;
    char now[32];
    if (token_param(r, &t, e) < 0)
        return -1;
    db_time_format(app_now(r->app), now, sizeof(now));
    struct db_audit a;
    api_audit_init(r, &a, "token.revoke", NULL, 0);
    if (db_token_revoke(r->app->db, t.id, now, &a, NULL, e) < 0)
        return -1;
    return api_reply_empty(w);
}
