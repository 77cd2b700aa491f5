/* db/quota_store.c against real SQLite files: admission with reservations
 * (reserve -> apply -> commit / release), the race of issue 6 at the C level,
 * a quota lowered below usage, startup reconciliation, samples, per-host
 * allocation and migration 0002 keeping the 0001 quota rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_internal.h"
#include "db_test_util.h"
#include "identity.h"
#include "app.h"
#include "quota.h"
#include "quotas.h"
#include "sampler.h"
#include <linux/magic.h>
#include <sys/statfs.h>

struct fx {
    char *dir, *path;
    db *d;
    int64_t host;
};

static struct fx F;

/* ---- a little world: tenants, a host, vm rows (the inventory's job later) ---- */

struct sql_job {
    const char *sql; /* literal */
    int64_t a, b, c, d, e;
    const char *text;
    int64_t rid; /* reservation to commit in the same transaction, 0 = none */
};

static int
apply_sql(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    struct sql_job *j = arg;
    DB_STMT s = db_conn_stmt(c, j->sql, e);
    if (!s)
        return -1;
    int64_t v[] = {j->a, j->b, j->c, j->d, j->e};
    int np = sqlite3_bind_parameter_count(s);
    for (int i = 0; i < 5 && i < np; i++)
        sqlite3_bind_int64(s, i + 1, v[i]);
    if (np >= 6)
        sqlite3_bind_text(s, 6, j->text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    return j->rid ? db_quota_commit_in(c, j->rid, e) : 0;
}

static int
run_sql(struct sql_job *j, err *e)
{
    return db_mutate(F.d, apply_sql, j, NULL, e);
}

#define VM_INSERT                                                                                  \
    "INSERT INTO vm(uuid, host_id, tenant_id, vcpus, memory_mib, disk_gib, name) "                 \
    "VALUES (lower(hex(randomblob(16))), ?1, ?2, ?3, ?4, ?5, ?6)"

static void
vm_add(int64_t tenant, const char *name, int64_t vcpus, int64_t mem, int64_t disk)
{
    struct sql_job j = {VM_INSERT, F.host, tenant, vcpus, mem, disk, name, 0};
    err e = {0};
    if (run_sql(&j, &e) < 0)
        fail_msg("vm insert: %s", e.detail);
}

static int64_t
tenant_new(const char *slug)
{
    struct db_audit a = {.actor = "test", .action = "tenant.create"};
    int64_t id = 0;
    err e = {0};
    if (db_tenant_create(F.d, slug, slug, &a, &id, &e) < 0)
        fail_msg("tenant: %s", e.detail);
    return id;
}

static void
quota_set4(int64_t tenant, int64_t vms, int64_t vcpus, int64_t mem, int64_t disk,
           struct quota_refusal *over)
{
    struct quota_limits l;
    db_quota_limits_unlimited(&l);
    l.v[QUOTA_VMS] = vms, l.v[QUOTA_VCPUS] = vcpus;
    l.v[QUOTA_MEMORY_MIB] = mem, l.v[QUOTA_DISK_GIB] = disk;
    struct db_audit a = {.actor = "test", .action = "quota.update", .tenant_id = tenant};
    err e = {0};
    if (db_quota_set(F.d, tenant, &l, &a, over, &e) < 0)
        fail_msg("quota set: %s", e.detail);
}

static int
setup(void **state)
{
    F.dir = dbt_tmpdir();
    assert_non_null(F.dir);
    F.path = dbt_path(F.dir, "q.db");
    F.d = dbt_open(F.path, DB_COMMIT_GROUP);
    struct sql_job j = {.sql = "INSERT INTO host(name, uri) VALUES ('h1', 'test:///h1')"};
    err e = {0};
    assert_int_equal(run_sql(&j, &e), 0);
    F.host = dbt_count(F.d, "SELECT id FROM host WHERE name = 'h1'");
    return 0;
}

static int
teardown(void **state)
{
    db_close(F.d);
    dbt_rmtree(F.dir);
    free(F.dir);
    free(F.path);
    memset(&F, 0, sizeof(F));
    return 0;
}

static void
usage_of(int64_t tenant, struct quota_usage *u)
{
    err e = {0};
    if (db_quota_usage(F.d, tenant, u, &e) < 0)
        fail_msg("usage: %s", e.detail);
}

/* ---- the race (issue 6: "50 concurrent creates, quota fits exactly 10") ---- */

enum { RACERS = 50, ROUNDS = 20, FITS = 10 };

struct racer {
    int64_t tenant;
    int round, idx;
    pthread_barrier_t *start;
    int admitted, refused, failed;
    char detail[256];
};

/* reserve -> insert the vm row -> commit; half of them commit in the same
 * transaction as the insert, half afterwards (both paths of quota.h). */
static void *
race_one(void *arg)
{
    struct racer *r = arg;
    char name[48];
    snprintf(name, sizeof(name), "vm-%d-%d", r->round, r->idx);
    struct quota_deltas d = {{1, 2, 2048, 20}};
    struct db_audit a = {
        .actor = "test", .action = "vm.create", .target = name, .tenant_id = r->tenant};
    struct quota_refusal why;
    int64_t rid = 0;
    err e = {0};
    pthread_barrier_wait(r->start);
    if (db_quota_reserve(F.d, r->tenant, &d, &a, &rid, &why, &e) < 0) {
        r->refused = e.kind == ERR_QUOTA && why.n > 0;
        r->failed = !r->refused;
        snprintf(r->detail, sizeof(r->detail), "%s", e.detail);
        return NULL;
    }
    struct sql_job j = {VM_INSERT, F.host, r->tenant, 2, 2048, 20, name, r->idx % 2 ? rid : 0};
    if (run_sql(&j, &e) < 0 || (!j.rid && db_quota_commit(F.d, rid, NULL, &e) < 0)) {
        r->failed = 1;
        snprintf(r->detail, sizeof(r->detail), "%s", e.detail);
        return NULL;
    }
    r->admitted = 1;
    return NULL;
}

static void
race_round(int round)
{
    char slug[32];
    snprintf(slug, sizeof(slug), "race-%d", round);
    int64_t t = tenant_new(slug);
    quota_set4(t, FITS, 2 * FITS, 2048 * FITS, 20 * FITS, NULL);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    struct racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (struct racer){.tenant = t, .round = round, .idx = i, .start = &start};
        assert_int_equal(pthread_create(&th[i], NULL, race_one, &rs[i]), 0);
    }
    int admitted = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        if (rs[i].failed)
            fail_msg("round %d racer %d failed: %s", round, i, rs[i].detail);
        admitted += rs[i].admitted, refused += rs[i].refused;
    }
    pthread_barrier_destroy(&start);
    if (admitted != FITS || refused != RACERS - FITS)
        fail_msg("round %d: %d admitted, %d refused", round, admitted, refused);
    struct quota_usage u;
    usage_of(t, &u);
    /* usage is the sum of the admitted VMs, and nothing is left reserved */
    assert_int_equal(u.used.v[QUOTA_VMS], FITS);
    assert_int_equal(u.used.v[QUOTA_VCPUS], 2 * FITS);
    assert_int_equal(u.used.v[QUOTA_MEMORY_MIB], 2048 * FITS);
    assert_int_equal(u.used.v[QUOTA_DISK_GIB], 20 * FITS);
    assert_int_equal(u.reservations, 0);
    char q[160];
    snprintf(q, sizeof(q), "%lld", (long long)t);
    assert_int_equal(dbt_count_s(F.d,
                                 "SELECT count(*) FROM audit WHERE tenant_id = CAST(?1 AS INTEGER)"
                                 " AND action = 'vm.create' AND outcome = 'denied'",
                                 q),
                     RACERS - FITS);
}

static void
test_race_50_for_10(void **state)
{
    for (int round = 0; round < ROUNDS; round++)
        race_round(round);
    struct db_audit_verify_result v;
    err e = {0};
    assert_int_equal(db_audit_verify_live(F.d, 0, &v, &e), 0);
    assert_int_equal(v.problem, DB_AUDIT_OK);
}

/* ---- reservations ---- */

static void
test_reserve_commit_release(void **state)
{
    int64_t t = tenant_new("rcr");
    quota_set4(t, 2, QUOTA_UNLIMITED, QUOTA_UNLIMITED, QUOTA_UNLIMITED, NULL);
    struct quota_deltas one = {{1, 4, 1024, 10}};
    int64_t r1, r2, r3;
    struct quota_refusal why;
    err e = {0};
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &r1, &why, &e), 0);
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &r2, &why, &e), 0);
    struct quota_usage u;
    usage_of(t, &u);
    assert_int_equal(u.reserved.v[QUOTA_VMS], 2); /* pending ones hold the quota */
    assert_int_equal(u.reserved.v[QUOTA_VCPUS], 8);
    assert_int_equal(u.reservations, 2);
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &r3, &why, &e), -1);
    assert_int_equal(e.kind, ERR_QUOTA);
    assert_int_equal(why.n, 1);
    assert_int_equal(why.v[0].reserved, 2);
    assert_int_equal(why.v[0].shortfall, 1);
    assert_non_null(strstr(e.detail, "vms"));
    /* apply failed: release gives it back; a second release finds nothing */
    assert_int_equal(db_quota_release(F.d, r2, NULL, &e), 0);
    assert_int_equal(db_quota_release(F.d, r2, NULL, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &r3, &why, &e), 0);
    vm_add(t, "rcr-1", 4, 1024, 10);
    assert_int_equal(db_quota_commit(F.d, r1, NULL, &e), 0);
    usage_of(t, &u);
    assert_int_equal(u.used.v[QUOTA_VMS], 1);
    assert_int_equal(u.reserved.v[QUOTA_VMS], 1); /* r3 */
    /* giving back (a shrink) is admitted even when full */
    struct quota_deltas shrink = {{0, -2, -512, 0}};
    assert_int_equal(db_quota_reserve(F.d, t, &shrink, NULL, &r2, &why, &e), 0);
    usage_of(t, &u);
    assert_int_equal(u.reserved.v[QUOTA_VCPUS], 4); /* negative deltas hold nothing */
    assert_int_equal(db_quota_reserve(F.d, 999999, &one, NULL, &r2, &why, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
}

static void
test_dry_run_check(void **state)
{
    int64_t t = tenant_new("dry");
    quota_set4(t, 5, 8, QUOTA_UNLIMITED, 100, NULL);
    vm_add(t, "dry-1", 4, 4096, 40);
    struct quota_deltas d = {{1, 4, 4096, 60}};
    struct quota_refusal why;
    struct quota_usage u;
    err e = {0};
    assert_int_equal(db_quota_check(F.d, t, &d, &why, &u, &e), 0);
    assert_int_equal(why.n, 0);
    d.v[QUOTA_VCPUS] = 5;
    d.v[QUOTA_DISK_GIB] = 61;
    assert_int_equal(db_quota_check(F.d, t, &d, &why, &u, &e), 0);
    assert_int_equal(why.n, 2);
    assert_int_equal(why.v[0].res, QUOTA_VCPUS);
    assert_int_equal(why.v[0].shortfall, 1);
    assert_int_equal(why.v[1].res, QUOTA_DISK_GIB);
    assert_int_equal(why.v[1].shortfall, 1);
    assert_int_equal(u.used.v[QUOTA_VCPUS], 4);
    /* a dry run reserves nothing */
    assert_int_equal(dbt_count(F.d, "SELECT count(*) FROM quota_reservation"), 0);
}

/* Lowering a quota below usage: allowed, reported, audited; nothing is
 * removed; new admissions are refused until usage fits again. */
static void
test_lower_below_usage(void **state)
{
    int64_t t = tenant_new("lower");
    for (int i = 0; i < 5; i++) {
        char n[16];
        snprintf(n, sizeof(n), "lower-%d", i);
        vm_add(t, n, 1, 512, 5);
    }
    struct quota_refusal over;
    quota_set4(t, 3, QUOTA_UNLIMITED, QUOTA_UNLIMITED, QUOTA_UNLIMITED, &over);
    assert_int_equal(over.n, 1);
    assert_int_equal(over.v[0].res, QUOTA_VMS);
    assert_int_equal(over.v[0].used, 5);
    assert_int_equal(over.v[0].limit, 3);
    char q[32];
    snprintf(q, sizeof(q), "%lld", (long long)t);
    assert_int_equal(dbt_count_s(F.d,
                                 "SELECT count(*) FROM audit WHERE action = 'quota.update' AND "
                                 "tenant_id = CAST(?1 AS INTEGER) AND json_extract(details, "
                                 "'$.over_quota[0].resource') = 'vms' AND "
                                 "json_extract(details, '$.after.vms') = 3",
                                 q),
                     1);
    assert_int_equal(dbt_count_s(F.d, "SELECT count(*) FROM vm WHERE tenant_id = ?1", q), 5);
    struct quota_deltas one = {{1, 1, 512, 5}};
    struct quota_deltas resize = {{0, 2, 0, 0}}; /* vCPUs are unlimited */
    int64_t rid;
    struct quota_refusal why;
    err e = {0};
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &rid, &why, &e), -1);
    assert_int_equal(why.v[0].shortfall, 3);
    assert_int_equal(db_quota_reserve(F.d, t, &resize, NULL, &rid, &why, &e), 0);
    assert_int_equal(db_quota_release(F.d, rid, NULL, &e), 0);
    struct sql_job del = {.sql = "DELETE FROM vm WHERE tenant_id = ?1 AND name IN "
                                 "('lower-0', 'lower-1', 'lower-2')",
                          .a = t};
    assert_int_equal(run_sql(&del, &e), 0); /* now 2 VMs: one more fits */
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &rid, &why, &e), 0);
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &rid, &why, &e), -1);
}

static void
test_set_get_roundtrip(void **state)
{
    int64_t t = tenant_new("rt");
    struct quota_limits l, got;
    db_quota_limits_unlimited(&l);
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        l.v[r] = db_quota_res((enum quota_res)r)->min + r;
    struct db_audit a = {.actor = "test", .action = "quota.update"};
    char updated[32];
    err e = {0};
    assert_int_equal(db_quota_set(F.d, t, &l, &a, NULL, &e), 0);
    assert_int_equal(db_quota_get(F.d, t, &got, updated, &e), 0);
    assert_memory_equal(&l, &got, sizeof(l));
    assert_true(strlen(updated) > 10);
    db_quota_limits_unlimited(&l); /* everything back to unlimited: no rows */
    assert_int_equal(db_quota_set(F.d, t, &l, &a, NULL, &e), 0);
    assert_int_equal(db_quota_get(F.d, t, &got, updated, &e), 0);
    assert_memory_equal(&l, &got, sizeof(l));
    assert_string_equal(updated, "");
    assert_int_equal(db_quota_get(F.d, 424242, &got, NULL, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(db_quota_set(F.d, 424242, &l, &a, NULL, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
}

/* A crash between reserve and commit leaves a row; startup releases the
 * ones older than the cut-off, with one audit row naming them. */
static void
test_reconcile_stale(void **state)
{
    int64_t t = tenant_new("crash");
    quota_set4(t, 1, QUOTA_UNLIMITED, QUOTA_UNLIMITED, QUOTA_UNLIMITED, NULL);
    struct quota_deltas one = {{1, 0, 0, 0}};
    int64_t rid, released = -1;
    struct quota_refusal why;
    err e = {0};
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &rid, &why, &e), 0);
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &rid, &why, &e), -1); /* held */
    int64_t audits = dbt_count(F.d, "SELECT count(*) FROM audit");
    assert_int_equal(db_quota_reconcile(F.d, "2000-01-01T00:00:00.000Z", &released, &e), 0);
    assert_int_equal(released, 0); /* not stale yet */
    assert_int_equal(dbt_count(F.d, "SELECT count(*) FROM audit"), audits);
    /* "restart" (close and reopen the file), then reconcile with a cut-off after it */
    db_close(F.d);
    F.d = dbt_open(F.path, DB_COMMIT_GROUP);
    /* as `serve` runs it: older than 60 s, with the clock 2 minutes ahead */
    assert_int_equal(db_quota_reconcile_older(F.d, (int64_t)time(NULL) + 120, 60, &released, &e),
                     0);
    assert_int_equal(released, 1);
    assert_int_equal(dbt_count(F.d, "SELECT count(*) FROM audit WHERE action = 'quota.reconcile' "
                                    "AND actor = 'system' AND json_array_length(details, "
                                    "'$.released') = 1"),
                     1);
    assert_int_equal(db_quota_reserve(F.d, t, &one, NULL, &rid, &why, &e), 0);
}

static void
test_host_allocs(void **state)
{
    int64_t t = tenant_new("hosts");
    struct sql_job h2 = {.sql = "INSERT INTO host(name, uri) VALUES ('h2', 'test:///h2')"};
    err e = {0};
    assert_int_equal(run_sql(&h2, &e), 0);
    int64_t host2 = dbt_count(F.d, "SELECT id FROM host WHERE name = 'h2'");
    vm_add(t, "ha-1", 2, 1024, 10);
    vm_add(t, "ha-2", 4, 2048, 20);
    struct sql_job v = {VM_INSERT, host2, t, 8, 4096, 40, "ha-3", 0};
    assert_int_equal(run_sql(&v, &e), 0);
    struct quota_host_alloc *a = NULL;
    size_t n = 0;
    assert_int_equal(db_quota_host_allocs(F.d, t, &a, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].host_id, F.host);
    assert_int_equal(a[0].vms, 2);
    assert_int_equal(a[0].vcpus, 6);
    assert_int_equal(a[0].memory_mib, 3072);
    assert_int_equal(a[1].host_id, host2);
    assert_int_equal(a[1].disk_gib, 40);
    free(a);
}

struct samples {
    struct quota_sample got[4];
    size_t n;
};

static int
collect(void *arg, const struct quota_sample *s, err *e)
{
    struct samples *x = arg;
    if (x->n == 4)
        return err_set(e, ERR_INTERNAL, "too many samples");
    x->got[x->n++] = *s;
    return 0;
}

static void
test_samples_bounded(void **state)
{
    int64_t t = tenant_new("samples");
    err e = {0};
    for (int i = 1; i <= 5; i++) {
        struct quota_sample s = {.tenant_id = t,
                                 .host_id = F.host,
                                 .mode = QUOTA_MODE_CGROUP,
                                 .cpu_usage_usec = i * 1000,
                                 .oom_kills = i};
        assert_int_equal(db_quota_sample_record(F.d, &s, 3, &e), 0);
    }
    struct quota_sample own = {.tenant_id = t, .mode = QUOTA_MODE_LIBVIRT, .memory_bytes = 7};
    assert_int_equal(db_quota_sample_record(F.d, &own, 3, &e), 0);
    char q[32];
    snprintf(q, sizeof(q), "%lld", (long long)t);
    assert_int_equal(
        dbt_count_s(F.d, "SELECT count(*) FROM quota_usage_sample WHERE tenant_id = ?1", q), 4);
    struct samples acc = {0};
    assert_int_equal(db_quota_samples_latest(F.d, t, collect, &acc, &e), 0);
    assert_int_equal(acc.n, 2);
    assert_int_equal(acc.got[0].host_id, 0); /* the portal's own host first */
    assert_int_equal(acc.got[0].mode, QUOTA_MODE_LIBVIRT);
    assert_int_equal(acc.got[1].cpu_usage_usec, 5000); /* the newest */
    assert_int_equal(acc.got[1].oom_kills, 5);
    assert_true(strlen(acc.got[1].ts) > 10);
}

/* The sampler never reads or writes outside a cgroup v2 tree: on this
 * host's tmpfs /sys/fs/cgroup, or a fake tree on a tmpfs, it refuses before
 * recording anything. (It samples for real in tests/system/quota.) */
static void
test_sampler_refuses_non_v2(void **state)
{
    tenant_new("sampled");
    struct quota_cgroup_cfg roots[] = {{.root = "/dev/shm"}, {.root = NULL}};
    for (size_t i = 0; i < 2; i++) {
        const char *root = roots[i].root ? roots[i].root : QUOTA_CGROUP_ROOT;
        struct statfs sf;
        if (statfs(root, &sf) < 0 || (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
            continue; /* a real cgroup v2 root: nothing to refuse */
        int n = -1;
        err e = {0};
        assert_int_equal(quota_sampler_run(F.d, &roots[i], 0, 10, &n, &e), -1);
        assert_int_equal(e.kind, ERR_UNAVAILABLE);
        assert_non_null(strstr(e.detail, "is not a cgroup v2 filesystem"));
        assert_int_equal(n, 0);
    }
    assert_int_equal(dbt_count(F.d, "SELECT count(*) FROM quota_usage_sample"), 0);
}

/* api_quotas_reserve/commit: a reservation owned by the request arena is
 * released when the request ends without commit; a refusal renders the 403
 * quota-exceeded problem with the pre-filled quota request. */
static void
test_api_hold_released_with_the_request(void **state)
{
    int64_t t = tenant_new("hold");
    quota_set4(t, 1, QUOTA_UNLIMITED, QUOTA_UNLIMITED, QUOTA_UNLIMITED, NULL);
    struct vp_app app = {.db = F.d};
    struct quota_deltas one = {{1, 1, 1, 1}};
    struct api_quota_hold *h = NULL;
    err e = {0};
    for (int commit = 0; commit < 2; commit++) {
        struct api_req r = {.a = arena_new(), .app = &app, .request_id = "req-1"};
        struct api_resp w = {0};
        assert_int_equal(api_quotas_reserve(&r, &w, t, &one, "vm.create", "vm/x", &h, &e), 0);
        assert_int_equal(w.status, 0);
        struct quota_usage u;
        usage_of(t, &u);
        assert_int_equal(u.reservations, 1);
        struct api_resp w2 = {0};
        struct api_quota_hold *h2 = NULL;
        assert_int_equal(api_quotas_reserve(&r, &w2, t, &one, "vm.create", "vm/y", &h2, &e), 1);
        assert_int_equal(w2.status, 403);
        json_t *p = json_loadb(w2.body, w2.body_len, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(p, "type")),
                            "/problems/quota-exceeded");
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(p, "quota_request"), "deltas"), "vms")),
            1);
        json_decref(p);
        if (commit) {
            vm_add(t, "hold-vm", 1, 1, 1);
            assert_int_equal(api_quotas_commit(h, &e), 0);
        }
        arena_destroy(r.a); /* the request ends */
        usage_of(t, &u);
        assert_int_equal(u.reservations, 0);
        assert_int_equal(u.used.v[QUOTA_VMS], commit);
    }
}

/* 0002 rebuilds the quota table: rows written under 0001 survive. */
static void
test_migration_keeps_0001_rows(void **state)
{
    char *path = dbt_path(F.dir, "old.db");
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    FILE *f = fopen(VP_MIGRATIONS_DIR "/0001_init.sql", "r");
    assert_non_null(f);
    static char sql[1 << 16];
    size_t n = fread(sql, 1, sizeof(sql) - 1, f);
    fclose(f);
    sql[n] = '\0';
    assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(s,
                                  "PRAGMA user_version = 1;"
                                  "INSERT INTO tenant(id, slug, name) VALUES (5, 'old', 'Old');"
                                  "INSERT INTO quota VALUES (5, 'vcpus', 12), (5, 'vms', 3);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(s);
    db *d = dbt_open(path, DB_COMMIT_GROUP);
    struct quota_limits l;
    err e = {0};
    assert_int_equal(db_quota_get(d, 5, &l, NULL, &e), 0);
    assert_int_equal(l.v[QUOTA_VCPUS], 12);
    assert_int_equal(l.v[QUOTA_VMS], 3);
    assert_int_equal(l.v[QUOTA_MEMORY_MIB], QUOTA_UNLIMITED);
    db_close(d);
    free(path);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_race_50_for_10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_commit_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lower_below_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_get_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_allocs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_samples_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampler_refuses_non_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_hold_released_with_the_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_keeps_0001_rows, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
