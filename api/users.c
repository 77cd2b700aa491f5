/* Users: /api/v1/users[/{id}]. A tenant's user.admin manages the users of
 * that tenant only; a user of another tenant (or a global user, for someone
 * without global rights) answers 404 exactly like a missing one. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "autoptr.h"
#include "identity.h"
#include "password.h"

static const char *const user_sorts[DB_USER_SORT_COUNT] = {
    [DB_USER_SORT_LOGIN] = "login",
    [DB_USER_SORT_CREATED] = "created_at",
    [DB_USER_SORT_ID] = "id",
};

json_t *
api_user_json(const struct db_user *u)
{
    return json_pack("{s:I,s:s,s:o,s:b,s:s}", "id", (json_int_t)u->id, "login", u->login,
                     "tenant_id", u->tenant_id ? json_integer(u->tenant_id) : json_null(),
                     "disabled", u->disabled, "created_at", u->created_at);
}

static int
user_list_row(void *arg, const struct db_user *u, const char *key, err *e)
{
    return api_list_push(arg, api_user_json(u), key, u->id, e);
}

/* A text query parameter of at most max bytes (NULL when absent). */
static int
query_text(struct api_req *r, const char *name, size_t max, const char **out, err *e)
{
    bool bad = false;
    *out = api_query(r, name, &bad);
    if (bad || (*out && strlen(*out) > max))
        return err_set_field(e, name, "Query parameter '%s' is malformed or too long.", name);
    if (*out && !**out)
        *out = NULL;
    return 0;
}

int
api_users_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct api_list l;
    struct db_user_filter f = {.visible = api_visible_tenants(r, PERM_USER_READ)};
    if (api_list_begin(r, &l, user_sorts, DB_USER_SORT_COUNT, DB_USER_SORT_LOGIN, e) < 0 ||
        api_query_int(r, "tenant_id", 0, INT64_MAX, -1, &f.tenant_id, e) < 0 ||
        query_text(r, "login", DB_LOGIN_MAX, &f.login, e) < 0 ||
        query_text(r, "q", DB_LOGIN_MAX, &f.q, e) < 0 ||
        api_query_bool(r, "disabled", &f.disabled, e) < 0)
        return -1;
    if (db_user_list(r->app->db, &f, &l.page, user_list_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}

static int
user_reply(struct api_req *r, struct api_resp *w, int64_t id, bool created, err *e)
{
    struct db_user u;
    if (db_user_get(r->app->db, id, &u, e) < 0)
        return -1;
    json_t *j = api_user_json(&u);
    int rc =
        created ? api_reply_created(r, w, "/api/v1/users", id, j) : api_reply_json(r, w, 200, j);
    json_decref(j);
    return rc;
}

/* Policy, then Argon2id (slow: before the write transaction, never in it). */
static int
password_hash(const char *pw, const char *login, char **hash, err *e)
{
    if (auth_password_policy(pw, login, e) < 0) {
        if (e)
            snprintf(e->field, sizeof(e->field), "password");
        return -1;
    }
    return auth_password_hash(pw, hash, e);
}

/* May the caller create a user in tenant tid (0 = a global user)? */
static int
user_create_allowed(struct api_req *r, int64_t tid, err *e)
{
    if (api_can(r, PERM_USER_ADMIN, tid))
        return 0;
    if (tid == 0)
        return err_set(e, ERR_FORBIDDEN, "Creating a global user needs user.admin globally.");
    if (api_require(r, PERM_USER_ADMIN, tid, "tenant", e) < 0 && e->kind == ERR_NOT_FOUND)
        return err_set_field(e, "tenant_id", "No such tenant.");
    return -1;
}

int
api_users_create(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const members[] = {"login", "password", "tenant_id", NULL};
    const char *login, *pw;
    int64_t tid = 0, id = 0;
    AUTOFREE char *hash = NULL;
    if (api_body_only(r, members, e) < 0 ||
        api_body_string(r, "login", true, false, &login, e) < 0 ||
        api_check_login("login", login, e) < 0 ||
        api_body_string(r, "password", true, false, &pw, e) < 0 ||
        api_body_id(r, "tenant_id", true, &tid, e) < 0 || user_create_allowed(r, tid, e) < 0 ||
        password_hash(pw, login, &hash, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "user.create", NULL, tid);
    if (db_user_create(r->app->db, login, hash, tid, &a, &id, e) < 0)
        return -1;
    return user_reply(r, w, id, true, e);
}

/* The user of the {id} parameter, if the caller may use `perm` on it. */
static int
user_param(struct api_req *r, enum perm perm, struct db_user *u, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0 || db_user_get(r->app->db, id, u, e) < 0)
        return -1;
    return api_require(r, perm, u->tenant_id, "user", e);
}

/* A store's refusal (an account stronger than the caller) is audited. */
static int
user_refused(struct api_req *r, const char *action, const struct db_user *u, const err *e)
{
    if (e->kind == ERR_FORBIDDEN)
        api_audit_denied(r, action, arena_printf(r->a, "user/%lld", (long long)u->id), u->tenant_id,
                         e);
    return -1;
}

int
api_users_get(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_user u;
    if (user_param(r, PERM_USER_READ, &u, e) < 0)
        return -1;
    json_t *j = api_user_json(&u);
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

int
api_users_update(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const members[] = {"password", "disabled", NULL};
    const char *pw;
    int disabled;
    struct db_user u;
    AUTOFREE char *hash = NULL;
    if (api_body_only(r, members, e) < 0 ||
        api_body_string(r, "password", false, false, &pw, e) < 0 ||
        api_body_bool(r, "disabled", &disabled, e) < 0 || user_param(r, PERM_USER_ADMIN, &u, e) < 0)
        return -1;
    if (disabled == 1 && u.id == r->who.user_id)
        return err_set_field(e, "disabled", "You cannot disable your own account.");
    if (disabled >= 0 && (bool)disabled == u.disabled)
        disabled = -1; /* no change, no audit row */
    if (pw && password_hash(pw, u.login, &hash, e) < 0)
        return -1;
    if (hash || disabled >= 0) {
        struct db_audit a;
        struct db_actor actor = api_actor(r);
        api_audit_init(r, &a, "user.update", NULL, u.tenant_id);
        if (db_user_update(r->app->db, u.id, hash, disabled, &actor, &a, e) < 0)
            return user_refused(r, "user.update", &u, e);
    }
    return user_reply(r, w, u.id, false, e);
}

int
api_users_delete(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_user u;
    if (user_param(r, PERM_USER_ADMIN, &u, e) < 0)
        return -1;
    if (u.id == r->who.user_id)
        return err_set(e, ERR_CONFLICT, "You cannot delete your own account.");
    struct db_audit a;
    struct db_actor actor = api_actor(r);
    api_audit_init(r, &a, "user.delete", NULL, u.tenant_id);
    if (db_user_delete(r->app->db, u.id, &actor, &a, e) < 0)
        return user_refused(r, "user.delete", &u, e);
    return api_reply_empty(w);
}
