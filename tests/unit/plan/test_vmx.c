/* The .vmx reader against virt-v2v's own reading of its test files: every
 * $VP_FIXTURES/vmx/NAME.vmx is parsed and compared, field by field, with NAME.expected
 * (virt-v2v --print-source output, parsed here). Plus hand-written edge cases. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture_io.h"
#include "plan.h"

/* ---- what a .expected file states ---- */
struct exp_disk {
    int index;
    char bus[16];
};
struct exp_nic {
    char kind[16]; /* Network / Bridge */
    char name[128];
    char mac[32];
    char model[32];
};
struct expected {
    char name[256], genid[64], firmware[16], topology[128];
    unsigned long long memory_bytes;
    int vcpus;
    int secureboot;
    struct exp_disk disks[64];
    int ndisks;
    int cdrom_slots[8];
    char cdrom_bus[8][16];
    int ncdroms;
    struct exp_nic nics[16];
    int nnics;
};

static const char *
after(const char *line, const char *label)
{
    const char *p = strstr(line, label);
    if (!p)
        return NULL;
    p += strlen(label);
    while (*p == ' ')
        p++;
    return p;
}

static void
copy_field(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
    size_t l = strlen(dst);
    while (l && (dst[l - 1] == '\n' || dst[l - 1] == ' '))
        dst[--l] = '\0';
}

static void
parse_nic(struct exp_nic *nic, const char *line)
{
    /* \tNetwork "VM Network" mac: 00:0c:29:36:ef:31 [vmxnet3] */
    const char *q1 = strchr(line, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
    assert_non_null(q2);
    size_t k = 0;
    for (const char *p = line; p < q1 && k + 1 < sizeof(nic->kind); p++)
        if (*p != '\t' && *p != ' ')
            nic->kind[k++] = *p;
    nic->kind[k] = '\0';
    snprintf(nic->name, sizeof(nic->name), "%.*s", (int)(q2 - q1 - 1), q1 + 1);
    const char *m = after(q2, "mac:");
    assert_non_null(m);
    snprintf(nic->mac, sizeof(nic->mac), "%.*s", (int)strcspn(m, " "), m);
    const char *b = strchr(m, '[');
    assert_non_null(b);
    snprintf(nic->model, sizeof(nic->model), "%.*s", (int)strcspn(b + 1, "]"), b + 1);
}

static void
parse_list_line(struct expected *x, int section, const char *line)
{
    if (section == 1 && line[0] == '\t') {
        struct exp_disk *d = &x->disks[x->ndisks++];
        d->index = (int)strtol(line + 1, NULL, 10);
        const char *b = strchr(line, '[');
        assert_non_null(b);
        snprintf(d->bus, sizeof(d->bus), "%.*s", (int)strcspn(b + 1, "]"), b + 1);
    } else if (section == 2 && line[0] == '\t') {
        const char *b = strchr(line, '['), *s = strstr(line, "slot");
        assert_non_null(b);
        assert_non_null(s);
        snprintf(x->cdrom_bus[x->ncdroms], 16, "%.*s", (int)strcspn(b + 1, "]"), b + 1);
        x->cdrom_slots[x->ncdroms++] = (int)strtol(s + 4, NULL, 10);
    } else if (section == 3 && line[0] == '\t') {
        parse_nic(&x->nics[x->nnics++], line);
    }
}

static void
parse_expected(char *text, struct expected *x)
{
    memset(x, 0, sizeof(*x));
    int section = 0; /* 1 disks, 2 removable, 3 nics */
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        const char *v;
        if ((v = after(line, "source name:")))
            copy_field(x->name, sizeof(x->name), v);
        else if ((v = after(line, "VM genid:")))
            copy_field(x->genid, sizeof(x->genid), v);
        else if ((v = after(line, "memory:")))
            x->memory_bytes = strtoull(v, NULL, 10);
        else if ((v = after(line, "nr vCPUs:")))
            x->vcpus = (int)strtol(v, NULL, 10);
        else if ((v = after(line, "CPU topology:")))
            copy_field(x->topology, sizeof(x->topology), v);
        else if ((v = after(line, "UEFI secureboot:")))
            x->secureboot = strncmp(v, "true", 4) == 0;
        else if ((v = after(line, "firmware:")))
            copy_field(x->firmware, sizeof(x->firmware), v);
        else if (strncmp(line, "disks:", 6) == 0)
            section = 1;
        else if (strncmp(line, "removable media:", 16) == 0)
            section = 2;
        else if (strncmp(line, "NICs:", 5) == 0)
            section = 3;
        else
            parse_list_line(x, section, line);
    }
}

static const char *
bus_name(enum plan_bus b)
{
    switch (b) {
    case PLAN_BUS_SCSI:
        return "scsi";
    case PLAN_BUS_SATA:
        return "sata";
    case PLAN_BUS_IDE:
        return "ide";
    case PLAN_BUS_NVME:
        return "nvme";
    default:
        return "?";
    }
}

/* The disk's file must be what the .vmx states for that device (checked on the raw
 * text, independently of the reader). */
static void
check_disk_file(const char *vmx_text, const struct plan_disk *d)
{
    assert_non_null(d->file);
    assert_true(strlen(d->file) > 5);
    char needle[512];
    snprintf(needle, sizeof(needle), "%s.fileName = \"%s\"", d->label, d->file);
    if (!strcasestr(vmx_text, needle))
        fail_msg("disk %s: file '%s' is not what the .vmx says", d->label, d->file);
}

static void
check_cdroms(const struct plan_vm *vm, const struct expected *x)
{
    /* virt-v2v's vmx input reports IDE CD-ROMs only (slot = controller * 2 + unit) */
    int n = 0;
    for (size_t i = 0; i < vm->ncdroms; i++) {
        if (vm->cdroms[i].bus != PLAN_BUS_IDE)
            continue;
        assert_true(n < x->ncdroms);
        assert_string_equal(x->cdrom_bus[n], "ide");
        assert_int_equal(vm->cdroms[i].ctrl * 2 + vm->cdroms[i].unit, x->cdrom_slots[n]);
        n++;
    }
    assert_int_equal(n, x->ncdroms);
}

static void
check_nics(const struct plan_vm *vm, const struct expected *x)
{
    assert_int_equal(vm->nnics, x->nnics);
    for (size_t i = 0; i < vm->nnics; i++) {
        const struct plan_nic *n = &vm->nics[i];
        const struct exp_nic *en = &x->nics[i];
        assert_string_equal(n->model, en->model);
        assert_string_equal(n->mac, en->mac);
        if (strcmp(en->kind, "Network") == 0) {
            assert_non_null(n->network);
            assert_string_equal(n->network, en->name);
        } else {
            /* no networkName: virt-v2v names the bridge after the device */
            assert_string_equal(en->kind, "Bridge");
            assert_null(n->network);
            assert_string_equal(n->connection, "bridged");
            assert_string_equal(n->label, en->name);
        }
    }
}

static void
check_topology(const struct plan_vm *vm, const struct expected *x)
{
    if (!x->topology[0]) {
        assert_int_equal(vm->cores_per_socket, 0);
        return;
    }
    char want[128];
    assert_true(vm->cores_per_socket > 0);
    snprintf(want, sizeof(want), "sockets: %d cores/socket: %d threads/core: 1",
             vm->vcpus / vm->cores_per_socket, vm->cores_per_socket);
    assert_string_equal(want, x->topology);
}

static void
check_one(const char *vmx_text, size_t vmx_len, char *expected_text, const char *file)
{
    struct expected x;
    parse_expected(expected_text, &x);
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (plan_vmx_read(inv, vmx_text, vmx_len, file, &e) != 0)
        fail_msg("%s: %s", file, e.detail);
    assert_int_equal(inv->nvms, 1);
    const struct plan_vm *vm = inv->vms[0];
    assert_string_equal(vm->name, x.name);
    assert_int_equal((unsigned long long)vm->memory_mib * 1048576ULL, x.memory_bytes);
    assert_int_equal(vm->vcpus, x.vcpus);
    assert_string_equal(vm->firmware == PLAN_FW_UEFI ? "uefi" : "bios", x.firmware);
    assert_int_equal(vm->secure_boot == PLAN_YES, x.secureboot);
    assert_string_equal(vm->genid ? vm->genid : "", x.genid);
    check_topology(vm, &x);
    assert_int_equal(vm->ndisks, x.ndisks);
    for (size_t i = 0; i < vm->ndisks; i++) {
        assert_int_equal(x.disks[i].index, (int)i);
        assert_string_equal(bus_name(vm->disks[i].bus), x.disks[i].bus);
        check_disk_file(vmx_text, &vm->disks[i]);
    }
    check_cdroms(vm, &x);
    check_nics(vm, &x);
    plan_inv_free(inv);
}

static void
test_fixtures(void **state)
{
    (void)state;
    char dir[4096];
    fx_path(dir, sizeof(dir), "vmx");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (set VP_FIXTURES)", dir);
    int checked = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".vmx") != 0)
            continue;
        char rel[512], exp_rel[512];
        snprintf(rel, sizeof(rel), "vmx/%s", de->d_name);
        snprintf(exp_rel, sizeof(exp_rel), "vmx/%.*s.expected", (int)(n - 4), de->d_name);
        size_t vl, el;
        char *vmx = fx_read_fixture(rel, &vl), *exp = fx_read_fixture(exp_rel, &el);
        assert_non_null(vmx);
        assert_non_null(exp);
        check_one(vmx, vl, exp, de->d_name);
        free(vmx);
        free(exp);
        checked++;
    }
    closedir(d);
    assert_true(checked >= 7);
}

/* ---- edge cases ---- */

static plan_inventory *
read_text(const char *text, int want_rc)
{
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    int rc = plan_vmx_read(inv, text, strlen(text), "dir/edge.vmx", &e);
    assert_int_equal(rc, want_rc);
    return inv;
}

static bool
has_warning(const struct plan_vm *vm, const char *code)
{
    for (size_t i = 0; i < vm->nwarnings; i++)
        if (strcmp(vm->warnings[i].code, code) == 0)
            return true;
    return false;
}

static void
test_escapes_and_case(void **state)
{
    (void)state;
    plan_inventory *inv = read_text("# comment\r\n"
                                    "DISPLAYNAME = \"say |22hi|22 |7C pipe\"\r\n"
                                    "MemSize = 4096\r\n"
                                    "NumVCPUs = \"8\"\r\n"
                                    "cpuid.coresPerSocket = \"4\"\r\n"
                                    "Firmware = \"EFI\"\r\n"
                                    "vtpm.present = \"TRUE\"\r\n"
                                    "garbage line without equals\r\n",
                                    0);
    const struct plan_vm *vm = inv->vms[0];
    assert_string_equal(vm->name, "say \"hi\" | pipe");
    assert_int_equal(vm->memory_mib, 4096);
    assert_int_equal(vm->vcpus, 8);
    assert_int_equal(vm->cores_per_socket, 4);
    assert_int_equal(vm->firmware, PLAN_FW_UEFI);
    assert_int_equal(vm->vtpm, PLAN_YES);
    assert_true(has_warning(vm, "malformed-line"));
    assert_true(has_warning(vm, "missing-value")); /* guestOS */
    plan_inv_free(inv);
}

static void
test_defaults_and_flags(void **state)
{
    (void)state;
    plan_inventory *inv = read_text("guestOS = \"windows9srv-64\"\n"
                                    "scsi0.present = \"TRUE\"\n"
                                    "scsi0.sharedBus = \"virtual\"\n"
                                    "scsi0:0.present = \"TRUE\"\n"
                                    "scsi0:0.fileName = \"edge-000002.vmdk\"\n"
                                    "scsi0:1.present = \"TRUE\"\n"
                                    "scsi0:1.fileName = \"data.vmdk\"\n"
                                    "scsi0:1.mode = \"independent-persistent\"\n"
                                    "scsi0:2.present = \"TRUE\"\n"
                                    "sata0:0.present = \"TRUE\"\n"
                                    "pciPassthru0.present = \"TRUE\"\n"
                                    "numvcpus = \"lots\"\n",
                                    0);
    const struct plan_vm *vm = inv->vms[0];
    assert_string_equal(vm->name, "edge"); /* from the file name */
    assert_int_equal(vm->memory_mib, 32);  /* VMware default */
    assert_int_equal(vm->vcpus, 1);        /* bad value → default, warned */
    assert_true(has_warning(vm, "bad-value"));
    assert_true(has_warning(vm, "disk-without-file"));        /* scsi0:2 */
    assert_int_equal(vm->ndisks, 2);                          /* sata0:0 has no file either */
    assert_string_equal(vm->disks[0].controller, "lsilogic"); /* default SCSI model */
    assert_true(vm->disks[0].shared);
    assert_true(vm->disks[1].independent);
    assert_int_equal(vm->snapshots, 1); /* -000002.vmdk delta */
    assert_true(vm->passthrough);
    assert_int_equal(vm->firmware, PLAN_FW_BIOS);
    plan_inv_free(inv);
}

static void
test_rejects_non_vmx(void **state)
{
    (void)state;
    plan_inventory *inv = read_text("\n\n# only comments\n", -1);
    assert_int_equal(inv->nvms, 0);
    plan_inv_free(inv);
    char big[] = "a = \"|\"\nb = \"|2\"\nc = \"|zz\"\n";
    inv = read_text(big, 0); /* truncated escapes stay literal */
    plan_inv_free(inv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_escapes_and_case),
        cmocka_unit_test(test_defaults_and_flags),
        cmocka_unit_test(test_rejects_non_vmx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
