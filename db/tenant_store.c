/* tenant_store: tenants, plus the small helpers the identity stores share
 * (conflicts, tenant existence). See identity.h. */
#include "identity.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "page_int.h"
#include "store_int.h"

int
db_conflict(err *e, const char *field, const char *fmt, ...)
{
    char msg[sizeof(e->detail)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err_set(e, ERR_CONFLICT, "%s", msg);
    if (e && field)
        snprintf(e->field, sizeof(e->field), "%s", field);
    return -1;
}

int
db_tenant_exists(db_conn *c, int64_t id, bool *yes, err *e)
{
    DB_STMT s = db_conn_stmt(c, "SELECT 1 FROM tenant WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    *yes = rc == SQLITE_ROW;
    return 0;
}

/* ---- reads ---- */

#define TENANT_COLS "id, slug, name, created_at"

/* One statement per (sort, direction): the cache is keyed by the literal. */
#define TENANT_LIST(key, cmp, dir)                                                                 \
    "SELECT " TENANT_COLS ", " key " FROM tenant"                                                  \
    " WHERE (?1 IS NULL OR id IN (SELECT value FROM json_each(?1)))"                               \
    " AND (?2 IS NULL OR instr(lower(slug), lower(?2)) > 0 OR instr(lower(name), lower(?2)) > 0)"  \
    " AND " DB_PAGE_KEYSET(key, "id", cmp, dir, 3, 4, 5)
#define TENANT_SORT(key) DB_PAGE_SORT(TENANT_LIST, key)

static const char *const tenant_list_sql[DB_TENANT_SORT_COUNT][2] = {
    [DB_TENANT_SORT_SLUG] = TENANT_SORT("slug"),
    [DB_TENANT_SORT_NAME] = TENANT_SORT("name"),
    [DB_TENANT_SORT_CREATED] = TENANT_SORT("created_at"),
    [DB_TENANT_SORT_ID] = TENANT_SORT("printf('%020d', id)"),
};

static void
tenant_row(sqlite3_stmt *s, struct db_tenant *t)
{
    t->id = sqlite3_column_int64(s, 0);
    db_row_text(s, 1, t->slug, sizeof(t->slug));
    db_row_text(s, 2, t->name, sizeof(t->name));
    db_row_text(s, 3, t->created_at, sizeof(t->created_at));
}

struct tenant_list_ctx {
    db_tenant_row_fn fn;
    void *arg;
};

static int
tenant_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct tenant_list_ctx *ctx = arg;
    struct db_tenant t;
    tenant_row(s, &t);
    return ctx->fn(ctx->arg, &t, key, e);
}

int
db_tenant_list(db *d, const struct db_tenant_filter *f, struct db_page *p, db_tenant_row_fn fn,
               void *arg, err *e)
{
    DB_STMT s = db_page_stmt(d, tenant_list_sql, DB_TENANT_SORT_COUNT, p, e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, f->visible, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->q, -1, SQLITE_STATIC);
    db_page_bind(s, p, 3);
    struct tenant_list_ctx ctx = {fn, arg};
    return db_page_step(s, p, tenant_list_row, &ctx, e);
}

static int
tenant_get_on(db_conn *c, int64_t id, struct db_tenant *out, err *e)
{
    DB_STMT s = db_store_get(c, "SELECT " TENANT_COLS " FROM tenant WHERE id = ?1", id, e,
                             "No such tenant.");
    if (!s)
        return -1;
    tenant_row(s, out);
    return 0;
}

int
db_tenant_get(db *d, int64_t id, struct db_tenant *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? tenant_get_on(c, id, out, e) : -1;
}

int
db_tenant_find_slug(db *d, const char *slug, int64_t *id, err *e)
{
    db_conn *c = db_reader(d, e);
    if (!c)
        return -1;
    DB_STMT s = db_conn_stmt(c, "SELECT id FROM tenant WHERE slug = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, slug, -1, SQLITE_STATIC);
    if (db_store_row(s, e, "No tenant has the slug '%s'.", slug) < 0)
        return -1;
    *id = sqlite3_column_int64(s, 0);
    return 0;
}

/* ---- writes ---- */

struct tenant_job {
    int64_t id;
    const char *slug, *name;
    char target[40];
    json_t *details; /* built in the transaction, freed by the caller */
};

static int
slug_taken(db_conn *c, const char *slug, int64_t except_id, err *e)
{
    DB_STMT s = db_conn_stmt(c, "SELECT 1 FROM tenant WHERE slug = ?1 AND id <> ?2", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, slug, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, except_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return db_conflict(e, "slug", "A tenant with slug '%s' exists.", slug);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
tenant_create_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct tenant_job *j = arg;
    if (slug_taken(c, j->slug, 0, e) < 0)
        return -1;
    DB_STMT s = db_conn_stmt(c, "INSERT INTO tenant(slug, name) VALUES (?1, ?2)", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->slug, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, j->name, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    snprintf(j->target, sizeof(j->target), "tenant/%lld", (long long)j->id);
    a->target = j->target;
    a->tenant_id = j->id;
    return 0;
}

int
db_tenant_create(db *d, const char *slug, const char *name, struct db_audit *a, int64_t *id_out,
                 err *e)
{
    struct tenant_job j = {.slug = slug, .name = name};
    json_t *details = json_pack("{s:s,s:s}", "slug", slug, "name", name);
    int rc = db_store_mutate(d, tenant_create_apply, &j, a, details, e);
    if (rc == 0 && id_out)
        *id_out = j.id;
    return rc;
}

static int
tenant_update_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct tenant_job *j = arg;
    struct db_tenant old;
    if (tenant_get_on(c, j->id, &old, e) < 0)
        return -1;
    if (j->slug && slug_taken(c, j->slug, j->id, e) < 0)
        return -1;
    DB_STMT s = db_conn_stmt(
        c, "UPDATE tenant SET slug = ifnull(?2, slug), name = ifnull(?3, name) WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->slug, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, j->name, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    db_store_detail_change(j->details, "slug", old.slug, j->slug);
    db_store_detail_change(j->details, "name", old.name, j->name);
    a->details = j->details;
    return 0;
}

int
db_tenant_update(db *d, int64_t id, const char *slug, const char *name, struct db_audit *a, err *e)
{
    struct tenant_job j = {.id = id, .slug = slug, .name = name, .details = json_object()};
    snprintf(j.target, sizeof(j.target), "tenant/%lld", (long long)id);
    a->target = j.target;
    a->tenant_id = id;
    return db_store_mutate(d, tenant_update_apply, &j, a, j.details, e);
}

static int
tenant_delete_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct tenant_job *j = arg;
    struct db_tenant old;
    if (tenant_get_on(c, j->id, &old, e) < 0)
        return -1;
    int64_t users = db_store_count(c, "SELECT count(*) FROM user WHERE tenant_id = ?1", j->id, e);
    int64_t vms = users < 0
                      ? -1
                      : db_store_count(c, "SELECT count(*) FROM vm WHERE tenant_id = ?1", j->id, e);
    if (users < 0 || vms < 0)
        return -1;
    if (users || vms)
        return err_set(e, ERR_CONFLICT,
                       "Tenant '%s' still has %lld user(s) and %lld VM(s); remove them first.",
                       old.slug, (long long)users, (long long)vms);
    if (db_store_exec_id_text(c, "DELETE FROM tenant WHERE id = ?1", j->id, NULL, e) < 0)
        return -1;
    json_object_set_new(j->details, "slug", json_string(old.slug));
    json_object_set_new(j->details, "name", json_string(old.name));
    a->details = j->details;
    return 0;
}

int
db_tenant_delete(db *d, int64_t id, struct db_audit *a, err *e)
{
    struct tenant_job j = {.id = id, .details = json_object()};
    snprintf(j.target, sizeof(j.target), "tenant/%lld", (long long)id);
    a->target = j.target;
    a->tenant_id = id;
    return db_store_mutate(d, tenant_delete_apply, &j, a, j.details, e);
}
