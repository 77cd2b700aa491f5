/* token_store: API tokens (their public prefix and the hash of the secret;
 * the secret itself never reaches the database) and the roles a narrowed
 * token holds. See identity.h. */
#include "identity.h"

#include <stdio.h>
#include <string.h>

#include "page_int.h"
#include "roles.h"
#include "store_int.h"

#define TOKEN_COLS                                                                                 \
    "t.id, t.user_id, t.name, t.prefix, t.narrowed, t.expires_at, t.revoked_at, t.last_used_at,"   \
    " t.created_at"

#define TOKEN_LIST(key, cmp, dir)                                                                  \
    "SELECT " TOKEN_COLS ", " key " FROM api_token t WHERE (?1 = 0 OR t.user_id = ?1)"             \
    " AND " DB_PAGE_KEYSET(key, "t.id", cmp, dir, 2, 3, 4)
#define TOKEN_SORT(key) DB_PAGE_SORT(TOKEN_LIST, key)

/* A token that never expires sorts after every date. */
static const char *const token_list_sql[DB_TOKEN_SORT_COUNT][2] = {
    [DB_TOKEN_SORT_NAME] = TOKEN_SORT("t.name"),
    [DB_TOKEN_SORT_EXPIRES] = TOKEN_SORT("ifnull(t.expires_at, '~')"),
    [DB_TOKEN_SORT_CREATED] = TOKEN_SORT("t.created_at"),
    [DB_TOKEN_SORT_ID] = TOKEN_SORT("printf('%020d', t.id)"),
};

static void
token_row(sqlite3_stmt *s, struct db_token *t)
{
    t->id = sqlite3_column_int64(s, 0);
    t->user_id = sqlite3_column_int64(s, 1);
    db_row_text(s, 2, t->name, sizeof(t->name));
    db_row_text(s, 3, t->prefix, sizeof(t->prefix));
    t->narrowed = sqlite3_column_int(s, 4) != 0;
    db_row_text(s, 5, t->expires_at, sizeof(t->expires_at));
    db_row_text(s, 6, t->revoked_at, sizeof(t->revoked_at));
    db_row_text(s, 7, t->last_used_at, sizeof(t->last_used_at));
    db_row_text(s, 8, t->created_at, sizeof(t->created_at));
}

struct token_list_ctx {
    db_token_row_fn fn;
    void *arg;
};

static int
token_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct token_list_ctx *ctx = arg;
    struct db_token t;
    token_row(s, &t);
    return ctx->fn(ctx->arg, &t, key, e);
}

int
db_token_list(db *d, int64_t user_id, struct db_page *p, db_token_row_fn fn, void *arg, err *e)
{
    DB_STMT s = db_page_stmt(d, token_list_sql, DB_TOKEN_SORT_COUNT, p, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, user_id);
    db_page_bind(s, p, 2);
    struct token_list_ctx ctx = {fn, arg};
    return db_page_step(s, p, token_list_row, &ctx, e);
}

static int
token_get_on(db_conn *c, int64_t id, struct db_token *out, int64_t *owner_tenant, err *e)
{
    DB_STMT s = db_store_get(c,
                             "SELECT " TOKEN_COLS ", ifnull(u.tenant_id, 0) FROM api_token t"
                             " JOIN user u ON u.id = t.user_id WHERE t.id = ?1",
                             id, e, "No such token.");
    if (!s)
        return -1;
    token_row(s, out);
    if (owner_tenant)
        *owner_tenant = sqlite3_column_int64(s, 9);
    return 0;
}

int
db_token_get(db *d, int64_t id, struct db_token *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? token_get_on(c, id, out, NULL, e) : -1;
}

/* ---- create ---- */

struct token_job {
    int64_t id, user_id;
    const char *name, *prefix, *hash, *expires_at;
    const struct db_token_role *roles;
    size_t nroles;
    char target[40];
    json_t *details;
};

/* Binds role_id to the token in scope tenant_id (once). */
static int
token_bind(db_conn *c, int64_t token_id, int64_t role_id, int64_t tenant_id, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "INSERT OR IGNORE INTO role_binding(subject_kind, subject_id, role_id,"
                             " scope, tenant_id) VALUES ('token', ?1, ?2, CASE WHEN ?3 = 0 THEN"
                             " 'global' ELSE 'tenant' END, nullif(?3, 0))",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, token_id);
    sqlite3_bind_int64(s, 2, role_id);
    sqlite3_bind_int64(s, 3, tenant_id);
    return db_store_done(s, e);
}

/* Binds one explicit (role, scope): it must be bindable there and hold
 * nothing the owner lacks there now. */
static int
token_bind_scoped(db_conn *c, const struct token_job *j, const struct db_role *role,
                  int64_t tenant_id, err *e)
{
    const struct auth_builtin_role *br = role->builtin ? auth_builtin_role_find(role->name) : NULL;
    if (br && !auth_builtin_role_bindable(br, tenant_id))
        return err_set_field(e, "roles", "Role '%s' cannot be bound %s.", role->name,
                             tenant_id ? "within a tenant" : "globally");
    bool tenant_ok = true;
    if (tenant_id && db_tenant_exists(c, tenant_id, &tenant_ok, e) < 0)
        return -1;
    if (!tenant_ok)
        return err_set_field(e, "roles", "No such tenant.");
    struct db_actor owner = {.user_id = j->user_id};
    perm_set eff = 0;
    if (db_actor_effective(c, &owner, tenant_id, &eff, e) < 0)
        return -1;
    if (role->perms & ~eff)
        return err_set_field(e, "roles",
                             "Role '%s' holds permissions you do not hold %s; a token can only be "
                             "narrowed to what you hold.",
                             role->name, tenant_id ? "in that tenant" : "globally");
    return token_bind(c, j->id, role->id, tenant_id, e);
}

/* Binds the role in every scope where the owner holds it. */
static int
token_bind_from_owner(db_conn *c, const struct token_job *j, const struct db_role *role, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT ifnull(tenant_id, 0) FROM role_binding WHERE subject_kind ="
                             " 'user' AND subject_id = ?1 AND role_id = ?2",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->user_id);
    sqlite3_bind_int64(s, 2, role->id);
    int64_t scopes[64];
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < sizeof(scopes) / sizeof(scopes[0]))
        scopes[n++] = sqlite3_column_int64(s, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    sqlite3_reset(s);
    if (n == 0)
        return err_set_field(e, "roles", "You hold no binding of role '%s'.", role->name);
    for (size_t i = 0; i < n; i++) {
        if (token_bind(c, j->id, role->id, scopes[i], e) < 0)
            return -1;
    }
    return 0;
}

static int
token_roles_apply(db_conn *c, const struct token_job *j, err *e)
{
    for (size_t i = 0; i < j->nroles; i++) {
        const struct db_token_role *tr = &j->roles[i];
        struct db_role role;
        DB_STMT s =
            db_conn_stmt(c,
                         "SELECT id, builtin, (SELECT group_concat(permission, ' ') FROM"
                         " role_permission WHERE role_id = role.id) FROM role WHERE name = ?1",
                         e);
        if (!s)
            return -1;
        sqlite3_bind_text(s, 1, tr->role, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
            return err_set_field(e, "roles", "No such role '%s'.", tr->role);
        if (rc != SQLITE_ROW)
            return db_sqlite_err(e, rc);
        role.id = sqlite3_column_int64(s, 0);
        role.builtin = sqlite3_column_int(s, 1) != 0;
        role.perms = db_role_perms_parse((const char *)sqlite3_column_text(s, 2));
        snprintf(role.name, sizeof(role.name), "%s", tr->role);
        sqlite3_reset(s);
        if ((tr->from_owner ? token_bind_from_owner(c, j, &role, e)
                            : token_bind_scoped(c, j, &role, tr->tenant_id, e)) < 0)
            return -1;
    }
    return 0;
}

static int
token_create_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct token_job *j = arg;
    DB_STMT dup = db_conn_stmt(c, "SELECT 1 FROM api_token WHERE user_id = ?1 AND name = ?2", e);
    if (!dup)
        return -1;
    sqlite3_bind_int64(dup, 1, j->user_id);
    sqlite3_bind_text(dup, 2, j->name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(dup);
    if (rc == SQLITE_ROW)
        return db_conflict(e, "name", "You already have a token named '%s'.", j->name);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO api_token(user_id, name, prefix, hash, narrowed,"
                             " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->user_id);
    sqlite3_bind_text(s, 2, j->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, j->prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, j->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, j->nroles > 0);
    sqlite3_bind_text(s, 6, j->expires_at, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    snprintf(j->target, sizeof(j->target), "api_token/%lld", (long long)j->id);
    a->target = j->target;
    return token_roles_apply(c, j, e);
}

static json_t *
token_create_details(const struct token_job *j)
{
    json_t *roles = json_array();
    for (size_t i = 0; i < j->nroles; i++)
        json_array_append_new(
            roles, j->roles[i].from_owner
                       ? json_pack("{s:s}", "role", j->roles[i].role)
                       : json_pack("{s:s,s:o}", "role", j->roles[i].role, "tenant_id",
                                   j->roles[i].tenant_id ? json_integer(j->roles[i].tenant_id)
                                                         : json_null()));
    /* Never the secret nor its hash: the prefix identifies the token. */
    return json_pack("{s:s,s:s,s:s?,s:o}", "name", j->name, "prefix", j->prefix, "expires_at",
                     j->expires_at, "roles", roles);
}

int
db_token_create(db *d, int64_t user_id, const char *name, const char *prefix, const char *hash,
                const char *expires_at, const struct db_token_role *roles, size_t nroles,
                struct db_audit *a, int64_t *id_out, err *e)
{
    struct token_job j = {.user_id = user_id,
                          .name = name,
                          .prefix = prefix,
                          .hash = hash,
                          .expires_at = expires_at,
                          .roles = roles,
                          .nroles = nroles};
    int rc = db_store_mutate(d, token_create_apply, &j, a, token_create_details(&j), e);
    if (rc == 0 && id_out)
        *id_out = j.id;
    return rc;
}

/* ---- revoke ---- */

struct revoke_job {
    int64_t id;
    const char *now;
    bool changed;
    char target[40];
    json_t *details;
};

static int
token_revoke_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct revoke_job *j = arg;
    struct db_token t;
    int64_t tenant = 0;
    if (token_get_on(c, j->id, &t, &tenant, e) < 0)
        return -1;
    a->tenant_id = tenant;
    DB_STMT s = db_conn_stmt(
        c, "UPDATE api_token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    j->changed = sqlite3_changes(db_conn_sqlite(c)) > 0;
    json_object_set_new(j->details, "name", json_string(t.name));
    json_object_set_new(j->details, "prefix", json_string(t.prefix));
    json_object_set_new(j->details, "user_id", json_integer(t.user_id));
    if (!j->changed)
        json_object_set_new(j->details, "already_revoked", json_true());
    a->details = j->details;
    return 0;
}

int
db_token_revoke(db *d, int64_t id, const char *now_rfc3339, struct db_audit *a, bool *changed,
                err *e)
{
    struct db_token t;
    if (db_token_get(d, id, &t, e) < 0)
        return -1;
    if (t.revoked_at[0]) { /* nothing changes, nothing to audit */
        if (changed)
            *changed = false;
        return 0;
    }
    struct revoke_job j = {.id = id, .now = now_rfc3339, .details = json_object()};
    snprintf(j.target, sizeof(j.target), "api_token/%lld", (long long)id);
    a->target = j.target;
    int rc = db_store_mutate(d, token_revoke_apply, &j, a, j.details, e);
    if (rc == 0 && changed)
        *changed = j.changed;
    return rc;
}
