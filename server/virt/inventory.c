/* inventory: a snapshot of one host, cheap enough to run every reconcile.
 *
 * Cost model (10,000 domains): one virConnectGetAllDomainStats call lists
 * every domain with its state; two filtered virConnectListAllDomains calls
 * give the (few) autostart and transient ones; per-domain XML is fetched only
 * on a config cache miss. The cache (per host, keyed by UUID) holds parsed
 * configs; an entry is valid while no event touched its UUID since the fetch
 * (sequence numbers, see virt_cache_touch) and the domain is still in the same
 * active/inactive half (live and inactive XML differ). The cache is dropped on
 * reconnect, when events may have been lost. */
#include "virt_priv.h"

#include <stdlib.h>
#include <string.h>

/* ---- the cache ---- */

static void
ent_free(void *p)
{
    struct virt_cache_ent *ent = p;
    free(ent->cfg);
    free(ent);
}

void
virt_cache_touch(struct vhost *host, const char *uuid)
{
    pthread_mutex_lock(&host->cache_lock);
    uint64_t seq = ++host->cache.seq;
    void **slot = virt_map_upsert(&host->cache.map, uuid);
    if (slot && !*slot)
        *slot = calloc(1, sizeof(struct virt_cache_ent));
    if (slot && *slot)
        ((struct virt_cache_ent *)*slot)->event_seq = seq;
    else
        host->cache.epoch++; /* cannot record the event: forget everything */
    pthread_mutex_unlock(&host->cache_lock);
}

static bool
keep_none(void *val, void *ctx)
{
    (void)val;
    (void)ctx;
    return false;
}

void
virt_cache_reset(struct vhost *host)
{
    pthread_mutex_lock(&host->cache_lock);
    if (host->cache.map.b)
        virt_map_sweep(&host->cache.map, keep_none, NULL, ent_free);
    host->cache.epoch++;
    host->cache.seq++;
    pthread_mutex_unlock(&host->cache_lock);
}

/* ---- one snapshot ---- */

struct item {
    virDomainPtr dom; /* borrowed from the stats records */
    char uuid[VIRT_UUID_LEN + 1];
    int state, reason;
};

struct pending {
    struct virt_domain *cfg; /* malloc'd packed copy, NULL if the domain vanished */
    size_t idx;              /* into snap.items */
};

struct snap {
    struct vconn *c;
    unsigned flags;
    struct item *items;
    size_t nitems;
    struct virt_map autostart, transient; /* uuid sets */
    size_t *need;                         /* indexes of cache misses */
    size_t nneed;
    struct pending *pend; /* one per miss, same order as need */
    size_t npend;
    uint64_t seq0, epoch0;
    unsigned gen;
};

static bool
is_active(int state)
{
    return state != VIRT_DOM_SHUTOFF;
}

static void
read_state(const virDomainStatsRecord *r, int *state, int *reason)
{
    for (int i = 0; i < r->nparams; i++) {
        const virTypedParameter *p = &r->params[i];
        if (p->type != VIR_TYPED_PARAM_INT)
            continue;
        if (strcmp(p->field, "state.state") == 0)
            *state = p->value.i;
        else if (strcmp(p->field, "state.reason") == 0)
            *reason = p->value.i;
    }
}

/* A set of UUIDs of the domains matching `flags` (autostart, transient). */
static int
uuid_set(struct vconn *c, unsigned flags, struct virt_map *set, err *e)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c->conn, &doms, flags);
    if (n < 0)
        return virt_fail(c->host, e, "listing VMs");
    int rc = virt_map_init(set, (size_t)n);
    for (int i = 0; i < n; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (rc == 0 && virDomainGetUUIDString(doms[i], uuid) == 0 && !virt_map_upsert(set, uuid))
            rc = -1;
        virDomainFree(doms[i]);
    }
    free(doms);
    return rc < 0 ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}

static void
set_dynamic(struct snap *s, const struct item *it, struct virt_domain *d)
{
    memcpy(d->uuid, it->uuid, sizeof(d->uuid));
    d->state = it->state;
    d->reason = it->reason;
    d->persistent = !virt_map_find(&s->transient, it->uuid);
    d->autostart = virt_map_find(&s->autostart, it->uuid) != NULL;
}

/* Copies every valid cached config into the output, lists the misses. */
static int
take_cached(struct snap *s, struct virt_inventory *out, err *e)
{
    struct vhost *host = s->c->host;
    int rc = 0;
    pthread_mutex_lock(&host->cache_lock);
    s->gen = ++host->snap_gen;
    s->seq0 = host->cache.seq;
    s->epoch0 = host->cache.epoch;
    for (size_t i = 0; i < s->nitems && rc == 0; i++) {
        struct item *it = &s->items[i];
        void **slot = virt_map_find(&host->cache.map, it->uuid);
        struct virt_cache_ent *ent = slot ? *slot : NULL;
        if (!ent || !ent->cfg || ent->event_seq > ent->fetched_seq ||
            ent->active != is_active(it->state) || (s->flags & VIRT_SNAPSHOT_FULL)) {
            s->need[s->nneed++] = i;
            continue;
        }
        ent->mark = s->gen;
        void *buf = arena_alloc(out->mem, virt_domain_packed_size(ent->cfg));
        if (!buf) {
            rc = err_set(e, ERR_INTERNAL, "out of memory");
            break;
        }
        struct virt_domain *d = &out->domains[out->ndomains++];
        virt_domain_pack(d, ent->cfg, buf);
        set_dynamic(s, it, d);
    }
    pthread_mutex_unlock(&host->cache_lock);
    return rc;
}

static size_t
cfg_offset(void)
{
    return (sizeof(struct virt_domain) + 15) & ~(size_t)15;
}

/* Misses are fetched by up to FETCH_THREADS threads: on a remote host each
 * fetch is a round trip, and libvirt multiplexes calls on one connection. */
enum { FETCH_THREADS = 4, FETCH_MIN_PER_THREAD = 64, SCRATCH_DOCS = 256 };

struct fetcher {
    struct snap *s;
    pthread_mutex_t lock;
    size_t next; /* guarded by lock: next index into s->need */
    int rc;      /* guarded by lock: first failure wins */
    err e;
};

/* Fetches and parses miss k into a packed malloc'd copy (s->pend[k]). A
 * domain that vanished meanwhile is left NULL. */
static int
fetch_one(struct snap *s, size_t k, arena **scratch, size_t *docs, err *e)
{
    struct item *it = &s->items[s->need[k]];
    s->pend[k].idx = s->need[k];
    AUTOFREE char *xml = virDomainGetXMLDesc(it->dom, 0);
    if (!xml)
        return virt_last_code() == VIR_ERR_NO_DOMAIN ? 0 : virt_fail(s->c->host, e, "reading a VM");
    if (!*scratch || *docs >= SCRATCH_DOCS) { /* bound the scratch memory */
        arena_destroy(*scratch);
        *docs = 0;
        if (!(*scratch = arena_new()))
            return err_set(e, ERR_INTERNAL, "out of memory");
    }
    struct virt_domain d;
    if (virt_domxml_parse(xml, *scratch, &d, e) < 0)
        return -1;
    (*docs)++;
    struct virt_domain *cfg = malloc(cfg_offset() + virt_domain_packed_size(&d));
    if (!cfg)
        return err_set(e, ERR_INTERNAL, "out of memory");
    virt_domain_pack(cfg, &d, (char *)cfg + cfg_offset());
    s->pend[k].cfg = cfg;
    return 0;
}

static void *
fetch_main(void *arg)
{
    struct fetcher *f = arg;
    arena *scratch = NULL;
    size_t docs = 0;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        size_t k = f->next++;
        bool stop = f->rc < 0 || k >= f->s->nneed;
        pthread_mutex_unlock(&f->lock);
        if (stop)
            break;
        err e = {0};
        if (fetch_one(f->s, k, &scratch, &docs, &e) < 0) {
            pthread_mutex_lock(&f->lock);
            if (f->rc == 0) {
                f->rc = -1;
                f->e = e;
            }
            pthread_mutex_unlock(&f->lock);
            break;
        }
    }
    arena_destroy(scratch);
    return NULL;
}

static int
fetch_all(struct snap *s, err *e)
{
    struct fetcher f = {.s = s};
    pthread_mutex_init(&f.lock, NULL);
    size_t want = s->nneed / FETCH_MIN_PER_THREAD;
    want = want < 1 ? 1 : want > FETCH_THREADS ? FETCH_THREADS : want;
    pthread_t t[FETCH_THREADS];
    size_t started = 0;
    while (started + 1 < want && pthread_create(&t[started], NULL, fetch_main, &f) == 0)
        started++;
    fetch_main(&f); /* this thread works too */
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&f.lock);
    s->npend = s->nneed;
    if (f.rc < 0) {
        if (e)
            *e = f.e;
        return -1;
    }
    return 0;
}

/* Copies the fetched configs into the output. */
static int
emit_fetched(struct snap *s, struct virt_inventory *out, err *e)
{
    for (size_t k = 0; k < s->npend; k++) {
        const struct virt_domain *cfg = s->pend[k].cfg;
        if (!cfg)
            continue;
        void *buf = arena_alloc(out->mem, virt_domain_packed_size(cfg));
        if (!buf)
            return err_set(e, ERR_INTERNAL, "out of memory");
        struct virt_domain *d = &out->domains[out->ndomains++];
        virt_domain_pack(d, cfg, buf);
        set_dynamic(s, &s->items[s->pend[k].idx], d);
        out->xml_fetched++;
    }
    return 0;
}

/* Keeps what this snapshot saw, and what an event touched after the listing
 * began (a domain defined meanwhile); drops the rest, including placeholders
 * of domains that came and went between two snapshots. */
static bool
keep_entry(void *val, void *ctx)
{
    const struct virt_cache_ent *ent = val;
    const struct snap *s = ctx;
    return ent->mark == s->gen || ent->event_seq > s->seq0;
}

/* Stores the fetched configs and forgets domains that are gone. */
static void
cache_commit(struct snap *s)
{
    struct vhost *host = s->c->host;
    pthread_mutex_lock(&host->cache_lock);
    bool same_epoch = host->cache.epoch == s->epoch0;
    for (size_t i = 0; i < s->npend; i++) {
        struct pending *p = &s->pend[i];
        if (!p->cfg)
            continue;
        void **slot = same_epoch ? virt_map_upsert(&host->cache.map, s->items[p->idx].uuid) : NULL;
        if (slot && !*slot)
            *slot = calloc(1, sizeof(struct virt_cache_ent));
        struct virt_cache_ent *ent = slot ? *slot : NULL;
        if (!ent) {
            free(p->cfg);
            continue;
        }
        free(ent->cfg);
        ent->cfg = p->cfg;
        ent->fetched_seq = s->seq0;
        ent->active = is_active(s->items[p->idx].state);
        ent->mark = s->gen;
    }
    if (same_epoch)
        virt_map_sweep(&host->cache.map, keep_entry, s, ent_free);
    pthread_mutex_unlock(&host->cache_lock);
    s->npend = 0;
}

/* ---- disk capacities from the pools' volumes ---- */

static void
fill_capacities(struct virt_inventory *out)
{
    struct virt_map byname, bypath;
    if (virt_map_init(&bypath, 0) < 0)
        return;
    if (virt_map_init(&byname, 0) < 0) {
        virt_map_fini(&bypath, NULL);
        return;
    }
    char key[512];
    for (size_t i = 0; i < out->npools; i++) {
        const struct virt_pool *p = &out->pools[i];
        for (size_t j = 0; j < p->nvolumes; j++) {
            struct virt_volume *v = &p->volumes[j];
            void **slot = v->path ? virt_map_upsert(&bypath, v->path) : NULL;
            if (slot)
                *slot = v;
            snprintf(key, sizeof(key), "%s/%s", p->name, v->name);
            if ((slot = virt_map_upsert(&byname, key)))
                *slot = v;
        }
    }
    for (size_t i = 0; i < out->ndomains; i++) {
        for (size_t j = 0; j < out->domains[i].ndisks; j++) {
            struct virt_disk *d = &out->domains[i].disks[j];
            void **slot = NULL;
            if (d->pool && d->volume) {
                snprintf(key, sizeof(key), "%s/%s", d->pool, d->volume);
                slot = virt_map_find(&byname, key);
            } else if (d->source) {
                slot = virt_map_find(&bypath, d->source);
            }
            if (slot)
                d->capacity = ((struct virt_volume *)*slot)->capacity;
        }
    }
    virt_map_fini(&byname, NULL);
    virt_map_fini(&bypath, NULL);
}

/* ---- assembly ---- */

static int
snap_list(struct snap *s, virDomainStatsRecordPtr **recs, err *e)
{
    int n = virConnectGetAllDomainStats(s->c->conn, VIR_DOMAIN_STATS_STATE, recs, 0);
    if (n < 0)
        return virt_fail(s->c->host, e, "listing VMs");
    s->items = calloc((size_t)n + 1, sizeof(*s->items));
    s->need = calloc((size_t)n + 1, sizeof(*s->need));
    s->pend = calloc((size_t)n + 1, sizeof(*s->pend));
    if (!s->items || !s->need || !s->pend)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (int i = 0; i < n; i++) {
        struct item *it = &s->items[s->nitems];
        it->dom = (*recs)[i]->dom;
        it->state = VIRT_DOM_NOSTATE;
        read_state((*recs)[i], &it->state, &it->reason);
        if (virDomainGetUUIDString(it->dom, it->uuid) == 0)
            s->nitems++;
    }
    if (uuid_set(s->c, VIR_CONNECT_LIST_DOMAINS_AUTOSTART, &s->autostart, e) < 0 ||
        uuid_set(s->c, VIR_CONNECT_LIST_DOMAINS_TRANSIENT, &s->transient, e) < 0)
        return -1;
    return 0;
}

static int
snap_domains(struct snap *s, struct virt_inventory *out, err *e)
{
    out->domains = arena_alloc(out->mem, (s->nitems + 1) * sizeof(*out->domains));
    if (!out->domains)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (take_cached(s, out, e) < 0 || fetch_all(s, e) < 0 || emit_fetched(s, out, e) < 0)
        return -1;
    cache_commit(s);
    return 0;
}

static void
snap_fini(struct snap *s)
{
    for (size_t i = 0; i < s->npend; i++)
        free(s->pend[i].cfg);
    free(s->items);
    free(s->need);
    free(s->pend);
    if (s->autostart.b)
        virt_map_fini(&s->autostart, NULL);
    if (s->transient.b)
        virt_map_fini(&s->transient, NULL);
}

int
virt_host_snapshot(virt_hosts *h, int64_t id, unsigned flags, struct virt_inventory *out, err *e)
{
    memset(out, 0, sizeof(*out));
    out->host_id = id;
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    if (!(out->mem = arena_new()))
        return err_set(e, ERR_INTERNAL, "out of memory");
    struct snap s = {.c = &c, .flags = flags};
    virDomainStatsRecordPtr *recs = NULL;
    int rc = snap_list(&s, &recs, e);
    if (rc == 0)
        rc = snap_domains(&s, out, e);
    if (rc == 0 && !(flags & VIRT_SNAPSHOT_DOMAINS_ONLY)) {
        rc = virt_list_pools(&c, out->mem, &out->pools, &out->npools, e);
        if (rc == 0)
            rc = virt_list_networks(&c, out->mem, &out->networks, &out->nnetworks, e);
        if (rc == 0)
            fill_capacities(out);
    }
    snap_fini(&s);
    if (recs)
        virDomainStatsRecordListFree(recs);
    if (rc < 0)
        virt_inventory_free(out);
    return rc;
}

void
virt_inventory_free(struct virt_inventory *inv)
{
    if (!inv)
        return;
    arena_destroy(inv->mem);
    memset(inv, 0, sizeof(*inv));
}

/* Disk capacities of one domain, from the volumes behind its disks. */
static void
disk_capacities(struct vconn *c, struct virt_domain *d)
{
    for (size_t i = 0; i < d->ndisks; i++) {
        struct virt_disk *k = &d->disks[i];
        virStorageVolPtr v = NULL;
        if (k->pool && k->volume) {
            AUTOPTR(virStoragePool) p = virStoragePoolLookupByName(c->conn, k->pool);
            v = p ? virStorageVolLookupByName(p, k->volume) : NULL;
        } else if (k->source && k->source[0] == '/') {
            v = virStorageVolLookupByPath(c->conn, k->source);
        }
        virStorageVolInfo info;
        if (v && virStorageVolGetInfo(v, &info) == 0)
            k->capacity = info.capacity;
        if (v)
            virStorageVolFree(v);
    }
}

int
virt_domain_get(virt_hosts *h, int64_t id, const char *uuid, arena *a, struct virt_domain *out,
                err *e)
{
    memset(out, 0, sizeof(*out));
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    if (!dom)
        return -1;
    AUTOFREE char *xml = virDomainGetXMLDesc(dom, 0);
    if (!xml)
        return virt_fail(c.host, e, "reading the VM");
    if (virt_domxml_parse(xml, a, out, e) < 0)
        return -1;
    int state = 0, reason = 0, autostart = 0;
    if (virDomainGetState(dom, &state, &reason, 0) < 0 ||
        virDomainGetAutostart(dom, &autostart) < 0)
        return virt_fail(c.host, e, "reading the VM's state");
    int persistent = virDomainIsPersistent(dom);
    if (persistent < 0)
        return virt_fail(c.host, e, "reading the VM's state");
    out->state = state;
    out->reason = reason;
    out->autostart = autostart == 1;
    out->persistent = persistent == 1;
    disk_capacities(&c, out);
    return 0;
}

int
virt_host_bare_scan(virt_hosts *h, int64_t id, size_t *ndomains, err *e)
{
    *ndomains = 0;
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c.conn, &doms, 0);
    if (n < 0)
        return virt_fail(c.host, e, "listing VMs");
    for (int i = 0; i < n; i++) {
        virDomainInfo info;
        if (virDomainGetInfo(doms[i], &info) == 0)
            (*ndomains)++;
        virDomainFree(doms[i]);
    }
    free(doms);
    return 0;
}

const char *
virt_dom_state_name(int state)
{
    static const char *const names[] = {"nostate",  "running", "blocked", "paused",
                                        "shutdown", "shutoff", "crashed", "pmsuspended"};
    if (state < 0 || (size_t)state >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[state];
}
