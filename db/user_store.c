/* user_store: local users (the password hash is written here, never read
 * back out of db/ by this store). See identity.h. */
#include "identity.h"

#include <stdio.h>
#include <string.h>

#include "page_int.h"
#include "store_int.h"

#define USER_COLS "id, login, ifnull(tenant_id, 0), disabled, created_at"

#define USER_LIST(key, cmp, dir)                                                                   \
    "SELECT " USER_COLS ", " key " FROM user"                                                      \
    " WHERE (?1 IS NULL OR tenant_id IN (SELECT value FROM json_each(?1)))"                        \
    " AND (?2 < 0 OR ifnull(tenant_id, 0) = ?2)"                                                   \
    " AND (?3 IS NULL OR substr(login, 1, length(?3)) = ?3 COLLATE NOCASE)"                        \
    " AND (?4 IS NULL OR instr(lower(login), lower(?4)) > 0)"                                      \
    " AND (?5 < 0 OR disabled = ?5)"                                                               \
    " AND " DB_PAGE_KEYSET(key, "id", cmp, dir, 6, 7, 8)
#define USER_SORT(key) DB_PAGE_SORT(USER_LIST, key)

static const char *const user_list_sql[DB_USER_SORT_COUNT][2] = {
    [DB_USER_SORT_LOGIN] = USER_SORT("login"),
    [DB_USER_SORT_CREATED] = USER_SORT("created_at"),
    [DB_USER_SORT_ID] = USER_SORT("printf('%020d', id)"),
};

static void
user_row(sqlite3_stmt *s, struct db_user *u)
{
    u->id = sqlite3_column_int64(s, 0);
    db_row_text(s, 1, u->login, sizeof(u->login));
    u->tenant_id = sqlite3_column_int64(s, 2);
    u->disabled = sqlite3_column_int(s, 3) != 0;
    db_row_text(s, 4, u->created_at, sizeof(u->created_at));
}

struct user_list_ctx {
    db_user_row_fn fn;
    void *arg;
};

static int
user_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct user_list_ctx *ctx = arg;
    struct db_user u;
    user_row(s, &u);
    return ctx->fn(ctx->arg, &u, key, e);
}

int
db_user_list(db *d, const struct db_user_filter *f, struct db_page *p, db_user_row_fn fn, void *arg,
             err *e)
{
    DB_STMT s = db_page_stmt(d, user_list_sql, DB_USER_SORT_COUNT, p, e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, f->visible, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, f->tenant_id);
    sqlite3_bind_text(s, 3, f->login, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, f->q, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, f->disabled);
    db_page_bind(s, p, 6);
    struct user_list_ctx ctx = {fn, arg};
    return db_page_step(s, p, user_list_row, &ctx, e);
}

/* By id, or by login when login != NULL. */
static int
user_get_on(db_conn *c, int64_t id, const char *login, struct db_user *out, err *e)
{
    DB_STMT s = login ? db_conn_stmt(c, "SELECT " USER_COLS " FROM user WHERE login = ?1", e)
                      : db_conn_stmt(c, "SELECT " USER_COLS " FROM user WHERE id = ?1", e);
    if (!s)
        return -1;
    if (login)
        sqlite3_bind_text(s, 1, login, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, id);
    if ((login ? db_store_row(s, e, "No user has the login '%s'.", login)
               : db_store_row(s, e, "No such user.")) < 0)
        return -1;
    user_row(s, out);
    return 0;
}

int
db_user_get(db *d, int64_t id, struct db_user *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? user_get_on(c, id, NULL, out, e) : -1;
}

int
db_user_find_login(db *d, const char *login, struct db_user *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? user_get_on(c, 0, login, out, e) : -1;
}

int
db_user_count(db *d, int64_t *n, err *e)
{
    db_conn *c = db_reader(d, e);
    if (!c)
        return -1;
    DB_STMT s = db_conn_stmt(c, "SELECT count(*) FROM user", e);
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    *n = sqlite3_column_int64(s, 0);
    return 0;
}

/* ---- writes ---- */

struct user_job {
    int64_t id;
    const char *login, *hash;
    int64_t tenant_id;
    int disabled; /* -1 = unchanged */
    bool delete;
    const struct db_actor *actor;
    char target[40];
    json_t *details;
};

static int
user_create_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct user_job *j = arg;
    struct db_user other;
    bool tenant_ok = true;
    if (j->tenant_id && db_tenant_exists(c, j->tenant_id, &tenant_ok, e) < 0)
        return -1;
    if (!tenant_ok)
        return err_set_field(e, "tenant_id", "No such tenant.");
    if (user_get_on(c, 0, j->login, &other, e) == 0)
        return db_conflict(e, "login", "A user with login '%s' exists.", other.login);
    DB_STMT s = db_conn_stmt(
        c, "INSERT INTO user(login, password_hash, tenant_id) VALUES (?1, ?2, nullif(?3, 0))", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->login, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, j->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, j->tenant_id);
    if (db_store_done(s, e) < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    snprintf(j->target, sizeof(j->target), "user/%lld", (long long)j->id);
    a->target = j->target;
    a->tenant_id = j->tenant_id;
    return 0;
}

int
db_user_create(db *d, const char *login, const char *password_hash, int64_t tenant_id,
               struct db_audit *a, int64_t *id_out, err *e)
{
    struct user_job j = {.login = login, .hash = password_hash, .tenant_id = tenant_id};
    json_t *details = json_pack("{s:s,s:o}", "login", login, "tenant_id",
                                tenant_id ? json_integer(tenant_id) : json_null());
    int rc = db_store_mutate(d, user_create_apply, &j, a, details, e);
    if (rc == 0 && id_out)
        *id_out = j.id;
    return rc;
}

/* A new password or a disabled account ends every session of the user. */
static int
user_end_sessions(db_conn *c, int64_t id, err *e)
{
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    DB_STMT s = db_conn_stmt(
        c, "UPDATE refresh_token SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, now, -1, SQLITE_TRANSIENT);
    return db_store_done(s, e);
}

/* Loads the target (by id or login) and applies the actor rule; the API never
 * disables or deletes the last administrator. */
static int
user_target(db_conn *c, struct user_job *j, struct db_user *u, struct db_audit *a, err *e)
{
    if (user_get_on(c, j->id, j->login, u, e) < 0)
        return -1;
    j->id = u->id;
    snprintf(j->target, sizeof(j->target), "user/%lld", (long long)u->id);
    a->target = j->target;
    a->tenant_id = u->tenant_id;
    bool ok = true;
    if (j->actor && db_actor_covers(c, j->actor, "user", u->id, &ok, e) < 0)
        return -1;
    if (!ok)
        return err_set(e, ERR_FORBIDDEN,
                       "User '%s' holds permissions you do not hold; you cannot change "
                       "their account.",
                       u->login);
    bool last = false;
    bool removes = j->delete || j->disabled == 1;
    if (j->actor && removes && db_last_admin(c, u->id, &last, e) < 0)
        return -1;
    if (last)
        return db_conflict(e, NULL, "'%s' is the last administrator.", u->login);
    json_object_set_new(j->details, "login", json_string(u->login));
    return 0;
}

static int
user_update_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct user_job *j = arg;
    struct db_user u;
    if (user_target(c, j, &u, a, e) < 0)
        return -1;
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE user SET password_hash = ifnull(?2, password_hash),"
                             " disabled = CASE WHEN ?3 < 0 THEN disabled ELSE ?3 END WHERE id = ?1",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, u.id);
    sqlite3_bind_text(s, 2, j->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, j->disabled);
    if (db_store_done(s, e) < 0)
        return -1;
    if ((j->hash || j->disabled == 1) && user_end_sessions(c, u.id, e) < 0)
        return -1;
    if (j->hash)
        json_object_set_new(j->details, "password_changed", json_true());
    if (j->disabled >= 0 && (bool)j->disabled != u.disabled)
        json_object_set_new(j->details, "disabled",
                            json_pack("{s:b,s:b}", "before", u.disabled, "after", j->disabled));
    a->details = j->details;
    return 0;
}

static int
user_update_run(db *d, struct user_job *j, struct db_audit *a, err *e)
{
    j->details = json_object();
    return db_store_mutate(d, user_update_apply, j, a, j->details, e);
}

int
db_user_set_password(db *d, const char *login, const char *hash, struct db_audit *a, err *e)
{
    struct user_job j = {.login = login, .hash = hash, .disabled = -1};
    return user_update_run(d, &j, a, e);
}

int
db_user_set_disabled(db *d, const char *login, bool disabled, struct db_audit *a, err *e)
{
    struct user_job j = {.login = login, .disabled = disabled};
    return user_update_run(d, &j, a, e);
}

int
db_user_update(db *d, int64_t id, const char *hash, int disabled, const struct db_actor *actor,
               struct db_audit *a, err *e)
{
    struct user_job j = {.id = id, .hash = hash, .disabled = disabled, .actor = actor};
    return user_update_run(d, &j, a, e);
}

static int
user_delete_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct user_job *j = arg;
    struct db_user u;
    if (user_target(c, j, &u, a, e) < 0)
        return -1;
    /* Tokens first, by a direct DELETE, so their bindings' trigger fires; the
     * user's own bindings go with the user (trigger), sessions by cascade. */
    if (db_store_exec_id_text(c, "DELETE FROM api_token WHERE user_id = ?1", u.id, NULL, e) < 0 ||
        db_store_exec_id_text(c, "DELETE FROM user WHERE id = ?1", u.id, NULL, e) < 0)
        return -1;
    json_object_set_new(j->details, "tenant_id",
                        u.tenant_id ? json_integer(u.tenant_id) : json_null());
    a->details = j->details;
    return 0;
}

int
db_user_delete(db *d, int64_t id, const struct db_actor *actor, struct db_audit *a, err *e)
{
    struct user_job j = {.id = id, .actor = actor, .delete = true, .details = json_object()};
    return db_store_mutate(d, user_delete_apply, &j, a, j.details, e);
}
