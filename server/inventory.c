/* inventory: libvirt (server/virt) into the cache (db/inventory_store.c).
 * See inventory.h for the threads and what each does.
 *
 * Locks: inv->lock guards the host list and thread counters; a host's lock
 * guards its queue (wanted work, dirty UUIDs, calls); a call's lock guards its
 * state. Order: inv->lock, then a host's lock; a call's lock is never held
 * with another. Sinks (libvirt's event thread, the connector threads) only
 * queue work under these locks and return. */
#include "inventory.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../db/inventory.h"
#include "log.h"

enum {
    W_STATE = 1u << 0,     /* a connection state to write */
    W_FACTS = 1u << 1,     /* read the host's facts */
    W_RECONCILE = 1u << 2, /* complete reconcile of the domains */
    W_FULL = 1u << 3,      /* ... re-reading every domain's XML */
    W_POOLS = 1u << 4,     /* ... and the pools, volumes and networks */
    DIRTY_MAX = 512,       /* more changed domains than this: reconcile instead */
};

/* ---- time ---- */

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec
mono_at(int64_t ms)
{
    return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
}

static int
cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

/* ---- structures ---- */

struct inventory;
struct ihost;
struct call;

/* Runs on a host's thread (ih set) or on a thread of its own (ih NULL). */
typedef int (*call_fn)(struct inventory *inv, struct ihost *ih, struct call *c, err *e);

enum call_state { CALL_QUEUED, CALL_RUNNING, CALL_DONE, CALL_CANCELLED };

/* Work a request waits for with a deadline. Two references: the requester's
 * and the executor's; whoever drops the last frees it. */
struct call {
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* state became CALL_DONE */
    int refs;              /* guarded by lock */
    enum call_state state; /* guarded by lock */
    int rc;                /* written by the executor before CALL_DONE */
    err e;
    call_fn fn;
    struct inventory *inv;
    struct call *next; /* in a host's queue (the host's lock) */
    int64_t host_id;
    char uuid[VIRT_UUID_LEN + 1];
    struct virt_domain_stats stats;      /* stats */
    arena *mem;                          /* assign: owns the copies below */
    struct inventory_assign req;         /* assign: tags point into mem */
    int64_t tenant_id;                   /* assign: *req.tenant_id lives here */
    struct db_audit audit;               /* assign: strings in mem */
    int64_t vm_id;                       /* assign: out */
    bool full;                           /* reconcile */
    struct inventory_reconcile_stats rs; /* reconcile: out */
};

/* Volume capacities of a host by path and by "pool/volume", sorted for
 * bsearch: what the disks of a domains-only snapshot are sized with. */
struct cap {
    char *key;
    uint64_t capacity;
};
struct caps {
    struct cap *v;
    size_t n;
};

struct ihost {
    int64_t id;
    struct inventory *inv;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* guarded by lock */
    bool stop;
    struct inventory_reconcile_stats last; /* of the last complete reconcile */
    unsigned want;                         /* W_* */
    enum virt_host_state state;            /* the latest one reported (with W_STATE) */
    char error[256];
    char dirty[DIRTY_MAX][VIRT_UUID_LEN + 1];
    size_t ndirty;
    struct call *calls, *calls_tail;
    /* guarded by inv->lock */
    struct ihost *next;
    /* the host thread's own */
    char taken[DIRTY_MAX][VIRT_UUID_LEN + 1]; /* dirty UUIDs being handled */
    struct caps caps;                         /* volume capacities read last */
    bool connected;
    int64_t next_reconcile_ms;
    unsigned periodic;
};

struct inventory {
    db *db;
    struct inventory_opts o;
    virt_hosts *virt;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* threads reached 0 */
    /* guarded by lock */
    struct ihost *hosts;
    int threads;  /* host threads and detached calls alive */
    int detached; /* detached calls alive */
    bool stopping;
};

static struct ihost *
find_locked(struct inventory *inv, int64_t id)
{
    for (struct ihost *ih = inv->hosts; ih; ih = ih->next)
        if (ih->id == id)
            return ih;
    return NULL;
}

static void
thread_exit_count(struct inventory *inv, bool detached)
{
    pthread_mutex_lock(&inv->lock);
    inv->threads--;
    if (detached)
        inv->detached--;
    pthread_cond_broadcast(&inv->cond);
    pthread_mutex_unlock(&inv->lock);
}

/* ======================================================================== */
/* calls                                                                     */

static struct call *
call_new(struct inventory *inv, call_fn fn, int64_t host_id, const char *uuid)
{
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (cond_init_mono(&c->cond) < 0) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->refs = 2; /* the requester's and the executor's */
    c->fn = fn;
    c->inv = inv;
    c->host_id = host_id;
    if (uuid)
        snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
    return c;
}

static void
call_unref(struct call *c)
{
    pthread_mutex_lock(&c->lock);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last)
        return;
    json_decref(c->audit.details);
    arena_destroy(c->mem);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static void
call_finish(struct call *c, int rc, const err *e)
{
    pthread_mutex_lock(&c->lock);
    c->rc = rc;
    if (rc < 0 && e)
        c->e = *e;
    c->state = CALL_DONE;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* The executor's side: runs c unless its requester gave up first. */
static void
call_run(struct ihost *ih, struct call *c)
{
    pthread_mutex_lock(&c->lock);
    bool cancelled = c->state == CALL_CANCELLED;
    if (!cancelled)
        c->state = CALL_RUNNING;
    pthread_mutex_unlock(&c->lock);
    if (!cancelled) {
        err e = {0};
        int rc = c->fn(c->inv, ih, c, &e);
        call_finish(c, rc, &e);
    }
    call_unref(c);
}

/* The executor's side when the host goes away before c ran. */
static void
call_abandon(struct call *c)
{
    err e = {0};
    err_set(&e, ERR_UNAVAILABLE, "The host was removed or the portal is stopping.");
    call_finish(c, -1, &e);
    call_unref(c);
}

/* The requester's side: waits up to timeout_ms, then gives up (cancelling c
 * when it has not started). The requester still drops its reference after. */
static int
call_wait(struct call *c, int timeout_ms, err *e)
{
    struct timespec at = mono_at(mono_ms() + timeout_ms);
    pthread_mutex_lock(&c->lock);
    while (c->state != CALL_DONE)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &at) == ETIMEDOUT)
            break;
    int rc;
    if (c->state == CALL_DONE) {
        rc = c->rc;
        if (rc < 0 && e)
            *e = c->e;
    } else if (c->state == CALL_QUEUED) {
        c->state = CALL_CANCELLED;
        rc = err_set(e, ERR_UNAVAILABLE, "The host is busy; nothing was done. Try again later.");
    } else {
        rc = err_set(e, ERR_UNAVAILABLE, "The host did not answer in time.");
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Queues c on host id's thread; on failure drops the executor's reference. */
static int
host_enqueue(struct inventory *inv, int64_t id, struct call *c, err *e)
{
    pthread_mutex_lock(&inv->lock);
    struct ihost *ih = find_locked(inv, id);
    if (ih) {
        pthread_mutex_lock(&ih->lock);
        if (ih->calls_tail)
            ih->calls_tail->next = c;
        else
            ih->calls = c;
        ih->calls_tail = c;
        pthread_cond_signal(&ih->cond);
        pthread_mutex_unlock(&ih->lock);
    }
    pthread_mutex_unlock(&inv->lock);
    if (ih)
        return 0;
    call_unref(c);
    return err_set(e, ERR_UNAVAILABLE, "The host is not registered with the connection manager.");
}

static void *
detached_main(void *arg)
{
    struct call *c = arg;
    struct inventory *inv = c->inv;
    call_run(NULL, c);
    thread_exit_count(inv, true);
    return NULL;
}

/* Runs c on a thread of its own (a slow host cannot hold up others' calls);
 * on failure drops the executor's reference. */
static int
run_detached(struct inventory *inv, struct call *c, err *e)
{
    pthread_mutex_lock(&inv->lock);
    bool ok = !inv->stopping && inv->detached < inv->o.max_detached;
    if (ok) {
        inv->threads++;
        inv->detached++;
    }
    pthread_mutex_unlock(&inv->lock);
    if (!ok) {
        call_unref(c);
        return err_set(e, ERR_UNAVAILABLE, "Too many calls to hosts are pending; try again.");
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, detached_main, c);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        return 0;
    thread_exit_count(inv, true);
    call_unref(c);
    return err_set(e, ERR_UNAVAILABLE, "Cannot start a thread for the host call.");
}

/* ======================================================================== */
/* rows and fingerprints                                                     */

/* FNV-1a 64 over every field a row is made of, with separators, so that a
 * reconcile compares one string per VM instead of every column. Bump
 * FP_VERSION when rows are built differently: every row is rewritten once. */
#define FP_VERSION "inv1"

struct fp {
    uint64_t h;
};

static void
fp_bytes(struct fp *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        f->h ^= b[i];
        f->h *= 0x100000001b3ULL;
    }
}

static void
fp_str(struct fp *f, const char *s)
{
    static const unsigned char null_mark = 0xff; /* never in UTF-8 text */
    if (s)
        fp_bytes(f, s, strlen(s) + 1); /* with its NUL: "ab","c" differs from "a","bc" */
    else
        fp_bytes(f, &null_mark, 1);
}

static void
fp_u64(struct fp *f, uint64_t v)
{
    fp_bytes(f, &v, sizeof(v));
}

static void
fp_hex(const struct fp *f, char out[DB_FP_LEN + 1])
{
    snprintf(out, DB_FP_LEN + 1, "%016llx", (unsigned long long)f->h);
}

static void
fp_start(struct fp *f)
{
    f->h = 0xcbf29ce484222325ULL;
    fp_str(f, FP_VERSION);
}

static const char *
state_name(int state)
{
    const char *s = virt_dom_state_name(state);
    return strcmp(s, "nostate") ? s : "unknown";
}

/* Sum of the disks' capacities (device "disk"), in GiB rounded up. */
static int64_t
disk_gib(const struct virt_domain *d)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < d->ndisks; i++)
        if (!d->disks[i].device || !strcmp(d->disks[i].device, "disk"))
            bytes += d->disks[i].capacity;
    const uint64_t gib = 1ULL << 30;
    return (int64_t)((bytes + gib - 1) / gib);
}

static void
fp_domain(const struct virt_domain *d, char out[DB_FP_LEN + 1])
{
    struct fp f;
    fp_start(&f);
    const char *texts[] = {d->name, d->domain_type, d->arch, d->partition};
    for (size_t i = 0; i < 4; i++)
        fp_str(&f, texts[i]);
    uint64_t nums[] = {(uint64_t)d->state, (uint64_t)d->reason, d->vcpus,      d->max_vcpus,
                       d->memory_mib,      d->max_memory_mib,   d->persistent, d->autostart,
                       d->firmware,        d->ndisks,           d->nnics};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        fp_u64(&f, nums[i]);
    for (size_t i = 0; i < d->ndisks; i++) {
        const struct virt_disk *k = &d->disks[i];
        const char *t[] = {k->target, k->bus,  k->device, k->type,
                           k->source, k->pool, k->volume, k->format};
        for (size_t j = 0; j < 8; j++)
            fp_str(&f, t[j]);
        fp_u64(&f, k->capacity);
    }
    for (size_t i = 0; i < d->nnics; i++) {
        const struct virt_nic *n = &d->nics[i];
        const char *t[] = {n->type, n->mac, n->model, n->network, n->bridge};
        for (size_t j = 0; j < 5; j++)
            fp_str(&f, t[j]);
    }
    fp_u64(&f, d->meta ? (uint64_t)d->meta->tenant_id : 0);
    fp_u64(&f, d->meta ? d->meta->ntags : 0);
    for (size_t i = 0; d->meta && i < d->meta->ntags; i++)
        fp_str(&f, d->meta->tags[i]);
    fp_hex(&f, out);
}

/* json_dumps(j) copied into `a`; consumes j. NULL when out of memory. */
static const char *
json_text(arena *a, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    const char *out = arena_strdup(a, s);
    free(s);
    return out;
}

static json_t *
disks_json(const struct virt_domain *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->ndisks; i++) {
        const struct virt_disk *k = &d->disks[i];
        json_array_append_new(arr, json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:I}",
                                             "target", k->target, "bus", k->bus, "device",
                                             k->device, "type", k->type, "source", k->source,
                                             "pool", k->pool, "volume", k->volume, "format",
                                             k->format, "capacity_bytes", (json_int_t)k->capacity));
    }
    return arr;
}

static json_t *
nics_json(const struct virt_domain *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->nnics; i++) {
        const struct virt_nic *n = &d->nics[i];
        json_array_append_new(arr, json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?}", "type", n->type, "mac",
                                             n->mac, "model", n->model, "network", n->network,
                                             "bridge", n->bridge));
    }
    return arr;
}

static json_t *
tags_json(const struct virt_meta *m)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && m && i < m->ntags; i++)
        json_array_append_new(arr, json_string(m->tags[i]));
    return arr;
}

int
inventory_vm_row(const struct virt_domain *d, const char *fp, arena *a, struct db_vm_row *r, err *e)
{
    *r = (struct db_vm_row){
        .uuid = arena_strdup(a, d->uuid), /* d may be on the caller's stack */
        .name = d->name,
        .state = state_name(d->state),
        .state_reason = d->reason,
        .meta_tenant_id = d->meta ? d->meta->tenant_id : 0,
        .vcpus = d->vcpus,
        .max_vcpus = d->max_vcpus,
        .memory_mib = (int64_t)d->memory_mib,
        .max_memory_mib = (int64_t)d->max_memory_mib,
        .disk_gib = disk_gib(d),
        .firmware = d->firmware == VIRT_FW_UEFI ? "uefi" : "bios",
        .domain_type = d->domain_type,
        .arch = d->arch,
        .partition = d->partition,
        .persistent = d->persistent,
        .autostart = d->autostart,
        .tags = json_text(a, tags_json(d->meta)),
        .disks = json_text(a, disks_json(d)),
        .nics = json_text(a, nics_json(d)),
        .fp = fp ? arena_strdup(a, fp) : NULL,
    };
    if (!r->uuid || !r->tags || !r->disks || !r->nics || (fp && !r->fp) || !r->name)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

static void
fp_pool(const struct virt_pool *p, char out[DB_FP_LEN + 1])
{
    struct fp f;
    fp_start(&f);
    fp_str(&f, p->name);
    fp_str(&f, p->type);
    uint64_t nums[] = {p->active,     p->autostart, p->persistent, p->capacity,
                       p->allocation, p->available, p->nvolumes};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        fp_u64(&f, nums[i]);
    for (size_t i = 0; i < p->nvolumes; i++) {
        const struct virt_volume *v = &p->volumes[i];
        fp_str(&f, v->name);
        fp_str(&f, v->path);
        fp_str(&f, v->format);
        fp_u64(&f, v->capacity);
        fp_u64(&f, v->allocation);
    }
    fp_hex(&f, out);
}

static void
fp_network(const struct virt_network *n, char out[DB_FP_LEN + 1])
{
    struct fp f;
    fp_start(&f);
    const char *t[] = {n->name, n->bridge, n->forward_mode};
    for (size_t i = 0; i < 3; i++)
        fp_str(&f, t[i]);
    fp_u64(&f, n->active);
    fp_u64(&f, n->autostart);
    fp_u64(&f, n->persistent);
    fp_hex(&f, out);
}

/* Pool and network rows of the snapshot into ch (text in `a`). */
static int
build_pools(const struct virt_inventory *s, arena *a, struct db_inv_change *ch, err *e)
{
    struct db_pool_row *pools = arena_alloc(a, (s->npools + 1) * sizeof(*pools));
    struct db_network_row *nets = arena_alloc(a, (s->nnetworks + 1) * sizeof(*nets));
    if (!pools || !nets)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < s->npools; i++) {
        const struct virt_pool *p = &s->pools[i];
        struct db_volume_row *vols = arena_alloc(a, (p->nvolumes + 1) * sizeof(*vols));
        char *fp = arena_alloc(a, DB_FP_LEN + 1);
        if (!vols || !fp)
            return err_set(e, ERR_INTERNAL, "out of memory");
        for (size_t j = 0; j < p->nvolumes; j++)
            vols[j] =
                (struct db_volume_row){p->volumes[j].name, p->volumes[j].path, p->volumes[j].format,
                                       p->volumes[j].capacity, p->volumes[j].allocation};
        fp_pool(p, fp);
        pools[i] = (struct db_pool_row){p->uuid,      p->name,       p->type,     p->active,
                                        p->autostart, p->persistent, p->capacity, p->allocation,
                                        p->available, vols,          p->nvolumes, fp};
    }
    for (size_t i = 0; i < s->nnetworks; i++) {
        const struct virt_network *n = &s->networks[i];
        char *fp = arena_alloc(a, DB_FP_LEN + 1);
        if (!fp)
            return err_set(e, ERR_INTERNAL, "out of memory");
        fp_network(n, fp);
        nets[i] = (struct db_network_row){n->uuid,   n->name,      n->bridge,     n->forward_mode,
                                          n->active, n->autostart, n->persistent, fp};
    }
    ch->pools = pools;
    ch->npools = s->npools;
    ch->networks = nets;
    ch->nnetworks = s->nnetworks;
    ch->with_pools = true;
    return 0;
}

/* ======================================================================== */
/* reconcile, events, facts (on a host's thread)                             */

static void
caps_clear(struct caps *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].key);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

static int
cap_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cap *)a)->key, ((const struct cap *)b)->key);
}

/* Keys "/path" and "pool\x01volume" (paths never hold \x01) into one sorted array. */
static int
caps_build(struct caps *c, const struct virt_inventory *s, err *e)
{
    caps_clear(c);
    size_t total = 0;
    for (size_t i = 0; i < s->npools; i++)
        total += 2 * s->pools[i].nvolumes;
    if (total && !(c->v = calloc(total, sizeof(*c->v))))
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < s->npools; i++) {
        const struct virt_pool *p = &s->pools[i];
        for (size_t j = 0; j < p->nvolumes; j++) {
            const struct virt_volume *v = &p->volumes[j];
            if (v->path && (c->v[c->n].key = strdup(v->path)))
                c->v[c->n++].capacity = v->capacity;
            if (asprintf(&c->v[c->n].key, "%s\x01%s", p->name, v->name) >= 0)
                c->v[c->n++].capacity = v->capacity;
        }
    }
    if (c->n)
        qsort(c->v, c->n, sizeof(*c->v), cap_cmp);
    return 0;
}

static void
caps_fill(const struct caps *c, struct virt_inventory *s)
{
    char key[512];
    for (size_t i = 0; c->n && i < s->ndomains; i++) {
        for (size_t j = 0; j < s->domains[i].ndisks; j++) {
            struct virt_disk *k = &s->domains[i].disks[j];
            if (k->capacity)
                continue;
            if (k->pool && k->volume)
                snprintf(key, sizeof(key), "%s\x01%s", k->pool, k->volume);
            else if (k->source)
                snprintf(key, sizeof(key), "%s", k->source);
            else
                continue;
            struct cap want = {.key = key};
            const struct cap *hit = bsearch(&want, c->v, c->n, sizeof(*c->v), cap_cmp);
            if (hit)
                k->capacity = hit->capacity;
        }
    }
}

struct dref {
    const struct virt_domain *d;
    char fp[DB_FP_LEN + 1];
};

static int
dref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dref *)a)->d->uuid, ((const struct dref *)b)->d->uuid);
}

/* Merges the snapshot (sorted by uuid) with the cached fingerprints (sorted
 * the same way): new or changed domains become rows, cached ones the host
 * no longer has become `gone`. */
static int
diff_domains(struct inventory *inv, const struct virt_inventory *s, arena *a,
             struct db_inv_change *ch, err *e)
{
    size_t n = s->ndomains;
    struct dref *refs = arena_alloc(a, (n + 1) * sizeof(*refs));
    struct db_vm_row *put = arena_alloc(a, (n + 1) * sizeof(*put));
    if (!refs || !put)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        refs[i].d = &s->domains[i];
        fp_domain(refs[i].d, refs[i].fp);
    }
    qsort(refs, n, sizeof(*refs), dref_cmp);
    struct db_vm_fp *fps = NULL;
    size_t nfps = 0;
    if (db_vm_fps(inv->db, s->host_id, &fps, &nfps, e) < 0)
        return -1;
    const char **gone = arena_alloc(a, (nfps + 1) * sizeof(*gone));
    int rc = gone ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
    size_t i = 0, k = 0;
    while (rc == 0 && (i < n || k < nfps)) {
        int cmp = i == n ? 1 : k == nfps ? -1 : strcmp(refs[i].d->uuid, fps[k].uuid);
        if (cmp > 0) {
            if (!(gone[ch->ngone++] = arena_strdup(a, fps[k++].uuid)))
                rc = err_set(e, ERR_INTERNAL, "out of memory");
            continue;
        }
        bool same = cmp == 0 && !strcmp(refs[i].fp, fps[k].fp);
        if (!same)
            rc = inventory_vm_row(refs[i].d, refs[i].fp, a, &put[ch->nput++], e);
        i++;
        k += cmp == 0;
    }
    free(fps);
    ch->put = put;
    ch->gone = gone;
    return rc;
}

/* A complete reconcile of the domains; with W_POOLS also of the pools,
 * volumes and networks (after a connect, a pool or network event, and with
 * every W_FULL safety net). Without, the disks' capacities come from the
 * volumes read last time: the periodic reconcile then costs about what
 * listing the domains costs. */
static int
reconcile(struct ihost *ih, unsigned want, const struct db_host_facts *facts,
          struct inventory_reconcile_stats *st, err *e)
{
    struct inventory *inv = ih->inv;
    bool pools = want & W_POOLS;
    double t0 = mono_s();
    struct virt_inventory snap;
    unsigned flags =
        ((want & W_FULL) ? VIRT_SNAPSHOT_FULL : 0) | (pools ? 0 : VIRT_SNAPSHOT_DOMAINS_ONLY);
    if (virt_host_snapshot(inv->virt, ih->id, flags, &snap, e) < 0)
        return -1;
    double t1 = mono_s();
    arena *a = arena_new();
    struct db_inv_change ch = {.host_id = ih->id, .facts = facts, .reconciled = true};
    int rc = a ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
    if (rc == 0 && pools)
        rc = caps_build(&ih->caps, &snap, e);
    else if (rc == 0)
        caps_fill(&ih->caps, &snap);
    if (rc == 0)
        rc = diff_domains(inv, &snap, a, &ch, e);
    if (rc == 0 && pools)
        rc = build_pools(&snap, a, &ch, e);
    double t2 = mono_s();
    if (rc == 0)
        rc = db_inventory_apply(inv->db, &ch, e);
    double t3 = mono_s();
    struct inventory_reconcile_stats figures = {
        .snapshot_s = t1 - t0,
        .diff_s = t2 - t1,
        .db_s = t3 - t2,
        .total_s = t3 - t0,
        .domains = snap.ndomains,
        .xml_fetched = snap.xml_fetched,
        .written = ch.inserted + ch.updated,
        .deleted = ch.deleted,
    };
    if (st)
        *st = figures;
    if (rc == 0) {
        pthread_mutex_lock(&ih->lock);
        ih->last = figures;
        pthread_mutex_unlock(&ih->lock);
    }
    arena_destroy(a);
    virt_inventory_free(&snap);
    return rc;
}

/* Reads each changed domain again; the ones the host no longer has are gone.
 * Returns -1 when the host cannot be asked (then a reconcile follows). */
static int
apply_events(struct ihost *ih, char (*dirty)[VIRT_UUID_LEN + 1], size_t n, err *e)
{
    struct inventory *inv = ih->inv;
    arena *a = arena_new();
    struct db_vm_row *put = a ? arena_alloc(a, n * sizeof(*put)) : NULL;
    const char **gone = a ? arena_alloc(a, n * sizeof(*gone)) : NULL;
    struct db_inv_change ch = {.host_id = ih->id, .put = put, .gone = gone};
    int rc = put && gone ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct virt_domain d;
        err ge = {0};
        if (virt_domain_get(inv->virt, ih->id, dirty[i], a, &d, &ge) < 0) {
            if (ge.kind == ERR_NOT_FOUND)
                gone[ch.ngone++] = dirty[i];
            else
                rc = err_set(e, ge.kind, "%s", ge.detail);
            continue;
        }
        char fp[DB_FP_LEN + 1];
        fp_domain(&d, fp);
        rc = inventory_vm_row(&d, fp, a, &put[ch.nput++], e);
    }
    if (rc == 0 && (ch.nput || ch.ngone))
        rc = db_inventory_apply(inv->db, &ch, e);
    arena_destroy(a);
    return rc;
}

/* The host's facts as the cache stores them; features JSON in `a`. */
static void
facts_row(const struct virt_host_facts *f, arena *a, struct db_host_facts *out)
{
    json_t *feat = json_array();
    for (size_t i = 0; feat && i < f->ncpu_features; i++)
        json_array_append_new(feat, json_string(f->cpu_features[i]));
    *out = (struct db_host_facts){
        .hostname = f->hostname,
        .hypervisor = f->hypervisor,
        .arch = f->arch,
        .cpu_model = f->cpu_model,
        .cpu_vendor = f->cpu_vendor,
        .cpu_features = json_text(a, feat),
        .cores = (int64_t)f->sockets * f->cores_per_socket,
        .threads = f->cpus,
        .sockets = f->sockets,
        .memory_mib = (int64_t)(f->memory_total_kib / 1024),
        .memory_free_mib = (int64_t)(f->memory_free_kib / 1024),
        .libvirt_version = (int64_t)f->libvirt_version,
    };
}

/* ======================================================================== */
/* a host's thread                                                           */

struct work {
    bool stop;
    unsigned want;
    enum virt_host_state state;
    char error[256];
    char (*dirty)[VIRT_UUID_LEN + 1]; /* DIRTY_MAX entries, the thread's own */
    size_t ndirty;
    struct call *calls;
};

static bool
has_work(const struct ihost *ih)
{
    return ih->stop || ih->want || ih->ndirty || ih->calls;
}

/* Waits for work (or the next periodic reconcile) and takes it all. */
static void
take_work(struct ihost *ih, struct work *w)
{
    struct inventory *inv = ih->inv;
    pthread_mutex_lock(&ih->lock);
    while (!has_work(ih)) {
        int64_t now = mono_ms();
        if (ih->connected && now >= ih->next_reconcile_ms) {
            ih->want |= W_RECONCILE;
            if (++ih->periodic % (unsigned)inv->o.full_every == 0)
                ih->want |= W_FULL | W_POOLS;
            break;
        }
        if (!ih->connected) {
            pthread_cond_wait(&ih->cond, &ih->lock);
            continue;
        }
        struct timespec at = mono_at(ih->next_reconcile_ms);
        pthread_cond_timedwait(&ih->cond, &ih->lock, &at);
    }
    w->stop = ih->stop;
    w->want = ih->want;
    w->state = ih->state;
    memcpy(w->error, ih->error, sizeof(w->error));
    w->ndirty = ih->ndirty;
    memcpy(w->dirty, ih->dirty, ih->ndirty * sizeof(ih->dirty[0]));
    w->calls = ih->calls;
    ih->want = 0;
    ih->ndirty = 0;
    ih->calls = ih->calls_tail = NULL;
    pthread_mutex_unlock(&ih->lock);
}

static void
log_host(const struct ihost *ih, const char *what, const err *e)
{
    log_event(LOG_WARN, what,
              json_pack("{s:I,s:s,s:s,s:i}", "host_id", (json_int_t)ih->id, "error", e->detail,
                        "func", e->func ? e->func : "", "line", e->line));
}

static void
work_state(struct ihost *ih, const struct work *w)
{
    err e = {0};
    if (db_host_set_state(ih->inv->db, ih->id, virt_host_state_name(w->state), w->error, &e) < 0)
        log_host(ih, "inventory: cannot store the host's state", &e);
    ih->connected = w->state == VIRT_HOST_CONNECTED;
}

/* Facts on connect, then reconcile or events: the cache work of one round. */
static void
work_cache(struct ihost *ih, struct work *w)
{
    struct inventory *inv = ih->inv;
    err e = {0};
    struct virt_host_facts hf = {0};
    struct db_host_facts facts, *fp = NULL;
    bool have_facts = (w->want & W_FACTS) && virt_host_facts(inv->virt, ih->id, &hf, &e) == 0;
    if ((w->want & W_FACTS) && !have_facts)
        log_host(ih, "inventory: cannot read the host's facts", &e);
    if (have_facts) {
        facts_row(&hf, hf.mem, &facts);
        fp = &facts;
    }
    if (w->want & W_RECONCILE) {
        if (reconcile(ih, w->want & (W_FULL | W_POOLS), fp, NULL, &e) < 0)
            log_host(ih, "inventory: reconcile failed", &e);
        ih->next_reconcile_ms = mono_ms() + (int64_t)inv->o.reconcile_s * 1000;
    } else if (w->ndirty && apply_events(ih, w->dirty, w->ndirty, &e) < 0) {
        log_host(ih, "inventory: event handling failed; reconciling", &e);
        ih->next_reconcile_ms = mono_ms(); /* as soon as it can */
    } else if (fp) {
        struct db_inv_change ch = {.host_id = ih->id, .facts = fp};
        if (db_inventory_apply(inv->db, &ch, &e) < 0)
            log_host(ih, "inventory: cannot store the host's facts", &e);
    }
    if (have_facts)
        virt_host_facts_free(&hf);
}

static void
host_work(struct ihost *ih, struct work *w)
{
    if (w->want & W_STATE)
        work_state(ih, w);
    if (ih->connected && ((w->want & (W_FACTS | W_RECONCILE)) || w->ndirty))
        work_cache(ih, w);
    for (struct call *c = w->calls, *next; c; c = next) {
        next = c->next;
        call_run(ih, c);
    }
}

static void caps_clear(struct caps *c);

static void
ihost_free(struct ihost *ih)
{
    caps_clear(&ih->caps);
    pthread_mutex_destroy(&ih->lock);
    pthread_cond_destroy(&ih->cond);
    free(ih);
}

static void *
host_main(void *arg)
{
    struct ihost *ih = arg;
    struct inventory *inv = ih->inv;
    struct work w = {.dirty = ih->taken};
    for (;;) {
        take_work(ih, &w);
        if (w.stop)
            break;
        host_work(ih, &w);
    }
    /* unlinked already: nobody queues any more */
    for (struct call *c = w.calls, *next; c; c = next) {
        next = c->next;
        call_abandon(c);
    }
    for (struct call *c = ih->calls, *next; c; c = next) {
        next = c->next;
        call_abandon(c);
    }
    ihost_free(ih);
    thread_exit_count(inv, false);
    return NULL;
}

/* ======================================================================== */
/* sinks (libvirt's event thread, connector threads): queue and return       */

static void
sink_change(void *ctx, int64_t host_id, const char *uuid, enum virt_change kind)
{
    struct inventory *inv = ctx;
    pthread_mutex_lock(&inv->lock);
    struct ihost *ih = find_locked(inv, host_id);
    if (ih) {
        pthread_mutex_lock(&ih->lock);
        bool known = false;
        for (size_t i = 0; i < ih->ndirty && !known; i++)
            known = !strcmp(ih->dirty[i], uuid);
        if (kind == VIRT_CHANGE_POOL || kind == VIRT_CHANGE_NETWORK)
            ih->want |= W_RECONCILE | W_POOLS; /* the pools carry the disks' capacities */
        else if (!known && ih->ndirty == DIRTY_MAX)
            ih->want |= W_RECONCILE; /* an event storm: one pass over everything */
        else if (!known)
            snprintf(ih->dirty[ih->ndirty++], sizeof(ih->dirty[0]), "%s", uuid);
        pthread_cond_signal(&ih->cond);
        pthread_mutex_unlock(&ih->lock);
    }
    pthread_mutex_unlock(&inv->lock);
}

/* Queues a state for host_id's thread (also used when its URI changes). */
static void
post_state(struct inventory *inv, int64_t host_id, enum virt_host_state st, const char *error)
{
    pthread_mutex_lock(&inv->lock);
    struct ihost *ih = find_locked(inv, host_id);
    if (ih) {
        pthread_mutex_lock(&ih->lock);
        ih->want |= W_STATE;
        ih->state = st;
        snprintf(ih->error, sizeof(ih->error), "%s", error ? error : "");
        /* events may have been lost while disconnected */
        if (st == VIRT_HOST_CONNECTED)
            ih->want |= W_FACTS | W_RECONCILE | W_POOLS;
        pthread_cond_signal(&ih->cond);
        pthread_mutex_unlock(&ih->lock);
    }
    pthread_mutex_unlock(&inv->lock);
}

static void
sink_state(void *ctx, int64_t host_id, enum virt_host_state st, const char *error)
{
    post_state(ctx, host_id, st, error);
}

static void
sink_log(void *ctx, int64_t host_id, const char *message)
{
    (void)ctx;
    log_event(LOG_WARN, "libvirt",
              json_pack("{s:I,s:s}", "host_id", (json_int_t)host_id, "message", message));
}

/* ======================================================================== */
/* host registration                                                         */

static struct ihost *
ihost_new(struct inventory *inv, int64_t id)
{
    struct ihost *ih = calloc(1, sizeof(*ih));
    if (!ih)
        return NULL;
    if (cond_init_mono(&ih->cond) < 0) {
        free(ih);
        return NULL;
    }
    pthread_mutex_init(&ih->lock, NULL);
    ih->id = id;
    ih->inv = inv;
    ih->state = VIRT_HOST_CONNECTING;
    return ih;
}

static void host_unregister(struct inventory *inv, int64_t id);

/* Starts host id's thread and its connection. */
static int
host_register(struct inventory *inv, int64_t id, const char *uri, err *e)
{
    struct ihost *ih = ihost_new(inv, id);
    if (!ih)
        return err_set(e, ERR_INTERNAL, "out of memory");
    pthread_mutex_lock(&inv->lock);
    if (inv->stopping || find_locked(inv, id)) {
        pthread_mutex_unlock(&inv->lock);
        ihost_free(ih);
        return err_set(e, ERR_CONFLICT, "host %lld is registered already", (long long)id);
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, host_main, ih);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_unlock(&inv->lock);
        ihost_free(ih);
        return err_set(e, ERR_INTERNAL, "cannot start the host's inventory thread");
    }
    inv->threads++;
    ih->next = inv->hosts;
    inv->hosts = ih;
    pthread_mutex_unlock(&inv->lock);
    if (virt_hosts_add(inv->virt, id, uri, e) == 0)
        return 0;
    host_unregister(inv, id);
    return -1;
}

static void
ihost_stop(struct ihost *ih)
{
    pthread_mutex_lock(&ih->lock);
    ih->stop = true;
    pthread_cond_signal(&ih->cond);
    pthread_mutex_unlock(&ih->lock);
}

/* Stops host id's thread (in the background) and closes its connection. */
static void
host_unregister(struct inventory *inv, int64_t id)
{
    pthread_mutex_lock(&inv->lock);
    struct ihost **pp = &inv->hosts;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    struct ihost *ih = *pp;
    if (ih)
        *pp = ih->next;
    pthread_mutex_unlock(&inv->lock);
    virt_hosts_remove(inv->virt, id, NULL);
    if (ih)
        ihost_stop(ih);
}

/* ======================================================================== */
/* start, stop                                                               */

static void
opts_defaults(struct inventory_opts *o)
{
    if (o->reconcile_s <= 0)
        o->reconcile_s = 30;
    if (o->full_every <= 0)
        o->full_every = 10;
    if (o->stats_timeout_ms <= 0)
        o->stats_timeout_ms = 2000;
    if (o->write_timeout_ms <= 0)
        o->write_timeout_ms = 15000;
    if (o->max_detached <= 0)
        o->max_detached = 64;
}

/* Registers a stored host; one that cannot be (a URI this binary no longer
 * accepts) is marked unreachable with the reason, and logged. */
static void
host_register_or_mark(struct inventory *inv, int64_t id, const char *uri)
{
    err he = {0}, se = {0};
    if (host_register(inv, id, uri, &he) == 0)
        return;
    log_event(LOG_ERROR, "inventory: cannot register a host",
              json_pack("{s:I,s:s}", "host_id", (json_int_t)id, "error", he.detail));
    if (he.kind == ERR_INVALID)
        db_host_set_state(inv->db, id, "unreachable", he.detail, &se);
}

static void
register_all(struct inventory *inv)
{
    struct db_host_ref *refs = NULL;
    size_t n = 0;
    err e = {0};
    if (db_host_reset_states(inv->db, &e) < 0 || db_host_refs(inv->db, &refs, &n, &e) < 0) {
        log_msg(LOG_ERROR, "inventory: cannot read the hosts: %s", e.detail);
        return;
    }
    for (size_t i = 0; i < n; i++)
        host_register_or_mark(inv, refs[i].id, refs[i].uri);
    free(refs);
}

struct inventory *
inventory_start(db *d, const struct inventory_opts *o, err *e)
{
    struct inventory *inv = calloc(1, sizeof(*inv));
    if (!inv || cond_init_mono(&inv->cond) < 0) {
        free(inv);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&inv->lock, NULL);
    inv->db = d;
    if (o)
        inv->o = *o;
    opts_defaults(&inv->o);
    struct virt_sinks sinks = {
        .ctx = inv, .on_change = sink_change, .on_host_state = sink_state, .on_log = sink_log};
    inv->virt = virt_hosts_new(&inv->o.virt, &sinks, e);
    if (!inv->virt) {
        pthread_mutex_destroy(&inv->lock);
        pthread_cond_destroy(&inv->cond);
        free(inv);
        return NULL;
    }
    register_all(inv);
    return inv;
}

void
inventory_stop(struct inventory *inv)
{
    if (!inv)
        return;
    pthread_mutex_lock(&inv->lock);
    inv->stopping = true;
    struct ihost *list = inv->hosts;
    inv->hosts = NULL;
    pthread_mutex_unlock(&inv->lock);
    for (struct ihost *ih = list, *next; ih; ih = next) {
        next = ih->next;
        ihost_stop(ih); /* its thread frees it */
    }
    pthread_mutex_lock(&inv->lock);
    while (inv->threads > 0)
        pthread_cond_wait(&inv->cond, &inv->lock);
    pthread_mutex_unlock(&inv->lock);
    virt_hosts_free(inv->virt); /* no sink runs after this */
    pthread_mutex_destroy(&inv->lock);
    pthread_cond_destroy(&inv->cond);
    free(inv);
}

virt_hosts *
inventory_virt(struct inventory *inv)
{
    return inv->virt;
}

/* ======================================================================== */
/* hosts                                                                     */

static int
check_uri(const char *uri, err *e)
{
    err ue = {0};
    if (strlen(uri) > DB_HOST_URI_MAX)
        return err_set_field(e, "uri", "The URI is longer than %d characters.", DB_HOST_URI_MAX);
    if (virt_uri_validate(uri, &ue) < 0)
        return err_set_field(e, "uri", "Unsupported URI: %s.", ue.detail);
    return 0;
}

int
inventory_host_create(struct inventory *inv, const char *name, const char *uri, struct db_audit *a,
                      int64_t *id_out, err *e)
{
    int64_t id = 0;
    if (check_uri(uri, e) < 0 || db_host_create(inv->db, name, uri, a, &id, e) < 0)
        return -1;
    host_register_or_mark(inv, id, uri); /* stored either way: the next start retries */
    if (id_out)
        *id_out = id;
    return 0;
}

int
inventory_host_update(struct inventory *inv, int64_t id, const char *name, const char *uri,
                      struct db_audit *a, err *e)
{
    struct db_host *old = malloc(sizeof(*old));
    if (!old)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    int rc = db_host_get(inv->db, id, old, e);
    if (rc == 0 && uri)
        rc = check_uri(uri, e);
    if (rc == 0)
        rc = db_host_update(inv->db, id, name, uri, a, e);
    bool moved = rc == 0 && uri && strcmp(uri, old->uri) != 0;
    free(old);
    if (!moved)
        return rc;
    /* the old connection goes, the new one starts from "connecting" */
    virt_hosts_remove(inv->virt, id, NULL);
    post_state(inv, id, VIRT_HOST_CONNECTING, "");
    err re = {0};
    if (virt_hosts_add(inv->virt, id, uri, &re) < 0)
        log_event(LOG_ERROR, "inventory: cannot reconnect a host",
                  json_pack("{s:I,s:s}", "host_id", (json_int_t)id, "error", re.detail));
    return 0;
}

int
inventory_host_delete(struct inventory *inv, int64_t id, bool force, struct db_audit *a,
                      int64_t *dropped, err *e)
{
    if (db_host_delete(inv->db, id, force, a, dropped, e) < 0)
        return -1;
    host_unregister(inv, id);
    return 0;
}

int
inventory_host_wait(struct inventory *inv, int64_t id, int timeout_ms, err *e)
{
    return virt_hosts_wait(inv->virt, id, VIRT_HOST_CONNECTED, timeout_ms, e);
}

/* ======================================================================== */
/* calls on behalf of requests                                               */

static int
stats_fn(struct inventory *inv, struct ihost *ih, struct call *c, err *e)
{
    (void)ih;
    return virt_domain_stats(inv->virt, c->host_id, c->uuid, &c->stats, e);
}

int
inventory_vm_stats(struct inventory *inv, int64_t host_id, const char *uuid,
                   struct virt_domain_stats *out, err *e)
{
    struct virt_host_status st;
    err se = {0};
    if (virt_hosts_status(inv->virt, host_id, &st, &se) < 0)
        return err_set(e, ERR_UNAVAILABLE,
                       "The host is not registered with the connection manager.");
    if (st.state != VIRT_HOST_CONNECTED)
        return err_set(e, ERR_UNAVAILABLE, "The host is %s%s%s.", virt_host_state_name(st.state),
                       st.last_error[0] ? ": " : "", st.last_error);
    struct call *c = call_new(inv, stats_fn, host_id, uuid);
    if (!c)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    int rc = run_detached(inv, c, e);
    if (rc == 0)
        rc = call_wait(c, inv->o.stats_timeout_ms, e);
    if (rc == 0)
        *out = c->stats;
    call_unref(c);
    return rc;
}

/* The metadata wanted: the current one with the request's changes. */
static void
assign_meta(const struct call *c, const struct virt_meta *cur, struct virt_meta *out)
{
    out->tenant_id = c->req.tenant_id ? *c->req.tenant_id : cur->tenant_id;
    out->tags = c->req.tags_set ? (char **)c->req.tags : cur->tags;
    out->ntags = c->req.tags_set ? c->req.ntags : cur->ntags;
}

static int
assign_fn(struct inventory *inv, struct ihost *ih, struct call *c, err *e)
{
    (void)ih;
    struct virt_meta cur, want;
    if (virt_meta_get(inv->virt, c->host_id, c->uuid, c->mem, &cur, e) < 0)
        return -1;
    assign_meta(c, &cur, &want);
    if (virt_meta_set(inv->virt, c->host_id, c->uuid, &want, e) < 0)
        return -1;
    struct virt_domain d;
    struct db_vm_row row;
    char fp[DB_FP_LEN + 1];
    int rc = virt_domain_get(inv->virt, c->host_id, c->uuid, c->mem, &d, e);
    if (rc == 0) {
        fp_domain(&d, fp);
        rc = inventory_vm_row(&d, fp, c->mem, &row, e);
    }
    if (rc == 0)
        rc = db_vm_put(inv->db, c->host_id, &row, &c->audit, &c->vm_id, e);
    if (rc < 0 && virt_meta_set(inv->virt, c->host_id, c->uuid, &cur, NULL) < 0)
        log_msg(LOG_ERROR,
                "inventory: VM %s: the metadata changed but was not recorded, and "
                "could not be put back",
                c->uuid);
    return rc;
}

/* Copies what the request owns into c (it may be gone before c runs). */
static int
assign_copy(struct call *c, const struct inventory_assign *req, const struct db_audit *a)
{
    arena *m = c->mem = arena_new();
    if (!m)
        return -1;
    c->req = *req;
    if (req->tenant_id) {
        c->tenant_id = *req->tenant_id;
        c->req.tenant_id = &c->tenant_id;
    }
    char **tags = arena_alloc(m, (req->ntags + 1) * sizeof(*tags));
    if (!tags)
        return -1;
    for (size_t i = 0; i < req->ntags; i++)
        if (!(tags[i] = arena_strdup(m, req->tags[i])))
            return -1;
    c->req.tags = (const char *const *)tags;
    c->audit = *a;
    const char **strs[] = {&c->audit.actor,      &c->audit.token_id,   &c->audit.source_ip,
                           &c->audit.user_agent, &c->audit.request_id, &c->audit.action,
                           &c->audit.target,     &c->audit.outcome};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (*strs[i] && !(*strs[i] = arena_strdup(m, *strs[i])))
            return -1;
    c->audit.details = a->details ? json_deep_copy(a->details) : NULL;
    return a->details && !c->audit.details ? -1 : 0;
}

int
inventory_vm_assign(struct inventory *inv, int64_t host_id, const char *uuid,
                    const struct inventory_assign *req, const struct db_audit *a, int64_t *id_out,
                    err *e)
{
    struct call *c = call_new(inv, assign_fn, host_id, uuid);
    if (!c)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    if (assign_copy(c, req, a) < 0) {
        call_unref(c);
        call_unref(c);
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    }
    int rc = host_enqueue(inv, host_id, c, e);
    if (rc == 0)
        rc = call_wait(c, inv->o.write_timeout_ms, e);
    if (rc == 0 && id_out)
        *id_out = c->vm_id;
    call_unref(c);
    return rc;
}

static int
reconcile_fn(struct inventory *inv, struct ihost *ih, struct call *c, err *e)
{
    (void)inv;
    if (!ih)
        return err_set(e, ERR_INTERNAL, "reconcile outside its host's thread");
    int rc = reconcile(ih, c->full ? W_FULL | W_POOLS : 0, NULL, &c->rs, e);
    ih->next_reconcile_ms = mono_ms() + (int64_t)ih->inv->o.reconcile_s * 1000;
    return rc;
}

int
inventory_last_reconcile(struct inventory *inv, int64_t id, struct inventory_reconcile_stats *out,
                         err *e)
{
    pthread_mutex_lock(&inv->lock);
    struct ihost *ih = find_locked(inv, id);
    if (ih) {
        pthread_mutex_lock(&ih->lock);
        *out = ih->last;
        pthread_mutex_unlock(&ih->lock);
    }
    pthread_mutex_unlock(&inv->lock);
    return ih ? 0 : err_set(e, ERR_NOT_FOUND, "No such host.");
}

int
inventory_reconcile(struct inventory *inv, int64_t id, bool full, int timeout_ms,
                    struct inventory_reconcile_stats *st, err *e)
{
    struct call *c = call_new(inv, reconcile_fn, id, NULL);
    if (!c)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    c->full = full;
    int rc = host_enqueue(inv, id, c, e);
    if (rc == 0)
        rc = call_wait(c, timeout_ms, e);
    if (rc == 0 && st)
        *st = c->rs;
    call_unref(c);
    return rc;
}
