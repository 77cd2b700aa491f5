/* role_store: roles, role bindings, the built-in role sync, and the in-
 * transaction rights checks (who may grant what). See identity.h. */
#include "identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoptr.h"
#include "page_int.h"
#include "roles.h"
#include "store_int.h"

/* Copies a probe's error into e; returns -1. */
static int
err_copy(err *e, const err *from)
{
    if (e)
        *e = *from;
    return -1;
}

perm_set
db_role_perms_parse(const char *names)
{
    perm_set s = 0;
    char name[64];
    while (names && *names) {
        const char *sp = strchr(names, ' ');
        size_t n = sp ? (size_t)(sp - names) : strlen(names);
        if (n < sizeof(name)) {
            memcpy(name, names, n);
            name[n] = '\0';
            s = perm_set_add(s, perm_from_name(name));
        }
        names = sp ? sp + 1 : NULL;
    }
    return s;
}

/* ---- rights, read on a given connection ---- */

/* The bindings of a subject, one per row, as auth_bindings. Caller frees. */
static int
subject_bindings(db_conn *c, const char *kind, int64_t id, struct auth_binding **out, size_t *n,
                 err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT ifnull(b.tenant_id, 0), (SELECT group_concat(permission, ' ')"
                             " FROM role_permission WHERE role_id = b.role_id)"
                             " FROM role_binding b WHERE b.subject_kind = ?1 AND b.subject_id = ?2",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, id);
    AUTOFREE struct auth_binding *b = NULL;
    size_t nb = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (nb == cap) {
            cap = cap ? cap * 2 : 8;
            struct auth_binding *nbuf = realloc(b, cap * sizeof(*b));
            if (!nbuf)
                return err_set(e, ERR_UNAVAILABLE, "out of memory");
            b = nbuf;
        }
        b[nb].tenant_id = sqlite3_column_int64(s, 0);
        b[nb++].perms = db_role_perms_parse((const char *)sqlite3_column_text(s, 1));
    }
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    *out = STEAL(b);
    *n = nb;
    return 0;
}

/* An actor's rights as stored right now. */
struct rights {
    bool valid;
    bool narrowed;
    struct auth_binding *owner, *tok;
    size_t nowner, ntok;
};

static void
rights_free(struct rights *r)
{
    free(r->owner);
    free(r->tok);
}

/* One integer or flag query by id: *found, cols 0 and 1 into v0, v1. */
static int
lookup2(db_conn *c, const char *sql, int64_t id, bool *found, int64_t *v0, int64_t *v1, err *e)
{
    DB_STMT s = db_conn_stmt(c, sql, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    *found = rc == SQLITE_ROW;
    if (*found) {
        *v0 = sqlite3_column_int64(s, 0);
        *v1 = sqlite3_column_count(s) > 1 ? sqlite3_column_int64(s, 1) : 0;
    }
    return 0;
}

static int
rights_load(db_conn *c, const struct db_actor *ac, struct rights *r, err *e)
{
    memset(r, 0, sizeof(*r));
    bool found = false;
    int64_t disabled = 1, owner = 0, narrowed = 0, revoked = 1;
    if (!ac || ac->user_id <= 0)
        return 0;
    if (lookup2(c, "SELECT disabled, 0 FROM user WHERE id = ?1", ac->user_id, &found, &disabled,
                &owner, e) < 0)
        return -1;
    if (!found || disabled)
        return 0;
    if (ac->token_id > 0) {
        if (lookup2(c,
                    "SELECT user_id, narrowed * 2 + (revoked_at IS NOT NULL) FROM api_token"
                    " WHERE id = ?1",
                    ac->token_id, &found, &owner, &narrowed, e) < 0)
            return -1;
        revoked = narrowed & 1;
        if (!found || owner != ac->user_id || revoked)
            return 0;
        r->narrowed = (narrowed >> 1) != 0;
        if (r->narrowed && subject_bindings(c, "token", ac->token_id, &r->tok, &r->ntok, e) < 0)
            return -1;
    }
    if (subject_bindings(c, "user", ac->user_id, &r->owner, &r->nowner, e) < 0) {
        rights_free(r);
        return -1;
    }
    r->valid = true;
    return 0;
}

static perm_set
rights_effective(const struct rights *r, int64_t tenant_id)
{
    if (!r->valid)
        return 0;
    return auth_token_effective(r->owner, r->nowner, r->tok, r->ntok, r->narrowed, tenant_id);
}

int
db_actor_effective(db_conn *c, const struct db_actor *actor, int64_t tenant_id, perm_set *out,
                   err *e)
{
    struct rights r;
    if (rights_load(c, actor, &r, e) < 0)
        return -1;
    *out = rights_effective(&r, tenant_id);
    rights_free(&r);
    return 0;
}

int
db_actor_covers(db_conn *c, const struct db_actor *actor, const char *kind, int64_t id, bool *ok,
                err *e)
{
    struct rights r;
    AUTOFREE struct auth_binding *b = NULL;
    size_t nb = 0;
    if (subject_bindings(c, kind, id, &b, &nb, e) < 0 || rights_load(c, actor, &r, e) < 0)
        return -1;
    *ok = true;
    for (size_t i = 0; i < nb && *ok; i++)
        *ok = (b[i].perms & ~rights_effective(&r, b[i].tenant_id)) == 0;
    rights_free(&r);
    return 0;
}

/* May the actor grant (or take back) `perms` in scope tenant_id, now? */
static int
actor_can_grant(db_conn *c, const struct db_actor *actor, perm_set perms, int64_t tenant_id,
                bool *ok, err *e)
{
    perm_set eff = 0;
    if (db_actor_effective(c, actor, tenant_id, &eff, e) < 0)
        return -1;
    struct auth_binding g = {.perms = eff, .tenant_id = tenant_id};
    *ok = auth_can_grant(&g, 1, perms, tenant_id);
    return 0;
}

int
db_last_admin(db_conn *c, int64_t user_id, bool *last, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT sum(u.id = ?1), sum(u.id <> ?1 AND u.disabled = 0)"
                             " FROM role_binding b JOIN role r ON r.id = b.role_id"
                             " JOIN user u ON u.id = b.subject_id WHERE b.subject_kind = 'user'"
                             " AND b.tenant_id IS NULL AND r.builtin = 1 AND r.name = 'admin'",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, user_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    *last = sqlite3_column_int64(s, 0) > 0 && sqlite3_column_int64(s, 1) == 0;
    return 0;
}

/* ---- roles: reads ---- */

#define ROLE_COLS                                                                                  \
    "r.id, r.name, r.description, r.builtin, (SELECT group_concat(permission, ' ')"                \
    " FROM role_permission WHERE role_id = r.id), r.created_at"

#define ROLE_LIST(key, cmp, dir)                                                                   \
    "SELECT " ROLE_COLS ", " key                                                                   \
    " FROM role r WHERE " DB_PAGE_KEYSET(key, "r.id", cmp, dir, 1, 2, 3)
#define ROLE_SORT(key) DB_PAGE_SORT(ROLE_LIST, key)

static const char *const role_list_sql[DB_ROLE_SORT_COUNT][2] = {
    [DB_ROLE_SORT_NAME] = ROLE_SORT("r.name"),
    [DB_ROLE_SORT_CREATED] = ROLE_SORT("r.created_at"),
    [DB_ROLE_SORT_ID] = ROLE_SORT("printf('%020d', r.id)"),
};

static void
role_row(sqlite3_stmt *s, struct db_role *r)
{
    r->id = sqlite3_column_int64(s, 0);
    db_row_text(s, 1, r->name, sizeof(r->name));
    db_row_text(s, 2, r->description, sizeof(r->description));
    r->builtin = sqlite3_column_int(s, 3) != 0;
    r->perms = db_role_perms_parse((const char *)sqlite3_column_text(s, 4));
    db_row_text(s, 5, r->created_at, sizeof(r->created_at));
}

struct role_list_ctx {
    db_role_row_fn fn;
    void *arg;
};

static int
role_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct role_list_ctx *ctx = arg;
    struct db_role r;
    role_row(s, &r);
    return ctx->fn(ctx->arg, &r, key, e);
}

int
db_role_list(db *d, struct db_page *p, db_role_row_fn fn, void *arg, err *e)
{
    DB_STMT s = db_page_stmt(d, role_list_sql, DB_ROLE_SORT_COUNT, p, e);
    if (!s)
        return -1;
    db_page_bind(s, p, 1);
    struct role_list_ctx ctx = {fn, arg};
    return db_page_step(s, p, role_list_row, &ctx, e);
}

/* By id, or by name when name != NULL. */
static int
role_get_on(db_conn *c, int64_t id, const char *name, struct db_role *out, err *e)
{
    DB_STMT s = name ? db_conn_stmt(c, "SELECT " ROLE_COLS " FROM role r WHERE r.name = ?1", e)
                     : db_conn_stmt(c, "SELECT " ROLE_COLS " FROM role r WHERE r.id = ?1", e);
    if (!s)
        return -1;
    if (name)
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, id);
    if (db_store_row(s, e, "No such role.") < 0)
        return -1;
    role_row(s, out);
    return 0;
}

int
db_role_get(db *d, int64_t id, struct db_role *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? role_get_on(c, id, NULL, out, e) : -1;
}

int
db_role_find_name(db *d, const char *name, struct db_role *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? role_get_on(c, 0, name, out, e) : -1;
}

/* ---- roles: writes ---- */

static int
role_set_perms(db_conn *c, int64_t id, perm_set perms, err *e)
{
    db_conn_identity_changed(c); /* role_permission is WITHOUT ROWID: no update hook */
    if (db_store_exec_id_text(c, "DELETE FROM role_permission WHERE role_id = ?1", id, NULL, e) < 0)
        return -1;
    DB_STMT ins =
        db_conn_stmt(c, "INSERT INTO role_permission(role_id, permission) VALUES (?1, ?2)", e);
    if (!ins)
        return -1;
    for (int p = PERM_FIRST_GRANTABLE; p < PERM_COUNT; p++) {
        if (!perm_set_has(perms, (enum perm)p))
            continue;
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_text(ins, 2, perm_name((enum perm)p), -1, SQLITE_STATIC);
        if (db_store_done(ins, e) < 0)
            return -1;
    }
    return 0;
}

/* Is the built-in table already stored exactly (checked on a reader)? */
static int
builtin_in_sync(db *d, bool *yes, err *e)
{
    size_t n;
    const struct auth_builtin_role *b = auth_builtin_roles(&n);
    *yes = true;
    for (size_t i = 0; i < n && *yes; i++) {
        struct db_role r;
        err ge = {0};
        if (db_role_find_name(d, b[i].name, &r, &ge) < 0) {
            if (ge.kind != ERR_NOT_FOUND)
                return err_copy(e, &ge);
            *yes = false;
            break;
        }
        *yes = r.builtin && r.perms == b[i].perms && !strcmp(r.description, b[i].description);
    }
    return 0;
}

static int
builtin_sync_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    size_t n;
    const struct auth_builtin_role *b = auth_builtin_roles(&n);
    for (size_t i = 0; i < n; i++) {
        DB_STMT s = db_conn_stmt(c,
                                 "INSERT INTO role(name, description, builtin) VALUES (?1, ?2, 1)"
                                 " ON CONFLICT(name) DO UPDATE SET description ="
                                 " excluded.description, builtin = 1 RETURNING id",
                                 e);
        if (!s)
            return -1;
        sqlite3_bind_text(s, 1, b[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, b[i].description, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            return db_sqlite_err(e, rc);
        int64_t id = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        if (role_set_perms(c, id, b[i].perms, e) < 0)
            return -1;
    }
    return 0;
}

int
db_role_sync_builtin(db *d, err *e)
{
    bool in_sync = false;
    if (builtin_in_sync(d, &in_sync, e) < 0)
        return -1;
    if (in_sync)
        return 0;
    struct db_audit a = {.actor = "system", .action = "role.sync_builtin", .target = "role"};
    return db_mutate(d, builtin_sync_apply, NULL, &a, e);
}

struct role_job {
    int64_t id;
    const char *name, *description;
    bool set_perms;
    perm_set perms;
    const struct db_actor *actor;
    char target[40];
    json_t *details;
};

static int
role_definable(db_conn *c, const struct role_job *j, err *e)
{
    bool ok = false;
    if (actor_can_grant(c, j->actor, j->perms, 0, &ok, e) < 0)
        return -1;
    if (!ok)
        return err_set(e, ERR_FORBIDDEN,
                       "Defining roles needs role.admin globally, and a role can only hold "
                       "permissions you hold globally.");
    return 0;
}

static int
role_name_free(db_conn *c, const char *name, int64_t except_id, err *e)
{
    struct db_role other;
    err ge = {0};
    if (role_get_on(c, 0, name, &other, &ge) == 0 && other.id != except_id)
        return db_conflict(e, "name", "A role named '%s' exists.", name);
    if (ge.kind != ERR_NONE && ge.kind != ERR_NOT_FOUND)
        return err_copy(e, &ge);
    return 0;
}

static int
role_create_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct role_job *j = arg;
    if (role_definable(c, j, e) < 0 || role_name_free(c, j->name, 0, e) < 0)
        return -1;
    DB_STMT s =
        db_conn_stmt(c, "INSERT INTO role(name, description, builtin) VALUES (?1, ?2, 0)", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, j->description ? j->description : "", -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    if (role_set_perms(c, j->id, j->perms, e) < 0)
        return -1;
    snprintf(j->target, sizeof(j->target), "role/%lld", (long long)j->id);
    a->target = j->target;
    return 0;
}

int
db_role_create(db *d, const char *name, const char *description, perm_set perms,
               const struct db_actor *actor, struct db_audit *a, int64_t *id_out, err *e)
{
    struct role_job j = {.name = name, .description = description, .perms = perms, .actor = actor};
    json_t *details =
        json_pack("{s:s,s:s,s:o}", "name", name, "description", description ? description : "",
                  "permissions", perm_set_to_json(perms));
    int rc = db_store_mutate(d, role_create_apply, &j, a, details, e);
    if (rc == 0 && id_out)
        *id_out = j.id;
    return rc;
}

static void
role_details(json_t *details, const struct db_role *old, const struct role_job *j)
{
    db_store_detail_change(details, "name", old->name, j->name);
    db_store_detail_change(details, "description", old->description, j->description);
    if (j->set_perms && old->perms != j->perms)
        json_object_set_new(details, "permissions",
                            json_pack("{s:o,s:o}", "before", perm_set_to_json(old->perms), "after",
                                      perm_set_to_json(j->perms)));
}

static int
role_update_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct role_job *j = arg;
    struct db_role old;
    if (role_get_on(c, j->id, NULL, &old, e) < 0)
        return -1;
    if (old.builtin)
        return db_conflict(e, NULL, "Built-in role '%s' cannot be changed.", old.name);
    if (!j->set_perms)
        j->perms = old.perms; /* what the actor must be able to grant, unchanged */
    if (role_definable(c, j, e) < 0 || (j->name && role_name_free(c, j->name, j->id, e) < 0))
        return -1;
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE role SET name = ifnull(?2, name),"
                             " description = ifnull(?3, description) WHERE id = ?1",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, j->description, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    if (j->set_perms && role_set_perms(c, j->id, j->perms, e) < 0)
        return -1;
    role_details(j->details, &old, j);
    a->details = j->details;
    return 0;
}

int
db_role_update(db *d, int64_t id, const char *name, const char *description, bool set_perms,
               perm_set perms, const struct db_actor *actor, struct db_audit *a, err *e)
{
    struct role_job j = {.id = id,
                         .name = name,
                         .description = description,
                         .set_perms = set_perms,
                         .perms = perms,
                         .actor = actor,
                         .details = json_object()};
    snprintf(j.target, sizeof(j.target), "role/%lld", (long long)id);
    a->target = j.target;
    return db_store_mutate(d, role_update_apply, &j, a, j.details, e);
}

static int
role_delete_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct role_job *j = arg;
    struct db_role old;
    bool found = false;
    int64_t uses = 0, unused = 0;
    if (role_get_on(c, j->id, NULL, &old, e) < 0)
        return -1;
    if (old.builtin)
        return db_conflict(e, NULL, "Built-in role '%s' cannot be deleted.", old.name);
    if (lookup2(c, "SELECT count(*) FROM role_binding WHERE role_id = ?1", j->id, &found, &uses,
                &unused, e) < 0)
        return -1;
    if (uses)
        return db_conflict(e, NULL, "Role '%s' is bound %lld time(s); remove its bindings first.",
                           old.name, (long long)uses);
    if (db_store_exec_id_text(c, "DELETE FROM role WHERE id = ?1", j->id, NULL, e) < 0)
        return -1;
    json_object_set_new(j->details, "name", json_string(old.name));
    json_object_set_new(j->details, "permissions", perm_set_to_json(old.perms));
    a->details = j->details;
    return 0;
}

int
db_role_delete(db *d, int64_t id, struct db_audit *a, err *e)
{
    struct role_job j = {.id = id, .details = json_object()};
    snprintf(j.target, sizeof(j.target), "role/%lld", (long long)id);
    a->target = j.target;
    return db_store_mutate(d, role_delete_apply, &j, a, j.details, e);
}

/* ---- role bindings ---- */

#define BINDING_COLS                                                                               \
    "b.id, b.subject_kind, b.subject_id, b.role_id, r.name, (SELECT group_concat(permission, ' ')" \
    " FROM role_permission WHERE role_id = b.role_id), ifnull(b.tenant_id, 0), b.created_at"

#define BINDING_LIST(key, cmp, dir)                                                                \
    "SELECT " BINDING_COLS ", " key " FROM role_binding b JOIN role r ON r.id = b.role_id"         \
    " WHERE (?1 IS NULL OR b.tenant_id IN (SELECT value FROM json_each(?1)))"                      \
    " AND (?2 IS NULL OR b.subject_kind = ?2) AND (?3 = 0 OR b.subject_id = ?3)"                   \
    " AND (?4 = 0 OR b.role_id = ?4) AND (?5 < 0 OR ifnull(b.tenant_id, 0) = ?5)"                  \
    " AND " DB_PAGE_KEYSET(key, "b.id", cmp, dir, 6, 7, 8)

static const char *const binding_list_sql[DB_BINDING_SORT_COUNT][2] = {
    [DB_BINDING_SORT_ID] = DB_PAGE_SORT(BINDING_LIST, "printf('%020d', b.id)"),
};

static void
binding_row(sqlite3_stmt *s, struct db_binding *b)
{
    b->id = sqlite3_column_int64(s, 0);
    db_row_text(s, 1, b->subject_kind, sizeof(b->subject_kind));
    b->subject_id = sqlite3_column_int64(s, 2);
    b->role_id = sqlite3_column_int64(s, 3);
    db_row_text(s, 4, b->role, sizeof(b->role));
    b->perms = db_role_perms_parse((const char *)sqlite3_column_text(s, 5));
    b->tenant_id = sqlite3_column_int64(s, 6);
    db_row_text(s, 7, b->created_at, sizeof(b->created_at));
}

struct binding_list_ctx {
    db_binding_row_fn fn;
    void *arg;
};

static int
binding_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct binding_list_ctx *ctx = arg;
    struct db_binding b;
    binding_row(s, &b);
    return ctx->fn(ctx->arg, &b, key, e);
}

int
db_binding_list(db *d, const struct db_binding_filter *f, struct db_page *p, db_binding_row_fn fn,
                void *arg, err *e)
{
    DB_STMT s = db_page_stmt(d, binding_list_sql, DB_BINDING_SORT_COUNT, p, e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, f->visible, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->subject_kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, f->subject_id);
    sqlite3_bind_int64(s, 4, f->role_id);
    sqlite3_bind_int64(s, 5, f->tenant_id);
    db_page_bind(s, p, 6);
    struct binding_list_ctx ctx = {fn, arg};
    return db_page_step(s, p, binding_list_row, &ctx, e);
}

static int
binding_get_on(db_conn *c, int64_t id, struct db_binding *out, err *e)
{
    DB_STMT s = db_store_get(c,
                             "SELECT " BINDING_COLS " FROM role_binding b JOIN role r"
                             " ON r.id = b.role_id WHERE b.id = ?1",
                             id, e, "No such role binding.");
    if (!s)
        return -1;
    binding_row(s, out);
    return 0;
}

int
db_binding_get(db *d, int64_t id, struct db_binding *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? binding_get_on(c, id, out, e) : -1;
}

struct binding_job {
    const struct db_binding_req *req;
    const struct db_actor *actor; /* NULL: bootstrap, no grant check */
    int64_t id;
    char target[48];
    json_t *details;
};

/* The role of a grant, and whether it may be bound in that scope at all. */
static int
grant_role(db_conn *c, const struct binding_job *j, struct db_role *role, err *e)
{
    const struct db_binding_req *q = j->req;
    err ge = {0};
    if (role_get_on(c, q->role_id, q->role, role, &ge) < 0)
        return ge.kind == ERR_NOT_FOUND
                   ? err_set_field(e, q->role ? "role" : "role_id", "No such role.")
                   : err_copy(e, &ge);
    if (!j->actor && !role->builtin)
        return err_set_field(e, "role", "'%s' is not a built-in role.", role->name);
    const struct auth_builtin_role *br = role->builtin ? auth_builtin_role_find(role->name) : NULL;
    if (br && !auth_builtin_role_bindable(br, q->tenant_id))
        return err_set_field(e, "scope", "Role '%s' cannot be bound %s.", role->name,
                             q->tenant_id ? "within a tenant" : "globally");
    bool tenant_ok = true;
    if (q->tenant_id && db_tenant_exists(c, q->tenant_id, &tenant_ok, e) < 0)
        return -1;
    if (!tenant_ok)
        return err_set_field(e, "tenant_id", "No such tenant.");
    return 0;
}

/* The subject exists and may hold a binding in that scope: a tenant user (or
 * its token) only within its own tenant, a global user anywhere, but within a
 * tenant only for granters who can see global users; a token only when it was
 * created narrowed (a full token already acts with all its owner's rights). */
static int
grant_subject(db_conn *c, const struct db_binding_req *q, err *e)
{
    bool token = !strcmp(q->subject_kind, "token"), found = false;
    int64_t home = 0, narrowed = 1;
    if (lookup2(c,
                token ? "SELECT ifnull(u.tenant_id, 0), t.narrowed FROM api_token t"
                        " JOIN user u ON u.id = t.user_id WHERE t.id = ?1"
                      : "SELECT ifnull(tenant_id, 0), 1 FROM user WHERE id = ?1",
                q->subject_id, &found, &home, &narrowed, e) < 0)
        return -1;
    bool visible =
        found && (q->tenant_id == 0 || home == q->tenant_id || (home == 0 && q->see_global_users));
    if (!visible)
        return err_set_field(e, "subject_id", "No such %s%s.", q->subject_kind,
                             q->tenant_id ? " in this tenant" : "");
    if (q->tenant_id == 0 && home != 0)
        return err_set_field(e, "scope",
                             "A user of a tenant (and its tokens) can only be given roles within "
                             "its tenant.");
    if (!narrowed)
        return db_conflict(e, "subject_id",
                           "Token %lld acts with all its owner's rights; only a token created "
                           "with a narrower role set takes role bindings.",
                           (long long)q->subject_id);
    return 0;
}

static int
binding_exists(db_conn *c, const struct db_binding_req *q, int64_t role_id, err *e)
{
    DB_STMT s =
        db_conn_stmt(c,
                     "SELECT 1 FROM role_binding WHERE subject_kind = ?1 AND subject_id = ?2"
                     " AND role_id = ?3 AND ifnull(tenant_id, 0) = ?4",
                     e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, q->subject_kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, q->subject_id);
    sqlite3_bind_int64(s, 3, role_id);
    sqlite3_bind_int64(s, 4, q->tenant_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return db_conflict(e, NULL, "This role binding exists already.");
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
binding_insert(db_conn *c, const struct db_binding_req *q, int64_t role_id, int64_t *id, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO role_binding(subject_kind, subject_id, role_id, scope,"
                             " tenant_id) VALUES (?1, ?2, ?3, CASE WHEN ?4 = 0 THEN 'global'"
                             " ELSE 'tenant' END, nullif(?4, 0))",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, q->subject_kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, q->subject_id);
    sqlite3_bind_int64(s, 3, role_id);
    sqlite3_bind_int64(s, 4, q->tenant_id);
    if (db_store_done(s, e) < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    return 0;
}

static void
binding_details(json_t *details, const char *kind, int64_t subject_id, const char *role,
                int64_t tenant_id)
{
    json_object_set_new(details, "subject_kind", json_string(kind));
    json_object_set_new(details, "subject_id", json_integer(subject_id));
    json_object_set_new(details, "role", json_string(role));
    json_object_set_new(details, "scope", json_string(tenant_id ? "tenant" : "global"));
    json_object_set_new(details, "tenant_id", tenant_id ? json_integer(tenant_id) : json_null());
}

/* The order matters: the grant check comes before the subject check, so a
 * caller without the right to grant learns nothing about subjects. */
static int
binding_create_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct binding_job *j = arg;
    const struct db_binding_req *q = j->req;
    struct db_role role;
    bool ok = true;
    if (grant_role(c, j, &role, e) < 0)
        return -1;
    if (j->actor && actor_can_grant(c, j->actor, role.perms, q->tenant_id, &ok, e) < 0)
        return -1;
    if (!ok)
        return err_set(e, ERR_FORBIDDEN,
                       "You cannot grant role '%s' %s: it needs role.admin and every permission "
                       "of the role in that scope.",
                       role.name, q->tenant_id ? "in this tenant" : "globally");
    if (grant_subject(c, q, e) < 0 || binding_exists(c, q, role.id, e) < 0 ||
        binding_insert(c, q, role.id, &j->id, e) < 0)
        return -1;
    snprintf(j->target, sizeof(j->target), "role_binding/%lld", (long long)j->id);
    a->target = j->target;
    a->tenant_id = q->tenant_id;
    binding_details(j->details, q->subject_kind, q->subject_id, role.name, q->tenant_id);
    a->details = j->details;
    return 0;
}

static int
binding_create_run(db *d, struct binding_job *j, struct db_audit *a, int64_t *id_out, err *e)
{
    j->details = json_object();
    int rc = db_store_mutate(d, binding_create_apply, j, a, j->details, e);
    if (rc == 0 && id_out)
        *id_out = j->id;
    return rc;
}

int
db_binding_create(db *d, const struct db_binding_req *req, const struct db_actor *actor,
                  struct db_audit *a, int64_t *id_out, err *e)
{
    if (!actor)
        return err_set(e, ERR_INTERNAL, "a grant needs an actor");
    struct binding_job j = {.req = req, .actor = actor};
    return binding_create_run(d, &j, a, id_out, e);
}

int
db_binding_create_builtin(db *d, const char *subject_kind, int64_t subject_id,
                          const char *role_name, int64_t tenant_id, struct db_audit *a,
                          int64_t *id_out, err *e)
{
    struct db_binding_req req = {.subject_kind = subject_kind,
                                 .subject_id = subject_id,
                                 .role = role_name,
                                 .tenant_id = tenant_id,
                                 .see_global_users = true};
    struct binding_job j = {.req = &req};
    return binding_create_run(d, &j, a, id_out, e);
}

static int
binding_delete_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct binding_job *j = arg;
    struct db_binding b;
    bool ok = false;
    if (binding_get_on(c, j->id, &b, e) < 0)
        return -1;
    a->tenant_id = b.tenant_id;
    if (actor_can_grant(c, j->actor, b.perms, b.tenant_id, &ok, e) < 0)
        return -1;
    bool last = false;
    if (ok && !b.tenant_id && !strcmp(b.subject_kind, "user") && !strcmp(b.role, "admin") &&
        db_last_admin(c, b.subject_id, &last, e) < 0)
        return -1;
    if (last)
        return db_conflict(e, NULL, "This is the last administrator's admin binding.");
    if (!ok)
        return err_set(e, ERR_FORBIDDEN,
                       "You cannot remove this binding of role '%s': it needs role.admin and every "
                       "permission of the role in its scope.",
                       b.role);
    if (db_store_exec_id_text(c, "DELETE FROM role_binding WHERE id = ?1", j->id, NULL, e) < 0)
        return -1;
    binding_details(j->details, b.subject_kind, b.subject_id, b.role, b.tenant_id);
    a->details = j->details;
    return 0;
}

int
db_binding_delete(db *d, int64_t id, const struct db_actor *actor, struct db_audit *a, err *e)
{
    if (!actor)
        return err_set(e, ERR_INTERNAL, "removing a grant needs an actor");
    struct binding_job j = {.id = id, .actor = actor, .details = json_object()};
    snprintf(j.target, sizeof(j.target), "role_binding/%lld", (long long)id);
    a->target = j.target;
    return db_store_mutate(d, binding_delete_apply, &j, a, j.details, e);
}
