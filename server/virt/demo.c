/* demo: a realistic inventory as libvirt test-driver XML files, so that
 * `virtportal demo` (and tests) run without any daemon.
 *
 * The model is built first from a seed (same seed, same model) and then
 * written, so tests can compare what libvirt reports with what was meant. */
#include "virt_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- deterministic randomness (splitmix64) ---- */

struct rng {
    uint64_t s;
};

static uint64_t
rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned
rng_below(struct rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

/* ---- the model ---- */

struct shape {
    unsigned sockets, cores, threads;
    uint64_t memory_gib;
};
static const struct shape shapes[] = {
    {2, 16, 1, 256}, /* 32 CPUs */
    {2, 24, 1, 384}, /* 48 */
    {2, 16, 2, 512}, /* 64 */
    {1, 16, 1, 128}, /* 16 */
};

struct role {
    const char *prefix;
    unsigned vcpus;
    uint64_t memory_mib, disk_gib;
    bool uefi;
    const char *network;
    unsigned weight;
};
static const struct role roles[] = {
    {"web", 2, 4096, 20, false, "dmz", 14},           {"app", 4, 8192, 40, false, "prod", 12},
    {"db", 8, 16384, 200, false, "prod", 6},          {"cache", 2, 8192, 20, false, "prod", 5},
    {"ci-runner", 4, 8192, 80, false, "default", 10}, {"build", 8, 16384, 200, false, "default", 4},
    {"k8s-node", 8, 12288, 100, true, "prod", 10},    {"mon", 2, 4096, 100, false, "prod", 3},
    {"mail", 2, 4096, 50, false, "dmz", 2},           {"vpn", 1, 1024, 10, false, "dmz", 2},
    {"dev", 2, 4096, 30, false, "default", 10},       {"backup", 2, 4096, 500, false, "prod", 2},
    {"win-ad", 4, 8192, 60, true, "prod", 2},
};
enum { NROLES = sizeof(roles) / sizeof(roles[0]) };

static const char *const tenant_tags[] = {"prod", "staging", "dev", "team-a", "team-b"};

static const struct role *
pick_role(struct rng *r)
{
    unsigned total = 0;
    for (int i = 0; i < NROLES; i++)
        total += roles[i].weight;
    unsigned x = rng_below(r, total);
    for (int i = 0; i < NROLES; i++) {
        if (x < roles[i].weight)
            return &roles[i];
        x -= roles[i].weight;
    }
    return &roles[0];
}

static void
make_uuid(struct rng *r, char out[VIRT_UUID_LEN + 1])
{
    uint64_t a = rng_next(r), b = rng_next(r);
    a = (a & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant */
    snprintf(out, VIRT_UUID_LEN + 1,
             "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, a >> 32,
             (a >> 16) & 0xffff, a & 0xffff, b >> 48, (uint64_t)(b & 0xffffffffffffULL));
}

static void
make_vm(struct rng *r, size_t idx, unsigned *counters, struct virt_demo_vm *vm)
{
    const struct role *ro = pick_role(r);
    unsigned n = ++counters[ro - roles];
    snprintf(vm->name, sizeof(vm->name), "%s-%02u", ro->prefix, n);
    make_uuid(r, vm->uuid);
    unsigned scale = rng_below(r, 5) == 0 ? 2 : 1; /* one in five is twice the size */
    vm->vcpus = ro->vcpus * scale;
    vm->memory_mib = ro->memory_mib * scale;
    vm->disk_gib = ro->disk_gib;
    vm->firmware = ro->uefi || rng_below(r, 10) < 2 ? VIRT_FW_UEFI : VIRT_FW_BIOS;
    unsigned s = rng_below(r, 100);
    vm->state = s < 70 ? VIRT_DOM_RUNNING : s < 80 ? VIRT_DOM_PAUSED : VIRT_DOM_SHUTOFF;
    vm->network = ro->network;
    snprintf(vm->mac, sizeof(vm->mac), "52:54:00:%02x:%02x:%02x", (unsigned)(idx >> 8) & 0xff,
             (unsigned)idx & 0xff, rng_below(r, 256));
    if (rng_below(r, 100) < 45) {
        vm->tenant_id = 1 + rng_below(r, 3);
        vm->tag = tenant_tags[rng_below(r, sizeof(tenant_tags) / sizeof(tenant_tags[0]))];
    }
}

/* The host with the most free memory (relative), so VMs spread by size. */
static size_t
pick_host(const struct virt_demo *d, const uint64_t *used_mib)
{
    size_t best = 0;
    double best_free = -1e300;
    for (size_t i = 0; i < d->nhosts; i++) {
        double cap = (double)d->hosts[i].memory_gib * 1024.0;
        double f = (cap - (double)used_mib[i]) / cap;
        if (f > best_free) {
            best_free = f;
            best = i;
        }
    }
    return best;
}

int
virt_demo_build(unsigned seed, size_t nhosts, size_t nvms, struct virt_demo *out, err *e)
{
    memset(out, 0, sizeof(*out));
    if (nhosts == 0)
        nhosts = 4;
    if (nvms == 0)
        nvms = 100;
    if (nhosts > 1000 || nvms > 1000000)
        return err_set(e, ERR_INVALID, "the demo inventory is too large");
    struct rng r = {0x5eed0000ULL ^ seed};
    out->hosts = calloc(nhosts, sizeof(*out->hosts));
    uint64_t *used = calloc(nhosts, sizeof(*used));
    if (!out->hosts || !used) {
        free(used);
        virt_demo_free(out);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    out->nhosts = nhosts;
    for (size_t i = 0; i < nhosts; i++) {
        struct virt_demo_host *h = &out->hosts[i];
        const struct shape *sh = &shapes[i % (sizeof(shapes) / sizeof(shapes[0]))];
        snprintf(h->name, sizeof(h->name), "kvm%02zu", i + 1);
        h->sockets = sh->sockets;
        h->cores = sh->cores;
        h->threads = sh->threads;
        h->memory_gib = sh->memory_gib;
        h->vms = calloc(nvms, sizeof(*h->vms));
        if (!h->vms) {
            free(used);
            virt_demo_free(out);
            return err_set(e, ERR_INTERNAL, "out of memory");
        }
    }
    unsigned counters[NROLES] = {0};
    for (size_t i = 0; i < nvms; i++) {
        struct virt_demo_vm vm = {0};
        make_vm(&r, i, counters, &vm);
        size_t hi = pick_host(out, used);
        used[hi] += vm.memory_mib;
        out->hosts[hi].vms[out->hosts[hi].nvms++] = vm;
    }
    free(used);
    return 0;
}

void
virt_demo_free(struct virt_demo *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nhosts && d->hosts; i++)
        free(d->hosts[i].vms);
    free(d->hosts);
    memset(d, 0, sizeof(*d));
}

/* ---- writing ---- */

#define TEST_NS "http://libvirt.org/schemas/domain/test/1.0"
#define IMAGES "/var/lib/libvirt/images"

static void
xw_num(struct virt_xw *x, const char *name, uint64_t v, const char *unit)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    virt_xw_start(x, name);
    if (unit)
        virt_xw_attr(x, "unit", unit);
    if (xmlTextWriterWriteString(x->w, (const xmlChar *)num) < 0)
        x->rc = -1;
    virt_xw_end(x);
}

static void
write_vm_devices(struct virt_xw *x, const struct virt_demo_vm *vm)
{
    char path[256];
    snprintf(path, sizeof(path), IMAGES "/%s.qcow2", vm->name);
    virt_xw_start(x, "devices");
    virt_xw_start(x, "disk");
    virt_xw_attr(x, "type", "file");
    virt_xw_attr(x, "device", "disk");
    virt_xw_start(x, "driver");
    virt_xw_attr(x, "name", "qemu");
    virt_xw_attr(x, "type", "qcow2");
    virt_xw_end(x);
    virt_xw_start(x, "source");
    virt_xw_attr(x, "file", path);
    virt_xw_end(x);
    virt_xw_start(x, "target");
    virt_xw_attr(x, "dev", "vda");
    virt_xw_attr(x, "bus", "virtio");
    virt_xw_end(x);
    virt_xw_end(x);
    virt_xw_start(x, "interface");
    virt_xw_attr(x, "type", "network");
    virt_xw_start(x, "mac");
    virt_xw_attr(x, "address", vm->mac);
    virt_xw_end(x);
    virt_xw_start(x, "source");
    virt_xw_attr(x, "network", vm->network);
    virt_xw_end(x);
    virt_xw_start(x, "model");
    virt_xw_attr(x, "type", "virtio");
    virt_xw_end(x);
    virt_xw_end(x);
    virt_xw_end(x);
}

static void
write_vm(struct virt_xw *x, const struct virt_demo_vm *vm)
{
    virt_xw_start(x, "domain");
    virt_xw_attr(x, "type", "kvm");
    virt_xw_attr(x, "xmlns:test", TEST_NS);
    virt_xw_elem(x, "name", vm->name);
    virt_xw_elem(x, "uuid", vm->uuid);
    if (vm->tenant_id) {
        virt_xw_start(x, "metadata");
        const char *tags[1] = {vm->tag};
        virt_xw_meta(x, "vp", vm->tenant_id, tags, 1);
        virt_xw_end(x);
    }
    xw_num(x, "memory", vm->memory_mib, "MiB");
    xw_num(x, "currentMemory", vm->memory_mib, "MiB");
    xw_num(x, "vcpu", vm->vcpus, NULL);
    virt_xw_start(x, "os");
    if (vm->firmware == VIRT_FW_UEFI)
        virt_xw_attr(x, "firmware", "efi");
    virt_xw_start(x, "type");
    virt_xw_attr(x, "arch", "x86_64");
    virt_xw_attr(x, "machine", vm->firmware == VIRT_FW_UEFI ? "q35" : "pc");
    if (xmlTextWriterWriteString(x->w, (const xmlChar *)"hvm") < 0)
        x->rc = -1;
    virt_xw_end(x);
    virt_xw_end(x);
    write_vm_devices(x, vm);
    if (xmlTextWriterStartElementNS(x->w, (const xmlChar *)"test", (const xmlChar *)"runstate",
                                    NULL) < 0)
        x->rc = -1;
    char st[8];
    snprintf(st, sizeof(st), "%d", vm->state);
    if (xmlTextWriterWriteString(x->w, (const xmlChar *)st) < 0)
        x->rc = -1;
    virt_xw_end(x);
    virt_xw_end(x);
}

static void
write_network(struct virt_xw *x, const char *name, const char *mode, const char *bridge)
{
    virt_xw_start(x, "network");
    virt_xw_elem(x, "name", name);
    virt_xw_start(x, "forward");
    virt_xw_attr(x, "mode", mode);
    virt_xw_end(x);
    virt_xw_start(x, "bridge");
    virt_xw_attr(x, "name", bridge);
    virt_xw_end(x);
    if (strcmp(mode, "nat") == 0) { /* libvirt wants an address for NAT */
        virt_xw_start(x, "ip");
        virt_xw_attr(x, "address", "192.168.122.1");
        virt_xw_attr(x, "netmask", "255.255.255.0");
        virt_xw_end(x);
    }
    virt_xw_end(x);
}

static void
write_volume(struct virt_xw *x, const char *name, uint64_t cap_mib, uint64_t alloc_mib,
             const char *format)
{
    char path[256];
    snprintf(path, sizeof(path), IMAGES "/%s", name);
    virt_xw_start(x, "volume");
    virt_xw_attr(x, "type", "file");
    virt_xw_elem(x, "name", name);
    xw_num(x, "capacity", cap_mib, "MiB");
    xw_num(x, "allocation", alloc_mib, "MiB");
    virt_xw_start(x, "target");
    virt_xw_elem(x, "path", path);
    virt_xw_start(x, "format");
    virt_xw_attr(x, "type", format);
    virt_xw_end(x);
    virt_xw_end(x);
    virt_xw_end(x);
}

/* The test driver gives every pool 100 GiB, so allocations stay small
 * (thin qcow2 images) and sum to less than that. */
static void
write_pool(struct virt_xw *x, const struct virt_demo_host *dh)
{
    uint64_t cap_alloc = dh->nvms ? (80ULL * 1024) / dh->nvms : 1024;
    virt_xw_start(x, "pool");
    virt_xw_attr(x, "type", "dir");
    virt_xw_elem(x, "name", "default");
    virt_xw_start(x, "target");
    virt_xw_elem(x, "path", IMAGES);
    virt_xw_end(x);
    write_volume(x, "debian-12-base.qcow2", 8 * 1024, 1024 < cap_alloc ? 1024 : cap_alloc, "qcow2");
    for (size_t i = 0; i < dh->nvms; i++) {
        char name[VIRT_NAME_MAX + 8];
        snprintf(name, sizeof(name), "%s.qcow2", dh->vms[i].name);
        uint64_t alloc = dh->vms[i].disk_gib * 1024 / 10;
        write_volume(x, name, dh->vms[i].disk_gib * 1024, alloc < cap_alloc ? alloc : cap_alloc,
                     "qcow2");
    }
    virt_xw_end(x);
}

static void
write_node_cpu(struct virt_xw *x, const struct virt_demo_host *dh)
{
    virt_xw_start(x, "cpu");
    xw_num(x, "mhz", 2600, NULL);
    virt_xw_elem(x, "model", "x86_64");
    xw_num(x, "active", (uint64_t)dh->sockets * dh->cores * dh->threads, NULL);
    xw_num(x, "nodes", dh->sockets, NULL); /* one NUMA node per socket */
    xw_num(x, "sockets", 1, NULL);         /* per node, as libvirt counts them */
    xw_num(x, "cores", dh->cores, NULL);
    xw_num(x, "threads", dh->threads, NULL);
    virt_xw_end(x);
}

static char *
host_xml(const struct virt_demo_host *dh)
{
    struct virt_xw x;
    if (virt_xw_begin(&x) < 0)
        return NULL;
    virt_xw_start(&x, "node");
    write_node_cpu(&x, dh);
    xw_num(&x, "memory", dh->memory_gib * 1024 * 1024, NULL); /* KiB */
    for (size_t i = 0; i < dh->nvms; i++)
        write_vm(&x, &dh->vms[i]);
    write_network(&x, "default", "nat", "virbr0");
    write_network(&x, "prod", "bridge", "br-prod");
    write_network(&x, "dmz", "bridge", "br-dmz");
    write_pool(&x, dh);
    virt_xw_end(&x);
    return virt_xw_finish(&x);
}

int
virt_demo_write_host(const struct virt_demo_host *dh, const char *path, err *e)
{
    AUTOFREE char *xml = host_xml(dh);
    if (!xml)
        return err_set(e, ERR_INTERNAL, "cannot write the demo inventory");
    char tmp[PATH_MAX + 80];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return err_set(e, ERR_INVALID, "the demo path is too long");
    FILE *f = fopen(tmp, "w");
    if (!f)
        return err_set(e, ERR_UNAVAILABLE, "cannot create the demo inventory file (%s)",
                       strerror(errno));
    size_t n = strlen(xml);
    bool ok = fwrite(xml, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return err_set(e, ERR_UNAVAILABLE, "cannot write the demo inventory file");
    }
    return 0;
}

/* Opens the file once through the test driver, as the portal will. */
static int
check_opens(const char *path, err *e)
{
    char uri[PATH_MAX + 96];
    snprintf(uri, sizeof(uri), "test://%s", path);
    if (virt_uri_validate(uri, e) < 0)
        return err_set(e, ERR_INVALID,
                       "the demo directory must be an absolute path of letters, "
                       "digits and ._/+-");
    if (virt_lib_init(e) < 0)
        return -1;
    virConnectPtr c = virConnectOpen(uri);
    if (!c)
        return err_set(e, ERR_INTERNAL, "libvirt's test driver refused the demo inventory");
    virConnectClose(c);
    return 0;
}

void
virt_demo_paths_free(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

int
virt_demo_write(const char *dir, unsigned seed, char ***paths_out, size_t *n, err *e)
{
    *paths_out = NULL;
    *n = 0;
    char absdir[PATH_MAX];
    if (!realpath(dir, absdir))
        return err_set(e, ERR_INVALID, "the demo directory does not exist");
    struct virt_demo d;
    if (virt_demo_build(seed, 0, 0, &d, e) < 0)
        return -1;
    char **paths = calloc(d.nhosts, sizeof(*paths));
    int rc = paths ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
    size_t k = 0;
    for (; rc == 0 && k < d.nhosts; k++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s.xml", absdir, d.hosts[k].name);
        rc = virt_demo_write_host(&d.hosts[k], path, e);
        if (rc == 0)
            rc = check_opens(path, e);
        if (rc == 0 && !(paths[k] = strdup(path)))
            rc = err_set(e, ERR_INTERNAL, "out of memory");
    }
    virt_demo_free(&d);
    if (rc < 0) {
        virt_demo_paths_free(paths, k);
        return -1;
    }
    *paths_out = paths;
    *n = k;
    return 0;
}
