/* RVTools sheets: the header aliases of each sheet and what one of its rows means. */
#include "rvtools_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIASES(a) a, PLAN_ARRAY_LEN(a)

enum plan_power
rv_power(const char *s)
{
    if (plan_ieq(s, "poweredOn") || plan_ieq(s, "on") || plan_ieq(s, "running"))
        return PLAN_POWER_ON;
    if (plan_ieq(s, "poweredOff") || plan_ieq(s, "off"))
        return PLAN_POWER_OFF;
    if (plan_ieq(s, "suspended"))
        return PLAN_POWER_SUSPENDED;
    return PLAN_POWER_UNKNOWN;
}

const char *
rv_power_name(enum plan_power p)
{
    static const char *const names[] = {"unknown", "poweredOn", "poweredOff", "suspended"};
    return (unsigned)p < PLAN_ARRAY_LEN(names) ? names[p] : "unknown";
}

/* A numeric cell scaled to the field's unit. 1 ok, 0 absent, -1 not a number (warned). */
static int
num(struct rv_reader *r, struct plan_vm *vm, const char *const *v, int f, const char *what,
    double *out)
{
    if (!v[f])
        return 0;
    double d;
    if (!plan_parse_double(v[f], &d) || d < 0) {
        plan_inv_warn(rv_inv(r), vm, "bad-value", "%s '%s' is not a valid number; ignored", what,
                      v[f]);
        return -1;
    }
    *out = d * rv_scale(r, f);
    return 1;
}

static int
num_int(struct rv_reader *r, struct plan_vm *vm, const char *const *v, int f, const char *what,
        int max)
{
    double d = 0;
    if (num(r, vm, v, f, what, &d) <= 0)
        return -1;
    if (d > max) {
        plan_inv_warn(rv_inv(r), vm, "bad-value", "%s %.0f is out of range; ignored", what, d);
        return -1;
    }
    return (int)lround(d);
}

static const char *
dup(struct rv_reader *r, const char *s)
{
    return s ? plan_inv_strdup(rv_inv(r), s) : NULL;
}

/* ------------------------------------------------------------------ vInfo */

enum {
    VI_VM,
    VI_POWER,
    VI_TEMPLATE,
    VI_CPUS,
    VI_MEM,
    VI_NICS,
    VI_DISKS,
    VI_CAPACITY,
    VI_PROV,
    VI_INUSE,
    VI_FIRMWARE,
    VI_SECBOOT,
    VI_HW,
    VI_EVC,
    VI_CBT,
    VI_UUIDFLAG,
    VI_CONSOLIDATE,
    VI_FT,
    VI_RULES,
    VI_RULENAMES,
    VI_DC,
    VI_CLUSTER,
    VI_HOST,
    VI_OSCFG,
    VI_OSTOOLS,
    VI_VMID,
    VI_UUID,
    VI_FOLDER,
    VI_ANNOTATION,
    VI_NET1,
    VI_NFIELDS = VI_NET1 + 8
};

static const struct rv_alias vinfo_aliases[] = {
    {"vm", VI_VM, 1},
    {"powerstate", VI_POWER, 1},
    {"template", VI_TEMPLATE, 1},
    {"cpus", VI_CPUS, 1},
    {"memory", VI_MEM, 1},
    {"memory mib", VI_MEM, 1},
    {"nics", VI_NICS, 1},
    {"disks", VI_DISKS, 1},
    {"total disk capacity mib", VI_CAPACITY, 1},
    {"provisioned mib", VI_PROV, 1},
    {"in use mib", VI_INUSE, 1},
    {"firmware", VI_FIRMWARE, 1},
    {"efi secure boot", VI_SECBOOT, 1},
    {"hw version", VI_HW, 1},
    {"min required evc mode key", VI_EVC, 1},
    {"cbt", VI_CBT, 1},
    {"enableuuid", VI_UUIDFLAG, 1},
    {"consolidation needed", VI_CONSOLIDATE, 1},
    {"ft state", VI_FT, 1},
    {"cluster rule s", VI_RULES, 1},
    {"cluster rule name s", VI_RULENAMES, 1},
    {"datacenter", VI_DC, 1},
    {"cluster", VI_CLUSTER, 1},
    {"host", VI_HOST, 1},
    {"os according to the configuration file", VI_OSCFG, 1},
    {"os according to the vmware tools", VI_OSTOOLS, 1},
    {"vm id", VI_VMID, 1},
    {"vm uuid", VI_UUID, 1},
    {"folder", VI_FOLDER, 1},
    {"annotation", VI_ANNOTATION, 1},
    {"network #1", VI_NET1 + 0, 1},
    {"network #2", VI_NET1 + 1, 1},
    {"network #3", VI_NET1 + 2, 1},
    {"network #4", VI_NET1 + 3, 1},
    {"network #5", VI_NET1 + 4, 1},
    {"network #6", VI_NET1 + 5, 1},
    {"network #7", VI_NET1 + 6, 1},
    {"network #8", VI_NET1 + 7, 1},
};

/* Splits "a, b; c" into trimmed tokens; returns the count (≤ max). */
static size_t
split_list(char *s, char **out, size_t max)
{
    size_t n = 0;
    for (char *p = s; p && *p && n < max;) {
        char *end = p + strcspn(p, ",;");
        char save = *end;
        *end = '\0';
        while (isspace((unsigned char)*p))
            p++;
        char *t = p + strlen(p);
        while (t > p && isspace((unsigned char)t[-1]))
            *--t = '\0';
        if (*p)
            out[n++] = p;
        p = save ? end + 1 : NULL;
    }
    return n;
}

/* "Cluster rule(s)" gives each rule's kind, "Cluster rule name(s)" its name, in the same
 * order. Only kinds that say what they are count: "…AntiAffinity…" and "…Affinity…"
 * become VM–VM groups, VM–host rules are reported (they name source hosts), anything
 * else is reported and not enforced — a wrong affinity rule would tie unrelated VMs. */
static void
vinfo_rules(struct rv_reader *r, struct plan_vm *vm, const char *kinds, const char *names)
{
    if (!names && !kinds)
        return;
    char kbuf[1024], nbuf[1024];
    snprintf(kbuf, sizeof(kbuf), "%s", kinds ? kinds : "");
    snprintf(nbuf, sizeof(nbuf), "%s", names ? names : "");
    char *k[16], *n[16];
    size_t nk = split_list(kbuf, k, 16), nn = split_list(nbuf, n, 16);
    for (size_t i = 0; i < (nn > nk ? nn : nk); i++) {
        const char *kind = i < nk ? k[i] : NULL, *name = i < nn ? n[i] : NULL;
        const char *what = kind ? kind : name; /* without kinds, the name may say it */
        if (!name)
            name = kind;
        if (plan_icontains(what, "host")) {
            plan_inv_warn(rv_inv(r), vm, "vm-host-rule",
                          "VM–host rule '%s' names source hosts; recreate it on KVM", name);
        } else if (plan_icontains(what, "affinity")) {
            plan_vm_add_rule(rv_inv(r), vm, plan_icontains(what, "anti"), name);
        } else {
            plan_inv_warn(rv_inv(r), vm, "rule-unknown",
                          "cluster rule '%s' of unknown kind '%s' is not enforced", name,
                          kind ? kind : "?");
        }
    }
}

static void
vinfo_flags(struct rv_reader *r, struct plan_vm *vm, const char *const *v)
{
    vm->power = rv_power(v[VI_POWER]);
    vm->template_ = plan_parse_bool(v[VI_TEMPLATE]) == 1;
    if (v[VI_FIRMWARE])
        vm->firmware = plan_ieq(v[VI_FIRMWARE], "efi")    ? PLAN_FW_UEFI
                       : plan_ieq(v[VI_FIRMWARE], "bios") ? PLAN_FW_BIOS
                                                          : PLAN_FW_UNKNOWN;
    vm->secure_boot = plan_tri_from(v[VI_SECBOOT]);
    vm->cbt = plan_tri_from(v[VI_CBT]);
    vm->enable_uuid = plan_tri_from(v[VI_UUIDFLAG]);
    vm->consolidation_needed = plan_parse_bool(v[VI_CONSOLIDATE]) == 1;
    vm->fault_tolerance = v[VI_FT] && !plan_ieq(v[VI_FT], "notConfigured");
    vm->evc_key = dup(r, v[VI_EVC]);
    vm->datacenter = dup(r, v[VI_DC]);
    vm->cluster = dup(r, v[VI_CLUSTER]);
    vm->host = dup(r, v[VI_HOST]);
    vm->folder = dup(r, v[VI_FOLDER]);
    vm->annotation = dup(r, v[VI_ANNOTATION]);
    const char *hw = v[VI_HW];
    if (hw && plan_iprefix(hw, "vmx-"))
        hw += 4;
    int64_t h;
    if (hw && plan_parse_i64(hw, &h) && h > 0 && h < 1000)
        vm->hw_version = (int)h;
    vm->guest_name = dup(r, v[VI_OSTOOLS] ? v[VI_OSTOOLS] : v[VI_OSCFG]);
    vinfo_rules(r, vm, v[VI_RULES], v[VI_RULENAMES]);
}

static void
vinfo_sizes(struct rv_reader *r, struct plan_vm *vm, const char *const *v, struct rv_vinfo_note *n)
{
    double d;
    n->cpus = num_int(r, vm, v, VI_CPUS, "CPUs", 4096);
    n->cpus = n->cpus < 0 ? 0 : n->cpus;
    n->mem = num(r, vm, v, VI_MEM, "Memory", &d) > 0 ? d : 0;
    n->disks = num_int(r, vm, v, VI_DISKS, "Disks", 100000);
    n->nics = num_int(r, vm, v, VI_NICS, "NICs", 100000);
    n->has_capacity = num(r, vm, v, VI_CAPACITY, "Total disk capacity", &d) > 0;
    n->capacity = n->has_capacity ? d : 0;
    if (num(r, vm, v, VI_PROV, "Provisioned", &d) > 0)
        vm->provisioned_mib = plan_mib(d);
    if (num(r, vm, v, VI_INUSE, "In Use", &d) > 0)
        vm->used_mib = plan_mib(d);
    if (!v[VI_CPUS])
        plan_inv_warn(rv_inv(r), vm, "missing-value", "vInfo gives no CPUs");
    if (!v[VI_MEM])
        plan_inv_warn(rv_inv(r), vm, "missing-value", "vInfo gives no memory size");
}

static int
vinfo_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    const char *name = v[VI_VM];
    if (!name) {
        plan_inv_warn(rv_inv(r), NULL, "missing-value", "vInfo row %zu has data but no VM name",
                      row);
        return 0;
    }
    if (rv_is_duplicate(r, name, v[VI_VMID], v[VI_UUID])) {
        struct plan_vm *old;
        if (rv_lookup(r, name, NULL, NULL, row, &old) == 0 && old)
            plan_inv_warn(rv_inv(r), old, "duplicate-vm",
                          "vInfo lists this VM again at row %zu; that row is ignored", row);
        return 0;
    }
    struct plan_vm *vm;
    if (rv_new_vm(r, name, v[VI_VMID], v[VI_UUID], &vm) < 0)
        return -1;
    struct rv_vinfo_note n = {0};
    vinfo_flags(r, vm, v);
    vinfo_sizes(r, vm, v, &n);
    n.os_cfg = dup(r, v[VI_OSCFG]);
    n.os_tools = dup(r, v[VI_OSTOOLS]);
    for (int i = 0; i < 8; i++)
        n.nets[i] = dup(r, v[VI_NET1 + i]);
    rv_note_vinfo(r, vm, &n);
    return 0;
}

/* ------------------------------------------------------------------ vHost */

enum {
    VH_HOST,
    VH_DC,
    VH_CLUSTER,
    VH_MODEL,
    VH_SPEED,
    VH_NCPU,
    VH_CPC,
    VH_NCORES,
    VH_MEM,
    VH_HT,
    VH_CPUPCT,
    VH_MEMPCT,
    VH_EVCCUR,
    VH_EVCMAX,
    VH_ESX,
    VH_MAINT,
    VH_NFIELDS
};

static const struct rv_alias vhost_aliases[] = {
    {"host", VH_HOST, 1},          {"datacenter", VH_DC, 1},
    {"cluster", VH_CLUSTER, 1},    {"cpu model", VH_MODEL, 1},
    {"speed", VH_SPEED, 1},        {"# cpu", VH_NCPU, 1},
    {"cores per cpu", VH_CPC, 1},  {"# cores", VH_NCORES, 1},
    {"# memory", VH_MEM, 1},       {"ht active", VH_HT, 1},
    {"cpu usage %", VH_CPUPCT, 1}, {"memory usage %", VH_MEMPCT, 1},
    {"current evc", VH_EVCCUR, 1}, {"max evc", VH_EVCMAX, 1},
    {"esx version", VH_ESX, 1},    {"in maintenance mode", VH_MAINT, 1},
};

static int
vhost_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    plan_inventory *inv = rv_inv(r);
    if (!v[VH_HOST])
        return 0;
    if (rv_find_host(r, v[VH_HOST])) {
        plan_inv_warn(inv, NULL, "duplicate-host", "vHost lists host %s again at row %zu",
                      v[VH_HOST], row);
        return 0;
    }
    struct plan_src_host *h = plan_inv_add_host(inv, v[VH_HOST]);
    if (!h)
        return -1;
    h->datacenter = dup(r, v[VH_DC]);
    h->cluster = dup(r, v[VH_CLUSTER]);
    h->cpu_model = dup(r, v[VH_MODEL]);
    h->evc_current = dup(r, v[VH_EVCCUR]);
    h->evc_max = dup(r, v[VH_EVCMAX]);
    h->esx_version = dup(r, v[VH_ESX]);
    h->maintenance = plan_parse_bool(v[VH_MAINT]) == 1;
    h->mhz = num_int(r, NULL, v, VH_SPEED, "vHost Speed", 1000000);
    h->sockets = num_int(r, NULL, v, VH_NCPU, "vHost # CPU", 1024);
    h->cores = num_int(r, NULL, v, VH_NCORES, "vHost # Cores", 1 << 20);
    int cpc = num_int(r, NULL, v, VH_CPC, "vHost Cores per CPU", 4096);
    if (h->cores <= 0 && h->sockets > 0 && cpc > 0)
        h->cores = h->sockets * cpc;
    h->mhz = h->mhz < 0 ? 0 : h->mhz;
    h->sockets = h->sockets < 0 ? 0 : h->sockets;
    h->cores = h->cores < 0 ? 0 : h->cores;
    h->threads = plan_parse_bool(v[VH_HT]) == 1 ? h->cores * 2 : h->cores;
    double d;
    if (num(r, NULL, v, VH_MEM, "vHost # Memory", &d) > 0)
        h->memory_mib = plan_mib(d);
    if (num(r, NULL, v, VH_CPUPCT, "vHost CPU usage", &d) > 0)
        h->cpu_usage_pct = d;
    if (num(r, NULL, v, VH_MEMPCT, "vHost Memory usage", &d) > 0)
        h->mem_usage_pct = d;
    return rv_add_host_index(r, h, inv->nhosts - 1) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ vCluster */

enum { VC_NAME, VC_NFIELDS };
static const struct rv_alias vcluster_aliases[] = {{"name", VC_NAME, 1}};

static int
vcluster_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    (void)r;
    (void)v;
    (void)row; /* read for completeness; cluster settings do not change the plan */
    return 0;
}

/* ------------------------------------------------------------------ vCPU, vMemory */

enum {
    VX_VM,
    VX_VMID,
    VX_UUID,
    VX_HOST,
    VX_POWER,
    VX_SIZE,
    VX_SOCKETS,
    VX_CPS,
    VX_HOTADD,
    VX_NFIELDS
};

static const struct rv_alias vcpu_aliases[] = {
    {"vm", VX_VM, 1},           {"vm id", VX_VMID, 1},       {"vm uuid", VX_UUID, 1},
    {"host", VX_HOST, 1},       {"powerstate", VX_POWER, 1}, {"cpus", VX_SIZE, 1},
    {"sockets", VX_SOCKETS, 1}, {"cores p/s", VX_CPS, 1},    {"hot add", VX_HOTADD, 1},
};

static const struct rv_alias vmemory_aliases[] = {
    {"vm", VX_VM, 1},          {"vm id", VX_VMID, 1},       {"vm uuid", VX_UUID, 1},
    {"host", VX_HOST, 1},      {"powerstate", VX_POWER, 1}, {"size mib", VX_SIZE, 1},
    {"hot add", VX_HOTADD, 1},
};

static int
vcpu_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    struct plan_vm *vm;
    if (rv_lookup(r, v[VX_VM], v[VX_VMID], v[VX_UUID], row, &vm) < 0)
        return -1;
    if (!vm)
        return 0;
    int cpus = num_int(r, vm, v, VX_SIZE, "vCPU CPUs", 4096);
    if (cpus > 0)
        rv_note_cpus(r, vm, cpus);
    int cps = num_int(r, vm, v, VX_CPS, "Cores p/s", 4096);
    if (cps > 0)
        vm->cores_per_socket = cps;
    if (v[VX_HOTADD])
        vm->cpu_hot_add = plan_tri_from(v[VX_HOTADD]);
    rv_check_host_power(r, vm, v[VX_HOST], v[VX_POWER]);
    return 0;
}

static int
vmemory_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    struct plan_vm *vm;
    if (rv_lookup(r, v[VX_VM], v[VX_VMID], v[VX_UUID], row, &vm) < 0)
        return -1;
    if (!vm)
        return 0;
    double mib;
    if (num(r, vm, v, VX_SIZE, "vMemory Size", &mib) > 0)
        rv_note_mem(r, vm, mib);
    if (v[VX_HOTADD])
        vm->mem_hot_add = plan_tri_from(v[VX_HOTADD]);
    rv_check_host_power(r, vm, v[VX_HOST], v[VX_POWER]);
    return 0;
}

/* ------------------------------------------------------------------ vDisk */

enum {
    VD_VM,
    VD_VMID,
    VD_UUID,
    VD_HOST,
    VD_POWER,
    VD_DISK,
    VD_PATH,
    VD_CAP,
    VD_RAW,
    VD_MODE,
    VD_SHARING,
    VD_THIN,
    VD_CTRL,
    VD_LABEL,
    VD_UNIT,
    VD_NFIELDS
};

static const struct rv_alias vdisk_aliases[] = {
    {"vm", VD_VM, 1},          {"vm id", VD_VMID, 1},       {"vm uuid", VD_UUID, 1},
    {"host", VD_HOST, 1},      {"powerstate", VD_POWER, 1}, {"disk", VD_DISK, 1},
    {"disk path", VD_PATH, 1}, {"path", VD_PATH, 1},        {"capacity mib", VD_CAP, 1},
    {"raw", VD_RAW, 1},        {"disk mode", VD_MODE, 1},   {"sharing mode", VD_SHARING, 1},
    {"thin", VD_THIN, 1},      {"controller", VD_CTRL, 1},  {"label", VD_LABEL, 1},
    {"unit #", VD_UNIT, 1},
};

/* "VMware paravirtual SCSI", "LSI Logic SAS", "SATA controller 0" → bus and model. */
static void
disk_controller(struct plan_disk *d, const char *ctrl, const char *label)
{
    const char *s = ctrl ? ctrl : label;
    if (plan_icontains(s, "paravirtual") || plan_icontains(s, "pvscsi")) {
        d->bus = PLAN_BUS_SCSI, d->controller = "pvscsi";
    } else if (plan_icontains(s, "sas")) {
        d->bus = PLAN_BUS_SCSI, d->controller = "lsisas1068";
    } else if (plan_icontains(s, "lsi")) {
        d->bus = PLAN_BUS_SCSI, d->controller = "lsilogic";
    } else if (plan_icontains(s, "buslogic")) {
        d->bus = PLAN_BUS_SCSI, d->controller = "buslogic";
    } else if (plan_icontains(s, "nvme")) {
        d->bus = PLAN_BUS_NVME, d->controller = "nvme";
    } else if (plan_icontains(s, "sata") || plan_icontains(s, "ahci")) {
        d->bus = PLAN_BUS_SATA, d->controller = "ahci";
    } else if (plan_icontains(s, "ide")) {
        d->bus = PLAN_BUS_IDE, d->controller = "ide";
    } else if (plan_icontains(s, "scsi")) {
        d->bus = PLAN_BUS_SCSI;
    }
    const char *digits = label ? label + strcspn(label, "0123456789") : NULL;
    int64_t n;
    if (digits && *digits && plan_parse_i64(digits, &n) && n >= 0 && n < 100)
        d->ctrl = (int)n;
}

static int
vdisk_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    struct plan_vm *vm;
    if (rv_lookup(r, v[VD_VM], v[VD_VMID], v[VD_UUID], row, &vm) < 0)
        return -1;
    if (!vm)
        return 0;
    struct plan_disk *d = plan_vm_add_disk(rv_inv(r), vm);
    if (!d)
        return -1;
    rv_note_row(r, vm, true);
    d->label = dup(r, v[VD_DISK]);
    d->file = dup(r, v[VD_PATH]);
    double cap;
    if (num(r, vm, v, VD_CAP, "vDisk Capacity", &cap) > 0) {
        d->capacity_mib = plan_mib(cap);
        d->capacity_known = true;
    }
    d->rdm = plan_parse_bool(v[VD_RAW]) == 1;
    d->mode = dup(r, v[VD_MODE]);
    d->independent = plan_icontains(v[VD_MODE], "independent");
    d->shared = plan_icontains(v[VD_SHARING], "multi");
    d->thin = plan_tri_from(v[VD_THIN]);
    disk_controller(d, v[VD_CTRL], v[VD_LABEL]);
    int unit = num_int(r, vm, v, VD_UNIT, "vDisk Unit #", 1000);
    d->unit = unit >= 0 ? unit : -1;
    rv_check_host_power(r, vm, v[VD_HOST], v[VD_POWER]);
    return 0;
}

/* ------------------------------------------------------------------ vNetwork */

enum {
    VN_VM,
    VN_VMID,
    VN_UUID,
    VN_HOST,
    VN_POWER,
    VN_LABEL,
    VN_ADAPTER,
    VN_NETWORK,
    VN_CONNECTED,
    VN_MAC,
    VN_IPV4,
    VN_DIRECT,
    VN_NFIELDS
};

static const struct rv_alias vnetwork_aliases[] = {
    {"vm", VN_VM, 1},           {"vm id", VN_VMID, 1},        {"vm uuid", VN_UUID, 1},
    {"host", VN_HOST, 1},       {"powerstate", VN_POWER, 1},  {"nic label", VN_LABEL, 1},
    {"adapter", VN_ADAPTER, 1}, {"network", VN_NETWORK, 1},   {"connected", VN_CONNECTED, 1},
    {"mac address", VN_MAC, 1}, {"ipv4 address", VN_IPV4, 1}, {"direct path io", VN_DIRECT, 1},
};

static int
vnetwork_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    struct plan_vm *vm;
    if (rv_lookup(r, v[VN_VM], v[VN_VMID], v[VN_UUID], row, &vm) < 0)
        return -1;
    if (!vm)
        return 0;
    struct plan_nic *n = plan_vm_add_nic(rv_inv(r), vm);
    if (!n)
        return -1;
    rv_note_row(r, vm, false);
    n->label = dup(r, v[VN_LABEL]);
    n->model = plan_lower_dup(rv_inv(r)->arena, v[VN_ADAPTER]);
    n->network = dup(r, v[VN_NETWORK]);
    n->connected = plan_tri_from(v[VN_CONNECTED]);
    n->mac = plan_lower_dup(rv_inv(r)->arena, v[VN_MAC]);
    n->ipv4 = dup(r, v[VN_IPV4]);
    n->passthrough = plan_parse_bool(v[VN_DIRECT]) == 1;
    n->sriov = plan_icontains(v[VN_ADAPTER], "sriov") || plan_icontains(v[VN_ADAPTER], "sr-iov");
    vm->sriov |= n->sriov;
    rv_check_host_power(r, vm, v[VN_HOST], v[VN_POWER]);
    return 0;
}

/* ------------------------------------------------------------------ vPartition */

enum { VP_VM, VP_VMID, VP_UUID, VP_DISK, VP_CAP, VP_CONSUMED, VP_FREE, VP_NFIELDS };

static const struct rv_alias vpartition_aliases[] = {
    {"vm", VP_VM, 1},         {"vm id", VP_VMID, 1},       {"vm uuid", VP_UUID, 1},
    {"disk", VP_DISK, 1},     {"capacity mib", VP_CAP, 1}, {"consumed mib", VP_CONSUMED, 1},
    {"free mib", VP_FREE, 1},
};

static int
vpartition_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    struct plan_vm *vm;
    if (rv_lookup(r, v[VP_VM], v[VP_VMID], v[VP_UUID], row, &vm) < 0)
        return -1;
    if (!vm)
        return 0;
    double cap = 0, used = 0, free_ = 0;
    int hc = num(r, vm, v, VP_CAP, "vPartition Capacity", &cap);
    int hu = num(r, vm, v, VP_CONSUMED, "vPartition Consumed", &used);
    int hf = num(r, vm, v, VP_FREE, "vPartition Free", &free_);
    if (hc <= 0 || (hf <= 0 && hu <= 0))
        return 0;
    struct plan_partition *p = plan_vm_add_partition(rv_inv(r), vm);
    if (!p)
        return -1;
    p->path = dup(r, v[VP_DISK] ? v[VP_DISK] : "?");
    p->capacity_mib = plan_mib(cap);
    p->free_mib = plan_mib(hf > 0 ? free_ : cap - used);
    if (hu > 0 && used > cap + 1)
        plan_inv_warn(rv_inv(r), vm, "inconsistent-value",
                      "partition %s: consumed %.0f MiB exceeds capacity %.0f MiB", p->path, used,
                      cap);
    else if (hf > 0 && hu > 0 && fabs(cap - used - free_) > fmax(2, cap * 0.01))
        plan_inv_warn(rv_inv(r), vm, "inconsistent-value",
                      "partition %s: capacity %.0f ≠ consumed %.0f + free %.0f MiB", p->path, cap,
                      used, free_);
    return 0;
}

/* ------------------------------------------------------------------ vSnapshot */

enum { VS_VM, VS_VMID, VS_UUID, VS_NAME, VS_NFIELDS };
static const struct rv_alias vsnapshot_aliases[] = {
    {"vm", VS_VM, 1}, {"vm id", VS_VMID, 1}, {"vm uuid", VS_UUID, 1}, {"name", VS_NAME, 1}};

static void
vsnapshot_begin(struct rv_reader *r)
{
    plan_inventory *inv = rv_inv(r);
    for (size_t i = 0; i < inv->nvms; i++)
        if (inv->vms[i]->snapshots < 0 && inv->vms[i]->source &&
            strcmp(inv->vms[i]->source, "rvtools") == 0)
            inv->vms[i]->snapshots = 0;
}

static int
vsnapshot_apply(struct rv_reader *r, const char *const *v, size_t row)
{
    struct plan_vm *vm;
    if (rv_lookup(r, v[VS_VM], v[VS_VMID], v[VS_UUID], row, &vm) < 0)
        return -1;
    if (vm)
        vm->snapshots = (vm->snapshots < 0 ? 0 : vm->snapshots) + 1;
    return 0;
}

const struct rv_sheet_def rv_sheets[RV_NSHEETS] = {
    [RV_SHEET_VINFO] = {"vInfo", ALIASES(vinfo_aliases), VI_NFIELDS, VI_VM, NULL, vinfo_apply},
    [RV_SHEET_VHOST] = {"vHost", ALIASES(vhost_aliases), VH_NFIELDS, VH_HOST, NULL, vhost_apply},
    [RV_SHEET_VCLUSTER] = {"vCluster", ALIASES(vcluster_aliases), VC_NFIELDS, -1, NULL,
                           vcluster_apply},
    [RV_SHEET_VCPU] = {"vCPU", ALIASES(vcpu_aliases), VX_NFIELDS, VX_VM, NULL, vcpu_apply},
    [RV_SHEET_VMEMORY] = {"vMemory", ALIASES(vmemory_aliases), VX_NFIELDS, VX_VM, NULL,
                          vmemory_apply},
    [RV_SHEET_VDISK] = {"vDisk", ALIASES(vdisk_aliases), VD_NFIELDS, VD_VM, NULL, vdisk_apply},
    [RV_SHEET_VNETWORK] = {"vNetwork", ALIASES(vnetwork_aliases), VN_NFIELDS, VN_VM, NULL,
                           vnetwork_apply},
    [RV_SHEET_VPARTITION] = {"vPartition", ALIASES(vpartition_aliases), VP_NFIELDS, VP_VM, NULL,
                             vpartition_apply},
    [RV_SHEET_VSNAPSHOT] = {"vSnapshot", ALIASES(vsnapshot_aliases), VS_NFIELDS, VS_VM,
                            vsnapshot_begin, vsnapshot_apply},
};
