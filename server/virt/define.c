/* define: creating a VM from a spec (volume + domain) and removing one.
 *
 * Define is all-or-nothing: every lookup that can refuse the request runs
 * before anything is created, and a failed define deletes the volume it just
 * made. */
#include "virt_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct define_ctx {
    struct vconn *c;
    const struct virt_spec *s;
    virStoragePoolPtr pool; /* target pool */
    virStorageVolPtr base;  /* base image, or NULL */
    const char *domtype;
};

static int
check_name_free(struct define_ctx *d, err *e)
{
    AUTOPTR(virDomain) dom = virDomainLookupByName(d->c->conn, d->s->name);
    if (dom)
        return err_set(e, ERR_CONFLICT, "a VM named '%s' already exists on this host", d->s->name);
    if (virt_last_code() != VIR_ERR_NO_DOMAIN)
        return virt_fail(d->c->host, e, "checking the VM name");
    return 0;
}

static int
check_network(struct define_ctx *d, err *e)
{
    if (!d->s->network)
        return 0;
    AUTOPTR(virNetwork) net = virNetworkLookupByName(d->c->conn, d->s->network);
    if (net)
        return 0;
    if (virt_last_code() == VIR_ERR_NO_NETWORK)
        return err_set(e, ERR_INVALID, "network '%s' does not exist on this host", d->s->network);
    return virt_fail(d->c->host, e, "looking up the network");
}

static virStoragePoolPtr
lookup_pool(struct define_ctx *d, const char *name, err *e)
{
    virStoragePoolPtr p = virStoragePoolLookupByName(d->c->conn, name);
    if (!p && virt_last_code() == VIR_ERR_NO_STORAGE_POOL)
        err_set(e, ERR_INVALID, "storage pool '%s' does not exist on this host", name);
    else if (!p)
        virt_fail(d->c->host, e, "looking up the storage pool");
    return p;
}

static virStorageVolPtr
base_by_name(struct define_ctx *d, const char *b, err *e)
{
    char pool[VIRT_NAME_MAX + 1];
    const char *slash = strchr(b, '/'); /* validated: "pool/volume" */
    snprintf(pool, sizeof(pool), "%.*s", (int)(slash - b), b);
    virStoragePoolPtr p = lookup_pool(d, pool, e);
    if (!p)
        return NULL;
    virStorageVolPtr v = virStorageVolLookupByName(p, slash + 1);
    if (!v && virt_last_code() == VIR_ERR_NO_STORAGE_VOL)
        err_set(e, ERR_INVALID, "base_image does not exist on this host");
    else if (!v)
        virt_fail(d->c->host, e, "looking up the base image");
    /* freeing resets libvirt's last error: only after it was read */
    virStoragePoolFree(p);
    return v;
}

static int
find_base(struct define_ctx *d, err *e)
{
    const char *b = d->s->base_image;
    if (b[0] != '/') {
        d->base = base_by_name(d, b, e);
        return d->base ? 0 : -1;
    }
    d->base = virStorageVolLookupByPath(d->c->conn, b);
    if (d->base)
        return 0;
    if (virt_last_code() == VIR_ERR_NO_STORAGE_VOL)
        return err_set(e, ERR_INVALID, "base_image does not exist on this host");
    return virt_fail(d->c->host, e, "looking up the base image");
}

static int
check_storage(struct define_ctx *d, err *e)
{
    if (d->s->base_image && find_base(d, e) < 0)
        return -1;
    d->pool = d->s->pool ? lookup_pool(d, d->s->pool, e) : virStoragePoolLookupByVolume(d->base);
    if (!d->pool)
        return d->s->pool ? -1 : virt_fail(d->c->host, e, "finding the base image's pool");
    if (virStoragePoolIsActive(d->pool) != 1)
        return err_set(e, ERR_CONFLICT, "the storage pool is not active");
    if (d->base) {
        virStorageVolInfo info;
        if (virStorageVolGetInfo(d->base, &info) < 0)
            return virt_fail(d->c->host, e, "reading the base image");
        if (info.capacity > (uint64_t)d->s->disk_gib << 30)
            return err_set(e, ERR_INVALID, "disk_gib is smaller than the base image (%llu GiB)",
                           (info.capacity + (1ULL << 30) - 1) >> 30);
    }
    return 0;
}

static int
pick_domtype(struct define_ctx *d, err *e)
{
    if (d->s->domtype != VIRT_DOMTYPE_AUTO) {
        d->domtype = d->s->domtype == VIRT_DOMTYPE_KVM ? "kvm" : "qemu";
        return 0;
    }
    AUTOFREE char *caps = virConnectGetCapabilities(d->c->conn);
    if (!caps)
        return virt_fail(d->c->host, e, "reading the host's capabilities");
    arena *a = arena_new();
    struct virt_host_facts f = {0};
    int rc = a ? virt_caps_parse(caps, a, &f, e) : err_set(e, ERR_INTERNAL, "out of memory");
    d->domtype = f.kvm ? "kvm" : "qemu";
    arena_destroy(a);
    return rc;
}

static char *
volume_xml(const struct virt_spec *s)
{
    char name[VIRT_NAME_MAX + 8], cap[32];
    snprintf(name, sizeof(name), "%s.qcow2", s->name);
    snprintf(cap, sizeof(cap), "%" PRIu64, (uint64_t)s->disk_gib << 30);
    struct virt_xw x;
    if (virt_xw_begin(&x) < 0)
        return NULL;
    virt_xw_start(&x, "volume");
    virt_xw_elem(&x, "name", name);
    virt_xw_start(&x, "capacity");
    virt_xw_attr(&x, "unit", "bytes");
    xmlTextWriterWriteString(x.w, (const xmlChar *)cap);
    virt_xw_end(&x);
    virt_xw_elem(&x, "allocation", "0");
    virt_xw_start(&x, "target");
    virt_xw_start(&x, "format");
    virt_xw_attr(&x, "type", "qcow2");
    virt_xw_end(&x);
    virt_xw_end(&x);
    virt_xw_end(&x);
    return virt_xw_finish(&x);
}

static virStorageVolPtr
create_volume(struct define_ctx *d, err *e)
{
    char name[VIRT_NAME_MAX + 8];
    snprintf(name, sizeof(name), "%s.qcow2", d->s->name);
    AUTOPTR(virStorageVol) old = virStorageVolLookupByName(d->pool, name);
    if (old) {
        err_set(e, ERR_CONFLICT, "a volume named '%s' already exists in the pool", name);
        return NULL;
    }
    AUTOFREE char *xml = volume_xml(d->s);
    if (!xml) {
        err_set(e, ERR_INTERNAL, "cannot write the volume XML");
        return NULL;
    }
    virStorageVolPtr v = d->base ? virStorageVolCreateXMLFrom(d->pool, xml, d->base, 0)
                                 : virStorageVolCreateXML(d->pool, xml, 0);
    if (!v)
        virt_fail(d->c->host, e, "creating the VM's disk");
    return v;
}

static int
define_domain(struct define_ctx *d, virStorageVolPtr vol, char uuid_out[VIRT_UUID_LEN + 1], err *e)
{
    AUTOFREE char *path = virStorageVolGetPath(vol);
    if (!path)
        return virt_fail(d->c->host, e, "reading the disk's path");
    AUTOFREE char *xml = NULL;
    if (virt_spec_xml(d->s, d->domtype, path, &xml, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virDomainDefineXML(d->c->conn, xml);
    if (!dom)
        return virt_fail(d->c->host, e, "defining the VM");
    if (virDomainGetUUIDString(dom, uuid_out) < 0)
        return virt_fail(d->c->host, e, "reading the new VM's id");
    return 0;
}

int
virt_domain_define(virt_hosts *h, int64_t id, const struct virt_spec *s,
                   char uuid_out[VIRT_UUID_LEN + 1], err *e)
{
    uuid_out[0] = '\0';
    if (virt_spec_validate(s, e) < 0)
        return -1;
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    struct define_ctx d = {.c = &c, .s = s};
    int rc = check_name_free(&d, e);
    if (rc == 0)
        rc = check_network(&d, e);
    if (rc == 0)
        rc = check_storage(&d, e);
    if (rc == 0)
        rc = pick_domtype(&d, e);
    virStorageVolPtr vol = rc == 0 ? create_volume(&d, e) : NULL;
    if (rc == 0 && !vol)
        rc = -1;
    if (rc == 0 && define_domain(&d, vol, uuid_out, e) < 0) {
        rc = -1;
        uuid_out[0] = '\0';
        if (virStorageVolDelete(vol, 0) < 0)
            virt_host_log(c.host, "removing the disk of a failed define", virGetLastErrorMessage());
    }
    if (vol)
        virStorageVolFree(vol);
    if (d.pool)
        virStoragePoolFree(d.pool);
    if (d.base)
        virStorageVolFree(d.base);
    return rc;
}

/* ---- undefine ---- */

/* A volume by path. A pool on shared storage does not know a volume that
 * another host created (a VM migrated in) until it is refreshed: refresh the
 * pool of that directory once and look again. */
static virStorageVolPtr
lookup_by_path(struct vconn *c, const char *path)
{
    virStorageVolPtr v = virStorageVolLookupByPath(c->conn, path);
    const char *slash = strrchr(path, '/');
    if (v || !slash || slash == path || slash - path >= 4096)
        return v;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    AUTOPTR(virStoragePool) p = virStoragePoolLookupByTargetPath(c->conn, dir);
    if (p && virStoragePoolRefresh(p, 0) == 0)
        v = virStorageVolLookupByPath(c->conn, path);
    return v;
}

/* The disks' volumes, looked up before the definition goes away. */
static size_t
collect_volumes(struct vconn *c, virDomainPtr dom, virStorageVolPtr *vols, size_t max)
{
    AUTOFREE char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    arena *a = arena_new();
    struct virt_domain d;
    size_t n = 0;
    if (!xml || !a || virt_domxml_parse(xml, a, &d, NULL) < 0) {
        arena_destroy(a);
        return 0;
    }
    for (size_t i = 0; i < d.ndisks && n < max; i++) {
        const struct virt_disk *k = &d.disks[i];
        virStorageVolPtr v = NULL;
        if (strcmp(k->device, "disk") != 0)
            continue; /* never an ISO shared by other VMs */
        if (k->pool && k->volume) {
            AUTOPTR(virStoragePool) p = virStoragePoolLookupByName(c->conn, k->pool);
            v = p ? virStorageVolLookupByName(p, k->volume) : NULL;
        } else if (k->source && k->source[0] == '/') {
            v = lookup_by_path(c, k->source);
        }
        if (v)
            vols[n++] = v;
    }
    arena_destroy(a);
    return n;
}

/* Undefine with everything attached; drivers that do not know a flag get
 * the call again without it. */
static int
undefine_all(virDomainPtr dom)
{
    static const unsigned tries[] = {
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
            VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
    };
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        if (virDomainUndefineFlags(dom, tries[i]) == 0)
            return 0;
        int code = virt_last_code();
        if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
            return -1;
    }
    return -1;
}

static int
stop_if_running(struct vconn *c, virDomainPtr dom, bool force, err *e)
{
    int active = virDomainIsActive(dom);
    if (active < 0)
        return virt_fail(c->host, e, "reading the VM's state");
    if (!active)
        return 0;
    if (!force)
        return err_set(e, ERR_CONFLICT, "the VM is running: power it off first or use force");
    if (virDomainDestroy(dom) < 0)
        return virt_fail(c->host, e, "powering the VM off");
    return 0;
}

int
virt_domain_undefine(virt_hosts *h, int64_t id, const char *uuid,
                     const struct virt_undefine_opts *o, unsigned *deleted, err *e)
{
    static const struct virt_undefine_opts none = {0};
    o = o ? o : &none;
    if (deleted)
        *deleted = 0;
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    if (!dom || stop_if_running(&c, dom, o->force, e) < 0)
        return -1;
    virStorageVolPtr vols[64];
    size_t nvols = o->delete_volumes ? collect_volumes(&c, dom, vols, 64) : 0;
    int persistent = virDomainIsPersistent(dom);
    int rc = 0;
    if (persistent == 1 && undefine_all(dom) < 0)
        rc = virt_fail(c.host, e, "removing the VM");
    unsigned failed = 0;
    for (size_t i = 0; i < nvols; i++) {
        if (rc == 0) {
            if (virStorageVolDelete(vols[i], 0) == 0) {
                if (deleted)
                    (*deleted)++;
            } else {
                failed++;
                virt_host_log(c.host, "deleting a volume", virGetLastErrorMessage());
            }
        }
        virStorageVolFree(vols[i]);
    }
    if (rc == 0 && failed)
        return err_set(e, ERR_INTERNAL,
                       "the VM was removed, but %u of its volumes could not be "
                       "deleted",
                       failed);
    return rc;
}
