/* identity: the stores of tenants, users, roles, role bindings and API tokens
 * (db/tenant_store.c, user_store.c, role_store.c, token_store.c), used by the
 * identity routes of api/ and by `virtportal user`.
 *
 * Reads go through the calling thread's reader; every change goes through
 * db_mutate with the caller's audit row (borrowed; a store fills its target
 * and details). Checks that decide who may do what against rights that can
 * change concurrently (a grant, an account change) run INSIDE the write
 * transaction, on the writer's connection: a grant can never be decided on a
 * snapshot that a concurrent demotion has already made stale.
 *
 * Lists are keyset-paginated: rows come ordered by (sort key, id), and a page
 * continues strictly after the (sort key, id) of the last row seen. The sort
 * key is text for every sort (ids are zero-padded), so a cursor is two values.
 * Timestamps are RFC 3339 UTC text; "" in a struct stands for NULL.
 *
 * Ownership: every pointer argument is borrowed (copied when kept); results
 * are filled into caller-provided structs; a row callback's row and key are
 * valid only during the call. */
#ifndef VP_DB_IDENTITY_H
#define VP_DB_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "perms.h"

/* Sizes in bytes, for UTF-8 text of at most N code points. */
enum {
    DB_SLUG_MAX = 63,
    DB_NAME_CHARS = 200,   /* tenant names */
    DB_LOGIN_MAX = 64,     /* ASCII */
    DB_ROLE_CHARS = 64,    /* role names */
    DB_DESC_CHARS = 500,   /* role descriptions */
    DB_TOKNAME_CHARS = 100 /* token names */
};

struct db_tenant {
    int64_t id;
    char slug[DB_SLUG_MAX + 1];
    char name[DB_NAME_CHARS * 4 + 1];
    char created_at[32];
};

struct db_user {
    int64_t id;
    char login[DB_LOGIN_MAX + 1];
    int64_t tenant_id; /* 0 = a global user */
    bool disabled;
    char created_at[32];
};

struct db_role {
    int64_t id;
    char name[DB_ROLE_CHARS * 4 + 1];
    char description[DB_DESC_CHARS * 4 + 1];
    bool builtin;
    perm_set perms;
    char created_at[32];
};

struct db_binding {
    int64_t id;
    char subject_kind[8]; /* "user" or "token" */
    int64_t subject_id;
    int64_t role_id;
    char role[DB_ROLE_CHARS * 4 + 1];
    perm_set perms;    /* the role's permissions, now */
    int64_t tenant_id; /* 0 = scope global */
    char created_at[32];
};

struct db_token {
    int64_t id;
    int64_t user_id;
    char name[DB_TOKNAME_CHARS * 4 + 1];
    char prefix[24]; /* the public lookup id; never the secret */
    bool narrowed;   /* acts with its own bindings intersected with the owner's */
    char expires_at[32], revoked_at[32], last_used_at[32], created_at[32];
};

/* A page of a list: in `limit`, `sort` (the store's enum), `desc` and the
 * cursor (`after_key` NULL = from the start); out `more`. */
struct db_page {
    int limit;
    int sort;
    bool desc;
    const char *after_key; /* sort key of the last row seen, borrowed */
    int64_t after_id;
    bool more; /* out: rows remain after the last one returned */
};

/* Who acts, for the checks that run inside the write transaction: the user
 * and, when the request came with an API token, that token (its rights are
 * the owner's intersected with its own when narrowed). */
struct db_actor {
    int64_t user_id;
    int64_t token_id; /* 0 = a session */
};

/* ---- tenants (tenant_store.c) ---- */

enum db_tenant_sort {
    DB_TENANT_SORT_SLUG,
    DB_TENANT_SORT_NAME,
    DB_TENANT_SORT_CREATED,
    DB_TENANT_SORT_ID,
    DB_TENANT_SORT_COUNT
};

struct db_tenant_filter {
    const char *visible; /* JSON array of tenant ids the caller may see; NULL = all */
    const char *q;       /* substring of slug or name (ASCII case-insensitive); NULL = any */
};

/* Called for each row of a list with the row's sort key (both borrowed, valid
 * during the call). Return 0, or -1 with `e` filled to stop the list. */
typedef int (*db_tenant_row_fn)(void *arg, const struct db_tenant *t, const char *key, err *e);

/* Lists tenants matching f into fn (up to p->limit rows; sets p->more). */
int db_tenant_list(db *d, const struct db_tenant_filter *f, struct db_page *p, db_tenant_row_fn fn,
                   void *arg, err *e);

/* The tenant `id` into *out; ERR_NOT_FOUND. */
int db_tenant_get(db *d, int64_t id, struct db_tenant *out, err *e);

/* The id of the tenant with `slug` (borrowed); ERR_NOT_FOUND. */
int db_tenant_find_slug(db *d, const char *slug, int64_t *id, err *e);

/* Creates a tenant (slug, name borrowed, validated by the caller). ERR_CONFLICT
 * "a tenant with slug X exists". Fills a's target and details; *id_out. */
int db_tenant_create(db *d, const char *slug, const char *name, struct db_audit *a, int64_t *id_out,
                     err *e);

/* Changes slug and/or name (NULL: unchanged). Audit details hold before/after
 * of the changed fields. ERR_NOT_FOUND, ERR_CONFLICT (slug taken). */
int db_tenant_update(db *d, int64_t id, const char *slug, const char *name, struct db_audit *a,
                     err *e);

/* Deletes a tenant that has neither users nor VMs (else ERR_CONFLICT); its
 * role bindings and quotas go with it. ERR_NOT_FOUND. */
int db_tenant_delete(db *d, int64_t id, struct db_audit *a, err *e);

/* ---- users (user_store.c) ---- */

enum db_user_sort { DB_USER_SORT_LOGIN, DB_USER_SORT_CREATED, DB_USER_SORT_ID, DB_USER_SORT_COUNT };

struct db_user_filter {
    const char *visible; /* JSON array of tenant ids; NULL = all users incl. global ones */
    int64_t tenant_id;   /* -1 = any, 0 = global users only, else that tenant */
    const char *login;   /* login prefix (case-insensitive); NULL = any */
    const char *q;       /* login substring (ASCII case-insensitive); NULL = any */
    int disabled;        /* -1 = any, 0, 1 */
};

typedef int (*db_user_row_fn)(void *arg, const struct db_user *u, const char *key, err *e);

int db_user_list(db *d, const struct db_user_filter *f, struct db_page *p, db_user_row_fn fn,
                 void *arg, err *e);

/* The user `id` / called `login` (case-insensitive) into *out; ERR_NOT_FOUND.
 * The password hash is never read here. */
int db_user_get(db *d, int64_t id, struct db_user *out, err *e);
int db_user_find_login(db *d, const char *login, struct db_user *out, err *e);

/* Number of users. */
int db_user_count(db *d, int64_t *n, err *e);

/* Creates a user with an Argon2id `password_hash` (all borrowed; login and
 * hash checked by the caller) in tenant_id (0 = global). ERR_CONFLICT "a user
 * with login X exists"; ERR_INVALID (field tenant_id) when the tenant does not
 * exist. Fills a's target and details (never the hash); *id_out. */
int db_user_create(db *d, const char *login, const char *password_hash, int64_t tenant_id,
                   struct db_audit *a, int64_t *id_out, err *e);

/* CLI: sets the password hash / the disabled flag of `login` and ends its
 * sessions (refresh tokens revoked). ERR_NOT_FOUND. */
int db_user_set_password(db *d, const char *login, const char *hash, struct db_audit *a, err *e);
int db_user_set_disabled(db *d, const char *login, bool disabled, struct db_audit *a, err *e);

/* API: changes the password hash (NULL: unchanged) and/or the disabled flag
 * (-1: unchanged) of user `id`; a new password or disabling ends the user's
 * sessions. With `actor` (NULL for the CLI), refuses (ERR_FORBIDDEN) unless the
 * actor holds, right now, every permission the user holds in each scope: nobody
 * takes over an account more powerful than their own. */
int db_user_update(db *d, int64_t id, const char *hash, int disabled, const struct db_actor *actor,
                   struct db_audit *a, err *e);

/* Deletes user `id` with its tokens, bindings and sessions, under the same
 * actor rule as db_user_update. ERR_NOT_FOUND, ERR_FORBIDDEN. */
int db_user_delete(db *d, int64_t id, const struct db_actor *actor, struct db_audit *a, err *e);

/* ---- roles and bindings (role_store.c) ---- */

enum db_role_sort { DB_ROLE_SORT_NAME, DB_ROLE_SORT_CREATED, DB_ROLE_SORT_ID, DB_ROLE_SORT_COUNT };

typedef int (*db_role_row_fn)(void *arg, const struct db_role *r, const char *key, err *e);

/* Idempotent upsert of auth_builtin_roles() into role / role_permission (run
 * at every start, and by the CLI). Writes (with an audit row, actor "system")
 * only when something differs. */
int db_role_sync_builtin(db *d, err *e);

int db_role_list(db *d, struct db_page *p, db_role_row_fn fn, void *arg, err *e);

/* The role `id` / called `name` into *out; ERR_NOT_FOUND. */
int db_role_get(db *d, int64_t id, struct db_role *out, err *e);
int db_role_find_name(db *d, const char *name, struct db_role *out, err *e);

/* Creates a custom role. The actor must hold role.admin and every one of
 * `perms` globally, checked in the transaction (ERR_FORBIDDEN). ERR_CONFLICT
 * when the name exists. */
int db_role_create(db *d, const char *name, const char *description, perm_set perms,
                   const struct db_actor *actor, struct db_audit *a, int64_t *id_out, err *e);

/* Changes a custom role: name / description (NULL: unchanged), perms (when
 * set_perms). Built-in roles are immutable (ERR_CONFLICT). The new permission
 * set must be grantable by the actor (as for create). ERR_NOT_FOUND. */
int db_role_update(db *d, int64_t id, const char *name, const char *description, bool set_perms,
                   perm_set perms, const struct db_actor *actor, struct db_audit *a, err *e);

/* Deletes a custom role that no binding uses (ERR_CONFLICT otherwise, and
 * for built-ins). ERR_NOT_FOUND. */
int db_role_delete(db *d, int64_t id, struct db_audit *a, err *e);

enum db_binding_sort { DB_BINDING_SORT_ID, DB_BINDING_SORT_COUNT };

struct db_binding_filter {
    const char *visible;      /* JSON array of tenant ids; NULL = all incl. global bindings */
    const char *subject_kind; /* NULL = any */
    int64_t subject_id;       /* 0 = any */
    int64_t role_id;          /* 0 = any */
    int64_t tenant_id;        /* -1 = any, 0 = global bindings, else that tenant */
};

typedef int (*db_binding_row_fn)(void *arg, const struct db_binding *b, const char *key, err *e);

int db_binding_list(db *d, const struct db_binding_filter *f, struct db_page *p,
                    db_binding_row_fn fn, void *arg, err *e);

/* The binding `id` into *out; ERR_NOT_FOUND. */
int db_binding_get(db *d, int64_t id, struct db_binding *out, err *e);

/* A grant request, validated for shape by the caller. */
struct db_binding_req {
    const char *subject_kind; /* "user" | "token" */
    int64_t subject_id;
    const char *role;      /* role name, or NULL when role_id is given */
    int64_t role_id;       /* 0 when by name */
    int64_t tenant_id;     /* 0 = scope global */
    bool see_global_users; /* may the granter see global users (user.read globally)? */
};

/* Grants: inside the transaction, checks that the role exists and may be
 * bound in that scope (built-ins: auth_builtin_role_bindable), the tenant and
 * the subject exist (a tenant user only within its tenant; a global user
 * within a tenant only when see_global_users; a token only when narrowed, see
 * its owner), and that the actor — its bindings re-read on the writer's
 * connection — may grant it (auth_can_grant). ERR_INVALID with a field for a
 * bad reference, ERR_FORBIDDEN, ERR_CONFLICT (exists, token not narrowed). */
int db_binding_create(db *d, const struct db_binding_req *req, const struct db_actor *actor,
                      struct db_audit *a, int64_t *id_out, err *e);

/* Bootstrap / CLI: binds built-in role `role_name` to a subject, with no grant
 * check (still: role bindable in that scope, subject and tenant exist). */
int db_binding_create_builtin(db *d, const char *subject_kind, int64_t subject_id,
                              const char *role_name, int64_t tenant_id, struct db_audit *a,
                              int64_t *id_out, err *e);

/* Removes binding `id`; the actor must be able to grant it (same rule as
 * create, checked in the transaction). ERR_NOT_FOUND, ERR_FORBIDDEN. */
int db_binding_delete(db *d, int64_t id, const struct db_actor *actor, struct db_audit *a, err *e);

/* ---- API tokens (token_store.c) ---- */

enum db_token_sort {
    DB_TOKEN_SORT_NAME,
    DB_TOKEN_SORT_EXPIRES,
    DB_TOKEN_SORT_CREATED,
    DB_TOKEN_SORT_ID,
    DB_TOKEN_SORT_COUNT
};

typedef int (*db_token_row_fn)(void *arg, const struct db_token *t, const char *key, err *e);

/* Tokens of user_id (0 = every user's). */
int db_token_list(db *d, int64_t user_id, struct db_page *p, db_token_row_fn fn, void *arg, err *e);

/* The token `id` into *out (never its hash); ERR_NOT_FOUND. */
int db_token_get(db *d, int64_t id, struct db_token *out, err *e);

/* One role a token is narrowed to: by name, in scope tenant_id (0 = global).
 * With `from_owner`, the scopes are those of the owner's own bindings of that
 * role instead (tenant_id ignored). */
struct db_token_role {
    const char *role;
    int64_t tenant_id;
    bool from_owner;
};

/* Stores a new token of user_id: name, the public prefix and the SHA-256 hex
 * of the whole secret (never the secret), expires_at (RFC 3339 or NULL). With
 * nroles > 0 the token is narrowed to those roles; each must exist, be
 * bindable in its scope and hold nothing the owner lacks there now (checked
 * in the transaction; ERR_INVALID field "roles"). ERR_CONFLICT when the owner
 * has a token of that name. */
int db_token_create(db *d, int64_t user_id, const char *name, const char *prefix, const char *hash,
                    const char *expires_at, const struct db_token_role *roles, size_t nroles,
                    struct db_audit *a, int64_t *id_out, err *e);

/* Sets revoked_at = now_rfc3339 unless already revoked (*changed tells).
 * ERR_NOT_FOUND. */
int db_token_revoke(db *d, int64_t id, const char *now_rfc3339, struct db_audit *a, bool *changed,
                    err *e);

#ifdef VP_DB_INTERNAL
/* ---- shared by the identity stores only ---- */
#include "db_internal.h"

/* Column i as text into buf[n] ("" for NULL). */
void db_row_text(sqlite3_stmt *s, int i, char *buf, size_t n);

/* Binds the page at parameters first (after key), first+1 (after id) and
 * first+2 (limit + 1). */
void db_page_bind(sqlite3_stmt *s, const struct db_page *p, int first);

/* Steps a list statement whose last column is the sort key: row() for up to
 * p->limit rows, then p->more. */
int db_page_step(sqlite3_stmt *s, struct db_page *p,
                 int (*row)(sqlite3_stmt *s, const char *key, void *arg, err *e), void *arg,
                 err *e);

/* The effective permissions of `actor` on objects of tenant_id (0 = global)
 * read on connection c — inside a write transaction, the truth of that
 * moment. A missing or disabled user, a revoked or foreign token: 0. */
int db_actor_effective(db_conn *c, const struct db_actor *actor, int64_t tenant_id, perm_set *out,
                       err *e);

/* Does `actor` hold every permission that subject (kind, id) holds, in each
 * scope of the subject's bindings? */
int db_actor_covers(db_conn *c, const struct db_actor *actor, const char *kind, int64_t id,
                    bool *ok, err *e);

/* Is user_id the only enabled user holding the built-in admin role globally?
 * (The API refuses to disable, delete or unbind it: that would lock everyone
 * out; the CLI, the recovery tool, may.) */
int db_last_admin(db_conn *c, int64_t user_id, bool *last, err *e);

/* A perm_set from space-separated permission names (unknown ones skipped). */
perm_set db_role_perms_parse(const char *names);

/* ERR_CONFLICT naming the input field at fault (may be NULL); returns -1. */
int db_conflict(err *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Does tenant `id` exist (on c)? */
int db_tenant_exists(db_conn *c, int64_t id, bool *yes, err *e);
#endif

#endif
