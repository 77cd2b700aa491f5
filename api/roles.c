/* Roles: /api/v1/roles[/{id}]. Every signed-in caller may read them (the UI
 * shows what a role means); defining them needs role.admin globally, and a
 * role can only hold permissions its author holds globally (checked in the
 * write transaction, db/role_store.c). Built-in roles are immutable. */
#include <string.h>

#include "app.h"
#include "identity.h"

static const char *const role_sorts[DB_ROLE_SORT_COUNT] = {
    [DB_ROLE_SORT_NAME] = "name",
    [DB_ROLE_SORT_CREATED] = "created_at",
    [DB_ROLE_SORT_ID] = "id",
};

static json_t *
role_json(const struct db_role *ro)
{
    return json_pack("{s:I,s:s,s:s,s:b,s:o,s:s}", "id", (json_int_t)ro->id, "name", ro->name,
                     "description", ro->description, "builtin", ro->builtin, "permissions",
                     perm_set_to_json(ro->perms), "created_at", ro->created_at);
}

static int
role_list_row(void *arg, const struct db_role *ro, const char *key, err *e)
{
    return api_list_push(arg, role_json(ro), key, ro->id, e);
}

int
api_roles_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct api_list l;
    if (api_list_begin(r, &l, role_sorts, DB_ROLE_SORT_COUNT, DB_ROLE_SORT_NAME, e) < 0 ||
        db_role_list(r->app->db, &l.page, role_list_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}

static int
role_reply(struct api_req *r, struct api_resp *w, int64_t id, bool created, err *e)
{
    struct db_role ro;
    if (db_role_get(r->app->db, id, &ro, e) < 0)
        return -1;
    json_t *j = role_json(&ro);
    int rc =
        created ? api_reply_created(r, w, "/api/v1/roles", id, j) : api_reply_json(r, w, 200, j);
    json_decref(j);
    return rc;
}

struct role_body {
    const char *name, *description;
    bool has_perms;
    perm_set perms;
};

static int
role_body(struct api_req *r, bool create, struct role_body *b, err *e)
{
    static const char *const members[] = {"name", "description", "permissions", NULL};
    memset(b, 0, sizeof(*b));
    if (api_body_only(r, members, e) < 0 ||
        api_body_string(r, "name", create, false, &b->name, e) < 0 ||
        api_body_string(r, "description", false, false, &b->description, e) < 0)
        return -1;
    if ((b->name && api_check_text("name", b->name, DB_ROLE_CHARS, false, e) < 0) ||
        (b->description &&
         api_check_text("description", b->description, DB_DESC_CHARS, true, e) < 0))
        return -1;
    json_t *perms = json_object_get(r->json, "permissions");
    if (!perms)
        return create ? err_set_field(e, "permissions", "'permissions' is required.") : 0;
    b->has_perms = true;
    if (perm_set_from_json(perms, &b->perms, e) < 0) {
        snprintf(e->field, sizeof(e->field), "permissions");
        return -1;
    }
    return 0;
}

/* A definition beyond the author's own rights is refused and audited. */
static int
role_refused(struct api_req *r, const char *action, int64_t id, const err *e)
{
    if (e->kind == ERR_FORBIDDEN)
        api_audit_denied(r, action, id ? arena_printf(r->a, "role/%lld", (long long)id) : "role", 0,
                         e);
    return -1;
}

int
api_roles_create(struct api_req *r, struct api_resp *w, err *e)
{
    struct role_body b;
    int64_t id = 0;
    if (role_body(r, true, &b, e) < 0)
        return -1;
    struct db_audit a;
    struct db_actor actor = api_actor(r);
    api_audit_init(r, &a, "role.create", NULL, 0);
    if (db_role_create(r->app->db, b.name, b.description, b.perms, &actor, &a, &id, e) < 0)
        return role_refused(r, "role.create", 0, e);
    return role_reply(r, w, id, true, e);
}

int
api_roles_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    return role_reply(r, w, id, false, e);
}

int
api_roles_update(struct api_req *r, struct api_resp *w, err *e)
{
    struct role_body b;
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0 || role_body(r, false, &b, e) < 0)
        return -1;
    if (!b.name && !b.description && !b.has_perms) { /* nothing to change: no audit row */
        struct db_role ro;
        if (db_role_get(r->app->db, id, &ro, e) < 0)
            return -1;
        if (ro.builtin)
            return err_set(e, ERR_CONFLICT, "Built-in role '%s' cannot be changed.", ro.name);
        return role_reply(r, w, id, false, e);
    }
    struct db_audit a;
    struct db_actor actor = api_actor(r);
    api_audit_init(r, &a, "role.update", NULL, 0);
    if (db_role_update(r->app->db, id, b.name, b.description, b.has_perms, b.perms, &actor, &a, e) <
        0)
        return role_refused(r, "role.update", id, e);
    return role_reply(r, w, id, false, e);
}

int
api_roles_delete(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "role.delete", NULL, 0);
    if (db_role_delete(r->app->db, id, &a, e) < 0)
        return -1;
    return api_reply_empty(w);
}
