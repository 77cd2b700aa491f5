#include "db_internal.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "perms.h"

void
db_time_format(int64_t t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

int64_t
db_time_parse(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm);
}

static void
copy_text(char *dst, size_t n, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static int
user_row(sqlite3_stmt *s, struct db_session_user *u, err *e)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return err_set(e, ERR_NOT_FOUND, "No such user.");
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    u->id = sqlite3_column_int64(s, 0);
    copy_text(u->login, sizeof(u->login), s, 1);
    u->tenant_id = sqlite3_column_int64(s, 2);
    u->disabled = sqlite3_column_int(s, 3) != 0;
    copy_text(u->password_hash, sizeof(u->password_hash), s, 4);
    copy_text(u->totp_secret, sizeof(u->totp_secret), s, 5);
    return 0;
}

#define USER_COLUMNS "id, login, ifnull(tenant_id, 0), disabled, password_hash, totp_secret"

int
db_session_user_by_login(db *d, const char *login, struct db_session_user *u, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, "SELECT " USER_COLUMNS " FROM user WHERE login = ?1", e) : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, login, -1, SQLITE_STATIC);
    return user_row(s, u, e);
}

int
db_session_user_by_id(db *d, int64_t id, struct db_session_user *u, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, "SELECT " USER_COLUMNS " FROM user WHERE id = ?1", e) : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    return user_row(s, u, e);
}

/* Adds permission `name` for tenant_id to the folded list (one entry per scope). */
static int
fold_binding(struct auth_binding **out, size_t *n, size_t *cap, int64_t tenant_id, const char *name)
{
    enum perm p = perm_from_name(name);
    if (p == PERM_NONE)
        return 0; /* a permission this binary no longer knows grants nothing */
    for (size_t i = 0; i < *n; i++) {
        if ((*out)[i].tenant_id == tenant_id) {
            (*out)[i].perms = perm_set_add((*out)[i].perms, p);
            return 0;
        }
    }
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct auth_binding *nb = realloc(*out, ncap * sizeof(*nb));
        if (!nb)
            return -1;
        *out = nb;
        *cap = ncap;
    }
    (*out)[(*n)++] = (struct auth_binding){perm_set_add(0, p), tenant_id};
    return 0;
}

int
db_session_bindings(db *d, const char *subject_kind, int64_t subject_id, struct auth_binding **out,
                    size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT ifnull(rb.tenant_id, 0), rp.permission "
                                 "FROM role_binding rb JOIN role_permission rp "
                                 "ON rp.role_id = rb.role_id "
                                 "WHERE rb.subject_kind = ?1 AND rb.subject_id = ?2",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, subject_kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, subject_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (fold_binding(out, n, &cap, sqlite3_column_int64(s, 0),
                         (const char *)sqlite3_column_text(s, 1)) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return db_sqlite_err(e, rc);
    }
    return 0;
}

int
db_session_token_by_prefix(db *d, const char *prefix, struct db_session_token *t, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT id, user_id, hash, narrowed, revoked_at IS NOT NULL, "
                                 "expires_at, last_used_at FROM api_token WHERE prefix = ?1",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return err_set(e, ERR_NOT_FOUND, "No such token.");
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    t->id = sqlite3_column_int64(s, 0);
    t->user_id = sqlite3_column_int64(s, 1);
    copy_text(t->hash, sizeof(t->hash), s, 2);
    t->narrowed = sqlite3_column_int(s, 3) != 0;
    t->revoked = sqlite3_column_int(s, 4) != 0;
    t->expires_at = db_time_parse((const char *)sqlite3_column_text(s, 5));
    t->last_used_at = db_time_parse((const char *)sqlite3_column_text(s, 6));
    return 0;
}

int
db_session_family_revoked(db *d, const char *family, bool *revoked, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT EXISTS (SELECT 1 FROM refresh_token "
                                 "WHERE family = ?1 AND revoked_at IS NOT NULL)",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, family, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    *revoked = sqlite3_column_int(s, 0) != 0;
    return 0;
}

const char *
db_session_family_of(db *d, const char *hash, arena *a, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, "SELECT family FROM refresh_token WHERE hash = ?1", e) : NULL;
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return arena_strdup(a, (const char *)sqlite3_column_text(s, 0));
    if (rc == SQLITE_DONE)
        err_set(e, ERR_UNAUTHENTICATED, "No session.");
    else
        db_sqlite_err(e, rc);
    return NULL;
}

/* ---- mutations (run on the writer) ---- */

struct refresh_new {
    int64_t user_id, now, expires_at;
    const char *family, *hash;
};

static int
insert_refresh(db_conn *c, const struct refresh_new *n, err *e)
{
    char exp[32], now[32];
    db_time_format(n->expires_at, exp, sizeof(exp));
    db_time_format(n->now, now, sizeof(now));
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO refresh_token(family, hash, user_id, expires_at, "
                             "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, n->family, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, n->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, n->user_id);
    sqlite3_bind_text(s, 4, exp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
apply_refresh_create(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    return insert_refresh(c, arg, e);
}

int
db_session_refresh_create(db *d, int64_t user_id, const char *family, const char *hash, int64_t now,
                          int64_t expires_at, struct db_audit *a, err *e)
{
    struct refresh_new n = {user_id, now, expires_at, family, hash};
    return db_mutate(d, apply_refresh_create, &n, a, e);
}

static int
revoke_family(db_conn *c, const char *family, int64_t now, err *e)
{
    char ts[32];
    db_time_format(now, ts, sizeof(ts));
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE refresh_token SET revoked_at = ?2 "
                             "WHERE family = ?1 AND revoked_at IS NULL",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, family, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

struct rotate {
    const char *old_hash;
    struct refresh_new next;
    struct db_refresh_result *res;
};

static int
mark_used(db_conn *c, const char *hash, int64_t now, err *e)
{
    char ts[32];
    db_time_format(now, ts, sizeof(ts));
    DB_STMT s = db_conn_stmt(c, "UPDATE refresh_token SET used_at = ?2 WHERE hash = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* Looks the old token up on the writer (inside the transaction, so two
 * concurrent refreshes with one token cannot both succeed). */
static int
rotate_lookup(db_conn *c, struct rotate *r, int *used, int *revoked, int64_t *expires, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT user_id, family, used_at IS NOT NULL, "
                             "revoked_at IS NOT NULL, expires_at FROM refresh_token "
                             "WHERE hash = ?1",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, r->old_hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 1;
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    r->res->user_id = sqlite3_column_int64(s, 0);
    copy_text(r->res->family, sizeof(r->res->family), s, 1);
    *used = sqlite3_column_int(s, 2);
    *revoked = sqlite3_column_int(s, 3);
    *expires = db_time_parse((const char *)sqlite3_column_text(s, 4));
    return 0;
}

static int
apply_rotate(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct rotate *r = arg;
    int used = 0, revoked = 0;
    int64_t expires = 0;
    int found = rotate_lookup(c, r, &used, &revoked, &expires, e);
    if (found < 0)
        return -1;
    struct db_refresh_result *res = r->res;
    if (found == 1)
        res->outcome = DB_REFRESH_UNKNOWN;
    else if (revoked)
        res->outcome = DB_REFRESH_REVOKED;
    else if (used)
        res->outcome = DB_REFRESH_REUSED;
    else if (expires <= r->next.now)
        res->outcome = DB_REFRESH_EXPIRED;
    else
        res->outcome = DB_REFRESH_OK;
    a->user_id = res->user_id;
    a->outcome = res->outcome == DB_REFRESH_OK ? "ok" : "denied";
    if (res->outcome == DB_REFRESH_REUSED) {
        a->action = "auth.refresh_reuse";
        return revoke_family(c, res->family, r->next.now, e);
    }
    if (res->outcome != DB_REFRESH_OK)
        return 0;
    r->next.user_id = res->user_id;
    r->next.family = res->family;
    return mark_used(c, r->old_hash, r->next.now, e) < 0 ? -1 : insert_refresh(c, &r->next, e);
}

int
db_session_refresh_rotate(db *d, const char *old_hash, const char *new_hash, int64_t now,
                          int64_t expires_at, struct db_refresh_result *res, struct db_audit *a,
                          err *e)
{
    memset(res, 0, sizeof(*res));
    struct rotate r = {old_hash, {0, now, expires_at, NULL, new_hash}, res};
    return db_mutate(d, apply_rotate, &r, a, e);
}

struct family_revoke {
    const char *family;
    int64_t now;
};

static int
apply_family_revoke(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct family_revoke *f = arg;
    return revoke_family(c, f->family, f->now, e);
}

int
db_session_family_revoke(db *d, const char *family, int64_t now, struct db_audit *a, err *e)
{
    struct family_revoke f = {family, now};
    return db_mutate(d, apply_family_revoke, &f, a, e);
}

struct touch {
    int64_t id, now;
};

static int
apply_touch(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct touch *t = arg;
    char ts[32];
    db_time_format(t->now, ts, sizeof(ts));
    DB_STMT s = db_conn_stmt(c, "UPDATE api_token SET last_used_at = ?2 WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, t->id);
    sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

int
db_session_token_touch(db *d, int64_t token_id, int64_t now, err *e)
{
    struct touch t = {token_id, now};
    return db_mutate(d, apply_touch, &t, NULL, e);
}

struct totp_set {
    int64_t uid;
    const char *secret;
};

static int
apply_totp(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct totp_set *t = arg;
    DB_STMT s = db_conn_stmt(c, "UPDATE user SET totp_secret = ?2 WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, t->uid);
    if (t->secret)
        sqlite3_bind_text(s, 2, t->secret, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    return sqlite3_changes(db_conn_sqlite(c)) ? 0 : err_set(e, ERR_NOT_FOUND, "No such user.");
}

int
db_session_set_totp(db *d, int64_t uid, const char *secret, struct db_audit *a, err *e)
{
    struct totp_set t = {uid, secret};
    return db_mutate(d, apply_totp, &t, a, e);
}
