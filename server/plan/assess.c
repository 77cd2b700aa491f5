/* Assessment: named rules → findings (rule id, severity, message with numbers) →
 * readiness per VM. Critical means not ready, warning ready with conditions, info is
 * advice. Rules follow Forklift's VMware validation and virt-v2v's documented needs. */
#include "plan_int.h"

#include "assess_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct plan_rule_info rules[] = {
    {"missing-data", PLAN_SEV_WARNING, "vCPUs or memory unknown: readiness cannot be decided"},
    {"guest-os", PLAN_SEV_CRITICAL, "guest OS unknown, unsupported or not convertible by virt-v2v"},
    {"firmware", PLAN_SEV_INFO, "UEFI guests need OVMF on the target"},
    {"secure-boot", PLAN_SEV_WARNING, "Secure Boot needs an OVMF build with enrolled keys"},
    {"vtpm", PLAN_SEV_WARNING, "vTPM state (BitLocker, measured boot) is not transferred"},
    {"disk-controller", PLAN_SEV_INFO, "disk controllers become virtio; guest needs virtio"},
    {"nic-model", PLAN_SEV_INFO, "NICs become virtio-net; legacy models need care"},
    {"disk-rdm", PLAN_SEV_WARNING, "raw device mappings are not converted"},
    {"disk-shared", PLAN_SEV_WARNING, "shared / multi-writer disks need manual handling"},
    {"disk-independent", PLAN_SEV_WARNING, "independent disks are not in snapshots: no warm"},
    {"disk-capacity", PLAN_SEV_CRITICAL, "a disk of capacity 0"},
    {"no-disks", PLAN_SEV_CRITICAL, "no virtual disk: nothing to convert"},
    {"disk-count", PLAN_SEV_WARNING, "more than 165 disks"},
    {"snapshots", PLAN_SEV_INFO, "snapshots present: consolidate before migrating"},
    {"consolidation", PLAN_SEV_WARNING, "disk consolidation needed"},
    {"cbt", PLAN_SEV_WARNING, "changed block tracking off: no warm migration"},
    {"passthrough", PLAN_SEV_CRITICAL, "PCI passthrough device"},
    {"sriov", PLAN_SEV_WARNING, "SR-IOV / DirectPath I/O network device"},
    {"hotplug", PLAN_SEV_WARNING, "CPU or memory hot-add enabled"},
    {"guest-free-space", PLAN_SEV_CRITICAL, "too little free space in the guest for virt-v2v"},
    {"windows-risks", PLAN_SEV_INFO, "dynamic disks, Fast Startup, BitLocker break conversion"},
    {"cpu-model", PLAN_SEV_CRITICAL, "no target host offers the VM's CPU baseline"},
    {"usb", PLAN_SEV_WARNING, "USB controller or devices are not migrated"},
    {"cpu-affinity", PLAN_SEV_WARNING, "CPU affinity set: redo pinning on KVM"},
    {"fault-tolerance", PLAN_SEV_INFO, "VMware FT has no KVM equivalent"},
    {"nested-virt", PLAN_SEV_INFO, "nested virtualisation needs the target's nested support"},
    {"enable-uuid", PLAN_SEV_INFO, "disk.EnableUUID with SCSI: serials may be truncated"},
    {"template", PLAN_SEV_INFO, "template: converted as a stopped VM"},
    {"hosted", PLAN_SEV_INFO, "VMware Workstation / Fusion VM"},
    {"data-quality", PLAN_SEV_INFO, "the sources disagree about this VM"},
};

const struct plan_rule_info *
plan_rules(size_t *n)
{
    *n = PLAN_ARRAY_LEN(rules);
    return rules;
}

const char *
plan_severity_name(enum plan_severity s)
{
    static const char *const names[] = {"info", "warning", "critical"};
    return (unsigned)s < PLAN_ARRAY_LEN(names) ? names[s] : "info";
}

const char *
plan_readiness_name(enum plan_readiness r)
{
    static const char *const names[] = {"ready", "ready-with-conditions", "not-ready", "unknown"};
    return (unsigned)r < PLAN_ARRAY_LEN(names) ? names[r] : "unknown";
}

struct ctx {
    const plan_inventory *inv;
    const struct plan_vm *vm;
    const struct plan_assess_opts *opts;
    struct arena *a;
    struct plan_vm_assessment *out;
    struct assess_cpu_cache *cache;
    int oom;
};

static void find(struct ctx *c, const char *rule, enum plan_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
find(struct ctx *c, const char *rule, enum plan_severity sev, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    struct plan_finding *f = plan_grow(c->a, (void **)&c->out->findings, &c->out->nfindings,
                                       &c->out->findings_cap, sizeof(*f));
    if (!f || !(f->message = arena_strdup(c->a, buf))) {
        c->oom = 1;
        return;
    }
    f->rule = rule;
    f->severity = sev;
}

static const char *
os_label(const struct ctx *c)
{
    if (c->out->os)
        return c->out->os->name;
    return c->vm->guest_name ? c->vm->guest_name : c->vm->guest_id ? c->vm->guest_id : "unknown";
}

static void
rule_guest_os(struct ctx *c)
{
    const struct plan_vm *vm = c->vm;
    const struct plan_guest_os *os = c->out->os;
    if (!os) {
        if (!vm->guest_id && !vm->guest_name)
            find(c, "guest-os", PLAN_SEV_WARNING, "guest OS not stated by the source");
        else
            find(c, "guest-os", PLAN_SEV_WARNING,
                 "guest OS '%s' is not in the planner's table: check virt-v2v support",
                 vm->guest_name ? vm->guest_name : vm->guest_id);
        return;
    }
    if (os->v2v == 0)
        find(c, "guest-os", PLAN_SEV_CRITICAL, "virt-v2v cannot convert %s", os->name);
    else if (os->v2v < 0)
        find(c, "guest-os", PLAN_SEV_WARNING,
             "%s is not on virt-v2v's list of supported guests: test a conversion first", os->name);
    if (os->family == PLAN_OS_WINDOWS && os->v2v != 0)
        find(c, "windows-risks", PLAN_SEV_INFO,
             "Windows: before converting check for dynamic disks, turn Fast Startup off and "
             "suspend BitLocker; virt-v2v needs virtio-win to inject drivers");
}

static void
rule_firmware(struct ctx *c)
{
    const struct plan_vm *vm = c->vm;
    if (vm->firmware == PLAN_FW_UEFI)
        find(c, "firmware", c->opts->target_lacks_ovmf ? PLAN_SEV_CRITICAL : PLAN_SEV_INFO,
             "UEFI firmware: the target host needs OVMF%s",
             c->opts->target_lacks_ovmf ? ", which it lacks" : "");
    else if (vm->firmware == PLAN_FW_UNKNOWN)
        find(c, "firmware", PLAN_SEV_INFO, "firmware unknown: BIOS assumed");
    if (vm->secure_boot == PLAN_YES)
        find(c, "secure-boot", PLAN_SEV_WARNING,
             "Secure Boot is on: the target needs OVMF with Secure Boot and enrolled keys");
    if (vm->vtpm == PLAN_YES)
        find(c, "vtpm", PLAN_SEV_WARNING,
             "vTPM present: its state is not transferred (suspend BitLocker first)%s",
             c->opts->target_lacks_swtpm ? "; the target lacks swtpm" : "");
}

static void
rule_controllers(struct ctx *c)
{
    const char *seen[8];
    size_t nseen = 0;
    int virtio = c->out->os ? c->out->os->virtio : -1;
    for (size_t i = 0; i < c->vm->ndisks; i++) {
        const char *m = c->vm->disks[i].controller;
        if (!m)
            continue;
        bool dup = false;
        for (size_t j = 0; j < nseen; j++)
            dup |= strcmp(seen[j], m) == 0;
        if (dup || nseen == PLAN_ARRAY_LEN(seen))
            continue;
        seen[nseen++] = m;
        if (virtio == 1)
            find(c, "disk-controller", PLAN_SEV_INFO,
                 "%s controller: its disks become virtio; %s has virtio drivers", m, os_label(c));
        else
            find(c, "disk-controller", PLAN_SEV_WARNING,
                 "%s controller: %s may not boot from virtio; keep an emulated SATA disk or "
                 "install virtio drivers first",
                 m, os_label(c));
    }
}

static bool
legacy_nic(const char *m)
{
    return plan_ieq(m, "vmxnet") || plan_ieq(m, "vmxnet2") || plan_ieq(m, "flexible") ||
           plan_ieq(m, "pcnet32") || plan_ieq(m, "vlance");
}

static void
rule_nics(struct ctx *c)
{
    int virtio = c->out->os ? c->out->os->virtio : -1;
    for (size_t i = 0; i < c->vm->nnics; i++) {
        const struct plan_nic *n = &c->vm->nics[i];
        const char *label = n->label ? n->label : "a NIC";
        if (n->sriov || n->passthrough)
            find(c, "sriov", PLAN_SEV_WARNING,
                 "%s uses %s: re-create it on the target (VF or virtio)", label,
                 n->sriov ? "SR-IOV" : "DirectPath I/O");
        if (!n->model)
            find(c, "nic-model", PLAN_SEV_INFO, "%s: adapter model unknown", label);
        else if (legacy_nic(n->model))
            find(c, "nic-model", PLAN_SEV_WARNING,
                 "%s is a legacy %s: the guest may lack virtio-net or e1000 drivers", label,
                 n->model);
        else if (virtio != 1)
            find(c, "nic-model", PLAN_SEV_WARNING,
                 "%s (%s): %s may lack virtio-net; use an emulated e1000 on the target", label,
                 n->model, os_label(c));
    }
}

static void
rule_disk_one(struct ctx *c, const struct plan_disk *d, bool *scsi)
{
    const char *label = d->label ? d->label : d->file ? d->file : "a disk";
    if (d->rdm)
        find(c, "disk-rdm", PLAN_SEV_WARNING,
             "%s is a raw device mapping: present the LUN to the KVM host and attach it as a "
             "block device",
             label);
    if (d->shared)
        find(c, "disk-shared", PLAN_SEV_WARNING,
             "%s is shared (multi-writer or shared bus): migrate the cluster together and "
             "attach it shareable",
             label);
    if (d->independent)
        find(c, "disk-independent", PLAN_SEV_WARNING,
             "%s is independent: not in snapshots, so no warm migration for this VM", label);
    if (d->capacity_known && d->capacity_mib == 0)
        find(c, "disk-capacity", PLAN_SEV_CRITICAL, "%s has a capacity of 0", label);
    if (d->cbt == PLAN_NO && c->vm->cbt == PLAN_YES)
        find(c, "cbt", PLAN_SEV_WARNING, "%s has changed block tracking off", label);
    *scsi |= d->bus == PLAN_BUS_SCSI;
}

static void
rule_disks(struct ctx *c)
{
    const struct plan_vm *vm = c->vm;
    bool scsi = false;
    if (!vm->ndisks)
        find(c, "no-disks", PLAN_SEV_CRITICAL, "no virtual disk: virt-v2v has nothing to convert");
    if (vm->ndisks > 165)
        find(c, "disk-count", PLAN_SEV_WARNING, "%zu disks (more than 165)", vm->ndisks);
    for (size_t i = 0; i < vm->ndisks; i++)
        rule_disk_one(c, &vm->disks[i], &scsi);
    if (vm->enable_uuid == PLAN_YES && scsi)
        find(c, "enable-uuid", PLAN_SEV_INFO,
             "disk.EnableUUID with SCSI disks: serial numbers may be truncated on the target");
    if (vm->snapshots > 0)
        find(c, "snapshots", PLAN_SEV_INFO, "%d snapshot(s): delete or consolidate them first",
             vm->snapshots);
    if (vm->consolidation_needed)
        find(c, "consolidation", PLAN_SEV_WARNING, "disks need consolidation in vSphere first");
    if (vm->cbt == PLAN_NO)
        find(c, "cbt", PLAN_SEV_WARNING,
             "changed block tracking is off: cold migration only (downtime for the full copy)");
    else if (vm->cbt == PLAN_UNKNOWN)
        find(c, "cbt", PLAN_SEV_INFO,
             "changed block tracking state unknown: warm migration "
             "assumed impossible");
}

/* virt-v2v needs free space in the guest: / 100 MiB, /boot 50 MiB, C: 100 MiB, others 10. */
static uint64_t
needed_free(const char *path)
{
    if (!path)
        return 10;
    if (strcmp(path, "/") == 0 || plan_iprefix(path, "C:"))
        return 100;
    if (strcmp(path, "/boot") == 0)
        return 50;
    return 10;
}

static void
rule_free_space(struct ctx *c)
{
    const struct plan_vm *vm = c->vm;
    if (!vm->npartitions) {
        find(c, "guest-free-space", PLAN_SEV_INFO,
             "guest free space unknown: virt-v2v needs 100 MiB in / (or C:), 50 MiB in /boot "
             "and ~100 free inodes");
        return;
    }
    for (size_t i = 0; i < vm->npartitions; i++) {
        const struct plan_partition *p = &vm->partitions[i];
        uint64_t need = needed_free(p->path);
        if (p->free_mib < need)
            find(c, "guest-free-space", PLAN_SEV_CRITICAL,
                 "%s has %llu MiB free, virt-v2v needs %llu MiB", p->path,
                 (unsigned long long)p->free_mib, (unsigned long long)need);
    }
}

static void
rule_devices(struct ctx *c)
{
    const struct plan_vm *vm = c->vm;
    if (vm->passthrough)
        find(c, "passthrough", PLAN_SEV_CRITICAL,
             "PCI passthrough device: remove it or re-create it on a target with the device");
    if (vm->sriov)
        find(c, "sriov", PLAN_SEV_WARNING, "SR-IOV device: re-create the VF on the target");
    if (vm->cpu_hot_add == PLAN_YES || vm->mem_hot_add == PLAN_YES)
        find(c, "hotplug", PLAN_SEV_WARNING,
             "%s hot-add enabled: set maximum vCPUs / memory slots on the target to keep it",
             vm->cpu_hot_add == PLAN_YES && vm->mem_hot_add == PLAN_YES ? "CPU and memory"
             : vm->cpu_hot_add == PLAN_YES                              ? "CPU"
                                                                        : "memory");
    if (vm->usb)
        find(c, "usb", PLAN_SEV_WARNING, "USB controller present: USB devices are not migrated");
    if (vm->cpu_affinity)
        find(c, "cpu-affinity", PLAN_SEV_WARNING, "CPU affinity set: redo pinning on KVM");
    if (vm->fault_tolerance)
        find(c, "fault-tolerance", PLAN_SEV_INFO, "VMware Fault Tolerance has no KVM equivalent");
    if (vm->nested_hv)
        find(c, "nested-virt", PLAN_SEV_INFO, "nested virtualisation: enable it on the target");
    if (vm->template_)
        find(c, "template", PLAN_SEV_INFO, "a template: converted as a stopped VM, not placed");
    if (vm->hosted)
        find(c, "hosted", PLAN_SEV_INFO,
             "VMware Workstation/Fusion VM: convert with virt-v2v -i vmx from its files");
}

static void
cpu_count(const struct plan_assess_opts *o, const char *evc, struct assess_cpu_entry *e)
{
    const char *model = plan_evc_qemu_model(evc);
    plan_cpu_compat_fn fn = o->cpu_compat ? o->cpu_compat : plan_cpu_compat_hint;
    memset(e, 0, sizeof(*e));
    e->evc_key = evc;
    for (size_t h = 0; h < o->ntargets; h++) {
        char detail[160] = "";
        int rc = fn(o->cpu_ctx, evc, model, &o->targets[h], detail, sizeof(detail));
        if (rc > 0)
            e->ok++;
        else if (rc == 0)
            e->bad++;
        else
            e->unknown++;
        if (rc == 0 && !e->detail[0])
            snprintf(e->detail, sizeof(e->detail), "%.60s: %.90s", o->targets[h].name,
                     detail[0] ? detail : "incompatible");
    }
}

static const struct assess_cpu_entry *
cpu_lookup(struct ctx *c, const char *evc, struct assess_cpu_entry *tmp)
{
    struct assess_cpu_cache *k = c->cache;
    for (size_t i = 0; k && i < k->n; i++)
        if (strcmp(k->entries[i].evc_key, evc) == 0)
            return &k->entries[i];
    struct assess_cpu_entry *e = k && k->n < PLAN_ARRAY_LEN(k->entries) ? &k->entries[k->n++] : tmp;
    cpu_count(c->opts, evc, e);
    return e;
}

static void
rule_cpu(struct ctx *c)
{
    const char *evc = c->vm->evc_key;
    if (!evc || !*evc)
        return;
    const char *model = plan_evc_qemu_model(evc);
    c->out->cpu_model_hint = model;
    if (!c->opts->ntargets) {
        find(c, "cpu-model", PLAN_SEV_INFO,
             "EVC mode %s: QEMU model %s is a hint only; compare with the target in libvirt", evc,
             model ? model : "unknown");
        return;
    }
    struct assess_cpu_entry tmp;
    const struct assess_cpu_entry *e = cpu_lookup(c, evc, &tmp);
    if (!e->ok && !e->unknown)
        find(c, "cpu-model", PLAN_SEV_CRITICAL,
             "none of the %zu target hosts runs EVC mode %s (%s)", c->opts->ntargets, evc,
             e->detail);
    else if (e->bad)
        find(c, "cpu-model", PLAN_SEV_WARNING,
             "%zu of %zu target hosts cannot run EVC mode %s (first: %s)", e->bad,
             c->opts->ntargets, evc, e->detail);
    else if (!e->ok)
        find(c, "cpu-model", PLAN_SEV_INFO,
             "EVC mode %s (QEMU %s): compatibility with the targets unknown", evc,
             model ? model : "model unknown");
}

static void
rule_data_quality(struct ctx *c)
{
    const struct plan_vm *vm = c->vm;
    if (vm->vcpus <= 0 || vm->memory_mib == 0)
        find(c, "missing-data", PLAN_SEV_WARNING, "%s unknown: cannot size or place this VM",
             vm->vcpus <= 0 && !vm->memory_mib ? "vCPUs and memory"
             : vm->vcpus <= 0                  ? "vCPUs"
                                               : "memory");
    size_t mismatches = 0;
    for (size_t i = 0; i < vm->nwarnings; i++)
        mismatches += strcmp(vm->warnings[i].code, "sheet-mismatch") == 0 ||
                      strcmp(vm->warnings[i].code, "evc-above-host") == 0 ||
                      strcmp(vm->warnings[i].code, "os-mismatch") == 0;
    if (mismatches)
        find(c, "data-quality", PLAN_SEV_INFO,
             "%zu disagreement(s) between sources (see warnings); figures use the larger value",
             mismatches);
}

/* Share of the data points the assessment relies on that the source gave us. */
static double
confidence(const struct plan_vm *vm, const struct plan_vm_assessment *out)
{
    int have = 0, total = 8;
    have += vm->vcpus > 0;
    have += vm->memory_mib > 0;
    have += vm->firmware != PLAN_FW_UNKNOWN;
    have += out->os != NULL;
    have += vm->ndisks > 0 && vm->disks[0].capacity_known;
    have += vm->nnics > 0 && vm->nics[0].model != NULL;
    have += vm->cbt != PLAN_UNKNOWN;
    have += vm->npartitions > 0;
    double c = (double)have / total;
    double penalty = 0.05 * (double)vm->nwarnings;
    return c * (1.0 - (penalty > 0.5 ? 0.5 : penalty));
}

static enum plan_readiness
readiness(const struct plan_vm *vm, const struct plan_vm_assessment *out)
{
    enum plan_severity worst = PLAN_SEV_INFO;
    for (size_t i = 0; i < out->nfindings; i++)
        if (out->findings[i].severity > worst)
            worst = out->findings[i].severity;
    if (worst == PLAN_SEV_CRITICAL)
        return PLAN_NOT_READY;
    if (vm->vcpus <= 0 || vm->memory_mib == 0)
        return PLAN_READINESS_UNKNOWN;
    return worst == PLAN_SEV_WARNING ? PLAN_READY_WITH_CONDITIONS : PLAN_READY;
}

int
assess_vm(const plan_inventory *inv, const struct plan_vm *vm, const struct plan_assess_opts *opts,
          struct arena *a, struct plan_vm_assessment *out, struct assess_cpu_cache *cache)
{
    struct plan_assess_opts defaults = {0};
    memset(out, 0, sizeof(*out));
    struct ctx c = {
        .inv = inv, .vm = vm, .opts = opts ? opts : &defaults, .a = a, .out = out, .cache = cache};
    out->os = plan_guest_os_lookup(vm->guest_id, vm->guest_name);
    rule_data_quality(&c);
    rule_guest_os(&c);
    rule_firmware(&c);
    rule_controllers(&c);
    rule_nics(&c);
    rule_disks(&c);
    rule_free_space(&c);
    rule_devices(&c);
    rule_cpu(&c);
    out->readiness = readiness(vm, out);
    out->confidence = confidence(vm, out);
    return c.oom ? -1 : 0;
}

int
plan_assess_vm(const plan_inventory *inv, const struct plan_vm *vm,
               const struct plan_assess_opts *opts, struct arena *a, struct plan_vm_assessment *out)
{
    return assess_vm(inv, vm, opts, a, out, NULL);
}
