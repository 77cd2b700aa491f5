/* Role bindings: /api/v1/role-bindings[/{id}]. Granting needs role.admin in
 * the binding's scope and every permission of the role there (nobody grants
 * what they do not hold); built-in roles only in the scopes they allow. The
 * handler checks at the edge for the right 404/403; the authority is the
 * check inside the write transaction (db_binding_create), which re-reads the
 * granter's rights, so two concurrent requests cannot escalate. */
#include <string.h>

#include "app.h"
#include "identity.h"

static const char *const binding_sorts[DB_BINDING_SORT_COUNT] = {
    [DB_BINDING_SORT_ID] = "id",
};

static json_t *
binding_json(const struct db_binding *b)
{
    return json_pack(
        "{s:I,s:s,s:I,s:I,s:s,s:s,s:o,s:s}", "id", (json_int_t)b->id, "subject_kind",
        b->subject_kind, "subject_id", (json_int_t)b->subject_id, "role_id", (json_int_t)b->role_id,
        "role", b->role, "scope", b->tenant_id ? "tenant" : "global", "tenant_id",
        b->tenant_id ? json_integer(b->tenant_id) : json_null(), "created_at", b->created_at);
}

static int
binding_list_row(void *arg, const struct db_binding *b, const char *key, err *e)
{
    return api_list_push(arg, binding_json(b), key, b->id, e);
}

static int
subject_kind_ok(const char *field, const char *kind, err *e)
{
    if (kind && strcmp(kind, "user") && strcmp(kind, "token"))
        return err_set_field(e, field, "'%s' must be \"user\" or \"token\".", field);
    return 0;
}

int
api_bindings_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct api_list l;
    bool bad = false;
    struct db_binding_filter f = {.visible = api_visible_tenants(r, PERM_ROLE_ADMIN)};
    if (api_list_begin(r, &l, binding_sorts, DB_BINDING_SORT_COUNT, DB_BINDING_SORT_ID, e) < 0 ||
        api_query_int(r, "subject_id", 1, INT64_MAX, 0, &f.subject_id, e) < 0 ||
        api_query_int(r, "role_id", 1, INT64_MAX, 0, &f.role_id, e) < 0 ||
        api_query_int(r, "tenant_id", 0, INT64_MAX, -1, &f.tenant_id, e) < 0)
        return -1;
    f.subject_kind = api_query(r, "subject_kind", &bad);
    if (bad || subject_kind_ok("subject_kind", f.subject_kind, e) < 0)
        return err_set_field(e, "subject_kind", "subject_kind must be \"user\" or \"token\".");
    if (db_binding_list(r->app->db, &f, &l.page, binding_list_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}

static int
binding_reply(struct api_req *r, struct api_resp *w, int64_t id, bool created, err *e)
{
    struct db_binding b;
    if (db_binding_get(r->app->db, id, &b, e) < 0)
        return -1;
    json_t *j = binding_json(&b);
    int rc = created ? api_reply_created(r, w, "/api/v1/role-bindings", id, j)
                     : api_reply_json(r, w, 200, j);
    json_decref(j);
    return rc;
}

/* role by name or role_id (exactly one); scope and tenant_id agree. */
static int
binding_role_scope(struct api_req *r, struct db_binding_req *q, err *e)
{
    const char *scope;
    if (api_body_string(r, "role", false, true, &q->role, e) < 0 ||
        api_body_id(r, "role_id", true, &q->role_id, e) < 0 ||
        api_body_string(r, "scope", true, false, &scope, e) < 0 ||
        api_body_id(r, "tenant_id", true, &q->tenant_id, e) < 0)
        return -1;
    if (!q->role == !q->role_id)
        return err_set_field(e, "role", "Give the role either by 'role' (name) or by 'role_id'.");
    if (strcmp(scope, "global") && strcmp(scope, "tenant"))
        return err_set_field(e, "scope", "'scope' must be \"global\" or \"tenant\".");
    if (!strcmp(scope, "tenant") && !q->tenant_id)
        return err_set_field(e, "tenant_id", "A tenant-scoped binding needs 'tenant_id'.");
    if (!strcmp(scope, "global") && q->tenant_id)
        return err_set_field(e, "tenant_id", "A global binding takes no 'tenant_id'.");
    return 0;
}

static int
binding_body(struct api_req *r, struct db_binding_req *q, err *e)
{
    static const char *const members[] = {"subject_kind", "subject_id", "role", "role_id",
                                          "scope",        "tenant_id",  NULL};
    memset(q, 0, sizeof(*q));
    if (api_body_only(r, members, e) < 0 ||
        api_body_string(r, "subject_kind", true, false, &q->subject_kind, e) < 0 ||
        subject_kind_ok("subject_kind", q->subject_kind, e) < 0 ||
        api_body_id(r, "subject_id", false, &q->subject_id, e) < 0)
        return -1;
    if (!q->subject_id)
        return err_set_field(e, "subject_id", "'subject_id' is required.");
    return binding_role_scope(r, q, e);
}

/* At the edge: role.admin in that scope (a tenant the caller cannot see is a
 * bad reference, like a missing one). */
static int
binding_scope_allowed(struct api_req *r, int64_t tid, err *e)
{
    if (api_can(r, PERM_ROLE_ADMIN, tid))
        return 0;
    if (tid == 0)
        return err_set(e, ERR_FORBIDDEN, "Global bindings need role.admin globally.");
    if (api_require(r, PERM_ROLE_ADMIN, tid, "tenant", e) < 0 && e->kind == ERR_NOT_FOUND)
        return err_set_field(e, "tenant_id", "No such tenant.");
    return -1;
}

int
api_bindings_create(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_binding_req q;
    int64_t id = 0;
    if (binding_body(r, &q, e) < 0 || binding_scope_allowed(r, q.tenant_id, e) < 0)
        return -1;
    q.see_global_users = api_can(r, PERM_USER_READ, 0);
    struct db_audit a;
    struct db_actor actor = api_actor(r);
    api_audit_init(r, &a, "role_binding.create", NULL, q.tenant_id);
    if (db_binding_create(r->app->db, &q, &actor, &a, &id, e) < 0) {
        if (e->kind == ERR_FORBIDDEN)
            api_audit_denied(r, "role_binding.create", "role_binding", q.tenant_id, e);
        return -1;
    }
    return binding_reply(r, w, id, true, e);
}

static int
binding_param(struct api_req *r, struct db_binding *b, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0 || db_binding_get(r->app->db, id, b, e) < 0)
        return -1;
    return api_require(r, PERM_ROLE_ADMIN, b->tenant_id, "role binding", e);
}

int
api_bindings_get(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_binding b;
    if (binding_param(r, &b, e) < 0)
        return -1;
    json_t *j = binding_json(&b);
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

int
api_bindings_delete(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_binding b;
    if (binding_param(r, &b, e) < 0)
        return -1;
    struct db_audit a;
    struct db_actor actor = api_actor(r);
    api_audit_init(r, &a, "role_binding.delete", NULL, b.tenant_id);
    if (db_binding_delete(r->app->db, b.id, &actor, &a, e) < 0) {
        if (e->kind == ERR_FORBIDDEN) {
            const char *target = arena_printf(r->a, "role_binding/%lld", (long long)b.id);
            api_audit_denied(r, "role_binding.delete", target, b.tenant_id, e);
        }
        return -1;
    }
    return api_reply_empty(w);
}
