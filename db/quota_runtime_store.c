/* quota_runtime_store: enforcement modes per host and what was applied per
 * tenant and host (bookkeeping of server/quota/runtime.c). See
 * quota_runtime.h. */
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "identity.h"
#include "quota_runtime.h"

static enum quota_mode
mode_parse(const unsigned char *s)
{
    for (int m = QUOTA_MODE_NONE; m <= QUOTA_MODE_LIBVIRT; m++)
        if (s && !strcmp((const char *)s, db_quota_mode_name((enum quota_mode)m)))
            return (enum quota_mode)m;
    return QUOTA_MODE_NONE;
}

/* Text limited to 500 bytes without cutting a UTF-8 sequence. */
static int
text_len(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n <= 500)
        return (int)n;
    n = 500;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return (int)n;
}

/* ---- host modes ---- */

struct host_mode_job {
    int64_t host_id;
    enum quota_mode mode;
    const char *detail, *now;
};

static int
host_mode_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    (void)a;
    struct host_mode_job *j = arg;
    DB_STMT s =
        db_conn_stmt(c,
                     "INSERT INTO quota_host_mode(host_id, mode, detail, checked_at) "
                     "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM host WHERE id = ?1) "
                     "ON CONFLICT(host_id) DO UPDATE SET mode = excluded.mode, "
                     "detail = excluded.detail, checked_at = excluded.checked_at",
                     e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->host_id);
    sqlite3_bind_text(s, 2, db_quota_mode_name(j->mode), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, j->detail ? j->detail : "", text_len(j->detail), SQLITE_STATIC);
    sqlite3_bind_text(s, 4, j->now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

int
db_quota_runtime_host_set(db *d, int64_t host_id, enum quota_mode mode, const char *detail,
                          const char *now, err *e)
{
    struct host_mode_job j = {host_id, mode, detail, now};
    return db_mutate(d, host_mode_apply, &j, NULL, e);
}

int
db_quota_runtime_host_get(db *d, int64_t host_id, struct db_quota_host_mode *out, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT mode, detail, checked_at FROM quota_host_mode "
                                 "WHERE host_id = ?1",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? err_set(e, ERR_NOT_FOUND, "The host was not checked yet.")
                                 : db_sqlite_err(e, rc);
    memset(out, 0, sizeof(*out));
    out->host_id = host_id;
    out->mode = mode_parse(sqlite3_column_text(s, 0));
    db_row_text(s, 1, out->detail, sizeof(out->detail));
    db_row_text(s, 2, out->checked_at, sizeof(out->checked_at));
    return 0;
}

/* ---- per tenant and host ---- */

struct record_job {
    const struct db_quota_enforcement *r;
    bool applied;
    const char *now;
};

static int
record_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    (void)a;
    struct record_job *j = arg;
    DB_STMT s = db_conn_stmt(
        c,
        "INSERT INTO quota_enforcement(tenant_id, host_id, mode, detail, budget_json, applied_at, "
        "error, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, CASE WHEN ?6 THEN ?7 END, ?8, ?7 "
        "WHERE EXISTS (SELECT 1 FROM host WHERE id = ?2) "
        "AND EXISTS (SELECT 1 FROM tenant WHERE id = ?1) "
        "ON CONFLICT(tenant_id, host_id) DO UPDATE SET mode = excluded.mode, "
        "detail = excluded.detail, budget_json = excluded.budget_json, "
        "applied_at = coalesce(excluded.applied_at, applied_at), error = excluded.error, "
        "updated_at = excluded.updated_at",
        e);
    if (!s)
        return -1;
    const struct db_quota_enforcement *r = j->r;
    sqlite3_bind_int64(s, 1, r->tenant_id);
    sqlite3_bind_int64(s, 2, r->host_id);
    sqlite3_bind_text(s, 3, db_quota_mode_name(r->mode), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r->detail, text_len(r->detail), SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->budget_json[0] ? r->budget_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, j->applied);
    sqlite3_bind_text(s, 7, j->now, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, r->error, text_len(r->error), SQLITE_STATIC);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

int
db_quota_runtime_record(db *d, const struct db_quota_enforcement *r, bool applied, const char *now,
                        err *e)
{
    struct record_job j = {r, applied, now};
    return db_mutate(d, record_apply, &j, NULL, e);
}

struct prune_job {
    int64_t tenant_id, dropped;
};

static int
prune_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    (void)a;
    struct prune_job *j = arg;
    DB_STMT s =
        db_conn_stmt(c,
                     "DELETE FROM quota_enforcement WHERE tenant_id = ?1 AND host_id NOT IN "
                     "(SELECT host_id FROM vm WHERE tenant_id = ?1)",
                     e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->tenant_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    j->dropped = sqlite3_changes(db_conn_sqlite(c));
    return 0;
}

int
db_quota_runtime_prune(db *d, int64_t tenant_id, int64_t *dropped, err *e)
{
    struct prune_job j = {tenant_id, 0};
    int rc = db_mutate(d, prune_apply, &j, NULL, e);
    if (dropped)
        *dropped = rc == 0 ? j.dropped : 0;
    return rc;
}

int
db_quota_runtime_list(db *d, int64_t tenant_id, db_quota_enforcement_fn fn, void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT q.host_id, h.name, q.mode, q.detail, q.budget_json, "
                                 "ifnull(q.applied_at, ''), q.error FROM quota_enforcement q "
                                 "JOIN host h ON h.id = q.host_id WHERE q.tenant_id = ?1 "
                                 "ORDER BY q.host_id",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, tenant_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct db_quota_enforcement r = {.tenant_id = tenant_id};
        r.host_id = sqlite3_column_int64(s, 0);
        db_row_text(s, 1, r.host_name, sizeof(r.host_name));
        r.mode = mode_parse(sqlite3_column_text(s, 2));
        db_row_text(s, 3, r.detail, sizeof(r.detail));
        db_row_text(s, 4, r.budget_json, sizeof(r.budget_json));
        db_row_text(s, 5, r.applied_at, sizeof(r.applied_at));
        db_row_text(s, 6, r.error, sizeof(r.error));
        if (fn(arg, &r, e) < 0)
            return -1;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* Grows *buf (elements of `size`) to hold one more than *n. */
static int
grow(void **buf, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *nb = realloc(*buf, ncap * size);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

int
db_quota_runtime_tenants(db *d, int64_t **out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT tenant_id FROM quota WHERE resource NOT IN ('vms', "
                                 "'vcpus', 'memory_mib', 'disk_gib') UNION "
                                 "SELECT tenant_id FROM quota_enforcement ORDER BY 1",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (grow((void **)out, &cap, *n, sizeof(**out)) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        (*out)[(*n)++] = sqlite3_column_int64(s, 0);
    }
    if (rc == SQLITE_DONE)
        return 0;
    free(*out);
    *out = NULL;
    *n = 0;
    return db_sqlite_err(e, rc);
}

int
db_quota_runtime_host_vms(db *d, int64_t host_id, struct db_quota_vm **out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT id, tenant_id, uuid, state <> 'shutoff', vcpus, "
                                 "memory_mib, disk_gib, (SELECT count(*) FROM json_each(vm.disks) "
                                 "WHERE ifnull(json_extract(value, '$.device'), 'disk') = 'disk') "
                                 "FROM vm WHERE host_id = ?1 AND tenant_id IS NOT NULL "
                                 "ORDER BY tenant_id, id",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (grow((void **)out, &cap, *n, sizeof(**out)) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        struct db_quota_vm *v = &(*out)[(*n)++];
        memset(v, 0, sizeof(*v));
        v->id = sqlite3_column_int64(s, 0);
        v->tenant_id = sqlite3_column_int64(s, 1);
        db_row_text(s, 2, v->uuid, sizeof(v->uuid));
        v->running = sqlite3_column_int(s, 3) != 0;
        v->vcpus = sqlite3_column_int64(s, 4);
        v->memory_mib = sqlite3_column_int64(s, 5);
        v->disk_gib = sqlite3_column_int64(s, 6);
        v->ndisks = sqlite3_column_int64(s, 7);
    }
    if (rc == SQLITE_DONE)
        return 0;
    free(*out);
    *out = NULL;
    *n = 0;
    return db_sqlite_err(e, rc);
}

/* "/" + tmpl with `slug` in place of its "%s" into buf[n]. */
static int
partition_format(const char *tmpl, const char *slug, char *buf, size_t n, err *e)
{
    const char *at = strstr(tmpl, "%s");
    size_t pre = at ? (size_t)(at - tmpl) : 0, sl = strlen(slug);
    size_t post = at ? strlen(at + 2) : 0;
    if (!at || strstr(at + 2, "%") || strchr(tmpl, '%') != at || 2 + pre + sl + post > n)
        return err_set(e, ERR_INVALID, "bad cgroup partition template");
    buf[0] = '/';
    memcpy(buf + 1, tmpl, pre);
    memcpy(buf + 1 + pre, slug, sl);
    memcpy(buf + 1 + pre + sl, at + 2, post + 1);
    return 0;
}

int
db_quota_runtime_disk_sources(db *d, int64_t host_id, int64_t tenant_id, db_quota_source_fn fn,
                              void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT DISTINCT json_extract(value, '$.source') FROM vm, "
                                 "json_each(vm.disks) WHERE vm.host_id = ?1 AND vm.tenant_id = ?2 "
                                 "AND ifnull(json_extract(value, '$.device'), 'disk') = 'disk' "
                                 "AND json_extract(value, '$.source') IS NOT NULL ORDER BY 1",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (fn(arg, (const char *)sqlite3_column_text(s, 0), e) < 0)
            return -1;
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

int
db_quota_runtime_partition(db *d, int64_t host_id, int64_t tenant_id, const char *tmpl, char *buf,
                           size_t n, err *e)
{
    if (n)
        buf[0] = '\0';
    if (tenant_id <= 0)
        return 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT t.slug FROM quota_host_mode m, tenant t WHERE "
                                 "m.host_id = ?1 AND m.mode = 'cgroup' AND t.id = ?2",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    sqlite3_bind_int64(s, 2, tenant_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    char slug[DB_SLUG_MAX + 1];
    db_row_text(s, 0, slug, sizeof(slug));
    return partition_format(tmpl, slug, buf, n, e);
}
