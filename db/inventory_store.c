/* inventory_store: hosts, VMs, pools, volumes and networks as cached from
 * libvirt. See inventory.h. */
#include "inventory.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoptr.h"
#include "db_internal.h"
#include "page_int.h"
#include "store_int.h"

static void
bind_int_or_null(sqlite3_stmt *s, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

/* ======================================================================== */
/* hosts: reads                                                              */

#define HOST_COLS                                                                                  \
    "h.id, h.name, h.uri, h.conn_state, h.last_error, ifnull(h.state_since, ''), "                 \
    "ifnull(h.hostname, ''), ifnull(h.hypervisor, ''), ifnull(h.arch, ''), "                       \
    "ifnull(h.cpu_model, ''), ifnull(h.cpu_vendor, ''), ifnull(h.cores, -1), "                     \
    "ifnull(h.threads, -1), ifnull(h.sockets, -1), ifnull(h.memory_mib, -1), "                     \
    "ifnull(h.memory_free_mib, -1), ifnull(h.libvirt_version, -1), "                               \
    "CASE WHEN length(h.cpu_features) < 4000 THEN h.cpu_features ELSE '[]' END, "                  \
    "ifnull(h.facts_at, ''), ifnull(h.reconciled_at, ''), h.created_at, "                          \
    "ifnull(a.n, 0), ifnull(a.act, 0), ifnull(a.vcpus, 0), ifnull(a.mem, 0), "                     \
    "ifnull(a.disk, 0), ifnull(a.avcpus, 0), ifnull(a.amem, 0)"

/* Allocation sums per host; `where` narrows the VMs aggregated. */
#define HOST_ALLOC(where)                                                                          \
    "(SELECT host_id, count(*) AS n, "                                                             \
    "sum(state NOT IN ('shutoff', 'crashed', 'unknown')) AS act, sum(vcpus) AS vcpus, "            \
    "sum(memory_mib) AS mem, sum(disk_gib) AS disk, "                                              \
    "sum(CASE WHEN state NOT IN ('shutoff', 'crashed', 'unknown') THEN vcpus END) AS avcpus, "     \
    "sum(CASE WHEN state NOT IN ('shutoff', 'crashed', 'unknown') THEN memory_mib END) AS amem "   \
    "FROM vm " where " GROUP BY host_id) a ON a.host_id = h.id"

static void
host_row(sqlite3_stmt *s, struct db_host *h)
{
    h->id = sqlite3_column_int64(s, 0);
    db_row_text(s, 1, h->name, sizeof(h->name));
    db_row_text(s, 2, h->uri, sizeof(h->uri));
    db_row_text(s, 3, h->conn_state, sizeof(h->conn_state));
    db_row_text(s, 4, h->last_error, sizeof(h->last_error));
    db_row_text(s, 5, h->state_since, sizeof(h->state_since));
    db_row_text(s, 6, h->hostname, sizeof(h->hostname));
    db_row_text(s, 7, h->hypervisor, sizeof(h->hypervisor));
    db_row_text(s, 8, h->arch, sizeof(h->arch));
    db_row_text(s, 9, h->cpu_model, sizeof(h->cpu_model));
    db_row_text(s, 10, h->cpu_vendor, sizeof(h->cpu_vendor));
    int64_t *nums[] = {&h->cores,      &h->threads,         &h->sockets,
                       &h->memory_mib, &h->memory_free_mib, &h->libvirt_version};
    for (int i = 0; i < 6; i++)
        *nums[i] = sqlite3_column_int64(s, 11 + i);
    db_row_text(s, 17, h->cpu_features, sizeof(h->cpu_features));
    db_row_text(s, 18, h->facts_at, sizeof(h->facts_at));
    db_row_text(s, 19, h->reconciled_at, sizeof(h->reconciled_at));
    db_row_text(s, 20, h->created_at, sizeof(h->created_at));
    int64_t *alloc[] = {&h->alloc.vms,
                        &h->alloc.active,
                        &h->alloc.vcpus,
                        &h->alloc.memory_mib,
                        &h->alloc.disk_gib,
                        &h->alloc.active_vcpus,
                        &h->alloc.active_memory_mib};
    for (int i = 0; i < 7; i++)
        *alloc[i] = sqlite3_column_int64(s, 21 + i);
}

#define HOST_ALLOC_ALL HOST_ALLOC("")
#define HOST_LIST(key, cmp, dir)                                                                   \
    "SELECT " HOST_COLS ", " key " FROM host h LEFT JOIN " HOST_ALLOC_ALL                          \
    " WHERE " DB_PAGE_KEYSET(key, "h.id", cmp, dir, 1, 2, 3)
#define HOST_SORT(key) DB_PAGE_SORT(HOST_LIST, key)

static const char *const host_list_sql[DB_HOST_SORT_COUNT][2] = {
    [DB_HOST_SORT_NAME] = HOST_SORT("h.name COLLATE NOCASE"),
    [DB_HOST_SORT_CREATED] = HOST_SORT("h.created_at"),
    [DB_HOST_SORT_ID] = HOST_SORT("printf('%020d', h.id)"),
};

struct host_list_ctx {
    db_host_row_fn fn;
    void *arg;
};

static int
host_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct host_list_ctx *ctx = arg;
    struct db_host *h = malloc(sizeof(*h)); /* ~6 KiB: not on a request thread's stack */
    if (!h)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    host_row(s, h);
    int rc = ctx->fn(ctx->arg, h, key, e);
    free(h);
    return rc;
}

int
db_host_list(db *d, struct db_page *p, db_host_row_fn fn, void *arg, err *e)
{
    DB_STMT s = db_page_stmt(d, host_list_sql, DB_HOST_SORT_COUNT, p, e);
    if (!s)
        return -1;
    db_page_bind(s, p, 1);
    struct host_list_ctx ctx = {fn, arg};
    return db_page_step(s, p, host_list_row, &ctx, e);
}

static int
host_get_on(db_conn *c, int64_t id, struct db_host *out, err *e)
{
    DB_STMT s =
        db_store_get(c,
                     "SELECT " HOST_COLS
                     " FROM host h LEFT JOIN " HOST_ALLOC("WHERE host_id = ?1") " WHERE h.id = ?1",
                     id, e, "No such host.");
    if (!s)
        return -1;
    host_row(s, out);
    return 0;
}

int
db_host_get(db *d, int64_t id, struct db_host *out, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? host_get_on(c, id, out, e) : -1;
}

int
db_host_refs(db *d, struct db_host_ref **out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, "SELECT id, uri FROM host ORDER BY id", e) : NULL;
    if (!s)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct db_host_ref *nb = realloc(*out, cap * sizeof(*nb));
            if (!nb) {
                free(*out);
                *out = NULL;
                *n = 0;
                return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
            }
            *out = nb;
        }
        struct db_host_ref *r = &(*out)[(*n)++];
        r->id = sqlite3_column_int64(s, 0);
        db_row_text(s, 1, r->uri, sizeof(r->uri));
    }
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return db_sqlite_err(e, rc);
    }
    return 0;
}

/* ======================================================================== */
/* hosts: writes                                                             */

struct host_job {
    int64_t id;
    const char *name, *uri;
    bool force;
    int64_t dropped;
    char target[40];
    json_t *details; /* owned by the caller */
};

/* ERR_CONFLICT (field) when another host than except_id has this name/uri. */
static int
host_taken(db_conn *c, const char *name, const char *uri, int64_t except_id, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT name = ?1, uri = ?2 FROM host WHERE (name = ?1 OR uri = ?2) "
                             "AND id <> ?3",
                             e);
    if (!s)
        return -1;
    db_store_bind_text_or_null(s, 1, name);
    db_store_bind_text_or_null(s, 2, uri);
    sqlite3_bind_int64(s, 3, except_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_int(s, 0) == 1)
        return db_conflict(e, "name", "A host named '%s' is registered already.", name);
    if (rc == SQLITE_ROW)
        return db_conflict(e, "uri", "A host with this URI is registered already.");
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
host_create_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct host_job *j = arg;
    if (host_taken(c, j->name, j->uri, 0, e) < 0)
        return -1;
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO host(name, uri, conn_state, state_since, created_at) "
                             "VALUES (?1, ?2, 'connecting', ?3, ?3)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, j->uri, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    snprintf(j->target, sizeof(j->target), "host/%lld", (long long)j->id);
    a->target = j->target;
    return 0;
}

int
db_host_create(db *d, const char *name, const char *uri, struct db_audit *a, int64_t *id_out,
               err *e)
{
    struct host_job j = {.name = name, .uri = uri};
    json_t *details = json_pack("{s:s,s:s}", "name", name, "uri", uri);
    int rc = db_store_mutate(d, host_create_apply, &j, a, details, e);
    if (rc == 0 && id_out)
        *id_out = j.id;
    return rc;
}

static int
host_update_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct host_job *j = arg;
    DB_STMT g =
        db_store_get(c, "SELECT name, uri FROM host WHERE id = ?1", j->id, e, "No such host.");
    if (!g)
        return -1;
    db_store_detail_change(j->details, "name", db_store_text(g, 0), j->name);
    db_store_detail_change(j->details, "uri", db_store_text(g, 1), j->uri);
    if (host_taken(c, j->name, j->uri, j->id, e) < 0)
        return -1;
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    DB_STMT s = db_conn_stmt(
        c,
        "UPDATE host SET name = ifnull(?2, name), "
        "conn_state = CASE WHEN ?3 IS NULL OR ?3 = uri THEN conn_state ELSE 'connecting' END, "
        "last_error = CASE WHEN ?3 IS NULL OR ?3 = uri THEN last_error ELSE '' END, "
        "state_since = CASE WHEN ?3 IS NULL OR ?3 = uri THEN state_since ELSE ?4 END, "
        "uri = ifnull(?3, uri) WHERE id = ?1",
        e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    db_store_bind_text_or_null(s, 2, j->name);
    db_store_bind_text_or_null(s, 3, j->uri);
    sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    a->details = j->details;
    return 0;
}

int
db_host_update(db *d, int64_t id, const char *name, const char *uri, struct db_audit *a, err *e)
{
    struct host_job j = {.id = id, .name = name, .uri = uri, .details = json_object()};
    snprintf(j.target, sizeof(j.target), "host/%lld", (long long)id);
    a->target = j.target;
    return db_store_mutate(d, host_update_apply, &j, a, j.details, e);
}

static int
host_delete_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct host_job *j = arg;
    DB_STMT g = db_store_get(
        c, "SELECT name, uri, (SELECT count(*) FROM vm WHERE host_id = ?1) FROM host WHERE id = ?1",
        j->id, e, "No such host.");
    if (!g)
        return -1;
    j->dropped = sqlite3_column_int64(g, 2);
    if (j->dropped && !j->force)
        return db_conflict(e, NULL,
                           "Host '%s' still has %lld VM(s) in the inventory; move or remove them, "
                           "or use ?force=true to drop them from the portal (nothing changes on "
                           "the host).",
                           db_store_text(g, 0), (long long)j->dropped);
    json_object_set_new(j->details, "name", json_string(db_store_text(g, 0)));
    json_object_set_new(j->details, "uri", json_string(db_store_text(g, 1)));
    json_object_set_new(j->details, "vms_dropped", json_integer(j->dropped));
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    /* the dropped VMs keep their ids, should the host come back */
    if (db_store_exec_id_text(c,
                              "INSERT OR REPLACE INTO vm_gone(id, uuid, host_id, name, gone_at) "
                              "SELECT id, uuid, host_id, name, ?2 FROM vm WHERE host_id = ?1",
                              j->id, now, e) < 0 ||
        db_store_exec_id_text(c, "DELETE FROM host WHERE id = ?1", j->id, NULL, e) < 0)
        return -1;
    a->details = j->details;
    return 0;
}

int
db_host_delete(db *d, int64_t id, bool force, struct db_audit *a, int64_t *dropped, err *e)
{
    struct host_job j = {.id = id, .force = force, .details = json_object()};
    snprintf(j.target, sizeof(j.target), "host/%lld", (long long)id);
    a->target = j.target;
    int rc = db_store_mutate(d, host_delete_apply, &j, a, j.details, e);
    if (rc == 0 && dropped)
        *dropped = j.dropped;
    return rc;
}

struct host_state_job {
    int64_t id;
    const char *state, *error;
};

static int
host_state_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct host_state_job *j = arg;
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE host SET conn_state = ?2, last_error = ?3, state_since = ?4 "
                             "WHERE id = ?1 AND (conn_state <> ?2 OR last_error <> ?3)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, j->error ? j->error : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
    return db_store_done(s, e);
}

int
db_host_set_state(db *d, int64_t id, const char *state, const char *error, err *e)
{
    if (strcmp(state, "connecting") && strcmp(state, "connected") && strcmp(state, "unreachable"))
        return err_set(e, ERR_INTERNAL, "bad host state");
    struct host_state_job j = {id, state, error};
    return db_mutate(d, host_state_apply, &j, NULL, e);
}

static int
host_reset_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    DB_STMT s =
        db_conn_stmt(c,
                     "UPDATE host SET conn_state = 'connecting', last_error = '', "
                     "state_since = ?1 WHERE conn_state <> 'connecting' OR last_error <> ''",
                     e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
    return db_store_done(s, e);
}

int
db_host_reset_states(db *d, err *e)
{
    return db_mutate(d, host_reset_apply, NULL, NULL, e);
}

/* ======================================================================== */
/* VMs: reads                                                                */

#define VM_COLS                                                                                    \
    "v.id, v.uuid, v.host_id, h.name, v.name, ifnull(v.tenant_id, 0), "                            \
    "ifnull(v.meta_tenant_id, 0), v.state, v.state_reason, v.vcpus, v.max_vcpus, v.memory_mib, "   \
    "v.max_memory_mib, v.disk_gib, v.firmware, ifnull(v.domain_type, ''), ifnull(v.arch, ''), "    \
    "ifnull(v.partition, ''), v.persistent, v.autostart, v.tags, v.disks, v.nics, "                \
    "ifnull(v.created_at, ''), v.updated_at"
#define VM_FROM " FROM vm v JOIN host h ON h.id = v.host_id"

static void
vm_row(sqlite3_stmt *s, struct db_vm *v)
{
    v->id = sqlite3_column_int64(s, 0);
    v->uuid = db_store_text(s, 1);
    v->host_id = sqlite3_column_int64(s, 2);
    v->host_name = db_store_text(s, 3);
    v->name = db_store_text(s, 4);
    v->tenant_id = sqlite3_column_int64(s, 5);
    v->meta_tenant_id = sqlite3_column_int64(s, 6);
    v->state = db_store_text(s, 7);
    v->state_reason = sqlite3_column_int(s, 8);
    int64_t *nums[] = {&v->vcpus, &v->max_vcpus, &v->memory_mib, &v->max_memory_mib, &v->disk_gib};
    for (int i = 0; i < 5; i++)
        *nums[i] = sqlite3_column_int64(s, 9 + i);
    v->firmware = db_store_text(s, 14);
    v->domain_type = db_store_text(s, 15);
    v->arch = db_store_text(s, 16);
    v->partition = db_store_text(s, 17);
    v->persistent = sqlite3_column_int(s, 18) != 0;
    v->autostart = sqlite3_column_int(s, 19) != 0;
    v->tags = db_store_text(s, 20);
    v->disks = db_store_text(s, 21);
    v->nics = db_store_text(s, 22);
    v->created_at = db_store_text(s, 23);
    v->updated_at = db_store_text(s, 24);
}

/* `scope`: which VMs the caller may see. Callers of one tenant (the common
 * case) of the JSON list get "v.tenant_id = ?1", which walks index
 * vm_tenant_name in order. */
#define VM_SCOPE_ANY "(?1 IS NULL OR v.tenant_id IN (SELECT value FROM json_each(?1)))"
#define VM_SCOPE_ONE "v.tenant_id = ?1"
/* The filters at ?2..?6 (vm_filter_bind) and the page at ?7..?9. */
#define VM_FILTERS(key, cmp, dir)                                                                  \
    " AND (?2 = 0 OR v.host_id = ?2)"                                                              \
    " AND (?3 < 0 OR ifnull(v.tenant_id, 0) = ?3)"                                                 \
    " AND (?4 IS NULL OR v.state = ?4)"                                                            \
    " AND (?5 IS NULL OR instr(lower(v.name), lower(?5)) > 0)"                                     \
    " AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each(v.tags) WHERE value = ?6))"               \
    " AND " DB_PAGE_KEYSET(key, "v.id", cmp, dir, 7, 8, 9)
/* The sorts of both VM lists, LIST(key, cmp, dir) giving a statement. */
#define VM_SORTS(LIST)                                                                             \
    {                                                                                              \
        [DB_VM_SORT_NAME] = DB_PAGE_SORT(LIST, "v.name COLLATE NOCASE"),                           \
        [DB_VM_SORT_STATE] = DB_PAGE_SORT(LIST, "v.state"),                                        \
        [DB_VM_SORT_CREATED] = DB_PAGE_SORT(LIST, "ifnull(v.created_at, '')"),                     \
        [DB_VM_SORT_ID] = DB_PAGE_SORT(LIST, "printf('%020d', v.id)"),                             \
    }

#define VM_LIST(key, cmp, dir)                                                                     \
    "SELECT " VM_COLS ", " key VM_FROM " WHERE " VM_SCOPE_ANY VM_FILTERS(key, cmp, dir)

static const char *const vm_list_sql[DB_VM_SORT_COUNT][2] = VM_SORTS(VM_LIST);

/* Binds f's filters other than the scope (?2..?6) and the page p (?7..?9). */
static void
vm_filter_bind(sqlite3_stmt *s, const struct db_vm_filter *f, const struct db_page *p)
{
    sqlite3_bind_int64(s, 2, f->host_id);
    sqlite3_bind_int64(s, 3, f->tenant_id);
    db_store_bind_text_or_null(s, 4, f->state);
    db_store_bind_text_or_null(s, 5, f->q);
    db_store_bind_text_or_null(s, 6, f->tag);
    db_page_bind(s, p, 7);
}

struct vm_list_ctx {
    db_vm_row_fn fn;
    void *arg;
};

static int
vm_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct vm_list_ctx *ctx = arg;
    struct db_vm v;
    vm_row(s, &v);
    return ctx->fn(ctx->arg, &v, key, e);
}

int
db_vm_list(db *d, const struct db_vm_filter *f, struct db_page *p, db_vm_row_fn fn, void *arg,
           err *e)
{
    DB_STMT s = db_page_stmt(d, vm_list_sql, DB_VM_SORT_COUNT, p, e);
    if (!s)
        return -1;
    db_store_bind_text_or_null(s, 1, f->visible);
    vm_filter_bind(s, f, p);
    struct vm_list_ctx ctx = {fn, arg};
    return db_page_step(s, p, vm_list_row, &ctx, e);
}

/* The list item of the API: vm.item, kept by triggers (0005); rendered here
 * only for a row written before them. */
#define VM_ITEM_JSON                                                                               \
    "coalesce(v.item, json_object('id', v.id, 'uuid', v.uuid, 'name', v.name, 'host_id', "         \
    "v.host_id, 'host', (SELECT name FROM host WHERE host.id = v.host_id), 'tenant_id', "          \
    "v.tenant_id, 'state', v.state, 'vcpus', v.vcpus, 'memory_mib', v.memory_mib, 'disk_gib', "    \
    "v.disk_gib, 'firmware', v.firmware, 'tags', json(v.tags), 'created_at', v.created_at, "       \
    "'updated_at', v.updated_at))"
#define VM_LIST_JSON(scope, key, cmp, dir)                                                         \
    "SELECT " VM_ITEM_JSON ", v.id, " key " FROM vm v WHERE " scope VM_FILTERS(key, cmp, dir)
#define VM_LIST_JSON_ANY(key, cmp, dir) VM_LIST_JSON(VM_SCOPE_ANY, key, cmp, dir)
#define VM_LIST_JSON_ONE(key, cmp, dir) VM_LIST_JSON(VM_SCOPE_ONE, key, cmp, dir)

static const char *const vm_list_json_sql[2][DB_VM_SORT_COUNT][2] = {VM_SORTS(VM_LIST_JSON_ANY),
                                                                     VM_SORTS(VM_LIST_JSON_ONE)};

/* The tenant of a `visible` list of exactly one ("[42]"), else 0. */
static int64_t
one_tenant(const char *visible)
{
    if (!visible || visible[0] != '[')
        return 0;
    int64_t v = 0;
    const char *p = visible + 1;
    for (; *p >= '0' && *p <= '9' && v < INT64_MAX / 10; p++)
        v = v * 10 + (*p - '0');
    return p[0] == ']' && p[1] == '\0' && p != visible + 1 ? v : 0;
}

struct vm_json_ctx {
    db_vm_json_fn fn;
    void *arg;
};

static int
vm_json_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct vm_json_ctx *ctx = arg;
    const char *j = db_store_text(s, 0);
    return ctx->fn(ctx->arg, j, (size_t)sqlite3_column_bytes(s, 0), sqlite3_column_int64(s, 1), key,
                   e);
}

int
db_vm_list_json(db *d, const struct db_vm_filter *f, struct db_page *p, db_vm_json_fn fn, void *arg,
                err *e)
{
    int64_t tenant = one_tenant(f->visible);
    DB_STMT s = db_page_stmt(d, vm_list_json_sql[tenant > 0], DB_VM_SORT_COUNT, p, e);
    if (!s)
        return -1;
    if (tenant > 0)
        sqlite3_bind_int64(s, 1, tenant);
    else
        db_store_bind_text_or_null(s, 1, f->visible);
    vm_filter_bind(s, f, p);
    struct vm_json_ctx ctx = {fn, arg};
    return db_page_step(s, p, vm_json_row, &ctx, e);
}

int
db_inventory_gen(db *d, int64_t *gen, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, "SELECT n FROM inventory_gen", e) : NULL;
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? err_set(e, ERR_INTERNAL, "no inventory generation")
                                 : db_sqlite_err(e, rc);
    *gen = sqlite3_column_int64(s, 0);
    return 0;
}

int
db_vm_get(db *d, int64_t id, arena *a, struct db_vm *out, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s =
        c ? db_store_get(c, "SELECT " VM_COLS VM_FROM " WHERE v.id = ?1", id, e, "No such VM.")
          : NULL;
    if (!s)
        return -1;
    vm_row(s, out);
    const char **texts[] = {&out->uuid,      &out->host_name,   &out->name, &out->state,
                            &out->firmware,  &out->domain_type, &out->arch, &out->partition,
                            &out->tags,      &out->disks,       &out->nics, &out->created_at,
                            &out->updated_at};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (!(*texts[i] = arena_strdup(a, *texts[i])))
            return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    return 0;
}

int
db_vm_fps(db *d, int64_t host_id, struct db_vm_fp **out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT uuid, ifnull(fp, '') FROM vm WHERE host_id = ?1 "
                                 "ORDER BY uuid",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            struct db_vm_fp *nb = realloc(*out, cap * sizeof(*nb));
            if (!nb) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = nb;
        }
        struct db_vm_fp *f = &(*out)[(*n)++];
        db_row_text(s, 0, f->uuid, sizeof(f->uuid));
        db_row_text(s, 1, f->fp, sizeof(f->fp));
    }
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return db_sqlite_err(e, rc);
    }
    return 0;
}

/* ======================================================================== */
/* VMs: writes (on the writer connection, inside a db_apply_fn)             */

/* The VM `id` leaves the cache; its id stays reserved in vm_gone. */
static int
vm_drop(db_conn *c, int64_t id, const char *now, err *e)
{
    if (db_store_exec_id_text(c,
                              "INSERT OR REPLACE INTO vm_gone(id, uuid, host_id, name, gone_at) "
                              "SELECT id, uuid, host_id, name, ?2 FROM vm WHERE id = ?1",
                              id, now, e) < 0)
        return -1;
    return db_store_exec_id_text(c, "DELETE FROM vm WHERE id = ?1", id, NULL, e);
}

/* libvirt names are unique per host, so a cached row of another uuid with
 * this name on this host is stale (renamed or replaced): drop it. */
static int
vm_clear_name(db_conn *c, int64_t host_id, const struct db_vm_row *r, const char *now, err *e)
{
    int64_t stale = 0;
    {
        DB_STMT s =
            db_conn_stmt(c, "SELECT id FROM vm WHERE host_id = ?1 AND name = ?2 AND uuid <> ?3", e);
        if (!s)
            return -1;
        sqlite3_bind_int64(s, 1, host_id);
        sqlite3_bind_text(s, 2, r->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, r->uuid, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            stale = sqlite3_column_int64(s, 0);
        else if (rc != SQLITE_DONE)
            return db_sqlite_err(e, rc);
    }
    return stale ? vm_drop(c, stale, now, e) : 0;
}

/* Binds the row's fields at ?2..?22 (shared by the insert and the update). */
static void
vm_bind_fields(sqlite3_stmt *s, int64_t host_id, const struct db_vm_row *r, const char *now)
{
    sqlite3_bind_int64(s, 2, host_id);
    sqlite3_bind_text(s, 3, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, r->meta_tenant_id);
    sqlite3_bind_text(s, 5, r->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, r->state_reason);
    int64_t nums[] = {r->vcpus, r->max_vcpus, r->memory_mib, r->max_memory_mib, r->disk_gib};
    for (int i = 0; i < 5; i++)
        sqlite3_bind_int64(s, 7 + i, nums[i] < 0 ? 0 : nums[i]);
    sqlite3_bind_text(s, 12, r->firmware ? r->firmware : "bios", -1, SQLITE_STATIC);
    db_store_bind_text_or_null(s, 13, r->domain_type);
    db_store_bind_text_or_null(s, 14, r->arch);
    db_store_bind_text_or_null(s, 15, r->partition);
    sqlite3_bind_int(s, 16, r->persistent);
    sqlite3_bind_int(s, 17, r->autostart);
    db_store_bind_text_or_null(s, 18, r->tags);
    db_store_bind_text_or_null(s, 19, r->disks);
    db_store_bind_text_or_null(s, 20, r->nics);
    db_store_bind_text_or_null(s, 21, r->fp);
    sqlite3_bind_text(s, 22, now, -1, SQLITE_STATIC);
}

#define VM_SET_FIELDS                                                                              \
    "host_id = ?2, name = ?3, tenant_id = (SELECT id FROM tenant WHERE id = ?4), "                 \
    "meta_tenant_id = nullif(?4, 0), state = ?5, state_reason = ?6, vcpus = ?7, "                  \
    "max_vcpus = ?8, memory_mib = ?9, max_memory_mib = ?10, disk_gib = ?11, firmware = ?12, "      \
    "domain_type = ?13, arch = ?14, partition = ?15, persistent = ?16, autostart = ?17, "          \
    "tags = ifnull(?18, '[]'), disks = ifnull(?19, '[]'), nics = ifnull(?20, '[]'), fp = ?21, "    \
    "updated_at = ?22"

static int
vm_update(db_conn *c, int64_t id, int64_t host_id, const struct db_vm_row *r, const char *now,
          err *e)
{
    DB_STMT s = db_conn_stmt(c, "UPDATE vm SET " VM_SET_FIELDS " WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    vm_bind_fields(s, host_id, r, now);
    return db_store_done(s, e);
}

/* A new row: the uuid's old id when it was here before, else one past the
 * largest id ever used. */
static int
vm_insert(db_conn *c, int64_t host_id, const struct db_vm_row *r, const char *now, int64_t *id,
          err *e)
{
    DB_STMT s = db_conn_stmt(
        c,
        "INSERT INTO vm(id, uuid, host_id, name, tenant_id, meta_tenant_id, state, state_reason, "
        "vcpus, max_vcpus, memory_mib, max_memory_mib, disk_gib, firmware, domain_type, arch, "
        "partition, persistent, autostart, tags, disks, nics, fp, updated_at, created_at) VALUES ("
        "coalesce((SELECT g.id FROM vm_gone g WHERE g.uuid = ?23 AND NOT EXISTS "
        "(SELECT 1 FROM vm WHERE id = g.id)), max(ifnull((SELECT max(id) FROM vm), 0), "
        "ifnull((SELECT max(id) FROM vm_gone), 0)) + 1), ?23, ?2, ?3, "
        "(SELECT id FROM tenant WHERE id = ?4), nullif(?4, 0), ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, ?15, ?16, ?17, ifnull(?18, '[]'), ifnull(?19, '[]'), ifnull(?20, '[]'), ?21, "
        "?22, ?22)",
        e);
    if (!s)
        return -1;
    vm_bind_fields(s, host_id, r, now);
    sqlite3_bind_text(s, 23, r->uuid, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    return db_store_exec_id_text(c, "DELETE FROM vm_gone WHERE uuid = ?2", 0, r->uuid, e);
}

enum vm_put_outcome { VM_PUT_SAME, VM_PUT_UPDATED, VM_PUT_INSERTED };

/* Stores one row of host_id: skipped when the cached row is identical. */
static int
vm_put_on(db_conn *c, int64_t host_id, const struct db_vm_row *r, const char *now, int64_t *id,
          enum vm_put_outcome *out, err *e)
{
    bool exists = false, same = false;
    {
        DB_STMT s =
            db_conn_stmt(c, "SELECT id, host_id, ifnull(fp, '') FROM vm WHERE uuid = ?1", e);
        if (!s)
            return -1;
        sqlite3_bind_text(s, 1, r->uuid, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            exists = true;
            *id = sqlite3_column_int64(s, 0);
            same = sqlite3_column_int64(s, 1) == host_id && r->fp &&
                   !strcmp(db_store_text(s, 2), r->fp);
        } else if (rc != SQLITE_DONE) {
            return db_sqlite_err(e, rc);
        }
    }
    *out = same ? VM_PUT_SAME : exists ? VM_PUT_UPDATED : VM_PUT_INSERTED;
    if (same)
        return 0;
    if (vm_clear_name(c, host_id, r, now, e) < 0)
        return -1;
    return exists ? vm_update(c, *id, host_id, r, now, e) : vm_insert(c, host_id, r, now, id, e);
}

struct vm_job {
    int64_t host_id, id;
    const struct db_vm_row *row;
    const char *uuid;
    char target[40];
};

static int
vm_put_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct vm_job *j = arg;
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    enum vm_put_outcome o;
    if (vm_put_on(c, j->host_id, j->row, now, &j->id, &o, e) < 0)
        return -1;
    snprintf(j->target, sizeof(j->target), "vm/%lld", (long long)j->id);
    if (a)
        a->target = j->target;
    return 0;
}

int
db_vm_put(db *d, int64_t host_id, const struct db_vm_row *row, struct db_audit *a, int64_t *id_out,
          err *e)
{
    struct vm_job j = {.host_id = host_id, .row = row};
    int rc = db_mutate(d, vm_put_apply, &j, a, e);
    if (rc == 0 && id_out)
        *id_out = j.id;
    return rc;
}

/* The cached VM `uuid` of host_id: id, tenant and name; *found false if none. */
static int
vm_find_on(db_conn *c, int64_t host_id, const char *uuid, int64_t *id, int64_t *tenant, char *name,
           size_t namelen, bool *found, err *e)
{
    DB_STMT s = db_conn_stmt(
        c, "SELECT id, ifnull(tenant_id, 0), name FROM vm WHERE uuid = ?1 AND host_id = ?2", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, host_id);
    int rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *tenant = sqlite3_column_int64(s, 1);
        db_row_text(s, 2, name, namelen);
        return 0;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
vm_remove_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct vm_job *j = arg;
    int64_t tenant = 0;
    char name[256];
    bool found = false;
    if (vm_find_on(c, j->host_id, j->uuid, &j->id, &tenant, name, sizeof(name), &found, e) < 0)
        return -1;
    if (!found)
        return err_set(e, ERR_NOT_FOUND, "No such VM.");
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    snprintf(j->target, sizeof(j->target), "vm/%lld", (long long)j->id);
    if (a) {
        a->target = j->target;
        if (!a->tenant_id)
            a->tenant_id = tenant;
    }
    return vm_drop(c, j->id, now, e);
}

int
db_vm_remove(db *d, int64_t host_id, const char *uuid, struct db_audit *a, err *e)
{
    struct vm_job j = {.host_id = host_id, .uuid = uuid};
    return db_mutate(d, vm_remove_apply, &j, a, e);
}

/* ======================================================================== */
/* pools and networks: reads                                                 */

#define POOL_KEY "printf('%020d/', p.host_id) || p.name"
static const char pool_list_sql[] =
    "SELECT p.id, p.host_id, h.name, p.uuid, p.name, ifnull(p.type, ''), p.active, p.autostart, "
    "p.persistent, p.capacity, p.allocation, p.available, p.volumes, p.updated_at, " POOL_KEY
    " FROM pool p JOIN host h ON h.id = p.host_id WHERE (?1 = 0 OR p.host_id = ?1) "
    "AND " DB_PAGE_KEYSET(POOL_KEY, "p.id", ">", "ASC", 2, 3, 4);

struct pool_list_ctx {
    db_pool_row_fn pool;
    db_network_row_fn net;
    void *arg;
};

static int
pool_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct pool_list_ctx *ctx = arg;
    struct db_pool p = {
        .id = sqlite3_column_int64(s, 0),
        .host_id = sqlite3_column_int64(s, 1),
        .host_name = db_store_text(s, 2),
        .uuid = db_store_text(s, 3),
        .name = db_store_text(s, 4),
        .type = db_store_text(s, 5),
        .active = sqlite3_column_int(s, 6) != 0,
        .autostart = sqlite3_column_int(s, 7) != 0,
        .persistent = sqlite3_column_int(s, 8) != 0,
        .capacity = sqlite3_column_int64(s, 9),
        .allocation = sqlite3_column_int64(s, 10),
        .available = sqlite3_column_int64(s, 11),
        .volumes = sqlite3_column_int64(s, 12),
        .updated_at = db_store_text(s, 13),
    };
    return ctx->pool(ctx->arg, &p, key, e);
}

int
db_pool_list(db *d, int64_t host_id, struct db_page *p, db_pool_row_fn fn, void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, pool_list_sql, e) : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    db_page_bind(s, p, 2);
    struct pool_list_ctx ctx = {.pool = fn, .arg = arg};
    return db_page_step(s, p, pool_list_row, &ctx, e);
}

#define NET_KEY "printf('%020d/', n.host_id) || n.name"
static const char net_list_sql[] =
    "SELECT n.id, n.host_id, h.name, n.uuid, n.name, ifnull(n.bridge, ''), "
    "ifnull(n.forward_mode, ''), n.active, n.autostart, n.persistent, n.updated_at, " NET_KEY
    " FROM network n JOIN host h ON h.id = n.host_id WHERE (?1 = 0 OR n.host_id = ?1) "
    "AND " DB_PAGE_KEYSET(NET_KEY, "n.id", ">", "ASC", 2, 3, 4);

static int
net_list_row(sqlite3_stmt *s, const char *key, void *arg, err *e)
{
    struct pool_list_ctx *ctx = arg;
    struct db_network n = {
        .id = sqlite3_column_int64(s, 0),
        .host_id = sqlite3_column_int64(s, 1),
        .host_name = db_store_text(s, 2),
        .uuid = db_store_text(s, 3),
        .name = db_store_text(s, 4),
        .bridge = db_store_text(s, 5),
        .forward_mode = db_store_text(s, 6),
        .active = sqlite3_column_int(s, 7) != 0,
        .autostart = sqlite3_column_int(s, 8) != 0,
        .persistent = sqlite3_column_int(s, 9) != 0,
        .updated_at = db_store_text(s, 10),
    };
    return ctx->net(ctx->arg, &n, key, e);
}

int
db_network_list(db *d, int64_t host_id, struct db_page *p, db_network_row_fn fn, void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, net_list_sql, e) : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    db_page_bind(s, p, 2);
    struct pool_list_ctx ctx = {.net = fn, .arg = arg};
    return db_page_step(s, p, net_list_row, &ctx, e);
}

/* ======================================================================== */
/* pools and networks: writes                                                */

/* The cached fingerprint of (host, uuid) in `table`'s row; "" when none. */
static int
cached_fp(db_conn *c, const char *sql, int64_t host_id, const char *uuid, char *fp, size_t n,
          err *e)
{
    DB_STMT s = db_conn_stmt(c, sql, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    sqlite3_bind_text(s, 2, uuid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    fp[0] = '\0';
    if (rc == SQLITE_ROW)
        db_row_text(s, 0, fp, n);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
volumes_put(db_conn *c, int64_t pool_id, const struct db_pool_row *p, err *e)
{
    if (db_store_exec_id_text(c, "DELETE FROM volume WHERE pool_id = ?1", pool_id, NULL, e) < 0)
        return -1;
    DB_STMT s = db_conn_stmt(c,
                             "INSERT OR REPLACE INTO volume(pool_id, name, path, format, capacity, "
                             "allocation) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                             e);
    if (!s)
        return -1;
    for (size_t i = 0; i < p->nvolumes; i++) {
        const struct db_volume_row *v = &p->volumes[i];
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, pool_id);
        sqlite3_bind_text(s, 2, v->name ? v->name : "", -1, SQLITE_STATIC);
        db_store_bind_text_or_null(s, 3, v->path);
        db_store_bind_text_or_null(s, 4, v->format);
        sqlite3_bind_int64(s, 5, (int64_t)(v->capacity & INT64_MAX));
        sqlite3_bind_int64(s, 6, (int64_t)(v->allocation & INT64_MAX));
        if (db_store_done(s, e) < 0)
            return -1;
    }
    return 0;
}

static int
pool_put(db_conn *c, int64_t host_id, const struct db_pool_row *p, const char *now, err *e)
{
    char fp[DB_FP_LEN + 1];
    if (cached_fp(c, "SELECT ifnull(fp, '') FROM pool WHERE host_id = ?1 AND uuid = ?2", host_id,
                  p->uuid, fp, sizeof(fp), e) < 0)
        return -1;
    if (p->fp && !strcmp(fp, p->fp))
        return 0;
    DB_STMT s = db_conn_stmt(
        c,
        "INSERT INTO pool(host_id, uuid, name, type, active, autostart, persistent, capacity, "
        "allocation, available, volumes, fp, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11, ?12, ?13) ON CONFLICT(host_id, uuid) DO UPDATE SET name = excluded.name, "
        "type = excluded.type, active = excluded.active, autostart = excluded.autostart, "
        "persistent = excluded.persistent, capacity = excluded.capacity, "
        "allocation = excluded.allocation, available = excluded.available, "
        "volumes = excluded.volumes, fp = excluded.fp, updated_at = excluded.updated_at "
        "RETURNING id",
        e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    sqlite3_bind_text(s, 2, p->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, p->name ? p->name : "", -1, SQLITE_STATIC);
    db_store_bind_text_or_null(s, 4, p->type);
    sqlite3_bind_int(s, 5, p->active);
    sqlite3_bind_int(s, 6, p->autostart);
    sqlite3_bind_int(s, 7, p->persistent);
    sqlite3_bind_int64(s, 8, (int64_t)(p->capacity & INT64_MAX));
    sqlite3_bind_int64(s, 9, (int64_t)(p->allocation & INT64_MAX));
    sqlite3_bind_int64(s, 10, (int64_t)(p->available & INT64_MAX));
    sqlite3_bind_int64(s, 11, (int64_t)p->nvolumes);
    db_store_bind_text_or_null(s, 12, p->fp);
    sqlite3_bind_text(s, 13, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    int64_t id = sqlite3_column_int64(s, 0);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    return volumes_put(c, id, p, e);
}

static int
network_put(db_conn *c, int64_t host_id, const struct db_network_row *n, const char *now, err *e)
{
    char fp[DB_FP_LEN + 1];
    if (cached_fp(c, "SELECT ifnull(fp, '') FROM network WHERE host_id = ?1 AND uuid = ?2", host_id,
                  n->uuid, fp, sizeof(fp), e) < 0)
        return -1;
    if (n->fp && !strcmp(fp, n->fp))
        return 0;
    DB_STMT s = db_conn_stmt(
        c,
        "INSERT INTO network(host_id, uuid, name, bridge, forward_mode, active, autostart, "
        "persistent, fp, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
        "ON CONFLICT(host_id, uuid) DO UPDATE SET name = excluded.name, bridge = excluded.bridge, "
        "forward_mode = excluded.forward_mode, active = excluded.active, "
        "autostart = excluded.autostart, persistent = excluded.persistent, fp = excluded.fp, "
        "updated_at = excluded.updated_at",
        e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    sqlite3_bind_text(s, 2, n->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, n->name ? n->name : "", -1, SQLITE_STATIC);
    db_store_bind_text_or_null(s, 4, n->bridge);
    db_store_bind_text_or_null(s, 5, n->forward_mode);
    sqlite3_bind_int(s, 6, n->active);
    sqlite3_bind_int(s, 7, n->autostart);
    sqlite3_bind_int(s, 8, n->persistent);
    db_store_bind_text_or_null(s, 9, n->fp);
    sqlite3_bind_text(s, 10, now, -1, SQLITE_STATIC);
    return db_store_done(s, e);
}

/* A JSON array of the uuids (text owned by the caller, free()). */
static char *
uuid_array(const void *rows, size_t n, size_t stride, size_t offset)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const char *uuid = *(const char *const *)((const char *)rows + i * stride + offset);
        json_array_append_new(a, json_string(uuid ? uuid : ""));
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

static int
pools_networks_put(db_conn *c, const struct db_inv_change *ch, const char *now, err *e)
{
    for (size_t i = 0; i < ch->npools; i++)
        if (pool_put(c, ch->host_id, &ch->pools[i], now, e) < 0)
            return -1;
    for (size_t i = 0; i < ch->nnetworks; i++)
        if (network_put(c, ch->host_id, &ch->networks[i], now, e) < 0)
            return -1;
    AUTOFREE char *pools =
        uuid_array(ch->pools, ch->npools, sizeof(*ch->pools), offsetof(struct db_pool_row, uuid));
    AUTOFREE char *nets = uuid_array(ch->networks, ch->nnetworks, sizeof(*ch->networks),
                                     offsetof(struct db_network_row, uuid));
    if (!pools || !nets)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    if (db_store_exec_id_text(c,
                              "DELETE FROM pool WHERE host_id = ?1 AND uuid NOT IN "
                              "(SELECT value FROM json_each(?2))",
                              ch->host_id, pools, e) < 0)
        return -1;
    return db_store_exec_id_text(c,
                                 "DELETE FROM network WHERE host_id = ?1 AND uuid NOT IN "
                                 "(SELECT value FROM json_each(?2))",
                                 ch->host_id, nets, e);
}

/* ======================================================================== */
/* one refresh of a host                                                     */

static int
facts_put(db_conn *c, int64_t host_id, const struct db_host_facts *f, const char *now, err *e)
{
    DB_STMT s = db_conn_stmt(
        c,
        "UPDATE host SET hostname = ?2, hypervisor = ?3, arch = ?4, cpu_model = ?5, "
        "cpu_vendor = ?6, cpu_features = ifnull(?7, '[]'), cores = ?8, threads = ?9, "
        "sockets = ?10, memory_mib = ?11, memory_free_mib = ?12, libvirt_version = ?13, "
        "facts_at = ?14, last_seen = ?14 WHERE id = ?1",
        e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, host_id);
    const char *texts[] = {f->hostname,  f->hypervisor, f->arch,
                           f->cpu_model, f->cpu_vendor, f->cpu_features};
    for (int i = 0; i < 6; i++)
        db_store_bind_text_or_null(s, 2 + i, texts[i]);
    int64_t nums[] = {f->cores,      f->threads,         f->sockets,
                      f->memory_mib, f->memory_free_mib, f->libvirt_version};
    for (int i = 0; i < 6; i++)
        bind_int_or_null(s, 8 + i, nums[i]);
    sqlite3_bind_text(s, 14, now, -1, SQLITE_STATIC);
    return db_store_done(s, e);
}

/* Is the host there, and has it ever been reconciled? */
static int
host_known(db_conn *c, int64_t host_id, bool *initial, err *e)
{
    DB_STMT s = db_store_get(c, "SELECT reconciled_at IS NULL FROM host WHERE id = ?1", host_id, e,
                             "No such host.");
    if (!s)
        return -1;
    *initial = sqlite3_column_int(s, 0) != 0;
    return 0;
}

static int
vm_audit(db_conn *c, const char *action, int64_t id, int64_t tenant_id, int64_t host_id,
         const char *uuid, const char *name, err *e)
{
    char target[40];
    snprintf(target, sizeof(target), "vm/%lld", (long long)id);
    return db_store_audit_system(
        c, action, target, tenant_id, "ok",
        json_pack("{s:s,s:s,s:I}", "uuid", uuid, "name", name, "host_id", (json_int_t)host_id), e);
}

/* Is a live migration of VM `id` queued or running? Its source host reports the
 * domain gone before the destination's row exists; the migrate task moves the
 * row itself, so the domain has not vanished. A migration that fails leaves the
 * domain where it was; one that ends otherwise is settled by the next
 * reconcile once the task is over. */
static int
vm_migrating(db_conn *c, int64_t id, bool *busy, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT 1 FROM task WHERE kind = 'vm.migrate' AND target = ?1"
                             " AND state IN ('queued', 'running')",
                             e);
    if (!s)
        return -1;
    char target[40];
    snprintf(target, sizeof(target), "vm/%lld", (long long)id);
    sqlite3_bind_text(s, 1, target, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    *busy = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
apply_gone(db_conn *c, struct db_inv_change *ch, const char *now, err *e)
{
    for (size_t i = 0; i < ch->ngone; i++) {
        int64_t id = 0, tenant = 0;
        char name[256];
        bool found = false;
        if (vm_find_on(c, ch->host_id, ch->gone[i], &id, &tenant, name, sizeof(name), &found, e) <
            0)
            return -1;
        if (!found) /* moved to another host meanwhile, or never cached */
            continue;
        bool migrating = false;
        if (vm_migrating(c, id, &migrating, e) < 0)
            return -1;
        if (migrating)
            continue;
        if (vm_drop(c, id, now, e) < 0 ||
            vm_audit(c, "vm.vanished", id, tenant, ch->host_id, ch->gone[i], name, e) < 0)
            return -1;
        ch->deleted++;
    }
    return 0;
}

static int
apply_put(db_conn *c, struct db_inv_change *ch, bool initial, const char *now, err *e)
{
    for (size_t i = 0; i < ch->nput; i++) {
        const struct db_vm_row *r = &ch->put[i];
        int64_t id = 0;
        enum vm_put_outcome o;
        if (vm_put_on(c, ch->host_id, r, now, &id, &o, e) < 0)
            return -1;
        if (o == VM_PUT_UPDATED)
            ch->updated++;
        if (o != VM_PUT_INSERTED)
            continue;
        ch->inserted++;
        if (!initial &&
            vm_audit(c, "vm.discovered", id, r->meta_tenant_id > 0 ? r->meta_tenant_id : 0,
                     ch->host_id, r->uuid, r->name, e) < 0)
            return -1;
    }
    return 0;
}

static int
inventory_apply(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct db_inv_change *ch = arg;
    ch->inserted = ch->updated = ch->deleted = 0;
    bool initial = false;
    if (host_known(c, ch->host_id, &initial, e) < 0)
        return -1;
    initial = initial && ch->reconciled;
    char now[32];
    db_now_rfc3339(now, sizeof(now));
    if (apply_gone(c, ch, now, e) < 0 || apply_put(c, ch, initial, now, e) < 0)
        return -1;
    if (ch->with_pools && pools_networks_put(c, ch, now, e) < 0)
        return -1;
    if (ch->facts && facts_put(c, ch->host_id, ch->facts, now, e) < 0)
        return -1;
    if (!ch->reconciled)
        return 0;
    if (db_store_exec_id_text(c, "UPDATE host SET reconciled_at = ?2, last_seen = ?2 WHERE id = ?1",
                              ch->host_id, now, e) < 0)
        return -1;
    /* a tenant the metadata named may have been created since the row was written */
    if (db_store_exec_id_text(c,
                              "UPDATE vm SET tenant_id = meta_tenant_id WHERE host_id = ?1 AND "
                              "tenant_id IS NULL AND meta_tenant_id IN (SELECT id FROM tenant)",
                              ch->host_id, NULL, e) < 0)
        return -1;
    if (!initial)
        return 0;
    char target[40];
    snprintf(target, sizeof(target), "host/%lld", (long long)ch->host_id);
    return db_store_audit_system(c, "host.inventory_imported", target, 0, "ok",
                                 json_pack("{s:I}", "vms", (json_int_t)ch->inserted), e);
}

int
db_inventory_apply(db *d, struct db_inv_change *c, err *e)
{
    return db_mutate(d, inventory_apply, c, NULL, e);
}
