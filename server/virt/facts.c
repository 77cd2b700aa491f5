/* facts: what a host is (CPU, memory, versions) and what it offers (storage
 * pools with volumes, networks). */
#include "virt_priv.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>

AUTOPTR_DEFINE(xmlDoc, xmlFreeDoc)
AUTOPTR_DEFINE(xmlXPathContext, xmlXPathFreeContext)
AUTOPTR_DEFINE(xmlXPathObject, xmlXPathFreeObject)

static void
xml_free_str(xmlChar *s)
{
    xmlFree(s);
}
AUTOPTR_DEFINE(xmlChar, xml_free_str)

static xmlDocPtr
xml_read(const char *xml)
{
    return xmlReadMemory(xml, (int)strlen(xml), "x.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The string value of an XPath expression, copied into `a`; NULL when empty. */
static char *
xp_str(xmlXPathContextPtr ctx, const char *expr, arena *a)
{
    AUTOPTR(xmlXPathObject) o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    if (!o)
        return NULL;
    AUTOPTR(xmlChar) s = xmlXPathCastToString(o);
    return s && *s ? arena_strdup(a, (const char *)s) : NULL;
}

static int
caps_features(xmlXPathContextPtr ctx, arena *a, struct virt_host_facts *f)
{
    AUTOPTR(xmlXPathObject)
    o = xmlXPathEvalExpression((const xmlChar *)"/capabilities/host/cpu/feature/@name", ctx);
    if (!o || !o->nodesetval || o->nodesetval->nodeNr == 0)
        return 0;
    int n = o->nodesetval->nodeNr;
    f->cpu_features = arena_alloc(a, (size_t)n * sizeof(char *));
    if (!f->cpu_features)
        return -1;
    for (int i = 0; i < n; i++) {
        AUTOPTR(xmlChar) v = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        if (v && *v)
            f->cpu_features[f->ncpu_features++] = arena_strdup(a, (const char *)v);
    }
    return 0;
}

int
virt_caps_parse(const char *xml, arena *a, struct virt_host_facts *f, err *e)
{
    AUTOPTR(xmlDoc) doc = xml_read(xml);
    if (!doc)
        return err_set(e, ERR_INTERNAL, "the host returned unreadable capabilities");
    AUTOPTR(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    if (!ctx)
        return err_set(e, ERR_INTERNAL, "out of memory");
    f->arch = xp_str(ctx, "/capabilities/host/cpu/arch", a);
    char *model = xp_str(ctx, "/capabilities/host/cpu/model", a);
    if (model)
        f->cpu_model = model;
    f->cpu_vendor = xp_str(ctx, "/capabilities/host/cpu/vendor", a);
    char *kvm = xp_str(ctx, "count(/capabilities/guest/arch/domain[@type='kvm'])", a);
    f->kvm = kvm && strcmp(kvm, "0") != 0;
    if (caps_features(ctx, a, f) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

/* ---- pools ---- */

/* In file-based pools the volume key is its path, and the key is known
 * without asking the host: one round trip less per volume. */
static bool
key_is_path(const char *pool_type)
{
    return pool_type && (strcmp(pool_type, "dir") == 0 || strcmp(pool_type, "fs") == 0 ||
                         strcmp(pool_type, "netfs") == 0);
}

static int
pool_volumes(struct vconn *c, virStoragePoolPtr p, arena *a, struct virt_pool *out, err *e)
{
    virStorageVolPtr *vols = NULL;
    int n = virStoragePoolListAllVolumes(p, &vols, 0);
    if (n < 0)
        return virt_fail(c->host, e, "listing the pool's volumes");
    int rc = 0;
    out->volumes = n ? arena_alloc(a, (size_t)n * sizeof(*out->volumes)) : NULL;
    if (n && !out->volumes)
        rc = err_set(e, ERR_INTERNAL, "out of memory");
    for (int i = 0; i < n; i++) {
        virStorageVolInfo info;
        if (rc == 0 && virStorageVolGetInfo(vols[i], &info) == 0) {
            struct virt_volume *v = &out->volumes[out->nvolumes++];
            v->name = arena_strdup(a, virStorageVolGetName(vols[i]));
            if (key_is_path(out->type)) {
                v->path = arena_strdup(a, virStorageVolGetKey(vols[i]));
            } else {
                AUTOFREE char *path = virStorageVolGetPath(vols[i]);
                v->path = arena_strdup(a, path);
            }
            v->capacity = info.capacity;
            v->allocation = info.allocation;
        }
        virStorageVolFree(vols[i]);
    }
    free(vols);
    return rc;
}

static char *
pool_type(virStoragePoolPtr p, arena *a)
{
    AUTOFREE char *xml = virStoragePoolGetXMLDesc(p, 0);
    if (!xml)
        return NULL;
    AUTOPTR(xmlDoc) doc = xml_read(xml);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root)
        return NULL;
    AUTOPTR(xmlChar) t = xmlGetProp(root, (const xmlChar *)"type");
    return t ? arena_strdup(a, (const char *)t) : NULL;
}

static int
pool_one(struct vconn *c, virStoragePoolPtr p, arena *a, struct virt_pool *out, err *e)
{
    out->name = arena_strdup(a, virStoragePoolGetName(p));
    virStoragePoolGetUUIDString(p, out->uuid);
    out->type = pool_type(p, a);
    int autostart = 0;
    virStoragePoolGetAutostart(p, &autostart);
    out->autostart = autostart == 1;
    out->persistent = virStoragePoolIsPersistent(p) == 1;
    virStoragePoolInfo info;
    if (virStoragePoolGetInfo(p, &info) < 0)
        return virt_fail(c->host, e, "reading a storage pool");
    out->active = info.state == VIR_STORAGE_POOL_RUNNING || info.state == VIR_STORAGE_POOL_DEGRADED;
    if (!out->active)
        return 0;
    out->capacity = info.capacity;
    out->allocation = info.allocation;
    out->available = info.available;
    return pool_volumes(c, p, a, out, e);
}

int
virt_list_pools(struct vconn *c, arena *a, struct virt_pool **out, size_t *n, err *e)
{
    virStoragePoolPtr *pools = NULL;
    int np = virConnectListAllStoragePools(c->conn, &pools, 0);
    *out = NULL;
    *n = 0;
    if (np < 0)
        return virt_fail(c->host, e, "listing storage pools");
    int rc = 0;
    *out = np ? arena_alloc(a, (size_t)np * sizeof(**out)) : NULL;
    if (np && !*out)
        rc = err_set(e, ERR_INTERNAL, "out of memory");
    for (int i = 0; i < np; i++) {
        if (rc == 0 && pool_one(c, pools[i], a, &(*out)[*n], e) == 0)
            (*n)++;
        else if (rc == 0 && e && e->kind == ERR_NOT_FOUND)
            err_clear(e); /* removed while we listed it */
        else
            rc = -1;
        virStoragePoolFree(pools[i]);
    }
    free(pools);
    return rc;
}

/* ---- networks ---- */

static char *
net_forward_mode(virNetworkPtr net, arena *a)
{
    AUTOFREE char *xml = virNetworkGetXMLDesc(net, 0);
    if (!xml)
        return NULL;
    AUTOPTR(xmlDoc) doc = xml_read(xml);
    if (!doc)
        return NULL;
    AUTOPTR(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    if (!ctx)
        return NULL;
    char *mode = xp_str(ctx, "/network/forward/@mode", a);
    if (mode)
        return mode;
    char *has = xp_str(ctx, "count(/network/forward)", a);
    return arena_strdup(a, has && strcmp(has, "0") != 0 ? "nat" : "isolated");
}

static void
net_one(virNetworkPtr net, arena *a, struct virt_network *out)
{
    out->name = arena_strdup(a, virNetworkGetName(net));
    virNetworkGetUUIDString(net, out->uuid);
    out->active = virNetworkIsActive(net) == 1;
    out->persistent = virNetworkIsPersistent(net) == 1;
    int autostart = 0;
    virNetworkGetAutostart(net, &autostart);
    out->autostart = autostart == 1;
    AUTOFREE char *bridge = virNetworkGetBridgeName(net);
    out->bridge = arena_strdup(a, bridge);
    out->forward_mode = net_forward_mode(net, a);
}

int
virt_list_networks(struct vconn *c, arena *a, struct virt_network **out, size_t *n, err *e)
{
    virNetworkPtr *nets = NULL;
    int nn = virConnectListAllNetworks(c->conn, &nets, 0);
    *out = NULL;
    *n = 0;
    if (nn < 0)
        return virt_fail(c->host, e, "listing networks");
    *out = nn ? arena_alloc(a, (size_t)nn * sizeof(**out)) : NULL;
    int rc = nn && !*out ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
    for (int i = 0; i < nn; i++) {
        if (rc == 0)
            net_one(nets[i], a, &(*out)[(*n)++]);
        virNetworkFree(nets[i]);
    }
    free(nets);
    return rc;
}

/* ---- facts ---- */

/* Total/free host memory. virNodeGetInfo's memory is NUMA-local on some
 * hosts, so the node-wide memory stats come first; drivers without them
 * (the test driver) fall back to node info and free-memory counters. */
static void
facts_memory(struct vconn *c, struct virt_host_facts *f, const virNodeInfo *ni)
{
    int n = 0;
    if (virNodeGetMemoryStats(c->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) == 0 &&
        n > 0 && n < 64) {
        virNodeMemoryStats st[64];
        if (virNodeGetMemoryStats(c->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, st, &n, 0) == 0) {
            uint64_t free_kib = 0, cached = 0, buffers = 0;
            for (int i = 0; i < n; i++) {
                if (strcmp(st[i].field, VIR_NODE_MEMORY_STATS_TOTAL) == 0)
                    f->memory_total_kib = st[i].value;
                else if (strcmp(st[i].field, VIR_NODE_MEMORY_STATS_FREE) == 0)
                    free_kib = st[i].value;
                else if (strcmp(st[i].field, VIR_NODE_MEMORY_STATS_CACHED) == 0)
                    cached = st[i].value;
                else if (strcmp(st[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) == 0)
                    buffers = st[i].value;
            }
            f->memory_free_kib = free_kib + cached + buffers;
            if (f->memory_total_kib)
                return;
        }
    }
    f->memory_total_kib = ni->memory;
    unsigned long long free_bytes = virNodeGetFreeMemory(c->conn);
    f->memory_free_kib = free_bytes ? free_bytes / 1024 : 0;
}

static int
facts_node(struct vconn *c, struct virt_host_facts *f, err *e)
{
    virNodeInfo ni;
    if (virNodeGetInfo(c->conn, &ni) < 0)
        return virt_fail(c->host, e, "reading the host's CPU information");
    f->cpus = ni.cpus;
    /* libvirt counts sockets per NUMA node */
    f->sockets = ni.nodes > 1 ? ni.nodes * ni.sockets : ni.sockets;
    f->cores_per_socket = ni.cores;
    f->threads_per_core = ni.threads;
    f->numa_nodes = ni.nodes;
    f->mhz = ni.mhz;
    f->cpu_model = arena_strdup(f->mem, ni.model); /* capabilities may refine it */
    facts_memory(c, f, &ni);
    AUTOFREE char *hostname = virConnectGetHostname(c->conn);
    f->hostname = arena_strdup(f->mem, hostname);
    f->hypervisor = arena_strdup(f->mem, virConnectGetType(c->conn));
    unsigned long v = 0;
    if (virConnectGetLibVersion(c->conn, &v) == 0)
        f->libvirt_version = v;
    if (virConnectGetVersion(c->conn, &v) == 0)
        f->hypervisor_version = v;
    return 0;
}

int
virt_host_facts(virt_hosts *h, int64_t id, struct virt_host_facts *out, err *e)
{
    memset(out, 0, sizeof(*out));
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    out->mem = arena_new();
    if (!out->mem)
        return err_set(e, ERR_INTERNAL, "out of memory");
    AUTOFREE char *caps = NULL;
    int rc = facts_node(&c, out, e);
    if (rc == 0 && !(caps = virConnectGetCapabilities(c.conn)))
        rc = virt_fail(c.host, e, "reading the host's capabilities");
    if (rc == 0)
        rc = virt_caps_parse(caps, out->mem, out, e);
    if (rc == 0)
        rc = virt_list_pools(&c, out->mem, &out->pools, &out->npools, e);
    if (rc == 0)
        rc = virt_list_networks(&c, out->mem, &out->networks, &out->nnetworks, e);
    if (rc < 0)
        virt_host_facts_free(out);
    return rc;
}

void
virt_host_facts_free(struct virt_host_facts *f)
{
    if (!f)
        return;
    arena_destroy(f->mem);
    memset(f, 0, sizeof(*f));
}
