/* runtime: the quota runtime thread. See runtime.h. */
#include "runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../app.h"
#include "../inventory.h"
#include "cgroup.h"
#include "identity.h"
#include "../../db/inventory.h" /* host refs */
#include "log.h"
#include "quota_runtime.h"
#include "sampler.h"
#include "session.h" /* db_time_format */
#include "split.h"
#include "tunables.h"
#include "virt.h"

enum {
    DIRTY_MAX = 4096,     /* pending pushes kept; beyond, the next tick catches up */
    FORCE_EVERY = 30,     /* ticks between re-applying an unchanged budget */
    HOST_WRITE_S = 60,    /* an unchanged host mode is written again this often */
    APPLIED_MAX = 100000, /* (tenant, host) fingerprints kept */
};

/* The last decision about one host. */
struct rt_host {
    int64_t id;
    char uri[DB_HOST_URI_MAX + 1];
    enum quota_mode mode;
    bool connected, test_driver;
    char detail[DB_QUOTA_RT_TEXT];
    int64_t written_at; /* app_now of the last write, 0 = never */
};

/* What was last applied for (tenant, host): skipped while it stays the same. */
struct rt_applied {
    int64_t tenant_id, host_id;
    uint64_t fp;
    long tick; /* when it was applied */
    bool ok;
};

struct quota_runtime {
    struct vp_app *app;
    pthread_t thread;
    pthread_mutex_t mu; /* guards stop, dirty, ndirty */
    pthread_cond_t wake;
    bool stop;
    int64_t dirty[DIRTY_MAX];
    size_t ndirty;
    bool overflow; /* pushes were dropped: sweep every tenant now */
    /* runtime thread only */
    struct quota_cgroup_cfg cg;
    struct rt_host *hosts;
    size_t nhosts;
    struct rt_applied *applied;
    size_t napplied, capplied;
    long tick;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct quota_runtime *g_rt; /* the running one, guarded by g_mu */

/* ======================================================================== */
/* pure parts                                                                */

bool
quota_runtime_uri_is_local(const char *uri)
{
    return !strncmp(uri, "qemu:///", 8);
}

enum quota_mode
quota_runtime_mode_of(const struct quota_runtime_host_facts *f, char *detail, size_t n)
{
    if (f->enforce_off) {
        snprintf(detail, n, "Runtime enforcement is off (quota.enforce = off).");
        return QUOTA_MODE_NONE;
    }
    if (!strncmp(f->uri, "test:", 5)) {
        snprintf(detail, n, "The libvirt test driver has no cgroups: limits are not enforced.");
        return QUOTA_MODE_NONE;
    }
    if (!f->connected) {
        snprintf(detail, n, "The host is not connected: limits are applied once it is.");
        return QUOTA_MODE_NONE;
    }
    if (quota_runtime_uri_is_local(f->uri) && f->cgroup_probe == 0) {
        snprintf(detail, n, "Tenant partition on this machine's cgroup v2 tree.");
        return QUOTA_MODE_CGROUP;
    }
    if (quota_runtime_uri_is_local(f->uri))
        snprintf(detail, n,
                 "%.300s; per-VM libvirt tunables are used instead (CPU and disk I/O; memory "
                 "is not enforced).",
                 f->probe_error && *f->probe_error ? f->probe_error : "cgroup v2 is not usable");
    else
        snprintf(detail, n,
                 "Remote host: per-VM libvirt tunables (CPU and disk I/O; memory is not "
                 "enforced).");
    return QUOTA_MODE_LIBVIRT;
}

/* FNV-1a over 64-bit values. */
static uint64_t
fp_add(uint64_t h, int64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint64_t)((v >> (8 * i)) & 0xff);
        h *= 1099511628211ULL;
    }
    return h;
}

/* ======================================================================== */
/* hosts                                                                     */

static virt_hosts *
rt_virt(struct quota_runtime *rt)
{
    return rt->app->inventory ? inventory_virt(rt->app->inventory) : NULL;
}

static void
now_text(struct quota_runtime *rt, char *buf, size_t n)
{
    db_time_format(app_now(rt->app), buf, n);
}

/* Decides one host's mode and records it when it changed (or now and then). */
static void
host_check(struct quota_runtime *rt, struct rt_host *h, const struct rt_host *prev)
{
    struct virt_host_status st = {0};
    err e = {0};
    virt_hosts *v = rt_virt(rt);
    h->connected =
        v && virt_hosts_status(v, h->id, &st, &e) == 0 && st.state == VIRT_HOST_CONNECTED;
    h->test_driver = !strncmp(h->uri, "test:", 5);
    err pe = {0};
    struct quota_runtime_host_facts f = {
        .uri = h->uri,
        .connected = h->connected,
        .enforce_off = rt->app->cfg.quota_enforce == CFG_QUOTA_OFF,
        .cgroup_probe = -1,
    };
    if (quota_runtime_uri_is_local(h->uri)) {
        f.cgroup_probe = quota_cgroup_probe(&rt->cg, QUOTA_CTRL_CPU | QUOTA_CTRL_MEMORY, &pe);
        f.probe_error = pe.detail;
    }
    h->mode = quota_runtime_mode_of(&f, h->detail, sizeof(h->detail));
    int64_t now = app_now(rt->app);
    h->written_at = prev ? prev->written_at : 0;
    bool same = prev && prev->mode == h->mode && !strcmp(prev->detail, h->detail);
    if (same && now - h->written_at < HOST_WRITE_S)
        return;
    char ts[32];
    now_text(rt, ts, sizeof(ts));
    err we = {0};
    if (db_quota_runtime_host_set(rt->app->db, h->id, h->mode, h->detail, ts, &we) < 0)
        log_msg(LOG_WARN, "quota runtime: host/%lld: mode not recorded: %s", (long long)h->id,
                we.detail);
    else
        h->written_at = now;
    if (!same)
        log_msg(LOG_INFO, "quota runtime: host/%lld: enforcement %s (%s)", (long long)h->id,
                db_quota_mode_name(h->mode), h->detail);
}

static const struct rt_host *
host_find(const struct rt_host *hs, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (hs[i].id == id)
            return &hs[i];
    return NULL;
}

/* Re-reads the host list and decides every host's mode. */
static void
hosts_refresh(struct quota_runtime *rt)
{
    struct db_host_ref *refs = NULL;
    size_t n = 0;
    err e = {0};
    if (db_host_refs(rt->app->db, &refs, &n, &e) < 0) {
        log_msg(LOG_WARN, "quota runtime: hosts not read: %s", e.detail);
        return;
    }
    struct rt_host *hs = n ? calloc(n, sizeof(*hs)) : NULL;
    if (n && !hs) {
        free(refs);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        hs[i].id = refs[i].id;
        snprintf(hs[i].uri, sizeof(hs[i].uri), "%s", refs[i].uri);
        const struct rt_host *prev = host_find(rt->hosts, rt->nhosts, hs[i].id);
        host_check(rt, &hs[i], prev && !strcmp(prev->uri, hs[i].uri) ? prev : NULL);
    }
    free(refs);
    free(rt->hosts);
    rt->hosts = hs;
    rt->nhosts = n;
}

/* ======================================================================== */
/* applying one tenant's budget on one host                                  */

static struct rt_applied *
applied_find(struct quota_runtime *rt, int64_t tenant_id, int64_t host_id)
{
    for (size_t i = 0; i < rt->napplied; i++)
        if (rt->applied[i].tenant_id == tenant_id && rt->applied[i].host_id == host_id)
            return &rt->applied[i];
    if (rt->napplied == rt->capplied) {
        size_t ncap = rt->capplied ? rt->capplied * 2 : 64;
        struct rt_applied *nb =
            ncap <= APPLIED_MAX ? realloc(rt->applied, ncap * sizeof(*nb)) : NULL;
        if (!nb)
            return NULL;
        rt->applied = nb;
        rt->capplied = ncap;
    }
    struct rt_applied *a = &rt->applied[rt->napplied++];
    *a = (struct rt_applied){.tenant_id = tenant_id, .host_id = host_id, .tick = -1};
    return a;
}

/* One tenant's work on one host. */
struct rt_job {
    struct quota_runtime *rt;
    const struct rt_host *h;
    int64_t tenant_id;
    const struct quota_limits *budget;
    const struct db_quota_vm *vms; /* the tenant's VMs on the host */
    size_t nvms;
    char extra[DB_QUOTA_RT_TEXT]; /* what the detail adds (not enforced parts) */
};

/* The distinct block devices under the tenant's disks on this host (io.max
 * is per device); disks on no local block device are counted apart. */
struct rt_devs {
    unsigned dev[16][2];
    size_t n, unresolved;
};

static int
add_device(void *arg, const char *source, err *e)
{
    (void)e;
    struct rt_devs *d = arg;
    unsigned ma, mi;
    err de = {0};
    if (quota_cgroup_block_device(source, NULL, &ma, &mi, &de) < 0) {
        d->unresolved++;
        return 0;
    }
    for (size_t i = 0; i < d->n; i++)
        if (d->dev[i][0] == ma && d->dev[i][1] == mi)
            return 0;
    if (d->n < sizeof(d->dev) / sizeof(d->dev[0]))
        d->dev[d->n][0] = ma, d->dev[d->n++][1] = mi;
    return 0;
}

static int
apply_cgroup(struct rt_job *j, err *e)
{
    struct db_tenant t;
    struct rt_devs d = {0};
    if (db_tenant_get(j->rt->app->db, j->tenant_id, &t, e) < 0 ||
        db_quota_runtime_disk_sources(j->rt->app->db, j->h->id, j->tenant_id, add_device, &d, e) <
            0)
        return -1;
    struct quota_io_limit io[16];
    struct quota_cgroup_limits l;
    quota_cgroup_limits_of(j->budget, (const unsigned(*)[2])d.dev, d.n, io, &l);
    const int64_t *v = j->budget->v;
    bool io_set = v[QUOTA_IO_READ_BPS] >= 0 || v[QUOTA_IO_WRITE_BPS] >= 0 ||
                  v[QUOTA_IO_READ_IOPS] >= 0 || v[QUOTA_IO_WRITE_IOPS] >= 0;
    if (io_set && d.unresolved)
        snprintf(j->extra, sizeof(j->extra),
                 " %zu disk(s) are on no local block device: their I/O is not limited.",
                 d.unresolved);
    return quota_cgroup_apply(&j->rt->cg, t.slug, &l, e);
}

/* One VM's tunables; -1 in the budget gives "unlimited" (quota -1, iotune 0). */
static int
apply_vm(struct rt_job *j, const struct db_quota_vm *vm, const struct quota_vm_tunables *t, err *e)
{
    virt_hosts *v = rt_virt(j->rt);
    if (!v)
        return err_set(e, ERR_UNAVAILABLE, "The host connection manager is not running.");
    struct virt_cpu_tune g = {.period_us = (uint64_t)t->global_period_us,
                              .quota_us = t->global_quota_us};
    struct virt_cpu_tune c = {
        .period_us = (uint64_t)t->vcpu_period_us, .quota_us = t->vcpu_quota_us, .per_vcpu = true};
    if (t->global_period_us <= 0) /* unlimited: the period stays the default */
        g.period_us = QUOTA_LV_PERIOD_US;
    if (t->vcpu_period_us <= 0)
        c.period_us = QUOTA_LV_PERIOD_US;
    /* cgroup v1 refuses a vCPU quota above the whole VM's and a VM quota
     * below a vCPU's: lowering goes vCPUs first, raising the VM first */
    err ve = {0};
    if (virt_domain_set_cpu_tune(v, j->h->id, vm->uuid, &c, &ve) < 0) {
        if (virt_domain_set_cpu_tune(v, j->h->id, vm->uuid, &g, e) < 0 ||
            virt_domain_set_cpu_tune(v, j->h->id, vm->uuid, &c, e) < 0)
            return -1;
    } else if (virt_domain_set_cpu_tune(v, j->h->id, vm->uuid, &g, e) < 0) {
        return -1;
    }
    if (vm->ndisks == 0)
        return 0;
    struct virt_io_tune io = {
        .read_bps = t->read_bytes_sec > 0 ? (uint64_t)t->read_bytes_sec : 0,
        .write_bps = t->write_bytes_sec > 0 ? (uint64_t)t->write_bytes_sec : 0,
        .read_iops = t->read_iops_sec > 0 ? (uint64_t)t->read_iops_sec : 0,
        .write_iops = t->write_iops_sec > 0 ? (uint64_t)t->write_iops_sec : 0,
    };
    return virt_domain_set_io_tune(v, j->h->id, vm->uuid, &io, e);
}

static int
apply_libvirt(struct rt_job *j, err *e)
{
    struct quota_vm_alloc *va = calloc(j->nvms + 1, sizeof(*va));
    struct quota_vm_tunables *tu = calloc(j->nvms + 1, sizeof(*tu));
    int rc = va && tu ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < j->nvms; i++)
        va[i] = (struct quota_vm_alloc){j->vms[i].id, j->vms[i].vcpus, j->vms[i].memory_mib,
                                        j->vms[i].disk_gib, j->vms[i].ndisks};
    if (rc == 0)
        rc = quota_tunables_compute(j->budget, va, j->nvms, tu, e);
    int failed = 0;
    err first = {0};
    for (size_t i = 0; rc == 0 && i < j->nvms; i++) {
        err ve = {0};
        if (apply_vm(j, &j->vms[i], &tu[i], &ve) < 0 && failed++ == 0)
            first = ve;
    }
    free(va);
    free(tu);
    if (rc == 0 && failed)
        rc = err_set(e, first.kind, "%d of %zu VMs not limited: %s", failed, j->nvms, first.detail);
    if (j->budget->v[QUOTA_MEMORY_MAX_MIB] >= 0)
        snprintf(j->extra, sizeof(j->extra), " memory_max_mib is not enforced in libvirt mode.");
    return rc;
}

/* The fingerprint of what would be applied: mode, budget, and the VMs. */
static uint64_t
job_fp(const struct rt_job *j)
{
    uint64_t h = fp_add(1469598103934665603ULL, j->h->mode);
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        h = fp_add(h, j->budget->v[r]);
    for (size_t i = 0; j->h->mode == QUOTA_MODE_LIBVIRT && i < j->nvms; i++) {
        const struct db_quota_vm *v = &j->vms[i];
        h = fp_add(fp_add(fp_add(fp_add(fp_add(h, v->id), v->vcpus), v->memory_mib), v->disk_gib),
                   v->ndisks);
    }
    return h;
}

static void
job_record(struct rt_job *j, bool applied, const err *ae)
{
    struct db_quota_enforcement r = {
        .tenant_id = j->tenant_id, .host_id = j->h->id, .mode = j->h->mode};
    snprintf(r.detail, sizeof(r.detail), "%.330s%.160s", j->h->detail, j->extra);
    json_t *b = db_quota_limits_json(j->budget);
    char *txt = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    snprintf(r.budget_json, sizeof(r.budget_json), "%s", txt && strlen(txt) < 2000 ? txt : "{}");
    free(txt);
    json_decref(b);
    if (ae)
        snprintf(r.error, sizeof(r.error), "%s", ae->detail);
    char ts[32];
    now_text(j->rt, ts, sizeof(ts));
    err e = {0};
    if (db_quota_runtime_record(j->rt->app->db, &r, applied, ts, &e) < 0)
        log_msg(LOG_WARN, "quota runtime: tenant/%lld host/%lld not recorded: %s",
                (long long)j->tenant_id, (long long)j->h->id, e.detail);
}

/* Applies (when needed) and records the budget of one tenant on one host. */
static void
job_run(struct rt_job *j, bool force)
{
    struct rt_applied *a = applied_find(j->rt, j->tenant_id, j->h->id);
    uint64_t fp = job_fp(j);
    if (a && !force && a->ok && a->fp == fp && j->rt->tick - a->tick < FORCE_EVERY)
        return;
    err e = {0};
    int rc = 0;
    if (j->h->mode == QUOTA_MODE_CGROUP)
        rc = apply_cgroup(j, &e);
    else if (j->h->mode == QUOTA_MODE_LIBVIRT)
        rc = apply_libvirt(j, &e);
    /* a failure is logged and recorded when it starts, retried quietly */
    bool changed = !a || a->tick < 0 || a->fp != fp || a->ok != (rc == 0);
    if (rc < 0 && changed)
        log_msg(LOG_WARN, "quota runtime: tenant/%lld on host/%lld (%s): %s",
                (long long)j->tenant_id, (long long)j->h->id, db_quota_mode_name(j->h->mode),
                e.detail);
    if (changed || force)
        job_record(j, rc == 0, rc < 0 ? &e : NULL);
    if (a)
        *a = (struct rt_applied){j->tenant_id, j->h->id, fp, j->rt->tick, rc == 0};
}

/* ======================================================================== */
/* one tenant                                                                */

static bool
alloc_has(const struct quota_host_alloc *allocs, size_t n, int64_t host_id)
{
    for (size_t i = 0; i < n; i++)
        if (allocs[i].host_id == host_id)
            return true;
    return false;
}

/* Hosts the tenant left: its (empty) partition is removed on cgroup hosts,
 * its rows dropped, and its fingerprint forgotten so that it is applied
 * again when it comes back. */
static void
tenant_leftovers(struct quota_runtime *rt, int64_t tenant_id, const struct quota_host_alloc *allocs,
                 size_t n)
{
    for (size_t k = 0; k < rt->napplied; k++) {
        struct rt_applied *a = &rt->applied[k];
        if (a->tenant_id != tenant_id || alloc_has(allocs, n, a->host_id) || !a->fp)
            continue;
        const struct rt_host *h = host_find(rt->hosts, rt->nhosts, a->host_id);
        struct db_tenant t;
        err e = {0};
        if (h && h->mode == QUOTA_MODE_CGROUP &&
            db_tenant_get(rt->app->db, tenant_id, &t, &e) == 0 &&
            quota_cgroup_remove(&rt->cg, t.slug, &e) < 0)
            log_msg(LOG_WARN, "quota runtime: tenant/%lld: partition not removed: %s",
                    (long long)tenant_id, e.detail);
        a->fp = 0;
        a->ok = false;
    }
    int64_t dropped = 0;
    err e = {0};
    if (db_quota_runtime_prune(rt->app->db, tenant_id, &dropped, &e) < 0)
        log_msg(LOG_WARN, "quota runtime: tenant/%lld: old rows not dropped: %s",
                (long long)tenant_id, e.detail);
}

/* The VMs of `tenant_id` in all (sorted by tenant): *first and count. */
static size_t
tenant_vms(const struct db_quota_vm *all, size_t n, int64_t tenant_id,
           const struct db_quota_vm **first)
{
    size_t i = 0;
    while (i < n && all[i].tenant_id != tenant_id)
        i++;
    *first = all + i;
    size_t k = i;
    while (k < n && all[k].tenant_id == tenant_id)
        k++;
    return k - i;
}

static void
tenant_on_host(struct quota_runtime *rt, int64_t tenant_id, const struct rt_host *h,
               const struct quota_limits *budget, bool force)
{
    struct db_quota_vm *all = NULL;
    size_t nall = 0;
    err e = {0};
    if (h->mode == QUOTA_MODE_LIBVIRT &&
        db_quota_runtime_host_vms(rt->app->db, h->id, &all, &nall, &e) < 0) {
        log_msg(LOG_WARN, "quota runtime: host/%lld: VMs not read: %s", (long long)h->id, e.detail);
        return;
    }
    struct rt_job j = {.rt = rt, .h = h, .tenant_id = tenant_id, .budget = budget};
    j.nvms = tenant_vms(all, nall, tenant_id, &j.vms);
    job_run(&j, force);
    free(all);
}

static bool
any_runtime_limit(const struct quota_limits *l)
{
    for (int r = QUOTA_ALLOC_COUNT; r < QUOTA_RES_COUNT; r++)
        if (l->v[r] != QUOTA_UNLIMITED)
            return true;
    return false;
}

static int
count_row(void *arg, const struct db_quota_enforcement *r, err *e)
{
    (void)r, (void)e;
    ++*(size_t *)arg;
    return 0;
}

/* A tenant without runtime limits is left alone unless something was applied
 * for it before (then its limits are reset). */
static bool
tenant_concerned(struct quota_runtime *rt, int64_t tenant_id, const struct quota_limits *l)
{
    size_t rows = 0;
    err e = {0};
    return any_runtime_limit(l) ||
           db_quota_runtime_list(rt->app->db, tenant_id, count_row, &rows, &e) < 0 || rows > 0;
}

static void
tenant_apply(struct quota_runtime *rt, int64_t tenant_id, bool force)
{
    struct quota_limits lim;
    struct quota_host_alloc *allocs = NULL;
    size_t n = 0;
    err e = {0};
    if (db_quota_get(rt->app->db, tenant_id, &lim, NULL, &e) < 0 ||
        db_quota_host_allocs(rt->app->db, tenant_id, &allocs, &n, &e) < 0) {
        if (e.kind != ERR_NOT_FOUND)
            log_msg(LOG_WARN, "quota runtime: tenant/%lld: %s", (long long)tenant_id, e.detail);
        free(allocs);
        return;
    }
    if (!tenant_concerned(rt, tenant_id, &lim)) {
        free(allocs);
        return;
    }
    struct quota_host_budget *b = n ? calloc(n, sizeof(*b)) : NULL;
    if ((n && !b) || quota_split_hosts(&lim, allocs, n, b, &e) < 0) {
        log_msg(LOG_WARN, "quota runtime: tenant/%lld: budget not split: %s", (long long)tenant_id,
                e.kind ? e.detail : "out of memory");
        free(b);
        free(allocs);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct rt_host *h = host_find(rt->hosts, rt->nhosts, b[i].host_id);
        if (h)
            tenant_on_host(rt, tenant_id, h, &b[i].l, force);
    }
    free(b);
    tenant_leftovers(rt, tenant_id, allocs, n);
    free(allocs);
}

/* ======================================================================== */
/* sampling                                                                  */

static int
stats_cmp(const void *a, const void *b)
{
    return strcmp(((const struct virt_domain_stats *)a)->uuid,
                  ((const struct virt_domain_stats *)b)->uuid);
}

static void
sample_record(struct quota_runtime *rt, const struct quota_sample *s)
{
    err e = {0};
    if (db_quota_sample_record(rt->app->db, s, QUOTA_SAMPLE_KEEP, &e) < 0)
        log_msg(LOG_WARN, "quota runtime: sample of tenant/%lld on host/%lld not recorded: %s",
                (long long)s->tenant_id, (long long)s->host_id, e.detail);
}

/* The tenant's VMs' libvirt stats summed into one sample. */
static void
sample_sum(const struct db_quota_vm *vms, size_t n, const struct virt_domain_stats *st, size_t nst,
           struct quota_sample *s)
{
    for (size_t i = 0; i < n; i++) {
        struct virt_domain_stats key;
        memcpy(key.uuid, vms[i].uuid, sizeof(key.uuid));
        const struct virt_domain_stats *d = bsearch(&key, st, nst, sizeof(*st), stats_cmp);
        if (!d)
            continue;
        s->cpu_usage_usec += (int64_t)(d->cpu_time_ns / 1000);
        uint64_t kib = d->mem_rss_kib ? d->mem_rss_kib : d->mem_current_kib;
        if (d->state != VIRT_DOM_SHUTOFF)
            s->memory_bytes += (int64_t)(kib * 1024);
        s->io_read_bytes += (int64_t)d->block_rd_bytes;
        s->io_write_bytes += (int64_t)d->block_wr_bytes;
        s->io_read_ios += (int64_t)d->block_rd_reqs;
        s->io_write_ios += (int64_t)d->block_wr_reqs;
    }
}

static void
sample_libvirt(struct quota_runtime *rt, const struct rt_host *h, const struct db_quota_vm *vms,
               size_t n)
{
    struct virt_domain_stats *st = NULL;
    size_t nst = 0;
    err e = {0};
    virt_hosts *v = rt_virt(rt);
    if (!v || virt_host_stats(v, h->id, &st, &nst, &e) < 0) {
        log_msg(LOG_DEBUG, "quota runtime: host/%lld: no stats: %s", (long long)h->id, e.detail);
        return;
    }
    qsort(st, nst, sizeof(*st), stats_cmp);
    for (size_t i = 0; i < n;) {
        const struct db_quota_vm *first;
        size_t k = tenant_vms(vms + i, n - i, vms[i].tenant_id, &first);
        struct quota_sample s = {
            .tenant_id = vms[i].tenant_id, .host_id = h->id, .mode = QUOTA_MODE_LIBVIRT};
        sample_sum(first, k, st, nst, &s);
        sample_record(rt, &s);
        i += k;
    }
    free(st);
}

static void
sample_cgroup(struct quota_runtime *rt, const struct rt_host *h, const struct db_quota_vm *vms,
              size_t n)
{
    for (size_t i = 0; i < n;) {
        const struct db_quota_vm *first;
        size_t k = tenant_vms(vms + i, n - i, vms[i].tenant_id, &first);
        struct db_tenant t;
        struct quota_sample s;
        err e = {0};
        if (db_tenant_get(rt->app->db, vms[i].tenant_id, &t, &e) == 0 &&
            quota_sampler_read(&rt->cg, t.id, t.slug, h->id, &s, &e) == 0)
            sample_record(rt, &s);
        else if (e.kind != ERR_NOT_FOUND)
            log_msg(LOG_DEBUG, "quota runtime: tenant/%lld on host/%lld not sampled: %s",
                    (long long)vms[i].tenant_id, (long long)h->id, e.detail);
        i += k;
    }
}

static void
sample_all(struct quota_runtime *rt)
{
    for (size_t i = 0; i < rt->nhosts; i++) {
        const struct rt_host *h = &rt->hosts[i];
        if (h->mode != QUOTA_MODE_CGROUP && !h->connected)
            continue;
        struct db_quota_vm *vms = NULL;
        size_t n = 0;
        err e = {0};
        if (db_quota_runtime_host_vms(rt->app->db, h->id, &vms, &n, &e) < 0) {
            log_msg(LOG_WARN, "quota runtime: host/%lld: VMs not read: %s", (long long)h->id,
                    e.detail);
            continue;
        }
        if (n && h->mode == QUOTA_MODE_CGROUP)
            sample_cgroup(rt, h, vms, n);
        else if (n)
            sample_libvirt(rt, h, vms, n);
        free(vms);
    }
}

/* ======================================================================== */
/* the thread                                                                */

static bool
in_list(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* One pass: the dirty tenants (forced), and on a tick every concerned tenant
 * and the usage samples. */
static void
pass(struct quota_runtime *rt, const int64_t *dirty, size_t ndirty, bool tick)
{
    hosts_refresh(rt);
    if (tick)
        rt->tick++;
    for (size_t i = 0; i < ndirty; i++)
        tenant_apply(rt, dirty[i], true);
    if (!tick)
        return;
    int64_t *ids = NULL;
    size_t n = 0;
    err e = {0};
    if (db_quota_runtime_tenants(rt->app->db, &ids, &n, &e) < 0)
        log_msg(LOG_WARN, "quota runtime: tenants not read: %s", e.detail);
    for (size_t i = 0; i < n; i++)
        if (!in_list(dirty, ndirty, ids[i]))
            tenant_apply(rt, ids[i], false);
    free(ids);
    sample_all(rt);
}

static int64_t
mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec;
}

static void *
rt_main(void *arg)
{
    struct quota_runtime *rt = arg;
    int64_t *dirty = malloc(sizeof(rt->dirty));
    int64_t next_tick = mono_s(); /* the first pass runs at once */
    pthread_mutex_lock(&rt->mu);
    while (!rt->stop && dirty) {
        struct timespec t = {.tv_sec = next_tick};
        while (!rt->stop && !rt->ndirty && !rt->overflow && mono_s() < next_tick)
            pthread_cond_timedwait(&rt->wake, &rt->mu, &t);
        if (rt->stop)
            break;
        size_t n = rt->ndirty;
        memcpy(dirty, rt->dirty, n * sizeof(*dirty));
        bool tick = rt->overflow || mono_s() >= next_tick;
        rt->ndirty = 0;
        rt->overflow = false;
        pthread_mutex_unlock(&rt->mu);
        pass(rt, dirty, n, tick);
        if (tick)
            next_tick = mono_s() + rt->app->cfg.quota_sample_interval_s;
        pthread_mutex_lock(&rt->mu);
    }
    pthread_mutex_unlock(&rt->mu);
    free(dirty);
    return NULL;
}

void
quota_runtime_push(struct vp_app *app, int64_t tenant_id)
{
    pthread_mutex_lock(&g_mu);
    struct quota_runtime *rt = g_rt;
    if (rt && rt->app == app && tenant_id > 0) {
        pthread_mutex_lock(&rt->mu);
        if (!in_list(rt->dirty, rt->ndirty, tenant_id)) {
            if (rt->ndirty < DIRTY_MAX)
                rt->dirty[rt->ndirty++] = tenant_id;
            else
                rt->overflow = true;
        }
        pthread_cond_signal(&rt->wake);
        pthread_mutex_unlock(&rt->mu);
    }
    pthread_mutex_unlock(&g_mu);
}

struct quota_runtime *
quota_runtime_start(struct vp_app *app, err *e)
{
    struct quota_runtime *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    rt->app = app;
    rt->cg.root = app->cfg.quota_cgroup_root;
    rt->cg.partition = app->cfg.quota_cgroup_partition;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&rt->mu, NULL);
    pthread_mutex_lock(&g_mu);
    bool busy = g_rt != NULL, ok = false;
    if (!busy && pthread_create(&rt->thread, NULL, rt_main, rt) == 0) {
        g_rt = rt;
        app->quota_runtime_push = quota_runtime_push;
        ok = true;
    }
    pthread_mutex_unlock(&g_mu);
    if (!ok) {
        pthread_cond_destroy(&rt->wake);
        pthread_mutex_destroy(&rt->mu);
        free(rt);
        err_set(e, ERR_UNAVAILABLE,
                busy ? "the quota runtime is already running" : "cannot start the quota runtime");
        return NULL;
    }
    return rt;
}

void
quota_runtime_stop(struct quota_runtime *rt)
{
    if (!rt)
        return;
    pthread_mutex_lock(&g_mu);
    rt->app->quota_runtime_push = NULL;
    g_rt = NULL;
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_lock(&rt->mu);
    rt->stop = true;
    pthread_cond_signal(&rt->wake);
    pthread_mutex_unlock(&rt->mu);
    pthread_join(rt->thread, NULL);
    pthread_cond_destroy(&rt->wake);
    pthread_mutex_destroy(&rt->mu);
    free(rt->hosts);
    free(rt->applied);
    free(rt);
}
