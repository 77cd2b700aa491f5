/* .vmx reader: `key = "value"` lines, keys case-insensitive, values with VMware's
 * |XX hex escapes. Disk and NIC semantics follow virt-v2v's parse_domain_from_vmx so
 * that our reading of its test files matches its own: disks are present devices with
 * no deviceType or a hard-disk type and a fileName, ordered scsi, nvme, sata, ide. */
#include "plan_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { VMX_MAX_INPUT = 4 << 20, VMX_MAX_CTRL = 99, VMX_MAX_UNIT = 255, VMX_MAX_NIC = 99 };

struct vmx_kv {
    char *key; /* lower case */
    char *val; /* unescaped */
};

struct vmx_dev {
    enum plan_bus bus;
    int ctrl, unit;
    const char *present, *type, *file, *mode, *ctk, *sharing;
};

struct vmx_nic {
    int n;
    const char *present, *dev, *network, *conn, *addrtype, *gen, *addr, *connected;
};

struct vmx {
    struct arena *tmp;
    struct vmx_kv *kv;
    size_t nkv, kv_cap;
    struct plan_strmap map; /* key → index of its last occurrence */
    size_t bad_lines, dup_keys;
    struct vmx_dev *devs;
    size_t ndevs, devs_cap;
    struct vmx_nic *nics;
    size_t nnics, nics_cap;
};

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies a raw value, dropping the quotes and decoding |XX escapes. */
static char *
vmx_unescape(struct arena *a, const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"') {
        v++;
        n--;
        const char *q = memchr(v, '"', n); /* values never contain a raw quote */
        if (q)
            n = (size_t)(q - v);
    }
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '|' && i + 2 < n && hexval((unsigned char)v[i + 1]) >= 0 &&
            hexval((unsigned char)v[i + 2]) >= 0) {
            out[o++] =
                (char)(hexval((unsigned char)v[i + 1]) * 16 + hexval((unsigned char)v[i + 2]));
            i += 2;
        } else if (v[i] != '\0') {
            out[o++] = v[i];
        }
    }
    out[o] = '\0';
    return out;
}

static void
trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int
vmx_add_line(struct vmx *x, const char *line, size_t n)
{
    trim(&line, &n);
    if (!n || line[0] == '#')
        return 0;
    const char *eq = memchr(line, '=', n);
    if (!eq) {
        x->bad_lines++;
        return 0;
    }
    const char *k = line, *v = eq + 1;
    size_t kn = (size_t)(eq - line), vn = n - kn - 1;
    trim(&k, &kn);
    trim(&v, &vn);
    if (!kn || memchr(k, '\0', kn)) {
        x->bad_lines++;
        return 0;
    }
    struct vmx_kv *kv = plan_grow(x->tmp, (void **)&x->kv, &x->nkv, &x->kv_cap, sizeof(*kv));
    if (!kv)
        return -1;
    kv->key = plan_lower(arena_strndup(x->tmp, k, kn));
    kv->val = vmx_unescape(x->tmp, v, vn);
    if (!kv->key || !kv->val)
        return -1;
    if (plan_strmap_get(&x->map, kv->key, NULL))
        x->dup_keys++;
    return plan_strmap_put(&x->map, kv->key, x->nkv - 1);
}

static int
vmx_lex(struct vmx *x, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len;
        if (vmx_add_line(x, buf + i, end - i) < 0)
            return -1;
        i = end + 1;
    }
    return 0;
}

static const char *
get(const struct vmx *x, const char *key)
{
    size_t i;
    return plan_strmap_get(&x->map, key, &i) ? x->kv[i].val : NULL;
}

static bool
is_true(const char *v)
{
    return plan_parse_bool(v) == 1;
}

/* Parses "<digits>" at *p, advancing; -1 if none or too large. */
static int
parse_index(const char **p, int max)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        if (v > max)
            return -1;
        (*p)++;
    }
    return (int)v;
}

static struct vmx_dev *
vmx_dev_get(struct vmx *x, enum plan_bus bus, int ctrl, int unit)
{
    for (size_t i = 0; i < x->ndevs; i++)
        if (x->devs[i].bus == bus && x->devs[i].ctrl == ctrl && x->devs[i].unit == unit)
            return &x->devs[i];
    struct vmx_dev *d = plan_grow(x->tmp, (void **)&x->devs, &x->ndevs, &x->devs_cap, sizeof(*d));
    if (d) {
        d->bus = bus;
        d->ctrl = ctrl;
        d->unit = unit;
    }
    return d;
}

static const struct {
    const char *prefix;
    enum plan_bus bus;
} vmx_buses[] = {
    {"scsi", PLAN_BUS_SCSI},
    {"sata", PLAN_BUS_SATA},
    {"ide", PLAN_BUS_IDE},
    {"nvme", PLAN_BUS_NVME},
};

/* "scsi0:1.filename" → device property. Returns 1 if it was a device key, 0 if not, -1 OOM. */
static int
vmx_collect_dev(struct vmx *x, const struct vmx_kv *kv)
{
    for (size_t b = 0; b < PLAN_ARRAY_LEN(vmx_buses); b++) {
        size_t pl = strlen(vmx_buses[b].prefix);
        if (strncmp(kv->key, vmx_buses[b].prefix, pl) != 0)
            continue;
        const char *p = kv->key + pl;
        int ctrl = parse_index(&p, VMX_MAX_CTRL);
        if (ctrl < 0 || *p != ':')
            return 0;
        p++;
        int unit = parse_index(&p, VMX_MAX_UNIT);
        if (unit < 0 || *p != '.')
            return 0;
        struct vmx_dev *d = vmx_dev_get(x, vmx_buses[b].bus, ctrl, unit);
        if (!d)
            return -1;
        const char *prop = p + 1;
        if (strcmp(prop, "present") == 0)
            d->present = kv->val;
        else if (strcmp(prop, "devicetype") == 0)
            d->type = kv->val;
        else if (strcmp(prop, "filename") == 0)
            d->file = kv->val;
        else if (strcmp(prop, "mode") == 0)
            d->mode = kv->val;
        else if (strcmp(prop, "ctkenabled") == 0)
            d->ctk = kv->val;
        else if (strcmp(prop, "sharing") == 0)
            d->sharing = kv->val;
        return 1;
    }
    return 0;
}

static struct vmx_nic *
vmx_nic_get(struct vmx *x, int n)
{
    for (size_t i = 0; i < x->nnics; i++)
        if (x->nics[i].n == n)
            return &x->nics[i];
    struct vmx_nic *c = plan_grow(x->tmp, (void **)&x->nics, &x->nnics, &x->nics_cap, sizeof(*c));
    if (c)
        c->n = n;
    return c;
}

static int
vmx_collect_nic(struct vmx *x, const struct vmx_kv *kv)
{
    if (strncmp(kv->key, "ethernet", 8) != 0)
        return 0;
    const char *p = kv->key + 8;
    int n = parse_index(&p, VMX_MAX_NIC);
    if (n < 0 || *p != '.')
        return 0;
    struct vmx_nic *c = vmx_nic_get(x, n);
    if (!c)
        return -1;
    const char *prop = p + 1;
    static const struct {
        const char *name;
        size_t off;
    } props[] = {
        {"present", offsetof(struct vmx_nic, present)},
        {"virtualdev", offsetof(struct vmx_nic, dev)},
        {"networkname", offsetof(struct vmx_nic, network)},
        {"connectiontype", offsetof(struct vmx_nic, conn)},
        {"addresstype", offsetof(struct vmx_nic, addrtype)},
        {"generatedaddress", offsetof(struct vmx_nic, gen)},
        {"address", offsetof(struct vmx_nic, addr)},
        {"startconnected", offsetof(struct vmx_nic, connected)},
    };
    for (size_t i = 0; i < PLAN_ARRAY_LEN(props); i++)
        if (strcmp(prop, props[i].name) == 0)
            *(const char **)((char *)c + props[i].off) = kv->val;
    return 1;
}

static int
vmx_collect(struct vmx *x)
{
    for (size_t i = 0; i < x->nkv; i++) {
        size_t last;
        /* only the last occurrence of a duplicated key counts */
        if (!plan_strmap_get(&x->map, x->kv[i].key, &last) || last != i)
            continue;
        if (vmx_collect_dev(x, &x->kv[i]) < 0 || vmx_collect_nic(x, &x->kv[i]) < 0)
            return -1;
    }
    return 0;
}

static int
bus_order(enum plan_bus b)
{
    switch (b) { /* virt-v2v lists scsi, then nvme, sata, ide */
    case PLAN_BUS_SCSI:
        return 0;
    case PLAN_BUS_NVME:
        return 1;
    case PLAN_BUS_SATA:
        return 2;
    default:
        return 3;
    }
}

static int
dev_cmp(const void *a, const void *b)
{
    const struct vmx_dev *x = a, *y = b;
    if (bus_order(x->bus) != bus_order(y->bus))
        return bus_order(x->bus) - bus_order(y->bus);
    if (x->ctrl != y->ctrl)
        return x->ctrl - y->ctrl;
    return x->unit - y->unit;
}

static int
nic_cmp(const void *a, const void *b)
{
    return ((const struct vmx_nic *)a)->n - ((const struct vmx_nic *)b)->n;
}

/* The controller model of bus/ctrl ("pvscsi"…), as the vmx states or its default. */
static const char *
controller_model(const struct vmx *x, enum plan_bus bus, int ctrl)
{
    char key[32];
    switch (bus) {
    case PLAN_BUS_SCSI: {
        snprintf(key, sizeof(key), "scsi%d.virtualdev", ctrl);
        const char *v = get(x, key);
        return v && *v ? v : "lsilogic"; /* VMware's default SCSI controller */
    }
    case PLAN_BUS_SATA:
        return "ahci";
    case PLAN_BUS_NVME:
        return "nvme";
    case PLAN_BUS_IDE:
        return "ide";
    default:
        return NULL;
    }
}

static bool
controller_shared(const struct vmx *x, enum plan_bus bus, int ctrl)
{
    if (bus != PLAN_BUS_SCSI)
        return false;
    char key[32];
    snprintf(key, sizeof(key), "scsi%d.sharedbus", ctrl);
    const char *v = get(x, key);
    return v && *v && !plan_ieq(v, "none");
}

static bool
controller_absent(const struct vmx *x, enum plan_bus bus, int ctrl)
{
    static const char *const names[] = {"", "scsi", "sata", "ide", "nvme"};
    if (bus == PLAN_BUS_IDE || bus <= PLAN_BUS_UNKNOWN || bus > PLAN_BUS_NVME)
        return false; /* ide controllers are always there */
    char key[32];
    snprintf(key, sizeof(key), "%s%d.present", names[bus], ctrl);
    return plan_parse_bool(get(x, key)) == 0;
}

static bool
is_cdrom_type(const char *t)
{
    return t && (plan_iprefix(t, "cdrom") || plan_icontains(t, "cdrom"));
}

static bool
is_disk_type(const char *t)
{
    return !t || !*t || plan_icontains(t, "harddisk") || plan_ieq(t, "disk") ||
           plan_ieq(t, "rawdisk");
}

/* "disk-000001.vmdk" is a snapshot delta: the VM has snapshots. */
static bool
is_snapshot_delta(const char *file)
{
    size_t n = strlen(file);
    if (n < 12 || !plan_ieq(file + n - 5, ".vmdk") || file[n - 12] != '-')
        return false;
    for (size_t i = n - 11; i < n - 5; i++)
        if (!isdigit((unsigned char)file[i]))
            return false;
    return true;
}

static bool
ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int
vmx_add_disk(plan_inventory *inv, struct plan_vm *vm, const struct vmx *x, const struct vmx_dev *d)
{
    struct plan_disk *pd = plan_vm_add_disk(inv, vm);
    if (!pd)
        return -1;
    char label[32];
    static const char *const names[] = {"", "scsi", "sata", "ide", "nvme"};
    snprintf(label, sizeof(label), "%s%d:%d", names[d->bus], d->ctrl, d->unit);
    pd->label = plan_inv_strdup(inv, label);
    pd->file = plan_inv_strdup(inv, d->file);
    pd->bus = d->bus;
    pd->controller = plan_inv_strdup(inv, controller_model(x, d->bus, d->ctrl));
    pd->ctrl = d->ctrl;
    pd->unit = d->unit;
    pd->mode = plan_inv_strdup(inv, d->mode);
    pd->independent = plan_icontains(d->mode, "independent");
    pd->rdm = plan_ieq(d->type, "rawdisk") || ends_with_ci(d->file, "-rdm.vmdk") ||
              ends_with_ci(d->file, "-rdmp.vmdk");
    pd->shared = controller_shared(x, d->bus, d->ctrl) || plan_icontains(d->sharing, "multi");
    pd->cbt = plan_tri_from(d->ctk);
    if (is_snapshot_delta(d->file))
        vm->snapshots = vm->snapshots < 1 ? 1 : vm->snapshots;
    return 0;
}

static int
vmx_add_cdrom(plan_inventory *inv, struct plan_vm *vm, const struct vmx_dev *d)
{
    struct plan_cdrom *c = plan_vm_add_cdrom(inv, vm);
    if (!c)
        return -1;
    c->bus = d->bus;
    c->ctrl = d->ctrl;
    c->unit = d->unit;
    c->file = plan_inv_strdup(inv, d->file);
    return 0;
}

static int
vmx_devices(plan_inventory *inv, struct plan_vm *vm, struct vmx *x)
{
    if (x->ndevs)
        qsort(x->devs, x->ndevs, sizeof(*x->devs), dev_cmp);
    if (vm->snapshots < 0)
        vm->snapshots = 0;
    for (size_t i = 0; i < x->ndevs; i++) {
        const struct vmx_dev *d = &x->devs[i];
        if (!is_true(d->present))
            continue;
        if (controller_absent(x, d->bus, d->ctrl)) {
            plan_inv_warn(inv, vm, "device-without-controller",
                          "device on controller %d is present but its controller is not", d->ctrl);
            continue;
        }
        int rc = 0;
        if (is_cdrom_type(d->type)) {
            rc = vmx_add_cdrom(inv, vm, d);
        } else if (is_disk_type(d->type)) {
            if (!d->file || !*d->file) {
                plan_inv_warn(inv, vm, "disk-without-file",
                              "a present disk (controller %d unit %d) has no fileName", d->ctrl,
                              d->unit);
                continue;
            }
            rc = vmx_add_disk(inv, vm, x, d);
        } else if (plan_icontains(d->type, "passthru")) {
            vm->passthrough = true;
            plan_inv_warn(inv, vm, "scsi-passthrough",
                          "generic SCSI passthrough device on controller %d unit %d", d->ctrl,
                          d->unit);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static const char *
nic_mac(const struct vmx_nic *c)
{
    if (plan_ieq(c->addrtype, "static"))
        return c->addr ? c->addr : c->gen;
    return c->gen ? c->gen : c->addr;
}

static int
vmx_nics(plan_inventory *inv, struct plan_vm *vm, struct vmx *x)
{
    if (x->nnics)
        qsort(x->nics, x->nnics, sizeof(*x->nics), nic_cmp);
    for (size_t i = 0; i < x->nnics; i++) {
        const struct vmx_nic *c = &x->nics[i];
        if (!is_true(c->present))
            continue;
        struct plan_nic *n = plan_vm_add_nic(inv, vm);
        if (!n)
            return -1;
        char label[24];
        snprintf(label, sizeof(label), "ethernet%d", c->n);
        n->label = plan_inv_strdup(inv, label);
        n->model = plan_lower_dup(inv->arena, c->dev);
        n->mac = plan_lower_dup(inv->arena, nic_mac(c));
        n->network = plan_inv_strdup(inv, c->network);
        n->connection = plan_lower_dup(inv->arena, c->conn);
        n->connected = plan_tri_from(c->connected);
        n->sriov = plan_icontains(c->dev, "sriov");
        vm->sriov |= n->sriov;
        if (!c->dev)
            plan_inv_warn(inv, vm, "nic-model-unknown", "%s has no virtualDev", label);
    }
    return 0;
}

/* "56 4d 96 af e6 46 bd 86-5c 4d 65 4e 77 36 ef 31" → canonical UUID text. */
static const char *
vmx_uuid(plan_inventory *inv, const char *v)
{
    char hex[33];
    size_t n = 0;
    for (; v && *v; v++) {
        if (isxdigit((unsigned char)*v)) {
            if (n == 32)
                return NULL;
            hex[n++] = (char)tolower((unsigned char)*v);
        } else if (*v != ' ' && *v != '-') {
            return NULL;
        }
    }
    if (n != 32)
        return NULL;
    char out[37];
    snprintf(out, sizeof(out), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    return plan_inv_strdup(inv, out);
}

/* vm.genid / vm.genidX → the generation id, the way virt-v2v (and qemu) spell it. */
static const char *
vmx_genid(plan_inventory *inv, const struct vmx *x)
{
    int64_t lo, hi;
    if (!plan_parse_i64(get(x, "vm.genid"), &lo) || !plan_parse_i64(get(x, "vm.genidx"), &hi))
        return NULL;
    char s[33];
    snprintf(s, sizeof(s), "%016llx%016llx", (unsigned long long)(uint64_t)lo,
             (unsigned long long)(uint64_t)hi);
    char out[37];
    snprintf(out, sizeof(out), "%.8s-%.4s-%.4s-%.2s%.2s-%.2s%.2s%.2s%.2s%.2s%.2s", s + 8, s + 4, s,
             s + 30, s + 28, s + 26, s + 24, s + 22, s + 20, s + 18, s + 16);
    return plan_inv_strdup(inv, out);
}

static int
get_int(const struct vmx *x, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const char *v = get(x, key);
    if (!v)
        return 0;
    int64_t n;
    if (!plan_parse_i64(v, &n) || n < min || n > max)
        return -1;
    *out = n;
    return 1;
}

static void
vmx_cpu_mem(plan_inventory *inv, struct plan_vm *vm, const struct vmx *x)
{
    int64_t n = 1; /* VMware's default is one vCPU */
    if (get_int(x, "numvcpus", 1, 4096, &n) < 0)
        plan_inv_warn(inv, vm, "bad-value", "numvcpus '%s' is not a valid count; using 1",
                      get(x, "numvcpus"));
    vm->vcpus = (int)n;
    int64_t cps = 0;
    if (get_int(x, "cpuid.corespersocket", 1, 4096, &cps) > 0)
        vm->cores_per_socket = (int)cps;
    int64_t mem = 32; /* VMware's (and virt-v2v's) default when memSize is absent */
    int rc = get_int(x, "memsize", 1, INT64_C(1) << 32, &mem);
    if (rc <= 0) {
        mem = 32;
        plan_inv_warn(inv, vm, rc < 0 ? "bad-value" : "missing-value",
                      "memSize %s; assuming VMware's default of 32 MiB",
                      rc < 0 ? "is not a valid size" : "is missing");
    }
    vm->memory_mib = (uint64_t)mem;
    int64_t hw = 0;
    if (get_int(x, "virtualhw.version", 1, 1000, &hw) > 0)
        vm->hw_version = (int)hw;
}

static void
vmx_flags(plan_inventory *inv, struct plan_vm *vm, const struct vmx *x)
{
    const char *fw = get(x, "firmware");
    vm->firmware = plan_ieq(fw, "efi") ? PLAN_FW_UEFI : PLAN_FW_BIOS;
    if (fw && !plan_ieq(fw, "efi") && !plan_ieq(fw, "bios"))
        plan_inv_warn(inv, vm, "bad-value", "unknown firmware '%s'; assuming BIOS", fw);
    vm->secure_boot = is_true(get(x, "uefi.secureboot.enabled")) ? PLAN_YES : PLAN_NO;
    vm->vtpm = is_true(get(x, "vtpm.present")) ? PLAN_YES : PLAN_NO;
    vm->cbt = is_true(get(x, "ctkenabled")) ? PLAN_YES : PLAN_NO;
    vm->cpu_hot_add = is_true(get(x, "vcpu.hotadd")) ? PLAN_YES : PLAN_NO;
    vm->mem_hot_add = is_true(get(x, "mem.hotadd")) ? PLAN_YES : PLAN_NO;
    vm->enable_uuid = plan_tri_from(get(x, "disk.enableuuid"));
    vm->hosted = plan_ieq(get(x, "virtualhw.productcompatibility"), "hosted");
    vm->nested_hv = is_true(get(x, "vhv.enable"));
    const char *aff = get(x, "sched.cpu.affinity");
    vm->cpu_affinity = aff && *aff && !plan_ieq(aff, "all");
    vm->usb = is_true(get(x, "usb.present")) || is_true(get(x, "usb_xhci.present")) ||
              is_true(get(x, "ehci.present"));
    for (int i = 0; i < 16; i++) {
        char key[40];
        snprintf(key, sizeof(key), "pcipassthru%d.present", i);
        if (!is_true(get(x, key)))
            continue;
        snprintf(key, sizeof(key), "pcipassthru%d.pfid", i);
        if (get(x, key))
            vm->sriov = true; /* an SR-IOV virtual function */
        else
            vm->passthrough = true;
    }
}

static void
vmx_identity(plan_inventory *inv, struct plan_vm *vm, const struct vmx *x, const char *origin)
{
    vm->source = "vmx";
    vm->guest_id = plan_inv_strdup(inv, get(x, "guestos"));
    vm->annotation = plan_inv_strdup(inv, get(x, "annotation"));
    vm->uuid = vmx_uuid(inv, get(x, "uuid.bios"));
    if (get(x, "uuid.bios") && !vm->uuid)
        plan_inv_warn(inv, vm, "bad-value", "uuid.bios is not a UUID");
    vm->genid = vmx_genid(inv, x);
    vm->power = PLAN_POWER_UNKNOWN;
    vm->vm_id = plan_inv_strdup(inv, origin);
    if (!get(x, "guestos"))
        plan_inv_warn(inv, vm, "missing-value", "guestOS is missing");
    if (x->bad_lines)
        plan_inv_warn(inv, vm, "malformed-line", "%zu line(s) are not `key = value`; ignored",
                      x->bad_lines);
    if (x->dup_keys)
        plan_inv_warn(inv, vm, "duplicate-key", "%zu key(s) appear twice; the last one counts",
                      x->dup_keys);
}

/* The VM name: displayName, else the file name without ".vmx". */
static const char *
vmx_name(const struct vmx *x, const char *origin, char *buf, size_t n)
{
    const char *dn = get(x, "displayname");
    if (dn && *dn)
        return dn;
    const char *base = origin ? strrchr(origin, '/') : NULL;
    base = base ? base + 1 : origin ? origin : "unnamed";
    snprintf(buf, n, "%s", base);
    size_t l = strlen(buf);
    if (l > 4 && plan_ieq(buf + l - 4, ".vmx"))
        buf[l - 4] = '\0';
    return buf;
}

static int
vmx_build(plan_inventory *inv, struct vmx *x, const char *origin, err *e)
{
    char namebuf[256];
    const char *name = vmx_name(x, origin, namebuf, sizeof(namebuf));
    struct plan_vm *vm = plan_inv_add_vm(inv, name);
    if (!vm)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (!get(x, "displayname"))
        plan_inv_warn(inv, vm, "missing-value", "displayName is missing; named after the file");
    vmx_identity(inv, vm, x, origin);
    vmx_cpu_mem(inv, vm, x);
    vmx_flags(inv, vm, x);
    if (vmx_devices(inv, vm, x) < 0 || vmx_nics(inv, vm, x) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

int
plan_vmx_read(plan_inventory *inv, const char *buf, size_t len, const char *origin, err *e)
{
    if (len > VMX_MAX_INPUT)
        return err_set(e, ERR_TOO_LARGE, "the .vmx file is larger than %d MiB",
                       VMX_MAX_INPUT >> 20);
    struct vmx x = {0};
    plan_strmap_init(&x.map);
    x.tmp = arena_new();
    int rc = -1;
    if (!x.tmp || vmx_lex(&x, buf, len) < 0 || vmx_collect(&x) < 0) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto cleanup;
    }
    if (x.nkv == 0) {
        err_set(e, ERR_INVALID, "not a .vmx file: no `key = \"value\"` lines");
        goto cleanup;
    }
    rc = vmx_build(inv, &x, origin, e);
cleanup:
    plan_strmap_free(&x.map);
    arena_destroy(x.tmp);
    return rc;
}
