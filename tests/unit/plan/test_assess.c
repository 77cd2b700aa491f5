/* Assessment rules, readiness, the guest OS and EVC tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "plan.h"

/* A healthy Linux VM; tests break one thing at a time. */
static struct plan_vm *
healthy(plan_inventory *inv)
{
    struct plan_vm *vm = plan_inv_add_vm(inv, "ok");
    vm->vcpus = 2;
    vm->memory_mib = 4096;
    vm->firmware = PLAN_FW_BIOS;
    vm->guest_id = "rhel8_64Guest";
    vm->cbt = PLAN_YES;
    vm->snapshots = 0;
    struct plan_disk *d = plan_vm_add_disk(inv, vm);
    d->label = "Hard disk 1";
    d->bus = PLAN_BUS_SCSI;
    d->controller = "pvscsi";
    d->capacity_mib = 40960;
    d->capacity_known = true;
    struct plan_nic *n = plan_vm_add_nic(inv, vm);
    n->label = "Network adapter 1";
    n->model = "vmxnet3";
    struct plan_partition *p = plan_vm_add_partition(inv, vm);
    p->path = "/";
    p->capacity_mib = 40000;
    p->free_mib = 20000;
    return vm;
}

static const struct plan_finding *
finding(const struct plan_vm_assessment *a, const char *rule, enum plan_severity sev)
{
    for (size_t i = 0; i < a->nfindings; i++)
        if (strcmp(a->findings[i].rule, rule) == 0 && a->findings[i].severity == sev)
            return &a->findings[i];
    return NULL;
}

static struct plan_vm_assessment
assess(plan_inventory *inv, const struct plan_vm *vm, const struct plan_assess_opts *o,
       struct arena *a)
{
    struct plan_vm_assessment out;
    assert_int_equal(plan_assess_vm(inv, vm, o, a, &out), 0);
    return out;
}

static void
test_healthy_is_ready(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct arena *a = arena_new();
    struct plan_vm_assessment r = assess(inv, healthy(inv), NULL, a);
    assert_int_equal(r.readiness, PLAN_READY);
    assert_non_null(r.os);
    assert_string_equal(r.os->name, "Red Hat Enterprise Linux 8");
    assert_true(r.confidence > 0.8);
    for (size_t i = 0; i < r.nfindings; i++)
        assert_int_equal(r.findings[i].severity, PLAN_SEV_INFO);
    arena_destroy(a);
    plan_inv_free(inv);
}

static void
test_critical_rules(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct arena *a = arena_new();
    struct plan_vm *vm = healthy(inv);
    vm->passthrough = true;
    vm->partitions[0].free_mib = 80;
    vm->disks[0].capacity_mib = 0;
    struct plan_vm_assessment r = assess(inv, vm, NULL, a);
    assert_int_equal(r.readiness, PLAN_NOT_READY);
    assert_non_null(finding(&r, "passthrough", PLAN_SEV_CRITICAL));
    const struct plan_finding *f = finding(&r, "guest-free-space", PLAN_SEV_CRITICAL);
    assert_non_null(f);
    assert_string_equal(f->message, "/ has 80 MiB free, virt-v2v needs 100 MiB");
    assert_non_null(finding(&r, "disk-capacity", PLAN_SEV_CRITICAL));

    struct plan_vm *bsd = healthy(inv);
    bsd->guest_id = "freebsd13_64Guest";
    r = assess(inv, bsd, NULL, a);
    assert_non_null(finding(&r, "guest-os", PLAN_SEV_CRITICAL));
    assert_int_equal(r.readiness, PLAN_NOT_READY);

    struct plan_vm *nodisk = plan_inv_add_vm(inv, "nodisk");
    nodisk->vcpus = 1;
    nodisk->memory_mib = 512;
    r = assess(inv, nodisk, NULL, a);
    assert_non_null(finding(&r, "no-disks", PLAN_SEV_CRITICAL));
    arena_destroy(a);
    plan_inv_free(inv);
}

static void
test_warning_rules(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct arena *a = arena_new();
    struct plan_vm *vm = healthy(inv);
    vm->firmware = PLAN_FW_UEFI;
    vm->secure_boot = PLAN_YES;
    vm->vtpm = PLAN_YES;
    vm->cbt = PLAN_NO;
    vm->cpu_hot_add = PLAN_YES;
    vm->snapshots = 2;
    vm->disks[0].rdm = true;
    vm->disks[0].shared = true;
    vm->disks[0].independent = true;
    vm->nics[0].model = "vmxnet2";
    vm->sriov = true;
    struct plan_vm_assessment r = assess(inv, vm, NULL, a);
    assert_int_equal(r.readiness, PLAN_READY_WITH_CONDITIONS);
    const char *warn[] = {"secure-boot",      "vtpm",      "cbt",
                          "hotplug",          "disk-rdm",  "disk-shared",
                          "disk-independent", "nic-model", "sriov"};
    for (size_t i = 0; i < sizeof(warn) / sizeof(*warn); i++)
        if (!finding(&r, warn[i], PLAN_SEV_WARNING))
            fail_msg("no warning from rule %s", warn[i]);
    assert_non_null(finding(&r, "firmware", PLAN_SEV_INFO));
    assert_non_null(finding(&r, "snapshots", PLAN_SEV_INFO));
    /* a target without OVMF makes UEFI critical */
    struct plan_assess_opts o = {.target_lacks_ovmf = true};
    r = assess(inv, vm, &o, a);
    assert_non_null(finding(&r, "firmware", PLAN_SEV_CRITICAL));
    /* an OS the table does not know: ready with conditions */
    struct plan_vm *odd = healthy(inv);
    odd->guest_id = "plan9Guest";
    r = assess(inv, odd, NULL, a);
    assert_null(r.os);
    assert_non_null(finding(&r, "guest-os", PLAN_SEV_WARNING));
    assert_non_null(finding(&r, "disk-controller", PLAN_SEV_WARNING)); /* virtio unknown */
    /* missing size: readiness unknown */
    struct plan_vm *blank = healthy(inv);
    blank->memory_mib = 0;
    r = assess(inv, blank, NULL, a);
    assert_int_equal(r.readiness, PLAN_READINESS_UNKNOWN);
    arena_destroy(a);
    plan_inv_free(inv);
}

static int
never(void *ctx, const char *evc, const char *model, const struct plan_host *h, char *d, size_t n)
{
    (void)ctx;
    (void)evc;
    (void)model;
    snprintf(d, n, "%s refuses", h->name);
    return 0;
}

static void
test_cpu_rule(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct arena *a = arena_new();
    struct plan_vm *vm = healthy(inv);
    vm->evc_key = "intel-skylake";
    struct plan_vm_assessment r = assess(inv, vm, NULL, a);
    assert_string_equal(r.cpu_model_hint, "Skylake-Server-noTSX-IBRS");
    assert_non_null(finding(&r, "cpu-model", PLAN_SEV_INFO));
    struct plan_host t[2] = {{"t1", 8, 8192, 0, NULL}, {"t2", 8, 8192, 0, NULL}};
    struct plan_assess_opts o = {.targets = t, .ntargets = 2, .cpu_compat = never};
    r = assess(inv, vm, &o, a);
    const struct plan_finding *f = finding(&r, "cpu-model", PLAN_SEV_CRITICAL);
    assert_non_null(f);
    assert_non_null(strstr(f->message, "t1 refuses"));
    /* built-in hint with one old and one new host: a warning, not critical */
    t[0].cpu_model = "Broadwell-noTSX";
    t[1].cpu_model = "Icelake-Server";
    o.cpu_compat = NULL;
    r = assess(inv, vm, &o, a);
    assert_non_null(finding(&r, "cpu-model", PLAN_SEV_WARNING));
    arena_destroy(a);
    plan_inv_free(inv);
}

static void
test_guest_os_table(void **state)
{
    (void)state;
    static const struct {
        const char *id, *name, *want;
    } cases[] = {
        /* the known mistakes of other tables, spelled right */
        {"windows9Server64Guest", NULL, "Windows Server 2016"},
        {"windows9srv-64", NULL, "Windows Server 2016"},
        {"windows2019srvNext_64Guest", NULL, "Windows Server 2022"},
        {"windows2022srvNext_64Guest", NULL, "Windows Server 2025"},
        {"windows9_64Guest", NULL, "Windows 10"},
        {"windows7srv-64", NULL, "Windows Server 2008 R2"},
        {"rhel6-64", NULL, "Red Hat Enterprise Linux 6"},
        {"otherGuest64", NULL, "Other"},
        {"other3xLinux64Guest", NULL, "Other 3.x Linux"},
        {NULL, "Microsoft Windows Server 2022 (64-bit)", "Windows Server 2022"},
        {NULL, "Red Hat Enterprise Linux 9 (64-bit)", "Red Hat Enterprise Linux 9"},
        {NULL, "Debian GNU/Linux 12 (64-bit)", "Debian 12"},
        {NULL, "Amazon Linux 2 (64-bit)", "Amazon Linux 2"},
        {NULL, "Other 4.x or later Linux (64-bit)", "Other 4.x Linux"},
        {"nonsense", "SUSE Linux Enterprise 15 (64-bit)", "SUSE Linux Enterprise 15"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const struct plan_guest_os *os = plan_guest_os_lookup(cases[i].id, cases[i].name);
        if (!os || strcmp(os->name, cases[i].want) != 0)
            fail_msg("%s / %s → %s, want %s", cases[i].id, cases[i].name, os ? os->name : "NULL",
                     cases[i].want);
    }
    assert_null(plan_guest_os_lookup("plan9Guest", NULL));
    assert_int_equal(plan_guest_os_lookup("win2000ProGuest", NULL)->v2v, 0);
    assert_string_equal(plan_evc_qemu_model("amd-zen3"), "EPYC-Milan");
    assert_string_equal(plan_evc_qemu_model("intel-haswell"), "Haswell-noTSX");
    assert_null(plan_evc_qemu_model("intel-future"));
    size_t n;
    const struct plan_rule_info *rules = plan_rules(&n);
    assert_true(n >= 25);
    for (size_t i = 0; i < n; i++)
        assert_non_null(rules[i].summary);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy_is_ready), cmocka_unit_test(test_critical_rules),
        cmocka_unit_test(test_warning_rules),    cmocka_unit_test(test_cpu_rule),
        cmocka_unit_test(test_guest_os_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
