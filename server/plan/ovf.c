/* OVF descriptor reader (libxml2 DOM; OVF files are small). Elements are matched by
 * local name so OVF 1.x and 2.x and vendor prefixes all read the same. A DOCTYPE is
 * refused outright: OVF never has one, and refusing it rules out entity expansion. */
#include "plan_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

enum { OVF_MAX_INPUT = 16 << 20, OVF_MAX_ITEMS = 4096 };

struct ovf_disk {
    const char *id;
    uint64_t capacity_mib, used_mib;
    bool has_capacity;
    const char *file;
};

struct ovf_ctrl {
    const char *instance;
    enum plan_bus bus;
    const char *model;
    int num;
};

struct ovf {
    plan_inventory *inv;
    xmlDocPtr doc;
    struct ovf_disk *disks;
    size_t ndisks;
    struct ovf_ctrl ctrls[64];
    size_t nctrls;
    const char *origin;
};

static bool
is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0;
}

static const xmlNode *
child(const xmlNode *n, const char *local)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is(c, local))
            return c;
    return NULL;
}

/* Text of an element, copied into the inventory (NULL if absent). */
static const char *
text(struct ovf *o, const xmlNode *n)
{
    if (!n)
        return NULL;
    xmlChar *s = xmlNodeGetContent(n);
    const char *r = s ? plan_inv_strdup(o->inv, (const char *)s) : NULL;
    xmlFree(s);
    return r;
}

static const char *
child_text(struct ovf *o, const xmlNode *n, const char *local)
{
    return text(o, child(n, local));
}

/* Attribute by local name, any namespace. */
static const char *
attr(struct ovf *o, const xmlNode *n, const char *local)
{
    for (const xmlAttr *a = n ? n->properties : NULL; a; a = a->next) {
        if (strcmp((const char *)a->name, local) != 0)
            continue;
        xmlChar *s = xmlNodeListGetString(o->doc, a->children, 1);
        const char *r = plan_inv_strdup(o->inv, s ? (const char *)s : "");
        xmlFree(s);
        return r;
    }
    return NULL;
}

/* "byte * 2^30", "byte * 10^6", "byte * 1024", "MegaBytes"… → bytes per unit, 0 if unknown. */
static double
alloc_units(const char *u)
{
    if (!u || !*u)
        return 1;
    static const struct {
        const char *name;
        double mult;
    } named[] = {{"bytes", 1},
                 {"byte", 1},
                 {"kilobytes", 1024},
                 {"megabytes", 1048576},
                 {"gigabytes", 1073741824.0}};
    for (size_t i = 0; i < PLAN_ARRAY_LEN(named); i++)
        if (plan_ieq(u, named[i].name))
            return named[i].mult;
    const char *p = u;
    while (*p == ' ')
        p++;
    if (!plan_iprefix(p, "byte"))
        return 0;
    p += 4;
    while (*p == ' ' || *p == '*')
        p++;
    if (!*p)
        return 1;
    char *end;
    double base = strtod(p, &end);
    if (end == p || base <= 0)
        return 0;
    if (*end == '^') {
        double ex = strtod(end + 1, &end);
        if (ex < 0 || ex > 60)
            return 0;
        base = pow(base, ex);
    }
    while (*end == ' ')
        end++;
    return *end ? 0 : base;
}

static uint64_t
to_mib(double bytes)
{
    return plan_mib(bytes / 1048576.0);
}

/* References/File[@id=ref]/@href: the disk image's file name (the ref if unknown). */
static const char *
file_href(struct ovf *o, const xmlNode *env, const char *ref)
{
    const xmlNode *refs = child(env, "References");
    for (const xmlNode *c = refs ? refs->children : NULL; ref && c; c = c->next) {
        const char *id = is(c, "File") ? attr(o, c, "id") : NULL;
        if (id && strcmp(id, ref) == 0)
            return attr(o, c, "href");
    }
    return ref;
}

static int
ovf_read_disks(struct ovf *o, const xmlNode *env)
{
    const xmlNode *sec = child(env, "DiskSection");
    size_t n = 0;
    for (const xmlNode *c = sec ? sec->children : NULL; c; c = c->next)
        n += is(c, "Disk");
    if (n > OVF_MAX_ITEMS)
        return -1;
    o->disks = arena_alloc(o->inv->arena, (n ? n : 1) * sizeof(*o->disks));
    if (!o->disks)
        return -1;
    for (const xmlNode *c = sec ? sec->children : NULL; c; c = c->next) {
        if (!is(c, "Disk"))
            continue;
        struct ovf_disk *d = &o->disks[o->ndisks++];
        d->id = attr(o, c, "diskId");
        d->file = file_href(o, env, attr(o, c, "fileRef"));
        double cap, used, units = alloc_units(attr(o, c, "capacityAllocationUnits"));
        if (units > 0 && plan_parse_double(attr(o, c, "capacity"), &cap) && cap >= 0) {
            d->capacity_mib = to_mib(cap * units);
            d->has_capacity = true;
        }
        if (plan_parse_double(attr(o, c, "populatedSize"), &used) && used >= 0)
            d->used_mib = to_mib(used);
    }
    return 0;
}

static const struct ovf_disk *
find_disk(const struct ovf *o, const char *host_resource)
{
    if (!host_resource)
        return NULL;
    const char *slash = strrchr(host_resource, '/');
    const char *id = slash ? slash + 1 : host_resource;
    for (size_t i = 0; i < o->ndisks; i++)
        if (o->disks[i].id && strcmp(o->disks[i].id, id) == 0)
            return &o->disks[i];
    return NULL;
}

static const struct ovf_ctrl *
find_ctrl(const struct ovf *o, const char *instance)
{
    for (size_t i = 0; instance && i < o->nctrls; i++)
        if (o->ctrls[i].instance && strcmp(o->ctrls[i].instance, instance) == 0)
            return &o->ctrls[i];
    return NULL;
}

static const char *
scsi_model(const char *sub)
{
    if (!sub)
        return "lsilogic";
    if (plan_ieq(sub, "VirtualSCSI") || plan_ieq(sub, "pvscsi"))
        return "pvscsi";
    if (plan_ieq(sub, "lsilogicsas"))
        return "lsisas1068";
    if (plan_ieq(sub, "buslogic"))
        return "buslogic";
    return "lsilogic";
}

static int
item_int(struct ovf *o, const xmlNode *item, const char *local, int64_t *out)
{
    const char *v = child_text(o, item, local);
    return v && plan_parse_i64(v, out) ? 1 : 0;
}

static void
ovf_controller(struct ovf *o, const xmlNode *item, int type)
{
    if (o->nctrls == PLAN_ARRAY_LEN(o->ctrls))
        return;
    struct ovf_ctrl *c = &o->ctrls[o->nctrls++];
    c->instance = child_text(o, item, "InstanceID");
    const char *sub = child_text(o, item, "ResourceSubType");
    int64_t addr = -1;
    item_int(o, item, "Address", &addr);
    c->num = addr >= 0 && addr < 100 ? (int)addr : -1;
    if (type == 5) {
        c->bus = PLAN_BUS_IDE;
        c->model = "ide";
    } else if (type == 6) {
        c->bus = PLAN_BUS_SCSI;
        c->model = scsi_model(sub);
    } else if (plan_icontains(sub, "nvme")) {
        c->bus = PLAN_BUS_NVME;
        c->model = "nvme";
    } else if (plan_icontains(sub, "sata") || plan_icontains(sub, "ahci")) {
        c->bus = PLAN_BUS_SATA;
        c->model = "ahci";
    } else {
        c->bus = PLAN_BUS_UNKNOWN;
        c->model = sub;
    }
}

static int
ovf_disk_item(struct ovf *o, struct plan_vm *vm, const xmlNode *item, bool cdrom)
{
    const struct ovf_ctrl *c = find_ctrl(o, child_text(o, item, "Parent"));
    int64_t unit = -1;
    item_int(o, item, "AddressOnParent", &unit);
    if (cdrom) {
        struct plan_cdrom *cd = plan_vm_add_cdrom(o->inv, vm);
        if (!cd)
            return -1;
        cd->bus = c ? c->bus : PLAN_BUS_UNKNOWN;
        cd->ctrl = c ? c->num : -1;
        cd->unit = unit >= 0 && unit < 1000 ? (int)unit : -1;
        return 0;
    }
    struct plan_disk *d = plan_vm_add_disk(o->inv, vm);
    if (!d)
        return -1;
    d->label = child_text(o, item, "ElementName");
    d->bus = c ? c->bus : PLAN_BUS_UNKNOWN;
    d->controller = c ? c->model : NULL;
    d->ctrl = c ? c->num : -1;
    d->unit = unit >= 0 && unit < 1000 ? (int)unit : -1;
    const char *res = child_text(o, item, "HostResource");
    const struct ovf_disk *od = find_disk(o, res);
    if (!od) {
        plan_inv_warn(o->inv, vm, "disk-unresolved",
                      "%s refers to '%s', which the DiskSection does not list",
                      d->label ? d->label : "a disk", res ? res : "(nothing)");
        return 0;
    }
    d->file = od->file;
    d->capacity_mib = od->capacity_mib;
    d->capacity_known = od->has_capacity;
    d->used_mib = od->used_mib;
    if (!c)
        plan_inv_warn(o->inv, vm, "disk-controller-unknown", "%s has no known parent controller",
                      d->label ? d->label : "a disk");
    return 0;
}

static const char *
nic_model(struct ovf *o, const char *sub)
{
    if (!sub)
        return NULL;
    char *m = plan_lower_dup(o->inv->arena, sub);
    if (m && strcmp(m, "vmxnet3") != 0 && strstr(m, "vmxnet3"))
        return "vmxnet3";
    return m;
}

static int
ovf_nic_item(struct ovf *o, struct plan_vm *vm, const xmlNode *item)
{
    struct plan_nic *n = plan_vm_add_nic(o->inv, vm);
    if (!n)
        return -1;
    n->label = child_text(o, item, "ElementName");
    n->model = nic_model(o, child_text(o, item, "ResourceSubType"));
    n->network = child_text(o, item, "Connection");
    const char *mac = child_text(o, item, "Address");
    n->mac = mac && *mac ? plan_lower_dup(o->inv->arena, mac) : NULL;
    const char *auto_ = child_text(o, item, "AutomaticAllocation");
    n->connected = auto_ ? plan_tri_from(auto_) : PLAN_UNKNOWN;
    n->sriov = plan_icontains(n->model, "sriov");
    vm->sriov |= n->sriov;
    return 0;
}

static void
ovf_cpu_mem(struct ovf *o, struct plan_vm *vm, const xmlNode *item, int type)
{
    int64_t q = 0;
    if (!item_int(o, item, "VirtualQuantity", &q) || q <= 0) {
        plan_inv_warn(o->inv, vm, "bad-value", "%s item has no valid VirtualQuantity",
                      type == 3 ? "CPU" : "memory");
        return;
    }
    if (type == 3) {
        vm->vcpus = q > 4096 ? 4096 : (int)q;
        int64_t cps = 0;
        if (item_int(o, item, "CoresPerSocket", &cps) && cps > 0 && cps <= 4096)
            vm->cores_per_socket = (int)cps;
        return;
    }
    const char *units = child_text(o, item, "AllocationUnits");
    double mult = units ? alloc_units(units) : 1048576.0;
    if (mult <= 0) {
        plan_inv_warn(o->inv, vm, "bad-value", "memory AllocationUnits '%s' unknown; assuming MiB",
                      units);
        mult = 1048576.0;
    }
    vm->memory_mib = to_mib((double)q * mult);
}

static int
ovf_item(struct ovf *o, struct plan_vm *vm, const xmlNode *item)
{
    int64_t type = 0;
    item_int(o, item, "ResourceType", &type);
    const char *sub = child_text(o, item, "ResourceSubType");
    switch (type) {
    case 3:
    case 4:
        ovf_cpu_mem(o, vm, item, (int)type);
        return 0;
    case 10:
        return ovf_nic_item(o, vm, item);
    case 15:
    case 16:
        return ovf_disk_item(o, vm, item, true);
    case 17:
        return ovf_disk_item(o, vm, item, false);
    case 23:
        vm->usb = true;
        return 0;
    case 1:
        if (plan_icontains(sub, "vtpm"))
            vm->vtpm = PLAN_YES;
        if (plan_icontains(sub, "pcipassthru") || plan_icontains(sub, "passthrough"))
            vm->passthrough = true;
        return 0;
    default:
        return 0;
    }
}

static void
ovf_config(struct ovf *o, struct plan_vm *vm, const xmlNode *cfg)
{
    const char *k = attr(o, cfg, "key"), *v = attr(o, cfg, "value");
    if (!k || !v)
        return;
    if (plan_ieq(k, "firmware"))
        vm->firmware = plan_ieq(v, "efi") ? PLAN_FW_UEFI : PLAN_FW_BIOS;
    else if (plan_ieq(k, "cpuHotAddEnabled"))
        vm->cpu_hot_add = plan_tri_from(v);
    else if (plan_ieq(k, "memoryHotAddEnabled"))
        vm->mem_hot_add = plan_tri_from(v);
    else if (plan_ieq(k, "bootOptions.efiSecureBootEnabled") ||
             plan_ieq(k, "uefi.secureBoot.enabled"))
        vm->secure_boot = plan_tri_from(v);
    else if (plan_ieq(k, "changeTrackingEnabled") || plan_ieq(k, "ctkEnabled"))
        vm->cbt = plan_tri_from(v);
    else if (plan_ieq(k, "nestedHVEnabled"))
        vm->nested_hv = plan_parse_bool(v) == 1;
    else if (plan_ieq(k, "disk.EnableUUID"))
        vm->enable_uuid = plan_tri_from(v);
}

/* "vmx-10" (possibly a list "vmx-10 vmx-11": the first counts) → 10. */
static int
hw_version(const char *t)
{
    if (!t)
        return 0;
    const char *p = strstr(t, "vmx-");
    if (!p)
        return 0;
    char *end;
    long v = strtol(p + 4, &end, 10);
    return end != p + 4 && v > 0 && v < 1000 ? (int)v : 0;
}

static int
ovf_hardware(struct ovf *o, struct plan_vm *vm, const xmlNode *hw)
{
    const xmlNode *sys = child(hw, "System");
    vm->hw_version = hw_version(child_text(o, sys, "VirtualSystemType"));
    /* controllers first: disks refer to them by InstanceID */
    o->nctrls = 0;
    for (const xmlNode *c = hw->children; c; c = c->next) {
        int64_t type = 0;
        if ((is(c, "Item") || is(c, "StorageItem")) && item_int(o, c, "ResourceType", &type) &&
            (type == 5 || type == 6 || type == 20))
            ovf_controller(o, c, (int)type);
    }
    size_t items = 0;
    for (const xmlNode *c = hw->children; c; c = c->next) {
        if (is(c, "Item") || is(c, "StorageItem") || is(c, "EthernetPortItem")) {
            if (++items > OVF_MAX_ITEMS)
                return 0;
            if (ovf_item(o, vm, c) < 0)
                return -1;
        } else if (is(c, "Config") || is(c, "ExtraConfig")) {
            ovf_config(o, vm, c);
        }
    }
    return 0;
}

static int
ovf_system(struct ovf *o, const xmlNode *vs)
{
    const char *name = child_text(o, vs, "Name");
    if (!name || !*name)
        name = attr(o, vs, "id");
    struct plan_vm *vm = plan_inv_add_vm(o->inv, name && *name ? name : "unnamed");
    if (!vm)
        return -1;
    vm->source = "ovf";
    vm->vm_id = plan_inv_strdup(o->inv, o->origin);
    vm->firmware = PLAN_FW_BIOS; /* the OVF default when vmw:Config says nothing */
    vm->snapshots = 0;
    const xmlNode *os = child(vs, "OperatingSystemSection");
    vm->guest_id = attr(o, os, "osType");
    vm->guest_name = child_text(o, os, "Description");
    if (!vm->guest_id && !vm->guest_name)
        plan_inv_warn(o->inv, vm, "missing-value", "no operating system type");
    const xmlNode *hw = child(vs, "VirtualHardwareSection");
    if (!hw) {
        plan_inv_warn(o->inv, vm, "missing-value", "no VirtualHardwareSection");
        return 0;
    }
    if (ovf_hardware(o, vm, hw) < 0)
        return -1;
    if (!vm->vcpus)
        plan_inv_warn(o->inv, vm, "missing-value", "no CPU item (ResourceType 3)");
    if (!vm->memory_mib)
        plan_inv_warn(o->inv, vm, "missing-value", "no memory item (ResourceType 4)");
    return 0;
}

/* VirtualSystem children of a node, descending into VirtualSystemCollection. */
static int
ovf_systems(struct ovf *o, const xmlNode *parent, int depth, size_t *count)
{
    if (depth > 8)
        return 0;
    for (const xmlNode *c = parent->children; c; c = c->next) {
        int rc = 0;
        if (is(c, "VirtualSystem")) {
            rc = ovf_system(o, c);
            ++*count;
        } else if (is(c, "VirtualSystemCollection")) {
            rc = ovf_systems(o, c, depth + 1, count);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static bool
has_doctype(const char *buf, size_t len)
{
    return memmem(buf, len, "<!DOCTYPE", 9) != NULL || memmem(buf, len, "<!ENTITY", 8) != NULL;
}

static int
ovf_walk(struct ovf *o, err *e)
{
    const xmlNode *env = xmlDocGetRootElement(o->doc);
    if (!is(env, "Envelope"))
        return err_set(e, ERR_INVALID, "not an OVF descriptor: the root element is not Envelope");
    if (ovf_read_disks(o, env) < 0)
        return err_set(e, ERR_INVALID, "the OVF DiskSection is too large");
    size_t before = o->inv->nvms, count = 0;
    if (ovf_systems(o, env, 0, &count) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (count == 0)
        return err_set(e, ERR_INVALID, "the OVF descriptor has no VirtualSystem");
    (void)before;
    return 0;
}

int
plan_ovf_read(plan_inventory *inv, const char *buf, size_t len, const char *origin, err *e)
{
    if (len > OVF_MAX_INPUT)
        return err_set(e, ERR_TOO_LARGE, "the OVF descriptor is larger than %d MiB",
                       OVF_MAX_INPUT >> 20);
    if (len > INT32_MAX || has_doctype(buf, len))
        return err_set(e, ERR_INVALID, "OVF descriptors with a DOCTYPE are not accepted");
    plan_global_init();
    struct ovf o = {.inv = inv, .origin = origin};
    o.doc = xmlReadMemory(buf, (int)len, "ovf.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!o.doc)
        return err_set(e, ERR_INVALID, "the OVF descriptor is not well-formed XML");
    int rc;
    if (o.doc->intSubset || o.doc->extSubset)
        rc = err_set(e, ERR_INVALID, "OVF descriptors with a DOCTYPE are not accepted");
    else
        rc = ovf_walk(&o, e);
    xmlFreeDoc(o.doc);
    return rc;
}
