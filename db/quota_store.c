/* quota_store: tenant limits, admission reservations, allocation usage from
 * the vm table and measured runtime samples. See quota.h. */
#include "quota.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "identity.h"
#include "session.h"

/* ---- the resource table ---- */

#define PIB_IN_MIB ((int64_t)1 << 30) /* 1 PiB = 2^30 MiB */
#define EIB_IN_GIB ((int64_t)1 << 30) /* 1 EiB = 2^30 GiB */
#define TIB ((int64_t)1 << 40)

/* Minimums: allocation limits may be 0 (nothing may be created); a runtime
 * limit of 0 would stop every VM of the tenant, so it is refused. Maximums
 * keep absurd values (typos, overflow probes) out. */
static const struct quota_res_info res_table[QUOTA_RES_COUNT] = {
    [QUOTA_VMS] = {"vms", "vms", 0, 1000000, 1, true, "count"},
    [QUOTA_VCPUS] = {"vcpus", "vcpus", 0, 1000000, 1, true, "count"},
    [QUOTA_MEMORY_MIB] = {"memory_mib", "memory_mib", 0, PIB_IN_MIB, 1, true, "MiB"},
    [QUOTA_DISK_GIB] = {"disk_gib", "disk_gib", 0, EIB_IN_GIB, 1, true, "GiB"},
    [QUOTA_CPU_CORES] = {"cpu_cores", "cpu_millicores", 10, 1000000 * 1000LL, 1000, false, "cores"},
    [QUOTA_MEMORY_MAX_MIB] = {"memory_max_mib", "memory_max_mib", 16, PIB_IN_MIB, 1, false, "MiB"},
    [QUOTA_IO_READ_BPS] = {"io_read_bps", "io_read_bps", 4096, TIB, 1, false, "bytes/s"},
    [QUOTA_IO_WRITE_BPS] = {"io_write_bps", "io_write_bps", 4096, TIB, 1, false, "bytes/s"},
    [QUOTA_IO_READ_IOPS] = {"io_read_iops", "io_read_iops", 1, 100000000, 1, false, "ops/s"},
    [QUOTA_IO_WRITE_IOPS] = {"io_write_iops", "io_write_iops", 1, 100000000, 1, false, "ops/s"},
    [QUOTA_IO_WEIGHT] = {"io_weight", "io_weight", 1, 10000, 1, false, "weight"},
    [QUOTA_PIDS_MAX] = {"pids_max", "pids_max", 16, 4194304, 1, false, "tasks"},
};

const struct quota_res_info *
db_quota_res(enum quota_res r)
{
    return &res_table[r];
}

enum quota_res
db_quota_res_find(const char *name)
{
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        if (!strcmp(res_table[r].name, name))
            return (enum quota_res)r;
    return QUOTA_RES_COUNT;
}

static enum quota_res
res_by_column(const char *column)
{
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        if (!strcmp(res_table[r].column, column))
            return (enum quota_res)r;
    return QUOTA_RES_COUNT;
}

void
db_quota_limits_unlimited(struct quota_limits *l)
{
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        l->v[r] = QUOTA_UNLIMITED;
}

/* ---- pure evaluation ---- */

static int64_t
sat_add(int64_t a, int64_t b)
{
    int64_t s;
    return __builtin_add_overflow(a, b, &s) ? INT64_MAX : s;
}

bool
db_quota_evaluate(const struct quota_limits *l, const struct quota_alloc *used,
                  const struct quota_alloc *reserved, const struct quota_deltas *deltas,
                  struct quota_refusal *why)
{
    why->n = 0;
    for (int r = 0; r < QUOTA_ALLOC_COUNT; r++) {
        int64_t lim = l->v[r], d = deltas->v[r];
        if (lim == QUOTA_UNLIMITED || d <= 0)
            continue;
        int64_t need = sat_add(sat_add(used->v[r], reserved->v[r]), d);
        if (need <= lim)
            continue;
        why->v[why->n++] = (struct quota_violation){(enum quota_res)r, lim, used->v[r],
                                                    reserved->v[r],    d,   need - lim};
    }
    return why->n == 0;
}

size_t
db_quota_over(const struct quota_limits *l, const struct quota_alloc *used,
              struct quota_refusal *over)
{
    over->n = 0;
    for (int r = 0; r < QUOTA_ALLOC_COUNT; r++)
        if (l->v[r] != QUOTA_UNLIMITED && used->v[r] > l->v[r])
            over->v[over->n++] = (struct quota_violation){
                (enum quota_res)r, l->v[r], used->v[r], 0, 0, used->v[r] - l->v[r]};
    return over->n;
}

/* ---- JSON for audit details (the API renders the same shapes) ---- */

json_t *
db_quota_limits_json(const struct quota_limits *l)
{
    json_t *j = json_object();
    for (int r = 0; j && r < QUOTA_RES_COUNT; r++) {
        int64_t v = l->v[r];
        if (v == QUOTA_UNLIMITED)
            continue;
        int sc = res_table[r].scale;
        json_object_set_new(j, res_table[r].name,
                            sc > 1 && v % sc ? json_real((double)v / sc) : json_integer(v / sc));
    }
    return j;
}

json_t *
db_quota_violations_json(const struct quota_refusal *why)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < why->n; i++) {
        const struct quota_violation *v = &why->v[i];
        json_array_append_new(
            a, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "resource", res_table[v->res].name, "limit",
                         (json_int_t)v->limit, "used", (json_int_t)v->used, "reserved",
                         (json_int_t)v->reserved, "requested", (json_int_t)v->requested,
                         "shortfall", (json_int_t)v->shortfall));
    }
    return a;
}

json_t *
db_quota_deltas_json(const struct quota_deltas *d)
{
    json_t *j = json_object();
    for (int r = 0; j && r < QUOTA_ALLOC_COUNT; r++)
        if (d->v[r])
            json_object_set_new(j, res_table[r].name, json_integer(d->v[r]));
    return j;
}

/* ---- reads (on any connection) ---- */

static int
tenant_must_exist(db_conn *c, int64_t tenant_id, err *e)
{
    bool yes = false;
    if (db_tenant_exists(c, tenant_id, &yes, e) < 0)
        return -1;
    return yes ? 0 : err_set(e, ERR_NOT_FOUND, "No such tenant.");
}

static int
limits_read(db_conn *c, int64_t tenant_id, struct quota_limits *out, char *updated_at, err *e)
{
    db_quota_limits_unlimited(out);
    if (updated_at)
        updated_at[0] = '\0';
    DB_STMT s = db_conn_stmt(
        c, "SELECT resource, limit_value, updated_at FROM quota WHERE tenant_id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, tenant_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        enum quota_res r = res_by_column((const char *)sqlite3_column_text(s, 0));
        if (r == QUOTA_RES_COUNT)
            continue; /* a resource this binary does not know limits nothing */
        out->v[r] = sqlite3_column_int64(s, 1);
        const char *ts = (const char *)sqlite3_column_text(s, 2);
        if (updated_at && ts && strcmp(ts, updated_at) > 0)
            snprintf(updated_at, 32, "%s", ts);
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* Four sums of one row (count / sums) into out. */
static int
alloc_row(sqlite3_stmt *s, int64_t tenant_id, struct quota_alloc *out, int64_t *count, err *e)
{
    sqlite3_bind_int64(s, 1, tenant_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    for (int r = 0; r < QUOTA_ALLOC_COUNT; r++)
        out->v[r] = sqlite3_column_int64(s, r);
    if (count)
        *count = sqlite3_column_int64(s, QUOTA_ALLOC_COUNT);
    return 0;
}

static int
used_read(db_conn *c, int64_t tenant_id, struct quota_alloc *out, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT count(*), ifnull(sum(vcpus), 0), ifnull(sum(memory_mib), 0), "
                             "ifnull(sum(disk_gib), 0), 0 FROM vm WHERE tenant_id = ?1",
                             e);
    return s ? alloc_row(s, tenant_id, out, NULL, e) : -1;
}

static int
reserved_read(db_conn *c, int64_t tenant_id, struct quota_alloc *out, int64_t *count, err *e)
{
    DB_STMT s =
        db_conn_stmt(c,
                     "SELECT ifnull(sum(max(vms, 0)), 0), ifnull(sum(max(vcpus, 0)), 0), "
                     "ifnull(sum(max(memory_mib, 0)), 0), ifnull(sum(max(disk_gib, 0)), 0), "
                     "count(*) FROM quota_reservation WHERE tenant_id = ?1",
                     e);
    return s ? alloc_row(s, tenant_id, out, count, e) : -1;
}

static int
usage_read(db_conn *c, int64_t tenant_id, struct quota_usage *u, err *e)
{
    memset(u, 0, sizeof(*u));
    if (tenant_must_exist(c, tenant_id, e) < 0 ||
        limits_read(c, tenant_id, &u->limits, NULL, e) < 0 ||
        used_read(c, tenant_id, &u->used, e) < 0)
        return -1;
    return reserved_read(c, tenant_id, &u->reserved, &u->reservations, e);
}

/* Runs usage_read in one read transaction on the caller's reader. */
static int
usage_snapshot(db *d, int64_t tenant_id, struct quota_usage *u, err *e)
{
    db_conn *c = db_reader(d, e);
    if (!c || db_conn_exec(c, "BEGIN", e) < 0)
        return -1;
    int rc = usage_read(c, tenant_id, u, e);
    sqlite3_exec(db_conn_sqlite(c), rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int
db_quota_get(db *d, int64_t tenant_id, struct quota_limits *out, char *updated_at, err *e)
{
    db_conn *c = db_reader(d, e);
    if (!c || tenant_must_exist(c, tenant_id, e) < 0)
        return -1;
    return limits_read(c, tenant_id, out, updated_at, e);
}

int
db_quota_usage(db *d, int64_t tenant_id, struct quota_usage *out, err *e)
{
    return usage_snapshot(d, tenant_id, out, e);
}

int
db_quota_check(db *d, int64_t tenant_id, const struct quota_deltas *deltas,
               struct quota_refusal *why, struct quota_usage *usage, err *e)
{
    struct quota_usage u;
    if (usage_snapshot(d, tenant_id, &u, e) < 0)
        return -1;
    db_quota_evaluate(&u.limits, &u.used, &u.reserved, deltas, why);
    why->tenant_id = tenant_id;
    if (usage)
        *usage = u;
    return 0;
}

/* ---- set limits ---- */

struct set_job {
    int64_t tenant_id;
    const struct quota_limits *l;
    struct quota_refusal over;
    json_t *details; /* owned; the audit row borrows it */
};

static int
limits_write(db_conn *c, int64_t tenant_id, const struct quota_limits *l, err *e)
{
    DB_STMT del = db_conn_stmt(c, "DELETE FROM quota WHERE tenant_id = ?1", e);
    if (!del)
        return -1;
    sqlite3_bind_int64(del, 1, tenant_id);
    int rc = sqlite3_step(del);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    for (int r = 0; r < QUOTA_RES_COUNT; r++) {
        if (l->v[r] == QUOTA_UNLIMITED)
            continue;
        DB_STMT s = db_conn_stmt(
            c, "INSERT INTO quota(tenant_id, resource, limit_value) VALUES (?1, ?2, ?3)", e);
        if (!s)
            return -1;
        sqlite3_bind_int64(s, 1, tenant_id);
        sqlite3_bind_text(s, 2, res_table[r].column, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, l->v[r]);
        if ((rc = sqlite3_step(s)) != SQLITE_DONE)
            return db_sqlite_err(e, rc);
    }
    return 0;
}

static int
apply_set(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct set_job *j = arg;
    struct quota_limits before;
    struct quota_alloc used;
    if (tenant_must_exist(c, j->tenant_id, e) < 0 ||
        limits_read(c, j->tenant_id, &before, NULL, e) < 0 ||
        used_read(c, j->tenant_id, &used, e) < 0 || limits_write(c, j->tenant_id, j->l, e) < 0)
        return -1;
    db_quota_over(j->l, &used, &j->over);
    j->over.tenant_id = j->tenant_id;
    j->details =
        json_pack("{s:o,s:o,s:o}", "before", db_quota_limits_json(&before), "after",
                  db_quota_limits_json(j->l), "over_quota", db_quota_violations_json(&j->over));
    if (!j->details)
        return err_set(e, ERR_INTERNAL, "out of memory");
    a->details = j->details;
    return 0;
}

int
db_quota_set(db *d, int64_t tenant_id, const struct quota_limits *l, struct db_audit *a,
             struct quota_refusal *over, err *e)
{
    if (!a)
        return err_set(e, ERR_INTERNAL, "a quota change needs an audit row");
    char target[48];
    snprintf(target, sizeof(target), "tenant/%" PRId64 "/quota", tenant_id);
    struct set_job j = {.tenant_id = tenant_id, .l = l};
    json_t *saved = a->details;
    a->target = a->target ? a->target : target;
    int rc = db_mutate(d, apply_set, &j, a, e);
    a->details = saved;
    if (a->target == target)
        a->target = NULL;
    json_decref(j.details);
    if (rc == 0 && over)
        *over = j.over;
    return rc;
}

/* ---- reservations ---- */

struct reserve_job {
    int64_t tenant_id;
    const struct quota_deltas *deltas;
    const char *purpose;
    struct quota_refusal why;
    int64_t id;
    json_t *details; /* owned */
};

static int
reservation_insert(db_conn *c, struct reserve_job *j, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO quota_reservation(tenant_id, vms, vcpus, memory_mib, "
                             "disk_gib, purpose) VALUES (?1, ?2, ?3, ?4, ?5, substr(?6, 1, 200))",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->tenant_id);
    for (int r = 0; r < QUOTA_ALLOC_COUNT; r++)
        sqlite3_bind_int64(s, 2 + r, j->deltas->v[r]);
    sqlite3_bind_text(s, 6, j->purpose ? j->purpose : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    return 0;
}

/* The refusal as one client-safe sentence naming the first resource. */
static int
refusal_err(err *e, const struct quota_refusal *why)
{
    const struct quota_violation *v = &why->v[0];
    return err_set(e, ERR_QUOTA,
                   "The tenant's quota does not allow this: %s would need %" PRId64
                   " more than its limit of %" PRId64 " (used %" PRId64 ", reserved %" PRId64
                   ", requested %" PRId64 ")%s.",
                   res_table[v->res].name, v->shortfall, v->limit, v->used, v->reserved,
                   v->requested, why->n > 1 ? ", and more" : "");
}

static int
apply_reserve(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct reserve_job *j = arg;
    struct quota_usage u;
    if (usage_read(c, j->tenant_id, &u, e) < 0)
        return -1;
    j->why.tenant_id = j->tenant_id;
    if (!db_quota_evaluate(&u.limits, &u.used, &u.reserved, j->deltas, &j->why))
        return refusal_err(e, &j->why);
    if (reservation_insert(c, j, e) < 0)
        return -1;
    if (a) {
        j->details = json_pack("{s:I,s:o}", "reservation_id", (json_int_t)j->id, "deltas",
                               db_quota_deltas_json(j->deltas));
        a->details = j->details;
    }
    return 0;
}

/* A refusal is a security-relevant event of its own: written alone, "denied". */
static void
audit_refusal(db *d, struct db_audit *a, const struct reserve_job *j)
{
    struct db_audit denied = *a;
    json_t *det = json_pack("{s:o,s:o}", "deltas", db_quota_deltas_json(j->deltas), "refused",
                            db_quota_violations_json(&j->why));
    denied.outcome = "denied";
    denied.details = det;
    db_audit_event(d, &denied, NULL);
    json_decref(det);
}

int
db_quota_reserve(db *d, int64_t tenant_id, const struct quota_deltas *deltas, struct db_audit *a,
                 int64_t *reservation_id, struct quota_refusal *why, err *e)
{
    struct reserve_job j = {.tenant_id = tenant_id, .deltas = deltas};
    j.purpose = a ? a->target : NULL;
    json_t *saved = a ? a->details : NULL;
    int rc = db_mutate(d, apply_reserve, &j, a, e);
    if (a)
        a->details = saved;
    json_decref(j.details);
    if (why)
        *why = j.why;
    if (rc < 0 && e && e->kind == ERR_QUOTA && a)
        audit_refusal(d, a, &j);
    if (rc == 0)
        *reservation_id = j.id;
    return rc;
}

int
db_quota_commit_in(db_conn *c, int64_t reservation_id, err *e)
{
    DB_STMT s = db_conn_stmt(c, "DELETE FROM quota_reservation WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, reservation_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    if (sqlite3_changes(db_conn_sqlite(c)) == 0)
        return err_set(e, ERR_NOT_FOUND, "No such quota reservation.");
    return 0;
}

static int
apply_end(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    return db_quota_commit_in(c, *(int64_t *)arg, e);
}

int
db_quota_commit(db *d, int64_t reservation_id, struct db_audit *a, err *e)
{
    return db_mutate(d, apply_end, &reservation_id, a, e);
}

int
db_quota_release(db *d, int64_t reservation_id, struct db_audit *a, err *e)
{
    return db_mutate(d, apply_end, &reservation_id, a, e);
}

/* ---- reconciliation ---- */

struct reconcile_job {
    const char *before;
    int64_t released;
    json_t *details; /* owned */
};

static int
stale_collect(db_conn *c, struct reconcile_job *j, json_t *list, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT id, tenant_id, vms, vcpus, memory_mib, disk_gib, purpose, "
                             "created_at FROM quota_reservation WHERE created_at < ?1 ORDER BY id",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->before, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_array_append_new(list, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s}", "id",
                                              (json_int_t)sqlite3_column_int64(s, 0), "tenant_id",
                                              (json_int_t)sqlite3_column_int64(s, 1), "vms",
                                              (json_int_t)sqlite3_column_int64(s, 2), "vcpus",
                                              (json_int_t)sqlite3_column_int64(s, 3), "memory_mib",
                                              (json_int_t)sqlite3_column_int64(s, 4), "disk_gib",
                                              (json_int_t)sqlite3_column_int64(s, 5), "purpose",
                                              (const char *)sqlite3_column_text(s, 6), "created_at",
                                              (const char *)sqlite3_column_text(s, 7)));
        j->released++;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
apply_reconcile(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct reconcile_job *j = arg;
    json_t *list = json_array();
    j->details = json_pack("{s:s,s:o}", "before", j->before, "released", list);
    if (!j->details)
        return err_set(e, ERR_INTERNAL, "out of memory");
    a->details = j->details;
    if (stale_collect(c, j, list, e) < 0)
        return -1;
    DB_STMT s = db_conn_stmt(c, "DELETE FROM quota_reservation WHERE created_at < ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->before, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
stale_count(db *d, const char *before, int64_t *n, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s =
        c ? db_conn_stmt(c, "SELECT count(*) FROM quota_reservation WHERE created_at < ?1", e)
          : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, before, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    *n = sqlite3_column_int64(s, 0);
    return 0;
}

int
db_quota_reconcile(db *d, const char *before, int64_t *released, err *e)
{
    int64_t n = 0;
    if (released)
        *released = 0;
    if (stale_count(d, before, &n, e) < 0)
        return -1;
    if (n == 0) /* nothing stale (the usual start): no audit row about nothing */
        return 0;
    struct reconcile_job j = {.before = before};
    struct db_audit a = {
        .actor = "system", .action = "quota.reconcile", .target = "quota_reservation"};
    int rc = db_mutate(d, apply_reconcile, &j, &a, e);
    json_decref(j.details);
    if (rc == 0 && released)
        *released = j.released;
    return rc;
}

int
db_quota_reconcile_older(db *d, int64_t now, int64_t max_age_s, int64_t *released, err *e)
{
    char before[32];
    db_time_format(now - max_age_s, before, sizeof(before));
    return db_quota_reconcile(d, before, released, e);
}

/* ---- per-host allocation ---- */

int
db_quota_host_allocs(db *d, int64_t tenant_id, struct quota_host_alloc **out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT host_id, count(*), sum(vcpus), sum(memory_mib), "
                                 "sum(disk_gib) FROM vm WHERE tenant_id = ?1 "
                                 "GROUP BY host_id ORDER BY host_id",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, tenant_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct quota_host_alloc *nb = realloc(*out, ncap * sizeof(*nb));
            if (!nb) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = nb, cap = ncap;
        }
        (*out)[(*n)++] = (struct quota_host_alloc){
            sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
            sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4)};
    }
    if (rc == SQLITE_DONE)
        return 0;
    free(*out);
    *out = NULL;
    *n = 0;
    return db_sqlite_err(e, rc);
}

/* ---- runtime samples ---- */

static const char *const mode_names[] = {"none", "cgroup", "libvirt"};

const char *
db_quota_mode_name(enum quota_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "none";
}

static int
sample_insert(db_conn *c, const struct quota_sample *q, err *e)
{
    DB_STMT s = db_conn_stmt(
        c,
        "INSERT INTO quota_usage_sample(tenant_id, host_id, mode, ts, cpu_usage_usec, "
        "cpu_throttled_usec, memory_bytes, oom_kills, io_read_bytes, io_write_bytes, io_read_ios, "
        "io_write_ios, pids) VALUES (?1, nullif(?2, 0), ?3, "
        "coalesce(nullif(?4, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
        "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, q->tenant_id);
    sqlite3_bind_int64(s, 2, q->host_id);
    sqlite3_bind_text(s, 3, db_quota_mode_name(q->mode), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, q->ts, -1, SQLITE_STATIC);
    const int64_t vals[] = {q->cpu_usage_usec, q->cpu_throttled_usec, q->memory_bytes,
                            q->oom_kills,      q->io_read_bytes,      q->io_write_bytes,
                            q->io_read_ios,    q->io_write_ios,       q->pids};
    for (int i = 0; i < 9; i++)
        sqlite3_bind_int64(s, 5 + i, vals[i] < 0 ? 0 : vals[i]);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

struct sample_job {
    const struct quota_sample *s;
    int keep;
};

static int
apply_sample(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct sample_job *j = arg;
    if (sample_insert(c, j->s, e) < 0)
        return -1;
    DB_STMT s = db_conn_stmt(c,
                             "DELETE FROM quota_usage_sample WHERE tenant_id = ?1 "
                             "AND host_id IS nullif(?2, 0) AND id NOT IN (SELECT id FROM "
                             "quota_usage_sample WHERE tenant_id = ?1 AND host_id IS nullif(?2, 0) "
                             "ORDER BY id DESC LIMIT ?3)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->s->tenant_id);
    sqlite3_bind_int64(s, 2, j->s->host_id);
    sqlite3_bind_int(s, 3, j->keep);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

int
db_quota_sample_record(db *d, const struct quota_sample *s, int keep, err *e)
{
    if (keep < 1)
        return err_set(e, ERR_INTERNAL, "keep must be >= 1");
    struct sample_job j = {s, keep};
    return db_mutate(d, apply_sample, &j, NULL, e);
}

static void
sample_row(sqlite3_stmt *s, struct quota_sample *q)
{
    memset(q, 0, sizeof(*q));
    q->tenant_id = sqlite3_column_int64(s, 0);
    q->host_id = sqlite3_column_int64(s, 1);
    const char *mode = (const char *)sqlite3_column_text(s, 2);
    for (int m = 0; m < 3; m++)
        if (mode && !strcmp(mode, mode_names[m]))
            q->mode = (enum quota_mode)m;
    db_row_text(s, 3, q->ts, sizeof(q->ts));
    int64_t *vals[] = {&q->cpu_usage_usec, &q->cpu_throttled_usec, &q->memory_bytes,
                       &q->oom_kills,      &q->io_read_bytes,      &q->io_write_bytes,
                       &q->io_read_ios,    &q->io_write_ios,       &q->pids};
    for (int i = 0; i < 9; i++)
        *vals[i] = sqlite3_column_int64(s, 4 + i);
}

int
db_quota_samples_latest(db *d, int64_t tenant_id, db_quota_sample_fn fn, void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s =
        c ? db_conn_stmt(c,
                         "SELECT tenant_id, ifnull(host_id, 0), mode, ts, cpu_usage_usec, "
                         "cpu_throttled_usec, memory_bytes, oom_kills, io_read_bytes, "
                         "io_write_bytes, io_read_ios, io_write_ios, pids "
                         "FROM quota_usage_sample q WHERE tenant_id = ?1 AND id = (SELECT max(id) "
                         "FROM quota_usage_sample WHERE tenant_id = q.tenant_id "
                         "AND host_id IS q.host_id) ORDER BY ifnull(host_id, 0)",
                         e)
          : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, tenant_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct quota_sample q;
        sample_row(s, &q);
        if (fn(arg, &q, e) < 0)
            return -1;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}
